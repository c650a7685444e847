#!/bin/bash
# tests/vm/thin-suite.sh - lvm:VG/LV on a thin LV, inside the guest (TAP):
# mbackup takes the thin snapshot itself through device-mapper inside the
# window.  Run by tests/integration/94-thin-vm.t:
#   tests/vm/vm-run --disks 2 --disk-size 2G -- tests/vm/thin-suite.sh
# A writer overwrites the backup set in place (O_DIRECT) during the
# stream, from a cgroup of its own, its cwd on the data filesystem.  The
# guest enables +memory beside +io, as 93 does: PostgreSQL's cluster is
# copied from inside that cgroup (pg-lib.sh), so its page cache and its
# write-back are the cgroup's and io.max reaches them.
. "$(dirname "$0")/../lib/tap.sh"
FX_NO_BINARY=1
. "$(dirname "$0")/../lib/fixture.sh"
. "$(dirname "$0")/pg-lib.sh"

[ -n "${VM_GUEST:-}" ] || skip_all "runs inside the test VM: tests/vm/vm-run --disks 2 -- $0"
read -r -a disks <<<"${VM_DISKS:-}"
[ "${#disks[@]}" -ge 2 ] || skip_all "needs 2 virtio disks (vm-run --disks 2)"
[ -x "$MB" ] || bail_out "no binary at '$MB' (run make)"

VG=mbt
S=/scratch
CATALOG=$S/catalog.db
CG=/sys/fs/cgroup/mbwriter
T_START=$(date +%s)
LV= D=
WRITER_FROM=/dev/urandom	# random blocks: every overwrite is a new pool chunk
. "$(dirname "$0")/snap-lib.sh"
trap snap_cleanup EXIT
. "$(dirname "$0")/lvm-lib.sh"

snapdevs() { dmsetup ls 2>/dev/null | awk '{print $1}' | grep _mbsnap_ | tr '\n' ' '; }
pool_pct() { lvs --noheadings -o data_percent "$VG/$1" | tr -d ' '; }

# thin_fs POOL POOLSIZE LV VSIZE [PV [LVCREATE_OPTS]]: a pool (on PV, the
# first disk by default, any with PV ""), a thin LV on it with ext4
# (mounted -o discard, so freed blocks go back to the pool) at /mnt/LV
# holding the fixture and big1..big6 (16 MiB each).
thin_fs() {
	local pv=("${5-${disks[0]}}")
	[ -n "${pv[0]}" ] || pv=()
	lvcreate -q -y -L "$2" "${@:6}" -T "$VG/$1" "${pv[@]}" >/dev/null &&
		lvcreate -q -y -V "$4" -T "$VG/$1" -n "$3" >/dev/null && mkfs.ext4 -q "/dev/$VG/$3" &&
		mkdir -p "/mnt/$3" && mount -o discard "/dev/$VG/$3" "/mnt/$3" &&
		mkdir -p "/mnt/$3/data/static" && fx_populate "/mnt/$3/data/static" &&
		head -c 16M /dev/urandom >"/mnt/$3/data/big1" &&
		for i in 2 3 4 5 6; do cp "/mnt/$3/data/big1" "/mnt/$3/data/big$i" || return 1; done &&
		sync
}

setup() {
	pvcreate -q -y "${disks[0]}" "${disks[1]}" && vgcreate -q "$VG" "${disks[0]}" "${disks[1]}" &&
		lvcreate -q -y -L 560M -n scratch "$VG" "${disks[1]}" && mkfs.ext4 -q "/dev/$VG/scratch" &&
		mkdir -p "$S" && mount "/dev/$VG/scratch" "$S" &&
		thin_fs pool 400M thin 256M &&
		mkdir -p /sys/fs/cgroup && { mountpoint -q /sys/fs/cgroup || mount -t cgroup2 none /sys/fs/cgroup; } &&
		echo '+memory +io' >/sys/fs/cgroup/cgroup.subtree_control && mkdir -p "$CG"
}

