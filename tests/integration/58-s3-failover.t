#!/bin/bash
# A set of objects on the store (s3://) with one failing upload, against a
# real Ceph (tests/lib/ceph-up): the store refuses a part of one object
# (MBACKUP_FAULT=s3-part:N:KEY sends it with a digest that does not match
# its body, which RGW refuses), the run completes on the others, the
# failed object's upload is aborted, the catalog and info name it, and
# the survivors restore byte-exact; the last (short) part refused too,
# and a compressed set.  Then a failed run whose abort could not get
# through (the store down) is left with its obligation, which recover
# retries once the store is back.  Last, objects completed for a run that
# then fails (MBACKUP_FAULT=after-finish) are deleted again, by the run
# or, after kill -9, by recover, but never an object the run did not
# write (its ETag).
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/fixture.sh"
. "$(dirname "$0")/../lib/ceph.sh"
fx_s3_suite

# failover NAME PART [backup args]: a set of three objects under NAME/,
# part PART of NAME/b.mbi refused by the store
failover() {
	local name=$1 part=$2 status
	shift 2
	run env MBACKUP_FAULT="s3-part:$part:$name/b.mbi" "$MB" backup --db none \
		--mirror "loop:$SRC_LOOP" --source "$SRC" --catalog "$CATALOG" "${C[@]}" \
		--media "s3://backups/$name/a.mbi" --media "s3://backups/$name/b.mbi" \
		--media "s3://backups/$name/c.mbi" "$@"
	exit_is 0 "$name: part $part of b refused: the run completes"
	like "$RUN_ERR" "warn  device 2 \\('s3://backups/$name/b.mbi'\\) failed: unable to upload part $part of 's3://backups/$name/b.mbi': HTTP 400 XAmzContentSHA256Mismatch; its items went to the others" \
		"$name: the failed object and the store's refusal are named"
	like "$RUN_ERR" "s3: upload [^ ]+ of 's3://backups/$name/b.mbi' aborted" "$name: its upload is aborted"
	is "$(s3_keys backups "$name/" | tr '\n' ' ')" "$name/a.mbi $name/c.mbi " \
		"$name: the two others are in the bucket, no object under b's name"
	is "$(s3_uploads backups)" "" "$name: no multipart upload left"
	status=$(fx_last_run | jq -r '[.status, (.media[] | "\(.media)=\(.status)")] | join(" ")')
	is "$status" "complete s3://backups/$name/a.mbi=complete s3://backups/$name/b.mbi=failed s3://backups/$name/c.mbi=complete" \
		"$name: the catalog says which failed"
	run mb info "${C[@]}" --catalog "$CATALOG"
	like "$RUN_OUT" "#2 s3://backups/$name/b.mbi, [^,]+, failed" "$name: info says which failed"
	run mb restore "${C[@]}" --from "s3://backups/$name/a.mbi" --from "s3://backups/$name/c.mbi" \
		--to "$SCRATCH/r-$name"
	exit_is 0 "$name: the survivors restore"
	fx_tree_is "$SRC" "$SCRATCH/r-$name" "$name: byte-exact"
}

# ~40 MiB over three objects: two parts each (8 MiB and the rest)
failover first 1
failover last 2
failover zstd 1 --compress zstd:1   # one part each: the last

# ---- a failed run whose abort did not get through: recover retries it ----
# the obligation of the newest run: "kind driver state"
obligation() {
	sqlite3 "$CATALOG" "select kind || ' ' || driver || ' ' || state from obligations
		where run_id = (select max(id) from runs) and kind = 'media'"
}
# (the seam: the abort gives up after 6 s, not the run's 30; one try of
# the abort, with its own retries, takes about 3 s against a store gone)
fx_bg env MBACKUP_S3_ABORT_PATIENCE=6 "$MB" backup --db none --mirror "loop:$SRC_LOOP" \
	--source "$SRC" --catalog "$CATALOG" "${C[@]}" --media s3://backups/down.mbi --max-rate 4M \
	2>"$SCRATCH/out/down.err"
pid=$!
ok "the upload of down.mbi is under way" s3_wait_upload backups down.mbi
s3_rgw_kill
wait "$pid"
RUN_RC=$?
exit_is 8 "the store gone for good mid-upload: the run fails"
like "$(cat "$SCRATCH/out/down.err")" "warn  unable to abort the upload of 's3://backups/down.mbi': Couldn't connect to server \\(http://127.0.0.1:$RGW_PORT\\): its parts stay in the store until it is aborted" \
	"its abort gave up after its patience"
