#!/bin/bash
# Block increments on a plain tree (--db none, 4 KiB blocks): a full B1,
# changes, an incremental B2 on it, more changes, B3 on B2, and B4 on B1
# (--base).  Every point restores through its chain exactly as the tree
# was; an increment of a mostly unchanged tree is small; plain tar on an
# increment writes no file under a real name with wrong content; a
# missing, foreign or damaged link of a chain is refused with the exact
# file (and offset).
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/fixture.sh"
fx_init
fx_setup ext4 1G
OUT=$SCRATCH/out
errors() { printf '%s\n' "$RUN_ERR" | grep '^mbackup: error: '; }
# keeps the tree as it is now, to compare a restore of that point with
snap() { cp -a "$SRC" "$SCRATCH/point-$1"; }
point_is() { # ID NAME: restore --backup ID equals the tree at that point
	rm -rf "$SCRATCH/r-$1"
	run mb restore --backup "$1" --to "$SCRATCH/r-$1"
	exit_is 0 "$2: restore --backup $1 exits 0"
	fx_tree_is "$SCRATCH/point-$1" "$SCRATCH/r-$1" "$2: byte-identical to the tree at backup $1"
}

mkdir -p "$SRC/db/rel" "$SRC/db/gone" "$SRC/conf"
head -c $((32 * 1048576)) /dev/urandom >"$SRC/db/rel/big"
head -c $((4 * 1048576)) /dev/urandom >"$SRC/db/rel/shrinks"
head -c 3000 /dev/urandom >"$SRC/conf/small"
fx_random_files "$SRC/db/gone" f- 20 20000
echo one >"$SRC/conf/note"
ln -s rel/big "$SRC/db/link"
mkfifo "$SRC/db/fifo"

run mb backup --incremental --db none --mirror "loop:$SRC_LOOP" --source "$SRC" \
	--catalog "$CATALOG" --media "file:$OUT/none.mbi"
exit_is 17 "--incremental with no backup in the catalog: not found"
is "$(errors)" "mbackup: error: no complete backup in catalog '$CATALOG' to be the base of an incremental" \
	"the message says why"
nok "no image written" test -e "$OUT/none.mbi"

run fx_backup --media "file:$OUT/b1.mbi"
exit_is 0 "B1: full backup"
snap 2	# (run 1 failed: the full is run 2)
B1=2

# changes: a few blocks of a big file, one appended, a file shrunk, one
# removed, a directory removed, new files, a mode and an mtime changed
printf 'BLOCKS-CHANGED' | dd of="$SRC/db/rel/big" bs=1 seek=$((5 * 1048576 + 100)) conv=notrunc status=none
printf 'AGAIN' | dd of="$SRC/db/rel/big" bs=1 seek=$((20 * 1048576)) conv=notrunc status=none
head -c 10000 /dev/urandom >>"$SRC/db/rel/big"
truncate -s $((3 * 1048576 + 123)) "$SRC/db/rel/shrinks"
rm -r "$SRC/db/gone"
rm "$SRC/conf/note"
mkdir "$SRC/db/new"
head -c 50000 /dev/urandom >"$SRC/db/new/file"
chmod 0600 "$SRC/conf/small"
touch -d '@1500000000' "$SRC/db/rel"
run fx_backup --media "file:$OUT/b2.mbi" --incremental
exit_is 0 "B2: incremental on the newest"
B2=3
snap $B2
like "$RUN_ERR" "incremental on backup $B1: 3 of [0-9]+ entries changed, [0-9]+ bytes of them \(2 as changed blocks\)" "it says what changed"

b1=$(stat -c %s "$OUT/b1.mbi")
b2=$(stat -c %s "$OUT/b2.mbi")
ok "B2 ($b2 bytes) is under 1/50 of B1 ($b1 bytes)" test $((b2 * 50)) -lt "$b1"
run mb verify --from "$OUT/b2.mbi"
exit_is 0 "verify checks the increment"
run mb ls --from "$OUT/b2.mbi"
like "$RUN_OUT" " db/rel/big\.mbackup-incr" "ls shows the delta member"
like "$RUN_OUT" " \.mbackup-increment" "ls shows the manifest"
unlike "$RUN_OUT" " db/rel/big$" "the changed file is not under its name"

# plain tar: no file under a real name with content other than the tree's
mkdir "$SCRATCH/tar2"
tar -xf "$OUT/b2.mbi" -C "$SCRATCH/tar2" 2>/dev/null
bad=0 n=0
while IFS= read -r -d '' p; do
	case $p in *.mbackup-incr|.mbackup-increment|mbackup-*) continue ;; esac
	n=$((n + 1))
	cmp -s "$SCRATCH/tar2/$p" "$SRC/$p" || { bad=$((bad + 1)); diag "tar: $p differs"; }
done < <(cd "$SCRATCH/tar2" && find . -type f -printf '%P\0')
is "$bad" 0 "plain tar on B2: the $n files under real names are exact"

