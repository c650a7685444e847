#!/bin/bash
# Restore to a point in time, PostgreSQL 15 for real on a loop mirror: a
# cluster archiving through `mbackup wal-push`, a writer committing
# numbered rows (each with its xid and the WAL position before it; commit
# times from track_commit_timestamp), backups B1 and B2 taken while it
# writes.  Restores to a time between B1 and B2, a time after B2, an LSN,
# an xid (from --from B1), a restore point and --target latest: each copy
# starts, promotes, passes pg_amcheck and holds exactly the rows committed
# up to its target.  Then timeline 2: a copy promoted into the archive, a
# backup B3 of it, restores to points on timeline 2 (from B3, and from B1
# across the switch) and on timeline 1 after the switch.  A segment taken
# out of the archive, bad targets and a target before the oldest backup
# are refused before anything is written, with exact messages and codes.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/fixture.sh"
PGBIN=$FX_PGBIN
fx_pg_available || skip_all "PostgreSQL 15 is not installed (run deploy/setup)"
fx_init
chmod 755 "$SCRATCH"
fx_backing 3G
fx_source ext4 1G
fx_pg_env
trap 'rc=$?; fx_pg_stop_all; (exit $rc); fx_cleanup' EXIT
PORT=$((20000 + RANDOM % 20000))
NEXT_PORT=$((PORT + 1))
ARCH=$SCRATCH/archive
mkdir -p "$ARCH" "$SRC_MNT/pg" "$SCRATCH/r"
chown postgres "$ARCH" "$SRC_MNT/pg"

# ---- the cluster, archiving every segment through wal-push
DATA=$SRC_MNT/pg/data
fx_as_pg "$PGBIN/initdb" -A trust -D "$DATA" >/dev/null || bail_out "initdb failed"
cat >>"$DATA/postgresql.conf" <<EOF
archive_mode = on
archive_command = '$MB wal-push --wal-archive $ARCH %p'
track_commit_timestamp = on
EOF
fx_pg_start "$DATA" "$PORT" || bail_out "postgres did not start: $(tail -5 "$SOCK/log-$PORT")"
fx_sql "$PORT" "create table ticks (id integer primary key, x xid8, pos pg_lsn)"

PAUSE=$SCRATCH/pause PAUSED=$SCRATCH/paused STOP=$SCRATCH/stop
# writer PORT FIRST: one transaction per row until $STOP; holds still
# (having said so in $PAUSED) while $PAUSE exists.
writer() {
	local port=$1 i=$2
	while [ ! -e "$STOP" ]; do
		if [ -e "$PAUSE" ]; then
			touch "$PAUSED"
			sleep 0.05
			continue
		fi
		psql -X -q -p "$port" -c "insert into ticks values ($i, pg_current_xact_id(),
			pg_current_wal_insert_lsn())" 2>/dev/null || break
		i=$((i + 1))
	done
}
# hold: the writer stands still between two rows.
hold() {
	local i
	rm -f "$PAUSED"
	touch "$PAUSE"
	for i in $(seq 1 200); do [ -e "$PAUSED" ] && return 0; sleep 0.05; done
	bail_out "the writer does not pause"
}
release() { rm -f "$PAUSE" "$PAUSED"; }
stop_writer() { touch "$STOP"; wait "$WRITER" 2>/dev/null; rm -f "$STOP"; }
maxid() { fx_sql "$1" "select max(id) from ticks"; }
backup() { # PORT IMAGE
	"$MB" --db postgres --pg-conn "host=$SOCK port=$1 user=postgres" --mirror "loop:$SRC_LOOP" \
		--media "file:$SCRATCH/out/$2" --catalog "$CATALOG" 2>&1 | tail -1
}
last_id() { "$MB" list --output json --catalog "$CATALOG" | jq '.[0].id'; }
# ts PORT ID: the commit time of row ID, in UTC with microseconds.
ts() {
	fx_sql "$1" "select to_char(pg_xact_commit_timestamp(xmin) at time zone 'UTC',
		'YYYY-MM-DD HH24:MI:SS.US') || '+00' from ticks where id = $2"
}
# digest PORT [WHERE]: the ids of the rows, in order, hashed.
digest() {
	fx_sql "$1" "select count(*) || ' ' || coalesce(max(id), 0) || ' ' ||
		md5(coalesce(string_agg(id::text, ',' order by id), '')) from ticks ${2:+where $2}"
}
wait_archived() { # PORT: everything written so far
	local seg i
	seg=$(fx_sql "$1" "select pg_walfile_name(pg_current_wal_lsn())")
	fx_sql "$1" "select pg_switch_wal()" >/dev/null
	for i in $(seq 1 300); do
		[ "$(fx_sql "$1" "select last_archived_wal >= '$seg' from pg_stat_archiver")" = t ] &&
			return 0
		sleep 0.1
	done
	return 1
}

