#!/bin/bash
# Damaged images: a flipped data byte, a flipped header byte, truncation,
# and garbage.  verify and restore must name the damage, exit 9 (corrupt)
# or 10 (truncated), and restore must not leave a damaged file behind.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/fixture.sh"
fx_init
fx_setup ext4
NL=$'\n'
fx_random_files "$SRC/d" file- 20 1000
{ printf 'MBACKUP-DAMAGE-VICTIM-0123456789\n'; head -c 65536 /dev/urandom; } >"$SRC/d/victim.dat"
head -c 300000 /dev/urandom >"$SRC/z-after"
IMG=$SCRATCH/out/good.mbi
run fx_backup --media "file:$IMG"
exit_is 0 "backup exits 0"
run mb verify --from "$IMG"
exit_is 0 "the undamaged image verifies"

# flip one byte of image file IMG at OFFSET
flip() {
	perl -e 'open(my $f, "+<", $ARGV[0]) or die; binmode $f; seek($f, $ARGV[1], 0);
		read($f, my $c, 1) == 1 or die; seek($f, $ARGV[1], 0); print $f chr(ord($c) ^ 0x5a);
		close $f or die' "$1" "$2"
}
member_offset() { # IMAGE PATH
	"$MB" ls --from "$1" --output json | jq -r --arg p "$2" '.entries[] | select(.path == $p) | .offset'
}
member_at() { # IMAGE OFFSET: the path of the last member starting at or before OFFSET
	"$MB" ls --from "$1" --output json |
		jq -r --argjson o "$2" '[.entries[] | select(.offset <= $o)] | max_by(.offset) | .path'
}
# the error lines of the last run (one expected)
errors() { printf '%s\n' "$RUN_ERR" | grep '^mbackup: error: '; }
victim_off=$(member_offset "$IMG" d/victim.dat)
like "$victim_off" '^[0-9]+$' "ls gives the victim's member offset ($victim_off)"

# 1. a flipped byte in the file's data
cp "$IMG" "$SCRATCH/out/data.mbi"
marker=$(grep -obUa 'MBACKUP-DAMAGE-VICTIM' "$SCRATCH/out/data.mbi" | head -1 | cut -d: -f1)
like "$marker" '^[0-9]+$' "found the victim's data in the image"
flip "$SCRATCH/out/data.mbi" $((marker + 4000))
run mb verify --from "$SCRATCH/out/data.mbi"
exit_is 9 "verify: flipped data byte -> corrupt"
is "$(errors)" "mbackup: error: checksum mismatch in 'd/victim.dat' (member at offset $victim_off)" \
	"verify names the damaged file and its member's image offset"
run mb restore --from "$SCRATCH/out/data.mbi" --to "$SCRATCH/r-data"
exit_is 9 "restore: flipped data byte -> corrupt"
is "$(errors)" "mbackup: error: checksum mismatch in 'd/victim.dat' (member at offset $victim_off)" \
	"restore names the damaged file"
nok "the damaged file is not left under its name" test -e "$SCRATCH/r-data/d/victim.dat"
run mb restore --from "$SCRATCH/out/data.mbi" --to "$SCRATCH/r-one" --file d/victim.dat
exit_is 9 "restore --file of the damaged file -> corrupt"
nok "restore --file leaves no damaged file" test -e "$SCRATCH/r-one/d/victim.dat"
run mb restore --from "$SCRATCH/out/data.mbi" --to "$SCRATCH/r-other" --file d/file-3
exit_is 0 "restore --file of an undamaged file still works"
ok "the undamaged file is exact" cmp "$SRC/d/file-3" "$SCRATCH/r-other/d/file-3"

# 2. a flipped byte in the member's header
cp "$IMG" "$SCRATCH/out/hdr.mbi"
flip "$SCRATCH/out/hdr.mbi" $((victim_off + 150))
run mb verify --from "$SCRATCH/out/hdr.mbi"
exit_is 9 "verify: flipped header byte -> corrupt"
is "$(errors)" "mbackup: error: header checksum mismatch at offset $victim_off (member of 'd/victim.dat') in image '$SCRATCH/out/hdr.mbi'" \
	"one error line naming the member"

