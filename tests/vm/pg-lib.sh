# tests/vm/pg-lib.sh - PostgreSQL 15 helpers shared by tests/vm/pg-suite.sh,
# tests/integration/91-pg-vm.t, demo/demo and bench/window.  Sourced (bash).
#
# Host side:
#   pg_template SCALE   prints the path of a cached, cleanly shut down data
#                       directory (initdb, pgbench -i -s SCALE, table ticks),
#                       built once on the host under $VM_CACHE: initdb and
#                       pgbench -i are minutes under TCG, seconds here.  The
#                       guest sees the host's / read-only, so it copies it.
# Guest (or host) side, everything as the postgres user:
#   pg_start DIR PORT / pg_stop DIR     private socket dir $PG_SOCK, no TCP
#   pg_sql PORT SQL [DB]                psql -At, one value per line
#   pg_balances PORT                    "a b t d" sums of the pgbench tables
#   tick_start PORT FILE / tick_stop    the row writer (see tick_start)
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PG_SOCK=${PG_SOCK:-/run/mbpg}
PG_TEMPLATE_VERSION=2
TICK_PIDS=()

as_pg() { runuser -u postgres -- "$@"; }

pg_template() {
	local scale=$1 cache=${VM_CACHE:-/var/tmp/mbackup-vm}
	local dir=$cache/pg15-s$scale-v$PG_TEMPLATE_VERSION tmp port=$((55000 + RANDOM % 1000))
	if [ -f "$dir/PG_VERSION" ] && [ ! -e "$dir/postmaster.pid" ]; then
		echo "$dir"
		return 0
	fi
	mkdir -p "$cache" && rm -rf "$dir.tmp" && tmp=$dir.tmp && mkdir "$tmp" &&
		chown postgres: "$tmp" && chmod 700 "$tmp" || return 1
	mkdir -p "$PG_SOCK" && chown postgres: "$PG_SOCK" || return 1
	as_pg "$PG_BIN/initdb" -A trust -U postgres -D "$tmp" >/dev/null || return 1
	cat >>"$tmp/postgresql.conf" <<-'EOF'
		listen_addresses = ''
		max_wal_size = 160MB
		min_wal_size = 32MB
		shared_buffers = 64MB
		max_connections = 30
	EOF
	pg_start "$tmp" "$port" >&2 &&
		as_pg "$PG_BIN/pgbench" -q -i -s "$scale" -h "$PG_SOCK" -p "$port" postgres >/dev/null 2>&1 &&
		pg_sql "$port" "CREATE TABLE ticks (id int PRIMARY KEY, at timestamptz DEFAULT now())" >/dev/null &&
		pg_sql "$port" "CHECKPOINT" >/dev/null && pg_sql "$port" "SELECT pg_switch_wal()" >/dev/null &&
		pg_sql "$port" "CHECKPOINT" >/dev/null &&
		pg_stop "$tmp" || { pg_stop "$tmp"; return 1; }
	rm -rf "$dir" && mv "$tmp" "$dir" && echo "$dir"
}

# checkpoint_completion_target=0: mbackup's default --checkpoint spread is
# not paced over minutes here (tests, bench/window, the demo), yet is still
# a spread (non-immediate) checkpoint.
pg_start() {
	mkdir -p "$PG_SOCK" && chown postgres: "$PG_SOCK" &&
		as_pg "$PG_BIN/pg_ctl" -D "$1" -w -t 300 -l "$PG_SOCK/pg-$2.log" \
			-o "-k $PG_SOCK -p $2 -c listen_addresses='' -c checkpoint_completion_target=0" \
			start >/dev/null
}

pg_stop() {
	as_pg "$PG_BIN/pg_ctl" -D "$1" -w -t 120 -m fast stop >/dev/null 2>&1
}

pg_sql() {
	"$PG_BIN/psql" -X -At -v ON_ERROR_STOP=1 -U postgres -h "$PG_SOCK" -p "$1" -d "${3:-postgres}" -c "$2"
}

pg_balances() {
	pg_sql "$1" "SELECT (SELECT sum(abalance) FROM pgbench_accounts) || ' ' ||
		(SELECT sum(bbalance) FROM pgbench_branches) || ' ' ||
		(SELECT sum(tbalance) FROM pgbench_tellers) || ' ' ||
		(SELECT coalesce(sum(delta), 0) FROM pgbench_history)"
}

# tick_start PORT FILE: one psql session inserts ticks id=1,2,3..., one
# autocommit transaction each; after each INSERT has returned (committed)
# its \echo appends "tick N" to FILE (psql flushes stdout per command), so
# FILE only ever names committed ids.  A producer feeds psql through a
# fifo; pg_sleep paces it.
tick_produce() {
	local i
	for ((i = 1; ; i++)); do
		printf 'INSERT INTO ticks (id) VALUES (%d);\n\\echo tick %d\nSELECT pg_sleep(0.02);\n' "$i" "$i" ||
			return 0
	done
}

tick_start() {
	local port=$1 file=$2
	rm -f "$file.fifo" && mkfifo "$file.fifo" && : >"$file" || return 1
	tick_produce >"$file.fifo" 2>/dev/null &
	TICK_PIDS+=($!)
	"$PG_BIN/psql" -X -q -At -v ON_ERROR_STOP=1 -U postgres -h "$PG_SOCK" -p "$port" -d postgres \
		-o /dev/null <"$file.fifo" >"$file" 2>"$file.err" &
	TICK_PIDS+=($!)
}

# Stops the psql first (it exits on SIGTERM): it must not work off
# the statements the producer queued ahead.
tick_stop() {
	local i
	for ((i = ${#TICK_PIDS[@]} - 1; i >= 0; i--)); do
		kill "${TICK_PIDS[$i]}" 2>/dev/null
		wait "${TICK_PIDS[$i]}" 2>/dev/null
	done
	TICK_PIDS=()
}

# The last id the tick file records as committed.
tick_last() { grep -o '^tick [0-9]*$' "$1" | tail -1 | cut -d' ' -f2; }
