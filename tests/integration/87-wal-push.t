#!/bin/bash
# The WAL archive's two ends, with PostgreSQL 15 archiving through
# `archive_command = 'mbackup wal-push %p'` (the archive named only by the
# config file $MBACKUP_CONFIG): pushed segments are byte-identical and
# checksummed; the same segment twice is success, other content under an
# archived name is refused and the archive unchanged; a full archive
# filesystem fails with nothing half-written under the name and works
# again once space is freed; a push killed part way leaves only a
# temporary; another cluster's WAL is refused; wal-get verifies, says
# nothing for a file that is not archived and fails loudly on a damaged
# one; an archive on the filesystem a backup freezes is refused;
# --compress zstd stores NAME.zst, which wal-get decompresses, beside
# plain segments in one archive.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/fixture.sh"
. "$(dirname "$0")/../lib/wal.sh"
PGBIN=$FX_PGBIN
fx_pg_available || skip_all "PostgreSQL 15 is not installed (run deploy/setup)"
fx_init
chmod 755 "$SCRATCH"
fx_pg_env
trap 'fx_pg_stop_all; fx_cleanup' EXIT
PORT=$((20000 + RANDOM % 20000))
IN=$SCRATCH/in
mkdir -p "$IN" "$SCRATCH/pg"
chown postgres "$IN" "$SCRATCH/pg"
wal_setup

# as_pg CMD...: as the postgres user (what archive_command runs as).
as_pg() {
	runuser -u postgres -- env MBACKUP_CONFIG="$MBACKUP_CONFIG" "$@"
}
archived() { wal_archived "$@"; }
wait_archived() { wal_wait_archived "$PORT" "$1"; }

# ---- PostgreSQL archives through a bare `mbackup wal-push %p`
DATA=$SCRATCH/pg/data
wal_pg_init "$DATA" "$PORT"
fx_sql "$PORT" "create table t (i int); insert into t select generate_series(1, 10000)"
SEG=$(fx_sql "$PORT" "select pg_walfile_name(pg_current_wal_lsn())")
fx_sql "$PORT" "select pg_switch_wal()" >/dev/null
ok "PostgreSQL archived $SEG through archive_command" wait_archived "$SEG"
is "$(fx_sql "$PORT" "select failed_count from pg_stat_archiver")" "0" "no archive_command failed"
A=$(archived "$SEG")
ok "the segment is in its timeline's directory" test -f "$A"
is "$(stat -c %s "$A")" "16777216" "a whole 16 MiB segment"
is "$(cut -c34- "$A.xxh128")" " $SEG" "its sidecar names it"
like "$(cat "$ARCH/archive.info")" "system-identifier = [0-9]+" "archive.info holds the cluster's system identifier"
like "$(cat "$ARCH/archive.info")" "segment-size = 16777216" "and its segment size"
is "$(find "$ARCH" -name '.*.tmp' | wc -l)" "0" "no temporary file is left"

# ---- wal-get: copy + verify
run as_pg "$MB" wal-get "$SEG" "$IN/got"
exit_is 0 "wal-get fetches the segment"
ok "byte-identical to the archived file" cmp -s "$A" "$IN/got"
is "$RUN_ERR" "" "silently"
run as_pg "$MB" wal-get 00000005.history "$IN/hist"
exit_is 17 "wal-get of a history file that is not archived: not found"
is "$RUN_ERR" "" "and says nothing (PostgreSQL probes for these)"
ok "no file is made" test ! -e "$IN/hist"
run as_pg "$MB" wal-get ../../etc/passwd "$IN/x"
exit_is 2 "wal-get of something that is no WAL name"
is "$RUN_ERR" "mbackup: error: '../../etc/passwd' is not a WAL file name
HINT: restore_command = 'mbackup wal-get %f %p'" "refused with a hint"

# ---- the same segment twice: success, nothing changes
cp "$A" "$IN/$SEG" && chown postgres "$IN/$SEG"
before=$(stat -c '%i %Y' "$A" "$A.xxh128")
run as_pg "$MB" wal-push "$IN/$SEG"
exit_is 0 "the same segment pushed again: exit 0"
is "$RUN_ERR" "" "quietly"
is "$(stat -c '%i %Y' "$A" "$A.xxh128")" "$before" "the archived file and sidecar are untouched"

