#!/bin/bash
# --order-file (issue 11): the files it lists are streamed first, in its
# order, after every directory; the rest follows in logical order.  The
# image is still exact for restore (whole, --file by seek, from a pipe),
# verify, GNU tar; a set of two devices keeps the order on each; a bad
# order file is refused before anything is taken.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/fixture.sh"
fx_init
fx_setup ext4 256M
mkdir -p "$SRC/a/sub" "$SRC/base/5" "$SRC/z"
for f in a/one a/sub/two base/5/100 base/5/100.1 base/5/100_fsm base/5/1000 z/hot1 z/hot2; do
	head -c $((RANDOM * 8 + 1000)) /dev/urandom >"$SRC/$f"
done
head -c 3000000 /dev/urandom >"$SRC/z/big"
ln "$SRC/a/one" "$SRC/z/link-to-one"	# first name a/one, a link in z
O=$SCRATCH/out
mkdir -p "$O"
ORDER=$SCRATCH/hot.order
cat >"$ORDER" <<'EOF'
# hottest first
z/hot2
  ./z/hot1
base/5/100[._]*
z/link-to-one
no/such/relation
base/5/100
z/hot2
EOF
# members of an image as GNU tar lists them, files only, in image order
files_of() { tar -tvf "$1" | awk '$1 ~ /^-/ { print $NF }' | tr '\n' ' '; }

run fx_backup --media "file:$O/plain.mbi"
exit_is 0 "without an order file: exits 0"
is "$(files_of "$O/plain.mbi")" "a/one a/sub/two base/5/100 base/5/100.1 base/5/1000 base/5/100_fsm z/big z/hot1 z/hot2 " \
	"without: logical order"

run fx_backup --media "file:$O/hot.mbi" --order-file "$ORDER"
exit_is 0 "with --order-file: exits 0"
like "$RUN_ERR" "order file '$ORDER': 7 line\(s\)" "preflight read 7 lines (comment and blanks dropped)"
like "$RUN_ERR" "warn  order file '$ORDER': 1 of 7 line\(s\) match nothing in the backup set \(the first, line 6: 'no/such/relation'\)" \
	"a path not in the set: one warning naming the first"
like "$RUN_ERR" "order file '$ORDER': 6 file\(s\) streamed first, in its order" "6 files moved"
is "$(files_of "$O/hot.mbi")" "z/hot2 z/hot1 base/5/100.1 base/5/100_fsm a/one base/5/100 a/sub/two base/5/1000 z/big " \
	"tar -tf: listed files in the file's order (a glob's in logical order, a link as its first name), then the rest"
is "$(tar -tf "$O/hot.mbi" | head -5 | tr '\n' ' ')" "a/ a/sub/ base/ base/5/ z/ " "every directory comes first"
is "$(tar -tvf "$O/hot.mbi" | awk '$1 ~ /^h/ { print $(NF-3), $NF }')" "z/link-to-one a/one" \
	"the hard link still follows its first name"
is "$("$MB" ls --from "$O/hot.mbi" | awk '{ print $NF }' | grep -x -e z/hot2 -e z/big | tr '\n' ' ')" "z/hot2 z/big " \
	"mbackup ls lists the image order"

run mb verify --from "$O/hot.mbi"
exit_is 0 "verify exits 0"
run mb restore --from "$O/hot.mbi" --to "$SCRATCH/r1"
exit_is 0 "restore exits 0"
ok "restore is byte-exact" diff -r "$SRC" "$SCRATCH/r1"
is "$(stat -c %i "$SCRATCH/r1/a/one")" "$(stat -c %i "$SCRATCH/r1/z/link-to-one" 2>/dev/null)" "the hard link is a link again"
run mb restore --from "$O/hot.mbi" --to "$SCRATCH/r2" --file z/hot1 --output json
exit_is 0 "restore --file of a file moved first"
ok "it is exact" cmp "$SRC/z/hot1" "$SCRATCH/r2/z/hot1"
ok "by seek: read $(jq -r .image_bytes_read <<<"$RUN_OUT") bytes of the $(stat -c %s "$O/hot.mbi")-byte image" \
	test "$(jq -r .image_bytes_read <<<"$RUN_OUT")" -lt 1048576
mkdir -p "$SCRATCH/tar"
tar -xf "$O/hot.mbi" -C "$SCRATCH/tar" 2>"$SCRATCH/tar.err"
is "$(cat "$SCRATCH/tar.err")" "" "GNU tar extracts it silently"
ok "and exactly" diff -r "$SRC" "$SCRATCH/tar"