# issue 16, 5: verify goes on past a damaged file, as pg_verifybackup, and
# lists every one (in image order, one line each; JSON too); the error is
# the first, the exit code the damage's (9)
f5_off=$(member_offset "$IMG" d/file-5)
z_off=$(member_offset "$IMG" z-after)
M=$SCRATCH/out/many.mbi
cp "$IMG" "$M"
flip "$M" $((f5_off + 150))
flip "$M" $((marker + 4000))
flip "$M" $((z_off + 100000))
run mb verify --from "$M"
exit_is 9 "verify of an image with three damaged files -> corrupt"
is "$RUN_OUT" "damaged: header checksum mismatch at offset $f5_off (member of 'd/file-5') in image '$M'
damaged: checksum mismatch in 'd/victim.dat' (member at offset $victim_off)
damaged: checksum mismatch in 'z-after' (member at offset $z_off)" "every damaged file listed, in image order"
is "$RUN_ERR" "mbackup: error: header checksum mismatch at offset $f5_off (member of 'd/file-5') in image '$M'
HINT: 3 damaged files in image '$M', each listed" "the error is the first, the hint counts them"
run mb verify --from "$M" --output json
exit_is 9 "verify --output json of the same image -> corrupt"
is "$(jq -r '[.status, (.damaged | map(.path) | join(","))] | join(" ")' <<<"$RUN_OUT")" \
	"corrupt d/file-5,d/victim.dat,z-after" "json: status and every damaged file"
is "$(jq -r '.damaged[1] | [.offset, .error] | join(" ")' <<<"$RUN_OUT")" \
	"$victim_off checksum mismatch in 'd/victim.dat' (member at offset $victim_off)" "json: offset and error of each"
run bash -c "cat '$M' | '$MB' verify --from -"
exit_is 9 "verify from a pipe of the same image -> corrupt"
is "$RUN_OUT" "" "a pipe cannot seek past a damaged header: the first error stands, alone"
cp "$IMG" "$M"
flip "$M" $((marker + 4000))
flip "$M" $((z_off + 100000))
run bash -c "cat '$M' | '$MB' verify --from -"
exit_is 9 "verify from a pipe, two damaged data -> corrupt"
is "$RUN_OUT" "damaged: checksum mismatch in 'd/victim.dat' (member at offset $victim_off)
damaged: checksum mismatch in 'z-after' (member at offset $z_off)" "from a pipe: both listed"

# 3. truncation: in a member's data (the one ls places there), in the two
# zero blocks that end every tar, in the index (the first member)
size=$(stat -c %s "$IMG")
mid=$((size / 2))
mid_member=$(member_at "$IMG" "$mid")
first=$("$MB" ls --from "$IMG" --output json | jq '[.entries[].offset] | min')
ok "the index is longer than 1000 bytes (first entry at $first)" test "$first" -gt 1000
for cut in "$mid:'$mid_member'" "$((size - 1024)):the end-of-archive blocks" "1000:the index"; do
	cp "$IMG" "$SCRATCH/out/trunc.mbi"
	truncate -s "${cut%%:*}" "$SCRATCH/out/trunc.mbi"
	run mb verify --from "$SCRATCH/out/trunc.mbi"
	exit_is 10 "verify: truncated to ${cut%%:*} of $size bytes -> truncated"
	is "$(errors)" "mbackup: error: image '$SCRATCH/out/trunc.mbi' is truncated at offset ${cut%%:*} (inside ${cut#*:})" \
		"truncated to ${cut%%:*}: one error line"
