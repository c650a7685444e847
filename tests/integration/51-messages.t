#!/bin/bash
# The message audit: one real case per exit code of common/error.h that a
# user reaches from the command line, a bad file or bad media, each with
# its exact exit code, its one error line (what, where, why) and its hint
# line (exactly, "" for none).  The codes:
#    1 general      a phase that fails (MBACKUP_FAULT's error, the seam of
#                   the fault matrix; otherwise only out of memory)
#    2 usage        a mirror given twice
#    3 config       an unknown key in a config file
#    4 locked       another holder of the catalog lock
#    5 source       --source a regular file
#    6 mirror       loop: on a device that is no loop device
#    7 quiesce      a source filesystem frozen already
#    8 media        an image file that exists, without --force
#    9 corrupt      a byte of a file's data flipped in the image
#   10 truncated    an image cut short
#   11 target       a restore into a directory that is not empty
#   12 catalog      list of a catalog that does not exist
#   13 io           a restore onto a filesystem that fills up
#   14 timeout      a pipe whose reader takes nothing, --device-timeout
#   15 interrupted  SIGTERM while the preflight waits for a pipe's reader
#   16 database     --db postgres with no server at --pg-conn
#   17 not-found    restore --file of a name the image lacks
#   19 partial      a restore of one image of a two-device set
# 18 (internal) is a programmer error caught at run time: no input reaches it.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/fixture.sh"
fx_tiny_suite
head -c $((4 * 1048576)) /dev/urandom >"$SRC/d/big"
O=$SCRATCH/out
BK=(--db none --mirror "loop:$SRC_LOOP" --source "$SRC" --catalog "$CATALOG")

# says CODE NAME MESSAGE HINT -- CMD...: the exit code, the one error line
# and the hint line, exactly.
says() {
	local code=$1 name=$2 msg=$3 hint=$4
	shift 5
	run "$@"
	exit_is "$code" "$code $name: exit $code"
	is "$(printf '%s\n' "$RUN_ERR" | grep '^mbackup: error: ')" "mbackup: error: $msg" \
		"$code $name: the error line"
	is "$(printf '%s\n' "$RUN_ERR" | grep '^HINT: ')" "${hint:+HINT: $hint}" "$code $name: the hint"
}
# ended PID: waits for PID (at most 60 s); $ENDED_RC its exit code.
ended() {
	local i
	for i in $(seq 1 600); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
	done
	wait "$1"
	ENDED_RC=$?
}

run "$MB" "${BK[@]}" --media "file:$O/good.mbi"
exit_is 0 "a good image to damage"
run "$MB" "${BK[@]}" --media "file:$O/m1.mbi" --media "file:$O/m2.mbi"
exit_is 0 "a set of two images"
set_id=$("$MB" info --output json --catalog "$CATALOG" | jq -r .id)

says 1 general "injected fault at after-premap" "" -- \
	env MBACKUP_FAULT=after-premap:error "$MB" "${BK[@]}" --media "file:$O/f.mbi"
says 2 usage "mirror 'loop:$SRC_LOOP' is given twice" "give each --mirror once" -- \
	"$MB" "${BK[@]}" --mirror "loop:$SRC_LOOP" --media "file:$O/u.mbi"
printf 'bogus = 1\n' >"$O/bad.conf"
says 3 config "config '$O/bad.conf' line 1: unknown option 'bogus'" \
	"names are the long options without '--', see mbackup --help" -- \
	"$MB" list --config "$O/bad.conf"
flock -o "$CATALOG.lock" sleep 30 &
HOLDER=$!
FX_PIDS+=($HOLDER)
sleep 0.5
says 4 locked "another mbackup run holds the lock '$CATALOG.lock'" \
	"wait for it to finish, or check 'mbackup list'" -- "$MB" "${BK[@]}" --media "file:$O/l.mbi"
kill "$HOLDER"
wait "$HOLDER" 2>/dev/null
says 5 source "source '$SRC/d/hello' is not a directory" \
	"--source names the directory whose tree is backed up" -- \
	"$MB" --db none --mirror "loop:$SRC_LOOP" --source "$SRC/d/hello" --catalog "$CATALOG" \
	--media "file:$O/s.mbi"
says 6 mirror "mirror device '/dev/null' is not a loop device" \
	"the loop: driver needs the /dev/loopN the filesystem is mounted from" -- \
	"$MB" --db none --mirror loop:/dev/null --source "$SRC" --catalog "$CATALOG" --media "file:$O/m.mbi"
fsfreeze -f "$SRC_MNT"
says 7 quiesce "unable to freeze '$SRC_MNT': Device or resource busy" \
	"it is frozen already (fsfreeze -u $SRC_MNT thaws it)" -- \
	timeout 120 "$MB" "${BK[@]}" --media "file:$O/q.mbi" --freeze-timeout 5