# use LV: the scenarios' origin, its data directory and checksums.
use() {
	LV=$1
	D=/mnt/$1/data
	for i in 1 2 3 4 5 6; do cp "$D/big$i" "$S/orig-big$i"; done
	BEFORE=$(sums "$D")
	holder_start
}

# mb_bg WHAT ARGS: mbackup on the thin LV $LV (snap-lib.sh runs it: backup_bg).
mb_bg() {
	local what=$1
	shift
	(echo "$BASHPID" >"$S/pid" && exec "$MB" --db none --mirror "lvm:$VG/$LV" --source "$D" \
		--catalog "$CATALOG" "$@" 2>"$S/$what.log")
}
reset_data() {
	for i in 1 2 3 4 5 6; do cp "$S/orig-big$i" "$D/big$i" || return 1; done
	sync
	fstrim "/mnt/$LV" 2>/dev/null
	BEFORE=$(sums "$D")
}

# gone_id POOL ID: the pool no longer has thin device ID (delete says so).
gone_id() {
	local out
	out=$(dmsetup message "$VG-$1-tpool" 0 "delete $2" 2>&1) && return 1
	grep -q "No data available" <<<"$out"
}

# pg_pool_race LOG: whether the pool grew while the snapshot was reloaded
# writable for discard-behind (the race a9f476a fixed: an lvextend of the
# pool and the reload now wait for each other, and the one that waited
# says so), a diagnostic: whether it happens depends on the run's timing.
pg_pool_race() {
	local grew met
	grew=$(grep -c "snapshot: extended '$VG/pgpool'" "$1")
	met=$(grep -E "waited [0-9]+ ms for (an extension of pool|a table reload)" "$1")
	if [ -n "$met" ]; then
		diag "pg: the pool's extension and the writable reload met, and waited (the race a9f476a fixed):" "$met"
	elif [ "$grew" -gt 0 ]; then
		diag "pg: the pool grew $grew time(s), never during the writable reload (the race was not exercised)"
	else
		diag "pg: the pool never grew (the race was not exercised)"
	fi
	[ "$grew" = 0 ] || diag "$(grep -E "snapshot: extended '$VG/pgpool'|discard-behind on" "$1")"
}

t0=$(now_ms)
setup >&2 || bail_out "unable to set up the volume group"
use thin
note "setup: $(($(now_ms) - t0)) ms; pool $(pool_pct pool)% full"

# ---- check says which method and why ----
run "$MB" check --db none --mirror "lvm:$VG/thin" --source "$D" --catalog "$CATALOG"
exit_is 0 "check of a thin LV exits 0"
like "$RUN_ERR" "lvm: '$VG/thin' is thin, not raid1: a thin snapshot stands in: pool '$VG/pool' [0-9.]+% full \(400 MiB, chunk 64 KiB\), grown at 70% from [0-9]+ MiB free, writers throttled when it cannot grow and its fill outruns the room \(at 80% at the latest\), the snapshot dropped at 90%" \
	"check names the method, the pool and the marks"
like "$RUN_ERR" "the snapshot dropped at 90%, its blocks given back outside the set and behind the stream" \
	"check says the snapshot's blocks are discarded behind the stream"
like "$RUN_ERR" "snapshot: writers to throttle if need be: cgroup '$CG' on " "check names the writers' cgroup"
unlike "$RUN_ERR" "controller: its buffered writes" "check: that cgroup has the memory and io controllers"
run "$MB" check --db none --mirror "lvm:$VG/thin" --source "$D" --catalog "$CATALOG" --log-level debug
pool_lvs=$(printf '%s\n' "$RUN_ERR" | grep -c "running 'lvs .* $VG/pool'")
is "$pool_lvs" 1 "one lvs of the pool for its size, chunk and metadata size (not one a field)" ||
	diag "$(printf '%s\n' "$RUN_ERR" | grep "running 'lvs")"
run "$MB" check --db none --mirror "lvm:$VG/thin" --source "$D" --catalog "$CATALOG" --discard-behind off
like "$RUN_ERR" "the snapshot dropped at 90%, no discard-behind \(--discard-behind off\)" \
	"check says when it is off"
