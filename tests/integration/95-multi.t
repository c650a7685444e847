#!/bin/bash
# Several devices at once (issue 5): --media repeated writes one image per
# device concurrently; restore/verify --from A --from B reassemble the set;
# a device that fails mid-run (a FIFO whose reader dies) moves its items to
# the survivors; with a device missing, restore lists what it cannot (19).
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/fixture.sh"
fx_init
fx_setup ext4 1G
mkdir -p "$SRC/base/16384" "$SRC/etc"
# PostgreSQL-like: 1 GiB segment files (sparse, so the disk is not filled
# by the source) with a little data in each, and many small files.
for i in 1 2 3 4 5; do
	truncate -s 1G "$SRC/base/16384/1600$i"
	head -c 65536 /dev/urandom | dd of="$SRC/base/16384/1600$i" bs=65536 seek=$((i * 100)) conv=notrunc status=none
done
head -c $((40 * 1048576)) /dev/urandom >"$SRC/big.bin"
for i in $(seq 1 300); do head -c $((i * 37)) /dev/urandom >"$SRC/etc/f$i"; done
O=$SCRATCH/out
mkdir -p "$O"

run fx_backup --media "file:$O/a" --media "file:$O/b" --media "file:$O/c" \
	--segment-threshold 64M
exit_is 0 "backup on three devices exits 0"
ok "three images" test -s "$O/a" -a -s "$O/b" -a -s "$O/c"
# (each device's segments are hashed by a tap: read in place, none copied)
like "$RUN_ERR" "phase stream: done in [0-9]+ ms \(3 image\(s\), .*, [1-9][0-9]* read from the leg, [0-9]+ with O_DIRECT, 0 copied\)" \
	"the three devices' readers copied nothing"

run mb verify --from "$O/a" --from "$O/b" --from "$O/c"
exit_is 0 "verify of the set"
run mb restore --from "$O/a" --from "$O/b" --from "$O/c" --to "$SCRATCH/r3"
exit_is 0 "restore of the set"
ok "restore is byte-exact" diff -r "$SRC" "$SCRATCH/r3"

run mb restore --from "$O/a" --from "$O/b" --from "$O/c" --to "$SCRATCH/one" --file big.bin
exit_is 0 "single-file restore of a segmented file seeks on each device"
ok "big.bin exact" cmp "$SRC/big.bin" "$SCRATCH/one/big.bin"

run mb restore --from "$O/a" --from "$O/c" --to "$SCRATCH/r2"
exit_is 19 "a device missing: partial (19)"
like "$RUN_OUT$RUN_ERR" "cannot restore '[^']*': .*device 2 of 3, which is not given" "lists what it cannot restore"

mkdir -p "$SCRATCH/tar"
tar -xf "$O/a" -C "$SCRATCH/tar" 2>"$SCRATCH/tar.err"
is "$(cat "$SCRATCH/tar.err")" "" "GNU tar on one image is silent"
bad=0
while IFS= read -r f; do
	case "$f" in *.mbackup-seg-*) continue ;; esac
	cmp -s "$SCRATCH/tar/$f" "$SRC/$f" || bad=$((bad + 1))
done < <(cd "$SCRATCH/tar" && find . -type f | sed 's|^\./||')
is "$bad" 0 "GNU tar leaves no wrong file under an original name"

# A device that fails mid-run: the reader of its FIFO dies after 1 MiB.
mkfifo "$O/fifo"
(head -c 1048576 <"$O/fifo" >/dev/null) &
run fx_backup --media "file:$O/x" --media "pipe:$O/fifo" --media "file:$O/y" --force
exit_is 0 "a failed device: the run completes"
like "$RUN_ERR" "device 2 .*failed" "the failed device is reported"
like "$RUN_ERR" "phase stream: done in [0-9]+ ms \(.*, 0 copied\)" \
	"... and its items streamed again to the others copied nothing either"
is "$(fx_last_run | jq -r '[.media[] | select(.status == "failed") | .media] | join(",")')" \
	"pipe:$O/fifo" "list --output json names the failed device"
is "$(fx_last_run | jq -r '.status')" "complete" "... and the run is complete"
moved=$(sqlite3 "$CATALOG" "select count(*) from placements where run_id = (select max(id) from runs) and planned = 2 and device <> 2")
ok "the catalog records the items moved off device 2 ($moved)" test "${moved:-0}" -gt 0
run mb restore --from "$O/x" --from "$O/y" --to "$SCRATCH/fo"
exit_is 0 "restore from the survivors"
ok "byte-exact from the survivors" diff -r "$SRC" "$SCRATCH/fo"

done_testing
