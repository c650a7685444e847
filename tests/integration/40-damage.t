#!/bin/bash
# Damaged images: a flipped data byte, a flipped header byte, truncation,
# and garbage.  verify and restore must name the damage, exit 9 (corrupt)
# or 10 (truncated), and restore must not leave a damaged file behind.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/fixture.sh"
fx_init
fx_setup ext4
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
run mb restore --from "$SCRATCH/out/trunc.mbi" --to "$SCRATCH/r-trunc"
exit_is 10 "restore of a truncated image -> truncated"
is "$(errors)" "mbackup: error: image '$SCRATCH/out/trunc.mbi' is truncated at offset $mid (inside '$mid_member')" \
	"restore of a truncated image: message"
nok "restore of a truncated image leaves nothing of the member cut short" test -e "$SCRATCH/r-trunc/$mid_member"
nok "nor anything after it" test -e "$SCRATCH/r-trunc/z-after"
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
is "$RUN_ERR" "mbackup: error: image '$SCRATCH/out/empty' is truncated at offset 0 (inside the index)" \
	"empty file: message"
run mb verify --from "$SCRATCH/out/nonexistent"
exit_is 17 "verify of a missing image -> not found"
is "$RUN_ERR" "mbackup: error: unable to open image '$SCRATCH/out/nonexistent': No such file or directory" \
	"missing image: message"
done_testing
