#!/bin/bash
# merge-diag.sh [ROUNDS] - what md's write-intent bitmap says around a
# --trackchanges split and merge, against where the legs really differ.
# With a dm-stats region on the top LV (created before the split, areas of
# the raid's region size), it also prints which areas saw writes, whether
# the counters survived the split's and the merge's table reloads, and any
# chunk where the legs differ that the counters did not mark (must be none).
# FS=xfs, NO_WM=1 (no write-mostly step before the merge) and GAP_WRITER=1
# (a writer through the merge) provoke the race more often.  SUSPEND=1
# suspends and resumes the top LV right before the merge (SUSPEND=alt: in
# even rounds), to see whether that avoids the race; each round ends with
# a "summary" line.  MOUNT_SPLIT=1 mounts the split image read-only during
# the split (mbackup does on ext4, and ext4 merges raced 6 of 6 times).
# Scratch diagnostic: tests/vm/vm-run --disks 2 --disk-size 2G -- tests/vm/merge-diag.sh 4
set -u
read -r -a d <<<"$VM_DISKS"
VG=md LV=x
ws() { local n=0; while [ "$(lvs --noheadings -o sync_percent,raid_sync_action "$VG/$LV" | xargs)" != "100.00 idle" ] && [ $n -lt 300 ]; do sleep 0.2; n=$((n + 1)); done; }
bits() {	# dirty chunk indices of the bitmap on $1
	dd if="$1" bs=4096 skip=1 count=1 iflag=direct status=none | od -A d -t x1 -v | python3 -c '
import sys
b = bytes(int(x, 16) for l in sys.stdin for x in l.split()[1:])
magic, ver = int.from_bytes(b[0:4], "little"), int.from_bytes(b[4:8], "little")
ev, evc, ss = (int.from_bytes(b[o:o+8], "little") for o in (24, 32, 40))
st, ch, ds = (int.from_bytes(b[o:o+4], "little") for o in (48, 52, 56))
n = (ss * 512 + ch - 1) // ch
dirty = [i for i in range(n) if b[256 + i // 8] >> (i % 8) & 1]
print("magic=%x v%d events=%d cleared=%d sync=%d state=%x chunk=%dK sleep=%d dirty=%s" % (magic, ver, ev, evc, ss, st, ch >> 10, ds, dirty))'
}
diffchunks() {	# chunks (of $1 bytes) where rimage_0 and rimage_1 differ
	cmp -l <(dd if=/dev/mapper/$VG-${LV}_rimage_0 bs=1M iflag=direct status=none) \
		<(dd if=/dev/mapper/$VG-${LV}_rimage_1 bs=1M iflag=direct status=none) 2>/dev/null |
		awk -v c="$1" '{ k = int(($1 - 1) / c); if (!(k in s)) { s[k] = 1; printf "%d ", k } } END { print "" }'
}
stats() {	# areas of the top LV's dm-stats region with writes done or in flight
	dmsetup message "$VG-$LV" 0 "@stats_print $1" |
		awk '{ if ($6 > 0 || $10 > 0) printf "%d ", NR - 1 } END { print "" }'
}
writes() { dmsetup message "$VG-$LV" 0 "@stats_print $1" | awk '{ w += $6 } END { print w + 0 }'; }
pvcreate -q -y "${d[@]:0:2}" >/dev/null; vgcreate -q "$VG" "${d[@]:0:2}" >/dev/null
mkdir -p /mnt/x
echo "diag start"
for r in $(seq "${1:-4}"); do
	lvcreate -q -y --type raid1 -m1 -L "${LVSIZE:-256M}" -n "$LV" "$VG" >/dev/null 2>&1; ws
	if [ "${FS:-ext4}" = xfs ]; then mkfs.xfs -q -f "/dev/$VG/$LV"; else mkfs.ext4 -q -F "/dev/$VG/$LV"; fi
	mount "/dev/$VG/$LV" /mnt/x
	dd if=/dev/urandom of=/mnt/x/a.bin bs=1M count=8 status=none; sync
	sleep "${PRE_SPLIT_SLEEP:-0}"
	echo "== round $r"; echo "table: $(dmsetup table $VG-$LV)"
	echo "rmeta0 before split: $(bits /dev/mapper/$VG-${LV}_rmeta_0)"
	ch=$(($(lvs --noheadings --units b --nosuffix -o region_size "$VG/$LV" | tr -d ' ')))
	sid=$(dmsetup message "$VG-$LV" 0 "@stats_create - $((ch / 512)) mbdiag")
	echo "stats region $sid, areas of $ch bytes"
	dmesg -C
	lvconvert -q -y --splitmirrors 1 --trackchanges "$VG/$LV" >/dev/null 2>&1
	blockdev --setro /dev/mapper/$VG-${LV}_rimage_1
	echo "split table: $(dmsetup table $VG-$LV)"
	if [ -n "${MOUNT_SPLIT:-}" ]; then	# as mbackup reads ext4's inline data
		mkdir -p /mnt/split
		mount -o ro,noload "/dev/mapper/$VG-${LV}_rimage_1" /mnt/split 2>/dev/null ||
			mount -o ro,norecovery "/dev/mapper/$VG-${LV}_rimage_1" /mnt/split
	fi
	dd if=/dev/urandom of=/mnt/x/b.bin bs=1M count=8 conv=fsync status=none
	echo "b.bin at: $(filefrag -v /mnt/x/b.bin | awk '/^ *[0-9]+:/ { print $4 }' | head -3 | tr '\n' ' ')"
	echo "rmeta0 after writes: $(bits /dev/mapper/$VG-${LV}_rmeta_0)"
	wb=$(writes "$sid")
	if [ -n "${GAP_WRITER:-}" ]; then
		(while :; do dd if=/dev/urandom of=/mnt/x/c.bin bs=64k count=16 conv=fsync,notrunc status=none; done) &
		gw=$!
	fi
	[ -n "${MOUNT_SPLIT:-}" ] && umount /mnt/split
	[ -n "${NO_WM:-}" ] || lvchange -q --writemostly "${d[1]}:y" "$VG/$LV" >/dev/null 2>&1
	sus=no
	if [ "${SUSPEND:-}" = 1 ] || { [ "${SUSPEND:-}" = alt ] && [ $((r % 2)) = 0 ]; }; then
		dmsetup suspend "$VG-$LV"; dmsetup resume "$VG-$LV"; sus=yes
	fi
	echo "rmeta0 after writemostly: $(bits /dev/mapper/$VG-${LV}_rmeta_0)"
	lvconvert -q -y --merge "$VG/${LV}_rimage_1" >/dev/null 2>&1
	echo "rmeta0 right after merge: $(bits /dev/mapper/$VG-${LV}_rmeta_0)"
	[ -n "${GAP_WRITER:-}" ] && { kill $gw; wait $gw 2>/dev/null; sync; echo "c.bin at: $(filefrag -v /mnt/x/c.bin | awk '/^ *[0-9]+:/ { print $4 }' | head -3 | tr '\n' ' ')"; }
	echo "rmeta1 right after merge: $(bits /dev/mapper/$VG-${LV}_rmeta_1)"
	wa=$(writes "$sid")
	echo "stats writes before the merge $wb, after $wa ($([ "$wa" -ge "$wb" ] && echo survived || echo LOST))"
	sd=$(stats "$sid")
	echo "stats dirty areas: $sd"
	ws
	echo "kernel: $(dmesg | grep -o 'md.*' | tr '\n' '|')"
	ch=$(($(lvs --noheadings --units b --nosuffix -o region_size "$VG/$LV" | tr -d ' ')))
	dc=$(diffchunks "$ch")
	echo "region $ch; legs differ on chunks: $dc"
	miss=""
	for k in $dc; do case " $sd " in *" $k "*) ;; *) miss="$miss $k" ;; esac; done
	echo "differing chunks the stats missed:${miss:- none}"
	dmsetup message "$VG-$LV" 0 "@stats_delete $sid"
	lvchange --syncaction check "$VG/$LV"; sleep 0.5; ws
	mm=$(lvs --noheadings -o raid_mismatch_count "$VG/$LV" | tr -d ' ')
	echo "check scrub: $mm"
	echo "summary round $r: suspend before merge $sus, skipped resync $([ "$mm" = 0 ] && echo no || echo yes), mismatched sectors $mm, differing chunks the stats missed:${miss:- none}"
	umount /mnt/x; lvremove -q -y "$VG/$LV" >/dev/null
done
