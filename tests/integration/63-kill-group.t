#!/bin/bash
# The whole run killed inside the window (issue 16, item 7): SIGKILL of
# mbackup's process group (kill -9 -PGID, what a shell's job control and
# many supervisors do) and of its cgroup (cgroup.kill: systemd's stop with
# KillMode=control-group, the OOM killer with memory.oom.group).  The
# guard leaves both when it is armed, so it outlives them and thaws; then
# recover marks the run failed and leaves nothing, and a backup works.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/fixture.sh"
fx_init
for t in pgrep ps; do
	command -v "$t" >/dev/null || skip_all "missing tool '$t' (run deploy/setup: procps)"
done
CG2=$(awk '{ for (i = 7; i <= NF; i++) if ($i == "-") { if ($(i + 1) == "cgroup2") print $5; break } }' \
	/proc/self/mountinfo | head -1)
[ -n "$CG2" ] && [ -w "$CG2/cgroup.procs" ] || skip_all "no writable cgroup2 hierarchy"
# systemd's v1 hierarchy on a hybrid machine (name=systemd), if any
CG1=$(awk '{ for (i = 7; i <= NF; i++) if ($i == "-") { if ($(i + 1) == "cgroup" && $(i + 3) ~ /(^|,)name=systemd(,|$)/) print $5; break } }' \
	/proc/self/mountinfo | head -1)
fx_setup ext4
fx_random_files "$SRC/d" f- 40 2000
TIMEOUT=4
MARGIN=6