# ---- other content under an archived name: refused, archive unchanged
sum=$(cut -c1-32 "$A.xxh128")
printf 'X' | dd of="$IN/$SEG" bs=1 seek=100000 conv=notrunc status=none
run as_pg "$MB" wal-push "$IN/$SEG"
exit_is 11 "a different segment under an archived name is refused"
like "$RUN_ERR" "^mbackup: error: unable to archive '$IN/$SEG': the archive holds another '$SEG' \(checksum $sum, this file [0-9a-f]{32}\)
HINT: the archived file is kept; is another cluster archiving into '$ARCH'\?$" "with both checksums and a hint"
is "$(stat -c '%i %Y' "$A" "$A.xxh128")" "$before" "the archive is unchanged"
run as_pg "$MB" wal-get "$SEG" "$IN/got2"
ok "and still serves the original" cmp -s "$IN/got" "$IN/got2"
run "$MB" wal-check --catalog "$SCRATCH/no-catalog.db"
exit_is 19 "wal-check: the archive is behind while the latest push failed"
like "$RUN_OUT" "the latest wal-push failed: [0-9T:.-]+Z $SEG: unable to archive '$IN/$SEG': the archive holds another" \
	"it shows the failure"
like "$RUN_ERR" "mbackup: error: WAL archive '$ARCH' is behind: the latest wal-push failed: [0-9T:.-]+Z $SEG: unable" \
	"and fails with it"
cp "$A" "$IN/$SEG"
run as_pg "$MB" wal-push "$IN/$SEG"
exit_is 0 "the push of the right content succeeds"
run "$MB" wal-check --catalog "$SCRATCH/no-catalog.db"
exit_is 0 "and wal-check is content again"
like "$RUN_ERR" "no catalog at '$SCRATCH/no-catalog.db': no backup to check the archive for" "(no catalog: a warning)"

# ---- another cluster's WAL: refused
cp "$A" "$IN/$SEG" && chown postgres "$IN/$SEG"
printf '\x01\x02\x03' | dd of="$IN/$SEG" bs=1 seek=24 conv=notrunc status=none
run as_pg "$MB" wal-push "$IN/$SEG"
exit_is 3 "a segment of another system is refused"
like "$RUN_ERR" "^mbackup: error: unable to archive '$IN/$SEG': WAL of system [0-9]+ \(segments of 16777216 bytes\), the archive '$ARCH' holds system [0-9]+ \(16777216 bytes\)
HINT: give each cluster its own --wal-archive$" "naming both systems"

# ---- a new timeline's first segment: its first page still says the old one
NEWTL=$SCRATCH/newtl
mkdir -p "$NEWTL"
cp "$ARCH/archive.info" "$NEWTL/"
T2SEG=00000002${SEG:8}
cp "$A" "$IN/$T2SEG"
run "$MB" wal-push --wal-archive "$NEWTL" "$IN/$T2SEG"
exit_is 0 "a segment of timeline 2 whose first page says timeline 1 is taken (a promotion mid-segment)"
ok "archived under its name" cmp -s "$A" "$NEWTL/${T2SEG:0:16}/$T2SEG"
printf '\x03' | dd of="$IN/$T2SEG" bs=1 seek=4 conv=notrunc status=none
rm -f "$NEWTL/${T2SEG:0:16}/$T2SEG"*
run "$MB" wal-push --wal-archive "$NEWTL" "$IN/$T2SEG"
exit_is 9 "one whose first page says a later timeline is refused"
LSN=$(printf '0/%X' $((0x${SEG:16:8} * 16777216)))
is "$RUN_ERR" "mbackup: error: unable to archive '$IN/$T2SEG': its first page says timeline 3 at $LSN, its name timeline 2 at $LSN" \
	"naming both"

# ---- not WAL
printf 'hello' >"$IN/000000010000000000000077"
chown postgres "$IN/000000010000000000000077"
run as_pg "$MB" wal-push "$IN/000000010000000000000077"
exit_is 9 "a file with a segment's name but no segment header is refused"
is "$RUN_ERR" "mbackup: error: unable to archive '$IN/000000010000000000000077': no PostgreSQL 15 WAL segment header" "as not a segment"
ok "nothing is archived under its name" test ! -e "$(archived 000000010000000000000077)"
run as_pg "$MB" wal-push "$IN/postmaster.pid"
exit_is 2 "a file that is no WAL name is refused"

