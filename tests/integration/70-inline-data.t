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
head -c $((3 * 1048576 + 5000)) /dev/urandom >"$SRC/big"
ln -s tiny/t-5 "$SRC/link"
touch -d '@1650000000.987654321' "$SRC/tiny/t-7"
sync
# the regular files FIEMAP flags inline: what must take the filesystem path
# (the flag in filefrag's extent lines, not a name such as not-inline)
inline=$(find "$SRC" -type f -exec sh -c 'filefrag -v "$1" | grep -qE "[ ,]inline(,|$)" && echo' _ {} \; | wc -l)
ok "FIEMAP flags files inline ($inline of them)" test "$inline" -gt 0
IMG=$SCRATCH/out/inline.mbi
run fx_backup --media "file:$IMG"
exit_is 0 "backup exits 0"
# (from the stream phase's log detail: the inline files took the fs path)
bytes=$(find "$SRC" -type f -printf '%s\n' | awk '{ s += $1 } END { print s }')
like "$RUN_ERR" "phase stream: done in [0-9]+ ms \(1 image\(s\), $(stat -c %s "$IMG") bytes of image, $bytes file bytes, $inline via the filesystem, " \
	"the $inline inline files, and only they, were read through the filesystem"
# (a full's block hasher and progress count are taps: every byte is read
# into the image writer's buffer, none copied; the big file with O_DIRECT)
like "$RUN_ERR" "phase stream: done in [0-9]+ ms \(.*, $bytes read from the leg, [0-9]+ with O_DIRECT, 0 copied\)" \
	"every byte read from the leg once, none copied"
direct=$(sed -nE 's/.*phase stream: done .*, ([0-9]+) with O_DIRECT, .*/\1/p' <<<"$RUN_ERR")
ok "of them the big file's 3 MiB with O_DIRECT ($direct bytes)" test "${direct:-0}" -ge $((3 * 1048576))
# (the split leg is mounted at split-<run id> beside the catalog)
like "$RUN_ERR" "mounting the split leg read-only at '$SCRATCH/catalog/split-1' for $inline file\(s\) read through the filesystem" \
	"the split leg was mounted beside the catalog"
run mb verify --from "$IMG"
exit_is 0 "verify exits 0"
run mb restore --from "$IMG" --to "$SCRATCH/r"
exit_is 0 "restore exits 0"
fx_tree_is "$SRC" "$SCRATCH/r" "inline files restore exactly"
is "$(findmnt -rn -o TARGET | grep -F "$SCRATCH/catalog/split-")" "" "no mount of the split leg left"
nok "its mount point is gone" test -e "$SCRATCH/catalog/split-1"
is "$(fx_clones)" "" "no split clone left"
ok "source writable" fx_writable "$SRC"
done_testing