run "$MB" check --db none --mirror "lvm:$VG/thin" --source "$D" --discard-behind sometimes
exit_is 2 "a bad --discard-behind exits 2"
like "$RUN_ERR" "mbackup: error: invalid --discard-behind 'sometimes'" "the message names the value"
is "$(snapdevs)" "" "check created nothing"

# ---- 1. the origin overwritten during the stream (discard-behind on) ----
pool_before=$(pool_pct pool)
SLOW=1 backup_bg roomy
peak_on=$(last_run '.snapshots[0].peak_pct')
exit_is 0 "roomy: the backup exits 0 while the writer overwrites the set"
like "$RUN_ERR" "lvm: thin snapshot '$VG/thin_mbsnap_[0-9]+' \(id [0-9]+ in pool '$VG/pool'\) taken in [0-9]+ ms" \
	"roomy: the snapshot was taken in the window"
is "$(snapdevs)" "" "roomy: the snapshot device is removed after the stream"
is "$(last_run '.snapshots[0].method')/$(last_run '.snapshots[0].invalidated')" "thin/false" \
	"roomy: list records a thin snapshot, never dropped"
ID=$(grep -o "(id [0-9]*" <<<"$RUN_ERR" | head -1 | tr -dc 0-9)
ok "roomy: its id $ID is deleted from the pool" gone_id pool "$ID"
like "$RUN_ERR" "lvm: discard-behind on '$VG/thin_mbsnap_[0-9]+': [0-9]+ MiB outside the backup set given back to pool '$VG/pool' in [0-9]+ ms" \
	"roomy: the snapshot's blocks outside the set were given back"
like "$RUN_ERR" "writers throttled [0-9]+ ms, [1-9][0-9]* MiB discarded \([1-9][0-9]* MiB behind the stream\)" \
	"roomy: and blocks behind the stream"
restore_same roomy
reset_data
run lvcreate -q -y -V 32M -T "$VG/pool" -n later
exit_is 0 "roomy: LVM still creates a thin LV in the pool ($RUN_ERR)"
lvremove -q -f "$VG/later" >/dev/null 2>&1

# ---- 1b. discard-behind off under the same writer: the pool's peak ----
# The writer overwrites big1..big6 while the stream reads them: with
# discard-behind (1, the default) a block already streamed is the
# origin's alone again (no copy, no new pool block) and the snapshot's
# copies go as it passes; without, every overwrite is a new pool block.
SLOW=1 backup_bg db-off --discard-behind off
exit_is 0 "db-off: the backup exits 0"
peak_off=$(last_run '.snapshots[0].peak_pct')
note "pool ${pool_before}% before; peak ${peak_on}% with discard-behind ($(grep -o '[0-9]* MiB discarded ([0-9]* MiB behind the stream)' "$S/roomy.log")), ${peak_off}% without"
like "$RUN_ERR" "writers throttled [0-9]+ ms, 0 MiB discarded \(0 MiB behind the stream\)" \
	"db-off: nothing was discarded"
unlike "$RUN_ERR" "discard-behind on" "db-off: and the snapshot was not made writable for it"
ok "discard-behind lowers the pool's peak under the writer (${peak_on}% on < ${peak_off}% off)" \
	awk -v a="$peak_on" -v b="$peak_off" 'BEGIN { exit !(a < b) }'
rm -f "$S/db-off.mbi"
reset_data

# ---- 1c'. --order-file: the file the writer overwrites streamed first ----
# The writer overwrites big6 alone, at random places: in logical order it
# is streamed after big1..big5 (about 10 s through the 8 MiB/s sink), so
# nearly every block of it is copied first; listed first, most of it is
# on the media (and discarded behind) before the writer reaches it.
printf '# hottest first\nbig6\n' >"$S/hot.order"
WRITER_FILES=6 WRITER_RANDOM=1 SLOW=1 backup_bg logical
exit_is 0 "logical: the backup exits 0 under the writer of big6"
peak_logical=$(last_run '.snapshots[0].peak_pct')
restore_same logical
rm -f "$S/logical.mbi"
reset_data
WRITER_FILES=6 WRITER_RANDOM=1 SLOW=1 backup_bg hot --order-file "$S/hot.order"
exit_is 0 "hot: the backup with --order-file exits 0"
peak_hot=$(last_run '.snapshots[0].peak_pct')
like "$RUN_ERR" "order file '$S/hot.order': 1 file\(s\) streamed first, in its order" "hot: big6 went first"
restore_same hot
note "order: pool ${pool_before}% before; peak ${peak_logical}% in logical order, ${peak_hot}% with big6 first" \
	"($(awk -v a="$peak_logical" -v b="$peak_hot" -v p="$pool_before" 'BEGIN { if (a > p) printf "copies %.2f of logical", (b - p) / (a - p) }'))"
