#!/bin/bash
# tests/vm/lvm-suite.sh - the LVM mirror driver (--mirror VG/LV) against real LVM raid1,
# run INSIDE the guest (TAP):  tests/vm/vm-run --disks 2 -- tests/vm/lvm-suite.sh
# (tests/integration/90-lvm-vm.t does that).  Builds a VG on the two blank
# virtio disks; raid1 LVs with ext4 (inline_data, so the split leg is also
# mounted) and with xfs; backs up with the real binary under a writer,
# restores, compares; checks that the mirror is whole afterwards (a check
# scrub finds 0 mismatches); the default proof after a merge (the
# witness's areas, a full check scrub when none is on record or one is due:
# --mirror-check-runs) finds damage put on the merged leg;
# --mirror-proof witness is refused without a record and waives a due full
# check with one; a linear LV gets a snapshot (check); a SIGKILL inside the
# window, after the merge or during the proof is healed by `mbackup
# recover`, with the split run by the LVM helper (the default, --lvm-split
# auto) or by lvconvert, and no helper outlives a killed run; SIGTERM
# ends a backup waiting in P1 for a throttled resync.  Scratch (catalog, images,
# restores) lives on a separate linear LV.  $MBACKUP overrides the binary.
. "$(dirname "$0")/../lib/tap.sh"
FX_NO_BINARY=1
. "$(dirname "$0")/../lib/fixture.sh"

[ -n "${VM_GUEST:-}" ] || skip_all "runs inside the test VM: tests/vm/vm-run --disks 2 -- $0"
read -r -a disks <<<"${VM_DISKS:-}"
[ "${#disks[@]}" -ge 2 ] || skip_all "needs 2 virtio disks (vm-run --disks 2)"
[ -x "$MB" ] || bail_out "no binary at '$MB' (run make)"

VG=mbt
S=/scratch
# The merges here are proven by the default proof (--mirror-proof auto:
# the witness's areas where the catalog allows it), each checked
# afterwards by a full check scrub of the suite's own (mirror_whole).
CATALOG=$S/catalog.db
WRITER=

cleanup() {
	[ -n "$WRITER" ] && kill "$WRITER" 2>/dev/null
	return 0
}
trap cleanup EXIT

# now_ms, lvfield, split_images, legs
. "$(dirname "$0")/lvm-lib.sh"

# scrub_check LV: runs a check scrub, prints the mismatch count.
scrub_check() {
	local t0
	t0=$(now_ms)
	lvchange --syncaction check "$VG/$1" >/dev/null || { echo "lvchange failed"; return; }
	while [ "$(lvfield "$1" raid_sync_action)" != idle ]; do sleep 0.3; done
	note "check scrub of $VG/$1: $(($(now_ms) - t0)) ms" >&2
	lvfield "$1" raid_mismatch_count
}

# A timing line of mbackup's log ("... in 123 ms"), for the report, with
# the suffix that may follow it ("(by the LVM helper)", a phase's detail).
log_ms() { grep -o "$1.* in [0-9]* ms\( (.*)\)\?" <<<"$RUN_ERR" | head -1; }
is "$(RUN_ERR="x lvm: split 'v/l_rimage_1' off in 5 ms (by the LVM helper)
y phase split: done in 9 ms (window 7 ms (fsfreeze))" log_ms 'lvm: split') / $(RUN_ERR="phase split: done in 9 ms (window 7 ms (fsfreeze))" log_ms 'phase split: done')" \
	"lvm: split 'v/l_rimage_1' off in 5 ms (by the LVM helper) / phase split: done in 9 ms (window 7 ms (fsfreeze))" \
	"log_ms keeps what follows the time (the LVM helper, a phase's detail)"

setup_vg() {
	pvcreate -q -y "${disks[0]}" "${disks[1]}" &&
		vgcreate -q "$VG" "${disks[0]}" "${disks[1]}" &&
		lvcreate -q -y -L 600M -n scratch "$VG" "${disks[0]}" &&
		mkfs.ext4 -q "/dev/$VG/scratch" &&
		mkdir -p "$S" && mount "/dev/$VG/scratch" "$S" &&
		lvcreate -q -y -L 64M -n lin "$VG" "${disks[1]}" &&
		mkfs.ext4 -q "/dev/$VG/lin" && mkdir -p /mnt/lin && mount "/dev/$VG/lin" /mnt/lin &&
		mkdir /mnt/lin/data && echo hello >/mnt/lin/data/f &&
		mkdir -p "$S/seed" && fx_populate "$S/seed"
}

