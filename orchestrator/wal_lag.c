/* The archive's lag behind the database; see wal_lag.h. */
#include "orchestrator/wal_lag.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugins/quiesce/postgres/pg_lib.h"

static const char QUERY[] =
	"SELECT CASE WHEN pg_is_in_recovery() THEN '' ELSE"
	"  pg_walfile_name(pg_current_wal_lsn()) END,"
	" coalesce(last_archived_wal, ''), coalesce(last_failed_wal, ''),"
	" coalesce(last_failed_time::text, ''), failed_count,"
	" coalesce(last_failed_time > coalesce(last_archived_time, '-infinity'), false)"
	" FROM pg_stat_archiver";

static void copy_col(PGresult *r, int col, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s", mb_pq.getvalue(r, 0, col));
}

/* Segments between the last archived one and the one being written;
 * -1 when the last archived file is no segment (a .backup, a history). */
static long behind(const char *current, const char *last, uint32_t seg_size)
{
	struct mb_wal_name c, l;
	uint64_t cs, ls;

	if (mb_wal_name_parse(current, &c) < 0 || mb_wal_name_parse(last, &l) < 0 ||
	    l.kind != MB_WAL_SEGMENT)
		return -1;
	cs = mb_wal_name_segno(&c, seg_size);
	ls = mb_wal_name_segno(&l, seg_size);
	return cs > ls ? (long)(cs - ls - 1) : 0;
}

int mb_wal_lag_query(const char *conninfo, uint32_t seg_size, struct mb_wal_lag *lag,
		     char *err, size_t cap)
{
	const char *keys[] = { "fallback_application_name", "connect_timeout", "dbname", NULL };
	const char *vals[] = { "mbackup wal-check", "5", conninfo ? conninfo : "", NULL };
	struct mb_error le = { 0 };
	PGconn *conn = NULL;
	PGresult *r = NULL;
	int rc = -1;

	*lag = (struct mb_wal_lag){ .behind = -1 };
	err[0] = '\0';
	if (mb_pq_load(&le) < 0) {
		snprintf(err, cap, "%s", le.msg);
		goto out;
	}
	conn = mb_pq.connectdbParams(keys, vals, 1);
	if (!conn || mb_pq.status(conn) != CONNECTION_OK) {
		snprintf(err, cap, "%s", conn ? mb_pq.errorMessage(conn) : "out of memory");
		goto out;
	}
	r = mb_pq.exec(conn, QUERY);
	if (mb_pq.resultStatus(r) != PGRES_TUPLES_OK || mb_pq.ntuples(r) != 1) {
		snprintf(err, cap, "%s", mb_pq.errorMessage(conn));
		goto out;
	}
	copy_col(r, 0, lag->current, sizeof(lag->current));
	copy_col(r, 1, lag->last_archived, sizeof(lag->last_archived));
	copy_col(r, 2, lag->last_failed, sizeof(lag->last_failed));
	copy_col(r, 3, lag->last_failed_time, sizeof(lag->last_failed_time));
	lag->failed_count = atol(mb_pq.getvalue(r, 0, 4));
	lag->failing = strcmp(mb_pq.getvalue(r, 0, 5), "t") == 0;
	lag->behind = behind(lag->current, lag->last_archived, seg_size);
	rc = 0;
out:
	err[strcspn(err, "\n")] = '\0';
	mb_pq.clear(r);
	mb_pq.finish(conn);
	return rc;
}