rm -f "$S/hot.mbi"
reset_data

# ---- 1c. SIGKILL just after the discards outside the set: recover heals ----
STATIC=$(sums "$D/static")
run env MBACKUP_FAULT=thin-discarded:kill "$MB" --db none --mirror "lvm:$VG/thin" --source "$D" \
	--media "file:$S/disc.mbi" --catalog "$CATALOG"
exit_is 137 "discarded: killed by SIGKILL after the discards outside the set"
like "$(snapdevs)" "thin_mbsnap_[0-9]+" "discarded: the writable snapshot is left behind"
run "$MB" recover --catalog "$CATALOG"
exit_is 0 "discarded: recover exits 0"
is "$(snapdevs)" "" "discarded: recover removed the snapshot"
is "$(sums "$D/static")" "$STATIC" "discarded: the origin is intact (its files unchanged)"
rm -f "$S/disc.mbi"

# ---- 2. SIGKILL inside the window, the origin suspended ----
run env MBACKUP_FAULT=thin-suspended:kill "$MB" --db none --mirror "lvm:$VG/thin" --source "$D" \
	--media "file:$S/susp.mbi" --catalog "$CATALOG" --freeze-timeout 5
exit_is 137 "suspended: killed by SIGKILL with the origin suspended"
state=
for ((i = 0; i < 50; i++)); do
	state=$(dmsetup info -c --noheadings -o attr "$VG-thin")
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
is "$(snapdevs)" "" "suspended: no snapshot device is left"
rm -f "$S/susp.mbi"

# ---- 3. SIGKILL mid-stream: recover removes the device and the id ----
SLOW=1 KILL_ON="discard-behind on '" backup_bg kill
exit_is 137 "kill: killed by SIGKILL during the stream"
ID=$(grep -o "(id [0-9]*" <<<"$RUN_ERR" | head -1 | tr -dc 0-9)
like "$(snapdevs)" "thin_mbsnap_[0-9]+" "kill: the snapshot device is left behind"
run "$MB" check --db none --mirror "lvm:$VG/thin" --source "$D"
exit_is 6 "kill: a new run is refused while it is there"
like "$RUN_ERR" "mbackup: error: logical volume '$VG/thin' has a thin snapshot '$VG-thin_mbsnap_[0-9]+' left by an mbackup run" \
	"kill: the message names it"
run "$MB" recover --catalog "$CATALOG"
exit_is 0 "kill: recover exits 0"
is "$(snapdevs)" "" "kill: recover removed the snapshot device"
ok "kill: and deleted id $ID from the pool" gone_id pool "$ID"
like "$(grep -o 'discard-behind on .*' "$S/kill.log")" "given back to pool" "kill: discard-behind was on when it was killed"
is "$(sums "$D/static")" "$STATIC" "kill: the origin is intact (the files the writer leaves alone)"
is "$(last_run .status)" failed "kill: the run is marked failed"
rm -f "$S/kill.mbi"
reset_data
run "$MB" --db none --mirror "lvm:$VG/thin" --source "$D" --media "file:$S/after.mbi" --catalog "$CATALOG"
exit_is 0 "kill: a later run works"
restore_same after

