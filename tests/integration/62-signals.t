#!/bin/bash
# Signals that always land (issue 16, item 6): SIGTERM ends a run whose
# media write blocks (a FIFO whose reader stopped reading), whose FIFO has
# no reader yet, or a restore whose standard input stalls, within a
# generous bound and cleanly (exit 15, source writable, no partial image,
# the run marked failed); one stalled device times out like a device of a
# set (--device-timeout, exit 14).
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/fixture.sh"
. "$(dirname "$0")/../lib/signals.sh"
fx_init
fx_setup ext4
fx_random_files "$SRC/d" f- 40 100000
O=$SCRATCH/out
BOUND=20	# seconds: not a speed assertion, only "it ended"

# term_case NAME SIG WAIT_REGEX MEDIA...: a backup that blocks on its
# media; SIG (TERM, INT, HUP) once WAIT_REGEX is in its log.
term_case() {
	local name=$1 sig=$2 regex=$3 pid
	shift 3
	# (mbackup itself in the background, not a shell around it: its pid)
	"$MB" backup --db none --mirror "loop:$SRC_LOOP" --source "$SRC" --catalog "$CATALOG" \
		"$@" --force 2>"$SCRATCH/$name.err" &
	pid=$!
	FX_PIDS+=($pid)
	if [ -n "$regex" ]; then
		ok "$name: reached the point that blocks" wait_for "$SCRATCH/$name.err" "$regex" 30
	fi
	sleep 2
	kill -"$sig" "$pid"
	ended "$pid" "$BOUND"
	is "$ENDED_RC" 15 "$name: SIG$sig ends the run (exit 15) within $BOUND s"
	is "$(grep '^mbackup: error: ' "$SCRATCH/$name.err")" \
		"mbackup: error: interrupted by SIG$sig" "$name: message"
	ok "$name: source writable" fx_writable "$SRC" 2
	is "$(status_of_last)" "failed" "$name: list shows the run failed"
	is "$(fx_clones)" "" "$name: split clone gone"
}

# 1. A FIFO whose reader opened it and stopped reading: the write blocks
# in the stream phase (one device, then a set with a file beside it).
mkfifo "$O/stall"
sleep 1000 <"$O/stall" &
READER=$!
FX_PIDS+=($READER)
term_case "stalled fifo" TERM "phase unquiesce: done" --media "pipe:$O/stall"
term_case "stalled fifo, SIGINT" INT "phase unquiesce: done" --media "pipe:$O/stall"
term_case "stalled fifo of a set" TERM "phase unquiesce: done" \
	--media "file:$O/a.mbi" --media "pipe:$O/stall"
nok "stalled fifo of a set: no image under the final name" test -e "$O/a.mbi"
nok "stalled fifo of a set: no .partial left" test -e "$O/a.mbi.partial"
kill -KILL "$READER" 2>/dev/null
wait "$READER" 2>/dev/null

# 2. A FIFO nobody opens: opening it blocks in the preflight.
mkfifo "$O/noreader"
term_case "fifo without a reader" HUP "" --media "file:$O/b.mbi" --media "pipe:$O/noreader"
nok "fifo without a reader: no .partial left" test -e "$O/b.mbi.partial"

# 3. One stalled device times out like a device of a set.
mkfifo "$O/stall1"
sleep 1000 <"$O/stall1" &
READER=$!
FX_PIDS+=($READER)
"$MB" backup --db none --mirror "loop:$SRC_LOOP" --source "$SRC" --catalog "$CATALOG" \
	--media "pipe:$O/stall1" --device-timeout 2 2>"$SCRATCH/timeout.err" &
pid=$!
FX_PIDS+=($pid)
ended "$pid" 60
is "$ENDED_RC" 14 "a single stalled device with --device-timeout 2 exits 14"
like "$(grep '^mbackup: error: ' "$SCRATCH/timeout.err")" \
	"^mbackup: error: unable to write to 'pipe:$O/stall1' at byte [0-9]+: stalled for 2 s$" "... with the deadline's message"
is "$(status_of_last)" "failed" "... and the run is failed"
ok "... the source writable" fx_writable "$SRC" 2
kill -KILL "$READER" 2>/dev/null
wait "$READER" 2>/dev/null

# 4. restore --from - whose writer stalls after part of the image.
run fx_backup --media "file:$O/good.mbi"
exit_is 0 "a good image to restore"
mkfifo "$O/in"
"$MB" restore --from - --to "$SCRATCH/r" <"$O/in" 2>"$SCRATCH/restore.err" &
pid=$!
FX_PIDS+=($pid)
(head -c 300000 "$O/good.mbi"; exec sleep 1000) >"$O/in" &
WRITER=$!
FX_PIDS+=($WRITER)
sleep 2
kill -TERM "$pid"
ended "$pid" "$BOUND"
is "$ENDED_RC" 15 "restore --from - with a stalled writer: SIGTERM ends it (exit 15)"
is "$(grep '^mbackup: error: ' "$SCRATCH/restore.err")" \
	"mbackup: error: interrupted by SIGTERM" "... message"
kill -KILL "$WRITER" 2>/dev/null
wait "$WRITER" 2>/dev/null

done_testing
