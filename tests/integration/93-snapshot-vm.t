#!/bin/bash
# lvm:VG/LV on a linear LV: a classic COW snapshot stands in for the split
# leg, watched (extended, writers throttled) while the stream reads it;
# then PostgreSQL 15 on a linear LV, hot mode under pgbench.
# Boots the test VM once and runs tests/vm/snapshot-suite.sh inside it.
# Skipped when qemu, the kernel or the LVM tools are missing, or with
# MBACKUP_SKIP_VM=1.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/vm.sh"
. "$VM_ROOT/tests/vm/pg-lib.sh"
vm_require lvs:lvm2 mkfs.ext4:e2fsprogs perl:perl
# PostgreSQL 15 for the last scenario (skipped there without it): the
# data directory is made once on the host and cached, the guest copies it.
if [ -x "$PG_BIN/postgres" ] && [ -x "$PG_BIN/pgbench" ] && id postgres >/dev/null 2>&1; then
	PG_TEMPLATE=$(pg_template 10) || bail_out "unable to make the PostgreSQL template on the host"
	export PG_TEMPLATE
fi
vm_exec --disks 2 --disk-size 2G --timeout 1200 -- tests/vm/snapshot-suite.sh
