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

# Suites run two at a time (make check): one builds a template, the other
# waits for it, then takes the same one.
pg_template() {
	local cache=${VM_CACHE:-/var/tmp/mbackup-vm}
	mkdir -p "$cache" || return 1
	(flock 9 && pg_template_locked "$@") 9>"$cache/.pg-template.lock"
}

pg_template_locked() {
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

# tick_committed FILE: the last committed id once there is one, waited for
# up to 30 s: on a loaded host (TCG, other guests) the writer's first
# commit may come seconds after it started, and a backup started before
# it would compare "every tick committed before" against nothing.
tick_committed() {
	local n last
	for ((n = 0; n < 60; n++)); do
		last=$(tick_last "$1")
		[ -n "$last" ] && break
		sleep 0.5
	done
	echo "$last"
}

# pg_snapshot_scenario KIND METHOD LEFT LVCREATE-ARGS...: PostgreSQL 15 on
# a new LV vg/pg (lvcreate -n pg LVCREATE-ARGS, ext4 at /pg, started in
# $CG), a hot backup under pgbench and the tick writer from its METHOD
# snapshot, restored, started, pg_amcheck clean, balances agree, ticks
# contiguous; LEFT names a function listing leftover snapshots.  Uses the
# suite's $VG, $S, $CATALOG, $CG, disks, last_run; sets BENCH.  Its steps
# serve further backups of the same cluster (snapshot-suite.sh):
#   pg_snapshot_up LVCREATE-ARGS...   the LV, the cluster, PG_DEVNO
#   pg_snapshot_backup WHAT ARGS...   mbackup --db postgres ARGS to $S/WHAT.mbi
#                                     under pgbench and fresh ticks, io.max of
#                                     $CG on the LV read every 0.2 s meanwhile
#                                     (PG_IOMAX_SEEN: the limits seen); RUN_RC,
#                                     RUN_ERR, PG_BEFORE (the last tick before)
#   pg_snapshot_restored KIND METHOD LEFT WHAT   the checks of its restore
#   pg_iomax                          wbps of $CG's io.max on the LV ("max")
pg_snapshot_scenario() {
	local kind=$1 method=$2 left=$3
	shift 3
	pg_snapshot_up "$@" || return
	pg_snapshot_backup pg
	pg_snapshot_restored "$kind" "$method" "$left" pg
	pg_stop /pg/data
}

# The copy is made from inside $CG: the page cache of the cluster's files
# is charged to its memory cgroup, so their write-back is $CG's and
# io.max reaches it (copied from outside, every write-back is the root's).
pg_snapshot_up() {
	lvcreate -q -y -n pg "$@" >/dev/null && mkfs.ext4 -q "/dev/$VG/pg" &&
		mkdir -p /pg && mount "/dev/$VG/pg" /pg &&
		(echo "$BASHPID" >"$CG/cgroup.procs" && cp -a "$PG_TEMPLATE" /pg/data &&
			chown -R postgres: /pg/data && chmod 700 /pg/data && pg_start /pg/data 5432) ||
		{ fail "pg: unable to start PostgreSQL on $VG/pg"; return 1; }
	PG_DEVNO=$(printf '%d:%d' "0x$(stat -L -c %t "/dev/$VG/pg")" "0x$(stat -L -c %T "/dev/$VG/pg")")
}

pg_iomax() { grep "^$PG_DEVNO " "$CG/io.max" | grep -o 'wbps=[^ ]*' || echo "wbps=max"; }

pg_snapshot_backup() {
	local what=$1 port=5432 pid v
	shift
	pg_sql "$port" "TRUNCATE ticks" >/dev/null
	"$PG_BIN/pgbench" -n -c 2 -T 600 -U postgres -h "$PG_SOCK" -p "$port" postgres >/dev/null 2>&1 &
	BENCH=$!
	tick_start "$port" "$S/ticks"
	sleep 3
	PG_BEFORE=$(tick_committed "$S/ticks")
	"$MB" --db postgres --pg-conn "host=$PG_SOCK port=$port user=postgres dbname=postgres" \
		--mirror "lvm:$VG/pg" --media "file:$S/$what.mbi" --catalog "$CATALOG" \
		--snapshot-pv "${disks[1]}" --freeze-timeout 30 "$@" >/dev/null 2>"$S/$what.log" &
	pid=$!
	PG_IOMAX_SEEN=
	while kill -0 "$pid" 2>/dev/null; do
		v=$(pg_iomax)
		[ "$v" = wbps=max ] || [[ " $PG_IOMAX_SEEN " == *" $v "* ]] || PG_IOMAX_SEEN+=" $v"
		sleep 0.2
	done
	wait "$pid"
	RUN_RC=$?
	RUN_ERR=$(cat "$S/$what.log")
	tick_stop
	kill "$BENCH" 2>/dev/null
	wait "$BENCH" 2>/dev/null
	BENCH=
	note "$what: exit $RUN_RC; $(grep -o 'snapshot .*peak.*' <<<"$RUN_ERR" | head -1);" \
		"$(grep -o 'window [0-9]* ms' <<<"$RUN_ERR" | tail -1); io.max seen:${PG_IOMAX_SEEN:- none}"
}

pg_snapshot_restored() {
	local kind=$1 method=$2 left=$3 what=$4 rport=5433 max n min got
	exit_is 0 "$what: a hot backup of PostgreSQL on a $kind LV under pgbench exits 0"
	[ "$RUN_RC" = 0 ] || diag "$(grep -v ' debug: ' <<<"$RUN_ERR" | tail -15)"
	is "$(last_run .status)/$(last_run '.snapshots[0].method')/$(last_run '.snapshots[0].invalidated')" \
		"complete/$method/false" "$what: complete, from a $method snapshot never invalidated"
	is "$($left)" "" "$what: the snapshot is removed"
	run "$MB" restore --from "$S/$what.mbi" --to "$S/r-$what"
	exit_is 0 "$what: restore exits 0"
	rm -f "$S/$what.mbi"
	chown -R postgres: "$S/r-$what" && chmod 700 "$S/r-$what"
	if ! ok "$what: the restored cluster starts" pg_start "$S/r-$what" "$rport"; then
		diag "$(tail -20 "$PG_SOCK/pg-$rport.log")"
		rm -rf "${S:?}/r-$what"
		return
	fi
	run "$PG_BIN/pg_amcheck" -U postgres -h "$PG_SOCK" -p "$rport" --all --install-missing
	is "$RUN_RC/$RUN_OUT$RUN_ERR" "0/" "$what: pg_amcheck --all is clean"
	got=$(pg_balances "$rport")
	like "$got" '^(-?[0-9]+) \1 \1 \1$' "$what: pgbench balances agree ($got)"
	read -r max n min <<<"$(pg_sql "$rport" "SELECT coalesce(max(id), 0) || ' ' || count(*) || ' ' || coalesce(min(id), 1) FROM ticks")"
	is "$min/$n" "1/$max" "$what: the ticks are contiguous 1..$max"
	ok "$what: every tick committed before mbackup started is there ($PG_BEFORE <= $max)" \
		test "${PG_BEFORE:-x}" -le "$max"
	pg_stop "$S/r-$what"
	rm -rf "${S:?}/r-$what"
}
