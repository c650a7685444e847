#!/bin/bash
# Chains on media read once (--db none): a full B1 to a FIFO, an
# incremental B2 to standard output, an incremental B3 to a file.
# restore --backup B3 takes the chain's images from --from in its order
# (standard input, a FIFO, a file) and restores B3 byte-identical; the
# catalog alone cannot re-read a pipe, --file through it, a count or an
# order that is not the chain's, and an increment restored alone are
# refused with one line each; consolidate refuses a chain on a pipe.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/fixture.sh"
fx_chain_suite 512M
errors() { printf '%s\n' "$RUN_ERR" | grep -e '^mbackup: error: ' -e '^HINT: '; }
snap() { cp -a "$SRC" "$SCRATCH/point-$1"; }
FIFO=$SCRATCH/fifo
mkfifo "$FIFO"

mkdir -p "$SRC/db/rel" "$SRC/conf"
head -c $((8 * 1048576)) /dev/urandom >"$SRC/db/rel/big"
head -c 3000 /dev/urandom >"$SRC/conf/small"
fx_random_files "$SRC/db" f- 10 20000

# B1: a full to a FIFO, read by cat into a file
cat "$FIFO" >"$OUT/b1.mbi" &
run fx_backup --media "pipe:$FIFO"
exit_is 0 "B1: a full to a FIFO"
wait
B1=1
snap $B1

printf 'CHANGED' | dd of="$SRC/db/rel/big" bs=1 seek=$((3 * 1048576 + 5)) conv=notrunc status=none
echo new >"$SRC/conf/new"
rm "$SRC/db/f-3"
# B2: an incremental to standard output
"$MB" backup --db none --mirror "loop:$SRC_LOOP" --source "$SRC" --catalog "$CATALOG" \
	--media - --incremental >"$OUT/b2.mbi" 2>"$SCRATCH/b2.err"
is "$?" 0 "B2: an incremental to standard output"
B2=2
snap $B2
like "$(cat "$SCRATCH/b2.err")" "incremental on backup $B1: 2 of [0-9]+ entries changed" \
	"it compared with the full that went to the FIFO"
run mb verify --from "$OUT/b2.mbi"
exit_is 0 "the increment written to standard output verifies"

printf 'AGAIN' | dd of="$SRC/db/rel/big" bs=1 seek=$((6 * 1048576)) conv=notrunc status=none
run fx_backup --media "file:$OUT/b3.mbi" --incremental
exit_is 0 "B3: an incremental to a file on B2"
B3=3
snap $B3
run mb list --output json
is "$(printf '%s' "$RUN_OUT" | jq -c '[.[] | [.id, .kind, .chain]]')" \
	"[[3,\"incremental\",[1,2,3]],[2,\"incremental\",[1,2]],[1,\"full\",[1]]]" "the chain in the catalog"

run mb restore --backup $B3 --to "$SCRATCH/nofrom"
exit_is 2 "the catalog's chain on a pipe, without --from: usage"
is "$(errors)" "mbackup: error: backup $B1 (in the chain of $B3) went to 'pipe:$FIFO', which is read once, as it is written
HINT: give every image of the chain with --from, in its order (the full first): mbackup restore --backup $B3 --from IMAGE ... --to DIR" \
	"it names the link and says how to give it"
nok "nothing written" test -e "$SCRATCH/nofrom"

# an increment alone: refused, on a file and on standard input
run mb restore --from "$OUT/b3.mbi" --to "$SCRATCH/alone"
exit_is 2 "an increment restored alone from a file: usage"
is "$(errors | head -1)" "mbackup: error: image '$OUT/b3.mbi' is an increment (backup $B3 on backup $B2): alone it restores no state" \
	"it names the increment's backup and the base it needs"
nok "nothing written" test -e "$SCRATCH/alone"
run sh -c "'$MB' restore --from - --to '$SCRATCH/alone' <'$OUT/b2.mbi'"
exit_is 2 "an increment restored alone from standard input: usage"
like "$(errors | head -1)" "^mbackup: error: image '.*' is an increment \(backup $B2 on backup $B1\): alone it restores no state$" \
	"the same, the base read from the manifest on the pipe"
