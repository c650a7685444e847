#!/bin/bash
# --compress zstd: the image as independent zstd frames with a seek table.
# Round trips through file, pipe and stdout and over two devices; plain
# zstd -dc | tar and | bsdtar read it; a single file is restored reading a
# small fraction of the compressed bytes; a damaged frame, a damaged seek
# table and a truncated image get their exact errors; bad values refused.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/fixture.sh"
fx_init
command -v zstd >/dev/null || skip_all "missing tool 'zstd' (run deploy/setup)"
fx_setup ext4 1G
fx_populate "$SRC"
mkdir -p "$SRC/text"
for i in $(seq 1 8); do
	seq $((i * 1000000)) $((i * 1000000 + 700000)) >"$SRC/text/seq-$i"	# ~5.6 MB each
done
printf 'the one file asked for\n%.0s' $(seq 1 3000) >"$SRC/text/target.txt"
IMG=$SCRATCH/out/img.mbi.zst
# bytes as mbackup shows them: "12.3 MiB"
hb() { awk -v v="$1" 'BEGIN { split("B KiB MiB GiB TiB PiB", u, " "); i = 1
	while (v >= 1024 && i < 6) { v /= 1024; i++ }
	if (i == 1) printf "%.0f B", v; else printf "%.1f %s", v, u[i] }'; }
# the error line of the last run (its log lines and hint left out)
err() { printf '%s\n' "$RUN_ERR" | grep '^mbackup: error: '; }

# ---- bad values: one line, exit 2, nothing written ----
run fx_backup --media "file:$SCRATCH/out/bad.zst" --compress lz4
exit_is 2 "--compress lz4: usage"
is "$RUN_ERR" "mbackup: error: invalid --compress 'lz4'
HINT: use none, zstd or zstd:LEVEL with LEVEL from 1 to 22" "--compress lz4: the message"
for v in zstd:0 zstd:23 zstd:x zstd: zstd:3x; do
	run fx_backup --media "file:$SCRATCH/out/bad.zst" --compress "$v"
	exit_is 2 "--compress $v: usage"
	is "$(err)" "mbackup: error: invalid --compress '$v'" "--compress $v: the message"
done
run fx_backup --media "file:$SCRATCH/out/bad.zst" --compress zstd --compress-threads 65
exit_is 2 "--compress-threads 65: usage"
like "$RUN_ERR" "^mbackup: error: invalid value '65' for --compress-threads: expected 0..64" \
	"--compress-threads 65: the message"
run mb restore --from x --to "$SCRATCH/x" --compress zstd
exit_is 2 "--compress on restore: usage"
like "$RUN_ERR" "^mbackup: error: option '--compress' does not apply to 'restore'" "restore: the message"
CONF=$SCRATCH/etc/zstd.conf
mkdir -p "$SCRATCH/etc" && chmod 755 "$SCRATCH/etc"
printf 'compress-threads = 2\ncompress = zstd:99\n' >"$CONF" && chmod 644 "$CONF"
run fx_backup --config "$CONF" --media "file:$SCRATCH/out/bad.zst"
exit_is 3 "a bad compress in a config file: a config error"
is "$RUN_ERR" "mbackup: error: config '$CONF' line 2: invalid --compress 'zstd:99'
HINT: use none, zstd or zstd:LEVEL with LEVEL from 1 to 22" "config: the file, the line and the hint"
ok "nothing written by the refusals" test ! -e "$SCRATCH/out/bad.zst" -a ! -e "$SCRATCH/out/bad.zst.partial"

# ---- --compress none: the image as it always was ----
run fx_backup --media "file:$SCRATCH/out/plain.mbi" --compress none
exit_is 0 "--compress none"
is "$(head -c 13 "$SCRATCH/out/plain.mbi")" "mbackup-index" "a plain pax image: the index member's name first"
unlike "$RUN_ERR" "zstd" "no compression filter on the way"
run tar -tf "$SCRATCH/out/plain.mbi"
exit_is 0 "tar reads it without zstd"

# ---- a file ----
run fx_backup --media "file:$IMG" --compress zstd:3 --compress-threads 2
exit_is 0 "compressed backup to a file"
like "$RUN_ERR" "info  zstd: [0-9]+ image bytes in [0-9]+ frames, [0-9]+ bytes compressed" "the ratio is logged"
is "$(head -c 4 "$IMG" | od -An -tx1 | tr -d ' ')" "28b52ffd" "the image starts with a zstd frame"
is "$(tail -c 4 "$IMG" | od -An -tx1 | tr -d ' ')" "b1ea928f" "and ends with the seek table's magic"
raw=$(zstd -dc "$IMG" | wc -c)
csize=$(stat -c %s "$IMG")
ok "compressed: $csize bytes for $raw of image" test "$csize" -lt $((raw / 3))
id=$(fx_last_run | jq -r .id)
is "$(sqlite3 "$CATALOG" "SELECT bytes || ' ' || compressed_bytes FROM images WHERE run_id = $id")" \
	"$raw $csize" "catalog: the image's bytes and its compressed bytes (the file's size)"
