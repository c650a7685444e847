#!/bin/bash
# Block maps of files a several-device full cut into segments: each
# device hashes the blocks of its segments as it streams them, so an
# incremental after such a full writes only the changed blocks of a
# segmented file (before, it had no map and went whole); the chain, a
# full on two devices and an increment, restores byte-identical.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/fixture.sh"
fx_chain_suite 512M

mkdir -p "$SRC/db/rel"
head -c $((24 * 1048576)) /dev/urandom >"$SRC/db/rel/big"
head -c $((1048576 + 4096 * 3 + 100)) /dev/urandom >"$SRC/db/rel/odd"
fx_random_files "$SRC/db" f- 10 20000
run fx_backup --media "file:$OUT/a.mbi" --media "file:$OUT/b.mbi" --segment-threshold 4M
exit_is 0 "B1: a full on two devices"
B1=1
run mb ls --from "$OUT/a.mbi" --from "$OUT/b.mbi" --output json
segs=$(printf '%s' "$RUN_OUT" | jq '[.. | objects | select(.path? == "db/rel/big")] | length')
ok "db/rel/big is cut into segments ($segs pieces)" test "${segs:-0}" -ge 2

printf 'CHANGED' | dd of="$SRC/db/rel/big" bs=1 seek=$((9 * 1048576 + 5)) conv=notrunc status=none
printf 'TWO' | dd of="$SRC/db/rel/big" bs=1 seek=$((17 * 1048576 - 2)) conv=notrunc status=none
run fx_backup --media "file:$OUT/i.mbi" --incremental
exit_is 0 "B2: an incremental on the two-device full"
B2=2
like "$RUN_ERR" "incremental on backup $B1: 1 of [0-9]+ entries changed, 12288 bytes of them \(1 as changed blocks\)" \
	"only the three changed blocks of the segmented file (one write across two blocks)"
run mb ls --from "$OUT/i.mbi"
like "$RUN_OUT" " db/rel/big\.mbackup-incr" "the segmented file is a delta member"
size=$(stat -c %s "$OUT/i.mbi")
ok "the increment is small ($size bytes)" test "$size" -lt 200000
cp -a "$SRC" "$SCRATCH/point-$B2"
run mb restore --backup $B2 --to "$SCRATCH/r2"
exit_is 0 "B2 restores through the two-device full and the increment"
like "$RUN_OUT" "through 2 images \(backups $B1,$B2\)" "through the chain"
fx_tree_is "$SCRATCH/point-$B2" "$SCRATCH/r2" "byte-identical"
done_testing
