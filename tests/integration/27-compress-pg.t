#!/bin/bash
# A PostgreSQL 15 hot backup, compressed (--compress zstd) under pgbench:
# restored by mbackup and, apart, by zstd -dc | tar -x; both copies pass
# pg_verifybackup, and the mbackup copy starts and holds pgbench's
# balances.  Then restore --file of one relation file reads a fraction.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/fixture.sh"
PGBIN=$FX_PGBIN
fx_pg_available || skip_all "PostgreSQL 15 is not installed (run deploy/setup)"
command -v zstd >/dev/null || skip_all "missing tool 'zstd' (run deploy/setup)"
fx_init
chmod 755 "$SCRATCH"
fx_backing 3G
fx_source ext4 1G
fx_pg_env
mkdir -p "$SRC_MNT/pg"
chown postgres "$SRC_MNT/pg"
PORT=$((20000 + RANDOM % 20000))
trap 'fx_pg_stop_all; fx_cleanup' EXIT
DATA=$SRC_MNT/pg/data
fx_as_pg "$PGBIN/initdb" -A trust -D "$DATA" >/dev/null || bail_out "initdb failed"
fx_pg_start "$DATA" "$PORT" || bail_out "postgres did not start: $(tail -5 "$SOCK/log-$PORT")"
fx_as_pg "$PGBIN/pgbench" -h "$SOCK" -p "$PORT" -i -s 5 -q postgres >/dev/null 2>&1 ||
	bail_out "pgbench -i failed"
IMG=$SCRATCH/out/pg.mbi.zst

fx_bg "$PGBIN/pgbench" -h "$SOCK" -p "$PORT" -n -c 2 -T 20 postgres
sleep 1
run env PGPORT="$PORT" "$MB" --db postgres --mirror "loop:$SRC_LOOP" --media "file:$IMG" \
	--compress zstd:3 --compress-threads 2 --catalog "$CATALOG"
exit_is 0 "compressed hot backup under pgbench"
for pid in "${FX_PIDS[@]}"; do kill "$pid" 2>/dev/null; done
wait 2>/dev/null
FX_PIDS=()
raw=$(zstd -dc "$IMG" | wc -c)
csize=$(stat -c %s "$IMG")
ok "the image is compressed ($csize bytes for $raw)" test "$csize" -lt $((raw / 3))

run "$MB" restore --from "$IMG" --to "$SCRATCH/rest/data"
exit_is 0 "the compressed image restores"
run "$PGBIN/pg_verifybackup" "$SCRATCH/rest/data"
exit_is 0 "pg_verifybackup accepts the restored copy"
mkdir -p "$SCRATCH/tarx"
run bash -c "zstd -dc '$IMG' | tar -xf - -C '$SCRATCH/tarx'"
exit_is 0 "zstd -dc | tar -x extracts it"
run "$PGBIN/pg_verifybackup" "$SCRATCH/tarx"
exit_is 0 "pg_verifybackup accepts what zstd -dc | tar extracted"
chown -R postgres "$SCRATCH/rest"
PORT2=$((PORT + 1))
ok "the copy starts" fx_pg_start "$SCRATCH/rest/data" "$PORT2"
like "$(cat "$SOCK/log-$PORT2")" "consistent recovery state reached" "it reached consistency from the backup's WAL"
a=$(fx_sql "$PORT2" "select sum(abalance) from pgbench_accounts")
b=$(fx_sql "$PORT2" "select sum(bbalance) from pgbench_branches")
t=$(fx_sql "$PORT2" "select sum(tbalance) from pgbench_tellers")
ok "pgbench balances agree ($a $b $t)" test -n "$a" -a "$a" = "$b" -a "$b" = "$t"

rel=$(fx_sql "$PORT" "select pg_relation_filepath('pgbench_branches')")
run "$MB" restore --from "$IMG" --to "$SCRATCH/one" --file "$rel"
exit_is 0 "restore --file $rel"
ok "it is the file zstd -dc | tar extracted" cmp "$SCRATCH/tarx/$rel" "$SCRATCH/one/$rel"
read_c=$(printf '%s' "$RUN_ERR" | sed -n "s/.*zstd: read \([0-9]*\) of .*/\1/p")
ok "read ${read_c:-?} of $csize compressed bytes: under a fifth" test "${read_c:-$csize}" -lt $((csize / 5))
done_testing
