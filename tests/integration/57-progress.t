#!/bin/bash
# Progress of the premap, the stream, the restore and the verify: on a terminal (a pseudo-terminal from script(1))
# one line rewritten in place that ends at 100 %; off a terminal nothing in
# a short run; --progress json: objects that parse, whose bytes grow to the
# total the catalog records, to a path or an inherited descriptor; the
# refusals of bad values.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/fixture.sh"
fx_init
fx_setup ext4 1G
mkdir -p "$SRC/d"
for i in 1 2 3; do head -c $((16 * 1048576)) /dev/urandom >"$SRC/d/big$i"; done
for i in $(seq 1 20); do head -c $((i * 1000)) /dev/urandom >"$SRC/d/f$i"; done
O=$SCRATCH/out
mkdir -p "$O"
BK=(--db none --mirror "loop:$SRC_LOOP" --source "$SRC" --catalog "$CATALOG")

# on a terminal: the rewritten line, by default
run script -q -e -c "$(printf '%q ' "$MB" "${BK[@]}" --media "file:$O/tty.mbi")" /dev/null
exit_is 0 "a backup on a terminal exits 0"
lines=$(tr '\r' '\n' <<<"$RUN_OUT" | grep -a '^stream ')
like "$lines" "^stream [0-9.]+ [KMG]?i?B / 48\.[0-9] MiB +[0-9]+% [0-9.]+ [KMG]?i?B/s ETA [-0-9:]+ " \
	"the line: bytes of the total, percent, rate, ETA, file"
like "$(tail -1 <<<"$lines")" "^stream 48\.[0-9] MiB / 48\.[0-9] MiB 100% [0-9.]+ [KMG]?i?B/s ETA 0:00 *$" \
	"the last line is at 100 %"
like "$RUN_OUT" $'100%[^\r\n]*\r?\n[^\r]*phase stream: done' "... and ends before the next log line"
# the premap before it: files and bytes mapped of the set's, its rate
lines=$(tr '\r' '\n' <<<"$RUN_OUT" | grep -a '^premap ')
like "$(tail -1 <<<"$lines")" "^premap 23 / 23 files 48\.[0-9] MiB / 48\.[0-9] MiB 100% [0-9.]+ [KMG]?i?B/s ETA 0:00 *$" \
	"the premap's line: files and bytes mapped of the set's, at 100 %"
like "$RUN_OUT" $'premap 23 / 23 files [^\r\n]*100%[^\r\n]*\r?\n[^\r]*phase premap: done' \
	"... ending before the phase's end"

# not on a terminal: no line in a run shorter than --progress-interval
run fx_backup --media "file:$O/plain.mbi"
exit_is 0 "a backup off a terminal exits 0"
unlike "$RUN_ERR" $'progress|\r' "no progress line, no carriage return"
run fx_backup --media "file:$O/line.mbi" --progress line
like "$RUN_ERR" $'\rstream [^\r]* 100% ' "--progress line off a terminal: the line anyway"
run fx_backup --media "file:$O/log.mbi" --progress log --progress-interval 0
like "$RUN_ERR" " info  progress: stream [0-9.]+ [KMG]?i?B of 48\.[0-9] MiB \([0-9]+%\), [0-9.]+ [KMG]?i?B/s, ETA [-0-9:]+, 'd/[a-z0-9]+'" \
	"--progress log: log lines"
like "$RUN_ERR" " info  progress: premap [0-9]+ of 23 files, [0-9.]+ [KMG]?i?B of 48\.[0-9] MiB \([0-9]+%\), [0-9.]+ [KMG]?i?B/s, ETA [-0-9:]+, 'd/[a-z0-9]+'" \
	"... and the premap's, with the files"

# json to a path, at every chunk
run fx_backup --media "file:$O/json.mbi" --progress json --progress-interval 0 \
	--progress-to "$O/p.json"
exit_is 0 "a backup with --progress json exits 0"
unlike "$RUN_ERR" '"phase"' "... nothing of it on stderr"
total=$("$MB" info --output json --catalog "$CATALOG" | jq .bytes)
ok "every line is one JSON object" jq -e -s 'length > 2 and all(type == "object")' "$O/p.json"
is "$(jq -r -s '[.[].phase] | unique | join(" ")' "$O/p.json")" "premap stream" \
	"the phases: premap, stream"
jq -c 'select(.phase == "stream")' "$O/p.json" >"$O/s.json"
jq -c 'select(.phase == "premap")' "$O/p.json" >"$O/pm.json"
is "$(jq -r -s '[.[] | keys_unsorted | join(",")] | unique | join(" ")' "$O/s.json")" \
	"phase,bytes,total,rate,eta_s,file" "the stream's names: phase, bytes, total, rate, eta_s, file"
