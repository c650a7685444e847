#!/bin/bash
# tests/vm/tape-suite.sh - tape: media against the real st(4) driver, run
# INSIDE the guest (TAP):  tests/vm/vm-run --disks 1 -- tests/vm/tape-suite.sh
# (tests/integration/92-tape-vm.t does that).  Virtual drives: tgtd's SSC
# (tape) emulation on 127.0.0.1, logged in with open-iscsi, so the guest
# kernel's st driver attaches /dev/nstN.  The emulated drive has no
# LOCATE / READ POSITION (so --file positions by rewind + MTFSF + MTFSR),
# returns stale bytes at the end of data and has no physical end of medium.
# Also its own volume-change hook: tape-suite.sh --load DIR (loads
# DIR/vol$MBACKUP_VOLUME.img into the first drive).
. "$(dirname "$0")/tape-lib.sh"

# big enough for four images of the fixture (early warning at 512 MiB)
tape_up 2 512
NST=/dev/nst0
fx_setup ext4 256M
fx_populate "$SRC"
dd if=/dev/urandom of="$SRC/big.bin" bs=1M count=6 status=none
# unique to image 2, so the flipped byte below lands in image 2's member
echo "needle-in-image-one" >"$SRC/needle.txt"
B() { fx_backup --media "tape:$NST" "$@"; }
last_id() { fx_last_run | jq -r .id; }
# A number from JSON output; empty output gives "" (and the test fails)
jnum() { jq -r "$1 // empty" <<<"$2" 2>/dev/null; }
sum() { md5sum "$1" | cut -d' ' -f1; }

# --- refusals before anything is written ---
run "$MB" backup --db none --mirror "loop:$SRC_LOOP" --source "$SRC" --catalog "$CATALOG" --media tape:/dev/null
exit_is 8 "not a tape device: exit 8"
like "$RUN_ERR" "'/dev/null' is not a tape device" "not a tape device: message"
run "$MB" backup --db none --mirror "loop:$SRC_LOOP" --source "$SRC" --catalog "$CATALOG" --media tape:/dev/st0
exit_is 8 "rewinding node refused"
like "$RUN_ERR" "rewinds on close.*HINT: use the non-rewinding node" "rewinding node: hint"
run B --block-size 1000
exit_is 2 "block size not a multiple of 512: usage error"
run B --block-size 2097152
exit_is 2 "block size above what st reads at once: usage error"
like "$RUN_ERR" "unsupported --block-size 2097152" "block size named"

# --- three images, the second and third appended, then a fourth ---
t0=$(date +%s%N)
run B
exit_is 0 "image 1 to a blank tape"
like "$RUN_ERR" "drive rate [0-9.]* MB/s, buffer ran dry [0-9]* time" "drive rate and underruns reported"
RATE1=$(grep -o 'tape: [0-9]* records.*' <<<"$RUN_ERR")
REC1=$(grep -o 'tape: [0-9]* records' <<<"$RATE1" | grep -o '[0-9]*')
diag "$RATE1"
diag "$(grep -o 'phase \(stream\|finish\): .*' <<<"$RUN_ERR" | tr '\n' ';')"
ID1=$(last_id)
before=$(sum "$TD/tape1.img")
run B
exit_is 8 "image 2 without --append refused"
like "$RUN_ERR" "already holds mbackup volume.*HINT: --append" "refusal says --append / --overwrite"
is "$(sum "$TD/tape1.img")" "$before" "refused run wrote nothing"
echo "needle-in-image-two" >"$SRC/needle.txt"
run B --append
exit_is 0 "image 2 appended"
ID2=$(last_id)
LABEL=$(grep -o "of volume 1 of '[^']*'" <<<"$RUN_ERR" | head -1 | cut -d"'" -f2)
q() { sqlite3 "$CATALOG" "$1"; }
is "$(q "SELECT label || ' ' || volume || ' ' || file_no || ' ' || record_size FROM tape_parts WHERE run_id = $ID2")" \
	"$LABEL 1 2 262144" "catalog: image 2 is file 2 of volume 1, 262144-byte records"
