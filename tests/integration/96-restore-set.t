#!/bin/bash
# A single image is a set of one, and a set need not sit in regular files:
# restore and verify read every image through one path.  Members read
# through a pipe or a FIFO (issue 8, 4a), a hard link restored alone
# (4b), one member of a set read from standard input (4c), a set of many
# small files (4d).
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/fixture.sh"
fx_init
fx_setup ext4 1G
mkdir -p "$SRC/d" "$SRC/many"
head -c $((12 * 1048576)) /dev/urandom >"$SRC/big.bin"
head -c 70000 /dev/urandom >"$SRC/d/first"
ln "$SRC/d/first" "$SRC/d/second"
for i in $(seq 1 40); do head -c $((i * 53)) /dev/urandom >"$SRC/d/f$i"; done
O=$SCRATCH/out
mkdir -p "$O"

run fx_backup --media "file:$O/a" --media "file:$O/b" --segment-threshold 4M
exit_is 0 "backup on two devices exits 0"
segs=$("$MB" ls --from "$O/a" --output json | jq '[.entries[] | select(.path | test("^big.bin"))] | length')
ok "device 1 holds part of big.bin, not all of it ($segs piece(s))" test "${segs:-0}" -ge 1

# --- 4c: one member of the set from standard input ---
run bash -c "'$MB' restore --from - --to '$SCRATCH/c' < '$O/a'"
exit_is 19 "one member from stdin: partial (19)"
like "$RUN_OUT" "cannot restore 'big.bin': bytes [0-9]+-[0-9]+ of $(stat -c %s "$SRC/big.bin") are on device 2 of 2, which is not given" \
	"the missing segment of big.bin is listed"
nok "no wrong big.bin under its name" test -e "$SCRATCH/c/big.bin"
run bash -c "cat '$O/a' | '$MB' restore --from - --to '$SCRATCH/c2'"
exit_is 19 "one member from a pipe: partial (19)"
nok "no wrong big.bin under its name (pipe)" test -e "$SCRATCH/c2/big.bin"
like "$(grep -A1 '^mbackup: error: ' <<<"$RUN_ERR")" "^mbackup: error: [0-9]+ item\(s\) of backup [0-9]+ cannot be restored: they are on devices not given, or on rescue images after the first image of 'standard input' \(a pipe is read once: its first image only\)
HINT: give that image as a file or a tape, where its rescue images are read after it, and every other image of the set \(mbackup info --backup ID lists them\)\$" \
	"one member from a pipe: the error says what a pipe does not reach"
bad=0
while IFS= read -r f; do
	cmp -s "$SCRATCH/c2/$f" "$SRC/$f" || bad=$((bad + 1))
done < <(cd "$SCRATCH/c2" && find . -type f | sed 's|^\./||')
is "$bad" 0 "every file restored from one member is exact"

# --- 4a: members that are not regular files ---
run bash -c "cat '$O/a' | '$MB' restore --from - --from '$O/b' --to '$SCRATCH/p'"
exit_is 0 "a set with one member from a pipe restores"
ok "byte-exact" diff -r "$SRC" "$SCRATCH/p"
mkfifo "$O/fifo-a" "$O/fifo-b"
cat "$O/a" >"$O/fifo-a" & fa=$!
cat "$O/b" >"$O/fifo-b" & fb=$!
run mb restore --from "$O/fifo-a" --from "$O/fifo-b" --to "$SCRATCH/f"
exit_is 0 "a set read from two FIFOs restores"
ok "byte-exact from FIFOs" diff -r "$SRC" "$SCRATCH/f"
kill "$fa" "$fb" 2>/dev/null
wait "$fa" "$fb" 2>/dev/null
run bash -c "cat '$O/b' | '$MB' verify --from '$O/a' --from -"
exit_is 0 "verify of a set with a member from a pipe"
like "$RUN_OUT" "^verify: ok: [0-9]+ files, [0-9]+ bytes, 2 image\(s\) of $(($(stat -c %s "$O/a") + $(stat -c %s "$O/b"))) bytes$" \
	"verify summary of the set"
run bash -c "cat '$O/b' | '$MB' verify --from - --output json"
exit_is 19 "verify of one member from a pipe: partial (19)"
like "$RUN_OUT" "cannot restore 'big.bin'" "verify lists the missing segment"
run bash -c "cat '$O/a' | '$MB' restore --from - --from '$O/b' --to '$SCRATCH/pf' --file big.bin --file d/f7"
exit_is 0 "--file of a set with a member from a pipe"
ok "big.bin exact" cmp "$SRC/big.bin" "$SCRATCH/pf/big.bin"
ok "d/f7 exact" cmp "$SRC/d/f7" "$SCRATCH/pf/d/f7"

