#!/bin/bash
# The WAL archive on the object store (issue 15, wal-archive =
# s3://BUCKET/PREFIX), against a real Ceph RGW (tests/lib/ceph-up) and
# PostgreSQL 15 archiving through a bare `mbackup wal-push %p`: segments
# are objects under the prefix, byte-identical; wal-get serves them and is
# quiet for a missing one; the same segment twice is success, other
# content refused with the exact message and code; the gateway down
# during wal-push fails with the exact message and code, PostgreSQL
# retries and catches up once it is back; an absent bucket and a wrong
# secret are one line and a hint; half the archive compressed
# (wal-push --compress zstd), a point-in-time restore to a time between
# two commits replays plain and .zst segments from the store through
# restore_command = mbackup wal-get, and the copy holds exactly the rows
# before the target; wal-check reads the store and records it in the
# catalog, and so does a backup, with the facts of what it needs
# (wal_first..wal_last, wal_archived: yes, or missing NAME, warned);
# the restored copy, promoted, archives timeline 2's history and its
# segments into the store, wal-get serves the history and a .partial
# (pushed by hand), wal-check follows B1 into timeline 2, and a
# restore --target latest replays across the switch from the store;
# expire removes the WAL no kept backup needs and the expired backup's
# image object.  The secret comes from AWS_SECRET_ACCESS_KEY
# (PostgreSQL's commands inherit it), or from a config file of
# PostgreSQL's user, mode 0600.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/fixture.sh"
. "$(dirname "$0")/../lib/ceph.sh"
PGBIN=$FX_PGBIN
fx_pg_available || skip_all "PostgreSQL 15 is not installed (run deploy/setup)"
fx_init
chmod 755 "$SCRATCH"
fx_ceph_up
fx_backing 2G
fx_source ext4 1G
fx_pg_env
trap 'rc=$?; fx_pg_stop_all; (exit $rc); fx_cleanup' EXIT
PORT=$((20000 + RANDOM % 20000))
ok "buckets created" s3_mb wal
s3_mb backups
ARCH=s3://wal/db1
CONF=$SCRATCH/etc/mbackup.conf
mkdir -p "$SCRATCH/etc" "$SCRATCH/in" "$SCRATCH/r" "$SRC_MNT/pg"
chown postgres "$SCRATCH/in" "$SRC_MNT/pg"
printf 'wal-archive = %s\ns3-endpoint = %s\ns3-region = %s\ns3-access-key = %s\ns3-uri-style = path\n' \
	"$ARCH" "$S3_ENDPOINT" "$S3_REGION" "$S3_ACCESS_KEY" >"$CONF"
chmod 644 "$CONF"
export MBACKUP_CONFIG=$CONF AWS_SECRET_ACCESS_KEY=$S3_SECRET_KEY
as_pg() { runuser -u postgres -- "$@"; }
key_of() { echo "db1/${1:0:16}/$1"; }
archived_wait() { # NAME: until PostgreSQL reports NAME archived (30 s)
	local i
	for i in $(seq 1 300); do
		[ "$(fx_sql "$PORT" "select last_archived_wal >= '$1' from pg_stat_archiver")" = t ] &&
			return 0
		sleep 0.1
	done
	return 1
}
switch() { # the segment being written, switched and archived
	local seg
	seg=$(fx_sql "$PORT" "select pg_walfile_name(pg_current_wal_lsn())")
	fx_sql "$PORT" "select pg_switch_wal()" >/dev/null
	archived_wait "$seg" && echo "$seg"
}
rows() { # FIRST LAST: one transaction each
	local i
	for i in $(seq "$1" "$2"); do
		fx_sql "$PORT" "insert into ticks values ($i)"
	done
}
start_copy() { # DIR PORT [SETTINGS]: a restored copy started, until it promoted (60 s)
	local i
	chown -R postgres "$1" && chmod 700 "$1"
	fx_as_pg "$PGBIN/pg_ctl" -D "$1" -w -t 120 -l "$SOCK/log-$2" \
		-o "-p $2 -k $SOCK -c listen_addresses='' ${3:-}" start >/dev/null &&
		FX_PG_DIRS+=("$1")
	for i in $(seq 1 600); do
		[ "$(fx_sql "$2" "select pg_is_in_recovery()" 2>/dev/null)" = f ] && break
		sleep 0.1
	done
}
backup() { # MEDIA
	"$MB" --config "$CONF" --db postgres --pg-conn "host=$SOCK port=$PORT user=postgres" \
		--mirror "loop:$SRC_LOOP" --media "$1" --catalog "$CATALOG" 2>&1 | tail -1
}

