#!/bin/bash
# tests/vm/snapshot-suite.sh - lvm:VG/LV on a linear LV, inside the guest
# (TAP): a classic COW snapshot stands in for the split leg.  Run by
# tests/integration/93-snapshot-vm.t:
#   tests/vm/vm-run --disks 2 --disk-size 1G -- tests/vm/snapshot-suite.sh
# The data LV is on the first disk, the containers (--snapshot-pv) on the
# second.  A writer overwrites the backup set in place (O_DIRECT, so every
# block hits the origin during the stream) from a cgroup of its own, its
# cwd on the data filesystem (how mbackup finds the writers to throttle).
. "$(dirname "$0")/../lib/tap.sh"
FX_NO_BINARY=1
. "$(dirname "$0")/../lib/fixture.sh"
. "$(dirname "$0")/pg-lib.sh"

[ -n "${VM_GUEST:-}" ] || skip_all "runs inside the test VM: tests/vm/vm-run --disks 2 -- $0"
read -r -a disks <<<"${VM_DISKS:-}"
[ "${#disks[@]}" -ge 2 ] || skip_all "needs 2 virtio disks (vm-run --disks 2)"
[ -x "$MB" ] || bail_out "no binary at '$MB' (run make)"

VG=mbs
S=/scratch
D=/mnt/lin/data
CATALOG=$S/catalog.db
CG=/sys/fs/cgroup/mbwriter
T_START=$(date +%s)
. "$(dirname "$0")/snap-lib.sh"
trap snap_cleanup EXIT
. "$(dirname "$0")/lvm-lib.sh"

snaps() { lvs --noheadings -o lv_name "$VG" | tr -d ' ' | grep _mbsnap_ | tr '\n' ' '; }
iomax() { grep "^$DEVNO " "$CG/io.max" | grep -o 'wbps=[^ ]*' || echo "wbps=max"; }

setup() {
	pvcreate -q -y "${disks[0]}" "${disks[1]}" && vgcreate -q "$VG" "${disks[0]}" "${disks[1]}" &&
		lvcreate -q -y -L 560M -n scratch "$VG" "${disks[0]}" && mkfs.ext4 -q "/dev/$VG/scratch" &&
		mkdir -p "$S" && mount "/dev/$VG/scratch" "$S" &&
		lvcreate -q -y -L 256M -n lin "$VG" "${disks[0]}" && mkfs.ext4 -q "/dev/$VG/lin" &&
		mkdir -p /mnt/lin && mount "/dev/$VG/lin" /mnt/lin && mkdir -p "$D/static" &&
		fx_populate "$D/static" &&
		head -c 16M /dev/urandom >"$D/big1" &&
		for i in 2 3 4 5 6; do
			cp "$D/big1" "$D/big$i" || return 1
		done && sync &&
		mkdir -p /sys/fs/cgroup && { mountpoint -q /sys/fs/cgroup || mount -t cgroup2 none /sys/fs/cgroup; } &&
		echo '+memory +io' >/sys/fs/cgroup/cgroup.subtree_control && mkdir -p "$CG"
}

# mb_bg WHAT ARGS: mbackup on the linear LV, containers on the second disk
# (snap-lib.sh runs it: backup_bg).
mb_bg() {
	local what=$1
	shift
	(echo "$BASHPID" >"$S/pid" && exec "$MB" --db none --mirror "lvm:$VG/lin" --source "$D" \
		--catalog "$CATALOG" --snapshot-pv "${disks[1]}" "$@" 2>"$S/$what.log")
}
reset_data() {
	for i in 1 2 3 4 5 6; do cp "$S/orig-big$i" "$D/big$i" || return 1; done
	sync
	BEFORE=$(sums "$D")
}

t0=$(now_ms)
setup >&2 || bail_out "unable to set up the volume group"
for i in 1 2 3 4 5 6; do cp "$D/big$i" "$S/orig-big$i"; done
DEVNO=$(printf '%d:%d' "0x$(stat -L -c %t "/dev/$VG/lin")" "0x$(stat -L -c %T "/dev/$VG/lin")")
BEFORE=$(sums "$D")
holder_start
note "setup: $(($(now_ms) - t0)) ms; data LV $DEVNO"

