#!/bin/bash
# SIGTERM ends the premap of a big tree (issue 16, item 6): the walk, the
# FIEMAP pass and the converge look at the run's stop every few entries
# (extentmap/, common/stop.h), so a signal during P2 ends the run in that
# phase, not after the whole tree: exit 15, the premap phase failed in
# the catalog, the run failed, nothing left.  120,000 freshly written
# files (their FIEMAP_FLAG_SYNC flushes each) make P2 last seconds here.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/fixture.sh"
. "$(dirname "$0")/../lib/signals.sh"
fx_init
fx_backing 2G
fx_source ext4 1G -N 200000
BOUND=20	# seconds: not a speed assertion, only "it ended"

python3 - "$SRC" <<'PY' || bail_out "unable to make the tree"
import os, sys
for d in range(120):
    dp = os.path.join(sys.argv[1], "d%03d" % d)
    os.mkdir(dp)
    for f in range(1000):
        fd = os.open(os.path.join(dp, "f%04d" % f), os.O_WRONLY | os.O_CREAT, 0o600)
        os.write(fd, b"x")
        os.close(fd)
PY

"$MB" backup --db none --mirror "loop:$SRC_LOOP" --source "$SRC" --catalog "$CATALOG" \
	--media "file:$SCRATCH/big.mbi" 2>"$SCRATCH/premap.err" &
pid=$!
FX_PIDS+=($pid)
ok "the run reached the premap" wait_for "$SCRATCH/premap.err" "phase sync: done" 60
kill -TERM "$pid"
ended "$pid" "$BOUND"
is "$ENDED_RC" 15 "SIGTERM in the premap ends the run (exit 15) within $BOUND s"
is "$(grep '^mbackup: error: ' "$SCRATCH/premap.err")" "mbackup: error: interrupted by SIGTERM" \
	"... with the signal's message"
like "$(cat "$SCRATCH/premap.err")" "phase premap: failed after [0-9]+ ms" \
	"... in the premap, not after it"
is "$(phase_status_of_last premap)" "failed" "... and the catalog says the premap failed"
is "$(status_of_last)" "failed" "list shows the run failed"
is "$(phase_status_of_last quiesce)" "" "nothing was quiesced"
ok "the source is writable" fx_writable "$SRC" 2
is "$(fx_clones)" "" "no split clone"
nok "no image under its final name" test -e "$SCRATCH/big.mbi"
nok "no .partial image" test -e "$SCRATCH/big.mbi.partial"
run "$MB" recover --catalog "$CATALOG"
exit_is 0 "recover finds nothing to do"
is "$RUN_OUT" "recover: 0 obligation(s) undone" "... and says so"
done_testing