# ---- PostgreSQL archives into the store
DATA=$SRC_MNT/pg/data
fx_as_pg "$PGBIN/initdb" -A trust -D "$DATA" >/dev/null || bail_out "initdb failed"
printf "archive_mode = on\narchive_command = '%s wal-push %%p'\n" "$MB" >>"$DATA/postgresql.conf"
fx_pg_start "$DATA" "$PORT" || bail_out "postgres did not start: $(tail -5 "$SOCK/log-$PORT")"
fx_sql "$PORT" "create table ticks (id integer primary key)"
SEG=$(switch)
ok "PostgreSQL archived $SEG through archive_command" test -n "$SEG"
is "$(fx_sql "$PORT" "select failed_count from pg_stat_archiver")" "0" "no archive_command failed"
like "$(s3_keys wal db1/)" "db1/archive.info" "archive.info is an object"
like "$(s3_keys wal db1/)" "$(key_of "$SEG")" "the segment is an object in its timeline's directory"
s3_get "wal/$(key_of "$SEG")" "$SCRATCH/in/obj"
ok "byte-identical to pg_wal's" cmp -s "$SCRATCH/in/obj" "$DATA/pg_wal/$SEG"

run as_pg "$MB" wal-get "$SEG" "$SCRATCH/in/got"
exit_is 0 "wal-get fetches it from the store"
ok "byte-identical" cmp -s "$SCRATCH/in/obj" "$SCRATCH/in/got"
is "$RUN_ERR" "" "silently"
run as_pg "$MB" wal-get 00000009.history "$SCRATCH/in/h"
exit_is 17 "a file that is not archived: not found"
is "$RUN_ERR" "" "and nothing said"

# ---- the same segment twice; other content under its name
cp "$SCRATCH/in/obj" "$SCRATCH/in/$SEG"
chown postgres "$SCRATCH/in/$SEG"
run as_pg "$MB" wal-push "$SCRATCH/in/$SEG"
exit_is 0 "the same segment pushed again: exit 0"
is "$RUN_ERR" "" "quietly"
SUM=$(s3 HEAD "wal/$(key_of "$SEG")" -I | tr -d '\r' | sed -n 's/^x-amz-meta-xxh128: //Ip')
like "$SUM" "^[0-9a-f]{32}$" "the object carries its checksum"
printf 'X' | dd of="$SCRATCH/in/$SEG" bs=1 seek=100000 conv=notrunc status=none
mkdir -p "$SCRATCH/sum"
"$MB" wal-push --wal-archive "$SCRATCH/sum" "$SCRATCH/in/$SEG"
MINE=$(cut -c1-32 "$SCRATCH/sum/${SEG:0:16}/$SEG.xxh128")
run as_pg "$MB" wal-push "$SCRATCH/in/$SEG"
exit_is 11 "a different segment under an archived name is refused"
is "$RUN_ERR" "mbackup: error: unable to archive '$SCRATCH/in/$SEG': the archive holds another '$SEG' (checksum $SUM, this file $MINE)
HINT: the archived file is kept; is another cluster archiving into '$ARCH'?" "with both checksums"
s3_get "wal/$(key_of "$SEG")" "$SCRATCH/in/obj2"
ok "the object is unchanged" cmp -s "$SCRATCH/in/obj" "$SCRATCH/in/obj2"
run "$MB" wal-check --catalog "$CATALOG"
exit_is 19 "wal-check: behind while the latest push failed"
like "$RUN_OUT" "the latest wal-push failed: [0-9T:.-]+Z $SEG: unable to archive" "from push.failed on the store"
cp "$SCRATCH/in/obj" "$SCRATCH/in/$SEG"
run as_pg "$MB" wal-push "$SCRATCH/in/$SEG"
exit_is 0 "the right content again: success"
is "$(s3_keys wal db1/push.failed)" "" "and push.failed is gone"

# ---- a config file of PostgreSQL's user holding the secret
PGCONF=$SCRATCH/in/pg.conf
printf 'wal-archive = %s\ns3-endpoint = %s\ns3-access-key = %s\ns3-secret-key = %s\n' \
	"$ARCH" "$S3_ENDPOINT" "$S3_ACCESS_KEY" "$S3_SECRET_KEY" >"$PGCONF"
chown postgres "$PGCONF"
chmod 600 "$PGCONF"
run as_pg env -u AWS_SECRET_ACCESS_KEY "$MB" wal-get --config "$PGCONF" "$SEG" "$SCRATCH/in/got3"
exit_is 0 "wal-get with the secret in a 0600 config of PostgreSQL's user"
chmod 640 "$PGCONF"
run as_pg env -u AWS_SECRET_ACCESS_KEY "$MB" wal-get --config "$PGCONF" "$SEG" "$SCRATCH/in/got4"
exit_is 3 "one others may read is refused"