is "$(mb info --backup "$id" --catalog "$CATALOG" | grep '^media')" \
	"$(printf 'media       #1 file:%s, %s, %s compressed (%s:1), complete' "$IMG" \
	"$(hb "$raw")" "$(hb "$csize")" \
	"$(awk -v a="$raw" -v b="$csize" 'BEGIN { printf "%.2f", a / b }')")" "mbackup info: the compressed size and the ratio"
like "$(mb list --catalog "$CATALOG" | sed -n 2p)" "file:$IMG \(zstd [0-9]+\.[0-9][0-9]:1\)$" "mbackup list: the ratio"
is "$(mb list --output json --catalog "$CATALOG" | jq -r '.[0].media[0].compressed_bytes')" "$csize" \
	"mbackup list json: compressed_bytes"
run mb verify --from "$IMG"
exit_is 0 "verify reads it"
like "$RUN_OUT" "^verify: ok: " "verify: ok"
run mb ls --from "$IMG"
exit_is 0 "ls reads it"
like "$RUN_OUT" "text/target.txt" "ls lists the files"
run mb restore --from "$IMG" --to "$SCRATCH/r-file"
exit_is 0 "restore of the compressed file image"
fx_tree_is "$SRC" "$SCRATCH/r-file" "restored tree identical to the source"

# ---- plain tools ----
mkdir -p "$SCRATCH/gnutar" "$SCRATCH/bsdtar"
run bash -c "zstd -dc '$IMG' | tar -tf - | grep -c '^text/seq-'"
is "$RUN_OUT" "8" "zstd -dc | tar -tf lists the members"
run bash -c "zstd -dc '$IMG' | tar -C '$SCRATCH/gnutar' -xf -"
exit_is 0 "zstd -dc | tar -xf extracts"
is "$RUN_ERR" "" "without a word"
ok "GNU tar's file is exact" cmp "$SRC/text/seq-5" "$SCRATCH/gnutar/text/seq-5"
run bash -c "zstd -dc '$IMG' | bsdtar -C '$SCRATCH/bsdtar' -xf -"
exit_is 0 "zstd -dc | bsdtar -xf extracts"
ok "bsdtar's file is exact" cmp "$SRC/text/target.txt" "$SCRATCH/bsdtar/text/target.txt"
run bash -c "zstd -dc '$IMG' | '$MB' verify --from -"
exit_is 0 "what zstd -dc gives is the plain image: verify takes it"

# ---- one file: the seek table, a fraction of the bytes ----
run mb restore --from "$IMG" --to "$SCRATCH/one" --file text/target.txt
exit_is 0 "restore --file from the compressed image"
ok "content exact" cmp "$SRC/text/target.txt" "$SCRATCH/one/text/target.txt"
got=$(printf '%s' "$RUN_ERR" | sed -n "s/.*zstd: read \([0-9]*\) of \([0-9]*\) compressed bytes.*/\1 \2/p")
read_c=${got% *}
is "${got#* }" "$csize" "the reader knows the compressed size"
ok "read ${read_c:-?} of $csize compressed bytes: under a tenth" test "${read_c:-$csize}" -lt $((csize / 10))

# ---- a pipe, standard output, standard input ----
mkfifo "$SCRATCH/fifo"
cat "$SCRATCH/fifo" >"$SCRATCH/out/piped.zst" &
run fx_backup --media "pipe:$SCRATCH/fifo" --compress zstd:1
exit_is 0 "compressed backup to a pipe"
wait
run bash -c "cat '$SCRATCH/out/piped.zst' | '$MB' restore --from - --to '$SCRATCH/r-pipe'"
exit_is 0 "restore from standard input, in order"
fx_tree_is "$SRC" "$SCRATCH/r-pipe" "pipe round trip identical"
like "$RUN_ERR" "zstd: read [0-9]+ compressed bytes in order" "read in order"
fx_backup --media - --compress zstd:1 >"$SCRATCH/out/stdout.zst" 2>"$SCRATCH/stdout.err"
is "$?" "0" "compressed backup to standard output"
run mb restore --from "$SCRATCH/out/stdout.zst" --to "$SCRATCH/r-stdout"
exit_is 0 "restore of what went to standard output"
fx_tree_is "$SRC" "$SCRATCH/r-stdout" "stdout round trip identical"

# ---- two devices, each compressed on its own ----
run fx_backup --media "file:$SCRATCH/out/a.zst" --media "file:$SCRATCH/out/b.zst" --compress zstd:1
exit_is 0 "compressed backup to two devices"
for d in a b; do
	is "$(head -c 4 "$SCRATCH/out/$d.zst" | od -An -tx1 | tr -d ' ')" "28b52ffd" "device $d is compressed"
done
run mb restore --from "$SCRATCH/out/a.zst" --from "$SCRATCH/out/b.zst" --to "$SCRATCH/r-two"
exit_is 0 "restore of the two compressed devices"
fx_tree_is "$SRC" "$SCRATCH/r-two" "two-device round trip identical"

