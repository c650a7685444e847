#!/bin/bash
# Bad input: each case gets one clear error line, its stable exit code, and
# changes nothing (no image file, the source not frozen, no split clone).
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/fixture.sh"
fx_tiny_suite
IMG=$SCRATCH/out/bad.mbi

# refused CASE_NAME EXIT MESSAGE HINT -- mbackup args...: the run, its exit
# code, its one error line and its hint line ("" for none), exactly, and
# that nothing changed.
refused() {
	local name=$1 code=$2 msg=$3 hint=$4
	shift 5
	rm -f "$IMG"
	run "$MB" "$@"
	exit_is "$code" "$name: exit $code"
	is "$(printf '%s\n' "$RUN_ERR" | grep '^mbackup: error: ')" "mbackup: error: $msg" \
		"$name: the one error line"
	is "$(printf '%s\n' "$RUN_ERR" | grep '^HINT: ')" "${hint:+HINT: $hint}" "$name: the hint"
	nok "$name: no image written" test -e "$IMG"
	ok "$name: source not frozen" fx_writable "$SRC"
	is "$(fx_clones)" "" "$name: no split clone"
}
# How mbackup names the filesystem PATH is on: "SOURCE (MAJ:MIN, mounted at 'DIR')".
fs_of() {
	local majmin target source
	read -r majmin target < <(findmnt -n -o MAJ:MIN,TARGET -T "$1")
	source=$(awk -v t="$target" '$5 == t { for (i = 7; $i != "-"; i++); s = $(i + 2) }
		END { print s }' /proc/self/mountinfo)
	echo "$source ($majmin, mounted at '$target')"
}
M=(--mirror "loop:$SRC_LOOP")
S=(--source "$SRC")
D=(--media "file:$IMG")
C=(--catalog "$CATALOG")
FROZEN_HINT="put it on another filesystem"

refused "unknown option" 2 "unknown option '--bogus' for 'backup'" "see mbackup backup --help" \
	-- --db none "${M[@]}" "${S[@]}" "${D[@]}" "${C[@]}" --bogus
refused "missing --source" 2 "missing --source" "e.g. --source /srv/data" \
	-- --db none "${M[@]}" "${D[@]}" "${C[@]}"
refused "missing --mirror" 2 "missing --mirror" "e.g. --mirror vg/pgdata, or --mirror loop:/dev/loop3" \
	-- --db none "${S[@]}" "${D[@]}" "${C[@]}"
refused "missing --media" 2 "missing --media" "e.g. --media file:/backup/data.mbi, or --media - for standard output" \
	-- --db none "${M[@]}" "${S[@]}" "${C[@]}"
refused "bad --freeze-timeout" 2 "invalid value 'abc' for --freeze-timeout: expected 1..3600" "" \
	-- --db none "${M[@]}" "${S[@]}" "${D[@]}" "${C[@]}" --freeze-timeout abc
LVM_SPLIT_HINT="use auto (LVM's library when installed, else lvconvert), helper or lvconvert"
refused "bad --lvm-split" 2 "invalid --lvm-split 'exec'" "$LVM_SPLIT_HINT" \
	-- --db none "${M[@]}" "${S[@]}" "${D[@]}" "${C[@]}" --lvm-split exec
printf 'lvm-split = Helper\n' >"$SCRATCH/split.conf"
refused "bad lvm-split in a config file" 2 "invalid --lvm-split 'Helper'" "$LVM_SPLIT_HINT" \
	-- --db none "${M[@]}" "${S[@]}" "${D[@]}" "${C[@]}" --config "$SCRATCH/split.conf"
run "$MB" check --db none "${M[@]}" "${S[@]}" "${D[@]}" "${C[@]}" --lvm-split lvconvert
exit_is 0 "--lvm-split lvconvert is accepted (check; a loop mirror does not split by LVM)"
refused "unknown verb-like argument" 2 "unknown command 'frobnicate'" \
	"commands: backup check ls verify restore list recover wal-push wal-get wal-check expire info consolidate; see mbackup --help" -- frobnicate "${C[@]}"
refused "source not on the mirror's fs" 5 \
	"source '$SCRATCH/out' is on $(fs_of "$SCRATCH/out"), not on mirror '$SRC_LOOP'" \
	"give the --mirror the source's filesystem is mounted from" \
	-- --db none "${M[@]}" --source "$SCRATCH/out" "${D[@]}" "${C[@]}"
refused "source missing" 5 "unable to use source '$SRC/no-such-dir': No such file or directory" "" \
	-- --db none "${M[@]}" --source "$SRC/no-such-dir" "${D[@]}" "${C[@]}"
FORMS_HINT="use VG/LV, /dev/VG/LV or /dev/mapper/VG-LV (an LVM volume; lvm:VG/LV also works), or loop:/dev/loopN (a loop device on a reflink filesystem)"
refused "unknown mirror form" 2 "unknown mirror 'pgdata'" "$FORMS_HINT" \
	-- --db none --mirror pgdata "${S[@]}" "${D[@]}" "${C[@]}"
refused "unknown mirror driver" 2 "unknown mirror driver 'zfs' in 'zfs:tank/pg'" "$FORMS_HINT" \
	-- --db none --mirror zfs:tank/pg "${S[@]}" "${D[@]}" "${C[@]}"
# the plain forms reach the LVM driver (no LVM on this host: its refusal)
for form in nosuchvg/pgdata /dev/nosuchvg/pgdata /dev/mapper/nosuchvg-pgdata; do
	refused "plain form $form" 6 \
		"unable to use logical volume 'nosuchvg/pgdata' ('/dev/nosuchvg/pgdata'): No such file or directory" \
		"the LV must exist and be active: lvs nosuchvg; lvchange -ay nosuchvg/pgdata" \
		-- --db none --mirror "$form" "${S[@]}" "${D[@]}" "${C[@]}"
done
refused "log file that cannot be opened" 3 \
	"unable to open log file '$SCRATCH/no/such/dir/mb.log': No such file or directory" \
	"--log-file must name a file mbackup can append to, on a filesystem that is not frozen" \
	-- --db none "${M[@]}" "${S[@]}" "${D[@]}" "${C[@]}" --log-file "$SCRATCH/no/such/dir/mb.log"
refused "mirror not a loop device" 6 "mirror device '/dev/null' is not a loop device" \
	"the loop: driver needs the /dev/loopN the filesystem is mounted from" \
	-- --db none --mirror loop:/dev/null "${S[@]}" "${D[@]}" "${C[@]}"
refused "mirror device missing" 6 "unable to use mirror device '/dev/loop999': No such file or directory" "" \
	-- --db none --mirror loop:/dev/loop999 "${S[@]}" "${D[@]}" "${C[@]}"
# (the media is named by the directory it would be created in)
refused "media on the frozen fs" 3 "media '$SRC_MNT' is on a filesystem that will be frozen ('$SRC_MNT')" \
	"$FROZEN_HINT" -- --db none "${M[@]}" "${S[@]}" --media "file:$SRC_MNT/x.mbi" "${C[@]}"
nok "media on the frozen fs: not created there" test -e "$SRC_MNT/x.mbi"
refused "catalog on the frozen fs" 3 "catalog '$SRC/cat.db' is on a filesystem that will be frozen ('$SRC_MNT')" \
	"$FROZEN_HINT" -- --db none "${M[@]}" "${S[@]}" "${D[@]}" --catalog "$SRC/cat.db"
nok "catalog on the frozen fs: not created there" test -e "$SRC/cat.db"
run "$MB" check --db none "${M[@]}" "${S[@]}" "${D[@]}" "${C[@]}"
exit_is 0 "check on a good configuration exits 0"
nok "check writes no image" test -e "$IMG"

# a backing fs that cannot reflink: an ext4 image on the (ext4) scratch fs
mkdir -p "$SCRATCH/noreflink" "$SCRATCH/src2"
truncate -s 64M "$SCRATCH/noreflink/src2.img"
fx_mkfs ext4 "$SCRATCH/noreflink/src2.img"
LOOP2=$(losetup -f --show "$SCRATCH/noreflink/src2.img")
mount "$LOOP2" "$SCRATCH/src2"
mkdir "$SCRATCH/src2/data"
backing_fs=$(stat -f -c %T "$SCRATCH/noreflink")
note "backing fs of the second source: $backing_fs"
refused "backing fs cannot reflink" 6 \
	"backing file '$SCRATCH/noreflink/src2.img' is on a filesystem that cannot reflink (type 0x$(stat -f -c %t "$SCRATCH/noreflink")): Operation not supported" \
	"put the loop backing file on xfs made with -m reflink=1, or on btrfs" \
	-- --db none --mirror "loop:$LOOP2" --source "$SCRATCH/src2/data" "${D[@]}" "${C[@]}"
ok "second source not frozen" fx_writable "$SCRATCH/src2/data"
is "$(ls "$SCRATCH/noreflink")" "src2.img" "no clone next to the non-reflink backing file"

# a real image, then restore refusals
run "$MB" --db none "${M[@]}" "${S[@]}" --media "file:$SCRATCH/out/good.mbi" "${C[@]}"
exit_is 0 "a good backup (default verb) exits 0"

# check says what it checked and, read-only, adds no run; media mistakes
# seen in preflight are caught before the catalog: no failed run row.
runs() { "$MB" list --output json "${C[@]}" | jq length; }
RUNS=$(runs)
run "$MB" check --db none "${M[@]}" "${S[@]}" "${D[@]}" "${C[@]}"
exit_is 0 "check exits 0"
is "$RUN_OUT" "check: ok: source '$SRC' on $SRC_LOOP (ext4), mirror loop:$SRC_LOOP, quiesce fsfreeze" \
	"check says what it checked"
is "$(runs)" "$RUNS" "check adds no run to the catalog"
run "$MB" check --db none "${M[@]}" "${S[@]}" --media "file:$SCRATCH/out/good.mbi" "${C[@]}"
exit_is 8 "check sees an existing media file without --force (exit 8)"
touch "$SCRATCH/out/notfifo"
refused "media file exists" 8 "media file '$SCRATCH/out/good.mbi' already exists" \
	"choose a new name, or pass --force to overwrite it" \
	-- --db none "${M[@]}" "${S[@]}" --media "file:$SCRATCH/out/good.mbi" "${C[@]}"
refused "unknown media" 2 "unknown media 'nosuch:x'" \
	"use file:PATH, pipe:FIFO, tape:/dev/nstN, s3://BUCKET/KEY or - for standard output" \
	-- --db none "${M[@]}" "${S[@]}" --media nosuch:x "${C[@]}"
refused "pipe not a fifo" 8 "media '$SCRATCH/out/notfifo' is not a fifo" \
	"pipe: needs a named pipe (mkfifo); a regular file is file:PATH" \
	-- --db none "${M[@]}" "${S[@]}" --media "pipe:$SCRATCH/out/notfifo" "${C[@]}"
refused "tape not a tape" 8 "'/dev/null' is not a tape device" \
	"tape: needs a SCSI tape node such as /dev/nst0" \
	-- --db none "${M[@]}" "${S[@]}" --media "tape:/dev/null" "${C[@]}"
refused "second media exists" 8 "media file '$SCRATCH/out/good.mbi' already exists" \
	"choose a new name, or pass --force to overwrite it" \
	-- --db none "${M[@]}" "${S[@]}" "${D[@]}" --media "file:$SCRATCH/out/good.mbi" "${C[@]}"
nok "second media exists: the first one not begun" test -e "$IMG.partial"
is "$(runs)" "$RUNS" "media mistakes add no run to the catalog"
mkdir -p "$SCRATCH/target"
echo keep >"$SCRATCH/target/existing"
run "$MB" restore --from "$SCRATCH/out/good.mbi" --to "$SCRATCH/target"
exit_is 11 "restore into a non-empty dir: exit 11"
is "$RUN_ERR" "mbackup: error: restore target '$SCRATCH/target' is not empty
HINT: use an empty directory, or --force to overwrite" "restore into a non-empty dir: message and hint"
is "$(ls "$SCRATCH/target")" "existing" "restore into a non-empty dir: target untouched"
run "$MB" restore --from "$SCRATCH/out/good.mbi" --to "$SCRATCH/target" --force
exit_is 0 "restore --force into a non-empty dir"
is "$(cat "$SCRATCH/target/d/hello" 2>/dev/null)" "hello" "restore --force restored the file"
run "$MB" restore --from "$SCRATCH/out/good.mbi"
exit_is 2 "restore without --to: usage"
is "$RUN_ERR" "mbackup: error: missing --to
HINT: give the directory to restore into: --to DIR" "restore without --to: message and hint"
run "$MB" ls
exit_is 2 "ls without --from: usage"
is "$RUN_ERR" "mbackup: error: missing --from
HINT: give the image: --from /backup/data.mbi, or --from - for standard input" \
	"ls without --from: message and hint"

# a second run while the lock is held
(
	exec 9>"$CATALOG.lock"
	flock 9
	exec sleep 60
) &
FX_PIDS+=($!)
LOCKER=$!
sleep 0.5
# (the holder wrote no pid into the lock file, so none is named)
refused "concurrent run" 4 "another mbackup run holds the lock '$CATALOG.lock'" \
	"wait for it to finish, or check 'mbackup list'" -- --db none "${M[@]}" "${S[@]}" "${D[@]}" "${C[@]}"
kill "$LOCKER"
wait "$LOCKER" 2>/dev/null

run "$MB" --help
exit_is 0 "--help exits 0"
is "$(sed -n '/^commands:$/,/^$/ s/^  \([a-z-]*\) .*/\1/p' <<<"$RUN_OUT" | tr '\n' ' ')" \
	"backup check ls verify restore list recover wal-push wal-get wal-check expire info consolidate " "--help lists the verbs"
is "$RUN_ERR" "" "--help writes nothing on stderr"
run "$MB" --version
exit_is 0 "--version exits 0"
like "$RUN_OUT" '^mbackup [0-9]+\.[0-9]+\.[0-9]+$' "--version prints the version"
run "$MB" list --output json "${C[@]}"
exit_is 0 "list after all that"
is "$(printf '%s' "$RUN_OUT" | jq -r '[.[] | select(.status == "running")] | length')" "0" "no run left running"
# (an image entry with '..' is refused by the restore target:
# tests/unit/test_restore_target.c asserts it, message included)
umount "$SCRATCH/src2"
losetup -d "$LOOP2"
done_testing