# ---- check says which method and why ----
run "$MB" check --db none --mirror "lvm:$VG/lin" --source "$D" --catalog "$CATALOG" \
	--snapshot-pv "${disks[1]}"
exit_is 0 "check of a linear LV exits 0"
like "$RUN_ERR" "lvm: '$VG/lin' is linear or striped, not raid1: a classic snapshot stands in: container 25 MiB \(10% of the origin\) on '${disks[1]}', chunk 8 KiB" \
	"check names the method, the container and why"
is "$(snaps)" "" "check created nothing"
like "$RUN_ERR" "snapshot: writers to throttle if need be: cgroup '$CG' on $DEVNO" \
	"check names the writers' cgroup it would throttle"
unlike "$RUN_ERR" "controller: its buffered writes" "check: that cgroup has the memory and io controllers"
# A cgroup with io but not memory (its parent enables +io alone): check
# says its write-back escapes io.max.  The holder goes there and back.
NOMEM=/sys/fs/cgroup/mbio
mkdir -p "$NOMEM" && echo +io >"$NOMEM/cgroup.subtree_control" && mkdir -p "$NOMEM/w" &&
	echo "$HOLDER" >"$NOMEM/w/cgroup.procs" || bail_out "unable to set up $NOMEM/w"
run "$MB" check --db none --mirror "lvm:$VG/lin" --source "$D" --catalog "$CATALOG" \
	--snapshot-pv "${disks[1]}"
exit_is 0 "check with the writers' cgroup lacking memory exits 0 (a warning, not a refusal)"
like "$RUN_ERR" "snapshot: cgroup '$NOMEM/w' has no memory controller: its buffered writes \(write-back\) escape io.max \(HINT: echo '\+memory \+io' > its parent's cgroup.subtree_control\)" \
	"check says the cgroup lacks memory and how to enable it"
echo "$HOLDER" >"$CG/cgroup.procs" && rmdir "$NOMEM/w" "$NOMEM" || bail_out "unable to remove $NOMEM"

# ---- bad input: a container that cannot fit, a PV of no VG ----
run "$MB" check --db none --mirror "lvm:$VG/lin" --source "$D" --snapshot-size 5G
exit_is 6 "a container larger than the free space exits 6"
like "$RUN_ERR" "mbackup: error: no room for the snapshot of '$VG/lin': the container needs 5120 MiB, volume group '$VG' has [0-9]+ MiB free" \
	"the message gives the sizes"
run "$MB" check --db none --mirror "lvm:$VG/lin" --source "$D" --snapshot-pv /dev/nosuch
exit_is 6 "--snapshot-pv outside the VG exits 6"
like "$RUN_ERR" "mbackup: error: --snapshot-pv '/dev/nosuch' is not a physical volume of volume group '$VG'" "the message names it"
run "$MB" check --db none --mirror "lvm:$VG/lin" --source "$D" --snapshot-size 10x
exit_is 2 "a bad --snapshot-size exits 2"
like "$RUN_ERR" "mbackup: error: invalid value '10x' for --snapshot-size" "the message names the value"
run "$MB" check --db none --mirror "lvm:$VG/lin" --source "$D" --throttle-writers sometimes
exit_is 2 "a bad --throttle-writers exits 2"

# ---- 1. a roomy container: the origin overwritten during the stream ----
backup_bg roomy --snapshot-size 200M
exit_is 0 "roomy: the backup exits 0 while the writer overwrites the set"
like "$RUN_ERR" "lvm: snapshot '$VG/lin_mbsnap_[0-9]+' taken in [0-9]+ ms" "roomy: the snapshot was taken in the window"
is "$(snaps)" "" "roomy: the snapshot is removed after the stream"
is "$(last_run '.snapshots[0].method')/$(last_run '.snapshots[0].invalidated')" "classic/false" \
	"roomy: list records a classic snapshot, never invalidated"
ok "roomy: the writer filled the container during the stream (peak $(last_run '.snapshots[0].peak_pct')%)" \
	test "$(last_run '.snapshots[0].peak_pct | floor')" -gt 0
