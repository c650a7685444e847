#!/bin/bash
# tests/lib/check-failures.sh LOG: make check calls it at the very end,
# after the guest suites, when host tests failed: it names them (prove's
# summary from LOG) and runs each again verbosely, printing the last 80
# lines, so that the tail of a CI log says which test failed and why (a
# second run that passes says the failure was not deterministic).
log=$1
echo "make check: the host tests failed:"
sed -n '/^Test Summary Report/,$p' "$log"
sed -n '/^Test Summary Report/,/^Files=/p' "$log" | grep -oE '^[^ ]+\.t' | sort -u |
while read -r t; do
	echo "---- $t, run again verbosely (last 80 lines):"
	prove --exec '' -v --merge "$t" 2>&1 | tail -n 80
done
