#!/bin/bash
# PostgreSQL 15 for real, on loop mirrors: data and WAL on two filesystems
# (pg_wal made by initdb -X), pgbench writing and a row-by-row writer
# running while `mbackup --db postgres` takes a hot backup; the image is
# restored, started, checked with pg_amcheck, pgbench's balances and the
# rows committed before the backup began.  Then freeze mode, an unreachable
# server, and SIGKILL inside the window.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/fixture.sh"
PGBIN=$FX_PGBIN
# pg_wal on a second filesystem, on its own loop mirror.
fx_pg_suite 3G 1G 512M
stop_bg() {
	local pid
	for pid in "${FX_PIDS[@]}"; do kill "$pid" 2>/dev/null; done
	wait 2>/dev/null
	FX_PIDS=()
}

DATA=$SRC_MNT/pg/data
fx_pg_cluster "$DATA" 5
fx_sql "$PORT" "create table ticks (id integer primary key)"

# The row writer: one transaction per row; an id is written to the file
# only after its commit returned.
TICKS=$SCRATCH/committed
: >"$TICKS"
ticker() {
	local i=1
	while psql -X -q -p "$PORT" -c "insert into ticks values ($i)" 2>/dev/null; do
		echo "$i" >>"$TICKS"
		i=$((i + 1))
	done
}

backup_pg() { # extra options...
	"$MB" --db postgres --catalog "$CATALOG" "$@"
}

# ---- 1. hot backup under load, data and WAL on two mirrors
fx_bg "$PGBIN/pgbench" -h "$SOCK" -p "$PORT" -n -c 2 -T 30 postgres >/dev/null 2>&1
fx_bg ticker
sleep 2
before=$(tail -1 "$TICKS")
run env PGPORT="$PORT" "$MB" --db postgres --mirror "loop:$SRC_LOOP" --mirror "loop:$WAL_LOOP" \
	--media "file:$SCRATCH/out/hot.mbi" --catalog "$CATALOG"
exit_is 0 "hot backup with data and pg_wal on two mirrors"
stop_bg
like "$RUN_ERR" "froze 2 filesystem" "both filesystems were frozen in the window"
like "$RUN_ERR" "database bracket [0-9]+ ms" "the time in backup mode is reported"
ok "rows were committed before the backup began ($before)" test "${before:-0}" -gt 0
is "$(fx_clones)" "" "both split clones are gone"
ok "the data filesystem is writable" fx_writable "$DATA"

run "$MB" restore --from "$SCRATCH/out/hot.mbi" --to "$SCRATCH/rest/data"
exit_is 0 "the image restores"
ok "backup_label is in the copy" test -s "$SCRATCH/rest/data/backup_label"
ok "pg_wal is a real directory in the copy, not a link to production" \
	test -d "$SCRATCH/rest/data/pg_wal" -a ! -L "$SCRATCH/rest/data/pg_wal"
ok "no postmaster.pid in the copy" test ! -e "$SCRATCH/rest/data/postmaster.pid"
run "$PGBIN/pg_verifybackup" "$SCRATCH/rest/data"
exit_is 0 "pg_verifybackup accepts the restored copy (manifest, sizes, WAL range)"
mkdir -p "$SCRATCH/tarx"
tar -xf "$SCRATCH/out/hot.mbi" -C "$SCRATCH/tarx"
run "$PGBIN/pg_verifybackup" "$SCRATCH/tarx"
exit_is 0 "pg_verifybackup accepts what plain GNU tar extracted"
chown -R postgres "$SCRATCH/rest"
PORT2=$((PORT + 1))
ok "the copy starts" fx_pg_start "$SCRATCH/rest/data" "$PORT2"
like "$(cat "$SOCK/log-$PORT2")" "consistent recovery state reached" "it reached consistency from the backup's WAL"
run fx_as_pg "$PGBIN/pg_amcheck" -h "$SOCK" -p "$PORT2" --all --install-missing --heapallindexed
exit_is 0 "pg_amcheck finds nothing wrong"
a=$(fx_sql "$PORT2" "select sum(abalance) from pgbench_accounts")
b=$(fx_sql "$PORT2" "select sum(bbalance) from pgbench_branches")
t=$(fx_sql "$PORT2" "select sum(tbalance) from pgbench_tellers")
h=$(fx_sql "$PORT2" "select coalesce(sum(delta), 0) from pgbench_history")
ok "pgbench balances agree ($a $b $t $h)" test -n "$a" -a "$a" = "$b" -a "$b" = "$t" -a "$t" = "$h"
read -r n lo hi <<<"$(fx_sql "$PORT2" "select count(*), min(id), max(id) from ticks" | tr '|' ' ')"
is "$lo" "1" "ticks start at 1"
is "$n" "$hi" "ticks have no gap (count $n, max $hi)"
ok "every row committed before the backup began is there ($hi >= $before)" test "${hi:-0}" -ge "$before"

