#!/bin/bash
# Round trip of the varied file set: backup, restore, plain tar extraction,
# ls / list / verify output, the split clone, the source left writable.
# 11-roundtrip-xfs.t runs this same script with FSTYPE=xfs.
FSTYPE=${FSTYPE:-ext4}
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/fixture.sh"
fx_init
fx_setup "$FSTYPE"
fx_populate "$SRC"
IMG=$SCRATCH/out/image.mbi
n_src=$(find "$SRC" -mindepth 1 | wc -l)
# files and bytes count each regular file once, whatever its hard links
n_files=$(find "$SRC" -type f -printf '%i\n' | sort -u | wc -l)
n_bytes=$(find "$SRC" -type f -printf '%i %s\n' | sort -u | awk '{ s += $2 } END { print s }')

run fx_backup --media "file:$IMG"
exit_is 0 "$FSTYPE: backup exits 0"
# (after its log prefix "<time> info  "; the window's length varies)
last=$(printf '%s\n' "$RUN_ERR" | tail -n 1 | sed -E 's/^[0-9T:.-]+Z info  //; s/window [0-9]+ ms/window N ms/')
is "$last" "backup 1 complete: $n_files files, $n_bytes bytes, window N ms, image file:$IMG" \
	"last stderr line is the summary"
ok "image written" test -s "$IMG"
is "$(fx_clones)" "" "split clone removed after streaming"
ok "source fs writable afterwards" fx_writable "$SRC"

# restore
run mb restore --from "$IMG" --to "$SCRATCH/restored"
exit_is 0 "restore exits 0"
is "$RUN_OUT" "restored $n_src entries ($n_bytes bytes) to '$SCRATCH/restored'; read $(stat -c %s "$IMG") of $(stat -c %s "$IMG") image bytes" \
	"restore summary line"
fx_tree_is "$SRC" "$SCRATCH/restored" "restored tree identical to the source"

# plain GNU tar and bsdtar
mkdir "$SCRATCH/gnutar" "$SCRATCH/bsdtar"
run tar -C "$SCRATCH/gnutar" -xf "$IMG"
exit_is 0 "GNU tar extracts the image"
is "$(printf '%s' "$RUN_ERR" | sort | uniq -c)" "" "GNU tar extracts without warnings"
fx_strip_meta "$SCRATCH/gnutar" "$IMG" "$SRC"
FX_CMP_NO_TYPES=p fx_tree_is "$SRC" "$SCRATCH/gnutar" "GNU tar tree identical"
run bsdtar -C "$SCRATCH/bsdtar" -xf "$IMG"
exit_is 0 "bsdtar extracts the image"
fx_strip_meta "$SCRATCH/bsdtar" "$IMG" "$SRC"
FX_CMP_NO_TYPES=p fx_tree_is "$SRC" "$SCRATCH/bsdtar" "bsdtar tree identical"

# ls
run mb ls --from "$IMG" --output json
exit_is 0 "ls --output json exits 0"
got=$(printf '%s' "$RUN_OUT" | jq -r '.entries[].path' | sed 's|^\./||' | LC_ALL=C sort)
want=$(cd "$SRC" && find . -mindepth 1 -printf '%P\n' | LC_ALL=C sort)
is "$got" "$want" "ls lists every entry"
is "$(printf '%s' "$RUN_OUT" | jq -r '.entries[] | select(.path|test("(^|/)big-5m$")) | .size')" \
	"5242880" "ls json size of big-5m"
is "$(printf '%s' "$RUN_OUT" | jq -r '.entries[] | select(.path|test("(^|/)sparse-mid$")) | .size')" \
	"20971520" "ls json size of the sparse file"
is "$(printf '%s' "$RUN_OUT" | jq -r '.entries[] | select(.path|test("(^|/)link-dangling$")) | .type')" \
	"l" "ls json type of a symlink"
is "$(printf '%s' "$RUN_OUT" | jq -r '[.entries[] | select(.path|test("(^|/)modes/owned-dir/f$")) | .uid, .gid] | join(":")')" \
	"1234:5678" "ls json owner"
run mb ls --from "$IMG"
exit_is 0 "ls exits 0"
is "$(printf '%s\n' "$RUN_OUT" | wc -l)" "$n_src" "ls prints one line per entry"
like "$RUN_OUT" "link-abs -> /etc/hostname" "ls shows symlink targets"

# list
run mb list --output json --catalog "$CATALOG"
exit_is 0 "list --output json exits 0"
run0=$(printf '%s' "$RUN_OUT" | jq -c '.[0]')
is "$(jq -r .status <<<"$run0")" "complete" "run is complete"
is "$(jq -r .verb <<<"$run0")" "backup" "run verb"
like "$(jq -r .window_ms <<<"$run0")" '^[0-9]+$' "run has window_ms"
is "$(jq -r .bytes <<<"$run0")" "$n_bytes" "run counts the bytes"
is "$(jq -r .files <<<"$run0")" "$n_files" "run counts the regular files (hard links once)"
is "$(jq -r .exit_code <<<"$run0")" "0" "run exit_code 0"
is "$(jq -r '[.phases[].name] | join(",")' <<<"$run0")" \
	"preflight,sync,premap,quiesce,split,recheck,unquiesce,stream,finish" "run has its phases, in order"

# verify
run mb verify --from "$IMG"
exit_is 0 "verify exits 0"
is "$RUN_OUT" "verify: ok: $n_files files, $n_bytes bytes, image $(stat -c %s "$IMG") bytes" "verify summary"

# --keep-split leaves the clone; without --force an existing image is refused
run fx_backup --media "file:$SCRATCH/out/keep.mbi" --keep-split
exit_is 0 "backup --keep-split exits 0"
is "$(fx_clones | wc -l)" "1" "--keep-split keeps one split clone"
clone=$(fx_clones | head -1)
is "$(stat -c %s "$BACKING/$clone" 2>/dev/null)" "$(stat -c %s "$SRC_IMG")" "the clone has the size of the source image"
rm -f "$BACKING/$clone"
sum=$(md5sum <"$IMG")
run fx_backup --media "file:$IMG"
exit_is 8 "existing media without --force is refused (media)"
is "$(grep -E '^(mbackup: error|HINT): ' <<<"$RUN_ERR")" "mbackup: error: media file '$IMG' already exists
HINT: choose a new name, or pass --force to overwrite it" "existing media: message and hint"
is "$(md5sum <"$IMG")" "$sum" "existing image left unchanged"
run fx_backup --media "file:$IMG" --force
exit_is 0 "--force overwrites"
# to a FIFO, read by another process
mkfifo "$SCRATCH/out/fifo"
cat "$SCRATCH/out/fifo" >"$SCRATCH/out/via-fifo.mbi" &
reader=$!
run fx_backup --media "pipe:$SCRATCH/out/fifo"
exit_is 0 "backup to pipe:FIFO exits 0"
wait "$reader"
run mb verify --from "$SCRATCH/out/via-fifo.mbi"
exit_is 0 "the image read from the FIFO verifies"
ok "source fs still writable" fx_writable "$SRC"
done_testing