# more changes, then B3 on B2, and B4 on B1
echo more >>"$SRC/db/new/file"
printf 'THIRD' | dd of="$SRC/db/rel/big" bs=1 seek=4096 conv=notrunc status=none
rm "$SRC/db/link"
mkdir "$SRC/db/link"
echo inside >"$SRC/db/link/x"
run fx_backup --media "file:$OUT/b3.mbi" --incremental
exit_is 0 "B3: incremental on B2"
B3=4
snap $B3
run fx_backup --media "file:$OUT/b4.mbi" --incremental --base $B1
exit_is 0 "B4: incremental with --base B1"
B4=5
snap $B4

run mb list --output json --catalog "$CATALOG"
is "$(printf '%s' "$RUN_OUT" | jq -c '[.[] | [.id, .kind, .base, .chain]]')" \
	"[[5,\"incremental\",2,[2,5]],[4,\"incremental\",3,[2,3,4]],[3,\"incremental\",2,[2,3]],[2,\"full\",null,[2]],[1,null,null,null]]" \
	"list --output json: kind, base and chain of every run"
is "$(printf '%s' "$RUN_OUT" | jq '.[] | select(.id == 3) | .image_bytes')" "$b2" "and the image bytes"

MB_CAT=(--catalog "$CATALOG")
mb() { "$MB" "$1" "${MB_CAT[@]}" "${@:2}"; }
point_is $B1 "B1 (full)"
point_is $B2 "B2 (full + 1 increment)"
point_is $B3 "B3 (full + 2 increments)"
point_is $B4 "B4 (full + increment on --base)"

rm -rf "$SCRATCH/f3"
run mb restore --backup $B3 --to "$SCRATCH/f3" --file db/rel/big --file db/new
exit_is 0 "--file from B3"
ok "a file changed by both increments is exact" cmp "$SCRATCH/point-$B3/db/rel/big" "$SCRATCH/f3/db/rel/big"
ok "a directory new in B2 and changed in B3 is exact" diff -r "$SCRATCH/point-$B3/db/new" "$SCRATCH/f3/db/new"
is "$(cd "$SCRATCH/f3" && find . -type f | sort | tr '\n' ' ')" "./db/new/file ./db/rel/big " "only those"
run mb restore --backup $B3 --to "$SCRATCH/f3b" --file conf/note
exit_is 17 "--file of a name gone at that point: not found"
is "$(errors)" "mbackup: error: 'conf/note' is not in backup $B3" "named"

# a chain with a link missing, foreign or damaged is refused before the target is touched
mv "$OUT/b2.mbi" "$OUT/b2.away"
run mb restore --backup $B3 --to "$SCRATCH/miss"
exit_is 17 "an image of the chain missing: not found"
is "$(errors)" "mbackup: error: image '$OUT/b2.mbi' of backup $B2 (in the chain of $B3) is missing: No such file or directory" \
	"the message names the image and the backup"
nok "nothing written" test -e "$SCRATCH/miss"
cp "$OUT/b4.mbi" "$OUT/b2.mbi"
run mb restore --backup $B3 --to "$SCRATCH/foreign"
exit_is 9 "another backup's image in its place: corrupt"
is "$(errors)" "mbackup: error: image '$OUT/b2.mbi' holds backup $B4, not backup $B2 of the chain" "named"
nok "nothing written" test -e "$SCRATCH/foreign"
mv "$OUT/b2.away" "$OUT/b2.mbi"

cp "$OUT/b1.mbi" "$OUT/b1.good"
off=$(fx_member_offset "$OUT/b1.mbi" db/rel/shrinks)
fx_flip "$OUT/b1.mbi" $((off + 1536 + 70000))
run mb restore --backup $B2 --to "$SCRATCH/dmg1"
exit_is 9 "damage in the full: corrupt"
is "$(errors)" "mbackup: error: checksum mismatch in 'db/rel/shrinks' (member at offset $off)" \
	"names the file and its member's offset in the base"
mv "$OUT/b1.good" "$OUT/b1.mbi"

cp "$OUT/b2.mbi" "$OUT/b2.good"
off=$(fx_member_offset "$OUT/b2.mbi" db/rel/big.mbackup-incr)
fx_flip "$OUT/b2.mbi" $((off + 1536 + 200))
run mb verify --from "$OUT/b2.mbi"
exit_is 9 "verify: damage in an increment's blocks: corrupt"
is "$(errors)" "mbackup: error: checksum mismatch in 'db/rel/big.mbackup-incr' (member at offset $off)" \
	"names the delta member and its offset"
run mb restore --backup $B3 --to "$SCRATCH/dmg2"
exit_is 9 "restore through the damaged increment: corrupt"
is "$(errors)" "mbackup: error: checksum mismatch in 'db/rel/big.mbackup-incr' (member at offset $off)" \
	"the same file and offset"
nok "the file is not left with the base's content" test -e "$SCRATCH/dmg2/db/rel/big.mbackup-incr"
mv "$OUT/b2.good" "$OUT/b2.mbi"
point_is $B3 "B3 after the images are put back"

# ---- consolidate B3: its point whole (C), B2's one backward increment away (BW)
run mb consolidate --backup $B1 --media "file:$OUT/c-full.mbi"
exit_is 2 "consolidate of a full: usage"
is "$(errors)" "mbackup: error: backup $B1 is complete full: only a complete incremental backup is consolidated" \
	"named"
