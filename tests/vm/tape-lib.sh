# tests/vm/tape-lib.sh - what the tape suites share, sourced first thing
# INSIDE the guest: the virtual drives (tgtd's SSC emulation on
# 127.0.0.1, logged in with open-iscsi, so the guest's st driver attaches
# /dev/nstN: tape_up N SIZE_MB, tape_down at exit), new_tape IMG SIZE_MB,
# load LUN IMG, lu LUN PARAMS, the scratch disk as /var/tmp, the fixture
# (tests/lib/fixture.sh), and the volume-change hook: SUITE --load DIR
# (loads DIR/vol$MBACKUP_VOLUME.img into the first drive).
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
IQN=iqn.2026-11.test.mbackup:tape
PORTAL=127.0.0.1:3260
T=/run/mbackup-tape

lu() { tgtadm --lld iscsi --mode logicalunit --op update --tid 1 --lun "$1" --params "$2"; }
new_tape() { # IMG SIZE_MB
	rm -f "$1"
	tgtimg --op new --device-type tape --type data --barcode "T$RANDOM" --size "$2" --file "$1" >/dev/null
}
load() { # LUN IMG
	lu "$1" online=0 && lu "$1" "path=$(readlink -f "$2")"
}
if [ "${1:-}" = --load ]; then
	load 1 "$2/vol$MBACKUP_VOLUME.img" || exit 1
	exit 0
fi

. "$(dirname "${BASH_SOURCE[0]}")/../lib/tap.sh"
[ -n "${VM_GUEST:-}" ] || skip_all "runs inside the test VM: tests/vm/vm-run --disks 1 -- $0"
read -r -a disks <<<"${VM_DISKS:-}"
[ "${#disks[@]}" -ge 1 ] || skip_all "needs a virtio disk (vm-run --disks 1)"
modprobe loop 2>/dev/null
# The fixture wants a scratch that is not a tmpfs: the disk, as /var/tmp.
mkfs.xfs -q -f -m reflink=1 "${disks[0]}" && mount "${disks[0]}" /var/tmp || bail_out "no scratch disk"
. "$(dirname "${BASH_SOURCE[0]}")/../lib/fixture.sh"
fx_init
SELF=$(readlink -f "$0")
TD=$SCRATCH/tapes
mkdir -p $T "$TD"

tape_up() { # N SIZE_MB
	modprobe st && modprobe sg || bail_out "no st module"
	ip link set lo up
	for ((i = 1; i <= $1; i++)); do new_tape "$TD/tape$i.img" "$2"; done
	setsid tgtd -f --iscsi portal=$PORTAL </dev/null >$T/tgtd.log 2>&1 &
	echo $! >$T/tgtd.pid
	for ((w = 0; w < 200; w++)); do [ -S /var/run/tgtd/socket.0 ] && break; sleep 0.05; done
	sleep 0.3
	tgtadm --lld iscsi --mode target --op new --tid 1 -T $IQN || bail_out "tgtadm failed"
	for ((i = 1; i <= $1; i++)); do
		tgtadm --lld iscsi --mode logicalunit --op new --tid 1 --lun $i --bstype ssc \
			--device-type tape -b "$TD/tape$i.img"
	done
	tgtadm --lld iscsi --mode target --op bind --tid 1 -I 127.0.0.1
	setsid iscsid -f -n </dev/null >$T/iscsid.log 2>&1 &
	echo $! >$T/iscsid.pid
	for ((w = 0; w < 200; w++)); do grep -q ISCSIADM_ABSTRACT /proc/net/unix && break; sleep 0.05; done
	iscsiadm -m node -o new -T $IQN -p $PORTAL >/dev/null
	iscsiadm -m node -T $IQN -p $PORTAL -o update -n node.session.timeo.replacement_timeout -v 15
	iscsiadm -m node -T $IQN -p $PORTAL --login >/dev/null || bail_out "iscsi login failed"
	for ((w = 0; w < 300; w++)); do [ -c /dev/nst$(($1 - 1)) ] && break; sleep 0.05; done
	[ -c /dev/nst0 ] || bail_out "no /dev/nst0"
	for ((i = 0; i < $1; i++)); do mt -f /dev/nst$i sttimeout 120 2>/dev/null; done
}
tape_down() {
	iscsiadm -m node -T $IQN -p $PORTAL --logout >/dev/null 2>&1
	[ -r $T/iscsid.pid ] && kill "$(cat $T/iscsid.pid)" 2>/dev/null
	tgtadm --lld iscsi --mode target --op delete --force --tid 1 >/dev/null 2>&1
	tgtadm --mode system --op delete >/dev/null 2>&1
	sleep 0.2
}
cleanup_all() { tape_down; fx_cleanup; umount /var/tmp 2>/dev/null; }
trap cleanup_all EXIT