restore_same roomy
reset_data

# ---- 2. a small container that is extended ----
SLOW=1 backup_bg extend --snapshot-size 16M
exit_is 0 "extend: the backup exits 0"
like "$RUN_ERR" "snapshot: extended '$VG/lin_mbsnap_[0-9]+' by [0-9]+ MiB" "extend: the container was extended"
ok "extend: list counts the extensions ($(last_run '.snapshots[0].extensions'))" \
	test "$(last_run '.snapshots[0].extensions')" -ge 1
is "$(last_run '.snapshots[0].invalidated')" false "extend: never invalidated"
is "$(snaps)" "" "extend: the snapshot is removed"
restore_same extend
reset_data

# ---- 3. no room to grow, writers not throttled: the run fails cleanly ----
FAST=1 backup_bg overflow --snapshot-size 8M --snapshot-extend-max 8M --throttle-writers off
exit_is 6 "overflow: the run exits 6"
# A writer this fast may fill 8 MiB between two looks (invalidated) or
# be seen coming (dropped first); either way the run ends cleanly.
like "$RUN_ERR" "mbackup: error: snapshot '$VG/lin_mbsnap_[0-9]+' (overflowed its container \(8 MiB after 0 extension\(s\)\) and was invalidated|was dropped at [0-9.]+% of its container \(8 MiB after 0 extension\(s\)\) before it could overflow): the image is incomplete" \
	"overflow: the message says the container overflowed or was dropped first"
note "overflow: $(last_run '.snapshots[0].outcome')"
ok "overflow: nothing under the image's name" test ! -e "$S/overflow.mbi"
is "$(snaps)" "" "overflow: the snapshot is removed"
is "$(last_run .status)/$(last_run '.snapshots[0].invalidated')" "failed/true" "overflow: the run is failed, the snapshot recorded invalidated"
ok "overflow: the origin is intact (the writer's zeros are there)" \
	cmp -n 1048576 "$D/big1" /dev/zero
reset_data

# ---- 4. no room to grow: the writers are throttled, the backup valid ----
SLOW=1 backup_bg throttle --snapshot-size 16M --snapshot-extend-max 16M
exit_is 0 "throttle: the backup exits 0"
like "$RUN_ERR" "snapshot: container [0-9.]+% full and it cannot grow: writers of '$CG' limited to [0-9]+ KiB/s" \
	"throttle: the writers were limited"
like "$RUN_ERR" "snapshot: writers of '$CG' released after [0-9]+ ms" "throttle: and released"
unlike "$RUN_ERR" "no memory controller" "throttle: the writers' cgroup has the memory controller (no warning)"
is "$(iomax)" "wbps=max" "throttle: io.max is back to no limit"
ok "throttle: list records the throttled time ($(last_run '.snapshots[0].throttled_ms') ms)" \
	test "$(last_run '.snapshots[0].throttled_ms')" -gt 0
is "$(last_run '.snapshots[0].invalidated')" false "throttle: never invalidated"
restore_same throttle
reset_data

# ---- 4b. a writer faster than the floor: dropped before it overflows ----
# 1 KiB writes at random places into 512 KiB chunks copy 512 times their
# bytes: the limit is divided by that, but even at the floor of writes
# (4 KiB/s) the container fills.  The stream (through a 2 MiB/s pipe)
# would outlast it.
SLOW=2 WRITER_KB=1 WRITER_RANDOM=1 backup_bg floor --snapshot-size 8M --snapshot-extend-max 8M \
	--snapshot-chunk 512K
exit_is 6 "floor: the run exits 6"
like "$RUN_ERR" "snapshot: container [0-9.]+% full and it cannot grow: writers of '$CG' limited to 4 KiB/s \\([0-9.]+ bytes copied a byte written\\)" \
	"floor: the writers were held at the floor"
like "$RUN_ERR" "mbackup: error: snapshot '$VG/lin_mbsnap_[0-9]+' was dropped at [0-9.]+% of its container \(8 MiB after 0 extension\(s\)\) before it could overflow: the image is incomplete" \
	"floor: the message says it was dropped before it could overflow"