done
cp "$IMG" "$SCRATCH/out/trunc.mbi"
truncate -s $((size / 2)) "$SCRATCH/out/trunc.mbi"
# a file shorter than its index says is refused before anything is read
# or written: its trailer, which checks every file, is gone
cut_error="mbackup: error: image '$SCRATCH/out/trunc.mbi' is truncated: it holds $mid of its $size bytes (it ends inside '$mid_member')
HINT: a copy or a write that did not finish: use another copy of the image (nothing was restored)"
run mb restore --from "$SCRATCH/out/trunc.mbi" --to "$SCRATCH/r-trunc"
exit_is 10 "restore of a truncated image -> truncated"
is "$RUN_ERR" "$cut_error" "restore of a truncated image: one line, where it ends, and the hint"
is "$RUN_OUT" "" "nothing listed: nothing of it was read"
nok "the target is not even made" test -e "$SCRATCH/r-trunc"
run mb restore --from "$SCRATCH/out/trunc.mbi" --to "$SCRATCH/r-trunc-one" --file d/file-1
exit_is 10 "restore --file from an image without its trailer -> truncated"
is "$RUN_ERR" "$cut_error" "--file: the same refusal"
nok "--file: the target is not made" test -e "$SCRATCH/r-trunc-one"
# issue 16, 2: a restore that stops before the trailer (a pipe, read in
# order, cannot tell before) publishes nothing it could not check (a
# file's checksum is in the trailer), leaves no staging directory, and
# lists every entry it did not restore, one line each
n_items=$("$MB" ls --from "$IMG" --output json | jq '[.entries[] | select(.type != "d")] | length')
staged() { find "$1" -name '.mbackup-restore-*' | wc -l; }
run bash -c "head -c $((size / 2)) '$IMG' | '$MB' restore --from - --to '$SCRATCH/r-pipe'"
exit_is 10 "restore from a pipe that ends early -> truncated"
is "$(errors)" "mbackup: error: image 'standard input' is truncated at offset $mid (inside '$mid_member')" \
	"restore from a pipe that ends early: message"
is "$(cd "$SCRATCH/r-pipe" && find . ! -type d | sort)" "" "pipe ending early: no file under any name, checked or not"
is "$(staged "$SCRATCH/r-pipe")" 0 "pipe ending early: no staging directory left"
like "$RUN_OUT" "(^|$NL)cannot restore 'd/file-1': its checksum could not be checked \\(the restore stopped before the trailer\\)($NL|\$)" \
	"a file read whole before the cut is listed as unchecked"
like "$RUN_OUT" "(^|$NL)cannot restore '$mid_member': the restore stopped before it was read whole($NL|\$)" \
	"the member cut short is listed"
is "$(grep -c '^cannot restore ' <<<"$RUN_OUT")" "$n_items" "pipe ending early: one line per entry ($n_items)"
# a damaged member, then the cut: read in order, the first cause wins; as
# a file, the cut is seen first, before anything is read
cp "$IMG" "$SCRATCH/out/dmg-trunc.mbi"
flip "$SCRATCH/out/dmg-trunc.mbi" $((victim_off + 150))
truncate -s $((size - 100000)) "$SCRATCH/out/dmg-trunc.mbi"
run bash -c "cat '$SCRATCH/out/dmg-trunc.mbi' | '$MB' restore --from - --to '$SCRATCH/r-dmg-trunc'"
exit_is 9 "a damaged member header, then truncation, in order -> corrupt (the first cause)"
is "$(cd "$SCRATCH/r-dmg-trunc" && find . ! -type d | sort)" "" "damaged then truncated: no file left"
like "$RUN_OUT" "(^|$NL)cannot restore 'd/victim.dat': the restore stopped before it was read whole($NL|\$)" \
	"the damaged member is listed"