# ---- 2. check: every preflight, nothing changed
run env PGPORT="$PORT" "$MB" check --db postgres --mirror "loop:$SRC_LOOP" --mirror "loop:$WAL_LOOP" \
	--catalog "$CATALOG"
exit_is 0 "check passes on a healthy cluster"
like "$RUN_OUT" "^check: ok" "... and says so"
is "$(fx_clones)" "" "... splitting nothing"
run env PGPORT="$PORT" "$MB" check --db postgres --mirror "loop:$SRC_LOOP" --catalog "$CATALOG"
exit_is 5 "check names a pg_wal that is on no given mirror"
like "$RUN_ERR" "pg_wal '$WAL_MNT/pg/pg_wal' is on the filesystem at '$WAL_MNT', which is on no given mirror" \
	"... with the filesystem it is on"
run env PGPORT="$PORT" "$MB" check --db postgres --mode lukewarm --mirror "loop:$SRC_LOOP" \
	--catalog "$CATALOG"
exit_is 2 "an invalid --mode is a usage error"
like "$RUN_ERR" "invalid --mode 'lukewarm'" "... naming it"
run env PGPORT="$PORT" "$MB" check --db postgres --source "$SRC_MNT/pg" --mirror "loop:$SRC_LOOP" \
	--mirror "loop:$WAL_LOOP" --catalog "$CATALOG"
exit_is 5 "a --source that is not the data directory is refused"
like "$RUN_ERR" "--source '$SRC_MNT/pg' is not the data directory of the cluster \\('$DATA'\\)" \
	"... naming both"

# ---- 3. freeze mode needs pg_wal on the data filesystem
run env PGPORT="$PORT" "$MB" --db postgres --mode freeze --mirror "loop:$SRC_LOOP" \
	--mirror "loop:$WAL_LOOP" --media "file:$SCRATCH/out/refused.mbi" --catalog "$CATALOG"
exit_is 5 "freeze mode with pg_wal elsewhere is refused"
like "$RUN_ERR" "mode freeze needs pg_wal" "... saying why"
ok "... and writes no image" test ! -e "$SCRATCH/out/refused.mbi"

# A second cluster, WAL inside, for freeze mode.
DATA3=$SRC_MNT/pg/data3
PORT3=$((PORT + 2))
fx_as_pg "$PGBIN/initdb" -A trust -D "$DATA3" >/dev/null && fx_pg_start "$DATA3" "$PORT3" &&
	fx_as_pg "$PGBIN/pgbench" -h "$SOCK" -p "$PORT3" -i -s 2 -q postgres >/dev/null 2>&1 ||
	bail_out "second cluster failed"
run "$MB" check --db postgres --pg-conn "host=$SOCK port=$PORT3 user=postgres" \
	--mirror "loop:$SRC_LOOP" --mirror "loop:$WAL_LOOP" --catalog "$CATALOG"
exit_is 2 "a mirror that holds nothing of the cluster is refused"
like "$RUN_ERR" "mirror 'loop:$WAL_LOOP' holds nothing of the cluster" "... naming it"
fx_bg "$PGBIN/pgbench" -h "$SOCK" -p "$PORT3" -n -c 2 -T 20 postgres >/dev/null 2>&1
sleep 1
run "$MB" --db postgres --mode freeze --pg-conn "host=$SOCK port=$PORT3 user=postgres" \
	--mirror "loop:$SRC_LOOP" --media "file:$SCRATCH/out/freeze.mbi" --catalog "$CATALOG"