for point in after-consolidate-restore after-consolidate-whole after-consolidate-backward; do
	run env MBACKUP_FAULT="$point:kill" "$MB" consolidate --catalog "$CATALOG" --backup $B3 \
		--media "file:$OUT/k-$point.mbi"
	exit_is 137 "consolidate killed $point"
	run mb recover
	exit_is 0 "$point: recover"
	is "$(ls -a "$OUT" | grep -c -e '^\.mbackup-consolidate' -e '\.partial$')" 0 \
		"$point: no work directory and no partial image left"
	is "$(mb list --output json | jq -r '[.[0].status, .[1].status, .[0].verb] | join(" ")')" \
		"failed failed consolidate" "$point: both runs are failed"
done
KILLED=6	# three consolidations of two runs each
C=$((B4 + KILLED + 1)) BW=$((B4 + KILLED + 2))
run mb consolidate --backup $B3 --media "file:$OUT/c.mbi"
exit_is 0 "consolidate B3"
is "$RUN_OUT" "consolidated backup $B3 into backup $C ('$OUT/c.mbi', $(stat -c %s "$OUT/c.mbi") bytes); backup $B2 is one backward increment away (backup $BW, '$OUT/c.mbi.back-$B2', $(stat -c %s "$OUT/c.mbi.back-$B2") bytes)" \
	"it says what it wrote"
run mb list --output json
is "$(printf '%s' "$RUN_OUT" | jq -c "[.[] | select(.id == $C or .id == $BW) | [.id, .kind, .base, .chain, .point]]")" \
	"[[$BW,\"incremental\",$C,[$C,$BW],$B2],[$C,\"consolidated\",$B3,[$C],$B3]]" \
	"list: the whole image holds B3's point, the backward increment B2's"
run mb verify --from "$OUT/c.mbi.back-$B2"
exit_is 0 "the backward increment verifies"
rm -rf "$SCRATCH/r-$B3"
run mb restore --backup $B3 --to "$SCRATCH/r-$B3"
exit_is 0 "B3 restores"
is "$RUN_OUT" "restored backup $B3 to '$SCRATCH/r-$B3' from its consolidation, backup $C" \
	"from the one whole image"
fx_tree_is "$SCRATCH/point-$B3" "$SCRATCH/r-$B3" "B3 from its consolidation: byte-identical"
mv "$OUT/b1.mbi" "$OUT/b1.away"
rm -rf "$SCRATCH/r-$B2"
run mb restore --backup $B2 --to "$SCRATCH/r-$B2"
exit_is 0 "B2 restores without the full B1"
like "$RUN_OUT" "through 2 images \(backups $C,$BW\)" "through the consolidation and the backward increment"
fx_tree_is "$SCRATCH/point-$B2" "$SCRATCH/r-$B2" "B2 through the backward increment: byte-identical"
cp "$OUT/c.mbi.back-$B2" "$OUT/bw.good"
bw=$OUT/c.mbi.back-$B2
off=$(fx_member_offset "$bw" db/rel/big.mbackup-incr)
fx_flip "$bw" $((off + 1536 + 100))
run mb restore --backup $B2 --to "$SCRATCH/dmg3"
exit_is 9 "damage in the backward increment: corrupt"
is "$(errors)" "mbackup: error: checksum mismatch in 'db/rel/big.mbackup-incr' (member at offset $off)" \
	"names its member and offset"
mv "$OUT/bw.good" "$bw"
mv "$OUT/b1.away" "$OUT/b1.mbi"
point_is $B2 "B2 with every image back"
point_is $B1 "B1 after the consolidation"

# an incremental on the consolidation (the newest point is B4's, so
# --base), consolidated in turn
echo later >>"$SRC/conf/small"
run fx_backup --media "file:$OUT/b6.mbi" --incremental --base $C
exit_is 0 "an incremental on the consolidation"
B6=$((BW + 1))
like "$RUN_ERR" "incremental: the base is backup $C \(consolidated\)" "its base is the consolidation"
snap $B6
point_is $B6 "B6 (the consolidation + 1 increment)"
run mb consolidate --backup $B6 --media "file:$OUT/c6.mbi"
exit_is 0 "consolidate an incremental on a consolidation"
like "$RUN_OUT" "backup $B3 is one backward increment away \(backup $((B6 + 2)), '$OUT/c6.mbi.back-$B3'" \
	"the backward step leads to B3's point"
point_is $B6 "B6 from its consolidation"
mv "$OUT/c.mbi" "$OUT/c.away"
mv "$OUT/b1.mbi" "$OUT/b1.away"
point_is $B3 "B3 through the second backward increment"
mv "$OUT/c.away" "$OUT/c.mbi"
mv "$OUT/b1.away" "$OUT/b1.mbi"

run mb restore --backup 99 --to "$SCRATCH/none"
exit_is 17 "an unknown backup id"
is "$(errors)" "mbackup: error: no backup 99 in catalog '$CATALOG'" "named"
run mb restore --backup x --to "$SCRATCH/none"
exit_is 2 "a backup id that is no number"
done_testing
