#!/bin/bash
# A PostgreSQL 15 hot backup to the object store (issue 15), on loop
# mirrors (data and pg_wal on two), under pgbench and a row-by-row writer,
# to a real Ceph (tests/lib/ceph-up): the image restored from s3:// passes
# pg_verifybackup, starts, passes pg_amcheck, and holds every row committed
# before the backup began.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/fixture.sh"
. "$(dirname "$0")/../lib/ceph.sh"
PGBIN=$FX_PGBIN
fx_pg_suite 2G 768M 512M
fx_ceph_up
ok "bucket 'pgbackups' created" s3_mb pgbackups
CONF=$SCRATCH/etc/mbackup.conf
mkdir -p "$SCRATCH/etc"
printf 's3-endpoint = %s\ns3-access-key = %s\ns3-secret-key = %s\n' \
	"$S3_ENDPOINT" "$S3_ACCESS_KEY" "$S3_SECRET_KEY" >"$CONF"
chmod 0600 "$CONF"

DATA=$SRC_MNT/pg/data
fx_pg_cluster "$DATA" 5
fx_sql "$PORT" "create table ticks (id integer primary key)"
TICKS=$SCRATCH/committed
: >"$TICKS"
fx_bg "$PGBIN/pgbench" -h "$SOCK" -p "$PORT" -n -c 2 -T 20 postgres >/dev/null 2>&1
fx_bg fx_pg_ticker "$PORT" "$TICKS"
sleep 2
before=$(tail -1 "$TICKS")
OBJ=s3://pgbackups/db1/hot.mbi
run env PGPORT="$PORT" "$MB" --db postgres --mirror "loop:$SRC_LOOP" --mirror "loop:$WAL_LOOP" \
	--config "$CONF" --media "$OBJ" --catalog "$CATALOG"
exit_is 0 "hot backup to $OBJ"
for pid in "${FX_PIDS[@]}"; do kill "$pid" 2>/dev/null; done
wait 2>/dev/null
FX_PIDS=()
like "$RUN_ERR" "s3: '$OBJ' complete" "the upload completed"
is "$(s3_uploads pgbackups)" "" "no multipart upload left"
ok "rows were committed before the backup began ($before)" test "${before:-0}" -gt 0

run "$MB" restore --config "$CONF" --from "$OBJ" --to "$SCRATCH/rest/data"
exit_is 0 "the object restores"
run "$PGBIN/pg_verifybackup" "$SCRATCH/rest/data"
exit_is 0 "pg_verifybackup accepts the copy"
chown -R postgres "$SCRATCH/rest"
PORT2=$((PORT + 1))
ok "the copy starts" fx_pg_start "$SCRATCH/rest/data" "$PORT2"
run fx_as_pg "$PGBIN/pg_amcheck" -h "$SOCK" -p "$PORT2" --all --install-missing --heapallindexed
exit_is 0 "pg_amcheck finds nothing wrong"
a=$(fx_sql "$PORT2" "select sum(abalance) from pgbench_accounts")
h=$(fx_sql "$PORT2" "select coalesce(sum(delta), 0) from pgbench_history")
ok "pgbench balances agree ($a $h)" test -n "$a" -a "$a" = "$h"
read -r n lo hi <<<"$(fx_sql "$PORT2" "select count(*), min(id), max(id) from ticks" | tr '|' ' ')"
is "$lo" "1" "ticks start at 1"
is "$n" "$hi" "ticks have no gap (count $n, max $hi)"
ok "every row committed before the backup began is there ($hi >= $before)" test "${hi:-0}" -ge "$before"

# one relation file back by ranged reads: a small part of the object
rel=$(fx_sql "$PORT" "select pg_relation_filepath('pgbench_branches')")
run "$MB" restore --config "$CONF" --from "$OBJ" --to "$SCRATCH/one" --file "$rel"
exit_is 0 "restore --file $rel from the object"
ok "it is restored" test -s "$SCRATCH/one/$rel"
like "$RUN_ERR" "s3: fetched [0-9]{1,6} of [0-9]{8,} bytes" "fetching under 1 MB of a larger object"

done_testing