# ---- the gateway down during wal-push
fx_sql "$PORT" "insert into ticks values (0)"
NEXT=$(fx_sql "$PORT" "select pg_walfile_name(pg_current_wal_lsn())")
cp "$DATA/pg_wal/$NEXT" "$SCRATCH/in/$NEXT"
s3_rgw_kill
run "$MB" wal-push "$SCRATCH/in/$NEXT"
exit_is 8 "wal-push with the store unreachable: a media error"
is "$RUN_ERR" "mbackup: error: unable to fetch 's3://wal/db1/archive.info': Couldn't connect to server ($S3_ENDPOINT)
HINT: check s3-endpoint (or AWS_ENDPOINT_URL) and that the object store is up" "one line and a hint"
fx_sql "$PORT" "select pg_switch_wal()" >/dev/null
for i in $(seq 1 200); do
	[ "$(fx_sql "$PORT" "select failed_count > 0 from pg_stat_archiver")" = t ] && break
	sleep 0.1
done
is "$(fx_sql "$PORT" "select failed_count > 0 from pg_stat_archiver")" "t" "PostgreSQL's archive_command fails meanwhile"
like "$(cat "$SOCK/log-$PORT")" "mbackup: error: unable to fetch 's3://wal/db1/archive.info': Couldn't connect" \
	"the reason is in its log"
ok "the gateway is back" s3_rgw_start
ok "PostgreSQL retries and catches up" archived_wait "$NEXT"

# ---- an absent bucket, a wrong secret: one line, a hint, exit 8
run "$MB" wal-push --wal-archive s3://nobucket/db1 "$SCRATCH/in/$NEXT"
exit_is 8 "wal-push into an absent bucket"
is "$RUN_ERR" "mbackup: error: unable to fetch 's3://nobucket/db1/archive.info': HTTP 404 NoSuchBucket
HINT: create the bucket first, or check its name" "names the store's code"
run "$MB" wal-get --wal-archive s3://nobucket/db1 "$NEXT" "$SCRATCH/in/nb"
exit_is 8 "wal-get from an absent bucket is no quiet 'not archived'"
is "$RUN_ERR" "mbackup: error: unable to fetch 's3://nobucket/db1/${NEXT:0:16}/$NEXT': HTTP 404 NoSuchBucket
HINT: create the bucket first, or check its name" "it says why"
run env AWS_SECRET_ACCESS_KEY=wrong "$MB" wal-push "$SCRATCH/in/$NEXT"
exit_is 8 "wal-push with a wrong secret"
is "$RUN_ERR" "mbackup: error: unable to fetch 's3://wal/db1/archive.info': HTTP 403 SignatureDoesNotMatch
HINT: check s3-access-key and s3-secret-key (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY) and the bucket's policy" \
	"names the credentials"

# ---- B1 on the store, rows, half the archive compressed, a target time
is "$(backup s3://backups/b1.mbi | grep -c 'backup [0-9]* complete')" "1" "B1 to s3://backups/b1.mbi"
B1=$("$MB" list --output json --catalog "$CATALOG" | jq '.[0].id')
read -r W_ARCH W_FIRST W_LAST W_START W_STOP < <("$MB" list --output json --catalog "$CATALOG" |
	jq -r '.[0] | "\(.wal_archived) \(.wal_first) \(.wal_last) \(.start_lsn) \(.stop_lsn)"')
is "$W_ARCH" "yes" "B1 records that the archive holds its WAL"
is "$W_FIRST $W_LAST" "$(fx_sql "$PORT" "select pg_walfile_name('$W_START') || ' ' || pg_walfile_name('$W_STOP')")" \
	"from its start segment to its stop segment"
is "$(sqlite3 "$CATALOG" "select count(*) from wal_files where name = '$W_LAST'")" "1" \
	"and the catalog's record of the archive has its stop segment"