CG=$CG2/mbackup-test-$$
cg_cleanup() {
	local pid
	[ -d "$CG" ] || return 0
	for pid in $(cat "$CG/cgroup.procs" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
	sleep 0.2
	rmdir "$CG" 2>/dev/null
}
trap 'rc=$?; cg_cleanup; (exit $rc); fx_cleanup' EXIT

status_of_last() {
	"$MB" list --output json --catalog "$CATALOG" | jq -r '.[0].status'
}

# wait_for FILE REGEX SECONDS: until a line of FILE matches (bounded).
wait_for() {
	local i
	for ((i = 0; i < $3 * 10; i++)); do
		grep -Eq "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# wait_writable DIR SECONDS: one write on DIR's fs, waited for at most
# SECONDS; prints the seconds it took.  A writer blocked on a frozen fs
# cannot be killed, so it is left to finish at the thaw (fx_cleanup thaws)
# and the test never blocks.
wait_writable() {
	local f="$1/.probe-$RANDOM$RANDOM" pid i rc
	touch "$f" >/dev/null 2>&1 &
	pid=$!
	for ((i = 0; i <= $2 * 10; i++)); do
		if ! kill -0 "$pid" 2>/dev/null; then
			wait "$pid"
			rc=$?
			rm -f "$f"
			[ "$rc" = 0 ] && echo $((i / 10))
			return "$rc"
		fi
		sleep 0.1
	done
	return 1
}
writable() { wait_writable "$@" >/dev/null; }

# The guard: mbackup's child (looked for a few seconds: a loaded machine
# may schedule its fork late).
guard_of() {
	local i g
	for ((i = 0; i < 50; i++)); do
		g=$(pgrep -P "$1" | head -1)
		[ -n "$g" ] && break
		sleep 0.1
	done
	echo "$g"
}

# reaped NAME: the hung mbackup ($HUNG) is dead within 30 s of its kill,
# and reaped.  A kill that missed it (an empty pid or group) must fail the
# check, not hang the test at `wait`: it is then killed by its pid.
reaped() {
	local i
	for ((i = 0; i < 300; i++)); do
		kill -0 "$HUNG" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$HUNG" 2>/dev/null; then
		fail "$1: mbackup (pid $HUNG) is dead after the kill"
		kill -KILL "$HUNG" 2>/dev/null
	else
		pass "$1: mbackup (pid $HUNG) is dead after the kill"
	fi
	{ wait "$HUNG"; } 2>/dev/null
}

# What follows each kill: the source thaws within the deadline and a
# margin; recover marks the run failed, leaves no clone, no process and
# no cgroup of the guard behind.
after_kill() { # NAME
	local took left
	took=$(wait_writable "$SRC_MNT" $((TIMEOUT + MARGIN)))
	ok "$1: the source is writable within --freeze-timeout + ${MARGIN} s (${took:-never} s)" \
		test -n "$took"
	run "$MB" recover --catalog "$CATALOG"
	exit_is 0 "$1: recover exits 0"
	is "$(status_of_last)" "failed" "$1: recover marks the run failed"
	is "$(fx_clones)" "" "$1: no split clone is left"
	ok "$1: the source is writable after recover" writable "$SRC_MNT" 3
	# only this run's guard: other checkouts on the machine run guards too
	left=$(ls -d "$CG2/mbackup-guard-$g" ${CG1:+"$CG1/mbackup-guard-$g"} 2>/dev/null)
	is "$left" "" "$1: the guard's cgroups are gone"
}

start_hung() { # NAME [PREFIX...]: mbackup hanging inside the window
	local name=$1
	shift
	"$@" env MBACKUP_FAULT=in-window:hang "$MB" --db none --mirror "loop:$SRC_LOOP" \
		--source "$SRC" --media "file:$SCRATCH/out/$name.mbi" --catalog "$CATALOG" \
		--freeze-timeout "$TIMEOUT" --force 2>"$SCRATCH/$name.err" &
	HUNG=$!
	FX_PIDS+=($HUNG)
	wait_for "$SCRATCH/$name.err" "injecting fault 'hang' at in-window" 20 ||
		bail_out "$name: mbackup did not reach the window: $(tail -3 "$SCRATCH/$name.err")"
	nok "$name: the source is frozen while mbackup hangs in the window" writable "$SRC_MNT" 1
}

# ---- 1. kill -9 -PGID: mbackup leads its own process group (setsid)
start_hung group setsid
pgid=$(ps -o pgid= -p "$HUNG" | tr -d ' ')
is "$pgid" "$HUNG" "group: mbackup leads its process group"
g=$(guard_of "$HUNG")
ok "group: the guard runs (pid ${g:-none})" test -n "$g"
isnt "$(ps -o pgid= -p "$g" | tr -d ' ')" "$pgid" "group: the guard left the run's process group"
is "$(grep "^0::" /proc/"$g"/cgroup 2>/dev/null)" "0::/mbackup-guard-$g" "group: the guard is in a cgroup of its own"
if [ -n "$CG1" ]; then
	is "$(grep -o ":name=systemd:.*" /proc/"$g"/cgroup)" ":name=systemd:/mbackup-guard-$g" \
		"group: ... in systemd's v1 hierarchy too"
else
	skip "group: ... in systemd's v1 hierarchy too" "no v1 name=systemd hierarchy"
fi
kill -KILL -- "-$pgid"
reaped "group"
after_kill "group"

# ---- 2. the whole cgroup: mbackup starts in a fresh one
mkdir "$CG" || bail_out "unable to create '$CG'"
# shellcheck disable=SC2016
start_hung cgroup bash -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$CG"
is "$(grep "^0::" /proc/"$HUNG"/cgroup)" "0::/${CG#"$CG2"/}" "cgroup: mbackup runs in the test's cgroup"
g=$(guard_of "$HUNG")
ok "cgroup: the guard is not in the run's cgroup" \
	test -n "$g" -a "$(grep -c "^$g\$" "$CG/cgroup.procs")" = 0
if [ -e "$CG/cgroup.kill" ]; then
	echo 1 >"$CG/cgroup.kill"
else
	for pid in $(cat "$CG/cgroup.procs"); do kill -KILL "$pid"; done
fi
reaped "cgroup"
for ((i = 0; i < 50; i++)); do [ -z "$(cat "$CG/cgroup.procs")" ] && break; sleep 0.1; done
is "$(cat "$CG/cgroup.procs")" "" "cgroup: every process of the run's cgroup is dead"
rmdir "$CG"
after_kill "cgroup"

# ---- 3. the guard, killed with mbackup while mbackup hangs past the deadline:
# the deadline fired first, so the source is writable all along
start_hung late setsid
g=$(guard_of "$HUNG")
sleep $((TIMEOUT + 2))
ok "late: the deadline thawed the source while mbackup hangs" writable "$SRC_MNT" 2
kill -KILL -- "-$HUNG"
reaped "late"
after_kill "late"

# ---- the filesystem is whole: a normal backup works and restores
run "$MB" --db none --mirror "loop:$SRC_LOOP" --source "$SRC" --media "file:$SCRATCH/out/after.mbi" \
	--catalog "$CATALOG"
exit_is 0 "a normal backup after the kills"
run "$MB" restore --from "$SCRATCH/out/after.mbi" --to "$SCRATCH/r"
fx_tree_is "$SRC" "$SCRATCH/r" "and it restores exactly"
done_testing
