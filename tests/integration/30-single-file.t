#!/bin/bash
# restore --file seeks straight to one member: a 1 MiB file out of a ~200 MB
# image is restored exactly while reading little more than that file.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/fixture.sh"
fx_init
fx_setup ext4 1G
mkdir -p "$SRC/bulk/a" "$SRC/bulk/z" "$SRC/mid/dir"
for i in 1 2; do
	head -c $((50 * 1048576)) /dev/urandom >"$SRC/bulk/a/big-$i"
	head -c $((50 * 1048576)) /dev/urandom >"$SRC/bulk/z/big-$i"
done
for i in $(seq 1 200); do
	head -c $((i * 100)) /dev/urandom >"$SRC/mid/small-$i"
done
head -c 1048576 /dev/urandom >"$SRC/mid/dir/target.bin"
touch -d '@1600000000.123456789' "$SRC/mid/dir/target.bin"
chmod 0640 "$SRC/mid/dir/target.bin"
IMG=$SCRATCH/out/big.mbi

run fx_backup --media "file:$IMG"
exit_is 0 "backup of ~200 MB exits 0"
size=$(stat -c %s "$IMG")
ok "image is over 200 MB ($size)" test "$size" -gt 209715200

run mb restore --from "$IMG" --to "$SCRATCH/one" --file mid/dir/target.bin --output json
exit_is 0 "restore --file exits 0"
ok "content exact" cmp "$SRC/mid/dir/target.bin" "$SCRATCH/one/mid/dir/target.bin"
is "$(stat -c '%a %.9Y' "$SCRATCH/one/mid/dir/target.bin" 2>/dev/null)" "640 1600000000.123456789" "mode and mtime restored"
is "$(cd "$SCRATCH/one" && find . -type f | sort)" "./mid/dir/target.bin" "only that file restored"
read_bytes=$(printf '%s' "$RUN_OUT" | jq -r .image_bytes_read)
is "$(printf '%s' "$RUN_OUT" | jq -r .image_size)" "$size" "json image_size"
is "$(printf '%s' "$RUN_OUT" | jq -r .files)" "1" "json files"
is "$(printf '%s' "$RUN_OUT" | jq -r .bytes)" "1048576" "json bytes"
ok "image_bytes_read $read_bytes < file size + 1 MiB" test "$read_bytes" -lt $((2 * 1048576))

run mb restore --from "$IMG" --to "$SCRATCH/two" --file mid/small-7 --file bulk/z/big-2
exit_is 0 "restore of two --file"
ok "first of two exact" cmp "$SRC/mid/small-7" "$SCRATCH/two/mid/small-7"
ok "second of two exact" cmp "$SRC/bulk/z/big-2" "$SCRATCH/two/bulk/z/big-2"

# issue 16, 13: --file DIR restores the directory and everything below it
# (as --file base/16384 should restore that database's files)
touch -d '@1500000000' "$SRC/mid/dir"
run fx_backup --media "file:$SCRATCH/out/dirs.mbi" --force
exit_is 0 "backup for the --file DIR cases"
run mb restore --from "$SCRATCH/out/dirs.mbi" --to "$SCRATCH/dir1" --file mid/dir
exit_is 0 "restore --file of a directory"
ok "its file is restored" cmp "$SRC/mid/dir/target.bin" "$SCRATCH/dir1/mid/dir/target.bin"
is "$(stat -c %.9Y "$SCRATCH/dir1/mid/dir" 2>/dev/null)" "1500000000.000000000" "the directory's own mtime"
run mb restore --from "$SCRATCH/out/dirs.mbi" --to "$SCRATCH/dir2" --file mid
exit_is 0 "restore --file of a directory with a subdirectory"
ok "the whole subtree is exact" diff -r "$SRC/mid" "$SCRATCH/dir2/mid"
is "$(cd "$SCRATCH/dir2" && find . -type f | grep -vc '^\./mid/')" "0" "nothing outside it"
is "$(printf '%s' "$RUN_OUT" | grep -o 'restored [0-9]* entries')" "restored 203 entries" \
	"the count: mid, mid/dir, 200 small files, target.bin"
run mb restore --from "$SCRATCH/out/dirs.mbi" --to "$SCRATCH/dir3" --file mid/small-7 --file mid/dir --file mid/dir/target.bin
exit_is 0 "a file named alone and within a directory named too: restored once"
ok "it is exact" cmp "$SRC/mid/dir/target.bin" "$SCRATCH/dir3/mid/dir/target.bin"

run mb restore --from "$IMG" --to "$SCRATCH/none" --file mid/no-such-file
exit_is 17 "--file of a missing path: not found"
like "$RUN_ERR" "^mbackup: error: .*mid/no-such-file" "the message names the path"
is "$(find "$SCRATCH/none" -type f 2>/dev/null)" "" "nothing restored"

# from a pipe (not seekable): either a sequential read finds the file, or a
# clear refusal; never a wrong file
cat "$IMG" | "$MB" restore --from - --to "$SCRATCH/pipe" --file mid/dir/target.bin 2>"$SCRATCH/pipe.err" &&
	pipe_rc=0 || pipe_rc=$?
if [ "$pipe_rc" = 0 ]; then
	ok "--file from a pipe: content exact" cmp "$SRC/mid/dir/target.bin" "$SCRATCH/pipe/mid/dir/target.bin"
else
	like "$(cat "$SCRATCH/pipe.err")" "^mbackup: error: " "--file from a pipe: refused with a clear error (exit $pipe_rc)"
fi
done_testing
