#!/bin/bash
# tests/vm/tape-set-suite.sh - a set of two tapes where one fails, and a
# tape with a pipe in one set, against the real st(4) driver, run INSIDE
# the guest (TAP):  tests/vm/vm-run --disks 1 -- tests/vm/tape-set-suite.sh
# (tests/integration/92-tape-set-vm.t does that).  See tape-lib.sh.
. "$(dirname "$0")/tape-lib.sh"

tape_up 2 256
fx_setup ext4 256M
fx_populate "$SRC"
dd if=/dev/urandom of="$SRC/big.bin" bs=1M count=6 status=none

# ==== a set of two tapes where one fails (issue 14/15 leftovers, 4a 4b 5) ====
# The ring holds a small image whole, so a drive's failure shows only when
# the image is pushed down at its end: the set must still fail over there.
# The survivor's rescue image is the tape file after its first image;
# both files read back as one stream (dd) restore the whole tree.
# survivor_file NST OUT: tape files 1 and 2 of NST (after the label) in OUT
survivor_file() {
	mt -f "$1" rewind && mt -f "$1" fsf 1 &&
		dd if="$1" bs=256k status=none >"$2" && dd if="$1" bs=256k status=none >>"$2"
}
# set_failed NAME: device 1 failed, device 2 complete, run complete; the
# survivor's two tape files restore the tree
set_failed() {
	exit_is 0 "$1: the run completes on the other tape"
	like "$RUN_ERR" "warn  device 1 \\('tape:/dev/nst0'\\) failed: [^
]+; its items went to the others" "$1: the failed tape is named"
	is "$(fx_last_run | jq -r '[.status, (.media[] | .status)] | join(" ")')" \
		"complete failed complete" "$1: the catalog says which failed"
	survivor_file /dev/nst1 "$SCRATCH/$1.mbi"
	run "$MB" restore --from "$SCRATCH/$1.mbi" --to "$SCRATCH/r-$1"
	exit_is 0 "$1: the survivor's first and rescue images restore"
	fx_tree_is "$SRC" "$SCRATCH/r-$1" "$1: byte-exact"
	eval "ID_${1//-/_}=$(fx_last_run | jq -r .id)"
	mt -f /dev/nst1 rewind
	run "$MB" restore --from tape:/dev/nst1 --to "$SCRATCH/t-$1"
	exit_is 0 "$1: the set restores straight from the survivor's tape (its rescue image is tape file 2)"
	like "$RUN_ERR" "tape: next image from file 2 of volume 1" "$1: the rescue image read on past the filemark"
	fx_tree_is "$SRC" "$SCRATCH/t-$1" "$1: byte-exact from the drive"
	like "$RUN_ERR" "'/dev/nst1' rewound [1-5] time\(s\)" \
		"$1: a few rewinds for the whole restore (BOT, the image found, each earlier image)"
	diag "$1: $(grep -o "'/dev/nst1' rewound.*" <<<"$RUN_ERR")"
	[[ $1 != *zstd ]] && return
	like "$RUN_ERR" "zstd: read [0-9]+ compressed bytes in order" "$1: each compressed image read in order"
	mt -f /dev/nst1 rewind
	run "$MB" verify --from tape:/dev/nst1
	exit_is 0 "$1: verify of the set straight from the survivor's tape exits 0"
	like "$RUN_ERR" "tape: next image from file 2 of volume 1" "$1: verify reads the rescue image too"
}
# write_error NAME [args]: nst0 write-protected mid-run (writes then fail EIO)
write_error() {
	local name=$1 pid
	shift
	new_tape "$TD/$name-a.img" 256; new_tape "$TD/$name-b.img" 256
	load 1 "$TD/$name-a.img"; load 2 "$TD/$name-b.img"
	mt -f /dev/nst0 rewind; mt -f /dev/nst1 rewind
	"$MB" backup --db none --mirror "loop:$SRC_LOOP" --source "$SRC" --catalog "$CATALOG" \
		--media tape:/dev/nst0 --media tape:/dev/nst1 --segment-threshold 2M --max-rate 4M \
		"$@" 2>"$SCRATCH/$name.err" &
	pid=$!
	# once the window is over (the label is written, the ring holds the
	# image until its end): every write from now on fails EIO
	for ((w = 0; w < 1200; w++)); do
		grep -q 'phase unquiesce: done' "$SCRATCH/$name.err" && break
		sleep 0.1
	done
	lu 1 readonly=1
	wait "$pid"
	RUN_RC=$?
	RUN_ERR=$(cat "$SCRATCH/$name.err")
	lu 1 readonly=0
	set_failed "$name"
}
write_error werr
write_error werr-zstd --compress zstd
# the end of a small tape, no --volume-change
new_tape "$TD/eom-a.img" 4; new_tape "$TD/eom-b.img" 256
load 1 "$TD/eom-a.img"; load 2 "$TD/eom-b.img"
mt -f /dev/nst0 rewind; mt -f /dev/nst1 rewind
run fx_backup --media tape:/dev/nst0 --media tape:/dev/nst1 --segment-threshold 2M
set_failed eom

