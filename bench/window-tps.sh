# bench/window-tps.sh - sourced by bench/window in the guest: production's
# TPS during a backup on the guest's raid1 (BENCH_ROUNDS > 0; see there).
# Uses bench/window's VG S PORT CONN MB PG_BIN PG_SOCK log avg_tps.
ROUNDS=${BENCH_ROUNDS:-0}
ALONE_S=${BENCH_ALONE_S:-20}
read -r -a TPS_COPIERS <<<"${BENCH_TPS_COPIERS:-mb pgbb mb-rate mb-yield}"
set -- $SCALES
TPS_SCALE=${BENCH_TPS_SCALE:-$1}
PGBENCH=("$PG_BIN/pgbench" -n -c 2 -P 1 -U postgres -h "$PG_SOCK" -p "$PORT" postgres)
declare -A T_TPS T_KEPT T_WALL
T_ALONE=() PGBB_RATE=

median() { sort -n | awk '{ v[NR] = $1 } END { if (!NR) print "-"; else print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
med() { tr ' ' '\n' <<<"$1" | grep -v '^-*$' | median; }

# the copiers: one pass each, into $S (the filesystem mbackup writes to)
mbtps() {
	"$MB" --db postgres --pg-conn "$CONN" --mirror "lvm:$VG/$TPS_LV" --media "file:$S/tps.mbi" \
		--catalog "$S/catalog-tps.db" --freeze-timeout 60 --checkpoint fast --force "$@" \
		2>>"$S/tps-mbackup.log"
}
copy_mb() { mbtps; }
copy_mb-rate() { mbtps --max-rate "$PGBB_RATE"; }
copy_mb-yield() { mbtps --yield auto; }
copy_pgbb() {
	rm -rf "$S/pgbb"
	"$PG_BIN/pg_basebackup" -U postgres -h "$PG_SOCK" -p "$PORT" -Ft -c fast -D "$S/pgbb" \
		>/dev/null 2>>"$S/tps-pgbb.log"
}

# during NAME ROUND: pgbench from 2 s before one pass of NAME until it ends
during() {
	local f=$S/tps-$1-$2.log t0 ts te a b
	"${PGBENCH[@]}" -T 3000 >/dev/null 2>"$f" &
	local pid=$!
	t0=$(date +%s%3N)
	sleep 2
	ts=$(date +%s%3N)
	"copy_$1" || log "tps: $1 failed in round $2 (see $S/tps-*.log)"
	te=$(date +%s%3N)
	kill "$pid"; wait "$pid" 2>/dev/null
	a=$(((ts - t0) / 1000)) b=$(((te - t0 + 999) / 1000))
	T_TPS[$1,$2]=$(avg_tps "$f" "$a" "$b")
	T_WALL[$1]+="$(awk -v d=$((te - ts)) 'BEGIN { printf "%.1f", d / 1000 }') "
	log "tps round $2: $1 ${T_TPS[$1,$2]} TPS over $((b - a)) s (guest load $(cut -d' ' -f1 /proc/loadavg))"
}
alone() {
	"${PGBENCH[@]}" -T $((ALONE_S + 1)) >/dev/null 2>"$S/tps-alone-$1.log"
	T_ALONE[$1]=$(avg_tps "$S/tps-alone-$1.log" 1 $((ALONE_S + 1)))
	log "tps: alone $1 ${T_ALONE[$1]} TPS"
}

# tps_rounds LV: the cluster on /dev/$VG/LV is running
tps_rounds() {
	TPS_LV=$1
	local t0 t1 bytes r i n=${#TPS_COPIERS[@]}
	log "tps: scale $TPS_SCALE, pg_basebackup alone for the rate ..."
	t0=$(date +%s%3N)
	copy_pgbb || { log "tps: pg_basebackup failed: $(tail -3 "$S/tps-pgbb.log")"; return 1; }
	t1=$(date +%s%3N)
	bytes=$(du -sb "$S/pgbb" | cut -f1)
	PGBB_RATE=$((bytes * 1000 / (t1 - t0 > 0 ? t1 - t0 : 1)))
	log "tps: pg_basebackup alone: $bytes bytes in $((t1 - t0)) ms, --max-rate $PGBB_RATE"
	for r in $(seq 1 "$ROUNDS"); do
		alone "$r"
		for i in $(seq 0 $((n - 1))); do
			during "${TPS_COPIERS[$(((i + r - 1) % n))]}" "$r"
		done
	done
	alone $((ROUNDS + 1))
	rm -rf "$S/pgbb" "$S/tps.mbi"
}

tps_table() {
	local c r k by kept
	for r in $(seq 1 "$ROUNDS"); do
		for c in "${TPS_COPIERS[@]}"; do
			T_KEPT[$c,$r]=$(awk -v a="${T_ALONE[$r]:--}" -v b="${T_ALONE[$((r + 1))]:--}" -v t="${T_TPS[$c,$r]:--}" \
				'BEGIN { if (a == "-" || b == "-" || t == "-" || a + b <= 0) print "-"; else printf "%.2f", 2 * t / (a + b) }')
		done
	done
	printf '\nproduction during a backup, scale %s, pgbench -c 2 (raid1 LV, output on another PV)\n' "$TPS_SCALE"
	printf '%-9s %8s %6s %8s  %s\n' copier TPS kept "pass s" "kept by round"
	printf '%-9s %8s %6s %8s  %s\n' alone "$(med "${T_ALONE[*]}")" 1 - "alone TPS: ${T_ALONE[*]}"
	for c in "${TPS_COPIERS[@]}"; do
		by= kept=
		for r in $(seq 1 "$ROUNDS"); do by+="${T_KEPT[$c,$r]} "; kept+="${T_TPS[$c,$r]} "; done
		printf '%-9s %8s %6s %8s  %s\n' "$c" "$(med "$kept")" "$(med "$by")" "$(med "${T_WALL[$c]:-}")" "$by"
	done
	echo "(medians of $ROUNDS interleaved rounds, the order rotated each round; kept = TPS during one pass /"
	echo " mean TPS of the $ALONE_S s alone runs before and after its round; guest load $(cut -d' ' -f1-3 /proc/loadavg))"
	[ -n "${T_WALL[mb-yield]:-}" ] && [ -n "${T_WALL[mb]:-}" ] &&
		awk -v y="$(med "${T_WALL[mb-yield]}")" -v f="$(med "${T_WALL[mb]}")" \
			'BEGIN { printf "mb-yield: its pass takes %.2f x the unthrottled mb pass (medians under load)\n", (f > 0 ? y / f : 0) }'
	echo "commands: mbackup --db postgres --pg-conn CONN --mirror lvm:$VG/$TPS_LV --media file:$S/tps.mbi"
	echo " --catalog CAT --freeze-timeout 60 --checkpoint fast --force [--max-rate $PGBB_RATE | --yield auto];"
	echo " pg_basebackup -U postgres -Ft -c fast -D $S/pgbb; ${PGBENCH[*]} -T S"
}