# ---- 4. a pool that cannot grow: the snapshot is dropped before it fills ----
# (4, 5 and 7 test the watch's marks: without discard-behind, which would
# keep the pool from reaching them)
thin_fs small 160M tsm 128M >&2 || bail_out "unable to make the small pool"
use tsm
SIZE=$(lvs --noheadings --units b --nosuffix -o lv_size "$VG/small" | tr -d ' ')
note "abort: pool $(pool_pct small)% full, $((SIZE >> 20)) MiB"
SLOW=1 FAST=1 backup_bg abort --discard-behind off --throttle-writers off --snapshot-extend-max "$((SIZE >> 20))M"
exit_is 6 "abort: the run exits 6"
like "$RUN_ERR" "mbackup: error: thin pool '$VG/small' reached [0-9.]+% \([0-9]+ MiB after 0 extension\(s\)\): the snapshot was dropped before the pool could fill: the image is incomplete" \
	"abort: the message says why"
is "$(snapdevs)" "" "abort: the snapshot device is gone"
PEAK=$(last_run '.snapshots[0].peak_pct | floor')
ok "abort: the pool was dropped at the mark, never full (peak $PEAK%)" test "$PEAK" -ge 90 -a "$PEAK" -lt 100
ok "abort: the origin stays writable" timeout 5 dd if=/dev/zero of="$D/big1" bs=1M count=1 conv=notrunc oflag=direct status=none
is "$(last_run .status)/$(last_run '.snapshots[0].invalidated')" "failed/true" "abort: the run is failed, the snapshot recorded dropped"
unlike "$RUN_ERR" "device-mapper: message ioctl" "abort: the undo's delete of a dropped id is silent"
rm -f "$S/abort.mbi"
reset_data

# ---- 5. a pool that cannot grow: the writers are throttled, the backup valid ----
DEVNO=$(printf '%d:%d' "0x$(stat -L -c %t "/dev/$VG/tsm")" "0x$(stat -L -c %T "/dev/$VG/tsm")")
iomax() { grep "^$DEVNO " "$CG/io.max" | grep -o 'wbps=[^ ]*' || echo "wbps=max"; }
SLOW=1 FAST=1 backup_bg throttle --discard-behind off --snapshot-extend-max "$((SIZE >> 20))M"
exit_is 0 "throttle: the backup exits 0"
like "$RUN_ERR" "snapshot: container [0-9.]+% full and it cannot grow: writers of '$CG' limited to [0-9]+ KiB/s" \
	"throttle: the writers were limited"
like "$RUN_ERR" "snapshot: writers of '$CG' released after [0-9]+ ms" "throttle: and released"
is "$(iomax)" "wbps=max" "throttle: io.max is back to no limit"
is "$(last_run '.snapshots[0].invalidated')" false "throttle: never dropped"
restore_same throttle
reset_data

# ---- 6. a pool already nearly full is refused before anything is frozen ----
lvcreate -q -y -V 32M -T "$VG/small" -n filler >/dev/null &&
	dd if=/dev/urandom of="/dev/$VG/filler" bs=1M count=16 oflag=direct status=none
run "$MB" check --db none --mirror "lvm:$VG/tsm" --source "$D"
exit_is 6 "full: check of a thin LV in a pool $(pool_pct small)% full exits 6"
like "$RUN_ERR" "mbackup: error: thin pool '$VG/small' is [0-9.]+% full: a snapshot could fill it and stop every thin volume in it" \
	"full: the message says why"
like "$RUN_ERR" "HINT: extend it first: lvextend -L\+SIZE $VG/small" "full: the hint says how"
lvremove -q -f "$VG/filler" >/dev/null


# ---- 7. a small pool grows from the VG's free space ----
SLOW=1 FAST=1 backup_bg grow --discard-behind off --throttle-writers off
exit_is 0 "grow: the backup exits 0"
like "$RUN_ERR" "snapshot: extended '$VG/small' by [0-9]+ MiB" "grow: the pool was extended"
ok "grow: list counts the extensions ($(last_run '.snapshots[0].extensions'))" \
	test "$(last_run '.snapshots[0].extensions')" -ge 1
restore_same grow
reset_data

