# Helpers of the signal tests (62-signals.t, 64-term-*.t): waiting for a
# log line, and for a process to end within a bound.

# wait_for FILE REGEX SECONDS: until FILE has a line matching REGEX.
wait_for() {
	local start=$SECONDS
	while [ $((SECONDS - start)) -le "$3" ]; do
		grep -q -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.2
	done
	return 1
}

# ended PID SECONDS: waits for PID at most SECONDS; sets ENDED_RC (or
# "none" after killing it when it did not end).
ended() {
	local start=$SECONDS
	while kill -0 "$1" 2>/dev/null && [ $((SECONDS - start)) -le "$2" ]; do
		sleep 0.2
	done
	if kill -0 "$1" 2>/dev/null; then
		kill -KILL "$1" 2>/dev/null
		wait "$1" 2>/dev/null
		ENDED_RC=none
		return 1
	fi
	wait "$1"
	ENDED_RC=$?
}

# The newest run's status, and the status of its phase NAME.
status_of_last() {
	"$MB" list --output json --catalog "$CATALOG" | jq -r '.[0].status'
}
phase_status_of_last() { # NAME
	"$MB" list --output json --catalog "$CATALOG" |
		jq -r --arg p "$1" '[.[0].phases[] | select(.name == $p) | .status] | join(",")'
}