# --- issue 16, 11: a set member cut short is truncated (10), not "not given";
# known from its size before anything is written, a whole restore is refused
# (what is lost is listed first) and --file restores what device 2 holds ---
cp "$O/a" "$O/a-cut"
cut_at=$(( $(stat -c %s "$O/a") / 2 ))
truncate -s "$cut_at" "$O/a-cut"
run mb restore --from "$O/a-cut" --from "$O/b" --to "$SCRATCH/cut"
exit_is 10 "restore of a set with a truncated member: truncated (10)"
like "$(grep -A1 '^mbackup: error: ' <<<"$RUN_ERR")" \
	"^mbackup: error: image '$O/a-cut' is truncated: it holds $cut_at of its $(stat -c %s "$O/a") bytes \\(it ends inside '[^']+'\\); [0-9]+ item\\(s\\) of backup [0-9]+ cannot be restored
HINT: nothing was restored: use another copy of that image, or restore what the other images hold with --file \\(what is lost is listed above\\)\$" \
	"the error names the truncated image, where it ends and what is lost"
nok "no 'which is not given' line for a device that is given" grep -q 'which is not given' <<<"$RUN_OUT"
like "$RUN_OUT" "cannot restore '[^']*': it is on device 1 of 2, whose image '$O/a-cut' is truncated" \
	"what the truncated member held is listed, naming the image"
nok "nothing was written: no target" test -e "$SCRATCH/cut"
on_b=$("$MB" ls --from "$O/b" --output json | jq -r '[.entries[] | select(.type == "f" and .path != "big.bin")][0].path')
run mb restore --from "$O/a-cut" --from "$O/b" --to "$SCRATCH/cut" --file "$on_b"
exit_is 0 "--file of what device 2 holds restores ($on_b)"
ok "what device 2 holds is restored ($on_b)" cmp "$SRC/$on_b" "$SCRATCH/cut/$on_b"
run mb verify --from "$O/a-cut" --from "$O/b"
exit_is 10 "verify of a set with a truncated member: truncated (10)"

# --- a compressed set where a device failed (the reader of its FIFO dies
# after 1 MiB): its image, read in order, is set aside before anything is
# read, as a failed image that seeks is, not found truncated mid-restore ---
for n in 2 3; do
	media=(--media "file:$O/zs1-$n" --media "pipe:$O/zfifo-$n")
	[ "$n" = 3 ] && media+=(--media "file:$O/zs3-$n")
	mkfifo "$O/zfifo-$n"
	(head -c 1048576 <"$O/zfifo-$n" >"$O/zfailed-$n") &
	run fx_backup "${media[@]}" --segment-threshold 4M --compress zstd --force
	exit_is 0 "compressed, $n devices, device 2 failed: the run completes"
	wait
done
run mb restore --from "$O/zs1-2" --from "$O/zfailed-2" --to "$SCRATCH/zf"
exit_is 0 "compressed: the failed image given with the survivor restores (0)"
ok "byte-exact from the survivor's rescue image" diff -r "$SRC" "$SCRATCH/zf"
like "$RUN_ERR" "zstd: read [0-9]+ compressed bytes in order \(0 frames\) of '$O/zfailed-2'" \
	"the failed image is not read past its index"
run mb restore --from "$O/zs1-3" --from "$O/zfailed-3" --to "$SCRATCH/zf3"
exit_is 19 "compressed, 3 devices, a survivor left out: partial (19), not truncated"
like "$RUN_OUT" "cannot restore '[^']*': (it is|bytes [0-9-]+ of [0-9]+ are) on device 3 of 3, which is not given" \
	"what the survivor left out holds is listed"
nok "nothing is said to stop mid-restore" grep -q 'the restore stopped' <<<"$RUN_OUT"
like "$(grep '^mbackup: error: ' <<<"$RUN_ERR")" \
	"^mbackup: error: [0-9]+ item\(s\) of backup [0-9]+ cannot be restored: they are on devices not given\$" \
	"the error counts what is missing"
# the survivor from a pipe: its rescue image after its first is not reached
run bash -c "cat '$O/zs1-2' | '$MB' restore --from - --to '$SCRATCH/zp'"
exit_is 19 "compressed: the survivor from a pipe: partial (19)"
like "$(grep '^mbackup: error: ' <<<"$RUN_ERR")" \
	"^mbackup: error: [0-9]+ item\\(s\\) of backup [0-9]+ cannot be restored: they are on devices not given, or on rescue images after the first image of 'standard input' \\(a pipe is read once: its first image only\\)\$" \
	"the survivor from a pipe: not only 'on devices not given'"
