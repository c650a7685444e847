#!/bin/bash
# The object store as media (issue 15), against a real Ceph (mon, OSD,
# radosgw from Debian's packages, tests/lib/ceph-up) on 127.0.0.1: a
# --db none backup on the loop mirror to s3://, restored byte-exact; one
# file restored fetching a small part of the object; ls and verify; a set
# of two objects; the secret in neither the log nor the catalog; the
# config's checks; wrong credentials, an absent bucket, an unreachable
# endpoint; mbackup killed mid-upload (recover aborts the upload) and the
# gateway killed mid-upload (a clean failure, no object under the name,
# no multipart upload left once recover ran).
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/fixture.sh"
. "$(dirname "$0")/../lib/ceph.sh"
fx_init
fx_ceph_up
fx_setup ext4 512M
fx_populate "$SRC"
mkdir -p "$SRC/bulk" "$SRC/mid"
head -c $((30 * 1048576)) /dev/urandom >"$SRC/bulk/big-1"
head -c $((12 * 1048576)) /dev/urandom >"$SRC/bulk/big-2"
head -c 1048576 /dev/urandom >"$SRC/mid/target.bin"
ok "bucket 'backups' created" s3_mb backups

CONF=$SCRATCH/etc/mbackup.conf
mkdir -p "$SCRATCH/etc"
# conf [SECRET [ENDPOINT]]: the config file, mode 0600
conf() {
	printf 's3-endpoint = %s\ns3-region = %s\ns3-access-key = %s\ns3-secret-key = %s\ns3-uri-style = path\n' \
		"${2:-$S3_ENDPOINT}" "$S3_REGION" "$S3_ACCESS_KEY" "${1:-$S3_SECRET_KEY}" >"$CONF"
	chmod 0600 "$CONF"
}
conf
C=(--config "$CONF")
LOG=$SCRATCH/out/mbackup.log

# refused NAME EXIT MESSAGE HINT -- args: that exit code, error line and hint
refused() {
	local name=$1 code=$2 msg=$3 hint=$4
	shift 5
	run "$MB" "$@"
	exit_is "$code" "$name: exit $code"
	is "$(printf '%s\n' "$RUN_ERR" | grep '^mbackup: error: ')" "mbackup: error: $msg" "$name: the error"
	is "$(printf '%s\n' "$RUN_ERR" | grep '^HINT: ')" "HINT: $hint" "$name: the hint"
}

# ---- a backup to the store and back ----
OBJ=s3://backups/db1/full.mbi
run fx_backup "${C[@]}" --media "$OBJ" --log-level debug --log-file "$LOG"
exit_is 0 "backup to $OBJ"
is "$(s3_keys backups db1/)" "db1/full.mbi" "the object is in the bucket"
is "$(s3_uploads backups)" "" "no multipart upload left"
s3_get backups/db1/full.mbi "$SCRATCH/out/full.mbi"
ok "plain tar reads the object" bsdtar -tf "$SCRATCH/out/full.mbi" mid/target.bin
size=$(stat -c %s "$SCRATCH/out/full.mbi")
parts=$(((size + 8388607) / 8388608))
like "$RUN_ERR" "s3: '$OBJ' complete: $size bytes in $parts parts" "$size bytes: $parts parts of 8 MiB"
is "$(fx_last_run | jq -r '.media[0].media')" "$OBJ" "the catalog names the object"

run mb ls "${C[@]}" --from "$OBJ"
exit_is 0 "ls --from s3://"
like "$RUN_OUT" "mid/target.bin" "ls lists the files"
run mb verify "${C[@]}" --from "$OBJ"
exit_is 0 "verify --from s3://"
run mb restore "${C[@]}" --from "$OBJ" --to "$SCRATCH/all"
exit_is 0 "restore --from s3://"
fx_tree_is "$SRC" "$SCRATCH/all" "the restored tree is byte-exact"

run mb restore "${C[@]}" --from "$OBJ" --to "$SCRATCH/one" --file mid/target.bin --output json
exit_is 0 "restore --file from s3://"
ok "the file is exact" cmp "$SRC/mid/target.bin" "$SCRATCH/one/mid/target.bin"
fetched=$(printf '%s\n' "$RUN_ERR" | sed -n "s/.*s3: fetched \([0-9]*\) of $size bytes of '.*/\1/p")
ok "fetched $fetched bytes of $size: under 1 MiB + 256 KiB" test "${fetched:-999999999}" -lt $((1280 * 1024))
ok "and at least the file" test "${fetched:-0}" -ge 1048576
read_bytes=$(printf '%s' "$RUN_OUT" | jq -r .image_bytes_read)
ok "the reader read $read_bytes bytes, no more than were fetched" test "$read_bytes" -le "$fetched"

