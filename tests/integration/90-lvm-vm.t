#!/bin/bash
# The LVM mirror driver (--mirror VG/LV) against real LVM raid1: boots the test VM once
# (tests/vm/vm-run: qemu, the host's Debian kernel, the host's / over 9p)
# and runs tests/vm/lvm-suite.sh inside it; its TAP is passed through.
# Skipped when qemu, the kernel or the LVM tools are not installed
# (deploy/setup installs them), or with MBACKUP_SKIP_VM=1.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/vm.sh"
vm_require lvs:lvm2 mkfs.xfs:xfsprogs mkfs.ext4:e2fsprogs perl:perl
vm_exec --disks 2 --disk-size 2G --timeout 1200 -- tests/vm/lvm-suite.sh
