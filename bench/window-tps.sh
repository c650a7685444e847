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

# BENCH_BEFORE=PATH: the copiers mb-before, mb-rate-before and
# mb-yield-before run that binary (an older build) with the same options
# and the same catalog (its schema must be the new binary's; the mirror's
# proof record is shared).  BENCH_MB_OPTS: options added to every mbackup
# pass of both binaries (e.g. "--mirror-check-runs 1000 --log-level
# debug").  BENCH_PRIME=1: one unmeasured pass (mb, round 0) before the
# rounds, so that the catalog holds the mirror's proof record and every
# measured pass's finish is the witness's (the default's steady state),
# not the first run's full scrub; the primer's phases are logged.
BEFORE=${BENCH_BEFORE:-}
read -r -a MB_OPTS <<<"${BENCH_MB_OPTS:-}"
MB_BIN=$MB MB_CAT=catalog-tps.db
# the copiers: one pass each, into $S (the filesystem mbackup writes to)
mbtps() {
	"$MB_BIN" --db postgres --pg-conn "$CONN" --mirror "lvm:$VG/$TPS_LV" --media "file:$S/tps.mbi" \
		--catalog "$S/$MB_CAT" --freeze-timeout 60 --checkpoint fast --force "${MB_OPTS[@]}" "$@" \
		2>"$S/tps-pass.log"
	local rc=$?
	cat "$S/tps-pass.log" >>"$S/tps-mbackup.log"
	return $rc
}
before() { MB_BIN=$BEFORE "$@"; }
copy_mb() { mbtps; }
copy_mb-rate() { mbtps --max-rate "$PGBB_RATE"; }
copy_mb-yield() { mbtps --yield auto; }
# mb-fixed: a fixed --max-rate (BENCH_FIXED_RATE, default 8M: --yield
# auto's floor), to tell the governor's doing from its rate's
copy_mb-fixed() { mbtps --max-rate "${BENCH_FIXED_RATE:-8M}"; }
copy_mb-before() { before mbtps; }
copy_mb-rate-before() { before mbtps --max-rate "$PGBB_RATE"; }
copy_mb-yield-before() { before mbtps --yield auto; }
copy_pgbb() {
	rm -rf "$S/pgbb"
	"$PG_BIN/pg_basebackup" -U postgres -h "$PG_SOCK" -p "$PORT" -Ft -c fast -D "$S/pgbb" \
		>/dev/null 2>>"$S/tps-pgbb.log"
}

# Where a pass's cost goes: pgbench's TPS in each group of mbackup's phases
# (from the run's phase times in its catalog): pre = preflight, sync and
# premap; quiesce (the start checkpoint); window = split, recheck,
# unquiesce; stream; finish (merge, proof, media closed).
PHASE_GROUPS="pre quiesce window stream finish"
SUB_GROUPS="fin-merge fin-resync fin-proof"
declare -A P_SEC P_TPS
phase_group() {
	case $1 in
	preflight | sync | premap) echo pre ;;
	split | recheck | unquiesce) echo window ;;
	quiesce | stream | finish) echo "$1" ;;
	esac
}
# avg_tps_ms FILE FROM_MS TO_MS: mean of the progress lines whose second's
# middle falls in [FROM, TO] (ms since pgbench started)
avg_tps_ms() {
	awk -v a="$2" -v b="$3" '/^progress: / { m = $2 * 1000 - 500; if (m >= a && m <= b) { s += $4; n++ } }
		END { if (n) printf "%.1f", s / n; else print "-" }' "$1"
}
# phases_tps NAME ROUND T0_MS PGBENCH_LOG: the pass just made (its catalog's newest run)
phases_tps() {
	local bin=$MB cat=catalog-tps.db name st fi g a b fin
	local -A gs=() ge=()
	while read -r name st fi; do
		g=$(phase_group "$name")
		[ -n "$g" ] && [ "$fi" != null ] || continue
		[ -n "${gs[$g]:-}" ] || gs[$g]=$(ms_of "$st")
		ge[$g]=$(ms_of "$fi")
	done <<<"$("$bin" list --output json --catalog "$S/$cat" | jq -r '.[0].phases[] | "\(.name) \(.started) \(.finished)"')"
	for g in $PHASE_GROUPS; do
		[ -n "${gs[$g]:-}" ] || continue
		a=$((gs[$g] - $3)) b=$((ge[$g] - $3))
		P_SEC[$1,$2,$g]=$(awk -v d=$((b - a)) 'BEGIN { printf "%.1f", d / 1000 }')
		P_TPS[$1,$2,$g]=$(avg_tps_ms "$4" "$a" "$b")
	done
	cp "$S/tps-pass.log" "$S/tps-pass-$1-$2.log"
	fin=$(sed -n "s/.*lvm: '[^']*' back in \(.*\)/\1/p" "$S/tps-pass.log" | tail -1)
	# the finish's own steps, laid end to end from its start (lvm_undo's
	# times): merge (lvs, write-mostly, lvconvert), resync wait, proof
	# (proof, scrubs, write-mostly off)
	if [ -n "$fin" ] && [ -n "${gs[finish]:-}" ]; then
		local v=($(grep -o '[0-9][0-9]*' <<<"$fin")) t=$((gs[finish] - $3)) d sub
		for sub in merge:$((v[1] + v[2] + v[3])) resync:${v[4]} proof:$((v[5] + v[6] + v[7])); do
			d=${sub#*:} g=fin-${sub%%:*}
			P_SEC[$1,$2,$g]=$(awk -v d="$d" 'BEGIN { printf "%.1f", d / 1000 }')
			P_TPS[$1,$2,$g]=$(avg_tps_ms "$4" "$t" $((t + d)))
			t=$((t + d))
		done
	fi
	log "tps round $2: $1 phases (s, TPS): $(for g in $PHASE_GROUPS; do printf '%s %s %s, ' "$g" "${P_SEC[$1,$2,$g]:--}" "${P_TPS[$1,$2,$g]:--}"; done)finish: ${fin:-?}"
	grep -h 'lvm: proved\|stream: .* bytes read\|scrubbing' "$S/tps-pass.log" | sed 's/^/bench\/window:   /' >&2
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
	case $1 in mb*) phases_tps "$1" "$2" "$t0" "$f" ;; esac
	a=$(((ts - t0) / 1000)) b=$(((te - t0 + 999) / 1000))
	T_TPS[$1,$2]=$(avg_tps "$f" "$a" "$b")
	[ "$2" = 0 ] || T_WALL[$1]+="$(awk -v d=$((te - ts)) 'BEGIN { printf "%.1f", d / 1000 }') "
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
	if [ "${BENCH_PRIME:-0}" = 1 ]; then	# round 0: not in the tables
		during mb 0
	fi
	for r in $(seq 1 "$ROUNDS"); do
		alone "$r"
		for i in $(seq 0 $((n - 1))); do
			during "${TPS_COPIERS[$(((i + r - 1) % n))]}" "$r"
		done
	done
	alone $((ROUNDS + 1))
	rm -rf "$S/pgbb" "$S/tps.mbi"
	[ -z "${BENCH_LOGS:-}" ] || { mkdir -p "$BENCH_LOGS" && cp "$S"/tps-*.log "$BENCH_LOGS/"; }
}