is "$("$MB" info --backup "$ID2" --output json --catalog "$CATALOG" |
	jq -r '.tape[] | "\(.label) \(.volume) \(.file_no) \(.record_size)"')" \
	"$LABEL 1 2 262144" "mbackup info: where image 2 lies on tape"
echo "changed after two" >"$SRC/needle.txt"
run B --append
exit_is 0 "image 3 appended"
run B --append
exit_is 0 "image 4 appended"
ID4=$(last_id)
like "$RUN_ERR" "file 4 of volume 1" "image 4 is tape file 4"
run mt -f $NST status
exit_is 0 "mt status works afterwards"
diag "$(tr '\n' ' ' <<<"$RUN_OUT")"
# (the index is a pax global header, which tar -t does not list)
mt -f $NST rewind && mt -f $NST fsf 2
run tar -b 512 -tf $NST
exit_is 0 "tar -b 512 -tf lists image 2"
like "$RUN_OUT" "needle.txt" "tar sees its members"
mt -f $NST rewind && mt -f $NST fsf 2
run tar -b 512 -xOf $NST needle.txt
is "$RUN_OUT" "needle-in-image-two" "tar reads image 2's own needle.txt"

run "$MB" ls --from tape:$NST --output json
exit_is 0 "ls from tape"
is "$(jq -r .backup_id <<<"$RUN_OUT")" "$ID4" "ls defaults to the last image"
run "$MB" verify --from tape:$NST --backup "$ID2"
exit_is 0 "verify image 2 by --backup"
run "$MB" ls --from tape:$NST --backup "$ID2" --output json
off2=$(jq -r '.entries[] | select(.path == "needle.txt") | .offset' <<<"$RUN_OUT" 2>/dev/null)
is "$(q "SELECT m.volume || ':' || m.record FROM tape_members m JOIN files f ON f.id = m.file_row WHERE m.run_id = $ID2 AND CAST(f.path AS TEXT) = 'needle.txt'")" \
	"1:$((${off2:-0} / 262144))" "catalog: needle.txt starts on volume 1 at the record its offset gives"
run "$MB" ls --from tape:$NST --backup 999
exit_is 17 "unknown --backup: not found"

# --- single file from image 2, by position ---
run "$MB" restore --from tape:$NST --backup "$ID2" --to "$SCRATCH/r2" --file needle.txt --output json
exit_is 0 "restore --file from image 2"
is "$(cat "$SCRATCH/r2/needle.txt" 2>/dev/null)" "needle-in-image-two" "the file of image 2, not of 3"
recs=$(jnum .tape_records_read "$RUN_OUT")
size=$(jnum .image_size "$RUN_OUT")
total=$((${size:-0} / 262144))
diag "restore --file read $recs of $total records"
ok "only the index, the member's and the trailer's records read" \
	test -n "$recs" -a "${recs:-999}" -ge 1 -a "${recs:-999}" -le 6 -a "${recs:-999}" -lt "$total"
run "$MB" restore --from tape:$NST --backup "$ID1" --to "$SCRATCH/r1"
exit_is 0 "full restore of image 1"
ok "image 1's big file restored" cmp -s "$SRC/big.bin" "$SCRATCH/r1/big.bin"

# --- measured: raw dd to the same drive, same fixed 256 KiB records, as
# many as image 1 took, from RAM (the drive's ceiling for this record size) ---
new_tape "$TD/dd.img" 512
load 1 "$TD/dd.img"; mt -f $NST rewind && mt -f $NST setblk 262144
n=${REC1:-173}
s=$(date +%s%N)
dd if=/dev/zero of=$NST bs=256k count="$n" status=none
e=$(date +%s%N)
mt -f $NST weof 1
diag "$(awk -v n="$n" -v ns="$((e - s))" 'BEGIN { printf "raw dd: %.1f MB/s (%d records of 256 KiB in %.2f s)", n * 262144 * 1000 / ns, n, ns / 1e9 }')"
diag "mbackup image 1: $RATE1"
load 1 "$TD/tape1.img"; mt -f $NST rewind
# foreign data for the refusal below: a plain dd onto the second tape
dd if=/dev/zero of=/dev/nst1 bs=256k count=8 status=none
mt -f /dev/nst1 rewind