# ---- wal-get of a damaged file: loud, distinct exit code
cp -a "$ARCH" "$SCRATCH/damaged"
printf 'Z' | dd of="$SCRATCH/damaged/${SEG:0:16}/$SEG" bs=1 seek=5000000 conv=notrunc status=none
run "$MB" wal-get --wal-archive "$SCRATCH/damaged" "$SEG" "$IN/bad"
exit_is 9 "wal-get of a damaged segment: corrupt"
like "$RUN_ERR" "^mbackup: error: archived '$SCRATCH/damaged/${SEG:0:16}/$SEG' is damaged: checksum [0-9a-f]{32}, expected $sum
HINT: recovery cannot go past it; put an intact copy of it in the archive$" "names the file and both checksums"
ok "nothing is left at the path PostgreSQL gave" test ! -e "$IN/bad"
is "$(ls "$IN" | grep -c mbackup-)" "0" "nor a temporary"
D=$SCRATCH/damaged/${SEG:0:16}/$SEG
cp "$A" "$IN/$SEG"
run "$MB" wal-push --wal-archive "$SCRATCH/damaged" "$IN/$SEG"
exit_is 0 "pushing the intact segment again repairs the damaged copy"
like "$RUN_ERR" "warn  wal-push: archived '$D' was damaged; stored again from '$IN/$SEG'$" "with a warning"
ok "the archived copy is whole again" cmp -s "$A" "$D"
rm "$D.xxh128"
run "$MB" wal-get --wal-archive "$SCRATCH/damaged" "$SEG" "$IN/bad"
exit_is 9 "a segment without its checksum is refused too"
like "$RUN_ERR" "^mbackup: error: unable to read the checksum of '$D': No such file or directory" "saying so"
run "$MB" wal-push --wal-archive "$SCRATCH/damaged" "$IN/$SEG"
exit_is 0 "the same content pushed again writes its checksum"
like "$RUN_ERR" "wal-push: archived '$D' had no checksum; stored again from '$IN/$SEG'$" "with a warning"
run "$MB" wal-get --wal-archive "$SCRATCH/damaged" "$SEG" "$IN/bad"
exit_is 0 "then wal-get serves it"
rm "$D.xxh128"
printf 'Q' | dd of="$D" bs=1 seek=7000000 conv=notrunc status=none
run "$MB" wal-push --wal-archive "$SCRATCH/damaged" "$IN/$SEG"
exit_is 11 "other content without a checksum: which is right cannot be told, refused"
rm -f "$IN/bad"

# ---- a push killed after writing, before the rename: nothing under the name
fx_sql "$PORT" "insert into t select generate_series(1, 1000)"
NEXT=$(fx_sql "$PORT" "select pg_walfile_name(pg_current_wal_lsn())")
fx_sql "$PORT" "select pg_switch_wal()" >/dev/null
ok "PostgreSQL archived $NEXT" wait_archived "$NEXT"
isnt "$NEXT" "$SEG" "(another segment)"
cp "$(archived "$NEXT")" "$IN/$NEXT"
cp -a "$ARCH" "$SCRATCH/killed"
rm "$(archived "$NEXT" | sed "s|$ARCH|$SCRATCH/killed|")"*
run env MBACKUP_FAULT=wal-push-written:kill "$MB" wal-push --wal-archive "$SCRATCH/killed" "$IN/$NEXT"
exit_is 137 "a push killed after its data was written"
ok "nothing is under the segment's name" test ! -e "$SCRATCH/killed/${NEXT:0:16}/$NEXT"
ok "nor its sidecar" test ! -e "$SCRATCH/killed/${NEXT:0:16}/$NEXT.xxh128"
run "$MB" wal-push --wal-archive "$SCRATCH/killed" "$IN/$NEXT"
exit_is 0 "the next push of it succeeds"
ok "and stores it whole" cmp -s "$IN/$NEXT" "$SCRATCH/killed/${NEXT:0:16}/$NEXT"

