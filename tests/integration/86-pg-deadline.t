#!/bin/bash
# The database bracket bounded by the freeze's deadline (issue 16, item 8):
# mbackup hangs inside the window with PostgreSQL 15 in backup mode (hot)
# or holding its temporary slot (freeze); when --freeze-timeout passes the
# guard thaws and ends the held session from a session of its own, so no
# backup session and no mbackup slot is left while mbackup still hangs,
# and pg_backup_start works in a fresh session.  Then recover marks the
# run failed, and a normal backup works.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/fixture.sh"
PGBIN=/usr/lib/postgresql/15/bin
[ -x "$PGBIN/initdb" ] || skip_all "PostgreSQL 15 is not installed (run deploy/setup)"
fx_init
chmod 755 "$SCRATCH"
fx_backing 3G
fx_source ext4 1G
TIMEOUT=4

SOCK=$SCRATCH/sock
mkdir -p "$SOCK" "$SRC_MNT/pg"
chown postgres "$SOCK" "$SRC_MNT/pg"
as_pg() { runuser -u postgres -- "$@"; }
PORT=$((20000 + RANDOM % 20000))
export PGHOST=$SOCK PGUSER=postgres PGDATABASE=postgres PGPORT=$PORT
DATA=$SRC_MNT/pg/data
stop_pg() { as_pg "$PGBIN/pg_ctl" -D "$DATA" -m immediate stop >/dev/null 2>&1; }
trap 'rc=$?; stop_pg; (exit $rc); fx_cleanup' EXIT
as_pg "$PGBIN/initdb" -A trust -D "$DATA" >/dev/null || bail_out "initdb failed"
as_pg "$PGBIN/pg_ctl" -D "$DATA" -w -l "$SOCK/log" \
	-o "-p $PORT -k $SOCK -c listen_addresses='' -c checkpoint_completion_target=0" start >/dev/null ||
	bail_out "postgres did not start: $(tail -5 "$SOCK/log")"
as_pg "$PGBIN/pgbench" -i -s 2 -q postgres >/dev/null 2>&1 || bail_out "pgbench -i failed"

# A query, bounded (nothing of it may hang the test).
sql() { timeout -k 1 10 psql -X -q -At -c "$1"; }
sessions() { sql "select count(*) from pg_stat_activity where application_name = 'mbackup'"; }
slots() { sql "select count(*) from pg_replication_slots where slot_name like 'mbackup\_%'"; }

wait_for() { # FILE REGEX SECONDS
	local i
	for ((i = 0; i < $3 * 10; i++)); do
		grep -Eq "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# until_gone SECONDS: no mbackup session and no mbackup slot (bounded);
# prints the seconds it took.
until_gone() {
	local i
	for ((i = 0; i <= $1 * 10; i++)); do
		if [ "$(sessions)" = 0 ] && [ "$(slots)" = 0 ]; then
			echo $((i / 10))
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# hang_case NAME POINT [OPTIONS...]
hang_case() {
	local name=$1 point=$2 pid took backend
	shift 2
	MBACKUP_FAULT=$point:hang "$MB" --db postgres --mirror "loop:$SRC_LOOP" \
		--media "file:$SCRATCH/out/$name.mbi" --catalog "$CATALOG" --force \
		--freeze-timeout "$TIMEOUT" --log-file "$SCRATCH/$name.log" "$@" 2>"$SCRATCH/$name.err" &
	pid=$!
	FX_PIDS+=($pid)
	wait_for "$SCRATCH/$name.err" "injecting fault 'hang' at $point" 30 ||
		bail_out "$name: mbackup did not reach $point: $(tail -3 "$SCRATCH/$name.err")"
	backend=$(sed -n 's/.*(backend \([0-9]*\)).*/\1/p' "$SCRATCH/$name.err" | head -1)
	is "$(sessions)/$(slots)" "1/1" "$name: while mbackup hangs its session and its slot are there"
	took=$(until_gone $((TIMEOUT + 8)))
	ok "$name: after the deadline no mbackup session and no slot is left (${took:-never} s)" \
		test -n "$took"
	ok "$name: ... while mbackup still hangs" kill -0 "$pid"
	# (the line follows pg_terminate_backend's return: wait for it, bounded)
	wait_for "$SCRATCH/$name.err" "ended the session of backend" 10
	like "$(cat "$SCRATCH/$name.err")" \
		"postgres: ended the session of backend $backend at the guard's deadline" \
		"$name: the guard says which session it ended"
	like "$(cat "$SCRATCH/$name.log")" \
		"guard: the window passed --freeze-timeout \\($TIMEOUT s\\): thawed 1 filesystem.*postgres: ended the session of backend $backend at the guard's deadline" \
		"$name: ... in the log file too"
	is "$(timeout -k 1 10 psql -X -q -At -c "select pg_backup_start('probe', true) is not null" \
		-c "select lsn is not null from pg_backup_stop(false)" 2>&1 | tr '\n' ' ')" "t t " \
		"$name: pg_backup_start and pg_backup_stop work in a fresh session"
	ok "$name: the data filesystem is writable" test -n "$(fx_wait_writable "$DATA" 5)"
	kill -KILL "$pid"
	{ wait "$pid"; } 2>/dev/null
	run "$MB" recover --catalog "$CATALOG"
	exit_is 0 "$name: recover exits 0"
	is "$("$MB" list --output json --catalog "$CATALOG" | jq -r '.[0].status')" "failed" \
		"$name: the run is marked failed"
	is "$(fx_clones)" "" "$name: no split clone is left"
}

# ---- 1. hot: backup mode and the slot, hanging after the split
hang_case hot after-split
# ---- 2. freeze: the slot, hanging in the window before the split
hang_case freeze in-window --mode freeze

# ---- a normal backup afterwards, with pgbench writing
fx_bg "$PGBIN/pgbench" -n -c 2 -T 20 postgres >/dev/null 2>&1
run "$MB" --db postgres --mirror "loop:$SRC_LOOP" --media "file:$SCRATCH/out/after.mbi" \
	--catalog "$CATALOG"
exit_is 0 "a normal hot backup after the hangs"
is "$(sessions)/$(slots)" "0/0" "... and it leaves no session and no slot"
run "$MB" verify --from "$SCRATCH/out/after.mbi"
exit_is 0 "... and its image verifies"
done_testing
