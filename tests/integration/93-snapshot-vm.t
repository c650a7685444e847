#!/bin/bash
# lvm:VG/LV on a linear LV: a classic COW snapshot stands in for the split
# leg, watched (extended, writers throttled) while the stream reads it.
# Boots the test VM once and runs tests/vm/snapshot-suite.sh inside it.
# Skipped when qemu, the kernel or the LVM tools are missing, or with
# MBACKUP_SKIP_VM=1.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/vm.sh"
vm_require lvs:lvm2 mkfs.ext4:e2fsprogs
vm_exec --disks 2 --disk-size 1G --timeout 600 -- tests/vm/snapshot-suite.sh