# ---- a full archive filesystem
FULL=$SCRATCH/full
mkdir -p "$FULL" && mount -t tmpfs -o size=20M,mode=0755 tmpfs "$FULL" || bail_out "no tmpfs"
cp "$A" "$IN/$SEG"
run "$MB" wal-push --wal-archive "$FULL" "$IN/$SEG"
exit_is 0 "the first segment fits the 20 MiB archive"
run "$MB" wal-push --wal-archive "$FULL" "$IN/$NEXT"
exit_is 13 "the second does not: a write error"
like "$RUN_ERR" "^mbackup: error: unable to write '$FULL/${NEXT:0:16}/\.$NEXT\.[0-9]+\.tmp': No space left on device$" "one line naming the file and the cause"
ok "nothing is under the segment's name" test ! -e "$FULL/${NEXT:0:16}/$NEXT"
ok "nor its sidecar" test ! -e "$FULL/${NEXT:0:16}/$NEXT.xxh128"
is "$(find "$FULL" -name '.*.tmp' | wc -l)" "0" "the temporary is removed"
rm "$FULL/${SEG:0:16}/$SEG" "$FULL/${SEG:0:16}/$SEG.xxh128"
run "$MB" wal-push --wal-archive "$FULL" "$IN/$NEXT"
exit_is 0 "once space is freed the push succeeds"
ok "whole" cmp -s "$IN/$NEXT" "$FULL/${NEXT:0:16}/$NEXT"

# ---- four pushes of one segment at once: they take turns, all succeed
RACE=$SCRATCH/race
mkdir -p "$RACE"
cp "$A" "$IN/$SEG"
pids=()
for i in 1 2 3 4; do
	"$MB" wal-push --wal-archive "$RACE" "$IN/$SEG" 2>>"$SCRATCH/race.err" &
	pids+=($!)
done
rcs=""
for pid in "${pids[@]}"; do
	wait "$pid"
	rcs="$rcs $?"
done
is "$rcs" " 0 0 0 0" "four concurrent pushes of one name all exit 0"
is "$(cat "$SCRATCH/race.err")" "" "with nothing to say"
ok "one whole copy is archived" cmp -s "$A" "$RACE/${SEG:0:16}/$SEG"
run "$MB" wal-get --wal-archive "$RACE" "$SEG" "$IN/race"
exit_is 0 "and its checksum matches"

# ---- --compress zstd: NAME.zst, read back transparently; a mixed archive
ZA=$SCRATCH/zarch
mkdir -p "$ZA"
cp "$A" "$IN/$SEG"
run "$MB" wal-push --wal-archive "$ZA" --compress zstd:3 "$IN/$SEG"
exit_is 0 "wal-push --compress zstd:3"
Z=$ZA/${SEG:0:16}/$SEG.zst
ok "stored as $SEG.zst" test -f "$Z"
ok "and not under its plain name" test ! -e "$ZA/${SEG:0:16}/$SEG"
is "$(cat "$Z.xxh128")" "$(cut -c1-32 "$A.xxh128")  $SEG.zst" \
	"its sidecar holds the checksum of the uncompressed segment"
ok "it is smaller than the segment" test "$(stat -c %s "$Z")" -lt 16777216
ok "zstd -d reads it: the segment, byte for byte" sh -c "zstd -qdc '$Z' | cmp -s - '$A'"
run "$MB" wal-get --wal-archive "$ZA" "$SEG" "$IN/zgot"
exit_is 0 "wal-get decompresses it"
ok "byte-identical" cmp -s "$A" "$IN/zgot"
run "$MB" wal-push --wal-archive "$ZA" "$IN/$SEG"
exit_is 0 "pushed again without --compress: archived already, success"
ok "no plain copy beside it" test ! -e "$ZA/${SEG:0:16}/$SEG"
printf 'X' | dd of="$IN/$SEG" bs=1 seek=100000 conv=notrunc status=none
run "$MB" wal-push --wal-archive "$ZA" --compress zstd "$IN/$SEG"
exit_is 11 "other content under a name archived compressed is refused"
like "$RUN_ERR" "^mbackup: error: unable to archive '$IN/$SEG': the archive holds another '$SEG' \(checksum $(cut -c1-32 "$A.xxh128"), this file [0-9a-f]{32}\)" \
	"with both checksums"
