#!/bin/bash
# The mission against real LVM raid1 and a real PostgreSQL 15: boots the
# test VM once (tests/vm/vm-run) and runs tests/vm/pg-suite.sh inside it;
# its TAP is passed through.  The cluster's data directory (initdb +
# pgbench -i -s 10) is made once on the host and cached (tests/vm/pg-lib.sh
# pg_template), the guest copies it.  Skipped when qemu, the kernel, LVM or
# PostgreSQL 15 are not installed, or with MBACKUP_SKIP_VM=1.
. "$(dirname "$0")/../lib/tap.sh"
root=$(cd "$(dirname "$0")/../.." && pwd)
MB=${MBACKUP:-$root/build/mbackup}
. "$root/tests/vm/pg-lib.sh"

[ -z "${MBACKUP_SKIP_VM:-}" ] || skip_all "MBACKUP_SKIP_VM is set"
[ "$(id -u)" = 0 ] || skip_all "needs root (the guest shares the host's / with its owners)"
command -v qemu-system-x86_64 >/dev/null ||
	skip_all "qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)"
kernel=
for k in /boot/vmlinuz-*; do
	[ -d "/lib/modules/${k#/boot/vmlinuz-}/kernel" ] && kernel=$k
done
[ -n "$kernel" ] || skip_all "no /boot/vmlinuz-* with its modules (apt-get install linux-image-amd64)"
for t in busybox:busybox-static lvs:lvm2 mkfs.ext4:e2fsprogs jq:jq xz:xz-utils cpio:cpio \
	runuser:util-linux; do
	command -v "${t%%:*}" >/dev/null || skip_all "missing '${t%%:*}' (apt-get install ${t#*:})"
done
[ -x "$PG_BIN/postgres" ] && [ -x "$PG_BIN/pgbench" ] && [ -x "$PG_BIN/pg_amcheck" ] ||
	skip_all "no PostgreSQL 15 in '$PG_BIN' (apt-get install postgresql-15)"
id postgres >/dev/null 2>&1 || skip_all "no postgres user (apt-get install postgresql-15)"
[ -x "$MB" ] || bail_out "no binary at '$MB' (run make)"
case $MB in
/tmp/*) bail_out "the guest cannot see the host's /tmp: put \$MBACKUP elsewhere" ;;
esac

PG_TEMPLATE=$(pg_template 10) || bail_out "unable to make the PostgreSQL template on the host"
export PG_TEMPLATE

# The guest runs in the project directory, shared read-write.
cd "$root" || bail_out "unable to enter '$root'"
MBACKUP=$MB exec tests/vm/vm-run --disks 2 --disk-size 3G --timeout 900 -- tests/vm/pg-suite.sh
