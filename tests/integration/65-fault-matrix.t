#!/bin/bash
# The fault matrix: every fault point of the runner (MBACKUP_FAULT, see
# orchestrator/fault.c) x {error, term, kill, hang}, against PostgreSQL 15
# in hot mode under pgbench, data and pg_wal on two loop mirrors.  After
# each case: both filesystems writable, no mbackup session or slot left,
# pg_backup_start works in a fresh session, `recover` marks the run
# failed, no split clone or split mount left, no image under its final
# name and no .partial.  After each action's row a normal backup succeeds.
#
# A hang is ended by the test: SIGTERM first, SIGKILL if it has not ended
# within HANG_TERM_S seconds (then recover); each case says which it
# needed.  Killing the whole process group or cgroup is not here.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/fixture.sh"
fx_pg_available || skip_all "PostgreSQL 15 is not installed (run deploy/setup)"
fx_init
chmod 755 "$SCRATCH"
fx_backing 2G
# inline_data: PostgreSQL's tiny files (PG_VERSION...) live in their
# inodes and are read through a read-only mount of the split leg, so
# the split mount is an obligation of every case from P7 on.
fx_source ext4 768M -O inline_data
fx_wal_fs 384M
fx_pg_env
trap 'fx_pg_stop_all; fx_cleanup' EXIT
T0=$SECONDS

# Every fault point, in the order of the run: one after each phase
# (orchestrator/backup.c; "in-window" is after P3, frozen), and
# "mid-stream" after the first streamed file (orchestrator/stream.c).
# "after-incr-prepass" is an incremental's pre-pass over the split leg
# (orchestrator/incremental.c), run with --incremental on the base
# backup taken before the matrix.  FAULT_POINTS="A B" runs only those.
POINTS=(after-preflight after-sync after-premap in-window after-split after-recheck
	after-unquiesce after-incr-prepass mid-stream after-stream after-finish)
[ -n "${FAULT_POINTS:-}" ] && read -r -a POINTS <<<"$FAULT_POINTS"
ACTIONS=(error term kill hang)
HANG_TERM_S=3
# --freeze-timeout: the guard's deadline, with room for a loaded machine
# (a window here takes about 100 ms).
FREEZE_S=5

# The expected end of a case, tab-separated: the exit code, the error
# line ("-": none), the run's status before recover and its error in the
# catalog after it.  error fails the phase at once; term is SIGTERM to
# itself, blocked and read at the next safe point (the next phase
# boundary outside the window, or the next streamed file); kill is
# SIGKILL, and only recover ends the run.  A hang ends as term or kill,
# whichever ended it.
DIED="the run died; recovered by mbackup recover"
expected() { # POINT ACTION
	case $2 in
	error) printf '1\tmbackup: error: injected fault at %s\tfailed\tinjected fault at %s' "$1" "$1" ;;
	term) printf '15\tmbackup: error: interrupted by SIGTERM\tfailed\tinterrupted by SIGTERM' ;;
	kill) printf '137\t-\trunning\t%s' "$DIED" ;;
	esac
}

# Known bugs: TODO[POINT:ACTION:CHECK]="the bug" makes that one check of
# that case a TODO (it still runs; never a skip).  CHECK is one of exit
# message fired hung writable session backup-start run status recover
# clone mount final partial.
declare -A TODO=()

PORT=$((20000 + RANDOM % 20000))
mkdir -p "$SRC_MNT/pg" "$WAL_MNT/pg"
chown postgres "$SRC_MNT/pg" "$WAL_MNT/pg"
DATA=$SRC_MNT/pg/data
fx_pg_cluster "$DATA" 2
# The load for the whole matrix (stopped at cleanup); -T is only a bound
# (a slow machine's matrix must not outlast it).
fx_bg "$FX_PGBIN/pgbench" -h "$SOCK" -p "$PORT" -n -c 2 -T 7200 postgres >/dev/null 2>&1
PGBENCH=$!

