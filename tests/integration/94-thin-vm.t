#!/bin/bash
# lvm:VG/LV on a thin LV: mbackup takes the thin snapshot itself through
# device-mapper inside the window (LVM cannot under a frozen filesystem),
# watches the pool (grown, the snapshot dropped before it fills), and
# recover removes what a killed run left, its id in the pool included;
# then PostgreSQL 15 on a thin LV, hot mode under pgbench.
# Boots the test VM once and runs tests/vm/thin-suite.sh inside it.
# Skipped when qemu, the kernel or the LVM tools are missing, or with
# MBACKUP_SKIP_VM=1.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/vm.sh"
. "$VM_ROOT/tests/vm/pg-lib.sh"
vm_require lvs:lvm2 mkfs.ext4:e2fsprogs perl:perl thin_check:thin-provisioning-tools
# PostgreSQL 15 for the last scenario (skipped there without it): the
# data directory is made once on the host and cached, the guest copies it.
if [ -x "$PG_BIN/postgres" ] && [ -x "$PG_BIN/pgbench" ] && id postgres >/dev/null 2>&1; then
	PG_TEMPLATE=$(pg_template 10) || bail_out "unable to make the PostgreSQL template on the host"
	export PG_TEMPLATE
fi
vm_exec --disks 2 --disk-size 2G --timeout 1800 -- tests/vm/thin-suite.sh