# ---- 7b. a pool whose tiny metadata must grow during the run ----
# 4 MiB of metadata (--poolmetadatasize 2M, rounded up to the VG's 4 MiB
# extent) for 1600 MiB of data, filled past the watch's 70% mark (below
# check's 80%) by sharing and unsharing b-tree leaves: a raw thin LV of
# 512 MiB (a leaf maps about 8 MiB of it), then rounds of a thin snapshot
# of it (through device-mapper, as mbackup takes its own) and a 4 KiB
# write every 4 MiB of it (each copies its leaf), the fill checked every
# 32 writes.  The watch finds the metadata the fuller part and grows it
# at its first poll.
meta_pct() { dmsetup status "$VG-mpool-tpool" | awk '{ split($5, m, "/"); printf "%d", 100 * m[1] / m[2] }'; }
meta_fill() {
	local round id cmds part k
	lvcreate -q -y -V 768M -T "$VG/mpool" -n mfill >/dev/null &&
		dd if=/dev/zero of="/dev/$VG/mfill" bs=1M count=512 oflag=direct status=none || return 1
	id=$(dmsetup table "$VG-mfill" | awk '{ print $5 }')
	for ((round = 1; round <= 20; round++)); do
		(($(meta_pct) < 71)) || return 0
		dmsetup suspend "$VG-mfill" &&
			dmsetup message "$VG-mpool-tpool" 0 "create_snap $((16000000 + round)) $id" &&
			dmsetup resume "$VG-mfill" || return 1
		for ((part = 0; part < 4; part++)); do
			cmds=()
			for ((k = part * 32; k < part * 32 + 32; k++)); do cmds+=(-c "pwrite -q $((k << 22)) 4k"); done
			xfs_io -d "${cmds[@]}" "/dev/$VG/mfill" || return 1
			(($(meta_pct) < 71)) || return 0
		done
	done
	return 1
}
t0=$(now_ms)
thin_fs mpool 1600M tmeta 256M "" --poolmetadatasize 2M >&2 || bail_out "unable to make the metadata pool"
meta_fill
filled=$?
ok "meta: the metadata filled to $(meta_pct)% ($(lvs --noheadings -o data_percent "$VG/mpool" | tr -d ' ')% data)" \
	test "$filled" = 0
note "meta: setup $(($(now_ms) - t0)) ms"
use tmeta
run "$MB" check --db none --mirror "lvm:$VG/tmeta" --source "$D" --catalog "$CATALOG"
like "$RUN_ERR" "pool '$VG/mpool' [0-9.]+% full \(metadata\)" "meta: check sees the metadata as the fuller part"
SLOW=1 backup_bg meta
exit_is 0 "meta: the backup exits 0"
like "$RUN_ERR" "snapshot: extended the metadata of '$VG/mpool' by [0-9]+ MiB to [0-9]+ MiB" "meta: the metadata was extended"
like "$RUN_ERR" "metadata [1-9][0-9]* extension\(s\), 4 -> [0-9]+ MiB" "meta: the run's summary counts it"
ok "meta: LVM sees the larger metadata ($(lvs --noheadings --units m -o lv_metadata_size "$VG/mpool" | tr -d ' '))" \
	test "$(lvs --noheadings --units b --nosuffix -o lv_metadata_size "$VG/mpool" | tr -d ' ')" -gt $((4 << 20))
is "$(snapdevs)" "" "meta: the snapshot device is removed"
restore_same meta
kill "$HOLDER" 2>/dev/null && wait "$HOLDER" 2>/dev/null
HOLDER=
umount "/mnt/tmeta"
lvremove -q -f "$VG/mpool" >/dev/null 2>&1

# ---- 8. PostgreSQL on a thin LV, hot mode, under pgbench and the tick writer ----
if [ -n "${PG_TEMPLATE:-}" ] && [ -f "$PG_TEMPLATE/PG_VERSION" ] && [ -x "$PG_BIN/postgres" ]; then
	pg_snapshot_scenario thin thin snapdevs -L 600M -V 400M -T "$VG/pgpool" "${disks[0]}"
	pg_pool_race "$S/pg.log"
else
	skip "PostgreSQL on a thin LV" "no PostgreSQL 15 template (\$PG_TEMPLATE)"
fi

note "guest suite wall time: $(($(date +%s) - T_START)) s"
done_testing
