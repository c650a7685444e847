#!/bin/bash
# tests/vm/pg-suite.sh - the mission inside the guest (TAP): a real
# PostgreSQL 15 on an LVM raid1 LV is backed up by mbackup under pgbench
# load and a row writer, the image is restored onto another LV, started,
# and checked (pg_amcheck, pgbench balances, every committed tick present
# and no gap).  Then --mode freeze, a SIGKILL inside the window, bad input,
# and data (ext4) + WAL (xfs) on two raid1 LVs.  Run by tests/integration/91-pg-vm.t:
#   tests/vm/vm-run --disks 2 --disk-size 3G -- tests/vm/pg-suite.sh
# $PG_TEMPLATE: a host-made data directory (tests/vm/pg-lib.sh pg_template)
# copied into the LV; without it the guest makes one (minutes under TCG).
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/pg-lib.sh"
root=$(cd "$(dirname "$0")/../.." && pwd)
MB=${MBACKUP:-$root/build/mbackup}

[ -n "${VM_GUEST:-}" ] || skip_all "runs inside the test VM: tests/vm/vm-run --disks 2 --disk-size 3G -- $0"
read -r -a disks <<<"${VM_DISKS:-}"
[ "${#disks[@]}" -ge 2 ] || skip_all "needs 2 virtio disks (vm-run --disks 2)"
[ -x "$MB" ] || bail_out "no binary at '$MB' (run make)"
[ -x "$PG_BIN/postgres" ] || skip_all "no PostgreSQL 15 in '$PG_BIN'"

VG=pgv
S=/scratch	# linear LV: catalog, images, tick files
R=/restore	# linear LV: restored clusters (never the mirror)
CATALOG=$S/catalog.db
PORT=5432 RPORT=5433
CONN="host=$PG_SOCK port=$PORT user=postgres dbname=postgres"
BENCH=
T_START=$(date +%s)

cleanup() {
	tick_stop
	[ -n "$BENCH" ] && kill "$BENCH" 2>/dev/null
	return 0
}
trap cleanup EXIT

# now_ms, lvfield, split_images, legs
. "$(dirname "$0")/lvm-lib.sh"
all_lvs() { lvs -a --noheadings -o lv_name,segtype "$VG" | tr -s ' ' | sort | tr '\n' ';'; }
writable() { timeout -k 1 "${2:-3}" touch "$1/.probe" 2>/dev/null && rm -f "$1/.probe"; }
last_run() { "$MB" list --output json --catalog "$CATALOG" | jq -r ".[0]$1"; }

# A raid1 LV, ext4 (or the mkfs given), mounted at /LV.  --nosync: the
# blank sparse disks read as zeros on both legs, so the legs are equal
# without the initial resync.
make_raid() {
	lvcreate -q -y --type raid1 -m 1 --nosync -L "$2" -n "$1" "$VG" 2>/dev/null &&
		${3:-mkfs.ext4 -q} "/dev/$VG/$1" >/dev/null && mkdir -p "/$1" &&
		mount "/dev/$VG/$1" "/$1"
}

make_linear() {
	lvcreate -q -y -L "$2" -n "$1" "$VG" "$3" && mkfs.ext4 -q "/dev/$VG/$1" &&
		mkdir -p "/$1" && mount "/dev/$VG/$1" "/$1"
}

setup() {
	pvcreate -q -y "${disks[0]}" "${disks[1]}" && vgcreate -q "$VG" "${disks[0]}" "${disks[1]}" &&
		make_linear scratch 1100M "${disks[0]}" && make_linear restore 1100M "${disks[1]}" &&
		make_raid pgdata 800M || return 1
	if [ -n "${PG_TEMPLATE:-}" ] && [ -f "$PG_TEMPLATE/PG_VERSION" ]; then
		cp -a "$PG_TEMPLATE" /pgdata/data || return 1
	else
		note "no \$PG_TEMPLATE: initdb and pgbench -i in the guest"
		VM_CACHE=$S/cache PG_TEMPLATE=$(pg_template 10) && mv "$PG_TEMPLATE" /pgdata/data || return 1
	fi
	chown -R postgres: /pgdata/data && chmod 700 /pgdata/data && pg_start /pgdata/data "$PORT"
}

# The mirror is raid1 with 2 legs, nothing split, 100% in sync.
mirror_whole() {
	is "$(lvfield "$1" segtype)/$(legs "$1")/$(split_images "$1")/$(lvfield "$1" sync_percent)" \
		"raid1/2//100.00" "$2: $VG/$1 is raid1 with 2 legs, nothing split, 100% in sync"
}

