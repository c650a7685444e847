#!/bin/bash
# wal-check and expire against real backups: PostgreSQL 15 on a loop
# mirror archiving through `mbackup wal-push %p`, three hot backups with
# rows committed between them.  wal-check finds the archive whole from each
# backup's start; expire --retain 2 removes the oldest backup (catalog rows
# and image file) and the WAL before the oldest kept backup's start, and
# nothing that backup needs: its image restored with restore_command =
# 'mbackup wal-get %f %p' replays to the newest archived segment and holds
# every row.  A segment removed from the archive: wal-check names it and
# fails.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/fixture.sh"
. "$(dirname "$0")/../lib/wal.sh"
PGBIN=$FX_PGBIN
fx_pg_available || skip_all "PostgreSQL 15 is not installed (run deploy/setup)"
fx_init
chmod 755 "$SCRATCH"
fx_setup ext4 1G
fx_pg_env
trap 'fx_pg_stop_all; fx_cleanup' EXIT
PORT=$((20000 + RANDOM % 20000))
mkdir -p "$SRC_MNT/pg"
chown postgres "$SRC_MNT/pg"
wal_setup "catalog = $CATALOG"
DATA=$SRC_MNT/pg/data
wal_pg_init "$DATA" "$PORT"
fx_sql "$PORT" "create table rows (i int primary key)"

rows() { # FROM TO
	fx_sql "$PORT" "insert into rows select generate_series($1, $2)"
}
backup() { # NAME
	env PGPORT="$PORT" "$MB" --db postgres --mirror "loop:$SRC_LOOP" \
		--media "file:$SCRATCH/out/$1.mbi" --config "$CONF" --log-level warn
}
wait_archived() { wal_wait_archived "$PORT" "$1"; }
# first_wal IMAGE: the first pg_wal segment the image carries (its start).
first_wal() {
	tar -tf "$1" | grep -E '^pg_wal/[0-9A-F]{24}$' | sort | head -1 | cut -d/ -f2
}
archived() { wal_archived "$@"; }

rows 1 100
ok "backup 1" backup b1
rows 101 200
ok "backup 2" backup b2
rows 201 300
ok "backup 3" backup b3
rows 301 400
LAST=$(fx_sql "$PORT" "select pg_walfile_name(pg_current_wal_lsn())")
fx_sql "$PORT" "select pg_switch_wal()" >/dev/null
ok "the archive has caught up ($LAST)" wait_archived "$LAST"
S1=$(first_wal "$SCRATCH/out/b1.mbi")
S2=$(first_wal "$SCRATCH/out/b2.mbi")
like "$S1 $S2" "^0000000100000000000000[0-9A-F]{2} 0000000100000000000000[0-9A-F]{2}$" \
	"each image carries its WAL from its start segment"

BK=$(ls "$ARCH"/0000000100000000/ | grep -E '^[0-9A-F]{24}\.[0-9A-F]{8}\.backup$' | wc -l)
is "$BK" "3" "PostgreSQL archived one .backup file per backup through wal-push"
F=$(ls "$ARCH"/0000000100000000/ | grep -E '\.backup$' | tail -1)
run "$MB" wal-get "$F" "$SCRATCH/label"
exit_is 0 "wal-get fetches a .backup file"
like "$(cat "$SCRATCH/label")" "LABEL: mbackup" "holding the backup's label"

# ---- wal-check: whole
run "$MB" wal-check --output json
exit_is 0 "wal-check: the archive is whole for every backup"
is "$(jq -r '[.backups[].status] | join(" ")' <<<"$RUN_OUT")" "complete complete complete" \
	"three complete backups"
START=$(jq -r '.backups[2].start_lsn' <<<"$RUN_OUT")
is "$(( (0x${START%/*} << 32 | 0x${START#*/}) / 16777216 ))" "$((0x${S1:8:8} * 256 + 0x${S1:16:8}))" \
	"the oldest starts in its first segment ($START)"
ID1=$(jq -r '.backups[2].id' <<<"$RUN_OUT")
is "$START" "$("$MB" list --output json --config "$CONF" | jq -r ".[] | select(.id == $ID1) | .start_lsn")" \
	"at the start LSN its run recorded"