# ---- the secret stays out of the log and the catalog ----
ok "the log file was written" test -s "$LOG"
nok "the secret is not in the log" grep -qF "$S3_SECRET_KEY" "$LOG"
nok "the secret is not in the catalog" grep -qaF "$S3_SECRET_KEY" "$CATALOG"
nok "nor in the catalog's dump" sh -c "sqlite3 '$CATALOG' .dump | grep -qF '$S3_SECRET_KEY'"
ok "the stored config has the endpoint" sh -c "sqlite3 '$CATALOG' .dump | grep -qF 's3-endpoint'"

# ---- the config ----
refused "the secret on the command line" 2 \
	"option '--s3-secret-key' is read from the config file only (for 'backup')" \
	"see mbackup backup --help" -- backup --s3-secret-key x --db none
chmod 0640 "$CONF"
refused "a secret in a config others can read" 3 \
	"config file '$CONF' holds s3-secret-key but is mode 0640, owned by uid 0" \
	"chown root '$CONF' and chmod 600 '$CONF', or give AWS_SECRET_ACCESS_KEY in the environment" \
	-- ls "${C[@]}" --from "$OBJ"
conf
refused "an existing object" 8 "media object '$OBJ' already exists" \
	"choose a new name, or pass --force to overwrite it" -- backup --db none \
	--mirror "loop:$SRC_LOOP" --source "$SRC" --catalog "$CATALOG" "${C[@]}" --media "$OBJ"

# ---- the store refuses, or is not there ----
B=(backup --db none --mirror "loop:$SRC_LOOP" --source "$SRC" --catalog "$CATALOG" "${C[@]}")
run mb check --db none --mirror "loop:$SRC_LOOP" --source "$SRC" --catalog "$CATALOG" "${C[@]}" \
	--media s3://backups/x.mbi
exit_is 0 "check with s3:// media: the store answers"
conf "wrong-secret"
refused "wrong credentials" 8 "unable to look up 's3://backups/x.mbi': HTTP 403 Forbidden" \
	"check s3-access-key and s3-secret-key (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY) and the bucket's policy" \
	-- "${B[@]}" --media s3://backups/x.mbi
is "$(printf '%s\n' "$RUN_ERR" | grep -c ' error ')" "0" "refused before anything was recorded: no undo to fail"
refused "check with wrong credentials" 8 "unable to look up 's3://backups/x.mbi': HTTP 403 Forbidden" \
	"check s3-access-key and s3-secret-key (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY) and the bucket's policy" \
	-- check --db none --mirror "loop:$SRC_LOOP" --source "$SRC" --catalog "$CATALOG" "${C[@]}" \
	--media s3://backups/x.mbi
refused "wrong credentials when reading" 8 "unable to open '$OBJ': HTTP 403 Forbidden" \
	"check s3-access-key and s3-secret-key (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY) and the bucket's policy" \
	-- ls "${C[@]}" --from "$OBJ"
conf
refused "an absent bucket" 8 "unable to list the bucket of 's3://nobucket/x.mbi': HTTP 404 NoSuchBucket" \
	"create the bucket first, or check its name" -- "${B[@]}" --media s3://nobucket/x.mbi
is "$(printf '%s\n' "$RUN_ERR" | grep -c ' error ')" "0" "refused in preflight, before anything was recorded"
CK=(check --db none --mirror "loop:$SRC_LOOP" --source "$SRC" --catalog "$CATALOG" "${C[@]}")
refused "check with an absent bucket" 8 "unable to list the bucket of 's3://nobucket/x.mbi': HTTP 404 NoSuchBucket" \
	"create the bucket first, or check its name" -- "${CK[@]}" --media s3://nobucket/x.mbi
# check also reaches an s3:// WAL archive (one GET of its archive.info)
run mb "${CK[@]}" --wal-archive s3://backups/wal
exit_is 0 "check with an s3:// WAL archive that holds nothing yet"
like "$RUN_OUT" "^check: ok: .*, WAL archive 's3://backups/wal' reachable" "check says it reached it"
refused "check with the WAL archive in an absent bucket" 8 \
	"unable to fetch 's3://nobucket/wal/archive.info': HTTP 404 NoSuchBucket" \
	"create the bucket first, or check its name" -- "${CK[@]}" --wal-archive s3://nobucket/wal
conf "wrong-secret"
refused "check of the WAL archive with wrong credentials" 8 \
	"unable to fetch 's3://backups/wal/archive.info': HTTP 403 SignatureDoesNotMatch" \
	"check s3-access-key and s3-secret-key (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY) and the bucket's policy" \
	-- "${CK[@]}" --wal-archive s3://backups/wal
conf "" "http://127.0.0.1:1"
refused "check of the WAL archive with the gateway down" 8 \
	"unable to fetch 's3://backups/wal/archive.info': Couldn't connect to server (http://127.0.0.1:1)" \
	"check s3-endpoint (or AWS_ENDPOINT_URL) and that the object store is up" \
	-- "${CK[@]}" --wal-archive s3://backups/wal