# --- foreign data and write protection: refused, nothing written ---
load 2 "$TD/tape2.img"
before=$(sum "$TD/tape2.img")
run fx_backup --media tape:/dev/nst1
exit_is 8 "foreign data at BOT refused"
like "$RUN_ERR" "not an mbackup volume.*HINT:.*--overwrite" "foreign data: hint"
is "$(sum "$TD/tape2.img")" "$before" "foreign tape untouched"
run fx_backup --media tape:/dev/nst1 --overwrite
exit_is 0 "--overwrite writes over foreign data"
lu 2 readonly=1
before=$(sum "$TD/tape2.img")
run fx_backup --media tape:/dev/nst1 --overwrite
exit_is 8 "write-protected tape refused"
like "$RUN_ERR" "write-protected" "write protection named"
is "$(sum "$TD/tape2.img")" "$before" "protected tape untouched"
lu 2 readonly=0

# --- a flipped byte in one record ---
cp "$TD/tape1.img" "$TD/damaged.img"
off=$(grep -obUa "needle-in-image-two" "$TD/damaged.img" | head -1 | cut -d: -f1)
[ -n "$off" ] || bail_out "image 2's member not found in '$TD/damaged.img'"
printf 'X' | dd of="$TD/damaged.img" bs=1 seek="$off" conv=notrunc status=none
load 1 "$TD/damaged.img"
mt -f $NST rewind
run "$MB" verify --from tape:$NST --backup "$ID2"
exit_is 9 "flipped byte detected by verify"
like "$RUN_ERR" "checksum mismatch in 'needle.txt'" "the damaged file is named"
load 1 "$TD/tape1.img"; mt -f $NST rewind

# --- a small tape: the image spans two volumes ---
new_tape "$TD/vol1.img" 4
new_tape "$TD/vol2.img" 64
load 1 "$TD/vol1.img"; mt -f $NST rewind
run B --block-size 65536 --buffer 2M
exit_is 8 "full volume without --volume-change: media error"
like "$RUN_ERR" "volume 2 is needed" "asks for volume 2"
new_tape "$TD/vol1.img" 4; load 1 "$TD/vol1.img"; mt -f $NST rewind
run B --block-size 65536 --buffer 2M --volume-change "$SELF --load $TD"
exit_is 0 "backup across two volumes"
like "$RUN_ERR" "volume 1 of .* is full" "early warning ended volume 1"
like "$RUN_ERR" "on 2 volume" "two volumes used"
IDV=$(last_id)
full=$(grep -o "is full after [0-9]* image bytes" <<<"$RUN_ERR" | grep -o '[0-9]*')
is "$(q "SELECT group_concat(volume || ':' || file_no || ':' || first_byte || ':' || record_size, ' ') FROM (SELECT * FROM tape_parts WHERE run_id = $IDV ORDER BY volume)")" \
	"1:1:0:65536 2:1:${full:-?}:65536" "catalog: the image's two parts, the second from where volume 1 ended"
like "$("$MB" info --backup "$IDV" --catalog "$CATALOG")" \
	"
tape        #1 volume 1 '[^']*', tape file 1, 65536-byte records, from byte 0
            #1 volume 2 '[^']*', tape file 1, 65536-byte records, from byte ${full:-?}
