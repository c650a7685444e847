#!/bin/bash
# tape: media against the real st(4) driver: boots the test VM once
# (tests/vm/vm-run) and runs tests/vm/tape-suite.sh inside it (virtual
# drives from tgtd's tape emulation over iSCSI on the guest's loopback);
# its TAP is passed through.  Skipped when qemu, the kernel, tgt,
# open-iscsi or mt-st are missing (deploy/setup installs them), or with
# MBACKUP_SKIP_VM=1.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/vm.sh"
vm_require tgtd:tgt tgtimg:tgt iscsiadm:open-iscsi iscsid:open-iscsi mt:mt-st mkfs.xfs:xfsprogs sqlite3:sqlite3
vm_exec --disks 1 --disk-size 4G --mem 2G --timeout 1500 -- tests/vm/tape-suite.sh