is "$(jq -r -s 'map(.total) | unique | map(tostring) | join(",")' "$O/s.json")" "$total" \
	"the total is the bytes the catalog records"
is "$(jq -r -s '[range(1; length) as $i | .[$i].bytes >= .[$i - 1].bytes] | all' "$O/s.json")" true \
	"the bytes grow monotonically"
is "$(jq -r -s '.[-1] | "\(.phase) \(.bytes) \(.eta_s) \(.file)"' "$O/p.json")" "stream $total 0 " \
	"... to the total"
# the premap's: before the stream, one object per file mapped, then the end
is "$(jq -r -s '[.[] | keys_unsorted | join(",")] | unique | join(" ")' "$O/pm.json")" \
	"phase,bytes,total,rate,eta_s,file,files,files_total" \
	"the premap's names add files, files_total"
is "$(jq -r -s 'length' "$O/pm.json")" 24 "... an object per file mapped and the last"
is "$(jq -r -s '.[:-1] | [.[0].files == 1, (range(1; length) as $i |
	.[$i].files == .[$i - 1].files + 1 and .[$i].bytes >= .[$i - 1].bytes)] | all' "$O/pm.json")" \
	true "... one file more each, the bytes growing"
is "$(jq -r -s '.[-1] | "\(.files) \(.files_total) \(.bytes) \(.total) \(.eta_s) \(.file)"' \
	"$O/pm.json")" "23 23 $total $total 0 " "... to the set's files and bytes"
is "$(jq -r -s '[.[:-1][].file | select(startswith("d/big"))] | join(" ")' "$O/pm.json")" \
	"d/big1 d/big2 d/big3" "... naming the file just mapped"
# several devices written at once: one progress over the set, still growing
run fx_backup --media "file:$O/m1.mbi" --media "file:$O/m2.mbi" --media "file:$O/m3.mbi" \
	--progress json --progress-interval 0 --progress-to "$O/multi.json"
exit_is 0 "a backup on three devices with --progress json"
is "$(jq -r -s 'map(select(.phase == "stream")) | [range(1; length) as $i |
	.[$i].bytes >= .[$i - 1].bytes] | all' "$O/multi.json")" true \
	"... its bytes grow monotonically across the writers"
is "$(jq -r -s '.[-1] | "\(.bytes) \(.total)"' "$O/multi.json")" "$total $total" "... to the total"
# json to an inherited descriptor
run bash -c '"$@" 3>"'"$O/fd.json"'"' _ "$MB" "${BK[@]}" --media "file:$O/fd.mbi" --progress json \
	--progress-to fd:3
exit_is 0 "--progress-to fd:3"
is "$(jq -r -s '.[-1].bytes' "$O/fd.json")" "$total" "... writes there"
run fx_backup --media "file:$O/nodir.mbi" --progress json --progress-to "$O/no/such/p.json"
exit_is 0 "a progress file that cannot be opened does not fail the backup"
like "$RUN_ERR" "warn  progress: unable to open '$O/no/such/p.json': No such file or directory; no progress" \
	"... it is a warning"

# restore and verify: the same progress, of what the image's index says
run script -q -e -c "$(printf '%q ' "$MB" restore --from "$O/json.mbi" --to "$O/r-tty")" /dev/null
exit_is 0 "a restore on a terminal exits 0"
lines=$(tr '\r' '\n' <<<"$RUN_OUT" | grep -a '^restore ')
like "$lines" "^restore [0-9.]+ [KMG]?i?B / 48\.[0-9] MiB +[0-9]+% [0-9.]+ [KMG]?i?B/s ETA [-0-9:]+ " \
	"the restore's line: bytes of the total, percent, rate, ETA"
like "$(tail -1 <<<"$lines")" "^restore 48\.[0-9] MiB / 48\.[0-9] MiB 100% [0-9.]+ [KMG]?i?B/s ETA 0:00 *$" \
	"... its last line is at 100 %"
like "$RUN_OUT" $'100%[^\r\n]*\r?\nrestored [0-9]+ entries \\('"$total"' bytes\)' \
	"... and ends before the restore's report"
size=$(stat -c %s "$O/json.mbi")
mib=$(awk -v s="$size" 'BEGIN { printf "%.1f", s / 1048576 }')
run script -q -e -c "$(printf '%q ' "$MB" verify --from "$O/json.mbi")" /dev/null
exit_is 0 "a verify on a terminal exits 0"
lines=$(tr '\r' '\n' <<<"$RUN_OUT" | grep -a '^verify [0-9]')
like "$(tail -1 <<<"$lines")" "^verify $mib MiB / $mib MiB 100% [0-9.]+ [KMG]?i?B/s ETA 0:00 *$" \
	"the verify's line ends at 100 % of the image's bytes"