# make_raid LV SIZE FSTYPE MKFS...: a raid1 LV (2 legs) with a filesystem,
# mounted at /mnt/LV, the seed tree under data/static.  The resync may
# still be running: P1 waits for it.
make_raid() {
	local lv=$1 size=$2
	shift 2
	lvcreate -q -y --type raid1 -m 1 -L "$size" -n "$lv" "$VG" &&
		"$@" "/dev/$VG/$lv" >/dev/null &&
		mkdir -p "/mnt/$lv" && mount "/dev/$VG/$lv" "/mnt/$lv" &&
		mkdir -p "/mnt/$lv/data/w" && cp -a "$S/seed" "/mnt/$lv/data/static"
}

# The writer: NFILES files of 16 blocks of 4 KiB, each version written with
# one write(2) (in place for odd files, temp + rename for even ones); every
# block names its file and generation.
write_tools() {
	cat >"$S/writer.pl" <<'PERL'
use strict; use warnings; use Fcntl;
my ($dir, $n) = @ARGV;
$SIG{TERM} = sub { exit 0 };
for (my $gen = 1; ; $gen++) {
	for my $i (1 .. $n) {
		my $f = "f$i";
		my $buf = join '', map { my $l = "$f gen $gen block $_\n"; $l . ('#' x (4096 - length $l)) } 0 .. 15;
		my $t = $i % 2 ? $f : ".$f.tmp";
		sysopen(my $fh, "$dir/$t", O_WRONLY | O_CREAT) or die "$t: $!";
		syswrite($fh, $buf) == length $buf or die "short write";
		close $fh;
		$i % 2 or rename("$dir/$t", "$dir/$f") or die "rename: $!";
	}
	select(undef, undef, undef, 0.02);
}
PERL
	# Prints each writer file that is not one whole version.
	cat >"$S/consistent.pl" <<'PERL'
use strict; use warnings;
my ($dir, $n) = @ARGV;
for my $i (1 .. $n) {
	my $f = "f$i";
	open(my $fh, '<', "$dir/$f") or do { print "$f: missing\n"; next };
	local $/; my $d = <$fh>;
	my %g;
	for my $b (0 .. 15) {
		my $blk = substr($d // '', $b * 4096, 4096);
		$blk =~ /^\Q$f\E gen (\d+) block $b\n#+$/ && length $blk == 4096
			or do { print "$f: block $b torn\n"; last };
		$g{$1} = 1;
	}
	print "$f: generations ", join(' ', sort keys %g), "\n" if keys %g > 1;
	print "$f: size ", length $d, "\n" if length $d != 16 * 4096;
}
PERL
}

start_writer() {
	perl "$S/writer.pl" "$1" 12 &
	WRITER=$!
	sleep 1
}

stop_writer() {
	kill "$WRITER" 2>/dev/null
	wait "$WRITER" 2>/dev/null
	WRITER=
}

# The mirror is raid1, 2 legs, nothing split, in sync, no mismatch.
mirror_whole() {
	local lv=$1 what=$2
	is "$(lvfield "$lv" segtype)/$(legs "$lv")/$(split_images "$lv")" "raid1/2/" \
		"$what: $VG/$lv is raid1 with 2 legs, nothing split"
	is "$(lvfield "$lv" sync_percent)" "100.00" "$what: $VG/$lv is 100% in sync"
	is "$(lvs -a --noheadings -o lv_health_status "$VG" | tr -d ' \n')" "" \
		"$what: no LV or image reports a health issue (write-mostly cleared)"
	is "$(scrub_check "$lv")" "0" "$what: a check scrub finds 0 mismatches"
}

# roundtrip LV FSTYPE [OPTION...]: a first backup with the OPTIONs (the
# catalog has no proof of the legs yet: a full scrub, then the record);
# then a backup under the writer, restore, compare.
roundtrip() {
	local lv=$1 fs=$2 src=/mnt/$1/data t0
	shift 2
	run "$MB" --db none --mirror "$VG/$lv" --source "$src" \
		--media "file:$S/$lv-first.mbi" --catalog "$CATALOG" --freeze-timeout 30 "$@"
	exit_is 0 "$fs: the first backup of $VG/$lv exits 0"
	split_by "$lv" "$@"
	like "$RUN_ERR" "lvm: the catalog has no proof that the legs were equal before the split: scrubbing '$VG/$lv' in full" \
		"$fs: ... with no proof of the legs on record, it proves the merge by a full scrub"
	like "$RUN_ERR" "lvm: check scrub of '$VG/$lv' done" "$fs: ... and does"
	like "$RUN_ERR" "lvm: recorded 'lvm:$VG/$lv' proven whole by a full check; next full check due after 7 more runs or at [0-9T:-]+Z, whichever comes first" \
		"$fs: ... and records it, saying when the next full check is due"
	rm -f "$S/$lv-first.mbi"
	start_writer "$src/w"
	t0=$(now_ms)
	run "$MB" --db none --mirror "$VG/$lv" --source "$src" \
		--media "file:$S/$lv.mbi" --catalog "$CATALOG" --freeze-timeout 30
	stop_writer
	exit_is 0 "$fs: backup of $VG/$lv under a writer exits 0"
	note "$fs: finish phase $(finish_ms) ms"
	note "$fs: backup took $(($(now_ms) - t0)) ms; $(log_ms 'lvm: split') ;" \
		"$(log_ms 'phase split: done') ; $(log_ms 'lvm: merged') ;" \
		"$(log_ms 'lvm: check scrub') ; $(log_ms 'lvm: proved') ; $(grep -o 'window [0-9]* ms' <<<"$RUN_ERR" | tail -1)"
	note "$fs: the merge and its proof:"$'\n'"$(lvm_lines)"
	like "$RUN_ERR" "backup [0-9]+ complete: " "$fs: the last line reports the backup"
	like "$RUN_ERR" "lvm: (proved '$VG/$lv' whole where the split wrote|the merge left '$VG/$lv' different on its legs at byte)" \
		"$fs: the merge was proven by the witness's areas (or they showed a skipped resync)"
	like "$RUN_ERR" "lvm: recorded 'lvm:$VG/$lv' proven whole (by the witness; next full check due after 6|by a full check; next full check due after 7) more runs" \
		"$fs: ... and recorded: one run by the witness counted (or a full check if it fell back)"
	if [[ $RUN_ERR == *"the merge left "*"out of sync"* ]]; then
		note "$fs: the merge skipped its resync (the known lvm race); mbackup repaired it"
	fi
	if [ "$fs" = ext4 ]; then
		like "$RUN_ERR" "mounting the split leg read-only" \
			"$fs: inline-data files were read through a read-only mount of the split image"
	fi
	mirror_whole "$lv" "$fs after the backup"
	run "$MB" restore --from "$S/$lv.mbi" --to "$S/r-$lv"
	exit_is 0 "$fs: restore exits 0"
	fx_tree_is "$src/static" "$S/r-$lv/static" "$fs: the untouched files restore byte-exact"
	is "$(perl "$S/consistent.pl" "$S/r-$lv/w" 12)" "" \
		"$fs: each writer file restores as one whole version"
}

# split_by LV [--lvm-split lvconvert|helper]: the log of the run in
# RUN_ERR says which split will run and which ran: the LVM helper by
# default (auto: liblvm2cmd is installed here) or when asked, lvconvert
# when asked; no helper is left.
split_by() {
	local lv=$1
	if [ "${3:-auto}" = lvconvert ]; then
		like "$RUN_ERR" "lvm: the split of '$VG/$lv' will run lvconvert \(--lvm-split lvconvert\)" \
			"... --lvm-split lvconvert: the log says lvconvert will split"
		like "$RUN_ERR" "lvm: split '$VG/${lv}_rimage_1' off in [0-9]+ ms \(by lvconvert\)" \
			"... and that it did"
	else
		like "$RUN_ERR" "lvm: the split of '$VG/$lv' will run in the LVM helper \(pid [0-9]+, liblvm2cmd loaded\)" \
			"... by default or with --lvm-split helper: the log says the LVM helper will split"
		like "$RUN_ERR" "lvm: split '$VG/${lv}_rimage_1' off in [0-9]+ ms \(by the LVM helper\)" \
			"... and that it did"
	fi
	is "$(helpers)" "" "... no LVM helper is left running"
}

# The pids of running LVM helpers (argv[0] mbackup-lvm-helper), one line.
helpers() { pgrep -d ' ' -f '^mbackup-lvm-helper$'; }
# no_helper_after_kill WHAT: the helper of a killed run ends by itself (at
# EOF of its stdin, after any command under way): waits up to 60 s.
no_helper_after_kill() {
	local n=0
	while [ -n "$(helpers)" ] && [ $n -lt 300 ]; do sleep 0.2; n=$((n + 1)); done
	is "$(helpers)" "" "$1: the LVM helper did not outlive the killed run"
	ok "$1: ... and LVM's lock is free (lvs answers at once)" \
		lvs --config 'global { wait_for_locks = 0 }' "$VG"
}

# ---- SIGKILL while the LVM helper has the split's command (fault point
# lvm-helper-sent): the helper either ran it to its end or saw its
# parent gone and ran nothing; either way it ends, and recover leaves
# the mirror whole.
kill_helper_split() {
	run env MBACKUP_FAULT=lvm-helper-sent:kill "$MB" --db none --mirror "$VG/ext" --lvm-split helper \
		--source /mnt/ext/data --media "file:$S/kill2.mbi" --catalog "$CATALOG" --freeze-timeout 5
	exit_is 137 "lvm-helper-sent:kill: killed with the command at the helper"
	like "$RUN_ERR" "lvm: the split of '$VG/ext' will run in the LVM helper" "... which was running"
	no_helper_after_kill "lvm-helper-sent:kill"
	ok "lvm-helper-sent:kill: the source is writable again" test -n "$(fx_wait_writable /mnt/ext/data 20)"
	note "lvm-helper-sent:kill: split images after the kill: '$(split_images ext)'"
	run "$MB" recover --catalog "$CATALOG"
	exit_is 0 "recover after lvm-helper-sent:kill exits 0"
	mirror_whole ext "after recover from lvm-helper-sent:kill"
}

# ---- SIGTERM ends P1's wait for a resync (issue 16, item 6): the slow
# raid1 (a resync throttled by --maxrecoveryrate) with the default
# --sync-timeout of 600 s; exit 15 within seconds, nothing split.
term_in_sync_wait() {
	local pid start rc
	"$MB" backup --db none --mirror "lvm:$VG/slow" --source /mnt/slow/data \
		--media "file:$S/slow.mbi" --catalog "$CATALOG" 2>"$S/slow.err" &
	pid=$!
	start=$SECONDS
	until grep -q "phase preflight: done" "$S/slow.err" 2>/dev/null; do
		[ $((SECONDS - start)) -ge 60 ] && break
		sleep 0.2
	done
	sleep 2
	ok "a backup waits for the resync in P1" kill -0 "$pid"
	kill -TERM "$pid"
	start=$SECONDS
	while kill -0 "$pid" 2>/dev/null && [ $((SECONDS - start)) -le 20 ]; do
		sleep 0.2
	done
	kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
	wait "$pid"
	rc=$?
	is "$rc" 15 "SIGTERM ends the wait for the resync (exit 15) within 20 s"
	is "$(grep '^mbackup: error: ' "$S/slow.err")" "mbackup: error: interrupted by SIGTERM" \
		"... with the signal's message"
	like "$(cat "$S/slow.err")" "lvm: stopped waiting for '$VG/slow' at [0-9.]+% in sync" \
		"... saying how far the resync got"
	is "$("$MB" list --output json --catalog "$CATALOG" | jq -r '.[0].status')" "failed" \
		"... and the run is failed"
	is "$(split_images slow)" "" "... nothing split"
	ok "... the source writable" fx_writable /mnt/slow/data
	nok "... no image under its final name" test -e "$S/slow.mbi"
}

# The finish phase's time in the last run's log, ms.
finish_ms() { grep -o 'phase finish: done in [0-9]*' <<<"$RUN_ERR" | grep -o '[0-9]*$'; }
# mbackup's lines about the merge and its proof, for the report.
lvm_lines() { grep -o 'lvm: \(merged\|proved\|the merge left\|check scrub\|repair scrub\|.*scrubbing\).*' <<<"$RUN_ERR" | sed 's/^/    /'; }
# A backup of mbt/xfs under a writer, stopped between its merge and its
# proof (MBACKUP_FAULT=lvm-merged:stop) with the writer's data flushed
# through the LV (the witness counts it); its pid in STOPPED.
stop_after_merge() {
	local n=0
	start_writer /mnt/xfs/data/w
	env MBACKUP_FAULT=lvm-merged:stop "$MB" --db none --mirror "$VG/xfs" --source /mnt/xfs/data \
		--media "file:$S/$1.mbi" --catalog "$CATALOG" --freeze-timeout 30 2>"$S/$1.err" &
	STOPPED=$!
	while [ "$(ps -o stat= -p "$STOPPED" | cut -c1)" != T ] && kill -0 "$STOPPED" 2>/dev/null &&
		[ $n -lt 1200 ]; do sleep 0.5; n=$((n + 1)); done
	stop_writer
	sync
	is "$(ps -o stat= -p "$STOPPED" | cut -c1)" T "$1: lvm-merged:stop stops the run between the merge and its proof"
}
# Continues the stopped run: it must exit 0; its log in RUN_ERR.
continue_stopped() {
	kill -CONT "$STOPPED"
	wait "$STOPPED"
	is "$?" 0 "$1: ... continued, the backup exits 0"
	RUN_ERR=$(cat "$S/$1.err")
	note "$1: $(lvm_lines)"
}

# ---- the witness's proof finds damage where the LV was written (issue
# 12): 4 KiB of a writer file is overwritten on the merged leg behind md's
# back; the proof must find the piece and copy it from leg 0, with no
# full pass.
inject_after_merge() {
	local sect off at n
	stop_after_merge inject
	sect=$(xfs_bmap /mnt/xfs/data/w/f1 | awk 'NR == 2 { split($3, a, "[.]"); print a[1] }')
	off=$((${sect:-0} * 512 + 4096))
	dd if=/dev/urandom of="/dev/mapper/$VG-xfs_rimage_1" bs=4096 count=1 seek="$off" \
		oflag=seek_bytes,direct conv=notrunc status=none
	continue_stopped inject
	like "$RUN_ERR" "the merge left '$VG/xfs' different on its legs in [0-9]+ pieces \([0-9]+ KiB, the first at byte [0-9]+\) where the split wrote; copied them from leg 0" \
		"... the witness's proof finds the damage in a written area (f1 at byte $off) and copies it"
	at=$(grep -o "different on its legs in 1 pieces ([0-9]* KiB, the first at byte [0-9]*" <<<"$RUN_ERR" |
		sed 's/.*(\([0-9]*\) KiB, the first at byte \([0-9]*\)/\2 \1/')
	read -r at n <<<"${at:-x 0}"
	if [ "$at" != x ]; then
		ok "... the one piece copied holds the damage ($at + $n KiB)" \
			test "$at" -le "$off" -a "$off" -lt $((at + n * 1024))
	else
		note "... more than one piece copied (the merge raced too)"
	fi
	like "$RUN_ERR" "lvm: proved '$VG/xfs' whole where the split wrote" "... then the legs compare equal"
	unlike "$RUN_ERR" "(repair|check) scrub of '$VG/xfs' done" "... with no full pass"
	mirror_whole xfs "after the damage found by the witness"
}

# ---- a witness lost before the proof (its dm-stats region deleted, as a
# deactivation would) falls back to the full scrub and says so.
lost_witness() {
	local id
	stop_after_merge lost
	id=$(dmsetup message "$VG-xfs" 0 "@stats_list mbackup-split" | awk -F: 'NR == 1 { print $1 }')
	dmsetup message "$VG-xfs" 0 "@stats_delete ${id:-none}"
	continue_stopped lost
	like "$RUN_ERR" "lvm: no I/O statistics region counted the writes since the split: scrubbing '$VG/xfs' in full" \
		"... without its witness the proof says it scrubs in full"
	like "$RUN_ERR" "lvm: check scrub of '$VG/xfs' done in [0-9]+ ms" "... and does"
	mirror_whole xfs "after the proof without a witness"
}

# ---- --mirror-proof witness without a proof on record: refused before
# anything is split (the witness proves only what changed).
witness_refused() {
	run "$MB" --db none --mirror "$VG/xfs" --source /mnt/xfs/data --media "file:$S/never.mbi" \
		--catalog "$S/fresh.db" --mirror-proof witness
	exit_is 6 "--mirror-proof witness with no proof on record: exit 6"
	is "$(grep '^mbackup: error: \|^HINT: ' <<<"$RUN_ERR")" "mbackup: error: --mirror-proof witness: the catalog has no proof that the legs of 'lvm:$VG/xfs' are equal, and the witness proves only what changed
HINT: run once with --mirror-proof auto or full: its full check scrub is recorded" \
		"... saying why, with a hint"
	is "$(split_images xfs)" "" "... nothing split"
	nok "... no image" test -e "$S/never.mbi"
}

# ---- the full check falls due (issue: the record's age limit): after
# roundtrip xfs the record holds 1 run by the witness.  A forced witness
# waives a due check (and counts a run); the default then scrubs in full,
# says why, and starts the count again; info shows the next one.
full_check_due() {
	run "$MB" --db none --mirror "$VG/xfs" --source /mnt/xfs/data --media "file:$S/due1.mbi" \
		--catalog "$CATALOG" --mirror-proof witness --mirror-check-runs 1
	exit_is 0 "--mirror-proof witness with a full check due: exit 0"
	like "$RUN_ERR" "lvm: full check due: 1 run since the last one at [0-9T:.-]+Z, waived by --mirror-proof witness" \
		"... the due check is waived, and said so"
	unlike "$RUN_ERR" "scrub of '$VG/xfs' done" "... no full pass"
	like "$RUN_ERR" "lvm: recorded 'lvm:$VG/xfs' proven whole by the witness; next full check due at the next run \(full check due: 2 runs since" \
		"... recorded as the second run by the witness, overdue"
	run "$MB" --db none --mirror "$VG/xfs" --source /mnt/xfs/data --media "file:$S/due2.mbi" \
		--catalog "$CATALOG" --mirror-check-runs 2
	exit_is 0 "the default proof with a full check due after 2 runs: exit 0"
	like "$RUN_ERR" "lvm: full check due: 2 runs since the last one at [0-9T:.-]+Z: scrubbing '$VG/xfs' in full" \
		"... scrubs in full, saying why"
	like "$RUN_ERR" "lvm: check scrub of '$VG/xfs' done" "... and does"
	like "$RUN_ERR" "lvm: recorded 'lvm:$VG/xfs' proven whole by a full check; next full check due after 2 more runs" \
		"... and starts the count again"
	run "$MB" info --catalog "$CATALOG" --output json
	is "$(jq -c '.mirror_proofs[] | [.mirror, .recorded, .runs_since_full, .next_full_after_runs, (.next_full_at | test("Z$"))]' <<<"$RUN_OUT")" \
		"[\"lvm:$VG/xfs\",true,0,7,true]" "info: the record now, the next full check after 7 runs (the default)"
	run "$MB" info --catalog "$CATALOG" --mirror-check-runs 3
	like "$RUN_OUT" "proof now +lvm:$VG/xfs: last full check [0-9T:.-]+Z, 0 run\(s\) by the witness since; next full check due after 3 more runs or at" \
		"info (text): when the next full check is due, by info's own bounds"
	rm -f "$S/due1.mbi" "$S/due2.mbi"
}

# ---- paced_proof: under --max-rate the merge's proof (the witness's
# areas, read from both legs) takes from a pace of its own, as the stream
# does, and says what it read and waited; the mirror is whole after it.
paced_proof() {
	start_writer /mnt/xfs/data/w
	run "$MB" --db none --mirror "$VG/xfs" --source /mnt/xfs/data --media "file:$S/paced.mbi" \
		--catalog "$CATALOG" --max-rate 16M
	stop_writer
	exit_is 0 "--max-rate 16M under the writer: exit 0"
	like "$RUN_ERR" "proof: reading at most 16777216 bytes/s" "... the proof reads at the run's rate"
	like "$RUN_ERR" "lvm: recorded 'lvm:$VG/xfs' proven whole by the witness" "... by the witness"
	like "$RUN_ERR" "proof: [0-9]+ bytes read in [0-9]+ ms, waited [0-9]+ ms for the rate, yielded 0 ms" \
		"... and says what it read and how long it waited"
	mirror_whole xfs "after the paced proof"
	rm -f "$S/paced.mbi"
}

# ---- kill_at POINT WHAT: a SIGKILL of a backup of mbt/xfs under the
# writer at fault point POINT: lvm-merged (right after the merge, before
# its proof) or lvm-proof (during it: the witness read).  The merged leg is
# left write-mostly and the catalog's record taken; recover scrubs the
# mirror in full and records the full check.
kill_at() {
	local point=$1 what=$2
	start_writer /mnt/xfs/data/w
	run env MBACKUP_FAULT=$point:kill "$MB" --db none --mirror "$VG/xfs" --source /mnt/xfs/data \
		--media "file:$S/$point.mbi" --catalog "$CATALOG" --freeze-timeout 30
	stop_writer
	exit_is 137 "$point:kill: killed $what"
	like "$RUN_ERR" "injecting fault 'kill' at $point" "... at the fault point"
	is "$(split_images xfs)/$(lvs -a --noheadings -o lv_attr "$VG/xfs_rimage_1" | tr -d ' ' | cut -c9)" "/w" \
		"... merged, its merged leg still write-mostly"
	run "$MB" info --catalog "$CATALOG" --output json
	is "$(jq -c '[.mirror_proofs[].recorded]' <<<"$RUN_OUT")" "[false]" "... the record taken: none on record"
	run "$MB" recover --catalog "$CATALOG"
	exit_is 0 "recover after $point:kill exits 0"
	like "$RUN_ERR" "check scrub of '$VG/xfs' done" "... and scrubs the mirror in full"
	like "$RUN_ERR" "lvm: recorded 'lvm:$VG/xfs' proven whole by a full check" "... and records it"
	nok "... and no image under its final name" test -e "$S/$point.mbi"
	mirror_whole xfs "after recover from $point:kill"
}

t0=$(now_ms)
setup_vg >&2 || bail_out "unable to set up the volume group on ${disks[*]}"
write_tools
note "setup (vg, scratch, seed tree): $(($(now_ms) - t0)) ms"

# ---- a linear LV: check says a snapshot stands in, nothing created ----
before=$(lvs -a --noheadings -o lv_name "$VG" | tr -d ' ' | sort | tr '\n' ' ')
run "$MB" check --db none --mirror "$VG/lin" --source /mnt/lin/data --catalog "$CATALOG"
exit_is 0 "check of a linear LV exits 0"
like "$RUN_ERR" "lvm: '$VG/lin' is linear or striped, not raid1: a classic snapshot stands in" \
	"check says a classic snapshot stands in"
is "$(lvs -a --noheadings -o lv_name "$VG" | tr -d ' ' | sort | tr '\n' ' ')" "$before" \
	"nothing was split or created"
run "$MB" --db none --mirror "$VG/nosuch" --source /mnt/lin/data \
	--media "file:$S/lin.mbi" --catalog "$CATALOG"
exit_is 6 "a missing LV is refused with exit 6"

# ---- a mirror still resyncing: P1 waits up to --sync-timeout, then refuses
lvcreate -q -y --type raid1 -m 1 -L 64M --maxrecoveryrate 64k -n slow "$VG" >&2 &&
	mkfs.ext4 -q -F "/dev/$VG/slow" >&2 && mkdir -p /mnt/slow && mount "/dev/$VG/slow" /mnt/slow &&
	mkdir -p /mnt/slow/data || bail_out "unable to make the slow raid1"
run "$MB" check --db none --mirror "$VG/slow" --source /mnt/slow/data --catalog "$CATALOG" \
	--sync-timeout 2
exit_is 6 "a mirror still resyncing after --sync-timeout is refused with exit 6"
like "$RUN_ERR" "did not reach 100% in sync within 2 s" "... saying how far it got"
term_in_sync_wait
umount /mnt/slow && lvremove -q -y "$VG/slow" >&2

# ---- ext4 (inline_data: the split leg is mounted too) ----
t0=$(now_ms)
make_raid ext 256M mkfs.ext4 -q -F -I 256 -O inline_data >&2 || bail_out "unable to make the ext4 raid1"
note "ext4 raid1 created, populated: $(($(now_ms) - t0)) ms (sync now $(lvfield ext sync_percent)%)"
run "$MB" check --db none --mirror "/dev/$VG/ext" --source /mnt/ext/data --catalog "$CATALOG"
exit_is 0 "mbackup check on the raid1 (as /dev/VG/LV) exits 0 (waits for the initial resync)"
like "$RUN_OUT" "mirror lvm:$VG/ext," "... and names the LV in its one form"
roundtrip ext ext4

# ---- SIGKILL after the split, then recover ----
run env MBACKUP_FAULT=after-split:kill "$MB" --db none --mirror "$VG/ext" --lvm-split helper \
	--source /mnt/ext/data --media "file:$S/kill.mbi" --catalog "$CATALOG" --freeze-timeout 5
exit_is 137 "after-split:kill: killed by SIGKILL"
like "$RUN_ERR" "lvm: split '$VG/ext_rimage_1' off in [0-9]+ ms \(by the LVM helper\)" \
	"after-split:kill: the split was the LVM helper's"
no_helper_after_kill "after-split:kill"
took=$(fx_wait_writable /mnt/ext/data 20)
ok "after-split:kill: the source is writable again within the freeze timeout (${took:-?} s)" \
	test -n "$took"
is "$(split_images ext)" "ext_rimage_1" "the split image is left behind"
is "$(blockdev --getro "/dev/mapper/$VG-ext_rimage_1")" "1" \
	"the split image is read-only at the block layer"
# The flag must refuse a write, not only warn (since 5.x a bio to a
# read-only bdev is only logged; write(2) on the node checks the flag)
ro_sum() { dd if="/dev/mapper/$VG-ext_rimage_1" bs=1M skip=200 count=1 iflag=direct status=none | md5sum; }
sum0=$(ro_sum)
run dd if=/dev/zero of="/dev/mapper/$VG-ext_rimage_1" bs=1M seek=200 count=1 oflag=direct conv=fsync status=none
isnt "$RUN_RC" 0 "a direct write to the read-only split image fails"
like "$RUN_ERR" "Operation not permitted" "... with EPERM"
run dd if=/dev/zero of="/dev/mapper/$VG-ext_rimage_1" bs=1M seek=200 count=1 conv=fsync status=none
isnt "$RUN_RC" 0 "a buffered write to it fails too"
is "$(ro_sum)" "$sum0" "... and the split image is unchanged"
is "$("$MB" list --output json --catalog "$CATALOG" | jq -r '.[0].status')" "running" \
	"the killed run is still 'running'"
# Damage the split image behind LVM's back: the write is not tracked, so
# the merge cannot know; the check scrub after it must find and repair it.
blockdev --setrw "/dev/mapper/$VG-ext_rimage_1"
dd if=/dev/urandom of="/dev/mapper/$VG-ext_rimage_1" bs=1M seek=200 count=1 conv=fsync status=none
run "$MB" check --db none --mirror "/dev/mapper/$VG-ext" --source /mnt/ext/data --catalog "$CATALOG"
exit_is 6 "mbackup check refuses a mirror with a split image"
like "$RUN_ERR" "already has a split image '$VG/ext_rimage_1'.*HINT: .*mbackup recover" \
	"the refusal names the image and hints at mbackup recover"
t0=$(now_ms)
run "$MB" recover --catalog "$CATALOG" --progress json --progress-interval 0 \
	--progress-to "$S/recover.json"
exit_is 0 "mbackup recover exits 0"
note "recover (merge + check + repair + check): $(($(now_ms) - t0)) ms"
note "recover's progress: $(wc -l <"$S/recover.json") line(s), last: $(tail -n 1 "$S/recover.json")"
ok "recover shows its merge wait as progress of the phase 'recover', ending at 100 %" \
	jq -e -s 'length >= 1 and all(.phase == "recover") and .[-1].percent == 100' "$S/recover.json"
like "$RUN_ERR" "the merge left 2048 sectors of '$VG/ext' out of sync; repairing" \
	"recover found the 1 MiB written to the split image and repaired it"
is "$("$MB" list --output json --catalog "$CATALOG" | jq -r '.[0].status')" "failed" \
	"after recover the run is 'failed'"
mirror_whole ext "after recover"
ok "the source is writable after recover" fx_writable /mnt/ext/data
kill_helper_split

# ---- xfs ----
t0=$(now_ms)
make_raid xfs 320M mkfs.xfs -q -f >&2 || bail_out "unable to make the xfs raid1"
note "xfs raid1 created, populated: $(($(now_ms) - t0)) ms"
witness_refused
roundtrip xfs xfs --lvm-split lvconvert
full_check_due
paced_proof

inject_after_merge
lost_witness
kill_at lvm-merged "right after the merge"
kill_at lvm-proof "during the witness's proof"

is "$("$MB" list --output json --catalog "$CATALOG" | jq -r '[.[] | select(.verb == "backup") | .status] | join(" ")')" \
	"failed failed complete complete complete complete complete complete complete failed failed complete complete failed" \
	"the catalog: nine complete runs, the four killed ones and the one stopped in P1 failed"
done_testing