like "$(cat "$SCRATCH/out/down.err")" "s3: the store is unreachable, trying the abort again" \
	"... having tried again while it waited"
is "$(fx_last_run | jq -r .status)" "failed" "the run is marked failed"
is "$(obligation)" "media s3 failed" "its upload is left as an obligation not undone"

run mb recover "${C[@]}" --catalog "$CATALOG"
exit_is 8 "recover while the store is still down: exit 8"
is "$(printf '%s\n' "$RUN_ERR" | grep '^mbackup: error: ')" \
	"mbackup: error: unable to list the uploads of 's3://backups/down.mbi': Couldn't connect to server (http://127.0.0.1:$RGW_PORT)" \
	"recover says what it could not undo"
is "$(obligation)" "media s3 failed" "the obligation stays for the next recover"

run fx_backup "${C[@]}" --media "file:$SCRATCH/out/while-down.mbi"
exit_is 0 "a backup to a file while the store is down is not held back"
like "$RUN_ERR" "warn  unable to list the uploads of 's3://backups/down.mbi': Couldn't connect to server \\(http://127.0.0.1:$RGW_PORT\\) \\(left for the next recover\\)" \
	"its preflight warns about the upload left"

ok "the gateway is started again" s3_rgw_start
is "$(s3_uploads backups)" "down.mbi" "the failed run's upload is still in the store"
run mb recover "${C[@]}" --catalog "$CATALOG"
exit_is 0 "recover once the store is back"
is "$RUN_OUT" "recover: 1 obligation(s) undone" "recover undid it"
is "$(s3_uploads backups)" "" "the upload is aborted"
is "$(sqlite3 "$CATALOG" "select state from obligations where kind = 'media' and arg = '//backups/down.mbi'")" \
	"recovered" "the obligation is marked recovered"
run mb recover "${C[@]}" --catalog "$CATALOG"
is "$RUN_OUT" "recover: 0 obligation(s) undone" "a second recover finds nothing left"

# ---- objects completed for a run that then fails: deleted again ----
# (as a file image's rename is rolled back: a run is complete exactly when
# its images are in place)
set2=(--media s3://backups/rb/a.mbi --media s3://backups/rb/b.mbi)
MBACKUP_FAULT=after-finish:error run fx_backup "${C[@]}" "${set2[@]}"
exit_is 1 "a set of two objects, the run failing after both were completed"
like "$RUN_ERR" "removed the image 's3://backups/rb/a.mbi' of a run that did not complete" \
	"the first object is deleted again"
like "$RUN_ERR" "removed the image 's3://backups/rb/b.mbi' of a run that did not complete" \
	"and the second"
is "$(s3_keys backups rb/)" "" "no object of the failed run under its name"
MBACKUP_FAULT=after-finish:kill run fx_backup "${C[@]}" --media s3://backups/rb/k.mbi
exit_is 137 "killed after the completion"
is "$(s3_keys backups rb/)" "rb/k.mbi" "  the object is there until recover"
run mb recover "${C[@]}" --catalog "$CATALOG"
is "$RUN_OUT" "recover: 1 obligation(s) undone" "recover undoes its publish obligation"
is "$(s3_keys backups rb/)" "" "  and the object is gone"
# killed after the completion again, and the object replaced by another
# writer before recover: it is not the run's image (its ETag), so it stays
MBACKUP_FAULT=after-finish:kill run fx_backup "${C[@]}" --media s3://backups/rb/r.mbi
exit_is 137 "killed after the completion of rb/r.mbi"
echo "another writer's object" >"$SCRATCH/out/other"
is "$(s3 PUT backups/rb/r.mbi --data-binary "@$SCRATCH/out/other" | tail -n 1)" 200 \
	"  the object replaced by another writer"
run mb recover "${C[@]}" --catalog "$CATALOG"
like "$RUN_ERR" "leaving 's3://backups/rb/r.mbi': it is not the image of the failed run" \
	"recover leaves an object the run did not write"
s3_get backups/rb/r.mbi "$SCRATCH/out/other.got"
ok "  it is still there, unchanged" cmp -s "$SCRATCH/out/other" "$SCRATCH/out/other.got"

done_testing