like "$RUN_OUT" $'100%[^\r\n]*\r?\nverify: ok: ' "... before the verify's report"

run "$MB" restore --from "$O/json.mbi" --to "$O/r-json" --progress json --progress-interval 0 \
	--progress-to "$O/r.json"
exit_is 0 "a restore with --progress json exits 0"
ok "every line of the restore's is one JSON object" \
	jq -e -s 'length > 2 and all(type == "object" and .phase == "restore")' "$O/r.json"
is "$(jq -r -s 'map(.total) | unique | map(tostring) | join(",")' "$O/r.json")" "$total" \
	"... the total is the image's file bytes"
is "$(jq -r -s '[range(1; length) as $i | .[$i].bytes >= .[$i - 1].bytes] | all' "$O/r.json")" true \
	"... the bytes grow monotonically"
is "$(jq -r -s '.[-1] | "\(.bytes) \(.eta_s)"' "$O/r.json")" "$total 0" "... to the total"
is "$(jq -r -s '[.[].file | select(. != null and startswith("d/big"))] | unique | join(" ")' \
	"$O/r.json")" "d/big1 d/big2 d/big3" "... naming the file being restored"
run "$MB" restore --from "$O/json.mbi" --to "$O/r-one" --file d/big2 --progress json \
	--progress-interval 0 --progress-to "$O/r1.json"
exit_is 0 "a restore --file with --progress json exits 0"
is "$(jq -r -s '.[-1] | "\(.bytes) \(.total) \(.file)"' "$O/r1.json")" "16777216 16777216 " \
	"... its total is the file asked for"
run "$MB" verify --from "$O/json.mbi" --progress json --progress-interval 0 --progress-to "$O/v.json"
exit_is 0 "a verify with --progress json exits 0"
is "$(jq -r -s '[range(1; length) as $i | .[$i].bytes >= .[$i - 1].bytes] | all' "$O/v.json")" true \
	"... its bytes grow monotonically"
is "$(jq -r -s '.[-1] | "\(.phase) \(.bytes) \(.total)"' "$O/v.json")" "verify $size $size" \
	"... to the image's size"
is "$(jq -r -s '[.[].file | select(. != null and startswith("d/big"))] | unique | join(" ")' \
	"$O/v.json")" "d/big1 d/big2 d/big3" "... naming the file being read"
run "$MB" verify --from "$O/json.mbi" --progress log --progress-interval 0
like "$RUN_ERR" " info  progress: verify [0-9.]+ [KMG]?i?B of $mib MiB \([0-9]+%\), " \
	"verify --progress log: log lines"
run "$MB" restore --from "$O/json.mbi" --to "$O/r-x" --progress-to "$O/p3.json"
exit_is 2 "restore --progress-to without json: exit 2"
is "$RUN_ERR" "mbackup: error: option '--progress-to' needs --progress json
HINT: the line and the log line go to standard error" "... named"
nok "... and nothing restored" test -e "$O/r-x"

# recover: its undos' waits (a raid1 leg's re-merge; LVM: the guest suites)
# are its progress; a loop split's undo waits for nothing, so it shows none
run env MBACKUP_FAULT=after-split:kill "$MB" "${BK[@]}" --media "file:$O/kill.mbi"
exit_is 137 "a backup killed after the split"
is "$(fx_clones | wc -l)" 1 "... leaves its split clone"
run "$MB" recover --catalog "$CATALOG" --progress json --progress-interval 0 \
	--progress-to "$O/rec.json"
exit_is 0 "recover --progress json exits 0"
is "$(fx_clones)" "" "... the clone is gone"
is "$(cat "$O/rec.json")" "" "... and no progress: nothing was waited for"
run "$MB" recover --catalog "$CATALOG" --progress loud
exit_is 2 "recover --progress loud: exit 2"
is "$RUN_ERR" "mbackup: error: invalid --progress 'loud'
HINT: use auto, line, log, json or none" "... named, with the values"

# refusals
run "$MB" "${BK[@]}" --media "file:$O/x.mbi" --progress loud
exit_is 2 "--progress loud: exit 2"
is "$RUN_ERR" "mbackup: error: invalid --progress 'loud'
HINT: use auto, line, log, json or none" "... named, with the values"
run "$MB" "${BK[@]}" --media "file:$O/x.mbi" --progress-to "$O/p2.json"
exit_is 2 "--progress-to without json: exit 2"
is "$RUN_ERR" "mbackup: error: option '--progress-to' needs --progress json
HINT: the line and the log line go to standard error" "... named"
nok "... and nothing written" test -e "$O/x.mbi"
done_testing
