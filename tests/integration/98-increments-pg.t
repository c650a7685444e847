#!/bin/bash
# Block increments of PostgreSQL 15 for real (hot mode, data and pg_wal on
# two loop mirrors, 8 KiB blocks): a full B1 under pgbench and a numbered-
# row writer (on two devices, pgbench_accounts cut into segments whose
# boundaries split 8 KiB blocks), more load and DDL (a table dropped, one truncated, a VACUUM
# FULL, a database created, one dropped), an incremental B2, more load, an
# incremental B3.  Each point restored through its chain starts, passes
# pg_verifybackup (its own backup_manifest: every file's checksum) and
# pg_amcheck, keeps pgbench's balances and holds every row committed
# before its backup began, without a gap; --file of a relation from B3 is
# the file of the B3 restore; B2 holds only the changed blocks of the
# segmented pgbench_accounts (its map was put together by both devices).
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/fixture.sh"
PGBIN=$FX_PGBIN
fx_pg_suite 3G 1G 512M

DATA=$SRC_MNT/pg/data
fx_pg_cluster "$DATA" 10
fx_sql "$PORT" "create table ticks (id integer primary key)"
fx_sql "$PORT" "create table dropme as select g from generate_series(1, 100000) g"
fx_sql "$PORT" "create table truncme as select g from generate_series(1, 100000) g"
fx_sql "$PORT" "create table vacme as select g, repeat('x', 100) t from generate_series(1, 50000) g"
fx_sql "$PORT" "create database gone"

TICKS=$SCRATCH/committed
: >"$TICKS"
backup() { # MEDIA-NAME extra options...
	local m=$1
	shift
	run env PGPORT="$PORT" "$MB" --db postgres --mirror "loop:$SRC_LOOP" --mirror "loop:$WAL_LOOP" \
		--media "file:$SCRATCH/out/$m" --catalog "$CATALOG" "$@"
}
# A fixed number of transactions, not seconds: on a fast idle machine (CI)
# three seconds of pgbench changed so much that B3 grew past a third of
# the full; the ticker runs beside it all along.
under_load() { # TRANSACTIONS of each of 2 clients
	"$PGBIN/pgbench" -h "$SOCK" -p "$PORT" -n -c 2 -t "$1" postgres >/dev/null 2>&1 ||
		bail_out "pgbench failed"
}

# A restored point: starts, verifies, checks, and holds what it must.
PORT2=$((PORT + 1))
check_point() { # ID BEFORE NAME
	local dir=$SCRATCH/rest-$1/data a b t h n lo hi
	run "$MB" restore --backup "$1" --to "$dir" --catalog "$CATALOG"
	exit_is 0 "$3: restore --backup $1 through its chain"
	if [ -n "${CMP_REL:-}" ]; then
		ok "$3: --file $CMP_REL gave the file of the whole restore" \
			cmp "$dir/$CMP_REL" "$SCRATCH/one/$CMP_REL"
	fi
	run "$PGBIN/pg_verifybackup" "$dir"
	exit_is 0 "$3: pg_verifybackup accepts it (every file as its manifest says)"
	chown -R postgres "$SCRATCH/rest-$1"
	ok "$3: the copy starts" fx_pg_start "$dir" "$PORT2"
	run fx_as_pg "$PGBIN/pg_amcheck" -h "$SOCK" -p "$PORT2" --all --install-missing --heapallindexed
	exit_is 0 "$3: pg_amcheck finds nothing wrong"
	a=$(fx_sql "$PORT2" "select sum(abalance) from pgbench_accounts")
	b=$(fx_sql "$PORT2" "select sum(bbalance) from pgbench_branches")
	t=$(fx_sql "$PORT2" "select sum(tbalance) from pgbench_tellers")
	h=$(fx_sql "$PORT2" "select coalesce(sum(delta), 0) from pgbench_history")
	ok "$3: pgbench balances agree ($a $b $t $h)" test -n "$a" -a "$a" = "$b" -a "$b" = "$t" -a "$t" = "$h"
	read -r n lo hi <<<"$(fx_sql "$PORT2" "select count(*), min(id), max(id) from ticks" | tr '|' ' ')"
	ok "$3: ticks without a gap (count $n, 1..$hi)" test "$lo" = 1 -a "$n" = "$hi"
	ok "$3: every row committed before the backup began ($hi >= $2)" test "${hi:-0}" -ge "$2"
	CHECKED_DBS=$(fx_sql "$PORT2" "select string_agg(datname, ' ' order by datname) from pg_database")
	CHECKED_TABLES=$(fx_sql "$PORT2" "select string_agg(relname, ' ' order by relname) from pg_class where relname in ('dropme', 'truncme', 'vacme')")
	CHECKED_COUNTS=$(fx_sql "$PORT2" "select (select count(*) from truncme) || ' ' || (select count(*) from vacme)")
	fx_as_pg "$PGBIN/pg_ctl" -D "$dir" -m fast stop >/dev/null
}