" "mbackup info: both volumes of the image"
load 1 "$TD/vol1.img"; mt -f $NST rewind
run "$MB" restore --from tape:$NST --to "$SCRATCH/rv" --volume-change "$SELF --load $TD"
exit_is 0 "full restore across both volumes"
ok "big file restored across the volume boundary" cmp -s "$SRC/big.bin" "$SCRATCH/rv/big.bin"
load 1 "$TD/vol1.img"; mt -f $NST rewind
run "$MB" restore --from tape:$NST --to "$SCRATCH/rf" --file big.bin --volume-change "$SELF --load $TD" --output json
exit_is 0 "single file spanning the volumes"
ok "it is whole" cmp -s "$SRC/big.bin" "$SCRATCH/rf/big.bin"
load 1 "$TD/vol1.img"; mt -f $NST rewind
run "$MB" restore --from tape:$NST --to "$SCRATCH/rm" --volume-change /bin/false
exit_is 8 "missing volume at restore"
like "$RUN_ERR" "/bin/false" "the failed hook named"
load 1 "$TD/vol1.img"; mt -f $NST rewind
cp "$TD/tape1.img" "$TD/wrong/vol2.img" 2>/dev/null || { mkdir -p "$TD/wrong"; cp "$TD/tape1.img" "$TD/wrong/vol2.img"; }
run "$MB" restore --from tape:$NST --to "$SCRATCH/rw" --volume-change "$SELF --load $TD/wrong"
exit_is 8 "wrong volume at restore"
like "$RUN_ERR" "not volume 2 of" "the wrong volume named"

# ==== a set written to two tapes (issue 8, 4a; restore engineer's section) ====
# --media tape:A --media tape:B writes one image per drive; restore and
# verify read the set from both drives at once; one tape alone restores
# what it holds and lists the rest, never a segment under a file's name.
new_tape "$TD/set1.img" 256
new_tape "$TD/set2.img" 256
load 1 "$TD/set1.img"; load 2 "$TD/set2.img"
mt -f /dev/nst0 rewind; mt -f /dev/nst1 rewind
run fx_backup --media tape:/dev/nst0 --media tape:/dev/nst1 --segment-threshold 2M
exit_is 0 "a set written to two tapes"
mt -f /dev/nst0 rewind; mt -f /dev/nst1 rewind
run "$MB" verify --from tape:/dev/nst0 --from tape:/dev/nst1
exit_is 0 "verify of the set from two tapes"
like "$RUN_OUT" "^verify: ok: [0-9]+ files, [0-9]+ bytes, 2 image\(s\) of [0-9]+ bytes$" "verify names two images"
run "$MB" restore --from tape:/dev/nst0 --from tape:/dev/nst1 --to "$SCRATCH/tset"
exit_is 0 "restore of the set from two tapes"
ok "big file of the set restored" cmp -s "$SRC/big.bin" "$SCRATCH/tset/big.bin"
fx_tree_is "$SRC" "$SCRATCH/tset" "the set's tree is identical to the source"
run "$MB" restore --from tape:/dev/nst0 --from tape:/dev/nst1 --to "$SCRATCH/tsetf" --file big.bin
exit_is 0 "--file of a segmented file from two tapes"
ok "it is whole" cmp -s "$SRC/big.bin" "$SCRATCH/tsetf/big.bin"
run "$MB" restore --from tape:/dev/nst0 --to "$SCRATCH/tone"
exit_is 19 "one tape of the set alone: partial (19)"
like "$RUN_OUT" "cannot restore 'big.bin': bytes [0-9]+-[0-9]+ of [0-9]+ are on device 2 of 2, which is not given" \
	"the segment on the other tape is listed"
nok "no part of big.bin under its name" test -e "$SCRATCH/tone/big.bin"

# ==== compressed images on tape (issue 14): whole records of zstd frames,
# padded by a skippable frame; found by --backup among plain ones, read
# in order through the zstd filter; the catalog keeps the compressed size ====
new_tape "$TD/z1.img" 512
load 1 "$TD/z1.img"; mt -f $NST rewind
echo "needle-in-zstd-one" >"$SRC/needle.txt"
run B --compress zstd:3 --compress-threads 2
exit_is 0 "compressed image 1 to a blank tape"
like "$RUN_ERR" "info  zstd: [0-9]+ image bytes in [0-9]+ frames, [0-9]+ bytes compressed" "the ratio is logged"
diag "compressed image 1: $(grep -o 'zstd: [0-9]* image bytes.*' <<<"$RUN_ERR"); $(grep -o 'tape: [0-9]* records.*' <<<"$RUN_ERR")"
diag "plain image 1 (top of this suite): $RATE1"
IDZ1=$(last_id)
echo "needle-in-zstd-two" >"$SRC/needle.txt"
run B --append --compress zstd
exit_is 0 "compressed image 2 appended"
IDZ2=$(last_id)
echo "needle-in-plain-three" >"$SRC/needle.txt"
run B --append
exit_is 0 "a plain image 3 appended after them"
IDZ3=$(last_id)
csize=$(q "SELECT compressed_bytes FROM images WHERE run_id = $IDZ2")
isize=$(q "SELECT bytes FROM images WHERE run_id = $IDZ2")
ok "catalog: image 2 compressed to $csize of its $isize bytes" \
	test -n "$csize" -a "${csize:-0}" -gt 0 -a "${csize:-0}" -lt "${isize:-0}"