cp "$(archived "$NEXT")" "$IN/$NEXT"
run "$MB" wal-push --wal-archive "$ZA" "$IN/$NEXT"
exit_is 0 "a plain segment beside a compressed one"
run "$MB" wal-get --wal-archive "$ZA" "$NEXT" "$IN/pgot"
exit_is 0 "the mixed archive serves both"
ok "byte-identical" cmp -s "$IN/$NEXT" "$IN/pgot"
run "$MB" wal-check --wal-archive "$ZA" --catalog "$SCRATCH/no-catalog.db"
exit_is 0 "wal-check reads a mixed archive"
like "$RUN_OUT" "archive '$ZA': 2 segment\(s\) of 16777216 bytes" "counting both segments"
like "$RUN_OUT" "1 segment\(s\) stored compressed \(zstd\)" "one of them compressed"
run "$MB" wal-push --wal-archive "$ZA" --compress zstd:99 "$IN/$NEXT"
exit_is 2 "a level out of range is refused"
is "$RUN_ERR" "mbackup: error: invalid --compress 'zstd:99'
HINT: use none, zstd or zstd:LEVEL with LEVEL from 1 to 22" "naming the range"
printf 'Z' | dd of="$Z" bs=1 seek=200 conv=notrunc status=none
run "$MB" wal-get --wal-archive "$ZA" "$SEG" "$IN/zbad"
exit_is 9 "a damaged .zst: corrupt"
like "$RUN_ERR" "^mbackup: error: archived '$Z' is damaged: [A-Za-z][a-z' ]+
HINT: recovery cannot go past it; put an intact copy of it in the archive$" "naming the file"
ok "nothing at the path PostgreSQL gave" test ! -e "$IN/zbad"
cp "$A" "$IN/$SEG"
run "$MB" wal-push --wal-archive "$ZA" "$IN/$SEG"
exit_is 0 "the intact segment pushed again repairs it"
like "$RUN_ERR" "warn  wal-push: archived '$Z' was damaged; stored again from '$IN/$SEG'$" "with a warning"
run "$MB" wal-get --wal-archive "$ZA" "$SEG" "$IN/zgot2"
ok "and it serves the segment again" cmp -s "$A" "$IN/zgot2"

# ---- PostgreSQL's failed archiving shows in its log, once per attempt
chmod 000 "$ARCH"
fx_sql "$PORT" "insert into t values (1)"
fx_sql "$PORT" "select pg_switch_wal()" >/dev/null
for i in $(seq 1 100); do
	[ "$(fx_sql "$PORT" "select failed_count > 0 from pg_stat_archiver")" = t ] && break
	sleep 0.1
done
is "$(fx_sql "$PORT" "select failed_count > 0 from pg_stat_archiver")" "t" \
	"an unusable archive fails the archive_command"
like "$(cat "$SOCK/log-$PORT")" "mbackup: error: unable to open '$ARCH/.push.lock': Permission denied" \
	"and the reason is in PostgreSQL's log"
chmod 755 "$ARCH"
LAST=$(fx_sql "$PORT" "select last_failed_wal from pg_stat_archiver")
ok "the archiver catches up once the archive is usable again" wait_archived "$LAST"

# ---- the archive on the filesystem a backup freezes: refused
fx_backing 1G
fx_source ext4 256M
run "$MB" check --db none --mirror "loop:$SRC_LOOP" --source "$SRC" --catalog "$CATALOG" \
	--wal-archive "$SRC_MNT/wal" --log-level warn
exit_is 3 "a WAL archive on the frozen filesystem is refused"
is "$RUN_ERR" "mbackup: error: WAL archive '$SRC_MNT/wal' is on a filesystem that will be frozen ('$SRC_MNT')
HINT: put it on another filesystem" "like the catalog"
run "$MB" check --db none --mirror "loop:$SRC_LOOP" --source "$SRC" --catalog "$CATALOG" \
	--wal-archive "$ARCH"
exit_is 0 "elsewhere it is accepted"

done_testing