# The backup of the matrix: MBK=(env PGPORT=... [ENV...] mbackup ...);
# env execs mbackup, so a signal to the pid of "${MBK[@]}" & reaches it.
mbk_cmd() { # MEDIA-NAME [ENV...]
	local media=$SCRATCH/out/$1
	shift
	MBK=(env PGPORT="$PORT" "$@" "$MB" --db postgres --mirror "loop:$SRC_LOOP"
		--mirror "loop:$WAL_LOOP" --media "file:$media" --catalog "$CATALOG"
		--freeze-timeout "$FREEZE_S" "${MBK_EXTRA[@]}")
}
mbk() { # MEDIA-NAME [ENV...]
	mbk_cmd "$@"
	"${MBK[@]}"
}

# What a case may leave for a moment: the server notices a dead client's
# session on its next read.  Prints what is left after MAX seconds.
pg_left() { # MAX
	local start=$SECONDS left
	while :; do
		left=$(fx_sql "$PORT" "select (select count(*) from pg_stat_activity
			where application_name = 'mbackup') || ' session(s), ' ||
			(select count(*) from pg_replication_slots
			where slot_name like 'mbackup%') || ' slot(s)'")
		[ "$left" = "0 session(s), 0 slot(s)" ] && break
		[ $((SECONDS - start)) -ge "$1" ] && break
		sleep 0.2
	done
	echo "$left"
}

# pg_backup_start and pg_backup_stop in one fresh session.
backup_mode_works() {
	psql -X -q -At -p "$PORT" -v ON_ERROR_STOP=1 -c "select pg_backup_start('fault-matrix', true)" \
		-c "select pg_backup_stop(false)" >/dev/null
}

split_mounts() {
	findmnt -rn -o TARGET | grep -F "$SCRATCH/catalog/split-"
}

last_run() { # FIELD
	"$MB" list --output json --catalog "$CATALOG" | jq -r ".[0].$1"
}

# The hang: waits for it to hang, then SIGTERM, then SIGKILL after
# HANG_TERM_S; sets RUN_RC, RUN_ERR, HOW (the signal that ended it) and
# HUNG_WRITABLE (both filesystems took a write before the SIGKILL, within
# the guard's deadline and a margin).
run_hang() { # POINT MEDIA-NAME
	local pid start err=$SCRATCH/hang.err
	mbk_cmd "$2" MBACKUP_FAULT="$1:hang"
	"${MBK[@]}" >/dev/null 2>"$err" &
	pid=$!
	FX_PIDS+=("$pid")
	start=$SECONDS
	until grep -q "injecting fault 'hang' at $1" "$err" 2>/dev/null; do
		kill -0 "$pid" 2>/dev/null || break
		[ $((SECONDS - start)) -ge 60 ] && break
		sleep 0.1
	done
	HOW=SIGTERM
	kill -TERM "$pid" 2>/dev/null
	start=$SECONDS
	while kill -0 "$pid" 2>/dev/null && [ $((SECONDS - start)) -lt "$HANG_TERM_S" ]; do
		sleep 0.1
	done
	# Inside the window the guard's deadline thaws the filesystems
	# while mbackup still hangs.
	HUNG_WRITABLE=no
	[ -n "$(fx_wait_writable "$DATA" $((FREEZE_S + 3)))" ] &&
		[ -n "$(fx_wait_writable "$WAL_MNT/pg" 3)" ] && HUNG_WRITABLE=yes
	if kill -0 "$pid" 2>/dev/null; then
		HOW=SIGKILL
		kill -KILL "$pid"
	fi
	{ wait "$pid"; } 2>/dev/null
	RUN_RC=$?
	RUN_ERR=$(cat "$err")
}

# " # TODO why" for a check of the current case ($CASE) that a known bug
# fails (see TODO above), nothing otherwise.
td() { # CHECK
	local why=${TODO[$CASE:$1]:-}
	[ -n "$why" ] && echo " # TODO $why"
}