is "$(jq -r '.backups[0].last_segment' <<<"$RUN_OUT")" "$LAST" "checked through the newest segment"
is "$(jq -r '.newest' <<<"$RUN_OUT")" "$LAST" "the newest archived segment"
ok "archived moments ago" test "$(jq -r '.newest_age_s' <<<"$RUN_OUT")" -lt 60
# the catalog's record of the archive (wal_files), brought up to date by wal-check
in_archive() {
	find "$ARCH" -regextype posix-extended -type f \
		-regex '.*/([0-9A-F]{24}|[0-9A-F]{8}\.history)' | wc -l
}
recorded() { sqlite3 "$CATALOG" "select count(*) from wal_files"; }
N_ARCH=$(in_archive)
is "$(recorded)" "$N_ARCH" "wal-check recorded every archived segment and history file ($N_ARCH)"
is "$(sqlite3 "$CATALOG" "select timeline || ' ' || size || ' ' || checksum from wal_files
	where name = '$S1'")" "1 16777216 $(cut -d' ' -f1 "$(archived "$S1").xxh128")" \
	"... with its timeline, size and the sidecar's checksum"
like "$(sqlite3 "$CATALOG" "select archived_at from wal_files where name = '$S1'")" \
	'^20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$' "... and when it was archived"
run "$MB" wal-check
exit_is 0 "wal-check in text"
like "$RUN_OUT" "backup [0-9]+: timeline 1 from 0/[0-9A-F]+: complete through $LAST \(timeline 1\)" \
	"one line per backup"

run "$MB" wal-check --db postgres --pg-conn "host=$SOCK port=$PORT" --output json
exit_is 0 "wal-check asks the database too"
is "$(jq -r '.database.current' <<<"$RUN_OUT")" \
	"$(fx_sql "$PORT" "select pg_walfile_name(pg_current_wal_lsn())")" "the segment it writes"
is "$(jq -r '"\(.database.last_archived) \(.database.behind_segments) \(.database.failed_count) \(.database.failing)"' <<<"$RUN_OUT")" \
	"$LAST 0 0 false" "the last archived, none behind, no failure"
run "$MB" wal-check --db postgres --pg-conn "host=$SOCK port=$PORT"
like "$RUN_OUT" "database: writing [0-9A-F]{24}, last archived $LAST: 0 segment\(s\) behind" "in text"
run "$MB" wal-check --db postgres --pg-conn "host=$SCRATCH/nowhere port=1"
exit_is 0 "an unreachable database does not fail the archive's check"
like "$RUN_ERR" "warn  wal-check: unable to ask PostgreSQL how far behind the archive is: connection to server on socket" "it warns"

run "$MB" list --config "$CONF"
exit_is 0 "list with the archive configured"
like "$RUN_OUT" "archive '$ARCH': [0-9]+ segment\(s\) of 16777216 bytes, 0 partial, 0 history file\(s\)
newest $LAST, archived [0-9]+ s ago" "ends with the archive's state"
is "$("$MB" list --config "$CONF" --output json | jq -r type)" "array" "its JSON stays the array of runs"

# ---- expire --retain 2
IDS=$("$MB" list --output json --config "$CONF" | jq -r '[.[].id] | sort | join(" ")')
run "$MB" expire --retain 2
exit_is 0 "expire --retain 2"
is "$RUN_OUT" "expire: 2 complete backup(s) kept, 1 run(s) expired" "says what it did"
ok "the oldest image file is removed" test ! -e "$SCRATCH/out/b1.mbi"
ok "the kept images are there" test -s "$SCRATCH/out/b2.mbi" -a -s "$SCRATCH/out/b3.mbi"
is "$("$MB" list --output json --config "$CONF" | jq -r '[.[].id] | sort | join(" ")')" \
	"${IDS#* }" "the oldest run is gone from the catalog"
ok "WAL before the oldest kept backup's start is removed ($S1)" test ! -e "$(archived "$S1")"
ok "its sidecar too" test ! -e "$(archived "$S1").xxh128"
ok "the kept backup's start segment stays ($S2)" test -e "$(archived "$S2")"
is "$(sqlite3 "$CATALOG" "select count(*) from wal_files where name = '$S1'")" "0" \
	"expire dropped the removed WAL from the catalog's record"
is "$(recorded)" "$(in_archive)" "... which matches the archive again"
run "$MB" wal-check
exit_is 0 "wal-check: still whole for the kept backups"
run "$MB" expire --retain 2
exit_is 0 "expire again"
is "$RUN_OUT" "expire: 2 complete backup(s) kept, 0 run(s) expired" "removes nothing more"