. "$(dirname "$0")/tape-rescue.sh"	# rescue images straight from the drive

# ==== the failed tape given with the survivor, plain and compressed ====
# A plain failed tape shows its missing trailer when the set is opened
# (the trailer is read first where the image seeks); a compressed one is
# read in order and cannot show it before it is read: the survivor's
# rescue image says that device failed, so it is set aside before
# anything is read.  Either way the survivor restores, both orders given;
# never truncated mid-restore.
# with_survivor NAME [args]: device 1 hits the end of a small tape
with_survivor() {
	local name=$1 given g1 g2
	shift
	new_tape "$TD/$name-a.img" 4; new_tape "$TD/$name-b.img" 256
	load 1 "$TD/$name-a.img"; load 2 "$TD/$name-b.img"
	mt -f /dev/nst0 rewind; mt -f /dev/nst1 rewind
	run fx_backup --media tape:/dev/nst0 --media tape:/dev/nst1 --segment-threshold 2M "$@"
	exit_is 0 "$name: the run completes on the other tape"
	for given in "tape:/dev/nst0 tape:/dev/nst1" "tape:/dev/nst1 tape:/dev/nst0"; do
		mt -f /dev/nst0 rewind; mt -f /dev/nst1 rewind
		read -r g1 g2 <<<"$given"
		rm -rf "$SCRATCH/r-$name"
		run "$MB" restore --from "$g1" --from "$g2" --to "$SCRATCH/r-$name"
		exit_is 0 "$name: the failed tape with the survivor ($given) restores (0)"
		fx_tree_is "$SRC" "$SCRATCH/r-$name" "$name: byte-exact ($given)"
		nok "$name: nothing truncated mid-restore ($given)" \
			grep -q 'truncated\|the restore stopped' <<<"$RUN_OUT$RUN_ERR"
	done
}
with_survivor eom-plain
with_survivor eom-zstd --compress zstd

# ==== a tape and a pipe in one set (4c): the pipe takes the tape's records ====
new_tape "$TD/tp.img" 256
load 1 "$TD/tp.img"; mt -f /dev/nst0 rewind
rm -f "$SCRATCH/tp.fifo"; mkfifo "$SCRATCH/tp.fifo"
timeout 600 cat "$SCRATCH/tp.fifo" >"$SCRATCH/tp.pipe" &
reader=$!
run fx_backup --media tape:/dev/nst0 --media "pipe:$SCRATCH/tp.fifo" --segment-threshold 2M
exit_is 0 "a tape and a pipe in one set"
wait "$reader"	# (not every job: tgtd and iscsid are jobs of this shell)
mt -f /dev/nst0 rewind
run "$MB" restore --from tape:/dev/nst0 --from "$SCRATCH/tp.pipe" --to "$SCRATCH/r-tp"
exit_is 0 "the tape + pipe set restores"
fx_tree_is "$SRC" "$SCRATCH/r-tp" "byte-exact"
is "$(( $(stat -c %s "$SCRATCH/tp.pipe") % 262144 ))" 0 "the pipe's image is padded to the tape's records"
done_testing