# ---- B1: full
fx_bg fx_pg_ticker "$PORT" "$TICKS"
under_load 500
before1=$(tail -1 "$TICKS")
ACC=$(fx_sql "$PORT" "select pg_relation_filepath('pgbench_accounts')")
# 1025 x 4 KiB: every other segment boundary falls inside an 8 KiB block
backup b1.mbi --media "file:$SCRATCH/out/b1b.mbi" --segment-threshold 4198400
exit_is 0 "B1: full hot backup under load, on two devices"
B1=$(fx_last_run | jq -r .id)
like "$RUN_ERR" "2 devices: [0-9]+ items, segments up to 4198400 bytes" "B1 cut the big files into segments"

# ---- B2: load and DDL, then an incremental
under_load 500
fx_sql "$PORT" "drop table dropme"
fx_sql "$PORT" "truncate truncme"
fx_sql "$PORT" "delete from vacme where g % 2 = 0"
fx_sql "$PORT" "vacuum full vacme"
fx_sql "$PORT" "drop database gone"
fx_sql "$PORT" "create database born"
before2=$(tail -1 "$TICKS")
backup b2.mbi --incremental
exit_is 0 "B2: incremental under load"
B2=$(fx_last_run | jq -r .id)
like "$RUN_ERR" "incremental on backup $B1: [0-9]+ of [0-9]+ entries changed" "B2 says what changed"
run "$MB" ls --from "$SCRATCH/out/b2.mbi"
like "$RUN_OUT" " $ACC\.mbackup-incr" "B2: the segmented $ACC as changed blocks, not whole"

# ---- B3: more load, an incremental on B2
under_load 500
before3=$(tail -1 "$TICKS")
backup b3.mbi --incremental
exit_is 0 "B3: incremental on B2"
B3=$(fx_last_run | jq -r .id)
fx_stop_bg

s1=$(($(stat -c %s "$SCRATCH/out/b1.mbi") + $(stat -c %s "$SCRATCH/out/b1b.mbi")))
s3=$(stat -c %s "$SCRATCH/out/b3.mbi")
note "full $s1 bytes, incremental after 1000 pgbench transactions $s3 bytes"
ok "B3 ($s3 bytes) is under a third of the full ($s1 bytes)" test $((s3 * 3)) -lt "$s1"
run "$MB" list --output json --catalog "$CATALOG"
is "$(printf '%s' "$RUN_OUT" | jq -c ".[] | select(.id == $B3) | [.kind, .base, .chain]")" \
	"[\"incremental\",$B2,[$B1,$B2,$B3]]" "B3's kind, base and chain"
run "$MB" verify --from "$SCRATCH/out/b2.mbi"
exit_is 0 "verify checks an increment"

CMP_REL=$(fx_sql "$PORT" "select pg_relation_filepath('pgbench_accounts')")
run "$MB" restore --backup "$B3" --to "$SCRATCH/one" --file "$CMP_REL" --catalog "$CATALOG"
exit_is 0 "--file $CMP_REL from B3"
is "$(cd "$SCRATCH/one" && find . -type f)" "./$CMP_REL" "only that file"
check_point "$B3" "$before3" "B3"
CMP_REL=
is "$CHECKED_TABLES" "truncme vacme" "B3: the dropped table is gone"
is "$CHECKED_COUNTS" "0 25000" "B3: truncated and vacuumed as at B2"
like "$CHECKED_DBS" "born" "B3: the new database is there"
unlike "$CHECKED_DBS" "gone" "B3: the dropped database is not"
check_point "$B2" "$before2" "B2"
check_point "$B1" "$before1" "B1"
is "$CHECKED_TABLES" "dropme truncme vacme" "B1: every table as it was"
is "$CHECKED_COUNTS" "100000 50000" "B1: with all its rows"
like "$CHECKED_DBS" "gone" "B1: the database dropped later is there"

done_testing
