# tests/lib/wal.sh - the WAL archive in the integration tests (source it
# after tap.sh and fixture.sh; call wal_setup once fx_init and fx_pg_env ran).
#
#   wal_setup [LINE...]        $ARCH (an archive owned by postgres) and $CONF
#                              (wal-archive = $ARCH, then the LINEs), exported
#                              as MBACKUP_CONFIG, which a bare wal-push reads
#   wal_pg_init DATA PORT      initdb DATA, archive_command = 'mbackup
#                              wal-push %p', and start it on PORT
#   wal_archived NAME          the path NAME is archived under
#   wal_wait_archived PORT NAME   until PostgreSQL reports NAME archived (30 s)

wal_setup() {
	local line
	ARCH=$SCRATCH/archive
	CONF=$SCRATCH/etc/mbackup.conf
	mkdir -p "$ARCH" "$SCRATCH/etc" && chown postgres "$ARCH" || bail_out "unable to make '$ARCH'"
	printf 'wal-archive = %s\n' "$ARCH" >"$CONF"
	for line in "$@"; do
		printf '%s\n' "$line" >>"$CONF"
	done
	chmod 644 "$CONF"
	export MBACKUP_CONFIG=$CONF
}

wal_pg_init() {
	fx_as_pg "$FX_PGBIN/initdb" -A trust -D "$1" >/dev/null || bail_out "initdb failed"
	printf "archive_mode = on\narchive_command = '%s wal-push %%p'\n" "$MB" >>"$1/postgresql.conf"
	fx_pg_start "$1" "$2" || bail_out "postgres did not start: $(tail -5 "$SOCK/log-$2")"
}

wal_archived() {
	case $1 in
	*.history) echo "$ARCH/$1" ;;
	*) echo "$ARCH/${1:0:16}/$1" ;;
	esac
}

wal_wait_archived() {
	local i
	for i in $(seq 1 300); do
		[ "$(fx_sql "$1" "select last_archived_wal >= '$2' from pg_stat_archiver")" = t ] &&
			return 0
		sleep 0.1
	done
	return 1
}
