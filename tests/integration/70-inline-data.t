#!/bin/bash
# ext4 with inline_data: tiny files live inside the inode (FIEMAP flags them
# DATA_INLINE), so they are read through a read-only mount of the split leg.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/fixture.sh"
fx_init
fx_setup ext4 512M -O inline_data
ok "inline_data is on" bash -c "dumpe2fs -h '$SRC_LOOP' 2>/dev/null | grep -q inline_data"
mkdir -p "$SRC/tiny/sub"
for i in $(seq 1 120); do
	head -c "$i" /dev/urandom >"$SRC/tiny/t-$i"
done
echo "hello inline" >"$SRC/tiny/sub/hello"
: >"$SRC/tiny/empty"
head -c 100000 /dev/urandom >"$SRC/not-inline"
ln -s tiny/t-5 "$SRC/link"
touch -d '@1650000000.987654321' "$SRC/tiny/t-7"
sync
inline=$(filefrag -v "$SRC/tiny/t-60" 2>/dev/null | grep -c inline)
note "filefrag of t-60 shows inline extents: $inline"
IMG=$SCRATCH/out/inline.mbi
run fx_backup --media "file:$IMG"
exit_is 0 "backup exits 0"
# (from the stream phase's log detail: the inline files took the fs path)
like "$RUN_ERR" "[1-9][0-9]* via the filesystem" "inline files were read through the filesystem"
run mb verify --from "$IMG"
exit_is 0 "verify exits 0"
run mb restore --from "$IMG" --to "$SCRATCH/r"
exit_is 0 "restore exits 0"
fx_tree_is "$SRC" "$SCRATCH/r" "inline files restore exactly"
is "$(findmnt -rn -o TARGET | grep -c mbackup-split)" "0" "no mount of the split leg left"
is "$(fx_clones)" "" "no split clone left"
ok "source writable" fx_writable "$SRC"
done_testing
