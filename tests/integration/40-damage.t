#!/bin/bash
# Damaged images: a flipped data byte, a flipped header byte, truncation,
# and garbage.  verify and restore must name the damage, exit 9 (corrupt)
# or 10 (truncated), and restore must not leave a damaged file behind.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/fixture.sh"
fx_init
fx_setup ext4
mkdir -p "$SRC/d"
for i in $(seq 1 20); do
	head -c $((i * 1000)) /dev/urandom >"$SRC/d/file-$i"
done
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
victim_off=$(member_offset "$IMG" d/victim.dat)
like "$victim_off" '^[0-9]+$' "ls gives the victim's member offset ($victim_off)"

# 1. a flipped byte in the file's data
cp "$IMG" "$SCRATCH/out/data.mbi"
marker=$(grep -obUa 'MBACKUP-DAMAGE-VICTIM' "$SCRATCH/out/data.mbi" | head -1 | cut -d: -f1)
like "$marker" '^[0-9]+$' "found the victim's data in the image"
flip "$SCRATCH/out/data.mbi" $((marker + 4000))
run mb verify --from "$SCRATCH/out/data.mbi"
exit_is 9 "verify: flipped data byte -> corrupt"
like "$RUN_ERR" "^mbackup: error: .*d/victim\.dat" "verify names the damaged file"
like "$RUN_ERR" "$victim_off" "verify names the member's image offset"
run mb restore --from "$SCRATCH/out/data.mbi" --to "$SCRATCH/r-data"
exit_is 9 "restore: flipped data byte -> corrupt"
like "$RUN_ERR" "d/victim\.dat" "restore names the damaged file"
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
like "$RUN_ERR" "^mbackup: error: " "one error line"

# 3. truncation
size=$(stat -c %s "$IMG")
for cut in $((size / 2)) $((size - 1024)) 1000; do
	cp "$IMG" "$SCRATCH/out/trunc.mbi"
	truncate -s "$cut" "$SCRATCH/out/trunc.mbi"
	run mb verify --from "$SCRATCH/out/trunc.mbi"
	exit_is 10 "verify: truncated to $cut of $size bytes -> truncated"
	like "$RUN_ERR" "^mbackup: error: " "truncated to $cut: one error line"
done
cp "$IMG" "$SCRATCH/out/trunc.mbi"
truncate -s $((size / 2)) "$SCRATCH/out/trunc.mbi"
run mb restore --from "$SCRATCH/out/trunc.mbi" --to "$SCRATCH/r-trunc"
exit_is 10 "restore of a truncated image -> truncated"
nok "restore of a truncated image leaves no partial z-after" test -e "$SCRATCH/r-trunc/z-after"
run bash -c "head -c $((size / 2)) '$IMG' | '$MB' verify --from -"
exit_is 10 "verify from a pipe that ends early -> truncated"

# 4. garbage
head -c 1048576 /dev/urandom >"$SCRATCH/out/garbage"
run mb verify --from "$SCRATCH/out/garbage"
exit_is 9 "verify of garbage -> corrupt"
like "$RUN_ERR" "^mbackup: error: .*garbage" "garbage: one clear error line naming the file"
run mb ls --from "$SCRATCH/out/garbage"
exit_is 9 "ls of garbage -> corrupt"
tar -C "$SRC" -cf "$SCRATCH/out/plain.tar" d
run mb verify --from "$SCRATCH/out/plain.tar"
exit_is 9 "verify of a plain tar (no index) -> corrupt"
: >"$SCRATCH/out/empty"
run mb verify --from "$SCRATCH/out/empty"
like "$RUN_RC" '^(9|10)$' "verify of an empty file -> corrupt or truncated"
run mb verify --from "$SCRATCH/out/nonexistent"
exit_isnt 0 "verify of a missing image fails"
like "$RUN_ERR" "^mbackup: error: .*nonexistent.*No such file" "missing image: message"
done_testing