PEAK=$(last_run '.snapshots[0].peak_pct | floor')
ok "floor: dropped near the mark, never full (peak $PEAK%)" test "$PEAK" -ge 80 -a "$PEAK" -lt 100
is "$(last_run .status)/$(last_run '.snapshots[0].invalidated')/$(last_run '.snapshots[0].outcome' | cut -d' ' -f1)" \
	"failed/true/dropped" "floor: the run is failed, the snapshot recorded dropped"
is "$(snaps)" "" "floor: the snapshot is removed"
is "$(iomax)" "wbps=max" "floor: io.max is back to no limit"
is "$(dmsetup table "$VG-lin" | awk '{ print $3 }')" linear "floor: the origin is a plain linear LV again"
ok "floor: the origin reads whole and takes writes" \
	sh -c "cat '$D'/big* >/dev/null && timeout 5 dd if=/dev/zero of='$D/big1' bs=1M count=1 conv=notrunc oflag=direct status=none"
rm -f "$S/floor.mbi"
reset_data

# ---- 5. SIGKILL while the writers are throttled: recover heals ----
SLOW=1 KILL_ON="writers of '$CG' limited to" backup_bg kill --snapshot-size 16M --snapshot-extend-max 16M
exit_is 137 "kill: killed by SIGKILL while the writers are throttled"
for ((i = 0; i < 30; i++)); do [ "$(iomax)" = wbps=max ] && break; sleep 0.1; done
is "$(iomax)" "wbps=max" "kill: the keeper lifted the writers' limit at once"
like "$(snaps)" "lin_mbsnap_[0-9]+" "kill: the snapshot is left behind"
run "$MB" check --db none --mirror "lvm:$VG/lin" --source "$D"
exit_is 6 "kill: a new run is refused while it is there"
like "$RUN_ERR" "has a snapshot '$VG/lin_mbsnap_[0-9]+' left by an mbackup run" "kill: the message names it"
run "$MB" recover --catalog "$CATALOG"
exit_is 0 "kill: recover exits 0"
is "$(snaps)" "" "kill: recover removed the snapshot"
is "$(last_run .status)" failed "kill: the run is marked failed"
is "$(iomax)" "wbps=max" "kill: no limit after recover"
rm -f "$S/kill.mbi"
reset_data
# ---- 6. SIGKILL while the origin is suspended (before lvcreate) ----
run env MBACKUP_FAULT=snapshot-suspended:kill "$MB" --db none --mirror "lvm:$VG/lin" --source "$D" \
	--media "file:$S/susp.mbi" --catalog "$CATALOG" --snapshot-pv "${disks[1]}" --freeze-timeout 5
exit_is 137 "suspended: killed by SIGKILL with the origin suspended"
state=
for ((i = 0; i < 50; i++)); do
	state=$(dmsetup info -c --noheadings -o attr "$VG-lin")
	[[ $state != *s* ]] && break
	sleep 0.1
done
unlike "$state" "s" "suspended: the keeper resumed the origin (attr $state)"
took=
for ((i = 0; i < 40; i++)); do
	if timeout 2 touch "$D/.probe" 2>/dev/null; then took=$i; rm -f "$D/.probe"; break; fi
done
ok "suspended: the filesystem is writable again (${took:-?} tries)" test -n "$took"
run "$MB" recover --catalog "$CATALOG"
exit_is 0 "suspended: recover exits 0"
is "$(snaps)" "" "suspended: no snapshot is left"

run "$MB" --db none --mirror "lvm:$VG/lin" --source "$D" --media "file:$S/after.mbi" \
	--catalog "$CATALOG" --snapshot-pv "${disks[1]}"
exit_is 0 "kill: a later run works"
restore_same after

