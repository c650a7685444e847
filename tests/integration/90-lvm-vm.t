#!/bin/bash
# The lvm: mirror driver against real LVM raid1: boots the test VM once
# (tests/vm/vm-run: qemu, the host's Debian kernel, the host's / over 9p)
# and runs tests/vm/lvm-suite.sh inside it; its TAP is passed through.
# Skipped when qemu, the kernel or the LVM tools are not installed
# (deploy/setup installs them), or with MBACKUP_SKIP_VM=1.
. "$(dirname "$0")/../lib/tap.sh"
root=$(cd "$(dirname "$0")/../.." && pwd)
MB=${MBACKUP:-$root/build/mbackup}

[ -z "${MBACKUP_SKIP_VM:-}" ] || skip_all "MBACKUP_SKIP_VM is set"
[ "$(id -u)" = 0 ] || skip_all "needs root (the guest shares the host's / with its owners)"
command -v qemu-system-x86_64 >/dev/null ||
	skip_all "qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)"
kernel=
for k in /boot/vmlinuz-*; do
	[ -d "/lib/modules/${k#/boot/vmlinuz-}/kernel" ] && kernel=$k
done
[ -n "$kernel" ] || skip_all "no /boot/vmlinuz-* with its modules (apt-get install linux-image-amd64)"
for t in busybox:busybox-static lvs:lvm2 mkfs.xfs:xfsprogs mkfs.ext4:e2fsprogs perl:perl \
	jq:jq xz:xz-utils cpio:cpio; do
	command -v "${t%%:*}" >/dev/null || skip_all "missing '${t%%:*}' (apt-get install ${t#*:})"
done
[ -x "$MB" ] || bail_out "no binary at '$MB' (run make)"
case $MB in
/tmp/*) bail_out "the guest cannot see the host's /tmp: put \$MBACKUP elsewhere" ;;
esac

# The guest runs in the project directory, shared read-write.
cd "$root" || bail_out "unable to enter '$root'"
MBACKUP=$MB exec tests/vm/vm-run --disks 2 --disk-size 2G --timeout 900 -- tests/vm/lvm-suite.sh
