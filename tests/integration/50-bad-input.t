#!/bin/bash
# Bad input: each case gets one clear error line, its stable exit code, and
# changes nothing (no image file, the source not frozen, no split clone).
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/fixture.sh"
fx_init
fx_setup ext4
mkdir -p "$SRC/d"
echo hello >"$SRC/d/hello"
IMG=$SCRATCH/out/bad.mbi

# refused CASE_NAME EXIT REGEX -- mbackup args...: the run, its exit code, its
# message, and that nothing changed.
refused() {
	local name=$1 code=$2 re=$3
	shift 4
	rm -f "$IMG"
	run "$MB" "$@"
	exit_is "$code" "$name: exit $code"
	like "$(printf '%s\n' "$RUN_ERR" | grep -m1 '^mbackup: error: ')" "^mbackup: error: .*($re)" \
		"$name: the error line names the cause"
	nok "$name: no image written" test -e "$IMG"
	ok "$name: source not frozen" fx_writable "$SRC"
	is "$(fx_clones)" "" "$name: no split clone"
}
M=(--mirror "loop:$SRC_LOOP")
S=(--source "$SRC")
D=(--media "file:$IMG")
C=(--catalog "$CATALOG")

refused "unknown option" 2 "bogus" -- --db none "${M[@]}" "${S[@]}" "${D[@]}" "${C[@]}" --bogus
refused "missing --source" 2 "source" -- --db none "${M[@]}" "${D[@]}" "${C[@]}"
refused "missing --mirror" 2 "mirror" -- --db none "${S[@]}" "${D[@]}" "${C[@]}"
refused "missing --media" 2 "media" -- --db none "${M[@]}" "${S[@]}" "${C[@]}"
refused "bad --freeze-timeout" 2 "freeze-timeout" -- --db none "${M[@]}" "${S[@]}" "${D[@]}" "${C[@]}" --freeze-timeout abc
refused "unknown verb-like argument" 2 "frobnicate" -- frobnicate "${C[@]}"
refused "source not on the mirror's fs" 5 "source|mirror" -- --db none "${M[@]}" --source "$SCRATCH/out" "${D[@]}" "${C[@]}"
refused "source missing" 5 "no-such-dir" -- --db none "${M[@]}" --source "$SRC/no-such-dir" "${D[@]}" "${C[@]}"
refused "mirror not a loop device" 6 "/dev/null|loop" -- --db none --mirror loop:/dev/null "${S[@]}" "${D[@]}" "${C[@]}"
refused "mirror device missing" 6 "/dev/loop999|loop" -- --db none --mirror loop:/dev/loop999 "${S[@]}" "${D[@]}" "${C[@]}"
refused "media on the frozen fs" 3 "media|frozen|source" -- --db none "${M[@]}" "${S[@]}" --media "file:$SRC_MNT/x.mbi" "${C[@]}"
nok "media on the frozen fs: not created there" test -e "$SRC_MNT/x.mbi"
refused "catalog on the frozen fs" 3 "catalog|frozen|source" -- --db none "${M[@]}" "${S[@]}" "${D[@]}" --catalog "$SRC/cat.db"
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
refused "backing fs cannot reflink" 6 "reflink|clone" -- --db none --mirror "loop:$LOOP2" --source "$SCRATCH/src2/data" "${D[@]}" "${C[@]}"
ok "second source not frozen" fx_writable "$SCRATCH/src2/data"
is "$(ls "$SCRATCH/noreflink")" "src2.img" "no clone next to the non-reflink backing file"

# a real image, then restore refusals
run "$MB" --db none "${M[@]}" "${S[@]}" --media "file:$SCRATCH/out/good.mbi" "${C[@]}"
exit_is 0 "a good backup (default verb) exits 0"
mkdir -p "$SCRATCH/target"
echo keep >"$SCRATCH/target/existing"
run "$MB" restore --from "$SCRATCH/out/good.mbi" --to "$SCRATCH/target"
exit_is 11 "restore into a non-empty dir: exit 11"
like "$RUN_ERR" "^mbackup: error: .*(empty|target)" "restore into a non-empty dir: message"
like "$RUN_ERR" "force" "restore into a non-empty dir: hints at --force"
is "$(ls "$SCRATCH/target")" "existing" "restore into a non-empty dir: target untouched"
run "$MB" restore --from "$SCRATCH/out/good.mbi" --to "$SCRATCH/target" --force
exit_is 0 "restore --force into a non-empty dir"
is "$(cat "$SCRATCH/target/d/hello" 2>/dev/null)" "hello" "restore --force restored the file"
run "$MB" restore --from "$SCRATCH/out/good.mbi"
exit_is 2 "restore without --to: usage"
run "$MB" ls
exit_is 2 "ls without --from: usage"

# a second run while the lock is held
(
	exec 9>"$CATALOG.lock"
	flock 9
	exec sleep 60
) &
FX_PIDS+=($!)
LOCKER=$!
sleep 0.5
refused "concurrent run" 4 "lock|running|another" -- --db none "${M[@]}" "${S[@]}" "${D[@]}" "${C[@]}"
kill "$LOCKER"
wait "$LOCKER" 2>/dev/null

run "$MB" --help
exit_is 0 "--help exits 0"
like "$RUN_OUT$RUN_ERR" "restore" "--help lists the verbs"
run "$MB" --version
exit_is 0 "--version exits 0"
run "$MB" list --output json "${C[@]}"
exit_is 0 "list after all that"
is "$(printf '%s' "$RUN_OUT" | jq -r '[.[] | select(.status == "running")] | length')" "0" "no run left running"
skip "restore of an image entry with '..'" "not easily crafted with the tools at hand"
umount "$SCRATCH/src2"
losetup -d "$LOOP2"
done_testing
