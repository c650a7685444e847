#!/bin/bash
# A compressed image (--compress zstd) on the object store, against a real
# Ceph (tests/lib/ceph-up): restore --file and verify find the seek table
# by ranged GETs at the object's end and fetch only the frames they need;
# a whole restore and ls read it too; a set of two compressed objects.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/fixture.sh"
. "$(dirname "$0")/../lib/ceph.sh"
fx_s3_suite
mkdir -p "$SRC/bulk" "$SRC/mid"
head -c $((30 * 1048576)) /dev/urandom >"$SRC/bulk/big-1"
head -c $((12 * 1048576)) /dev/urandom >"$SRC/bulk/big-2"
head -c 1048576 /dev/urandom >"$SRC/mid/target.bin"

# fetched SIZE: the bytes the s3 reader says it fetched of an object of SIZE
fetched() {
	printf '%s\n' "$RUN_ERR" | sed -n "s/.*s3: fetched \([0-9]*\) of $1 bytes of '.*/\1/p"
}

OBJ=s3://backups/z/full.mbi.zst
run fx_backup "${C[@]}" --media "$OBJ" --compress zstd:1
exit_is 0 "compressed backup to $OBJ"
s3_get backups/z/full.mbi.zst "$SCRATCH/out/full.zst"
size=$(stat -c %s "$SCRATCH/out/full.zst")
ok "zstd -dc | tar reads the object" sh -c "zstd -dc '$SCRATCH/out/full.zst' | tar -tf - mid/target.bin >/dev/null"

run mb restore "${C[@]}" --from "$OBJ" --to "$SCRATCH/one" --file mid/target.bin
exit_is 0 "restore --file of a compressed object"
ok "the file is exact" cmp "$SRC/mid/target.bin" "$SCRATCH/one/mid/target.bin"
like "$RUN_ERR" "zstd: read [0-9]+ of $size compressed bytes \\([0-9]+ frames decompressed\\) of '$OBJ'" \
	"read by its seek table, not in order"
f=$(fetched "$size")
diag "restore --file fetched $f of $size bytes"
ok "fetched ${f:-?} of $size bytes: under 4 MiB" test "${f:-999999999}" -lt $((4 * 1048576))
ok "and at least the file" test "${f:-0}" -ge 1048576

run mb ls "${C[@]}" --from "$OBJ"
exit_is 0 "ls of a compressed object"
like "$RUN_OUT" "mid/target.bin" "ls lists the files"
f=$(fetched "$size")
ok "ls fetched ${f:-?} of $size bytes: under 2 MiB" test "${f:-999999999}" -lt $((2 * 1048576))

run mb verify "${C[@]}" --from "$OBJ"
exit_is 0 "verify of a compressed object"
run mb restore "${C[@]}" --from "$OBJ" --to "$SCRATCH/all"
exit_is 0 "whole restore of a compressed object"
fx_tree_is "$SRC" "$SCRATCH/all" "the restored tree is byte-exact"
f=$(fetched "$size")
ok "a whole restore fetches the object once: $f of $size bytes" \
	test "${f:-0}" -ge "$size" -a "${f:-0}" -le $((size + 131072))

# ---- a set of two compressed objects ----
run fx_backup "${C[@]}" --media s3://backups/z/a.zst --media s3://backups/z/b.zst --compress zstd:1
exit_is 0 "a compressed set of two objects"
run mb restore "${C[@]}" --from s3://backups/z/a.zst --from s3://backups/z/b.zst --to "$SCRATCH/set"
exit_is 0 "the compressed set restores"
fx_tree_is "$SRC" "$SCRATCH/set" "the set's tree is byte-exact"
run mb restore "${C[@]}" --from s3://backups/z/a.zst --from s3://backups/z/b.zst \
	--to "$SCRATCH/set1" --file bulk/big-2
exit_is 0 "one file of the compressed set"
ok "it is exact" cmp "$SRC/bulk/big-2" "$SCRATCH/set1/bulk/big-2"

done_testing
