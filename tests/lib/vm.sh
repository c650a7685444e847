# tests/lib/vm.sh - what every host-side test that boots the QEMU guest
# (tests/vm/vm-run) checks first.  Source after tap.sh, then:
#   vm_require [CMD:PACKAGE ...]    skip_all unless the guest can boot and
#                                   the listed tools exist; sets $VM_ROOT, $MB
#   vm_exec VM-RUN-OPTIONS -- SUITE runs the suite in the guest (exec)
VM_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
MB=${MBACKUP:-$VM_ROOT/build/mbackup}

vm_require() {
	local k kernel= t
	[ -z "${MBACKUP_SKIP_VM:-}" ] || skip_all "MBACKUP_SKIP_VM is set"
	[ "$(id -u)" = 0 ] || skip_all "needs root (the guest shares the host's / with its owners)"
	command -v qemu-system-x86_64 >/dev/null ||
		skip_all "qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)"
	for k in /boot/vmlinuz-*; do
		[ -d "/lib/modules/${k#/boot/vmlinuz-}/kernel" ] && kernel=$k
	done
	[ -n "$kernel" ] ||
		skip_all "no /boot/vmlinuz-* with its modules (apt-get install linux-image-amd64)"
	for t in busybox:busybox-static xz:xz-utils cpio:cpio jq:jq "$@"; do
		command -v "${t%%:*}" >/dev/null || skip_all "missing '${t%%:*}' (apt-get install ${t#*:})"
	done
	[ -x "$MB" ] || bail_out "no binary at '$MB' (run make)"
	case $MB in
	/tmp/*) bail_out "the guest cannot see the host's /tmp: put \$MBACKUP elsewhere" ;;
	esac
}

# The guest runs in the project directory, shared read-write.
vm_exec() {
	cd "$VM_ROOT" || bail_out "unable to enter '$VM_ROOT'"
	MBACKUP=$MB exec tests/vm/vm-run "$@"
}
