# tests/vm/snap-lib.sh - the scenario helpers the snapshot guest suites
# share (tests/vm/snapshot-suite.sh: classic, tests/vm/thin-suite.sh:
# thin).  Sourced (bash) after fixture.sh; the suite sets $MB, $S (its
# scratch directory), $D (the data directory), $CATALOG, $CG (the writers'
# cgroup), and defines mb_bg WHAT ARGS (mbackup on its origin, in the
# background, its stderr in $S/WHAT.log, its pid in $S/pid).
#   snap_cleanup          kills the writer, the holder, pgbench, the ticks
#   last_run PATH         a jq path of the newest run of `list --output json`
#   sums DIR              md5sum of every file below DIR, sorted
#   holder_start          an idle process in $CG, its cwd in $D: what a
#                         postmaster is to mbackup when it looks for writers
#   writer_start          overwrites big1..big6 (16 MiB each) in place, 1 MiB
#                         at a time (a pause after each unless $FAST), with
#                         O_DIRECT from $CG, its cwd in $D, until killed;
#                         the bytes come from $WRITER_FROM (/dev/zero);
#                         $WRITER_FILES: which of big1..6 (default all),
#                         $WRITER_RANDOM: at random places, not in order,
#                         $WRITER_KB: KiB a write (default 1024)
#   writer_stop
#   backup_bg WHAT ARGS   mbackup in the background (mb_bg); the writer starts
#                         once the window has closed; $SLOW sends the image
#                         through an 8 MiB/s pipe (the stream lasts long
#                         enough for the watch to act; $SLOW=2: 2 MiB/s),
#                         $KILL_ON kills mbackup
#                         (SIGKILL) once its log matches; RUN_RC and RUN_ERR
#   restore_same WHAT     $S/WHAT.mbi restores byte-identical to $BEFORE
WRITER= HOLDER= BENCH=

snap_cleanup() {
	[ -n "$WRITER" ] && kill "$WRITER" 2>/dev/null
	[ -n "$HOLDER" ] && kill "$HOLDER" 2>/dev/null
	[ -n "$BENCH" ] && kill "$BENCH" 2>/dev/null
	tick_stop
	return 0
}

last_run() { "$MB" list --output json --catalog "$CATALOG" | jq -r ".[0]$1"; }
sums() { (cd "$1" && find . -type f -print0 | sort -z | xargs -0 md5sum); }

holder_start() {
	[ -n "$HOLDER" ] && kill "$HOLDER" 2>/dev/null
	(echo "$BASHPID" >"$CG/cgroup.procs" && cd "$D" && exec sleep 100000) &
	HOLDER=$!
}

writer_start() {
	(
		echo "$BASHPID" >"$CG/cgroup.procs" && cd "$D" || exit 1
		while :; do
			kb=${WRITER_KB:-1024}
			for i in ${WRITER_FILES:-1 2 3 4 5 6}; do
				for ((k = 0; k < 16384 / kb; k++)); do
					j=$k
					[ -z "${WRITER_RANDOM:-}" ] || j=$((RANDOM % (16384 / kb)))
					dd if="${WRITER_FROM:-/dev/zero}" of="big$i" bs=${kb}k count=1 seek=$j \
						conv=notrunc oflag=direct iflag=fullblock status=none
					[ -n "${FAST:-}" ] || sleep 0.05
				done
			done
		done
	) &
	WRITER=$!
}
writer_stop() { [ -n "$WRITER" ] && kill "$WRITER" && wait "$WRITER" 2>/dev/null; WRITER=; }

slow_sink() {
	local pause=0.12
	[ "${SLOW:-}" != 2 ] || pause=0.5
	perl -e 'while (read(STDIN, $b, 1 << 20)) { print $b; select(undef, undef, undef, $ARGV[0]) }' "$pause"
}

# backup_wait_window PID WHAT: until the window has closed (or mbackup ended).
backup_wait_window() {
	local i
	for ((i = 0; i < 600; i++)); do
		grep -q "phase unquiesce: done" "$S/$2.log" 2>/dev/null && break
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
	done
}

backup_bg() {
	local what=$1 i pid job
	shift
	rm -f "$S/$what.mbi" "$S/$what.log" "$S/pid" "$S/rc"
	if [ -n "${SLOW:-}" ]; then
		{ mb_bg "$what" --media - "$@" | slow_sink >"$S/$what.mbi"; echo "${PIPESTATUS[0]}" >"$S/rc"; } &
	else
		{ mb_bg "$what" --media "file:$S/$what.mbi" "$@"; echo "$?" >"$S/rc"; } &
	fi
	job=$!
	for ((i = 0; i < 100; i++)); do [ -s "$S/pid" ] && break; sleep 0.1; done
	pid=$(cat "$S/pid")
	backup_wait_window "$pid" "$what"
	writer_start
	for ((i = 0; i < 600 && ${KILL_ON:+1}0; i++)); do
		grep -Eq "$KILL_ON" "$S/$what.log" && { kill -9 "$pid"; break; }
		sleep 0.1
	done
	wait "$job"
	RUN_RC=$(cat "$S/rc")
	RUN_ERR=$(cat "$S/$what.log")
	writer_stop
	note "$what: exit $RUN_RC; $(grep -Eo '(thin )?snapshot .*peak.*' <<<"$RUN_ERR" | head -1);" \
		"$(grep -o "taken in [0-9]* ms" <<<"$RUN_ERR" | head -1), $(grep -o 'window [0-9]* ms' <<<"$RUN_ERR" | head -1)"
	[ "$RUN_RC" = 0 ] || [ -n "${KILL_ON:-}" ] || diag "$(grep -v ' debug: ' <<<"$RUN_ERR" | tail -15)"
}

restore_same() {
	local what=$1
	rm -rf "$S/r-$what"
	run "$MB" restore --from "$S/$what.mbi" --to "$S/r-$what"
	exit_is 0 "$what: restore exits 0"
	is "$(sums "$S/r-$what")" "$BEFORE" "$what: the restored set is byte-identical to the source at the snapshot"
	rm -rf "${S:?}/r-$what" "$S/$what.mbi"
}