run mb restore --from "$O/zs1-2" --to "$SCRATCH/zp2"
exit_is 0 "the same survivor as a file restores whole (its rescue image read after its first)"
ok "byte-exact from the survivor's file" diff -r "$SRC" "$SCRATCH/zp2"

# --- 4b: --file of a hard link whose first name is not restored ---
run mb restore --from "$O/a" --from "$O/b" --to "$SCRATCH/hl" --file d/second
exit_is 0 "--file of a hard link from a set"
ok "the link's data restored" cmp "$SRC/d/second" "$SCRATCH/hl/d/second"
nok "its first name is not restored" test -e "$SCRATCH/hl/d/first"
# --- issue 16, 13: --file DIR, a hard link and its first name below it ---
run mb restore --from "$O/a" --from "$O/b" --to "$SCRATCH/dd" --file d
exit_is 0 "--file of a directory from a set"
ok "byte-exact below it" diff -r "$SRC/d" "$SCRATCH/dd/d"
is "$(stat -c %i "$SCRATCH/dd/d/first" 2>/dev/null)" "$(stat -c %i "$SCRATCH/dd/d/second" 2>/dev/null)" \
	"the hard link below it is a link again"
run fx_backup --media "file:$O/one.mbi"
exit_is 0 "backup on one device"
run mb restore --from "$O/one.mbi" --to "$SCRATCH/hl1" --file d/second
exit_is 0 "--file of a hard link from one image"
ok "the link's data restored (one image)" cmp "$SRC/d/second" "$SCRATCH/hl1/d/second"

# --- issue 16, 1: a damaged file's hard link does not keep its bytes ---
first_off=$("$MB" ls --from "$O/one.mbi" --output json | jq -r '.entries[] | select(.path == "d/first") | .offset')
cp "$O/one.mbi" "$O/hl-damaged.mbi"
printf 'X' | dd of="$O/hl-damaged.mbi" bs=1 seek=$((first_off + 35000)) conv=notrunc status=none
run mb restore --from "$O/hl-damaged.mbi" --to "$SCRATCH/hld"
exit_is 9 "restore of an image whose linked file is damaged: corrupt"
like "$RUN_ERR" "checksum mismatch in 'd/first'" "the damaged file is named"
nok "the damaged file is removed" test -e "$SCRATCH/hld/d/first"
nok "its hard link is removed too" test -e "$SCRATCH/hld/d/second"

# --- one image, JSON through jansson with the same keys ---
run mb restore --from "$O/one.mbi" --to "$SCRATCH/j" --output json
exit_is 0 "restore of one image, json"
is "$(jq -r '[.entries, .files, .bytes, .image_size] | map(type) | join(",")' <<<"$RUN_OUT")" \
	"number,number,number,number" "restore json: entries, files, bytes, image_size"
is "$(jq -r .image_size <<<"$RUN_OUT")" "$(stat -c %s "$O/one.mbi")" "restore json: image_size"
is "$(jq -r .files <<<"$RUN_OUT")" "$(find "$SRC" -type f -printf '%i\n' | sort -u | wc -l)" "restore json: files (a hard link is not one)"
ok "restore json: image_bytes_read" test "$(jq -r .image_bytes_read <<<"$RUN_OUT")" -gt 0
run mb verify --from "$O/one.mbi" --output json
exit_is 0 "verify of one image, json"
is "$(jq -r '[.status, .image_bytes] | join(",")' <<<"$RUN_OUT")" "ok,$(stat -c %s "$O/one.mbi")" \
	"verify json: status, image_bytes"
run mb verify --from "$O/a" --from "$O/b" --output json
exit_is 0 "verify of the set, json"
is "$(jq -r '[.status, .images] | join(",")' <<<"$RUN_OUT")" "ok,2" "verify json of the set"
run mb restore --from "$O/a" --to "$SCRATCH/jp" --output json
exit_is 19 "restore of one member, json: partial"
is "$(jq -r '.missing > 0' <<<"$(tail -1 <<<"$RUN_OUT")")" "true" "restore json: missing"

# --- 4d: many small files over two devices (linear, not quadratic) ---
for i in $(seq 1 3000); do printf '%s' "$i" >"$SRC/many/$i"; done
run fx_backup --media "file:$O/m1" --media "file:$O/m2" --force
exit_is 0 "backup of 3000 small files on two devices"
run mb restore --from "$O/m1" --from "$O/m2" --to "$SCRATCH/m"
exit_is 0 "restore of 3000 small files from two devices"
ok "byte-exact" diff -r "$SRC" "$SCRATCH/m"
done_testing
