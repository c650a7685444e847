# tests/vm/tape-rescue.sh - a set member's rescue images read straight
# from its tape, sourced by tests/vm/tape-set-suite.sh inside the guest
# after its failed sets (its drives, load, new_tape, ID_werr, ID_eom and
# the survivors' tapes werr-b.img, werr-zstd-b.img, eom-b.img): single
# files from both images, plain and compressed, with a few rewinds (BOT,
# the image found, each earlier image), never one per file, then the
# failure paths: the wrong tape, a tape without its rescue image, a tape
# whose rescue image is cut short.
files=()
while read -r f; do [ -f "$SRC/$f" ] && [ ! -L "$SRC/$f" ] && files+=(--file "$f"); done <<<"$(
	"$MB" ls --from "$SCRATCH/werr.mbi" --output json | jq -r '.entries[].path' | head -40)"
# rescue_files WHAT IMG DIR: those files from survivor tape IMG (in nst0)
# into DIR, exact, with a few rewinds, never one per file
rescue_files() {
	local bad= i rew
	load 1 "$TD/$2"; mt -f /dev/nst0 rewind
	run "$MB" restore --from tape:/dev/nst0 --to "$SCRATCH/$3" "${files[@]}"
	exit_is 0 "$1: $((${#files[@]} / 2)) single files of the set straight from the survivor's tape"
	for ((i = 1; i < ${#files[@]}; i += 2)); do
		cmp -s "$SRC/${files[i]}" "$SCRATCH/$3/${files[i]}" || bad+=" ${files[i]}"
	done
	is "$bad" "" "$1: they are exact"
	rew=$(grep -o "rewound [0-9]* time" <<<"$RUN_ERR" | grep -o '[0-9]*')
	diag "$1: $(grep -o "'/dev/nst0' rewound.*" <<<"$RUN_ERR")"
	ok "$1: a few rewinds for the restore, not one per file (${rew:-?} for $((${#files[@]} / 2)) files)" \
		test -n "$rew" -a "${rew:-99}" -le 5 -a "${rew:-99}" -lt $((${#files[@]} / 2))
}
rescue_files rescue werr-b.img rescue-f
# the compressed set's survivor: each image read in order up to the last
# file it holds, then on to its trailer
rescue_files "rescue (compressed)" werr-zstd-b.img rescue-z
load 1 "$TD/werr-b.img"

# the wrong tape: the survivors of two backups given as one set
load 2 "$TD/eom-b.img"; mt -f /dev/nst0 rewind; mt -f /dev/nst1 rewind
run "$MB" restore --from tape:/dev/nst0 --from tape:/dev/nst1 --to "$SCRATCH/rescue-w"
exit_is 2 "rescue: a tape of another backup: usage (2)"
like "$RUN_ERR" "mbackup: error: image 'tape:/dev/nst1' belongs to backup $ID_eom \(2 devices\), not to backup $ID_werr \(2 devices\)" \
	"rescue: the wrong tape and both backups named"
nok "rescue: nothing written" test -e "$SCRATCH/rescue-w"

# copies of the survivor's tape: the label, image 1, and none or 3 records of the rescue image
copy_tape() { # IMG RECORDS: tape files 0 and 1 of nst0, RECORDS records of file 2
	local f
	new_tape "$TD/$1" 256; load 2 "$TD/$1"
	mt -f /dev/nst0 rewind; mt -f /dev/nst1 rewind; mt -f /dev/nst1 setblk 0
	for f in 0 1; do dd if=/dev/nst0 of="$SCRATCH/file$f" bs=256k status=none; done
	dd if=/dev/nst0 of="$SCRATCH/file2" bs=256k count="$2" status=none
	for f in 0 1 2; do
		[ -s "$SCRATCH/file$f" ] && dd if="$SCRATCH/file$f" of=/dev/nst1 bs=256k status=none
	done
	mt -f /dev/nst0 rewind; mt -f /dev/nst1 rewind
}
copy_tape miss.img 0
run "$MB" restore --from tape:/dev/nst1 --to "$SCRATCH/rescue-m"
exit_is 19 "rescue: the rescue image missing from the tape: partial (19)"
like "$RUN_ERR" "mbackup: error: [0-9]+ item\(s\) of backup $ID_werr cannot be restored: they are on devices not given" \
	"rescue: what is missing is counted"
like "$RUN_OUT" "cannot restore '[^']+': (it|bytes [0-9-]+ of [0-9]+) (is|are) on device 1 of 2, which is not given" \
	"rescue: each missing item listed"
copy_tape cut.img 3
run "$MB" restore --from tape:/dev/nst1 --to "$SCRATCH/rescue-c"
exit_is 10 "rescue: the rescue image cut short by the end of data: truncated (10)"
like "$RUN_ERR" "mbackup: error: image on tape '/dev/nst1' ends before byte [0-9]+" "rescue: where it ends"
like "$RUN_OUT" "cannot restore '[^']+': (it|bytes [0-9-]+ of [0-9]+) (is|are) on device 2 of 2, whose image 'tape:/dev/nst1@file2' is truncated" \
	"rescue: what it was to hold is listed, its image named"