fx_bg writer "$PORT" 1
WRITER=$!
sleep 1
is "$(backup "$PORT" b1.mbi | grep -c 'backup [0-9]* complete')" "1" "B1 taken while rows are written"
B1=$(last_id)
sleep 1.5
K1=$(maxid "$PORT")			# a time between B1 and B2
sleep 0.5
hold
XID_ROW=$(($(maxid "$PORT") + 1))	# an xid between B1 and B2: of the next row
LSN_ROW=$((XID_ROW + 3))		# an LSN: just before that row
release
# Both rows must be written before B2 starts (a loaded machine's writer
# may take longer than the pause below for three rows).
for i in $(seq 1 600); do [ "$(maxid "$PORT")" -ge "$LSN_ROW" ] && break; sleep 0.1; done
sleep 1.5
is "$(backup "$PORT" b2.mbi | grep -c 'backup [0-9]* complete')" "1" "B2 taken while rows are written"
B2=$(last_id)
sleep 1.5
K2=$(maxid "$PORT")			# a time after B2
sleep 0.5
hold
NAME_ROW=$(maxid "$PORT")		# a restore point after B2
fx_sql "$PORT" "select pg_create_restore_point('before_upgrade')" >/dev/null
release
sleep 0.5
MID_ROW=$(maxid "$PORT")		# its segment is taken out later: one follows it
fx_sql "$PORT" "select pg_switch_wal()" >/dev/null
sleep 1
stop_writer
ok "the WAL up to the last row is archived" wait_archived "$PORT"
ALL=$(maxid "$PORT")
note "rows 1..$ALL; K1=$K1 xid row $XID_ROW lsn row $LSN_ROW, K2=$K2, restore point after $NAME_ROW"

B1J=$("$MB" list --output json --catalog "$CATALOG" | jq -c ".[] | select(.id == $B1)")
like "$(jq -r .start_lsn <<<"$B1J")/$(jq -r .stop_lsn <<<"$B1J")" '^[0-9A-F]+/[0-9A-F]+/[0-9A-F]+/[0-9A-F]+$' \
	"list shows B1's start and stop LSN"
is "$(jq -r .timeline <<<"$B1J")" "1" "... its timeline"
like "$(jq -r .consistent_at <<<"$B1J")" '^20[0-9-]+T[0-9:]+\.[0-9]{6}Z$' "... when it is consistent from"
is "$(jq -r .end_time <<<"$B1J")" "$(jq -r .finished <<<"$B1J")" "... and when it ended"

