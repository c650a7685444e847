#!/bin/bash
# tape sets in the guest: boots the test VM once (tests/vm/vm-run) and
# runs tests/vm/tape-set-suite.sh inside it: a set of two virtual tapes
# where one fails (a write error, the end of a small tape; plain and
# compressed) and a tape with a pipe in one set; its TAP is passed
# through.  Skipped as 92-tape-vm.t is.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/vm.sh"
vm_require tgtd:tgt tgtimg:tgt iscsiadm:open-iscsi iscsid:open-iscsi mt:mt-st mkfs.xfs:xfsprogs sqlite3:sqlite3
vm_exec --disks 1 --disk-size 2G --mem 2G --timeout 900 -- tests/vm/tape-set-suite.sh