rows 1 20
PLAIN=$(switch)
fx_sql "$PORT" "alter system set archive_command = '$MB wal-push --compress zstd:5 %p'" >/dev/null
fx_sql "$PORT" "select pg_reload_conf()" >/dev/null
sleep 0.5
rows 21 40
sleep 0.3
T=$(fx_sql "$PORT" "select to_char(clock_timestamp() at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00'")
sleep 0.3
rows 41 60
ZST=$(switch)
ok "the WAL up to row 60 is archived" test -n "$ZST"
like "$(s3_keys wal db1/)" "$(key_of "$PLAIN")" "segments before the change stored as they are"
like "$(s3_keys wal db1/)" "$(key_of "$ZST").zst" "segments after it as .zst"
s3_get "wal/$(key_of "$ZST").zst" "$SCRATCH/in/z.zst"
ok "a .zst object is what zstd -d reads" sh -c "zstd -dc '$SCRATCH/in/z.zst' | cmp -s - '$DATA/pg_wal/$ZST'"
run as_pg "$MB" wal-get "$ZST" "$SCRATCH/in/gz"
exit_is 0 "wal-get of a compressed segment"
ok "decompressed byte-identical" cmp -s "$SCRATCH/in/gz" "$DATA/pg_wal/$ZST"

run "$MB" wal-check --catalog "$CATALOG"
exit_is 0 "wal-check on the store: whole"
like "$RUN_OUT" "archive '$ARCH': [0-9]+ segment\(s\)" "it lists the store"
like "$RUN_OUT" "[1-9][0-9]* segment\(s\) stored compressed \(zstd\)" "and counts the compressed ones"
like "$RUN_OUT" "backup $B1: timeline 1 from [0-9A-F/]+: complete through $ZST" "B1's WAL is complete"
WHOLE=$RUN_OUT
run env MBACKUP_S3_LIST_PAGE=2 "$MB" wal-check --catalog "$CATALOG"
exit_is 0 "wal-check reading the listing two keys a page"
is "$(sed 's/archived [0-9]* s ago/archived s ago/' <<<"$RUN_OUT")" \
	"$(sed 's/archived [0-9]* s ago/archived s ago/' <<<"$WHOLE")" "sees what one page of them shows"
run "$MB" list --config "$CONF" --catalog "$CATALOG"
like "$RUN_OUT" "archive '$ARCH': [0-9]+ segment\(s\) of 16777216 bytes" "list ends with the store's state"
is "$(sqlite3 "$CATALOG" "select size < 16777216 from wal_files where name = '$ZST'")" "1" \
	"the catalog records a compressed segment's stored size"
is "$(sqlite3 "$CATALOG" "select size from wal_files where name = '$PLAIN'")" "16777216" "and a plain one's"

run "$MB" restore --config "$CONF" --to "$SCRATCH/r/pitr" --catalog "$CATALOG" --target-time "$T"
exit_is 0 "restore --target-time from B1 on the store and the s3 archive"
like "$(cat "$SCRATCH/r/pitr/postgresql.auto.conf")" "restore_command = .*wal-get'' ''--wal-archive'' ''$ARCH'' ''--config''" \
	"restore_command reads the store"
P2=$((PORT + 1))
start_copy "$SCRATCH/r/pitr" "$P2"
is "$(fx_sql "$P2" "select pg_is_in_recovery()")" "f" "the copy replays and promotes"
is "$(fx_sql "$P2" "select count(*) || ' ' || max(id) from ticks where id > 0")" "40 40" \
	"it holds exactly the rows committed before the target"
like "$(cat "$SOCK/log-$P2")" "restored log file \"$PLAIN\" from archive" "it replayed a plain segment"

# ---- the copy archives into the store too: timeline 2's history and its
# segments; a .partial goes and comes back; a restore follows the switch
for i in 1001 1002 1003; do fx_sql "$P2" "insert into ticks values ($i)"; done
T2SEG=$(fx_sql "$P2" "select pg_walfile_name(pg_current_wal_lsn())")
fx_sql "$P2" "select pg_switch_wal()" >/dev/null
for i in $(seq 1 300); do
	[ "$(fx_sql "$P2" "select last_archived_wal >= '$T2SEG' from pg_stat_archiver")" = t ] && break
	sleep 0.1
