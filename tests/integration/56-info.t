#!/bin/bash
# mbackup info: one run in full from the catalog of real runs on the loop
# fixture: a file backup (taken with the plain --mirror /dev/loopN), a set
# of three devices one of which fails mid-run, a run failed by a fault; the
# JSON names mbackup(8) documents, the text form, and the refusals.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/fixture.sh"
fx_init
fx_setup ext4 1G
mkdir -p "$SRC/d"
head -c $((24 * 1048576)) /dev/urandom >"$SRC/d/big"
for i in $(seq 1 50); do head -c $((i * 100)) /dev/urandom >"$SRC/d/f$i"; done
O=$SCRATCH/out
mkdir -p "$O"
info() { run "$MB" info --catalog "$CATALOG" "$@"; }

run "$MB" info --catalog "$SCRATCH/none.db"
exit_is 12 "no catalog: exit 12"
is "$RUN_ERR" "mbackup: error: no catalog at '$SCRATCH/none.db': No such file or directory
HINT: no backup has run with this catalog yet (see --catalog)" "... with the catalog's path"

# 1: a file backup, the mirror in its plain form
run "$MB" --db none --mirror "$SRC_LOOP" --source "$SRC" --media "file:$O/a.mbi" --catalog "$CATALOG"
exit_is 0 "a backup with --mirror $SRC_LOOP"
info --output json
exit_is 0 "info --output json"
J=$RUN_OUT
is "$(jq -r 'keys_unsorted | join(" ")' <<<"$J")" \
	"id verb status started finished window_ms files bytes exit_code error config phases media tape placements obligations duration_ms stream_ms rate_bytes_per_s error_name bracket bracket_ms mirrors mirror_proofs" \
	"the documented names, in order"
is "$(jq -c .mirror_proofs <<<"$J")" "[]" "a loop mirror keeps no proof of legs (lvm raid1 only)"
is "$(jq -r '[.id, .verb, .status, .exit_code, .error_name, .files] | join(" ")' <<<"$J")" \
	"1 backup complete 0 ok 51" "the run, its result and its files"
is "$(jq -r '.phases | map(.name + ":" + .status) | join(" ")' <<<"$J")" \
	"preflight:ok sync:ok premap:ok quiesce:ok split:ok recheck:ok unquiesce:ok stream:ok finish:ok" \
	"every phase with its status"
is "$(jq -r '[.phases[] | select(.duration_ms | type != "number")] | length' <<<"$J")" 0 \
	"every phase has its duration"
is "$(jq -r '.mirrors | join(",")' <<<"$J")" "loop:$SRC_LOOP" "the mirror in its one form"
is "$(jq -r '.config.mirror | join(",")' <<<"$J")" "$SRC_LOOP" "... and as it was given"
is "$(jq -r '.media | map("\(.device) \(.media) \(.status)") | join(",")' <<<"$J")" \
	"1 file:$O/a.mbi complete" "the media"
is "$(jq -r '.rate_bytes_per_s == (.bytes * 1000 / .stream_ms | floor)' <<<"$J")" true \
	"the rate is the bytes over the stream phase"
is "$(jq -r '.window_ms | type' <<<"$J")" number "the window is recorded"
# (each phase's duration is measured apart, its times rounded to the ms)
is "$(jq -r '.duration_ms > 0 and .duration_ms + 10 >= (.phases | map(.duration_ms) | add)' <<<"$J")" true \
	"the run lasted at least its phases"
is "$(jq -r '.obligations | map("\(.kind):\(.state)") | join(" ")' <<<"$J")" \
	"media:released freeze:released split:released publish:released" "the obligations, all released"
is "$(jq -r '[.tape, .placements, .bracket, .bracket_ms] | map(tostring) | join(" ")' <<<"$J")" \
	"[] [] null null" "no tape, no set, no database bracket"
info
exit_is 0 "info (text)"
like "$RUN_OUT" "^run 1: backup, complete \(exit 0, ok\)
started     [0-9T:.-]+Z
finished    [0-9T:.-]+Z \([0-9]+ ms\)
window      [0-9]+ ms
streamed    51 files, 24\.1 MiB in [0-9]+ ms, [0-9.]+ [KMG]iB/s
mirrors     loop:$SRC_LOOP
media       #1 file:$O/a\.mbi, 24\.2 MiB, complete
phases
  preflight +[0-9]+ ms  ok +source '$SRC' on $SRC_LOOP \(ext4\), mirror loop:$SRC_LOOP, quiesce fsfreeze
" "the text form: the head, the media, the phases"
like "$RUN_OUT" "
obligations
  media file '$O/a\.mbi\.partial': released
  freeze fsfreeze '$SRC_MNT': released
  split loop '[^']*\.mbackup-split-1': released
  publish file '[0-9]+ $O/a\.mbi': released$" "... and the obligations"