# ---- 7. PostgreSQL on a linear LV, hot mode, under pgbench and the tick writer ----
# 8 and 9 back up the same cluster again, its container on a PV with no
# free space left: throttled, then with --throttle-writers off.
pg_classic() {
	pg_snapshot_up -L 400M "$VG" "${disks[0]}" || return
	pg_snapshot_backup pg
	pg_snapshot_restored linear classic snaps pg
	pg_no_room
	pg_snapshot_backup pg-tight --snapshot-size 5%
	pg_tight_checks
	pg_snapshot_restored linear classic snaps pg-tight
	# --max-rate 4M: the stream lasts ~50 s whatever the host's speed, so
	# pgbench surely fills the 20 MiB before it ends (at full speed the
	# in-place stream finished in 15 s at a peak of 95.4 %, 2026-12-04).
	pg_snapshot_backup pg-off --snapshot-size 5% --throttle-writers off --max-rate 4M
	pg_off_checks
	lvremove -q -f "$VG/filler" >/dev/null
	pg_stop /pg/data
}

# The container PV keeps 5 extents (20 MiB, 5% of vg/pg: the issue's
# example) free, no more.
pg_no_room() {
	local n
	n=$(pvs --noheadings -o pv_pe_count,pv_pe_alloc_count "${disks[1]}" | awk '{ print $1 - $2 - 5 }')
	lvcreate -q -y -l "$n" -n filler "$VG" "${disks[1]}" >/dev/null ||
		bail_out "unable to fill '${disks[1]}'"
}

# ---- 8. a container of 5% that cannot grow, under pgbench ----
pg_tight_checks() {
	local ms bps
	like "$RUN_ERR" "snapshot: '$VG/pg_mbsnap_[0-9]+' cannot grow past 20 MiB" \
		"pg-tight: the container of 20 MiB cannot grow (no free space on its PV)"
	like "$RUN_ERR" "snapshot: container [0-9.]+% full and it cannot grow: writers of '$CG' limited to [0-9]+ KiB/s" \
		"pg-tight: PostgreSQL's writers were limited"
	like "$RUN_ERR" "snapshot: writers of '$CG' released after [0-9]+ ms" "pg-tight: and released"
	like "$PG_IOMAX_SEEN" "wbps=[0-9]+" "pg-tight: the postmaster's io.max held a limit during the run ($PG_IOMAX_SEEN)"
	is "$(pg_iomax)" "wbps=max" "pg-tight: and none after it"
	ms=$(last_run '.snapshots[0].throttled_ms')
	bps=$(last_run '.snapshots[0].throttle_bps')
	ok "pg-tight: list records the throttled time ($ms ms) and the rate ($bps B/s)" \
		test "$ms" -gt 0 -a "$bps" -gt 0
	like "$("$MB" list --catalog "$CATALOG" | grep -m1 'snapshot classic')" \
		"writers throttled [1-9][0-9]* ms down to [1-9][0-9]* KiB/s" "pg-tight: list's text shows them"
}

# ---- 9. the same with --throttle-writers off: dropped, production untouched ----
pg_off_checks() {
	local log=$PG_SOCK/pg-5432.log
	exit_is 6 "pg-off: the run exits 6"
	like "$RUN_ERR" "mbackup: error: snapshot '$VG/pg_mbsnap_[0-9]+' (was dropped at [0-9.]+% of its container|overflowed its container) \(20 MiB after 0 extension\(s\)\)" \
		"pg-off: the message says why"
	note "pg-off: $(last_run '.snapshots[0].outcome')"
	is "$(last_run .status)/$(snaps)/${PG_IOMAX_SEEN:-none}" "failed//none" \
		"pg-off: the run is failed, the snapshot removed, the writers never limited"
	ok "pg-off: nothing under the image's name" test ! -e "$S/pg-off.mbi"
	ok "pg-off: PostgreSQL kept running and commits" pg_sql 5432 "INSERT INTO ticks (id) VALUES (-1)"
	ok "pg-off: a checkpoint writes its pages to the origin" pg_sql 5432 "CHECKPOINT"
	unlike "$(cat "$log")" "could not (write|fsync)|I/O error|PANIC" "pg-off: no write error in PostgreSQL's log"
}

if [ -n "${PG_TEMPLATE:-}" ] && [ -f "$PG_TEMPLATE/PG_VERSION" ] && [ -x "$PG_BIN/postgres" ]; then
	pg_classic
else
	skip "PostgreSQL on a linear LV" "no PostgreSQL 15 template (\$PG_TEMPLATE)"
fi

note "guest suite wall time: $(($(date +%s) - T_START)) s"
done_testing
