#!/bin/bash
# The stream yields to production: --max-rate, --io-nice, --yield and
# --checkpoint parse and refuse with exact messages; --max-rate limits the
# bytes read per second as the run's own counters show (the catalog's
# run_pace row: bytes reserved, the stream's time, the readers' waits),
# never by a timed assertion; --checkpoint spread starts the backup with a
# non-immediate checkpoint (the server's log_checkpoints line), fast with
# an immediate one.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/fixture.sh"
PGBIN=$FX_PGBIN
fx_init
chmod 755 "$SCRATCH"
fx_setup ext4 512M

pace() { # column of the newest run's pace row
	sqlite3 "$CATALOG" "select $1 from run_pace order by run_id desc limit 1"
}

# ---- 1. the options, refused with one line and exit 2
refused() { # name expected-message expected-hint args...
	local name=$1 msg=$2 hint=$3
	shift 3
	run fx_backup --media "file:$SCRATCH/out/never.mbi" "$@"
	exit_is 2 "$name: exit 2"
	is "$RUN_ERR" "mbackup: error: $msg${hint:+
HINT: $hint}" "$name: the message"
}
refused "--max-rate 5X" "invalid value '5X' for --max-rate: expected 0..1099511627776" "" \
	--max-rate 5X
refused "--max-rate -1" "invalid value '-1' for --max-rate: expected 0..1099511627776" "" \
	--max-rate=-1
refused "--io-nice idl" "invalid --io-nice 'idl'" \
	"use idle, or best-effort:N with N from 0 (highest) to 7" --io-nice idl
refused "--io-nice best-effort:8" "invalid --io-nice 'best-effort:8'" \
	"use idle, or best-effort:N with N from 0 (highest) to 7" --io-nice best-effort:8
refused "--io-nice best-effort:" "invalid --io-nice 'best-effort:'" \
	"use idle, or best-effort:N with N from 0 (highest) to 7" --io-nice best-effort:
refused "--checkpoint slow" "invalid --checkpoint 'slow'" \
	"use spread (at the database's own pace) or fast (immediate)" --checkpoint slow
refused "--yield maybe" "invalid --yield 'maybe'" \
	"use auto (slow the stream while production suffers) or off" --yield maybe
run "$MB" restore --from x --to y --max-rate 1M
exit_is 2 "--max-rate does not apply to restore"
is "$RUN_ERR" "mbackup: error: option '--max-rate' does not apply to 'restore'
HINT: see mbackup restore --help" "  the message"
printf 'max-rate = 8M\nio-nice = best-effort:9\n' >"$SCRATCH/bad.conf"
run fx_backup --media "file:$SCRATCH/out/never.mbi" --config "$SCRATCH/bad.conf"
exit_is 2 "a bad --io-nice from the config file: exit 2 (checked after the whole parse)"
is "$RUN_ERR" "mbackup: error: invalid --io-nice 'best-effort:9'
HINT: use idle, or best-effort:N with N from 0 (highest) to 7" "  the message"
ok "nothing was written" test ! -e "$SCRATCH/out/never.mbi"
is "$(sqlite3 "$CATALOG" 'select count(*) from runs' 2>/dev/null || echo 0)" "0" "no run recorded"

# ---- 2. --max-rate, seen by the counters
fx_random_files "$SRC/big" f 3 $((8 << 20)) || bail_out "no files"
fx_random_files "$SRC/small" s 200 1000 || bail_out "no files"
RATE=$((16 << 20))
run fx_backup --media "file:$SCRATCH/out/paced.mbi" --max-rate 16M --io-nice idle
exit_is 0 "backup with --max-rate 16M --io-nice idle"
like "$RUN_ERR" "stream: reading at most $RATE bytes/s" "the rate is announced"
like "$RUN_ERR" "stream: [0-9]+ bytes read in [0-9]+ ms \\([0-9.]+ MiB/s\\); readers waited [0-9]+ ms" \
	"the rate reached is logged"
unlike "$RUN_ERR" "unable to set the stream's I/O priority" "the I/O priority was set"
bytes=$(pace bytes) ms=$(pace stream_ms) waited=$(pace waited_ms)
ok "the readers took every file byte ($bytes >= $((48 << 20)))" test "$bytes" -ge $((48 << 20))
is "$(pace max_rate)" "$RATE" "run_pace: max_rate recorded"
is "$(pace yield)" "off" "run_pace: yield off"
# the bucket lets through at most rate x time + one 20 ms burst
ok "bytes read <= rate x stream time + burst ($bytes in $ms ms)" \
	test "$bytes" -le $((RATE * ms / 1000 + RATE / 50))
ok "the readers waited for the rate ($waited ms)" test "$waited" -gt 0
# and from the run's own file bytes (the runs row, not the bucket's count)
files=$(sqlite3 "$CATALOG" "select bytes from runs order by id desc limit 1")
ok "file bytes of the run <= rate x stream time + burst ($files in $ms ms)" \
	test "$files" -gt $((48 << 20)) -a "$files" -le $((RATE * ms / 1000 + RATE / 50))
