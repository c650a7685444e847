#!/bin/bash
# The mission against real LVM raid1 and a real PostgreSQL 15: boots the
# test VM once (tests/vm/vm-run) and runs tests/vm/pg-suite.sh inside it;
# its TAP is passed through.  The cluster's data directory (initdb +
# pgbench -i -s 10) is made once on the host and cached (tests/vm/pg-lib.sh
# pg_template), the guest copies it.  Skipped when qemu, the kernel, LVM or
# PostgreSQL 15 are not installed, or with MBACKUP_SKIP_VM=1.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/vm.sh"
. "$VM_ROOT/tests/vm/pg-lib.sh"
vm_require lvs:lvm2 mkfs.ext4:e2fsprogs mkfs.xfs:xfsprogs runuser:util-linux
[ -x "$PG_BIN/postgres" ] && [ -x "$PG_BIN/pgbench" ] && [ -x "$PG_BIN/pg_amcheck" ] ||
	skip_all "no PostgreSQL 15 in '$PG_BIN' (apt-get install postgresql-15)"
id postgres >/dev/null 2>&1 || skip_all "no postgres user (apt-get install postgresql-15)"

PG_TEMPLATE=$(pg_template 10) || bail_out "unable to make the PostgreSQL template on the host"
export PG_TEMPLATE
vm_exec --disks 2 --disk-size 3G --timeout 1500 -- tests/vm/pg-suite.sh
