#!/bin/bash
# An image cut short after the backup (a copy or a write that did not
# finish; nothing failed in the run, the catalog says all is well) is
# found before anything is written: a file holds fewer bytes than its
# index says, a compressed file's frames (walked from its start when its
# seek table at the end is gone) hold fewer.  Alone it is refused (its
# trailer, which checks every file, is gone); in a set a whole restore is
# refused with what is lost listed first, and --file restores what the
# other images hold.  Exit 10 throughout, nothing written on a refusal.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/fixture.sh"
fx_init
command -v zstd >/dev/null || skip_all "missing tool 'zstd' (run deploy/setup)"
fx_setup ext4 1G
mkdir -p "$SRC/d" "$SRC/t"
head -c $((12 * 1048576)) /dev/urandom >"$SRC/big.bin"
for i in $(seq 1 30); do head -c $((i * 5300)) /dev/urandom >"$SRC/d/f$i"; done
for i in 1 2 3; do seq $((i * 1000000)) $((i * 1000000 + 600000)) >"$SRC/t/seq-$i"; done
O=$SCRATCH/out
NL=$'\n'
# the error and hint lines of the last run (its log lines left out)
err() { printf '%s\n' "$RUN_ERR" | grep -v '^[0-9T:.-]*Z '; }
# whole FILE CUT: the image bytes of the whole frames of FILE's first
# stream that lie in its first CUT bytes (from its seek table)
whole() {
	perl -e 'open(my $f, "<:raw", $ARGV[0]) or die; local $/; my $b = <$f>;
		my ($n, $d) = unpack("V C", substr($b, -9, 5)); my $es = $d & 0x80 ? 12 : 8;
		my $t = substr($b, length($b) - 9 - $n * $es, $n * $es); my ($c, $u) = (0, 0);
		for my $i (0 .. $n - 1) { my ($cs, $ds) = unpack("V V", substr($t, $i * $es, 8));
			last if $c + $cs > $ARGV[1]; $c += $cs; $u += $ds }
		print "$u\n"' "$1" "$2"
}
# member_at IMAGE OFFSET: the member starting last at or before OFFSET
member_at() {
	"$MB" ls --from "$1" --output json 2>/dev/null |
		jq -r --argjson o "$2" '[.entries[] | select(.offset <= $o)] | max_by(.offset) | .path'
}
items_on() { "$MB" ls --from "$1" --output json 2>/dev/null | jq '[.entries[] | select(.type != "d")] | length'; }
empty_dir() { mkdir -p "$1" && [ -z "$(ls -A "$1")" ]; }

# ---- a compressed set, one member cut short ----
run fx_backup --media "file:$O/za" --media "file:$O/zb" --segment-threshold 4M --compress zstd
exit_is 0 "compressed backup on two devices"
zsize=$(stat -c %s "$O/za")
isize=$(zstd -dc "$O/za" | wc -c)
cut=$((zsize / 2))
head -c "$cut" "$O/za" >"$O/za-cut"
held=$(whole "$O/za" "$cut")
ok "the cut leaves whole frames ($held of $isize image bytes)" test "$held" -gt 0 -a "$held" -lt "$isize"
at=$(member_at "$O/za" "$held")
n_lost=$(items_on "$O/za")
lost_err="mbackup: error: image '$O/za-cut' is truncated: it holds $held of its $isize bytes (it ends inside '$at'); $n_lost item(s) of backup BID cannot be restored
HINT: nothing was restored: use another copy of that image, or restore what the other images hold with --file (what is lost is listed above)"
bid=$("$MB" ls --from "$O/za" --output json 2>/dev/null | jq -r .backup_id)
lost_err=${lost_err/BID/$bid}
empty_dir "$SCRATCH/zr"
run mb restore --from "$O/za-cut" --from "$O/zb" --to "$SCRATCH/zr"
exit_is 10 "compressed set, a member cut short: truncated (10)"
is "$(err)" "$lost_err" "one error line: the image, where it ends, what is lost; and the hint"
like "$RUN_ERR" "warn  zstd: '$O/za-cut' does not end in a seek table: it ends inside a frame at byte $cut; walked from its start, its whole frames hold $held image bytes" \
	"the walk of its frames is logged"
