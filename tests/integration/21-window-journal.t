#!/bin/bash
# The window's recheck goes by the change journal (extentmap.h): over a
# still tree of 3,000 files it stats nothing, under a writer rewriting
# one file it stats at most that one; the counts are the run's own
# (the recheck phase's detail), not timings.  Both images restore
# byte-exact (the written file: one of its versions, whole).
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/fixture.sh"
fx_init
fx_setup ext4 1G
for d in $(seq -w 0 29); do
	mkdir "$SRC/d$d"
	for f in $(seq -w 0 99); do printf '%s/%s %0512d\n' "$d" "$f" 0 >"$SRC/d$d/f$f"; done
done
n_src=$(find "$SRC" -mindepth 1 | wc -l)

recheck_detail() { fx_last_run | jq -r '.phases[] | select(.name == "recheck") | .detail'; }
premap_detail() { fx_last_run | jq -r '.phases[] | select(.name == "premap") | .detail'; }

run fx_backup --media "file:$SCRATCH/still.mbi"
exit_is 0 "backup of a still tree exits 0"
like "$(premap_detail)" "converge rounds by the change journal$" "the premap converges by the journal"
is "$(recheck_detail)" "0 changed, 0 added, 0 removed, 0 dirs re-read, 0 of $n_src entries stat'ed (change journal)" \
	"a still tree: the window stats nothing"
run mb restore --from "$SCRATCH/still.mbi" --to "$SCRATCH/still"
exit_is 0 "restore of the still image exits 0"
fx_tree_is "$SRC" "$SCRATCH/still" "still tree restored identical"
run fx_backup --media "file:$SCRATCH/full.mbi" --full-recheck
exit_is 0 "backup with --full-recheck exits 0"
is "$(recheck_detail)" "0 changed, 0 added, 0 removed, 1 dirs re-read, $n_src of $n_src entries stat'ed (full)" \
	"--full-recheck: the window stats every entry, as before the journal"

# one file rewritten in place, one write(2) a version, all run long
fx_bg perl -e '$SIG{TERM} = sub { exit 0 }; for (my $g = 0; ; $g++) {
	open(my $f, "+<", $ARGV[0]) or die; syswrite($f, sprintf("%010d", $g) x 400); close $f }' \
	"$SRC/d07/f42"
WRITER=$!
sleep 0.3
run fx_backup --media "file:$SCRATCH/busy.mbi"
exit_is 0 "backup under the writer exits 0"
fx_stop_bg "$WRITER"
d=$(recheck_detail)
like "$d" "^[01] changed, 0 added, 0 removed, 0 dirs re-read, [01] of $n_src entries stat'ed \(change journal\)$" \
	"under one writer: the window stats at most its file"
run mb restore --from "$SCRATCH/busy.mbi" --to "$SCRATCH/busy"
exit_is 0 "restore of the busy image exits 0"
ok "the written file is one whole version" \
	perl -e 'local $/; open(my $f, "<", $ARGV[0]) or exit 1; my $d = <$f>;
		exit !(length($d) == 4000 && $d =~ /^(\d{10})\1{399}$/)' "$SCRATCH/busy/d07/f42"
rm -f "$SCRATCH/busy/d07/f42" "$SRC/d07/f42"
touch -r "$SRC/d07" "$SCRATCH/busy/d07"	# (the removal moved both)
fx_tree_is "$SRC" "$SCRATCH/busy" "the other files restored identical"
done_testing