check_case() { # POINT ACTION MEDIA-NAME
	local c="$1:$2" want lines left w_exit w_line w_status w_error
	CASE=$c
	MBK_EXTRA=()
	[ "$1" = after-incr-prepass ] && MBK_EXTRA=(--incremental)
	if [ "$2" = hang ]; then
		run_hang "$1" "$3"
		note "$c: the hang needed $HOW"
		is "$HUNG_WRITABLE" yes "$c: both filesystems are writable while it hangs$(td hung)"
		case $HOW in
		SIGTERM) want=$(expected "$1" term) ;;
		SIGKILL) want=$(expected "$1" kill) ;;
		esac
	else
		run mbk "$3" MBACKUP_FAULT="$c"
		want=$(expected "$1" "$2")
	fi
	IFS=$'\t' read -r w_exit w_line w_status w_error <<<"$want"
	exit_is "$w_exit" "$c: exit $w_exit${HOW:+ (ended by $HOW)}$(td exit)"
	lines=$(grep '^mbackup: error: ' <<<"$RUN_ERR")
	is "${lines:--}" "$w_line" "$c: the error line$(td message)"
	like "$RUN_ERR" "injecting fault '$2' at $1" "$c: the fault fired at $1$(td fired)"
	ok "$c: the data filesystem is writable$(td writable)" \
		test -n "$(fx_wait_writable "$DATA" 10)"
	ok "$c: the WAL filesystem is writable$(td writable)" \
		test -n "$(fx_wait_writable "$WAL_MNT/pg" 10)"
	left=$(pg_left 10)
	is "$left" "0 session(s), 0 slot(s)" "$c: no mbackup session or slot is left$(td session)"
	ok "$c: pg_backup_start works in a fresh session$(td backup-start)" backup_mode_works
	LAST_ID=$((LAST_ID + 1))
	is "$(last_run id)" "$LAST_ID" "$c: the case made one run$(td run)"
	is "$(last_run status)" "$w_status" "$c: before recover the run is $w_status$(td status)"
	run "$MB" recover --catalog "$CATALOG"
	exit_is 0 "$c: recover$(td recover)"
	is "$(last_run status)/$(last_run error)" "failed/$w_error" \
		"$c: after recover the run is failed ($w_error)$(td status)"
	is "$(fx_clones)" "" "$c: no split clone is left$(td clone)"
	is "$(split_mounts)" "" "$c: no split mount is left$(td mount)"
	ok "$c: no image under its final name$(td final)" test ! -e "$SCRATCH/out/$3"
	ok "$c: no .partial image$(td partial)" test ! -e "$SCRATCH/out/$3.partial"
	HOW=""
	MBK_EXTRA=()
}

HOW=""
MBK_EXTRA=()
run mbk base.mbi
exit_is 0 "the base backup of the incremental cases"
LAST_ID=1
for action in "${ACTIONS[@]}"; do
	for point in "${POINTS[@]}"; do
		check_case "$point" "$action" "$action-$point.mbi"
	done
	run mbk "after-$action.mbi"
	exit_is 0 "$action: a normal backup after the row succeeds"
	like "$RUN_ERR" "phase stream: done in [0-9]+ ms \(.*, [1-9][0-9]* via the filesystem, [1-9][0-9]* read from the leg, [0-9]+ with O_DIRECT, 0 copied\)" \
		"$action: ... reading some files through the split mount, none copied"
	LAST_ID=$((LAST_ID + 1))
	is "$(last_run id)/$(last_run status)" "$LAST_ID/complete" "$action: ... and is complete"
	ok "$action: ... its image is in place" test -s "$SCRATCH/out/after-$action.mbi"
done
run "$MB" restore --from "$SCRATCH/out/after-${ACTIONS[-1]}.mbi" --to "$SCRATCH/rest/data"
exit_is 0 "the last normal backup restores"
run "$FX_PGBIN/pg_verifybackup" "$SCRATCH/rest/data"
exit_is 0 "pg_verifybackup accepts it"
ok "pgbench ran through the whole matrix" kill -0 "$PGBENCH"
note "the matrix took $((SECONDS - T0)) s"
done_testing
