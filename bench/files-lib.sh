# bench/files-lib.sh - sourced by bench/files-vm and bench/split-vm: the
# trees of tiny files (made on the host, cached in $CACHE), the writer that
# keeps rewriting 1 % of them in the guest, a median.  Needs $CACHE.

# fs_mb N: the filesystem's size, MiB (inode tables of 256 B, directories)
fs_mb() { echo $(( $1 / 1000 * 3 / 4 + 64 )); }

# make_image N: $CACHE/tN.img, an ext4 (inline_data) holding t/dDDDD/fFFFFFF
make_image() {
	local n=$1 img=$CACHE/t$1.img mnt=$CACHE/mnt.$$ dev
	[ -s "$img" ] && return 0
	mkdir -p "$CACHE" "$mnt" || return 1
	rm -f "$img.tmp"
	truncate -s "$(fs_mb "$n")M" "$img.tmp" &&
		mkfs.ext4 -q -F -O inline_data -I 256 -N $((n + n / 10 + 4096)) -J size=16 "$img.tmp" ||
		return 1
	dev=$(losetup -f --show "$img.tmp") || return 1
	mount "$dev" "$mnt" &&
		python3 - "$mnt/t" "$n" <<-'EOF'
		import os, sys
		root, n = sys.argv[1], int(sys.argv[2])
		for i in range(n):
		    d = os.path.join(root, "d%04d" % (i // 1000))
		    if i % 1000 == 0:
		        os.makedirs(d, exist_ok=True)
		    with open(os.path.join(d, "f%06d" % i), "wb") as f:
		        f.write(b"%08d" % i * (1 + i % 7))
		EOF
	local rc=$?
	umount "$mnt"; losetup -d "$dev"; rmdir "$mnt"
	[ "$rc" = 0 ] && mv "$img.tmp" "$img"
}

# writer DIR N: rewrites 1 % of the N files, round and round (no forks)
writer() {
	local dir=$1 n=$2 step=100 i p
	while :; do
		for ((i = 0; i < n; i += step)); do
			printf -v p '%s/d%04d/f%06d' "$dir" $((i / 1000)) "$i"
			printf 'x%d' "$RANDOM" >"$p"
		done
	done
}

# median of the arguments
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

