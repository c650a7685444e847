#!/bin/bash
# --mirror-proof, --mirror-check-runs and --mirror-check-days on the host
# (the loop fixture: no raid1 here, tests/vm/lvm-suite.sh proves merges):
# bad values refused with one line, a hint and exit 2, before anything is
# done, from the command line and from a config file, for backup and
# recover; the verbs they apply to; the environment variable they
# replace is read by no code.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/fixture.sh"
fx_init
fx_setup ext4 256M
echo hello >"$SRC/f"
O=$SCRATCH/out
mkdir -p "$O"
HINT="use auto (what the split wrote while a full check is not due), witness or full"

refused() { # name expected-message expected-hint args...
	local name=$1 msg=$2 hint=$3
	shift 3
	run fx_backup --media "file:$O/never.mbi" "$@"
	exit_is 2 "$name: exit 2"
	is "$RUN_ERR" "mbackup: error: $msg${hint:+
HINT: $hint}" "$name: the message"
}
refused "--mirror-proof fast" "invalid --mirror-proof 'fast'" "$HINT" --mirror-proof fast
refused "--mirror-proof ''" "invalid --mirror-proof ''" "$HINT" --mirror-proof ''
refused "--mirror-proof Full" "invalid --mirror-proof 'Full'" "$HINT" --mirror-proof Full
refused "--mirror-check-runs 0" "invalid value '0' for --mirror-check-runs: expected 1..1000" "" \
	--mirror-check-runs 0
refused "--mirror-check-days 366" "invalid value '366' for --mirror-check-days: expected 1..365" "" \
	--mirror-check-days 366
ok "nothing was written" test ! -e "$O/never.mbi"
is "$(sqlite3 "$CATALOG" 'select count(*) from runs' 2>/dev/null || echo 0)" "0" "no run recorded"

printf 'mirror-proof = sometimes\n' >"$SCRATCH/bad.conf"
run fx_backup --media "file:$O/never.mbi" --config "$SCRATCH/bad.conf"
exit_is 2 "a bad mirror-proof from the config file: exit 2"
is "$RUN_ERR" "mbackup: error: invalid --mirror-proof 'sometimes'
HINT: $HINT" "  the message"

run "$MB" check --db none --mirror "loop:$SRC_LOOP" --source "$SRC" --mirror-proof x
exit_is 2 "check refuses it too"
is "$RUN_ERR" "mbackup: error: invalid --mirror-proof 'x'
HINT: $HINT" "  the message"

# A good value on a mirror that keeps no proof (loop): the run is as ever.
for how in auto witness full; do
	run fx_backup --media "file:$O/$how.mbi" --mirror-proof "$how" --mirror-check-runs 3 \
		--mirror-check-days 2
	exit_is 0 "--mirror-proof $how on a loop mirror: exit 0 (only lvm raid1 proves merges)"
done
is "$(sqlite3 "$CATALOG" 'select count(*) from mirror_proofs')" "0" "... and no proof recorded"
is "$(sqlite3 "$CATALOG" "select json_extract(config, '\$.\"mirror-proof\"') from runs order by id desc limit 1")" \
	"full" "the run's stored configuration has it"

# recover takes the proof of the undos it runs; a bad one is refused first.
run "$MB" recover --catalog "$CATALOG" --mirror-proof maybe
exit_is 2 "recover --mirror-proof maybe: exit 2"
is "$RUN_ERR" "mbackup: error: invalid --mirror-proof 'maybe'
HINT: $HINT" "  the message"
run "$MB" recover --catalog "$CATALOG" --mirror-proof full --mirror-check-runs 2
exit_is 0 "recover --mirror-proof full: exit 0"
run "$MB" info --catalog "$CATALOG" --mirror-check-days 3
exit_is 0 "info takes --mirror-check-days (when the next full check is due)"
run "$MB" restore --from x --to y --mirror-proof full
exit_is 2 "--mirror-proof does not apply to restore"
is "$RUN_ERR" "mbackup: error: option '--mirror-proof' does not apply to 'restore'
HINT: see mbackup restore --help" "  the message"

# The variable that chose the witness before is retired: no code reads it
# (a loop mirror would ignore it anyway, so the source is what is checked).
is "$(grep -R -l MBACKUP_LVM_PROOF "$MB_ROOT/plugins" "$MB_ROOT/orchestrator" "$MB_ROOT/common")" "" \
	"MBACKUP_LVM_PROOF is read by no code"
done_testing