is "$(grep -c "^cannot restore '[^']*': .* on device 1 of 2, whose image '$O/za-cut' is truncated\$" <<<"$RUN_OUT")" \
	"$n_lost" "every item on the cut member is listed ($n_lost), before anything"
is "$(grep -vc '^cannot restore ' <<<"$RUN_OUT")" 0 "and nothing else"
is "$(ls -A "$SCRATCH/zr")" "" "nothing was written: the target is as empty as it was"
run mb restore --from "$O/zb" --from "$O/za-cut" --to "$SCRATCH/zr2"
exit_is 10 "the cut member given second: truncated (10)"
is "$(err)" "$lost_err" "the same error"
nok "nothing was written: no target made" test -e "$SCRATCH/zr2"

# --file, the tool's partial restore: what the other member holds
on_b=$("$MB" ls --from "$O/zb" --output json 2>/dev/null | jq -r '[.entries[] | select(.type == "f" and .path != "big.bin")][0].path')
on_a=$("$MB" ls --from "$O/za" --output json 2>/dev/null | jq -r '[.entries[] | select(.type == "f" and .path != "big.bin")][0].path')
run mb restore --from "$O/za-cut" --from "$O/zb" --to "$SCRATCH/zf" --file "$on_b"
exit_is 0 "--file of an item on the intact member (0)"
ok "it is exact ($on_b)" cmp "$SRC/$on_b" "$SCRATCH/zf/$on_b"
run mb restore --from "$O/za-cut" --from "$O/zb" --to "$SCRATCH/zf2" --file "$on_b" --file "$on_a"
exit_is 10 "--file of an item on each: truncated (10)"
is "$RUN_OUT" "cannot restore '$on_a': it is on device 1 of 2, whose image '$O/za-cut' is truncated" \
	"the lost one is listed"
is "$(err)" "mbackup: error: image '$O/za-cut' is truncated: it holds $held of its $isize bytes (it ends inside '$at')
HINT: a copy or a write that did not finish: use another copy of the image" "and the cut image's error ends it"
ok "the other is restored ($on_b)" cmp "$SRC/$on_b" "$SCRATCH/zf2/$on_b"
nok "nothing of the lost one" test -e "$SCRATCH/zf2/$on_a"
run mb verify --from "$O/za-cut" --from "$O/zb"
exit_is 10 "verify of the set: truncated (10)"
like "$(err)" "^mbackup: error: image '$O/za-cut' is truncated at offset $held \\(inside a compressed frame\\)\$" \
	"verify reads to where the whole frames end"

# ---- a device that failed in the run: the survivor's file cut short in its
# rescue image (the stream after its first; the first keeps its table) ----
mkfifo "$O/zfifo"
(head -c 1048576 <"$O/zfifo" >"$O/zfailed") &
run fx_backup --media "file:$O/zs" --media "pipe:$O/zfifo" --segment-threshold 4M --compress zstd
exit_is 0 "compressed, device 2 failed: the run completes"
wait
ssize=$(stat -c %s "$O/zs")
head -c $((ssize - 20000)) "$O/zs" >"$O/zs-cut"
run mb restore --from "$O/zs-cut" --from "$O/zfailed" --to "$SCRATCH/rs"
exit_is 10 "the survivor's rescue image cut short: truncated (10)"
like "$(err)" "^mbackup: error: image '$O/zs-cut@[0-9]+' is truncated: it holds [0-9]+ of its [0-9]+ bytes \\(it ends inside '[^']+'\\); [0-9]+ item\\(s\\) of backup [0-9]+ cannot be restored$NL" \
	"the rescue image is named, with where it ends"
like "$RUN_OUT" "^cannot restore '[^']+': .* on device 1 of 2, whose image '$O/zs-cut@[0-9]+' is truncated$NL" \
	"what it held is listed"
nok "nothing was written" test -e "$SCRATCH/rs"
run mb restore --from "$O/zs" --from "$O/zfailed" --to "$SCRATCH/rs2"
exit_is 0 "the same survivor whole restores (0)"
ok "byte-exact" diff -r "$SRC" "$SCRATCH/rs2"