is "$((${csize:-1} % 262144))" 0 "the compressed image fills whole 262144-byte records"
is "$(q "SELECT file_no FROM tape_parts WHERE run_id = $IDZ2")" 2 "catalog: image 2 is tape file 2"
is "$(q "SELECT count(*) FROM tape_members WHERE run_id = $IDZ2")" 0 \
	"catalog: no member records for a compressed image (its records hold compressed bytes)"
is "$(q "SELECT coalesce(compressed_bytes, 'null') FROM images WHERE run_id = $IDZ3")" null \
	"catalog: the plain image has no compressed size"
like "$("$MB" info --backup "$IDZ2" --catalog "$CATALOG")" \
	"media +#1 tape:$NST, [0-9.]+ [KMG]iB, [0-9.]+ [KMG]iB compressed \([0-9.]+:1\), complete" \
	"mbackup info: the compressed size and the ratio"
is "$("$MB" info --backup "$IDZ2" --output json --catalog "$CATALOG" | jq -r '.media[0].compressed_bytes')" \
	"$csize" "mbackup info json: compressed_bytes"
like "$("$MB" list --catalog "$CATALOG")" "tape:$NST \(zstd [0-9.]+:1\)" "mbackup list: the ratio"
mt -f $NST rewind && mt -f $NST fsf 2
run bash -c "dd if=$NST bs=256k status=none | zstd -dc | tar -xOf - needle.txt"
is "$RUN_OUT" "needle-in-zstd-two" "dd | zstd -dc | tar reads compressed image 2"
run "$MB" ls --from tape:$NST --output json
exit_is 0 "ls from a tape holding compressed images"
is "$(jq -r .backup_id <<<"$RUN_OUT" 2>/dev/null)" "$IDZ3" "ls defaults to the last image"
run "$MB" ls --from tape:$NST --backup "$IDZ2" --output json
exit_is 0 "ls of compressed image 2 by --backup"
is "$(jq -r .backup_id <<<"$RUN_OUT" 2>/dev/null)" "$IDZ2" "its index, read through zstd"
run "$MB" ls --from tape:$NST --backup 999
exit_is 17 "unknown --backup among compressed images: not found"
like "$RUN_ERR" "backup '999' is not on tape '$NST'.*HINT: this volume holds backup\(s\) $IDZ1 $IDZ2 $IDZ3" \
	"the hint lists the compressed images too"