fsfreeze -u "$SRC_MNT"
says 8 media "media file '$O/good.mbi' already exists" \
	"choose a new name, or pass --force to overwrite it" -- "$MB" "${BK[@]}" --media "file:$O/good.mbi"
cp "$O/good.mbi" "$O/flip.mbi"
off=$(fx_member_offset "$O/flip.mbi" d/big)
fx_flip "$O/flip.mbi" $((off + 4096))
says 9 corrupt "checksum mismatch in 'd/big' (member at offset $off)" \
	"the image changed after it was written: restore from another copy" -- \
	"$MB" verify --from "$O/flip.mbi"
head -c $((off + 8192)) "$O/good.mbi" >"$O/cut.mbi"
says 10 truncated "image '$O/cut.mbi' is truncated at offset $((off + 8192)) (inside 'd/big')" \
	"a copy or a write that did not finish: use another copy of the image" -- \
	"$MB" verify --from "$O/cut.mbi"
mkdir -p "$O/full"
touch "$O/full/x"
says 11 target "restore target '$O/full' is not empty" "use an empty directory, or --force to overwrite" -- \
	"$MB" restore --from "$O/good.mbi" --to "$O/full"
says 12 catalog "no catalog at '$O/none.db': No such file or directory" \
	"no backup has run with this catalog yet (see --catalog)" -- "$MB" list --catalog "$O/none.db"
truncate -s 16M "$O/tiny.img"
mkfs.ext4 -q "$O/tiny.img"
mkdir -p "$O/tiny"
mount -o loop "$O/tiny.img" "$O/tiny" || bail_out "unable to mount a small ext4"
head -c $((20 * 1048576)) /dev/urandom >"$SRC/d/huge"
run "$MB" "${BK[@]}" --media "file:$O/huge.mbi"
exit_is 0 "an image larger than the small filesystem"
says 13 io "unable to write 'd/huge' in restore target '$O/tiny/r': No space left on device" \
	"free space on the target's filesystem, or restore less at a time with --file" -- \
	"$MB" restore --from "$O/huge.mbi" --to "$O/tiny/r"
umount "$O/tiny"
rm -f "$SRC/d/huge"
mkfifo "$O/stall"
sleep 1000 <"$O/stall" &
READER=$!
FX_PIDS+=($READER)
run "$MB" "${BK[@]}" --media "pipe:$O/stall" --device-timeout 1
exit_is 14 "14 timeout: exit 14"
like "$(printf '%s\n' "$RUN_ERR" | grep '^mbackup: error: ')" \
	"^mbackup: error: unable to write to 'pipe:$O/stall' at byte [0-9]+: stalled for 1 s$" \
	"14 timeout: the error line (the byte it stalled at varies)"
is "$(printf '%s\n' "$RUN_ERR" | grep '^HINT: ')" \
	"HINT: its reader or drive stalled; --device-timeout sets how long mbackup waits" "14 timeout: the hint"
kill -KILL "$READER" 2>/dev/null
wait "$READER" 2>/dev/null
mkfifo "$O/noreader"
"$MB" "${BK[@]}" --media "pipe:$O/noreader" 2>"$O/term.err" &
pid=$!
FX_PIDS+=($pid)
sleep 1
kill -TERM "$pid"
ended "$pid"
is "$ENDED_RC" 15 "15 interrupted: exit 15"
is "$(grep '^mbackup: error: ' "$O/term.err")" "mbackup: error: interrupted by SIGTERM" \
	"15 interrupted: the error line"
is "$(grep '^HINT: ' "$O/term.err")" "" "15 interrupted: no hint"
says 16 database "unable to connect to PostgreSQL: connection to server on socket \"$O/nosock/.s.PGSQL.1\" failed: No such file or directory" \
	"is the server running?  Set PGHOST/PGPORT or --pg-conn; tried host=$O/nosock port=1" -- \
	"$MB" backup --db postgres --pg-conn "host=$O/nosock port=1" --mirror "loop:$SRC_LOOP" \
	--media "file:$O/pg.mbi" --catalog "$CATALOG"
says 17 not-found "'d/nosuch' is not in the image" "mbackup ls --from IMAGE lists what it holds" -- \
	"$MB" restore --from "$O/good.mbi" --to "$O/r17" --file d/nosuch
says 19 partial "2 item(s) of backup $set_id cannot be restored: they are on devices not given" \
	"give every image of the set, one --from each (mbackup info --backup ID lists them)" -- \
	"$MB" restore --from "$O/m1.mbi" --to "$O/r19"
done_testing