# restore_to NAME ARGS...: restores into $SCRATCH/r/NAME; RUN_* as run sets them.
restore_to() {
	local name=$1
	shift
	run "$MB" restore --to "$SCRATCH/r/$name" --catalog "$CATALOG" --wal-archive "$ARCH" "$@"
}
# start_copy NAME PORT [archive]: starts the restored copy, waits until it
# has promoted; without "archive" it archives nothing (it must not add a
# timeline to the archive the later restores read).
start_copy() {
	local dir=$1 i arch=off
	case $dir in /*) ;; *) dir=$SCRATCH/r/$dir ;; esac
	[ "${3:-}" = archive ] && arch=on
	chown -R postgres "$dir" && chmod 700 "$dir"
	fx_as_pg "$PGBIN/pg_ctl" -D "$dir" -w -t 120 -l "$SOCK/log-$2" \
		-o "-p $2 -k $SOCK -c listen_addresses='' -c archive_mode=$arch" start >/dev/null ||
		return 1
	FX_PG_DIRS+=("$dir")
	for i in $(seq 1 600); do
		[ "$(fx_sql "$2" "select pg_is_in_recovery()")" = f ] && return 0
		sleep 0.1
	done
	return 1
}
stop_copy() {
	fx_as_pg "$PGBIN/pg_ctl" -D "$SCRATCH/r/$1" -m fast stop >/dev/null
	rm -rf "$SCRATCH/r/$1"
}
# check_copy NAME WHAT REFPORT WHERE: the copy starts, promotes, passes
# pg_amcheck and holds exactly the reference rows WHERE selects.
check_copy() {
	local name=$1 what=$2 ref=$3 where=$4 port=$NEXT_PORT
	NEXT_PORT=$((NEXT_PORT + 1))
	if ! start_copy "$name" "$port"; then
		fail "$what: the copy starts and promotes" "$(tail -5 "$SOCK/log-$port")"
		fail "$what: pg_amcheck finds nothing wrong"
		fail "$what: exactly the rows up to the target"
		return
	fi
	pass "$what: the copy starts and promotes"
	run fx_as_pg "$PGBIN/pg_amcheck" -h "$SOCK" -p "$port" --all --install-missing --heapallindexed
	exit_is 0 "$what: pg_amcheck finds nothing wrong"
	is "$(digest "$port")" "$(digest "$ref" "$where")" "$what: exactly the rows up to the target"
	stop_copy "$name"
}

# ---- timeline 1
T1=$(ts "$PORT" "$K1")
restore_to t1 --target-time "$T1"
exit_is 0 "restore to a time between B1 and B2"
like "$RUN_ERR" "starting from backup $B1 " "... starts from B1"
like "$(cat "$SCRATCH/r/t1/postgresql.auto.conf")" \
	"restore_command = '''[^']*/mbackup'' ''wal-get'' ''--wal-archive'' ''$ARCH'' %f %p'" \
	"... restore_command is this mbackup's wal-get on the same archive, quoted"
ok "... recovery.signal is there" test -e "$SCRATCH/r/t1/recovery.signal"
check_copy t1 "time between B1 and B2" "$PORT" "pg_xact_commit_timestamp(xmin) <= '$T1'"

T2=$(ts "$PORT" "$K2")
restore_to t2 --target-time "$T2"
exit_is 0 "restore to a time after B2"
like "$RUN_ERR" "starting from backup $B2 " "... starts from B2"
check_copy t2 "time after B2" "$PORT" "pg_xact_commit_timestamp(xmin) <= '$T2'"

LSN=$(fx_sql "$PORT" "select pos from ticks where id = $LSN_ROW")
restore_to lsn --target-lsn "$LSN"
exit_is 0 "restore to an LSN between B1 and B2"
like "$RUN_ERR" "starting from backup $B1 " "... starts from B1"
check_copy lsn "LSN" "$PORT" "id < $LSN_ROW"

XID=$(fx_sql "$PORT" "select x from ticks where id = $XID_ROW")
cp "$SCRATCH/out/b1.mbi" "$SCRATCH/copy-of-b1.mbi"
restore_to xid --target-xid "$XID" --from "$SCRATCH/copy-of-b1.mbi"
exit_is 0 "restore to an xid between B1 and B2, from a copy of B1's image"
like "$RUN_ERR" "starting from backup $B1 " "... starts from the backup the image holds"
rm -f "$SCRATCH/copy-of-b1.mbi"
check_copy xid "xid" "$PORT" "id <= $XID_ROW"

restore_to name --target-name before_upgrade
exit_is 0 "restore to a restore point"
like "$RUN_ERR" "cannot be placed in time: starting from the newest backup, $B2 " \
	"... from the newest backup, saying why"
check_copy name "restore point" "$PORT" "id <= $NAME_ROW"

restore_to latest --target latest --output json
exit_is 0 "restore to the end of the archive"
is "$(jq -c '[.backup, .target, .target_value, .timeline]' <<<"$RUN_OUT")" "[$B2,\"latest\",null,1]" \
	"... its JSON report names the backup, the target and the timeline"
check_copy latest "latest" "$PORT" "true"

# ---- timeline 2: a copy at T1 promoted into the archive, written to, backed up
TL2_DIR=$SRC_MNT/pg/tl2
run "$MB" restore --to "$TL2_DIR" --catalog "$CATALOG" --wal-archive "$ARCH" --target-time "$T1"
exit_is 0 "a copy at T1 restored onto the mirror"
PORT2=$NEXT_PORT
NEXT_PORT=$((NEXT_PORT + 1))
ok "it starts and promotes, archiving" start_copy "$TL2_DIR" "$PORT2" archive
is "$(fx_sql "$PORT2" "select timeline_id from pg_control_checkpoint()")" "2" "it is on timeline 2"
fx_sql "$PORT2" "checkpoint" >/dev/null
fx_bg writer "$PORT2" 1000001
WRITER=$!
sleep 1.5
K3=$(maxid "$PORT2")			# a point on timeline 2 before B3
sleep 0.5
is "$(backup "$PORT2" b3.mbi | grep -c 'backup [0-9]* complete')" "1" "B3 taken on timeline 2"
B3=$(last_id)
is "$("$MB" list --output json --catalog "$CATALOG" | jq ".[0].timeline")" "2" "... and listed so"
sleep 1.5
K4=$(maxid "$PORT2")			# a point on timeline 2 after B3
sleep 0.5
stop_writer
# (the first segment of timeline 2 begins with pages of timeline 1:
# PostgreSQL copies it up to the switch; wal-push takes it)
ok "timeline 2's WAL is archived" wait_archived "$PORT2"
ok "00000002.history is archived" test -s "$ARCH/00000002.history"

T4=$(ts "$PORT2" "$K4")
restore_to t4 --target-time "$T4"
exit_is 0 "restore to a time on timeline 2 after B3"
like "$RUN_ERR" "starting from backup $B3 " "... starts from B3"
check_copy t4 "timeline 2 after B3" "$PORT2" "pg_xact_commit_timestamp(xmin) <= '$T4'"

T3=$(ts "$PORT2" "$K3")
restore_to t3 --target-time "$T3"
exit_is 0 "restore to a time on timeline 2 before B3"
like "$RUN_ERR" "backup $B2 \\(timeline 1\\) is not on the path of timeline 2" "... B2 is passed over"
like "$RUN_ERR" "starting from backup $B1 " "... starts from B1, across the switch"
check_copy t3 "timeline 2 before B3" "$PORT2" "pg_xact_commit_timestamp(xmin) <= '$T3'"

restore_to t2b --target-time "$T2" --target-timeline 1
exit_is 0 "restore to a time on timeline 1 after the switch (--target-timeline 1)"
like "$RUN_ERR" "starting from backup $B2 " "... starts from B2"
check_copy t2b "timeline 1 after the switch" "$PORT" "pg_xact_commit_timestamp(xmin) <= '$T2'"

# ---- a segment missing from the archive
LAST=$(fx_sql "$PORT" "select pg_walfile_name(pos) from ticks where id = $MID_ROW")
mv "$ARCH/${LAST:0:16}/$LAST" "$SCRATCH/held"
restore_to gap --target latest --target-timeline 1
exit_is 17 "a restore past a segment taken out of the archive is refused"
is "$(grep '^mbackup: error' <<<"$RUN_ERR")" "mbackup: error: WAL archive '$ARCH' lacks '$LAST', which a restore from backup $B2 to target latest replays" \
	"... naming the segment"
ok "... before anything is written" test ! -e "$SCRATCH/r/gap"
mv "$SCRATCH/held" "$ARCH/${LAST:0:16}/$LAST"

# ---- bad targets: one line, the exit code, nothing written
bad() { # CODE MESSAGE ARGS...
	local code=$1 msg=$2
	shift 2
	restore_to bad "$@"
	exit_is "$code" "refused: $*"
	is "$(grep '^mbackup: error' <<<"$RUN_ERR")" "mbackup: error: $msg" "... $msg"
	ok "... nothing written" test ! -e "$SCRATCH/r/bad"
}
bad 2 "invalid --target-time '2026-11-29 14:02:59': it has no time zone" \
	--target-time '2026-11-29 14:02:59'
bad 2 "invalid --target-time 'yesterday': expected YYYY-MM-DD HH:MM:SS and a zone" \
	--target-time yesterday
bad 2 "invalid --target-lsn '5A000028': expected X/Y in hex" --target-lsn 5A000028
bad 2 "invalid --target-xid 'x12': expected a transaction id" --target-xid x12
bad 2 "options '--target-time' and '--target-lsn' exclude each other" \
	--target-time "$T1" --target-lsn 0/1
bad 2 "invalid --target 'earliest'" --target earliest
bad 2 "invalid --target-action 'explode'" --target latest --target-action explode
bad 17 "target time '2001-01-01 00:00:00+00' lies before the oldest backup in catalog '$CATALOG'" \
	--target-time '2001-01-01 00:00:00+00'
like "$RUN_ERR" "HINT: the oldest is backup $B1 \\(consistent from [0-9T:.-]+Z, stop LSN [0-9A-F/]+, timeline 1\\); choose a target from then on" \
	"... the hint names the oldest backup"
B2J=$("$MB" list --output json --catalog "$CATALOG" | jq -c ".[] | select(.id == $B2)")
bad 17 "target time '$T1' lies before backup $B2 (consistent from $(jq -r .consistent_at <<<"$B2J"), stop LSN $(jq -r .stop_lsn <<<"$B2J"), timeline 1), taken to '$SCRATCH/out/b2.mbi', or on a timeline it is not on" \
	--target-time "$T1" --from "$SCRATCH/out/b2.mbi"
bad 2 "no WAL archive given for 'restore'" --target latest --wal-archive ''
bad 2 "a restore to a point in time cannot read its image from standard input" \
	--target latest --from -
mv "$SCRATCH/out/b1.mbi" "$SCRATCH/b1.mbi.kept"
cp "$SCRATCH/out/b2.mbi" "$SCRATCH/out/b1.mbi"
bad 17 "image '$SCRATCH/out/b1.mbi' holds backup $B2, not backup $B1 the catalog says went there" \
	--target-time "$T1"
mv "$SCRATCH/b1.mbi.kept" "$SCRATCH/out/b1.mbi"
bad 2 "invalid --target-inclusive 'maybe'" --target-time "$T1" --target-inclusive maybe
bad 2 "options '--file' and '--target-...' exclude each other" --target latest --file base
bad 12 "unable to open catalog '$SCRATCH/nocat/catalog.db': No such file or directory" \
	--target latest --catalog "$SCRATCH/nocat/catalog.db"
ok "... and creates none" test ! -e "$SCRATCH/nocat"
done_testing
