#!/bin/bash
# Faults inside the window: SIGKILL (the guard thaws by its deadline, the
# run stays "running" until `mbackup recover`), an injected error and
# SIGTERM (undone at once), a hang (the guard thaws while mbackup hangs).
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/fixture.sh"
fx_init
fx_setup ext4
fx_random_files "$SRC/d" f- 50 2000

status_of_last() {
	"$MB" list --output json --catalog "$CATALOG" | jq -r '.[0].status'
}

# 1. SIGKILL after the split, inside the window
run env MBACKUP_FAULT=after-split:kill "$MB" --db none --mirror "loop:$SRC_LOOP" --source "$SRC" \
	--media "file:$SCRATCH/out/kill.mbi" --catalog "$CATALOG" --freeze-timeout 3
exit_is 137 "after-split:kill: killed by SIGKILL"
took=$(fx_wait_writable "$SRC" 15)
ok "after-split:kill: the guard thawed the source (writable after ${took:-?} s)" test -n "$took"
is "$(status_of_last)" "running" "after-split:kill: the run is still 'running' in the catalog"
run "$MB" recover --catalog "$CATALOG"
exit_is 0 "recover exits 0"
is "$(status_of_last)" "failed" "after recover the run is 'failed'"
is "$(fx_clones)" "" "after recover the split clone is gone"
ok "after recover the source is writable" fx_writable "$SRC"
run "$MB" recover --catalog "$CATALOG"
exit_is 0 "a second recover has nothing to do and exits 0"

# 2. an injected error and SIGTERM: undone by mbackup itself.  The error
# fails the phase at once (exit 1, general); SIGTERM is blocked and read
# at the next safe point, the first phase boundary outside the window or
# the next streamed file (exit 15, interrupted).
for action in error term; do
	for point in in-window after-split after-recheck mid-stream; do
		run env MBACKUP_FAULT=$point:$action "$MB" --db none --mirror "loop:$SRC_LOOP" \
			--source "$SRC" --media "file:$SCRATCH/out/$action.mbi" --catalog "$CATALOG" --force
		case $action in
		error) want="1 injected fault at $point" ;;
		term) want="15 interrupted by SIGTERM" ;;
		esac
		exit_is "${want%% *}" "$point:$action: fails (exit ${want%% *})"
		is "$(grep '^mbackup: error: ' <<<"$RUN_ERR")" "mbackup: error: ${want#* }" "$point:$action: message"
		ok "$point:$action: source writable at once" fx_writable "$SRC" 2
		is "$(status_of_last)" "failed" "$point:$action: run marked failed"
		is "$(fx_clones)" "" "$point:$action: split clone gone"
	done
done

# 3. a hang inside the window: the guard's deadline thaws while mbackup hangs
MBACKUP_FAULT=in-window:hang "$MB" --db none --mirror "loop:$SRC_LOOP" --source "$SRC" \
	--media "file:$SCRATCH/out/hang.mbi" --catalog "$CATALOG" --force --freeze-timeout 2 \
	2>"$SCRATCH/hang.err" &
HANG=$!
FX_PIDS+=($HANG)
# The guard (mbackup's child) holds its socket and the frozen mount only:
# not the catalog, its lock, the media or the log (guard.c's close_range
# over the gaps between the kept fds).
sleep 1
guard=$(pgrep -P "$HANG" | head -n 1)
is "$(for f in /proc/$guard/fd/*; do n=${f##*/}; [ "$n" -gt 2 ] && readlink "$f"; done |
	sed -e 's/socket:.*/socket/' -e "s#^$(realpath "$SRC_MNT")\$#the mount#" | sort | tr '\n' ' ')" "socket the mount " \
	"in-window:hang: the guard (pid ${guard:-?}) keeps its socket and the mount only"
sleep 5
ok "in-window:hang: source writable while mbackup still hangs (freeze-timeout 2)" fx_writable "$SRC" 3
kill -KILL "$HANG" 2>/dev/null
wait "$HANG" 2>/dev/null
took=$(fx_wait_writable "$SRC" 15)
ok "in-window:hang: source writable after the kill" test -n "$took"
run "$MB" recover --catalog "$CATALOG"
exit_is 0 "recover after the hang exits 0"
is "$(status_of_last)" "failed" "the hung run is 'failed' after recover"
is "$(fx_clones)" "" "no split clone after the hang"

# the fs is whole: a normal backup works afterwards
run "$MB" --db none --mirror "loop:$SRC_LOOP" --source "$SRC" --media "file:$SCRATCH/out/after.mbi" \
	--catalog "$CATALOG"
exit_is 0 "a normal backup after all the faults"
run "$MB" restore --from "$SCRATCH/out/after.mbi" --to "$SCRATCH/r"
fx_tree_is "$SRC" "$SCRATCH/r" "and it restores exactly"
done_testing