like "$RUN_OUT" "(^|$NL)cannot restore 'd/file-1': its checksum could not be checked" "a file before it is listed"
is "$(grep -c '^cannot restore ' <<<"$RUN_OUT")" "$n_items" "damaged then truncated: one line per entry"
run mb restore --from "$SCRATCH/out/dmg-trunc.mbi" --to "$SCRATCH/r-dmg-trunc-f"
exit_is 10 "the same as a file: truncated, seen before anything is read"
nok "the same as a file: the target is not made" test -e "$SCRATCH/r-dmg-trunc-f"
# SIGKILL in the middle: only the staging directory holds anything, and a
# later --force restore into the same target clears it
mkfifo "$SCRATCH/out/kill.fifo"
"$MB" restore --from "$SCRATCH/out/kill.fifo" --to "$SCRATCH/r-kill" >/dev/null 2>&1 & kpid=$!
exec 7>"$SCRATCH/out/kill.fifo"
head -c $((size / 2)) "$IMG" >&7
for _ in $(seq 1 50); do
	[ "$(find "$SCRATCH/r-kill" -path '*/.mbackup-restore-*/*' 2>/dev/null | wc -l)" -gt 5 ] && break
	sleep 0.1
done
kill -KILL "$kpid"
wait "$kpid" 2>/dev/null
exec 7>&-
ok "killed restore: files were staged" test "$(find "$SCRATCH/r-kill" -path '*/.mbackup-restore-*/*' | wc -l)" -gt 5
is "$(cd "$SCRATCH/r-kill" && find . ! -type d ! -path './.mbackup-restore-*/*' | sort)" "" \
	"killed restore: nothing under a final name"
like "$(cd "$SCRATCH/r-kill" && ls -A)" "(^|$NL)\\.mbackup-restore-[A-Za-z0-9]{6}($NL|\$)" \
	"killed restore: the staging directory is recognisable"
run mb restore --from "$IMG" --to "$SCRATCH/r-kill"
exit_is 11 "without --force the target holding a staging directory is refused"
run mb restore --from "$IMG" --to "$SCRATCH/r-kill" --force
exit_is 0 "restore --force into the killed restore's target"
is "$(staged "$SCRATCH/r-kill")" 0 "--force: the old staging directory is gone"
ok "--force: the tree is exact" diff -r "$SRC" "$SCRATCH/r-kill"
run bash -c "head -c $((size / 2)) '$IMG' | '$MB' verify --from -"
exit_is 10 "verify from a pipe that ends early -> truncated"
is "$(errors)" "mbackup: error: image 'standard input' is truncated at offset $mid (inside '$mid_member')" \
	"verify from a pipe: message"

# 4. garbage
head -c 1048576 /dev/urandom >"$SCRATCH/out/garbage"
run mb verify --from "$SCRATCH/out/garbage"
exit_is 9 "verify of garbage -> corrupt"
not_image() { # FILE
	printf "mbackup: error: '%s' is not an mbackup image (no valid index member at its start)\n%s" \
		"$1" "HINT: a plain tar archive can be listed with tar -tvf"
}
is "$RUN_ERR" "$(not_image "$SCRATCH/out/garbage")" "garbage: one clear error line naming the file"
run mb ls --from "$SCRATCH/out/garbage"
exit_is 9 "ls of garbage -> corrupt"
is "$RUN_ERR" "$(not_image "$SCRATCH/out/garbage")" "ls of garbage: message"
tar -C "$SRC" -cf "$SCRATCH/out/plain.tar" d
run mb verify --from "$SCRATCH/out/plain.tar"
exit_is 9 "verify of a plain tar (no index) -> corrupt"
is "$RUN_ERR" "$(not_image "$SCRATCH/out/plain.tar")" "plain tar: message"
# an empty file ends before its first header: truncated, never corrupt
: >"$SCRATCH/out/empty"
run mb verify --from "$SCRATCH/out/empty"
exit_is 10 "verify of an empty file -> truncated"
is "$RUN_ERR" "mbackup: error: image '$SCRATCH/out/empty' is truncated at offset 0 (inside the index)
HINT: a copy or a write that did not finish: use another copy of the image" \
	"empty file: message"
run mb verify --from "$SCRATCH/out/nonexistent"
exit_is 17 "verify of a missing image -> not found"
is "$RUN_ERR" "mbackup: error: unable to open image '$SCRATCH/out/nonexistent': No such file or directory" \
	"missing image: message"
done_testing
