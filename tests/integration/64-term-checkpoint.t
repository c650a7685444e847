#!/bin/bash
# SIGTERM ends a CHECKPOINT that waits (issue 16, item 6): the postgres
# plugin waits for every statement on the session's socket and on the
# run's stop, and cancels it (PQcancel) when the stop comes.  The wait is
# the server's own: the test stops PostgreSQL's checkpointer (SIGSTOP),
# as storage that hangs would hold it, so the run's start of the backup
# (pg_backup_start, immediate or spread) waits for a checkpoint that does
# not come.  SIGTERM then ends
# the run within seconds: exit 15, the CHECKPOINT cancelled, no mbackup
# session or slot left, the run failed; with the checkpointer back, a
# backup succeeds.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/fixture.sh"
. "$(dirname "$0")/../lib/signals.sh"
fx_pg_available || skip_all "PostgreSQL 15 is not installed (run deploy/setup)"
fx_init
chmod 755 "$SCRATCH"
fx_backing 2G
fx_source ext4 512M
fx_wal_fs 384M
fx_pg_env
HELD=""
trap '[ -n "$HELD" ] && kill -CONT "$HELD"; fx_pg_stop_all; fx_cleanup' EXIT
BOUND=20	# seconds: not a speed assertion, only "it ended"

PORT=$((20000 + RANDOM % 20000))
mkdir -p "$SRC_MNT/pg" "$WAL_MNT/pg"
chown postgres "$SRC_MNT/pg" "$WAL_MNT/pg"
DATA=$SRC_MNT/pg/data
fx_pg_cluster "$DATA"
fx_sql "$PORT" "create table t as select generate_series(1, 100000) as i" ||
	bail_out "unable to fill a table"

# The backup's argv; "${BK[@]}" & gives mbackup's own pid.
BK=("$MB" backup --db postgres --mirror "loop:$SRC_LOOP" --mirror "loop:$WAL_LOOP"
	--catalog "$CATALOG" --pg-conn "port=$PORT")
sessions() {
	fx_sql "$PORT" "select (select count(*) from pg_stat_activity
		where application_name = 'mbackup') || ' session(s), ' ||
		(select count(*) from pg_replication_slots where slot_name like 'mbackup%') || ' slot(s)'"
}

# The run's statement under way: STMT, as pg_stat_activity shows it.
in_statement() { # STMT
	local start=$SECONDS
	while [ $((SECONDS - start)) -le 60 ]; do
		[ "$(fx_sql "$PORT" "select count(*) from pg_stat_activity
			where application_name = 'mbackup' and query = '$1'
			and state = 'active'")" = 1 ] && return 0
		sleep 0.1
	done
	return 1
}

# With the checkpointer stopped, the run's first statement that waits for
# a checkpoint hangs: --checkpoint fast, pg_backup_start(fast => true) (mbackup
# runs no CHECKPOINT of its own in hot mode); spread (the default),
# pg_backup_start(fast => false).  SIGTERM cancels either.
held() { # MODE STMT
	local mode=$1 stmt=$2 pid
	# Stopped in the middle of a checkpoint (the one a cancelled request
	# left pending), the checkpointer may hold a WAL lock, which the run's
	# backend then waits for without taking the cancel: stop it idle.
	fx_sql "$PORT" "checkpoint" >/dev/null || bail_out "unable to run a checkpoint"
	HELD=$(fx_sql "$PORT" "select pid from pg_stat_activity where backend_type = 'checkpointer'")
	for i in $(seq 1 100); do
		[ "$(fx_sql "$PORT" "select wait_event from pg_stat_activity where pid = $HELD")" = \
			CheckpointerMain ] && break
		sleep 0.1
	done
	kill -STOP "$HELD" || bail_out "unable to stop the checkpointer"
	"${BK[@]}" --checkpoint "$mode" --media "file:$SCRATCH/held.mbi" 2>"$SCRATCH/held.err" &
	pid=$!
	FX_PIDS+=($pid)
	ok "$mode: the run waits in '$stmt'" in_statement "$stmt"
	sleep 2
	ok "$mode: ... and still does 2 s later" kill -0 "$pid"
	kill -TERM "$pid"
	ended "$pid" "$BOUND"
	is "$ENDED_RC" 15 "$mode: SIGTERM during it ends the run (exit 15) within $BOUND s"
	is "$(grep '^mbackup: error: ' "$SCRATCH/held.err")" "mbackup: error: interrupted by SIGTERM" \
		"$mode: ... with the signal's message"
	ok "$mode: ... having cancelled it" \
		grep -qF "postgres: '$stmt' cancelled: the run is stopping" "$SCRATCH/held.err"
	is "$(sessions)" "0 session(s), 0 slot(s)" "$mode: no mbackup session or slot is left"
	kill -CONT "$HELD" && HELD=""
	is "$(status_of_last)" "failed" "$mode: list shows the run failed"
	is "$(fx_clones)" "" "$mode: no split clone"
	nok "$mode: no image under its final name" test -e "$SCRATCH/held.mbi"
	nok "$mode: no .partial image" test -e "$SCRATCH/held.mbi.partial"
}
held fast 'SELECT pg_backup_start($1, true)'
is "$(phase_status_of_last quiesce)" "failed" "fast: the quiesce phase failed"
held spread 'SELECT pg_backup_start($1, false)'

run "${BK[@]}" --media "file:$SCRATCH/after.mbi"
exit_is 0 "with the checkpointer back, a backup succeeds"
is "$(status_of_last)" "complete" "... and is complete"
done_testing
