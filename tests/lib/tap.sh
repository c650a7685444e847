# tests/lib/tap.sh - a small TAP producer for the bash integration tests.
#
#   . tests/lib/tap.sh
#   plan 3                       # or nothing, and done_testing prints the plan
#   ok "name" cmd args...        # passes when the command exits 0
#   nok "name" cmd args...       # passes when the command exits non-zero
#   pass "name" / fail "name" [why...]
#                                # a name ending "# TODO why" marks a known
#                                # bug: a failure does not fail the file
#   is "$got" "$want" "name"     # exact string
#   isnt "$got" "$unwanted" "name"
#   like "$got" 'ERE' "name"     # bash =~ regex
#   unlike "$got" 'ERE' "name"
#   run cmd args...              # sets RUN_OUT, RUN_ERR, RUN_RC (never fails)
#   exit_is 2 "name"             # RUN_RC of the last run (always one exact
#                                # code: there is no exit_isnt)
#   skip "name" "why"; skip_all "why"; diag "text"; note "text"; bail_out "why"
#   done_testing                 # last line: exits 1 if anything failed
#
# A failure prints what was got and wanted and "#   at <file>:<line>" of the
# test script line that made the assertion.  Output goes to stdout (TAP),
# diagnostics to stderr, as prove expects.

TAP_COUNT=0
TAP_FAILED=0
TAP_PLANNED=""
TAP_DONE=""
RUN_OUT=""
RUN_ERR=""
RUN_RC=0

plan() {
	TAP_PLANNED=$1
	echo "1..$1"
}

diag() {
	local line
	while IFS= read -r line; do
		echo "# $line" >&2
	done <<<"$*"
}

note() {
	local line
	while IFS= read -r line; do
		echo "# $line"
	done <<<"$*"
}

# The first caller outside the test library (tap.sh, fixture.sh): "file:line".
_tap_where() {
	local i
	for ((i = 1; i < ${#BASH_SOURCE[@]}; i++)); do
		case ${BASH_SOURCE[$i]} in
		*/lib/tap.sh | */lib/fixture.sh) ;;
		*) echo "${BASH_SOURCE[$i]}:${BASH_LINENO[$((i - 1))]}"; return ;;
		esac
	done
	echo "?:?"
}

pass() {
	TAP_COUNT=$((TAP_COUNT + 1))
	echo "ok $TAP_COUNT - $1"
}

# fail NAME [diagnostic lines...]
fail() {
	local name=$1 where
	shift
	where=$(_tap_where)
	TAP_COUNT=$((TAP_COUNT + 1))
	# A TODO (a known bug, named) fails without failing the file.
	case $name in
	*" # TODO "*) ;;
	*) TAP_FAILED=$((TAP_FAILED + 1)) ;;
	esac
	echo "not ok $TAP_COUNT - $name"
	diag "  Failed test '$name'"
	diag "  at $where"
	local l
	for l in "$@"; do
		diag "$l"
	done
	return 1
}

skip() {
	TAP_COUNT=$((TAP_COUNT + 1))
	echo "ok $TAP_COUNT - $1 # skip ${2:-}"
}

skip_all() {
	echo "1..0 # SKIP $*"
	TAP_DONE=1
	exit 0
}

bail_out() {
	echo "Bail out! $*"
	TAP_DONE=1
	exit 255
}

ok() {
	local name=$1
	shift
	if "$@"; then
		pass "$name"
	else
		fail "$name" "  command failed: $*"
	fi
}

nok() {
	local name=$1
	shift
	if "$@"; then
		fail "$name" "  command succeeded but should have failed: $*"
	else
		pass "$name"
	fi
}

is() {
	if [ "$1" == "$2" ]; then
		pass "$3"
	else
		fail "$3" "         got: '$1'" "    expected: '$2'"
	fi
}

isnt() {
	if [ "$1" != "$2" ]; then
		pass "$3"
	else
		fail "$3" "         got: '$1'" "    expected: anything else"
	fi
}

like() {
	if [[ $1 =~ $2 ]]; then
		pass "$3"
	else
		fail "$3" "                  '$1'" "    doesn't match '$2'"
	fi
}

unlike() {
	if [[ $1 =~ $2 ]]; then
		fail "$3" "                  '$1'" "          matches '$2'"
	else
		pass "$3"
	fi
}

# run CMD...: captures stdout, stderr and the exit code; never fails.
run() {
	local d
	d=$(mktemp -d "${TMPDIR:-/tmp}/tap-run.XXXXXX")
	# (the group's stderr hides bash's "Killed" notice for a killed command)
	{ "$@" >"$d/out" 2>"$d/err"; } 2>/dev/null
	RUN_RC=$?
	RUN_OUT=$(cat "$d/out")
	RUN_ERR=$(cat "$d/err")
	rm -rf "$d"
	return 0
}

# exit_is WANT NAME: the exit code of the last run; on failure shows its output.
exit_is() {
	if [ "$RUN_RC" == "$1" ]; then
		pass "$2"
	else
		fail "$2" "         got: exit $RUN_RC" "    expected: exit $1" \
			"  stdout: $(printf '%s' "$RUN_OUT" | head -c 2000)" \
			"  stderr: $(printf '%s' "$RUN_ERR" | tail -c 2000)"
	fi
}

done_testing() {
	TAP_DONE=1
	if [ -z "$TAP_PLANNED" ]; then
		echo "1..$TAP_COUNT"
	elif [ "$TAP_PLANNED" != "$TAP_COUNT" ]; then
		diag "planned $TAP_PLANNED tests but ran $TAP_COUNT"
		exit 1
	fi
	if [ "$TAP_FAILED" -gt 0 ]; then
		diag "failed $TAP_FAILED of $TAP_COUNT tests"
		exit 1
	fi
	exit 0
}