# ---- the oldest kept backup replays through the archive
REST=$SCRATCH/rest/data
run "$MB" restore --from "$SCRATCH/out/b2.mbi" --to "$REST"
exit_is 0 "backup 2 restores"
chown -R postgres "$SCRATCH/rest" && chmod 700 "$REST"
touch "$REST/recovery.signal"
cat >>"$REST/postgresql.auto.conf" <<EOF
restore_command = '$MB wal-get %f %p'
recovery_target_action = promote
EOF
PORT2=$((PORT + 1))
fx_pg_start "$REST" "$PORT2" || diag "$(tail -20 "$SOCK/log-$PORT2")"
for i in $(seq 1 300); do
	[ "$(fx_sql "$PORT2" "select pg_is_in_recovery()" 2>/dev/null)" = f ] && break
	sleep 0.1
done
is "$(fx_sql "$PORT2" "select pg_is_in_recovery()")" "f" "it replays the archive and promotes"
is "$(fx_sql "$PORT2" "select count(*), max(i) from rows")" "400|400" \
	"every row committed before the last archived segment is there"
unlike "$(cat "$SOCK/log-$PORT2")" "mbackup: error" "wal-get said nothing alarming in its log"

# ---- the promoted copy is timeline 2, archived into the same archive
for i in $(seq 1 100); do [ -e "$ARCH/00000002.history" ] && break; sleep 0.1; done
ok "its 00000002.history is archived through wal-push" test -s "$ARCH/00000002.history"
run "$MB" wal-get 00000002.history "$SCRATCH/hist"
ok "wal-get returns it as PostgreSQL wrote it" cmp -s "$SCRATCH/hist" "$REST/pg_wal/00000002.history"
fx_sql "$PORT2" "insert into rows select generate_series(401, 500)"
T2=$(fx_sql "$PORT2" "select pg_walfile_name(pg_current_wal_lsn())")
fx_sql "$PORT2" "select pg_switch_wal()" >/dev/null
for i in $(seq 1 300); do [ -e "$(archived "$T2")" ] && break; sleep 0.1; done
like "$T2" "^00000002" "it writes timeline 2 ($T2)"
ok "whose segments are archived" test -e "$(archived "$T2")"
run "$MB" wal-check --output json
exit_is 0 "wal-check follows the latest timeline"
is "$(jq -r '[.backups[] | "\(.target_timeline) \(.last_segment)"] | unique | join(",")' <<<"$RUN_OUT")" \
	"2 $T2" "both backups through timeline 2's newest segment"
is "$(jq -c '.history_timelines' <<<"$RUN_OUT")" "[2]" "the history files are counted"
run "$MB" expire --retain 2
exit_is 0 "expire with two timelines"
ok "keeps timeline 2's segments" test -e "$(archived "$T2")"
ok "and its history" test -s "$ARCH/00000002.history"

# ---- a backup holding the catalog lock: the archive goes on, expire waits its turn
# (held through a fd of this shell, closed below: a flock(1) child killed
# would leave its command holding the lock)
exec {LOCKFD}>>"$CATALOG.lock"
flock -x "$LOCKFD"
fx_sql "$PORT" "insert into rows values (1000)"
N=$(fx_sql "$PORT" "select pg_walfile_name(pg_current_wal_lsn())")
fx_sql "$PORT" "select pg_switch_wal()" >/dev/null
ok "PostgreSQL archives while the lock is held ($N)" wait_archived "$N"
run timeout 10 "$MB" wal-check
exit_is 0 "wal-check does not wait for the lock"
run timeout 10 "$MB" expire --retain 2
exit_is 4 "expire refuses while a run holds the lock"
like "$RUN_ERR" "another mbackup run holds the lock '$CATALOG.lock'" "and says so"
exec {LOCKFD}>&-
ok "the lock is free again once its holder lets go" flock -n "$CATALOG.lock" true

# ---- a segment removed: wal-check names it
GAP=$(ls "$ARCH/${S2:0:16}" | grep -E '^[0-9A-F]{24}$' | sort | sed -n 3p)
rm "$(archived "$GAP")" "$(archived "$GAP").xxh128"
run "$MB" wal-check
exit_is 19 "wal-check: a gap fails"
like "$RUN_OUT" "backup [0-9]+: timeline 1 from 0/[0-9A-F]+: gap, $GAP is missing" "the backup's line names it"
like "$RUN_ERR" "^mbackup: error: WAL archive '$ARCH' has a gap: '$GAP' is missing \(backup [0-9]+ needs it\)
HINT: a restore of that backup cannot replay past it; take a new backup$" "one error line and a hint"
run "$MB" wal-check --output json
is "$(jq -r '[.backups[].first_missing | select(. != null)] | unique | join(" ")' <<<"$RUN_OUT")" "$GAP" \
	"json: first_missing for each backup that needs it"
run "$MB" wal-get "$GAP" "$SCRATCH/x"
exit_is 17 "wal-get of it: not found"

done_testing