exit_is 0 "freeze-mode backup under load"
stop_bg
run "$MB" restore --from "$SCRATCH/out/freeze.mbi" --to "$SCRATCH/rest3/data"
exit_is 0 "the freeze image restores"
ok "no backup_label in a freeze image" test ! -e "$SCRATCH/rest3/data/backup_label"
chown -R postgres "$SCRATCH/rest3"
PORT4=$((PORT + 3))
ok "the freeze copy starts (crash recovery)" fx_pg_start "$SCRATCH/rest3/data" "$PORT4"
a=$(fx_sql "$PORT4" "select sum(abalance) from pgbench_accounts")
h=$(fx_sql "$PORT4" "select coalesce(sum(delta), 0) from pgbench_history")
ok "its balances agree with its history ($a $h)" test -n "$a" -a "$a" = "$h"

# ---- 4. bad input: an unreachable server changes nothing
run "$MB" --db postgres --pg-conn "host=$SCRATCH/nowhere port=1" --mirror "loop:$SRC_LOOP" \
	--media "file:$SCRATCH/out/unreachable.mbi" --catalog "$CATALOG"
exit_is 16 "an unreachable server exits 16"
like "$RUN_ERR" "unable to connect to PostgreSQL" "... naming the cause"
unlike "$RUN_ERR$RUN_OUT" "password" "... and no password anywhere"
ok "... no image" test ! -e "$SCRATCH/out/unreachable.mbi"
is "$(fx_clones)" "" "... nothing split"

# ---- 4b. libpq is loaded on first use: without it (hidden in a mount
# namespace of its own) --db postgres is refused before anything is done,
# and --db none never needs it
LIBPQ=$(readlink -f "$(ldconfig -p | awk '$1 == "libpq.so.5" { print $NF; exit }')")
no_libpq() { unshare -m sh -c 'mount --bind /dev/null "$0" && exec "$@"' "$LIBPQ" "$@"; }
run no_libpq env PGPORT="$PORT" "$MB" --db postgres --mirror "loop:$SRC_LOOP" \
	--media "file:$SCRATCH/out/nolibpq.mbi" --catalog "$CATALOG"
exit_is 16 "without libpq --db postgres exits 16"
like "$(grep -A1 '^mbackup: error: ' <<<"$RUN_ERR")" "^mbackup: error: unable to load libpq\.so\.5 \([^
]+\)
HINT: the database needs libpq: apt-get install libpq5, or run with --db none\$" "... naming the library, with a hint"
ok "... no image" test ! -e "$SCRATCH/out/nolibpq.mbi"
is "$(fx_clones)" "" "... nothing split"
run no_libpq "$MB" backup --db none --source "$DATA" --mirror "loop:$SRC_LOOP" \
	--media "file:$SCRATCH/out/nolibpq-none.mbi" --catalog "$CATALOG"
exit_is 0 "without libpq --db none backs up (it never loads libpq)"

# ---- 5. SIGKILL inside the window: thawed, no backup session, recover
run env PGPORT="$PORT" MBACKUP_FAULT=after-split:kill "$MB" --db postgres \
	--mirror "loop:$SRC_LOOP" --mirror "loop:$WAL_LOOP" --freeze-timeout 3 \
	--media "file:$SCRATCH/out/killed.mbi" --catalog "$CATALOG"
exit_is 137 "killed inside the window"
ok "the data filesystem is writable again" test -n "$(fx_wait_writable "$DATA" 15)"
ok "the WAL filesystem is writable again" test -n "$(fx_wait_writable "$WAL_MNT" 15)"
sleep 1
is "$(fx_sql "$PORT" "select count(*) from pg_stat_activity where query ilike '%pg_backup_start%' and pid <> pg_backend_pid()")" \
	"0" "no session is left in backup mode"
is "$(fx_sql "$PORT" "select count(*) from pg_replication_slots where slot_name like 'mbackup%'")" \
	"0" "the temporary slot is gone"
run "$MB" recover --catalog "$CATALOG"
exit_is 0 "recover"
is "$(fx_clones)" "" "recover removed both split clones"
is "$("$MB" list --output json --catalog "$CATALOG" | jq -r '.[0].status')" "failed" \
	"the killed run is marked failed"

done_testing