nok "nothing written" test -e "$SCRATCH/alone"

# the chain from --from: standard input, a FIFO, a file, in the chain's order
cat "$OUT/b2.mbi" >"$FIFO" &
run sh -c "'$MB' restore --catalog '$CATALOG' --backup $B3 --from - --from '$FIFO' \
	--from '$OUT/b3.mbi' --to '$SCRATCH/r3' <'$OUT/b1.mbi'"
exit_is 0 "B3 through standard input, a FIFO and a file"
wait
like "$RUN_OUT" "restored backup $B3 to '$SCRATCH/r3' through 3 images \(backups $B1,$B2,$B3\)" "it says so"
fx_tree_is "$SCRATCH/point-$B3" "$SCRATCH/r3" "B3 from the pipes: byte-identical"
cat "$OUT/b1.mbi" >"$FIFO" &
run mb restore --backup $B2 --from "$FIFO" --from "$OUT/b2.mbi" --to "$SCRATCH/r2"
exit_is 0 "B2 through a FIFO and a file"
wait
fx_tree_is "$SCRATCH/point-$B2" "$SCRATCH/r2" "B2 from the pipe: byte-identical"

run mb restore --backup $B3 --from "$OUT/b3.mbi" --to "$SCRATCH/count"
exit_is 2 "one --from for a chain of three: usage"
is "$(errors)" "mbackup: error: backup $B3 is restored through 3 image(s) (backups $B1,$B2,$B3); --from gives 1
HINT: give one --from for each image of the chain, in its order: the full first" "named"
run mb restore --backup $B3 --from "$OUT/b2.mbi" --from "$OUT/b1.mbi" --from "$OUT/b3.mbi" \
	--to "$SCRATCH/order"
exit_is 9 "the chain's files in another order: corrupt"
is "$(errors)" "mbackup: error: image '$OUT/b2.mbi' holds backup $B2, not backup $B1 of the chain" \
	"the first image out of place is named"
nok "nothing written" test -e "$SCRATCH/order"
run sh -c "'$MB' restore --catalog '$CATALOG' --backup $B3 --from - --from - --from '$OUT/b3.mbi' \
	--to '$SCRATCH/twice' </dev/null"
exit_is 2 "standard input twice: usage"
is "$(errors | head -1)" "mbackup: error: --from - is given 2 times: standard input holds one image of the chain" "named"
run sh -c "'$MB' restore --catalog '$CATALOG' --backup $B3 --from - --from '$OUT/b2.mbi' \
	--from '$OUT/b3.mbi' --to '$SCRATCH/file' --file db/rel/big <'$OUT/b1.mbi'"
exit_is 2 "--file through a chain with a pipe: usage"
is "$(errors | head -1)" "mbackup: error: --file through a chain reads its images by seeking: '-' (backup $B1) is read once, in order" \
	"named"
nok "nothing written" test -e "$SCRATCH/file"

# the files given for all three: --file works, by seeking
run mb restore --backup $B3 --from "$OUT/b1.mbi" --from "$OUT/b2.mbi" --from "$OUT/b3.mbi" \
	--to "$SCRATCH/f3" --file db/rel/big
exit_is 0 "--file through the chain's files given with --from"
ok "the file changed by both increments is exact" cmp "$SCRATCH/point-$B3/db/rel/big" "$SCRATCH/f3/db/rel/big"

run mb consolidate --backup $B3 --media "file:$OUT/c.mbi"
exit_is 2 "consolidate of a chain on pipes: usage"
is "$(errors)" "mbackup: error: backup $B1 (in the chain of $B3) went to 'pipe:$FIFO', which cannot be read by seeking: consolidation needs seekable images
HINT: consolidate a chain on files or a tape; restore this one with --from for each image and take a new full backup" \
	"it names the link on the pipe"
is "$(ls -a "$OUT" | grep -c -e '^\.mbackup-consolidate' -e '^c\.mbi')" 0 "nothing left beside the image"
done_testing