done
like "$T2SEG" "^00000002" "the copy writes timeline 2"
KEYS=$(s3_keys wal db1/)
like "$KEYS" "db1/00000002.history" "its history file is an object"
like "$KEYS" "$(key_of "$T2SEG")" "and its segments"
run as_pg "$MB" wal-get 00000002.history "$SCRATCH/in/h2"
exit_is 0 "wal-get of the history file from the store"
ok "byte-identical to the copy's" cmp -s "$SCRATCH/in/h2" "$SCRATCH/r/pitr/pg_wal/00000002.history"
# (the copy archived no .partial: its last timeline 1 segment came from
# the archive, which PostgreSQL marks done; a .partial is what a promoted
# standby or pg_receivewal leaves, pushed here by hand)
CUR=$(fx_sql "$PORT" "select pg_walfile_name(pg_current_wal_lsn())")
cp "$DATA/pg_wal/$CUR" "$SCRATCH/in/$CUR.partial" && chown postgres "$SCRATCH/in/$CUR.partial"
run as_pg "$MB" wal-push "$SCRATCH/in/$CUR.partial"
exit_is 0 "wal-push of a .partial into the store"
like "$(s3_keys wal db1/)" "$(key_of "$CUR").partial" "it is an object beside the segments"
run as_pg "$MB" wal-get "$CUR.partial" "$SCRATCH/in/p1"
exit_is 0 "wal-get of the .partial from the store"
ok "byte-identical" cmp -s "$SCRATCH/in/p1" "$SCRATCH/in/$CUR.partial"
run "$MB" wal-check --catalog "$CATALOG"
exit_is 0 "wal-check across the switch"
like "$RUN_OUT" "backup $B1: timeline 1 from [0-9A-F/]+: complete through $T2SEG \(timeline 2\)" \
	"B1's WAL runs on into timeline 2, read from the store"
fx_as_pg "$PGBIN/pg_ctl" -D "$SCRATCH/r/pitr" -m fast stop >/dev/null
run "$MB" restore --config "$CONF" --to "$SCRATCH/r/late" --catalog "$CATALOG" --target latest
exit_is 0 "restore --target latest: B1, then timeline 1 and 2 from the store"
P3=$((PORT + 2))
start_copy "$SCRATCH/r/late" "$P3" "-c archive_mode=off"
is "$(fx_sql "$P3" "select count(*) || ' ' || max(id) from ticks where id > 0")" "43 1003" \
	"it followed the switch: the rows to the target, then timeline 2's own"
like "$(cat "$SOCK/log-$P3")" "restored log file \"00000002.history\" from archive" \
	"the history came from the store"
fx_as_pg "$PGBIN/pg_ctl" -D "$SCRATCH/r/late" -m fast stop >/dev/null

# ---- expire: B2 kept, B1's image object and the WAL before B2 removed
run "$MB" --config "$CONF" --db postgres --pg-conn "host=$SOCK port=$PORT user=postgres" \
	--mirror "loop:$SRC_LOOP" --media "file:$SCRATCH/out/b2.mbi" --catalog "$CATALOG" \
	--wal-archive s3://wal/elsewhere
exit_is 0 "B2 taken, told of an archive that does not hold its WAL"
B2=$("$MB" list --output json --catalog "$CATALOG" | jq '.[0].id')
IFS='|' read -r W_ARCH W_FIRST < <("$MB" list --output json --catalog "$CATALOG" |
	jq -r '.[0] | "\(.wal_archived)|\(.wal_first)"')
is "$W_ARCH" "missing $W_FIRST" "B2 records its first segment as missing"
like "$RUN_ERR" "warn  backup $B2: '$W_FIRST' is not in the WAL archive 's3://wal/elsewhere': the image restores, but no restore can replay past it" \
	"and warns, naming it"
run env MBACKUP_S3_DELETE_BATCH=2 "$MB" expire --retain 1 --catalog "$CATALOG"
exit_is 0 "expire --retain 1"
N_DEL=$(sed -n "s/.*expire: \([0-9]*\) WAL file(s) .*/\1/p" <<<"$RUN_ERR")
like "$RUN_ERR" "expire: $N_DEL WAL file\(s\) .*, in $(((N_DEL + 1) / 2)) request\(s\)" \
	"the WAL goes by DeleteObjects, two keys a request (the test's batch; 1,000 by default)"
like "$RUN_ERR" "expire: run $B1: image 's3://backups/b1.mbi' removed" "B1's image object is removed"
is "$(s3_keys backups)" "" "it is gone from the bucket"
like "$RUN_ERR" "expire: [1-9][0-9]* WAL file\(s\) \([0-9]+ bytes\) removed from '$ARCH', oldest kept " \
	"the WAL before B2 is removed from the store"
is "$(s3_keys wal db1/ | grep -c "$SEG\|$ZST")" "0" "$SEG and $ZST (before B2's start) are gone"
like "$(s3_keys wal db1/)" "db1/0000000100000000/[0-9A-F]{24}.zst" "the WAL B2 needs is kept"
run "$MB" wal-check --catalog "$CATALOG"
exit_is 0 "wal-check: B2's WAL is whole"
is "$(sqlite3 "$CATALOG" "select count(*) from wal_files where name = '$SEG'")" "0" \
	"the catalog's record dropped the expired segment"
done_testing