run "$MB" verify --from "$SCRATCH/out/paced.mbi"
exit_is 0 "the paced image verifies"
run "$MB" restore --from "$SCRATCH/out/paced.mbi" --to "$SCRATCH/restored"
exit_is 0 "the paced image restores"
fx_tree_is "$SRC" "$SCRATCH/restored" "restored tree identical (big files read in pieces)"

run fx_backup --media "file:$SCRATCH/out/free.mbi"
exit_is 0 "backup without --max-rate"
is "$(pace waited_ms)" "0" "no cap: the readers never waited"
is "$(pace max_rate)" "0" "  max_rate 0 recorded"
cmp -s <(tar -tvf "$SCRATCH/out/free.mbi" | awk '{print $3, $6}') \
	<(tar -tvf "$SCRATCH/out/paced.mbi" | awk '{print $3, $6}')
ok "paced and unpaced images hold the same members" test $? = 0

run fx_backup --media "file:$SCRATCH/out/yield.mbi" --yield auto
exit_is 0 "backup with --yield auto"
like "$RUN_ERR" "adjusted to the source device's latency \\(--yield auto\\)" "the governor is announced"
is "$(pace yield)" "auto" "run_pace: yield auto"
ok "run_pace: the lowest rate is at least the floor" test "$(pace rate_min)" -ge $((8 << 20))

# the incremental's pre-pass reads the whole split leg to hash it: it is
# paced too (it used to run before the bucket existed, at full speed)
printf 'changed' | dd of="$SRC/big/f1" bs=1 seek=4096 conv=notrunc status=none
leg=$(find "$SRC" -type f -printf '%s\n' | awk '{ s += $1 } END { print s }')
run fx_backup --media "file:$SCRATCH/out/incr.mbi" --incremental --max-rate 16M
exit_is 0 "incremental with --max-rate 16M"
bytes=$(pace bytes) ms=$(pace stream_ms)
ok "the pre-pass took from the bucket: $bytes >= $leg bytes of the leg" test "$bytes" -ge "$leg"
ok "and the pace held for it: $ms ms >= ($leg - burst) / rate" \
	test "$ms" -ge $(((leg - RATE / 50) * 1000 / RATE))
ok "bytes read <= rate x time + burst ($bytes in $ms ms)" \
	test "$bytes" -le $((RATE * ms / 1000 + RATE / 50))
run "$MB" restore --catalog "$CATALOG" --backup "$(pace run_id)" --to "$SCRATCH/restored-incr"
exit_is 0 "the paced incremental restores (its chain)"
fx_tree_is "$SRC" "$SCRATCH/restored-incr" "restored tree identical"

# ---- 3. --checkpoint spread and fast, seen in the server's log
if ! fx_pg_available; then
	for i in 1 2 3 4 5 6; do skip "--checkpoint $i" "PostgreSQL 15 is not installed"; done
	done_testing
	exit 0
fi
fx_pg_env
PORT=$((20000 + RANDOM % 20000))
trap 'fx_pg_stop_all; fx_cleanup' EXIT
rm -rf "${SRC:?}"/*
mkdir -p "$SRC_MNT/pg" && chown postgres "$SRC_MNT/pg"
DATA=$SRC_MNT/pg/data
fx_as_pg "$PGBIN/initdb" -A trust -D "$DATA" >/dev/null || bail_out "initdb failed"
fx_pg_start "$DATA" "$PORT" || bail_out "postgres did not start"
LOG=$SOCK/log-$PORT
checkpoints() { # the checkpoint lines logged since line $1
	tail -n +"$1" "$LOG" | grep -o 'checkpoint starting: .*'
}
backup_pg() { # name, options...
	local name=$1 from
	shift
	fx_sql "$PORT" "insert into t select generate_series(1, 10000)"
	from=$(($(wc -l <"$LOG") + 1))
	run env PGPORT="$PORT" "$MB" --db postgres --mirror "loop:$SRC_LOOP" --catalog "$CATALOG" \
		--media "file:$SCRATCH/out/$name.mbi" "$@"
	exit_is 0 "$name: backup exits 0"
	CKPT=$(checkpoints "$from")
}
fx_sql "$PORT" "create table t (i int)"
backup_pg spread
is "$CKPT" "checkpoint starting: force wait" \
	"default (spread): one checkpoint, not immediate, no CHECKPOINT of ours"
like "$RUN_ERR" "after a spread checkpoint of [0-9]+ ms" "  the start's length is logged"
backup_pg fast --checkpoint fast
is "$CKPT" "checkpoint starting: immediate force wait" \
	"--checkpoint fast: one immediate start checkpoint, no CHECKPOINT of ours"
like "$RUN_ERR" "after a fast checkpoint of [0-9]+ ms" "  the start's length is logged"
done_testing
