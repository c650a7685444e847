#!/bin/bash
# The run lock comes before the catalog: a run (or recover) that loses the
# lock exits 4 naming the holder, never 12 "database is locked" because it
# touched the catalog first, and never creates a catalog it has no right to.
# recover refuses a catalog that does not exist (exit 12, as list does).
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/fixture.sh"
command -v sqlite3 >/dev/null || skip_all "missing tool 'sqlite3'"
fx_tiny_suite

# backup_to CATALOG IMAGE: a backup of the fixture, the test's fds closed.
backup_to() {
	"$MB" backup --db none --mirror "loop:$SRC_LOOP" --source "$SRC" \
		--catalog "$1" --media "file:$2" 8>&- 9>&-
}

lost_line() { # LOCKFILE [PID]
	if [ -n "${2:-}" ]; then
		echo "mbackup: error: another mbackup run (pid $2) holds the lock '$1'"
	else
		echo "mbackup: error: another mbackup run holds the lock '$1'"
	fi
	echo "HINT: wait for it to finish, or check 'mbackup list'"
}

# The error and hint lines of a run's stderr (without its log lines).
errlines() {
	printf '%s\n' "$1" | grep -E '^(mbackup: error: |HINT: )'
}

# hold_lock CATALOG: this shell holds CATALOG.lock on fd 9, naming pid $$.
hold_lock() {
	exec 9<>"$1.lock" && flock -n 9 && printf '%s\n' $$ >"$1.lock"
}

# hold_catalog CATALOG: a sqlite3 process keeps a write transaction open on
# CATALOG (fed through a fifo on fd 8) until release_catalog.
hold_catalog() {
	local i
	mkfifo "$SCRATCH/sq.fifo"
	sqlite3 "$1" <"$SCRATCH/sq.fifo" >/dev/null 2>&1 &
	SQ_PID=$!
	FX_PIDS+=($SQ_PID)
	exec 8>"$SCRATCH/sq.fifo"
	# (the holder waits out a probe's own moment of lock; without a busy
	# timeout its BEGIN could fail against one and hold nothing)
	printf '.timeout 10000\nBEGIN IMMEDIATE; CREATE TABLE hold(a);\n' >&8
	for i in $(seq 1 50); do
		sqlite3 "$1" "BEGIN IMMEDIATE; ROLLBACK;" >/dev/null 2>&1 || return 0
		sleep 0.1
	done
	return 1
}

release_catalog() {
	exec 8>&-
	wait "$SQ_PID" 2>/dev/null
	rm -f "$SCRATCH/sq.fifo"
}

# 1. the lock held, no catalog yet: the loser exits 4 and creates nothing
CAT1=$SCRATCH/c1/catalog.db
mkdir -p "$SCRATCH/c1"
ok "held the lock of a catalog that does not exist" hold_lock "$CAT1"
run backup_to "$CAT1" "$SCRATCH/out/c1.mbi"
exit_is 4 "no catalog, lock held: backup exits 4"
is "$(errlines "$RUN_ERR")" "$(lost_line "$CAT1.lock" $$)" "no catalog, lock held: the exact message"
nok "no catalog, lock held: the loser created no catalog" test -e "$CAT1"
nok "no catalog, lock held: no image" test -e "$SCRATCH/out/c1.mbi"

# 2. the lock held and the catalog busy (the winner creating it): exit 4 at
#    once, not 12 "database is locked" after the busy timeout
CAT2=$SCRATCH/c2/catalog.db
mkdir -p "$SCRATCH/c2"
exec 9>&-
ok "held the lock of the second catalog" hold_lock "$CAT2"
ok "a write transaction holds the second catalog" hold_catalog "$CAT2"
start=$SECONDS
run backup_to "$CAT2" "$SCRATCH/out/c2.mbi"
exit_is 4 "catalog busy, lock held: backup exits 4"
is "$(errlines "$RUN_ERR")" "$(lost_line "$CAT2.lock" $$)" "catalog busy, lock held: backup's exact message"
ok "catalog busy, lock held: backup fails at once ($((SECONDS - start)) s)" \
	test $((SECONDS - start)) -lt 4