# ---- the same set uncompressed ----
run fx_backup --media "file:$O/pa" --media "file:$O/pb" --segment-threshold 4M
exit_is 0 "plain backup on two devices"
psize=$(stat -c %s "$O/pa")
pcut=$((psize / 2))
head -c "$pcut" "$O/pa" >"$O/pa-cut"
pbid=$("$MB" ls --from "$O/pa" --output json 2>/dev/null | jq -r .backup_id)
run mb restore --from "$O/pa-cut" --from "$O/pb" --to "$SCRATCH/pr"
exit_is 10 "plain set, a member cut short: truncated (10)"
is "$(err)" "mbackup: error: image '$O/pa-cut' is truncated: it holds $pcut of its $psize bytes (it ends inside '$(member_at "$O/pa" "$pcut")'); $(items_on "$O/pa") item(s) of backup $pbid cannot be restored
HINT: nothing was restored: use another copy of that image, or restore what the other images hold with --file (what is lost is listed above)" \
	"plain: the same error, from the file's size"
nok "plain: nothing was written" test -e "$SCRATCH/pr"

# ---- one compressed image ----
run fx_backup --media "file:$O/z1" --compress zstd
exit_is 0 "compressed backup on one device"
z1size=$(stat -c %s "$O/z1")
i1size=$(zstd -dc "$O/z1" | wc -c)
cut1=$((z1size * 2 / 3))
head -c "$cut1" "$O/z1" >"$O/z1-cut"
held1=$(whole "$O/z1" "$cut1")
one_err="mbackup: error: image '$O/z1-cut' is truncated: it holds $held1 of its $i1size bytes (it ends inside '$(member_at "$O/z1" "$held1")')
HINT: a copy or a write that did not finish: use another copy of the image (nothing was restored)"
run mb restore --from "$O/z1-cut" --to "$SCRATCH/o1"
exit_is 10 "one compressed image cut short: truncated (10)"
is "$(err)" "$one_err" "alone: the image, where it ends, and the hint"
is "$RUN_OUT" "" "alone: nothing listed"
nok "alone: nothing was written" test -e "$SCRATCH/o1"
run mb restore --from "$O/z1-cut" --to "$SCRATCH/o2" --file t/seq-1
exit_is 10 "alone, --file: truncated (10)"
is "$(err)" "$one_err" "alone, --file: the same refusal"
nok "alone, --file: nothing was written" test -e "$SCRATCH/o2"
# cut at a frame's end: no frame cut in two, the same rule
fend=$(perl -e 'open(my $f, "<:raw", $ARGV[0]) or die; local $/; my $b = <$f>;
	my ($n, $d) = unpack("V C", substr($b, -9, 5)); my $es = $d & 0x80 ? 12 : 8;
	my $t = substr($b, length($b) - 9 - $n * $es, $n * $es);
	print unpack("V", substr($t, 0, 4)) + unpack("V", substr($t, $es, 4)), "\n"' "$O/z1")
head -c "$fend" "$O/z1" >"$O/z1-fend"
held2=$(whole "$O/z1" "$fend")
run mb restore --from "$O/z1-fend" --to "$SCRATCH/o3"
exit_is 10 "cut at a frame's end: truncated (10)"
like "$(err)" "^mbackup: error: image '$O/z1-fend' is truncated: it holds $held2 of its $i1size bytes " \
	"cut at a frame's end: the whole frames' bytes"
like "$RUN_ERR" "it ends after a frame at byte $fend;" "the walk says it ends after a frame"
nok "cut at a frame's end: nothing was written" test -e "$SCRATCH/o3"
# only the seek table cut: every frame is whole, the trailer checks every
# file: it restores, exact
head -c $((z1size - 5)) "$O/z1" >"$O/z1-table"
run mb restore --from "$O/z1-table" --to "$SCRATCH/o4"
exit_is 0 "only the seek table cut short: it restores (0)"
ok "byte-exact" diff -r "$SRC" "$SCRATCH/o4"
# through the catalog (restore --backup): refused before the target too
id1=$("$MB" ls --from "$O/z1" --output json 2>/dev/null | jq -r .backup_id)
truncate -s "$cut1" "$O/z1"
run mb restore --backup "$id1" --to "$SCRATCH/o5" --catalog "$CATALOG"
exit_is 10 "restore --backup of a catalog image cut short: truncated (10)"
is "$(err)" "${one_err//z1-cut/z1}" "restore --backup: the same refusal"
nok "restore --backup: nothing was written" test -e "$SCRATCH/o5"
done_testing