# an incremental on the reordered full keeps its own order; the chain restores
head -c 5000 /dev/urandom >"$SRC/z/hot1"
run fx_backup --media "file:$O/inc.mbi" --incremental --order-file "$ORDER"
exit_is 0 "an incremental on it, --order-file given: exits 0"
like "$RUN_ERR" "order file '$ORDER': 7 line\(s\); an incremental keeps its own order" "it says the order file is not used"
INC=$(fx_last_run | jq -r .id)
run mb restore --backup "$INC" --to "$SCRATCH/r-inc" --catalog "$CATALOG"
exit_is 0 "restore --backup of the incremental (through the reordered full)"
ok "the chain restores byte-exact" diff -r "$SRC" "$SCRATCH/r-inc"

# a pipe: written in that order, read once in it
fx_backup --media - --order-file "$ORDER" --force 2>"$SCRATCH/pipe.err" |
	"$MB" restore --from - --to "$SCRATCH/r3" 2>"$SCRATCH/pipe-restore.err"
is "${PIPESTATUS[*]}" "0 0" "backup to standard output piped into restore from standard input"
ok "the restore from the pipe is byte-exact" diff -r "$SRC" "$SCRATCH/r3"

# two devices: each image holds its items in the order file's order
run fx_backup --media "file:$O/d1" --media "file:$O/d2" --order-file "$ORDER" --force
exit_is 0 "two devices with --order-file: exits 0"
run mb restore --from "$O/d1" --from "$O/d2" --to "$SCRATCH/r4"
exit_is 0 "restore of the set"
ok "the set restores byte-exact" diff -r "$SRC" "$SCRATCH/r4"
n_files=$(files_of "$O/d1"; files_of "$O/d2")
ok "the two images hold every file (and pieces: $(wc -w <<<"$n_files") members)" test "$(wc -w <<<"$n_files")" -ge 9
expected="z/hot2 z/hot1 base/5/100.1 base/5/100_fsm a/one base/5/100 a/sub/two base/5/1000 z/big"
for d in d1 d2; do
	got=$(files_of "$O/$d" | sed 's/\.mbackup-seg-[0-9a-f]*//g')
	want=$(for f in $expected; do [[ " $got " == *" $f "* ]] && printf '%s ' "$f"; done)
	is "$got" "$want" "device $d: its files in the order file's order"
done

# the config key
printf 'order-file = %s\n' "$ORDER" >"$SCRATCH/mb.conf"
chmod 0600 "$SCRATCH/mb.conf"
run fx_backup --config "$SCRATCH/mb.conf" --media "file:$O/conf.mbi" --force
exit_is 0 "order-file in the config file: exits 0"
is "$(files_of "$O/conf.mbi" | cut -d' ' -f1-2)" "z/hot2 z/hot1" "and it orders the image"

# bad order files: refused before anything is taken (exit 2, no image)
refused() { # NAME MESSAGE HINT FILE
	run fx_backup --media "file:$O/bad.mbi" --order-file "$4"
	exit_is 2 "$1: exits 2"
	is "$(grep '^mbackup: error: ' <<<"$RUN_ERR")" "mbackup: error: $2" "$1: the error line"
	is "$(grep '^HINT: ' <<<"$RUN_ERR")" "HINT: $3" "$1: the hint"
	ok "$1: no image" test ! -e "$O/bad.mbi"
}
refused "a missing file" "unable to read the order file '$SCRATCH/none': No such file or directory" \
	"--order-file names a file of paths below the source, one a line" "$SCRATCH/none"
HINT_PATHS="give paths relative to the source, as mbackup ls prints them (e.g. base/16384/16397), or globs of them"
printf 'z/hot1\n/etc/passwd\n' >"$SCRATCH/abs.order"
refused "an absolute path" "order file '$SCRATCH/abs.order' line 2: '/etc/passwd' is not a path below the source" \
	"$HINT_PATHS" "$SCRATCH/abs.order"
printf '# up\n\nbase/../../x\n' >"$SCRATCH/up.order"
refused "a '..' component" "order file '$SCRATCH/up.order' line 3: 'base/../../x' is not a path below the source" \
	"$HINT_PATHS" "$SCRATCH/up.order"
run "$MB" check --db none --mirror "loop:$SRC_LOOP" --source "$SRC" --order-file "$SCRATCH/up.order"
exit_is 2 "check refuses it too"
done_testing