# The phase table: per copier and phase group, the medians over the rounds
# of its seconds, its kept ratio and what production lost in it,
# (1 - kept) x s; then each round's kept ratio.
phase_table() {
	local c g r k secs keeps losts by
	printf '\nwhere production loses TPS, by phase of the mbackup passes (medians of %s rounds)\n' "$ROUNDS"
	printf '%-16s %-10s %7s %6s %7s  %s\n' copier phase s kept "lost s" "kept by round"
	for c in "${TPS_COPIERS[@]}"; do
		case $c in mb*) ;; *) continue ;; esac
		for g in $PHASE_GROUPS $SUB_GROUPS; do
			secs= keeps= losts= by=
			for r in $(seq 1 "$ROUNDS"); do
				k=$(awk -v a="${T_ALONE[$r]:--}" -v b="${T_ALONE[$((r + 1))]:--}" -v t="${P_TPS[$c,$r,$g]:--}" \
					'BEGIN { if (a == "-" || b == "-" || t == "-" || a + b <= 0) print "-"; else printf "%.2f", 2 * t / (a + b) }')
				by+="$k "
				secs+="${P_SEC[$c,$r,$g]:--} "
				[ "$k" = - ] || { keeps+="$k "; losts+="$(awk -v k="$k" -v s="${P_SEC[$c,$r,$g]}" 'BEGIN { printf "%.1f", (1 - k) * s }') "; }
			done
			printf '%-16s %-10s %7s %6s %7s  %s\n' "$c" "$g" "$(med "$secs")" "$(med "$keeps")" "$(med "$losts")" "$by"
		done
	done
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
	for c in "${TPS_COPIERS[@]}"; do
		case $c in *-before) ;; *) continue ;; esac
		[ -n "${T_WALL[$c]:-}" ] && [ -n "${T_WALL[${c%-before}]:-}" ] &&
			awk -v o="$(med "${T_WALL[$c]}")" -v n="$(med "${T_WALL[${c%-before}]}")" -v c="$c" \
				'BEGIN { printf "%s: pass %.2f x the new binary'"'"'s (medians under load)\n", c, (n > 0 ? o / n : 0) }'
	done
	phase_table
	[ -z "$BEFORE" ] || echo "before: $BEFORE; options added: ${MB_OPTS[*]:-none}"
	echo "commands: mbackup --db postgres --pg-conn CONN --mirror lvm:$VG/$TPS_LV --media file:$S/tps.mbi"
	echo " --catalog CAT --freeze-timeout 60 --checkpoint fast --force [--max-rate $PGBB_RATE | --yield auto];"
	echo " pg_basebackup -U postgres -Ft -c fast -D $S/pgbb; ${PGBENCH[*]} -T S"
}