conf
refused "an absent object" 17 "unable to open 's3://backups/nope.mbi': HTTP 404 Not Found" \
	"check the bucket and the key" -- restore "${C[@]}" --from s3://backups/nope.mbi --to "$SCRATCH/nope"
conf "" "http://127.0.0.1:1"
refused "an unreachable endpoint" 8 \
	"unable to look up 's3://backups/x.mbi': Couldn't connect to server (http://127.0.0.1:1)" \
	"check s3-endpoint (or AWS_ENDPOINT_URL) and that the object store is up" \
	-- "${B[@]}" --media s3://backups/x.mbi
conf
refused "a bad s3:// spec" 2 "invalid media 's3://backups'" "write it s3://BUCKET/KEY" \
	-- "${B[@]}" --media s3://backups
is "$(s3_keys backups)" "db1/full.mbi" "none of them left an object"
is "$(s3_uploads backups)" "" "nor an upload"

# ---- the AWS environment instead of the config; a set of two objects ----
run env AWS_ENDPOINT_URL="$S3_ENDPOINT" AWS_ACCESS_KEY_ID="$S3_ACCESS_KEY" \
	AWS_SECRET_ACCESS_KEY="$S3_SECRET_KEY" AWS_DEFAULT_REGION="$S3_REGION" \
	"$MB" backup --db none --mirror "loop:$SRC_LOOP" --source "$SRC" --catalog "$CATALOG" \
	--media s3://backups/set/a.mbi --media s3://backups/set/b.mbi
exit_is 0 "a set of two objects, settings from the environment"
is "$(s3_keys backups set/ | tr '\n' ' ')" "set/a.mbi set/b.mbi " "both objects are there"
run mb restore "${C[@]}" --from s3://backups/set/a.mbi --from s3://backups/set/b.mbi --to "$SCRATCH/set"
exit_is 0 "the set restores"
fx_tree_is "$SRC" "$SCRATCH/set" "the set's tree is byte-exact"

# ---- killed mid-upload ----
fx_bg "$MB" "${B[@]}" --media s3://backups/kill.mbi --max-rate 4M 2>"$SCRATCH/out/kill.err"
pid=$!
ok "the upload of kill.mbi is under way" s3_wait_upload backups kill.mbi
sleep 1
kill -KILL "$pid"
wait "$pid" 2>/dev/null
is "$(s3_uploads backups | grep -cxF kill.mbi)" "1" "kill -9 left the upload"
run mb recover "${C[@]}" --catalog "$CATALOG"
exit_is 0 "recover"
is "$(s3_uploads backups)" "" "recover aborted the upload"
is "$(s3_keys backups kill)" "" "no object under the name"
ok "the source is writable" fx_writable "$SRC"

# The gateway killed mid-upload and started again at once (a restart): the
# part in flight is retried with backoff and the backup completes.
fx_bg "$MB" "${B[@]}" --media s3://backups/gw1.mbi --max-rate 8M 2>"$SCRATCH/out/gw1.err"
pid=$!
ok "the upload of gw1.mbi is under way" s3_wait_upload backups gw1.mbi
s3_rgw_kill
ok "the gateway is started again" s3_rgw_start
wait "$pid"
RUN_RC=$?
exit_is 0 "a gateway restarted mid-upload: the backup completes"
like "$(cat "$SCRATCH/out/gw1.err")" "s3: 's3://backups/gw1.mbi' complete" "the object is complete"
run mb restore "${C[@]}" --from s3://backups/gw1.mbi --to "$SCRATCH/gw1"
exit_is 0 "it restores"
fx_tree_is "$SRC" "$SCRATCH/gw1" "byte-exact"

# The gateway killed mid-upload and back only 10 s later: the run fails,
# and its abort, retried while the store is unreachable, gets through.
fx_bg "$MB" "${B[@]}" --media s3://backups/gw.mbi --max-rate 8M 2>"$SCRATCH/out/gw.err"
pid=$!
ok "the upload of gw.mbi is under way" s3_wait_upload backups gw.mbi
s3_rgw_kill
(sleep 10; s3_rgw_start) &
restarter=$!
wait "$pid"
RUN_RC=$?
exit_is 8 "the gateway gone mid-upload: the run fails with the media's code"
like "$(grep '^mbackup: error: ' "$SCRATCH/out/gw.err")" \
	"^mbackup: error: unable to upload part [0-9]* of 's3://backups/gw.mbi': Couldn't connect to server" \
	"the error names the part and the cause"
ok "the gateway is back" wait "$restarter"
is "$(s3_keys backups gw.)" "" "no object under the name"
is "$(s3_uploads backups)" "" "no multipart upload left: the run aborted it"
is "$(fx_last_run | jq -r .status)" "failed" "the run is marked failed"
ok "the source is writable after it" fx_writable "$SRC"

done_testing
