# tests/lib/fixture.sh - loop-device fixtures for the integration tests.
#
#   . tests/lib/tap.sh; . tests/lib/fixture.sh
#   fx_init                      # root + tools + binary, $SCRATCH, cleanup trap
#   fx_setup ext4 [size] [mkfs options...]   # or xfs
#       $BACKING  the reflink-capable xfs (a loop-mounted sparse image)
#       $SRC_IMG  the source fs image inside it, attached as $SRC_LOOP,
#       $SRC_MNT  mounted here, and $SRC = $SRC_MNT/data, the backup source
#   fx_populate DIR              # the varied file set
#   fx_random_files DIR PREFIX N STEP   # N files of STEP, 2*STEP, ... bytes
#   fx_compare A B               # prints the first difference, returns 1
#   fx_tree_is A B NAME          # the same as a TAP assertion
#   fx_backup ARGS...            # mbackup backup on the fixture (+ $CATALOG)
#   mb ARGS...                   # the binary
#
# Everything lives under $SCRATCH (/var/tmp/mbackup-test.XXXX, never on a
# tmpfs); the catalog is $SCRATCH/catalog/catalog.db, never on the source.
# On exit: background processes killed, every fs under $SCRATCH thawed and
# unmounted, every loop device backed by a file under $SCRATCH detached.

MB_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
MB=${MBACKUP:-$MB_ROOT/build/mbackup}
FX_PIDS=()

mb() {
	"$MB" "$@"
}

# Picks the scratch parent: /var/tmp unless it is a tmpfs.
_fx_scratch_parent() {
	local d
	for d in /var/tmp /tmp "$MB_ROOT/build"; do
		if [ -d "$d" ] && [ "$(stat -f -c %T "$d")" != "tmpfs" ]; then
			echo "$d"
			return 0
		fi
	done
	return 1
}