run "$MB" verify --from tape:$NST --backup "$IDZ1"
exit_is 0 "verify compressed image 1"
like "$RUN_ERR" "zstd: read [0-9]+ compressed bytes in order" "read in order through the zstd filter"
run "$MB" restore --from tape:$NST --backup "$IDZ2" --to "$SCRATCH/z2" --file needle.txt
exit_is 0 "restore --file from compressed image 2"
is "$(cat "$SCRATCH/z2/needle.txt" 2>/dev/null)" "needle-in-zstd-two" "the file of image 2, not of 1 or 3"
run "$MB" restore --from tape:$NST --backup "$IDZ1" --to "$SCRATCH/z1"
exit_is 0 "full restore of compressed image 1"
ok "its big file" cmp -s "$SRC/big.bin" "$SCRATCH/z1/big.bin"
is "$(cat "$SCRATCH/z1/needle.txt" 2>/dev/null)" "needle-in-zstd-one" "image 1's own needle.txt"
run "$MB" restore --from tape:$NST --backup "$IDZ3" --to "$SCRATCH/z3" --file needle.txt
exit_is 0 "the plain image after the compressed ones still restores by position"
is "$(cat "$SCRATCH/z3/needle.txt" 2>/dev/null)" "needle-in-plain-three" "image 3's needle.txt"
# a flipped byte inside image 1's second frame: read in order, the bytes
# come out before the frame's checksum is reached, and the member's own
# header checksum stops them; a damaged frame header stops zstd itself
zbad() { # BYTE OFFSET: verify image 1 from a copy of its tape with BYTE at OFFSET
	cp "$TD/z1.img" "$TD/zbad.img"
	printf "$1" | dd of="$TD/zbad.img" bs=1 seek="$2" conv=notrunc status=none
	load 1 "$TD/zbad.img"; mt -f $NST rewind
	run "$MB" verify --from tape:$NST --backup "$IDZ1"
}
off=$(LC_ALL=C grep -obUaP '\x28\xb5\x2f\xfd' "$TD/z1.img" | sed -n 2p | cut -d: -f1)
[ -n "$off" ] || bail_out "no second zstd frame in '$TD/z1.img'"
zbad '\x55' $((off + 300))
exit_is 9 "flipped byte in a compressed frame on tape: corrupt"
like "$RUN_ERR" "mbackup: error: header checksum mismatch at offset [0-9]+ \(member of '[^']*'\) in image 'tape:$NST'" \
	"the damaged member named"
zbad '\x0c' $((off + 4))
exit_is 9 "a damaged frame header on tape: corrupt"
like "$RUN_ERR" "mbackup: error: damaged compressed frame in image 'tape:$NST' at offset [0-9]+ \(compressed byte [0-9]+\): [A-Za-z]" \
	"the damaged frame named"
# across two volumes (big.bin does not compress: more than the 4 MiB tape)
new_tape "$TD/vol1.img" 4
new_tape "$TD/vol2.img" 64
load 1 "$TD/vol1.img"; mt -f $NST rewind
run B --block-size 65536 --buffer 2M --volume-change "$SELF --load $TD" --compress zstd
exit_is 0 "compressed backup across two volumes"
like "$RUN_ERR" "on 2 volume" "two volumes used"
IDZV=$(last_id)
is "$(q "SELECT group_concat(volume || ':' || file_no, ' ') FROM (SELECT * FROM tape_parts WHERE run_id = $IDZV ORDER BY volume)")" \
	"1:1 2:1" "catalog: the compressed image's two parts"
load 1 "$TD/vol1.img"; mt -f $NST rewind
run "$MB" restore --from tape:$NST --to "$SCRATCH/zv" --volume-change "$SELF --load $TD"
exit_is 0 "full restore of the compressed image across both volumes"
ok "big file restored across the volume boundary" cmp -s "$SRC/big.bin" "$SCRATCH/zv/big.bin"
load 1 "$TD/vol1.img"; mt -f $NST rewind
run "$MB" restore --from tape:$NST --to "$SCRATCH/zvf" --file big.bin --volume-change "$SELF --load $TD"
exit_is 0 "single file of the compressed image spanning the volumes"
ok "it is whole" cmp -s "$SRC/big.bin" "$SCRATCH/zvf/big.bin"
# a compressed set on two tapes, each image compressed on its own
new_tape "$TD/zs1.img" 256
new_tape "$TD/zs2.img" 256
load 1 "$TD/zs1.img"; load 2 "$TD/zs2.img"
mt -f /dev/nst0 rewind; mt -f /dev/nst1 rewind
run fx_backup --media tape:/dev/nst0 --media tape:/dev/nst1 --segment-threshold 2M --compress zstd
exit_is 0 "a compressed set written to two tapes"
mt -f /dev/nst0 rewind; mt -f /dev/nst1 rewind
run "$MB" restore --from tape:/dev/nst0 --from tape:/dev/nst1 --to "$SCRATCH/zset"
exit_is 0 "restore of the compressed set from two tapes"
fx_tree_is "$SRC" "$SCRATCH/zset" "the compressed set's tree is identical to the source"
. "$(dirname "$0")/tape-incr.sh"	# block increments on tape
done_testing
