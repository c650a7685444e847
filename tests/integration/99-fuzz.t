#!/bin/bash
# The libFuzzer targets of tests/fuzz/ (index parser, trailer parser, image
# reader), built by `make fuzz-build` into build-fuzz/: each replays every
# input under tests/fuzz/regress/<target>/ (crashes found once, kept found)
# and its seeds, then fuzzes for FUZZ_CHECK_SECONDS (20) from its seeds,
# into a scratch corpus.  A crash, a sanitizer report or a leak fails it.
# `make fuzz FUZZ_SECONDS=N` is the long run.
. "$(dirname "$0")/../lib/tap.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SECONDS_EACH=${FUZZ_CHECK_SECONDS:-20}
FB=$ROOT/build-fuzz/tests/fuzz
TARGETS=(index trailer reader seektable zstdwalk)

command -v clang >/dev/null ||
	skip_all "clang is not installed: the fuzz targets need it (deploy/setup installs it)"

SCRATCH=$(mktemp -d /var/tmp/mbackup-fuzz.XXXXXX)
trap 'rm -rf "$SCRATCH"' EXIT

# A make of our own, not the jobserver of a `make check` that runs us;
# two compilers at once (a fresh CI checkout builds all of common/ and
# image/ with clang and the sanitizers; the peer test mostly waits).
run env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -j2 -C "$ROOT" fuzz-build
exit_is 0 "the fuzz targets build with clang"
[ "$RUN_RC" = 0 ] || { diag "$RUN_ERR"; done_testing; }

# fuzz_run TARGET ARGS...: the target's libFuzzer run, its crashes kept in SCRATCH.
fuzz_run() {
	local t=$1
	shift
	run "$FB/fuzz_$t" -timeout=10 -rss_limit_mb=2048 -dict="$ROOT/tests/fuzz/$t.dict" \
		-artifact_prefix="$SCRATCH/$t-" "$@"
	[ "$RUN_RC" = 0 ] || diag "$(printf '%s\n' "$RUN_ERR" | grep -vE '^#[0-9]+ ' | tail -n 40)"
}

for t in "${TARGETS[@]}"; do
	regress=("$ROOT"/tests/fuzz/regress/"$t"/*)
	seeds=("$ROOT"/tests/fuzz/corpus/"$t"/*)
	if [ -e "${regress[0]}" ]; then
		fuzz_run "$t" "${regress[@]}"
		exit_is 0 "$t: its ${#regress[@]} regression input(s) pass"
	else
		skip "$t: regression inputs" "tests/fuzz/regress/$t/ holds none yet"
	fi
	fuzz_run "$t" "${seeds[@]}"
	exit_is 0 "$t: its ${#seeds[@]} seed(s) pass"
	mkdir -p "$SCRATCH/corpus-$t"
	fuzz_run "$t" -max_total_time="$SECONDS_EACH" "$SCRATCH/corpus-$t" \
		"$ROOT/tests/fuzz/corpus/$t"
	exit_is 0 "$t: $SECONDS_EACH s of fuzzing find nothing"
	note "$t: $(printf '%s\n' "$RUN_ERR" | grep -E '^#[0-9]+[[:space:]]+DONE' | tail -n 1)"
done
done_testing
