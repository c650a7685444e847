#!/bin/bash
# An 8 GiB + 4 KiB sparse file streamed to stdout: tar lists its exact size
# and `verify --from -` reads the stream back.  Nothing of that size is
# written to disk.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/fixture.sh"
fx_init
fx_setup ext4
SIZE=$((8 * 1073741824 + 4096))
head -c 65536 /dev/urandom >"$SRC/big.sparse"
truncate -s "$SIZE" "$SRC/big.sparse"
printf 'the end' | dd of="$SRC/big.sparse" bs=1 seek=$((SIZE - 7)) conv=notrunc status=none
echo small >"$SRC/small"
is "$(stat -c %s "$SRC/big.sparse")" "$SIZE" "the sparse file is 8 GiB + 4 KiB"

fx_backup --media - 2>"$SCRATCH/b1.err" | tar -tvf - >"$SCRATCH/list" 2>"$SCRATCH/tar.err"
rc=("${PIPESTATUS[@]}")
is "${rc[0]}" 0 "backup to stdout exits 0"
is "${rc[1]}" 0 "tar -tvf - reads the stream"
line=$(grep -E '(^|[ /])big\.sparse$' "$SCRATCH/list")
like "$line" " $SIZE " "tar shows the exact size"
like "$(grep -E '(^|[ /])small$' "$SCRATCH/list")" " 6 " "tar lists the other file with its size"

fx_backup --media - 2>"$SCRATCH/b2.err" | "$MB" verify --from - >"$SCRATCH/verify.out" 2>"$SCRATCH/verify.err"
rc=("${PIPESTATUS[@]}")
is "${rc[0]}" 0 "second backup to stdout exits 0"
is "${rc[1]}" 0 "verify --from - exits 0"
like "$(cat "$SCRATCH/verify.out")" "^verify: ok: 2 files, $((SIZE + 6)) bytes, image [0-9]+ bytes$" "verify counts the files and bytes"
done_testing
