#!/bin/bash
# A set of objects on the store (s3://) with one failing upload, against a
# real Ceph (tests/lib/ceph-up): the store refuses a part of one object
# (MBACKUP_FAULT=s3-part:N:KEY sends it with a digest that does not match
# its body, which RGW refuses), the run completes on the others, the
# failed object's upload is aborted, the catalog and info name it, and
# the survivors restore byte-exact; the last (short) part refused too,
# and a compressed set.  Then a failed run whose abort could not get
# through (the store down) is left with its obligation, which recover
# retries once the store is back.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/fixture.sh"
. "$(dirname "$0")/../lib/ceph.sh"
fx_init
fx_ceph_up
fx_setup ext4 512M
fx_populate "$SRC"
ok "bucket 'backups' created" s3_mb backups

CONF=$SCRATCH/etc/mbackup.conf
mkdir -p "$SCRATCH/etc"
printf 's3-endpoint = %s\ns3-region = %s\ns3-access-key = %s\ns3-secret-key = %s\ns3-uri-style = path\n' \
	"$S3_ENDPOINT" "$S3_REGION" "$S3_ACCESS_KEY" "$S3_SECRET_KEY" >"$CONF"
chmod 0600 "$CONF"
C=(--config "$CONF")

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

done_testing