load_start() {
	"$PG_BIN/pgbench" -n -c 2 -T 900 -U postgres -h "$PG_SOCK" -p "$PORT" postgres >/dev/null 2>&1 &
	BENCH=$!
	tick_start "$PORT" "$S/ticks"
	sleep 3
}

load_stop() {
	tick_stop
	kill "$BENCH" 2>/dev/null
	wait "$BENCH" 2>/dev/null
	BENCH=
}

# backup_under_load WHAT ARGS...: pgbench + ticks, then mbackup; $BEFORE is
# the last tick committed before mbackup started.
backup_under_load() {
	local what=$1 t0
	shift
	pg_sql "$PORT" "TRUNCATE ticks" >/dev/null
	load_start
	BEFORE=$(tick_committed "$S/ticks")
	t0=$(now_ms)
	run "$MB" --db postgres --pg-conn "$CONN" --media "file:$S/$what.mbi" --catalog "$CATALOG" \
		--freeze-timeout 30 "$@"
	note "$what: mbackup took $(($(now_ms) - t0)) ms; $(grep -o 'window [0-9]* ms' <<<"$RUN_ERR" | tail -1);" \
		"$BEFORE ticks committed before it started, $(tick_last "$S/ticks") when it ended"
	load_stop
	exit_is 0 "$what: mbackup $* under pgbench and the tick writer exits 0"
	like "$RUN_ERR" "backup [0-9]+ complete: [0-9]+ files, [0-9]+ bytes, window [0-9]+ ms" \
		"$what: the last line reports the backup"
	is "$(last_run .status)" complete "$what: the catalog says complete"
	like "$(last_run '.phases[] | select(.name == "unquiesce") | .detail')" \
		"^window [0-9]+ ms, database bracket [0-9]+ ms$" "$what: the unquiesce detail names window and bracket"
}

# restore_check WHAT AMCHECK_OPTS...: restore, start on $RPORT, check.
restore_check() {
	local what=$1 dir=$R/$1 got max n
	shift
	run "$MB" restore --from "$S/$what.mbi" --to "$dir"
	exit_is 0 "$what: restore exits 0"
	if [ -L "$dir/pg_wal" ]; then
		fail "$what: the restored pg_wal must not link to the live WAL" "  -> $(readlink "$dir/pg_wal")"
		return 1
	fi
	chown -R postgres: "$dir" && chmod 700 "$dir"
	if ! ok "$what: the restored cluster starts (pg_ctl start)" pg_start "$dir" "$RPORT"; then
		diag "$(tail -20 "$PG_SOCK/pg-$RPORT.log")"
		return 1
	fi
	run "$PG_BIN/pg_amcheck" -U postgres -h "$PG_SOCK" -p "$RPORT" --all --install-missing "$@"
	is "$RUN_RC/$RUN_OUT$RUN_ERR" "0/" "$what: pg_amcheck --all $* is clean"
	got=$(pg_balances "$RPORT")
	like "$got" '^(-?[0-9]+) \1 \1 \1$' "$what: pgbench balances agree (accounts branches tellers history: $got)"
	read -r max n min <<<"$(pg_sql "$RPORT" "SELECT coalesce(max(id), 0) || ' ' || count(*) || ' ' || coalesce(min(id), 1) FROM ticks")"
	is "$min/$n" "1/$max" "$what: the ticks are contiguous 1..$max (min/count)"
	ok "$what: every tick committed before mbackup started is there ($BEFORE <= $max)" \
		test "${BEFORE:-x}" -le "$max"
}

# ---------------------------------------------------------------------
t0=$(now_ms)
setup >&2 || bail_out "unable to set up the volume group and the cluster"
note "setup (vg, LVs, cluster copied and started): $(($(now_ms) - t0)) ms"
is "$(pg_sql "$PORT" "SHOW data_directory")" /pgdata/data "the cluster runs from the raid1 LV"

# ---- bad input: an unreachable server changes nothing ----
before=$(all_lvs)
run "$MB" --db postgres --pg-conn 'host=/nonexistent port=1' --mirror "$VG/pgdata" \
	--media "file:$S/none.mbi" --catalog "$CATALOG"
exit_is 16 "an unreachable database exits 16"
like "$RUN_ERR" "mbackup: error: unable to connect to PostgreSQL" "the message says so"
is "$(all_lvs)" "$before" "nothing was split or created"
ok "nothing is frozen: the data LV is writable" writable /pgdata 3