# a device that fails mid-run (its FIFO's reader dies): its items go to
# rescue images on the survivors, each a stream of its own after the first
mkfifo "$SCRATCH/fifo2"
(head -c 65536 <"$SCRATCH/fifo2" >/dev/null) &
run fx_backup --media "file:$SCRATCH/out/x.zst" --media "pipe:$SCRATCH/fifo2" \
	--media "file:$SCRATCH/out/y.zst" --compress zstd:1
exit_is 0 "compressed, a failed device: the run completes"
like "$RUN_ERR" "device 2 .*failed" "the failed device is reported"
wait
streams=$(cat "$SCRATCH/out/x.zst" "$SCRATCH/out/y.zst" |
	perl -0777 -ne 'print scalar(() = /\xb1\xea\x92\x8f/g)')
ok "the survivors hold rescue images, streams of their own ($streams seek tables)" test "$streams" -gt 2
run mb restore --from "$SCRATCH/out/x.zst" --from "$SCRATCH/out/y.zst" --to "$SCRATCH/r-fo"
exit_is 0 "restore from the compressed survivors"
fx_tree_is "$SRC" "$SCRATCH/r-fo" "failover round trip identical"

# ---- damage ----
# frame_at FILE CBYTE: "D C" - the image offset and compressed byte where
# the frame holding compressed byte CBYTE starts (from the seek table)
frame_at() {
	perl -e 'open(my $f, "<:raw", $ARGV[0]) or die; local $/; my $b = <$f>;
		my ($n, $d) = unpack("V C", substr($b, -9, 5)); my $es = $d & 0x80 ? 12 : 8;
		my $t = substr($b, length($b) - 9 - $n * $es, $n * $es); my ($c, $u) = (0, 0);
		for my $i (0 .. $n - 1) { my ($cs, $ds) = unpack("V V", substr($t, $i * $es, 8));
			if ($ARGV[1] < $c + $cs) { print "$u $c\n"; exit 0 } $c += $cs; $u += $ds }
		exit 1' "$1" "$2"
}
BAD=$SCRATCH/out/bad-frame.zst
cp "$IMG" "$BAD"
flip=$((csize / 2))
printf '\377\377\377\377\377\377\377\377' | dd of="$BAD" bs=1 seek=$flip conv=notrunc status=none
where=$(frame_at "$BAD" $flip)
ok "the flipped byte lies in a frame ($where)" test -n "$where"
run mb verify --from "$BAD"
exit_is 9 "verify of a damaged frame: corrupt"
like "$(err)" "^mbackup: error: damaged compressed frame in image '$BAD' at offset ${where% *} \\(compressed byte ${where#* }\\): [A-Za-z]" \
	"the message names the image and the frame's uncompressed offset"
bad_read=$(printf '%s' "$RUN_ERR" | sed -n "s/.*zstd: read \([0-9]*\) of .*/\1/p")
ok "verify goes on past the damaged files, reading the damaged frame once (${bad_read:-?} of $csize bytes)" \
	test "${bad_read:-$((csize * 2))}" -le "$csize"
run bash -c "cat '$BAD' | '$MB' verify --from -"
exit_is 9 "verify of a damaged frame read in order: corrupt"
like "$(err)" "^mbackup: error: damaged compressed frame in image 'standard input' at offset ${where% *} \\(compressed byte ${where#* }\\): [A-Za-z]" \
	"read in order: the same frame named"
run mb restore --from "$BAD" --to "$SCRATCH/r-bad"
exit_is 9 "restore of a damaged frame: corrupt"
bad_files=0
while IFS= read -r -d '' p; do
	cmp -s "$SRC/$p" "$SCRATCH/r-bad/$p" || bad_files=$((bad_files + 1))
done < <(cd "$SCRATCH/r-bad" 2>/dev/null && find . -type f -printf '%P\0')
is "$bad_files" "0" "nothing unchecked under a real name: every file restored is exact"

BADT=$SCRATCH/out/bad-table.zst
cp "$IMG" "$BADT"
n=$(tail -c 9 "$BADT" | head -c 1 | od -An -tu1 | tr -d ' ')
printf "\\$(printf '%03o' $(((n + 1) % 256)))" | dd of="$BADT" bs=1 seek=$((csize - 9)) conv=notrunc status=none
run mb verify --from "$BADT"
exit_is 9 "verify of a damaged seek table: corrupt"
is "$(err)" "mbackup: error: damaged seek table in compressed image '$BADT' (ending at byte $csize): the seek table's frame header is wrong" \
	"the message names the image and the table"

CUT=$SCRATCH/out/cut.zst
head -c $((csize / 2)) "$IMG" >"$CUT"
run mb verify --from "$CUT"
exit_is 10 "verify of a truncated compressed image: truncated"
like "$(err)" "^mbackup: error: image '$CUT' is truncated at offset [0-9]+ \\(inside a compressed frame\\)$" \
	"the message says where the frames end"
done_testing