# 2: three devices, the second fails mid-run: its items move to the others
mkfifo "$O/fifo"
(head -c 1048576 <"$O/fifo" >/dev/null) &
run fx_backup --media "file:$O/x" --media "pipe:$O/fifo" --media "file:$O/y"
exit_is 0 "a set with a failed device completes"
info --backup 2 --output json
J=$RUN_OUT
is "$(jq -r '.media | map("\(.device):\(.status)") | join(" ")' <<<"$J")" \
	"1:complete 2:failed 3:complete" "the failed device is named"
moved=$(sqlite3 "$CATALOG" "select count(*) from placements where run_id = 2 and planned <> device")
isnt "$moved" 0 "(the catalog moved items off the failed device)"
is "$(jq -r '.placements | map(.moved_in) | add' <<<"$J")" "$moved" \
	"the placements count the items moved in"
is "$(jq -r '.placements | map(.items) | add' <<<"$J")" \
	"$(sqlite3 "$CATALOG" "select count(*) from placements where run_id = 2")" \
	"... and every item placed"
info --backup 2
like "$RUN_OUT" "
media       #1 file:$O/x, [^,]+, complete
            #2 pipe:$O/fifo, [^,]+, failed
            #3 file:$O/y, [^,]+, complete
placements  #1 [0-9]+ items, " "the text form lists the devices and the placements"
like "$RUN_OUT" "[0-9]+ moved in from a failed device" "... with the items moved"

# 3: a run failed by a fault after the premap
run env MBACKUP_FAULT=after-premap:error "$MB" --db none --mirror "loop:$SRC_LOOP" \
	--source "$SRC" --media "file:$O/f.mbi" --catalog "$CATALOG"
exit_is 1 "a fault after the premap fails the run"
info
exit_is 0 "info without --backup shows the newest backup"
like "$RUN_OUT" "^run 3: backup, failed \(exit 1, error\)" "... failed, with its exit code"
like "$RUN_OUT" "
  premap +[0-9]+ ms  ok +[^
]*
obligations" "... the phases it ran, the fault right after the premap"
like "$RUN_OUT" "
error       injected fault at after-premap$" "... and the error"

# list --since / --limit
list_ids() { "$MB" list --output json --catalog "$CATALOG" "$@" | jq -r 'map(.id) | join(" ")'; }
is "$(list_ids)" "3 2 1" "list: every run, newest first"
is "$(list_ids --limit 2)" "3 2" "list --limit 2: the newest two"
is "$(list_ids --since 1h)" "3 2 1" "list --since 1h: the runs of the last hour"
cut=$(jq -r .started <<<"$J" | cut -c1-19) # run 2's start, to the second
is "$(list_ids --since "$cut")" \
	"$(sqlite3 "$CATALOG" "select group_concat(id, ' ') from (select id from runs where started >= '$cut' order by id desc)")" \
	"list --since a time to the second: the runs started since"
like "$(list_ids --since "$cut")" "^3 2( 1)?$" "... run 2 and the later"
is "$(list_ids --since 2999-01-01)" "" "list --since a date to come: none"
is "$(list_ids --since 2000-01-01 --limit 1)" "3" "--since and --limit together"
run "$MB" list --catalog "$CATALOG" --limit 1
is "$(wc -l <<<"$RUN_OUT")" 2 "list --limit 1 (text): the head and one run"
like "$RUN_OUT" "
 +3  failed " "... the newest"
run "$MB" list --catalog "$CATALOG" --since yesterday
exit_is 2 "list --since yesterday: exit 2"
is "$RUN_ERR" "mbackup: error: invalid --since 'yesterday' for 'list'
HINT: give an age (90s, 30m, 36h, 7d) or a UTC time (2026-12-01, 2026-12-01T22:00)" "... named"

# refusals
info --backup 99
exit_is 17 "an unknown run: exit 17"
is "$RUN_ERR" "mbackup: error: no run 99 in catalog '$CATALOG'
HINT: the ids are in the first column of 'mbackup list'" "... named"
info --backup 2x
exit_is 2 "a --backup that is no id: exit 2"
is "$RUN_ERR" "mbackup: error: invalid --backup '2x' for 'info': expected a run id
HINT: the ids are in the first column of 'mbackup list'" "... named"
cp "$CATALOG" "$SCRATCH/empty.db"
sqlite3 "$SCRATCH/empty.db" "delete from runs"
run "$MB" info --catalog "$SCRATCH/empty.db"
exit_is 17 "a catalog without a backup: exit 17"
is "$RUN_ERR" "mbackup: error: no backup in catalog '$SCRATCH/empty.db' yet
HINT: give --backup ID for a run of another command (see mbackup list)" "... named"
run "$MB" info --from x --catalog "$CATALOG"
exit_is 2 "info takes no --from"
done_testing