# ---- hot backup under load ----
backup_under_load hot --mirror "$VG/pgdata"
like "$RUN_ERR" "lvm: check scrub of '$VG/pgdata' done in [0-9]+ ms" "hot: the merge was followed by a check scrub"
mirror_whole pgdata "hot: afterwards"
restore_check hot --heapallindexed
# The restored cluster runs on a linear LV: a snapshot would stand in.
before=$(all_lvs)
run "$MB" check --db postgres --pg-conn "host=$PG_SOCK port=$RPORT user=postgres dbname=postgres" \
	--mirror "$VG/restore" --catalog "$CATALOG"
exit_is 0 "check of a cluster on a linear LV exits 0"
like "$RUN_ERR" "lvm: '$VG/restore' is linear or striped, not raid1: a classic snapshot stands in" \
	"check says a classic snapshot stands in"
is "$(all_lvs)" "$before" "nothing was split or created"
pg_stop "$R/hot"
rm -rf "${R:?}/hot" "$S/hot.mbi"

# ---- freeze mode under load (the copy comes up by crash recovery) ----
backup_under_load freeze --mode freeze --mirror "$VG/pgdata"
mirror_whole pgdata "freeze: afterwards"
restore_check freeze
pg_stop "$R/freeze"
rm -rf "${R:?}/freeze" "$S/freeze.mbi"

# ---- SIGKILL inside the window ----
run env MBACKUP_FAULT=after-split:kill "$MB" --db postgres --pg-conn "$CONN" \
	--mirror "$VG/pgdata" --media "file:$S/kill.mbi" --catalog "$CATALOG" --freeze-timeout 5
exit_is 137 "after-split:kill: killed by SIGKILL"
took=
for ((i = 0; i < 30; i++)); do
	if writable /pgdata 1; then took=$i; break; fi
done
ok "after-split:kill: the data LV is writable again within the deadline (${took:-?} polls)" test -n "$took"
sessions= slots=
for ((i = 0; i < 20; i++)); do
	sessions=$(pg_sql "$PORT" "SELECT count(*) FROM pg_stat_activity WHERE query ILIKE '%pg_backup_start%' AND pid <> pg_backend_pid()")
	slots=$(pg_sql "$PORT" "SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE 'mbackup%'")
	[ "$sessions/$slots" = 0/0 ] && break
	sleep 0.5
done
is "$sessions" 0 "after-split:kill: no backup session is left in pg_stat_activity"
is "$slots" 0 "after-split:kill: the temporary slot is gone"
is "$(last_run .status)" running "after-split:kill: the run stays 'running' until recover"
is "$(split_images pgdata)" pgdata_rimage_1 "after-split:kill: the split image is left behind"
run "$MB" recover --catalog "$CATALOG"
exit_is 0 "mbackup recover exits 0"
is "$(last_run .status)" failed "after recover the run is 'failed'"
mirror_whole pgdata "after recover"
ok "the data LV is writable after recover" writable /pgdata

# ---- data and WAL on two raid1 LVs ----
pg_stop /pgdata/data
make_raid pgwal 320M "mkfs.xfs -q -f" >&2 && mv /pgdata/data/pg_wal /pgwal/pg_wal && ln -s /pgwal/pg_wal /pgdata/data/pg_wal &&
	chown -h postgres: /pgdata/data/pg_wal /pgwal && pg_start /pgdata/data "$PORT" ||
	bail_out "unable to move pg_wal to its own LV"
run "$MB" check --db postgres --pg-conn "$CONN" --mirror "$VG/pgdata" --mirror "$VG/pgwal" \
	--catalog "$CATALOG"
note "check with two mirrors: exit $RUN_RC: $(tail -1 <<<"$RUN_ERR")"
if [ "$RUN_RC" = 2 ] && [[ $RUN_ERR =~ "exactly one --mirror" ]]; then
	skip "data + WAL on two mirrors" "several --mirror not supported yet"
else
	backup_under_load two --mirror "$VG/pgdata" --mirror "$VG/pgwal"
	mirror_whole pgdata "two: afterwards"
	mirror_whole pgwal "two: afterwards"
	restore_check two && pg_stop "$R/two"
	# the device paths a DBA copies from df or lsblk name the same LVs
	run "$MB" check --db postgres --pg-conn "$CONN" --mirror "/dev/$VG/pgdata" \
		--mirror "/dev/mapper/$VG-pgwal" --catalog "$CATALOG"
	exit_is 0 "check with /dev/VG/LV and /dev/mapper/VG-LV exits 0"
	like "$RUN_OUT" "mirror lvm:$VG/pgdata and more" "... and names the LV in its one form"
fi

note "guest suite wall time: $(($(date +%s) - T_START)) s"
done_testing
