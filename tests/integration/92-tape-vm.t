#!/bin/bash
# tape: media against the real st(4) driver: boots the test VM once
# (tests/vm/vm-run) and runs tests/vm/tape-suite.sh inside it (virtual
# drives from tgtd's tape emulation over iSCSI on the guest's loopback);
# its TAP is passed through.  Skipped when qemu, the kernel, tgt,
# open-iscsi or mt-st are missing (deploy/setup installs them), or with
# MBACKUP_SKIP_VM=1.
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
for t in busybox:busybox-static tgtd:tgt tgtimg:tgt iscsiadm:open-iscsi iscsid:open-iscsi \
	mt:mt-st mkfs.xfs:xfsprogs jq:jq sqlite3:sqlite3 cpio:cpio xz:xz-utils; do
	command -v "${t%%:*}" >/dev/null || skip_all "missing '${t%%:*}' (apt-get install ${t#*:})"
done
[ -x "$MB" ] || bail_out "no binary at '$MB' (run make)"
case $MB in
/tmp/*) bail_out "the guest cannot see the host's /tmp: put \$MBACKUP elsewhere" ;;
esac
cd "$root" || bail_out "unable to enter '$root'"
MBACKUP=$MB exec tests/vm/vm-run --disks 1 --disk-size 4G --mem 2G --timeout 900 -- tests/vm/tape-suite.sh
