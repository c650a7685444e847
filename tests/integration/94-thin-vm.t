#!/bin/bash
# lvm:VG/LV on a thin LV: mbackup takes the thin snapshot itself through
# device-mapper inside the window (LVM cannot under a frozen filesystem),
# watches the pool (grown, the snapshot dropped before it fills), and
# recover removes what a killed run left, its id in the pool included.
# Boots the test VM once and runs tests/vm/thin-suite.sh inside it.
# Skipped when qemu, the kernel or the LVM tools are missing, or with
# MBACKUP_SKIP_VM=1.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/vm.sh"
vm_require lvs:lvm2 mkfs.ext4:e2fsprogs perl:perl thin_check:thin-provisioning-tools
vm_exec --disks 2 --disk-size 2G --timeout 600 -- tests/vm/thin-suite.sh