fx_init() {
	local t parent
	[ "$(id -u)" = 0 ] || skip_all "needs root (loop devices, mount, fsfreeze)"
	for t in losetup mkfs.xfs mkfs.ext4 mount fsfreeze jq flock tar bsdtar \
		perl timeout findmnt; do
		command -v "$t" >/dev/null || skip_all "missing tool '$t' (run deploy/setup)"
	done
	[ -x "$MB" ] || [ -n "${FX_NO_BINARY:-}" ] || bail_out "no binary at '$MB' (run make)"
	# What the tests create is made for the postgres user too ($SCRATCH/etc,
	# the archive's parents): the caller's umask (077 on a hardened CI
	# machine) must not decide whether that user can read it.
	umask 022
	parent=$(_fx_scratch_parent) || bail_out "no non-tmpfs scratch directory"
	SCRATCH=$(mktemp -d "$parent/mbackup-test.XXXX") || bail_out "mktemp failed"
	export TMPDIR=$SCRATCH/tmp
	mkdir -p "$TMPDIR" "$SCRATCH/catalog" "$SCRATCH/out"
	CATALOG=$SCRATCH/catalog/catalog.db
	trap fx_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

# fx_bg CMD...: starts CMD in the background; killed at cleanup.  $! is its pid.
fx_bg() {
	"$@" &
	FX_PIDS+=($!)
}

# Loop devices whose backing file is under $SCRATCH.
_fx_loops() {
	losetup -l -n -O NAME,BACK-FILE 2>/dev/null |
		awk -v s="$SCRATCH/" 'index($2, s) == 1 { print $1 }'
}

# Mount points under $SCRATCH or from one of our loops, deepest first.
_fx_mounts() {
	local loops
	loops=" $(_fx_loops | tr '\n' ' ') "
	findmnt -rn -o TARGET,SOURCE | while read -r target source; do
		case "$target/" in
		"$SCRATCH"/*) echo "$target"; continue ;;
		esac
		case "$loops" in
		*" $source "*) echo "$target" ;;
		esac
	done | awk '{ print length($0) "\t" $0 }' | sort -rn | cut -f2-
}

fx_cleanup() {
	local rc=$? pid m l pass
	trap - EXIT
	for pid in "${FX_PIDS[@]}"; do
		kill -KILL "$pid" 2>/dev/null
	done
	[ -n "${SCRATCH:-}" ] && [ -d "$SCRATCH" ] || exit "$rc"
	for pid in "${FX_PIDS[@]}"; do
		wait "$pid" 2>/dev/null
	done
	# the object store of tests/lib/ceph.sh
	[ -n "${FX_CEPH_DIR:-}" ] && [ -d "$FX_CEPH_DIR" ] &&
		"$MB_ROOT/tests/lib/ceph-down" "$FX_CEPH_DIR" --keep
	for pass in 1 2 3; do
		for m in $(_fx_mounts); do
			fsfreeze -u "$m" 2>/dev/null
			umount "$m" 2>/dev/null
		done
		for l in $(_fx_loops); do
			losetup -d "$l" 2>/dev/null
		done
		[ -z "$(_fx_mounts)$(_fx_loops)" ] && break
		sleep 1
	done
	if [ -n "$(_fx_mounts)$(_fx_loops)" ]; then
		echo "# cleanup: left behind under '$SCRATCH': $(_fx_mounts) $(_fx_loops)" >&2
	elif [ -z "${FX_KEEP:-}" ]; then
		rm -rf "$SCRATCH"
	fi
	exit "$rc"
}

# fx_backing [SIZE]: a sparse xfs image with reflink=1 mounted at $BACKING.
fx_backing() {
	local size=${1:-3G}
	BACKING_IMG=$SCRATCH/backing.img
	BACKING=$SCRATCH/backing
	truncate -s "$size" "$BACKING_IMG" &&
		mkfs.xfs -q -f -m reflink=1 "$BACKING_IMG" &&
		BACKING_LOOP=$(losetup -f --show "$BACKING_IMG") &&
		mkdir -p "$BACKING" &&
		mount "$BACKING_LOOP" "$BACKING" || bail_out "unable to set up the backing xfs"
}

# fx_mkfs TYPE IMG [mkfs options...]
fx_mkfs() {
	local type=$1 img=$2
	shift 2
	case $type in
	ext4) mkfs.ext4 -q -F -I 256 "$@" "$img" ;;
	xfs) mkfs.xfs -q -f "$@" "$img" ;;
	*) echo "fx_mkfs: unknown fs type '$type'" >&2; return 1 ;;
	esac
}

# fx_source TYPE [SIZE] [mkfs options...]: the source fs inside $BACKING.
fx_source() {
	local type=$1 size=${2:-512M}
	shift 2 2>/dev/null || shift $#
	SRC_IMG=$BACKING/src.img
	SRC_MNT=$SCRATCH/src
	SRC=$SRC_MNT/data
	truncate -s "$size" "$SRC_IMG" &&
		fx_mkfs "$type" "$SRC_IMG" "$@" &&
		SRC_LOOP=$(losetup -f --show "$SRC_IMG") &&
		mkdir -p "$SRC_MNT" &&
		mount "$SRC_LOOP" "$SRC_MNT" &&
		mkdir "$SRC" || bail_out "unable to set up the $type source fs"
	export SRC_LOOP SRC SRC_MNT
}

fx_setup() {
	fx_backing
	fx_source "$@"
}

# mbackup backup on the fixture; extra options follow.
fx_backup() {
	"$MB" backup --db none --mirror "loop:$SRC_LOOP" --source "$SRC" \
		--catalog "$CATALOG" "$@"
}

# The newest run of the catalog as JSON.
fx_last_run() {
	"$MB" list --output json --catalog "$CATALOG" | jq -c '.[0]'
}

# The split clones left in $BACKING (one per line, nothing if none).
fx_clones() {
	find "$BACKING" -maxdepth 1 -name '*.mbackup-split-*' -printf '%f\n' 2>/dev/null
}

# fx_writable DIR [SECONDS]: a write on DIR's fs completes within SECONDS
# (a frozen fs blocks writers, so the attempt is bounded).
fx_writable() {
	local probe
	probe="$1/.fx-probe-$RANDOM$RANDOM"
	timeout -k 1 "${2:-3}" touch "$probe" 2>/dev/null || return 1
	rm -f "$probe"
}

# fx_wait_writable DIR MAX_SECONDS: polls; prints the seconds it took.
fx_wait_writable() {
	local start=$SECONDS
	while [ $((SECONDS - start)) -le "$2" ]; do
		if fx_writable "$1" 1; then
			echo $((SECONDS - start))
			return 0
		fi
	done
	return 1
}

# fx_random_files DIR PREFIX N STEP: N files DIR/PREFIX1 .. DIR/PREFIXN of
# i * STEP random bytes each
fx_random_files() {
	local i
	mkdir -p "$1" || return 1
	for i in $(seq 1 "$3"); do
		head -c $((i * $4)) /dev/urandom >"$1/$2$i" || return 1
	done
}

# ---- the varied file set ----

_fx_rand() { # FILE BYTES
	head -c "$2" /dev/urandom >"$1"
}

fx_populate() {
	local d=$1 deep long i
	(
		set -e
		cd "$d"
		mkdir -p a/b/c/d empty-dir 'with space/inner' modes
		: >empty-file
		: >a/b/c/d/empty-deep
		for i in $(seq 1 40); do
			_fx_rand "a/small-$i" $((i * 37))
		done
		_fx_rand a/b/block-511 511
		_fx_rand a/b/block-512 512
		_fx_rand a/b/block-513 513
		_fx_rand a/b/c/rand-1m 1048576
		_fx_rand a/b/c/rand-3m $((3 * 1048576 + 17))
		_fx_rand big-5m $((5 * 1048576))
		# sparse: data, a hole, data, a hole to the end
		_fx_rand sparse-mid 65536
		dd if=/dev/urandom of=sparse-mid bs=64K seek=160 count=1 conv=notrunc status=none
		truncate -s $((20 * 1048576)) sparse-mid
		truncate -s $((4 * 1048576)) sparse-all-hole
		# preallocated (unwritten extents), plain and partly written
		fallocate -l $((2 * 1048576)) falloc-unwritten
		fallocate -l $((2 * 1048576)) falloc-partial
		dd if=/dev/urandom of=falloc-partial bs=4K seek=100 count=3 conv=notrunc status=none
		fallocate -n -l $((1048576)) -o $((4 * 1048576)) falloc-partial # beyond EOF
		# long names and paths
		deep=$(printf 'deep%02d-abcdefghijklmnopqrstuvwxyz/' $(seq 1 12))
		mkdir -p "$deep"
		long=$(printf 'n%.0s' $(seq 1 200))
		_fx_rand "$deep$long" 3000
		_fx_rand "$(printf 'x%.0s' $(seq 1 255))" 100
		_fx_rand "$(printf 'h%.0s' $(seq 1 100))" 100
		_fx_rand "$(printf 'k%.0s' $(seq 1 99))" 99
		# non-ASCII and awkward names
		mkdir -p 'ünïcödé/日本語'
		echo "café" >'ünïcödé/café.txt'
		echo "kanji" >'ünïcödé/日本語/ファイル.txt'
		echo "omega" >'Ωmega Ψ.bin'
		echo spaces >'with space/a file with spaces'
		echo lead >' leading space'
		echo trail >'trailing space '
		echo quote >"quote'\"back\\slash=percent%"
		# symlinks
		ln -s a/small-1 link-rel
		ln -s ../../big-5m a/b/link-up
		ln -s /etc/hostname link-abs
		ln -s does/not/exist link-dangling
		ln -s "$(printf 't%.0s' $(seq 1 300))/target" link-long-target
		ln -s 'ünïcödé/café.txt' link-utf8
		ln -s a link-dir
		# hard links
		mkdir hl
		_fx_rand hl/orig 10000
		ln hl/orig hl/link-same-dir
		ln hl/orig a/b/link-other-dir
		echo pair >hl/pair-1
		ln hl/pair-1 hl/pair-2
		# a fifo
		mkfifo a/fifo
		# modes and owners
		echo 600 >modes/m0600 && chmod 0600 modes/m0600
		echo 755 >modes/m0755 && chmod 0755 modes/m0755
		echo 444 >modes/m0444 && chmod 0444 modes/m0444
		echo 000 >modes/m0000 && chmod 0000 modes/m0000
		echo 4755 >modes/m4755 && chmod 4755 modes/m4755
		mkdir modes/setgid-dir && chmod 2775 modes/setgid-dir
		echo inside >modes/setgid-dir/f
		mkdir modes/sticky-dir && chmod 1777 modes/sticky-dir
		mkdir modes/owned-dir
		echo owned >modes/owned-dir/f
		chown 1234:5678 modes/owned-dir modes/owned-dir/f modes/m0600
		chown -h 1234:5678 link-rel
		chown 0:5678 modes/m0755
		# mtimes with nanoseconds, children before parents
		i=0
		find . -mindepth 1 -depth -print0 | while IFS= read -r -d '' p; do
			i=$((i + 1))
			touch -h -d "@$((1500000000 + i * 86413)).$(printf '%09d' $((i * 7919 * 1013 % 1000000000)))" "$p"
		done
	)
}

# ---- tree comparison ----
#
# FX_CMP_EXCLUDE: an ERE of relative paths to ignore in both trees.
# FX_CMP_NO_LINK_MTIME=1: do not compare the mtimes of symlinks.
# FX_CMP_NO_TYPES="p": entry types (find %y letters) to ignore.

_fx_manifest() {
	(cd "$1" && find . -mindepth 1 -printf '%P\t%y\t%m\t%U\t%G\t%s\t%T@\t%l\n') |
		awk -F'\t' -v ex="${FX_CMP_EXCLUDE:-}" -v nolm="${FX_CMP_NO_LINK_MTIME:-}" \
			-v notypes="${FX_CMP_NO_TYPES:-}" '
		BEGIN { OFS = "\t" }
		ex != "" && $1 ~ ex { next }
		notypes != "" && index(notypes, $2) { next }
		{
			if ($2 == "d") $6 = "-"	# directory sizes differ between fs types
			if ($2 == "l" && nolm) $7 = "-"
			print
		}' | LC_ALL=C sort
}

# Regular files with more than one link: "path<TAB>first path of its group".
_fx_links() {
	(cd "$1" && find . -mindepth 1 -type f -links +1 -printf '%i\t%P\n') |
		awk -F'\t' -v ex="${FX_CMP_EXCLUDE:-}" '
		ex != "" && $2 ~ ex { next }
		{ p[NR] = $2; ino[NR] = $1
		  if (!($1 in first) || $2 < first[$1]) first[$1] = $2 }
		END { for (i = 1; i <= NR; i++) print p[i] "\t" first[ino[i]] }' |
		LC_ALL=C sort
}

# fx_compare A B: identical trees below A and B (the roots themselves are
# not compared).  Prints the first difference and returns 1.
fx_compare() {
	local a=$1 b=$2 ma mb d p
	# (a missing tree would list as empty and equal another missing one)
	for d in "$a" "$b"; do
		[ -d "$d" ] || { echo "no directory '$d'"; return 1; }
	done
	ma=$(_fx_manifest "$a") || return 1
	mb=$(_fx_manifest "$b") || return 1
	if [ "$ma" != "$mb" ]; then
		d=$(diff <(echo "$ma") <(echo "$mb") | grep '^[<>]' | head -4)
		echo "entries differ (path type mode uid gid size mtime target):"
		echo "$d" | sed "s|^<|  $a:|; s|^>|  $b:|"
		return 1
	fi
	while IFS= read -r -d '' p; do
		if ! cmp -s "$a/$p" "$b/$p"; then
			echo "content differs: '$p'"
			cmp "$a/$p" "$b/$p" 2>&1 | head -1
			return 1
		fi
	done < <(cd "$a" && find . -mindepth 1 -type f -printf '%P\0' |
		if [ -n "${FX_CMP_EXCLUDE:-}" ]; then grep -zEv "$FX_CMP_EXCLUDE"; else cat; fi)
	ma=$(_fx_links "$a")
	mb=$(_fx_links "$b")
	if [ "$ma" != "$mb" ]; then
		echo "hard-link groups differ (path, first path of its group):"
		diff <(echo "$ma") <(echo "$mb") | grep '^[<>]' | head -4 |
			sed "s|^<|  $a:|; s|^>|  $b:|"
		return 1
	fi
	return 0
}

# fx_tree_is A B NAME
fx_tree_is() {
	local out
	if out=$(fx_compare "$1" "$2" 2>&1); then
		pass "$3"
	else
		fail "$3" "$out"
	fi
}

# Removes the index and trailer members (the image's first and last member)
# from a tree extracted with plain tar, so it can be compared to the source.
# fx_strip_meta DIR IMAGE SRC
fx_strip_meta() {
	local dir=$1 img=$2 src=$3 m parent
	for m in "$(tar -tf "$img" | head -1)" "$(tar -tf "$img" | tail -1)"; do
		m=${m#./}
		[ -n "$m" ] || continue
		[ -e "$src/$m" ] && continue
		rm -f "$dir/$m"
		parent=$(dirname "$m")
		while [ "$parent" != "." ] && [ ! -e "$src/$parent" ]; do
			rmdir "$dir/$parent" 2>/dev/null || break
			parent=$(dirname "$parent")
		done
	done
}

# ---- PostgreSQL 15 on loop mirrors ----
#
#   fx_pg_available || skip_all ...   # PostgreSQL 15's binaries, $FX_PGBIN
#   fx_wal_fs [SIZE]             # a second loop fs: $WAL_IMG, $WAL_LOOP at $WAL_MNT
#   fx_pg_env                    # $SOCK (private socket dir), PGHOST, PGUSER, PGDATABASE,
#                                # and fx_pg_mb: $MB becomes a copy the postgres
#                                # user can run (archive_command, restore_command)
#   fx_as_pg CMD...              # CMD as the postgres user
#   fx_pg_start DATADIR PORT     # a private server (log $SOCK/log-PORT)
#   fx_pg_stop_all               # every server fx_pg_start started (call it
#                                # from the EXIT trap, before fx_cleanup)
#   fx_sql PORT SQL              # one statement, unaligned tuples only
#   fx_pg_suite BACKING SRC WAL  # the usual start of a PostgreSQL test: skip
#                                # without PostgreSQL 15; scratch, a source
#                                # fs of SRC and a pg_wal fs of WAL on
#                                # BACKING, $SOCK, pg/ dirs owned by
#                                # postgres, a free $PORT, and the EXIT
#                                # trap (servers stopped, then cleanup,
#                                # keeping the test's exit status)
FX_PGBIN=/usr/lib/postgresql/15/bin
FX_PG_DIRS=()

fx_pg_available() {
	[ -x "$FX_PGBIN/initdb" ]
}

fx_wal_fs() {
	WAL_IMG=$BACKING/wal.img
	WAL_MNT=$SCRATCH/wal
	truncate -s "${1:-512M}" "$WAL_IMG" &&
		fx_mkfs ext4 "$WAL_IMG" &&
		WAL_LOOP=$(losetup -f --show "$WAL_IMG") &&
		mkdir -p "$WAL_MNT" && mount "$WAL_LOOP" "$WAL_MNT" ||
		bail_out "unable to set up the WAL fs"
}

fx_pg_env() {
	SOCK=$SCRATCH/sock
	mkdir -p "$SOCK" && chown postgres "$SOCK" || bail_out "unable to make '$SOCK'"
	export PGHOST=$SOCK PGUSER=postgres PGDATABASE=postgres
	fx_pg_mb
}

fx_pg_suite() {
	fx_pg_available || skip_all "PostgreSQL 15 is not installed (run deploy/setup)"
	fx_init
	chmod 755 "$SCRATCH"
	fx_backing "$1"
	fx_source ext4 "$2"
	fx_wal_fs "$3"
	fx_pg_env
	mkdir -p "$SRC_MNT/pg" "$WAL_MNT/pg"
	chown postgres "$SRC_MNT/pg" "$WAL_MNT/pg"
	PORT=$((20000 + RANDOM % 20000))
	trap 'rc=$?; fx_pg_stop_all; (exit $rc); fx_cleanup' EXIT
}

fx_as_pg() {
	runuser -u postgres -- "$@"
}

# The binary PostgreSQL runs (archive_command, restore_command) must be one
# the postgres user can reach: a checkout under /root (mode 0700), as on a
# CI machine, or a build made under umask 077 is not.  So a copy, mode
# 0755, in $SCRATCH/bin ($SCRATCH made 0755 first, as for $SOCK).
# fx_pg_env makes it, so that no PostgreSQL test has to remember it; a
# second call changes nothing.
fx_pg_mb() {
	[ "$MB" = "$SCRATCH/bin/mbackup" ] && return 0
	mkdir -p "$SCRATCH/bin" && chmod 755 "$SCRATCH" "$SCRATCH/bin" &&
		install -m 0755 "$MB" "$SCRATCH/bin/mbackup" ||
		bail_out "unable to copy '$MB' to '$SCRATCH/bin'"
	MB=$SCRATCH/bin/mbackup
}

# checkpoint_completion_target=0: a spread checkpoint (mbackup's default
# --checkpoint) is not paced over minutes, yet still logged as one.
fx_pg_start() {
	fx_as_pg "$FX_PGBIN/pg_ctl" -D "$1" -w -l "$SOCK/log-$2" \
		-o "-p $2 -k $SOCK -c listen_addresses='' -c fsync=on -c checkpoint_completion_target=0" \
		start >/dev/null &&
		FX_PG_DIRS+=("$1")
}

fx_pg_stop_all() {
	local d
	for d in "${FX_PG_DIRS[@]}"; do
		fx_as_pg "$FX_PGBIN/pg_ctl" -D "$d" -m immediate stop >/dev/null 2>&1
	done
}

fx_sql() {
	psql -X -q -At -p "$1" -c "$2"
}

# fx_flip IMAGE OFFSET: flips one byte of a file (damage on purpose).
fx_flip() {
	perl -e 'open(my $f, "+<", $ARGV[0]) or die; binmode $f; seek($f, $ARGV[1], 0);
		read($f, my $c, 1) == 1 or die; seek($f, $ARGV[1], 0); print $f chr(ord($c) ^ 0x5a);
		close $f or die' "$1" "$2"
}

# fx_member_offset IMAGE PATH: the image offset of PATH's member.
fx_member_offset() {
	"$MB" ls --from "$1" --output json | jq -r --arg p "$2" '.entries[] | select(.path == $p) | .offset'
}

# fx_pg_ticker PORT FILE: inserts 1, 2, ... into table ticks, one
# transaction each, writing each id to FILE after its commit returned.
fx_pg_ticker() {
	local i=1
	while psql -X -q -p "$1" -c "insert into ticks values ($i)" 2>/dev/null; do
		echo "$i" >>"$2"
		i=$((i + 1))
	done
}

# fx_stop_bg: stops what fx_bg started (and waits for it).
fx_stop_bg() {
	local pid
	for pid in "${FX_PIDS[@]}"; do kill "$pid" 2>/dev/null; done
	wait 2>/dev/null
	FX_PIDS=()
}

# fx_tiny_suite [FS]: the start of a test of refusals and messages:
# fx_init, fx_setup FS (ext4), and the smallest tree, $SRC/d/hello.
fx_tiny_suite() {
	fx_init
	fx_setup "${1:-ext4}"
	mkdir -p "$SRC/d" && echo hello >"$SRC/d/hello" || bail_out "unable to fill '$SRC'"
}

# fx_chain_suite SIZE: the start of a test of increment chains on a plain
# tree (--db none): fx_init, fx_setup ext4 SIZE, $OUT ($SCRATCH/out, made
# by fx_init), and mb VERB ARGS... with the test's catalog.
fx_chain_suite() {
	fx_init
	fx_setup ext4 "$1"
	OUT=$SCRATCH/out
	mb() { "$MB" "$1" --catalog "$CATALOG" "${@:2}"; }
}

# fx_pg_cluster DATA [SCALE]: initdb DATA (trust, its pg_wal on
# $WAL_MNT/pg/pg_wal), the server started on $PORT, and with SCALE
# pgbench's tables (-i -s SCALE); any failure bails out.
fx_pg_cluster() {
	fx_as_pg "$FX_PGBIN/initdb" -A trust -D "$1" -X "$WAL_MNT/pg/pg_wal" >/dev/null ||
		bail_out "initdb failed"
	fx_pg_start "$1" "$PORT" || bail_out "postgres did not start: $(tail -5 "$SOCK/log-$PORT")"
	[ -z "${2:-}" ] ||
		fx_as_pg "$FX_PGBIN/pgbench" -h "$SOCK" -p "$PORT" -i -s "$2" -q postgres >/dev/null 2>&1 ||
		bail_out "pgbench -i failed"
}