start=$SECONDS
run "$MB" recover --catalog "$CAT2" 8>&- 9>&-
exit_is 4 "catalog busy, lock held: recover exits 4"
is "$(errlines "$RUN_ERR")" "$(lost_line "$CAT2.lock" $$)" "catalog busy, lock held: recover's exact message"
ok "catalog busy, lock held: recover fails at once ($((SECONDS - start)) s)" \
	test $((SECONDS - start)) -lt 4
release_catalog
exec 9>&-

# a catalog where none can be made is still a catalog error (12), now
# found by the lock beside it
run backup_to /proc/nonexistent/catalog.db "$SCRATCH/out/proc.mbi"
exit_is 12 "catalog in an unusable place: exit 12"
is "$(errlines "$RUN_ERR")" "mbackup: error: unable to create directory '/proc/nonexistent': No such file or directory" \
	"catalog in an unusable place: the exact message"

# 3. two runs at once on a fresh catalog, many times: one wins, the other
#    (when they overlap) exits 4 naming the winner; nothing else
ROUNDS=20
RACE=(--db none --mirror "loop:$SRC_LOOP" --source "$SRC")
raced=0
bad=()
for r in $(seq 1 $ROUNDS); do
	cat=$SCRATCH/race-$r/catalog.db
	mkdir -p "$SCRATCH/race-$r"
	# (started directly, so $! is the pid the winner writes into the lock)
	"$MB" backup "${RACE[@]}" --catalog "$cat" --media "file:$SCRATCH/out/race-$r-a.mbi" \
		>/dev/null 2>"$SCRATCH/race-a.err" &
	pa=$!
	"$MB" backup "${RACE[@]}" --catalog "$cat" --media "file:$SCRATCH/out/race-$r-b.mbi" \
		>/dev/null 2>"$SCRATCH/race-b.err" &
	pb=$!
	wait "$pa"; ra=$?
	wait "$pb"; rb=$?
	rm -f "$SCRATCH"/out/race-$r-*.mbi
	case "$ra/$rb" in
	0/0) continue ;;
	0/4) loser=b winner=$pa ;;
	4/0) loser=a winner=$pb ;;
	*)
		bad+=("round $r: exits $ra and $rb: $(cat "$SCRATCH/race-a.err" "$SCRATCH/race-b.err")")
		continue
		;;
	esac
	raced=$((raced + 1))
	got=$(errlines "$(cat "$SCRATCH/race-$loser.err")")
	if [ "$got" != "$(lost_line "$cat.lock" "$winner")" ] &&
		[ "$got" != "$(lost_line "$cat.lock")" ]; then
		bad+=("round $r: the loser said: $got")
	fi
done
is "${#bad[@]}" 0 "$ROUNDS rounds of two runs on a fresh catalog: only exits 0 and 4, the exact message"
[ "${#bad[@]}" = 0 ] || diag "${bad[@]}"
note "$raced of $ROUNDS rounds overlapped (one run lost the lock)"

# 4. recover refuses a catalog that does not exist, and creates nothing
run "$MB" recover --catalog "$SCRATCH/typo/catalog.db"
exit_is 12 "recover on a missing catalog exits 12"
is "$RUN_ERR" "mbackup: error: no catalog at '$SCRATCH/typo/catalog.db': No such file or directory
HINT: no backup has run with this catalog yet (see --catalog)" \
	"recover on a missing catalog: the exact message"
nok "recover on a missing catalog created nothing" test -e "$SCRATCH/typo"
is "$RUN_OUT" "" "recover on a missing catalog prints nothing on stdout"
rec_err=$RUN_ERR
run "$MB" list --catalog "$SCRATCH/typo/catalog.db"
exit_is 12 "list on a missing catalog exits 12 too"
is "$RUN_ERR" "$rec_err" "and says the same"
run "$MB" recover --catalog "$SCRATCH/race-1/catalog.db"
exit_is 0 "recover on an existing catalog still exits 0"
is "$RUN_OUT" "recover: 0 obligation(s) undone" "and says what it did"
done_testing
