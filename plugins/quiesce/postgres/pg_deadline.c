/*
 * The postgres bracket bounded by the guard's deadline (issue 16, item 8):
 * while mbackup hangs, its session would keep the cluster in backup mode
 * and its temporary slot would keep WAL.  The guard (orchestrator/guard.h)
 * runs mb_pg_undo in its own process when --freeze-timeout passes, after
 * the thaw: a session of its own terminates the held one, the server then
 * ends the backup and drops the slot.  The session is named by backend pid
 * and start time, so a pid reused by another backend is never touched.
 */
#include "plugins/quiesce/postgres/pg_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"

/* pg_terminate_backend waits this long for the session to be gone. */
#define PG_TERMINATE_MS "5000"

const char *mb_pg_guard(struct mb_quiesce *q)
{
	const struct pg *p = q->priv;

	return p && p->conn && p->prepared ? p->guard_arg : NULL;
}

static PGconn *connect_guard(const char *conninfo, struct mb_error *e)
{
	const char *keys[] = { "fallback_application_name", "connect_timeout", "dbname", NULL };
	const char *vals[] = { "mbackup-guard", getenv("PGCONNECT_TIMEOUT") ? NULL : "10",
			       conninfo, NULL };
	PGconn *c;
	const char *msg;

	/* (the guard's process inherits the load: the plugin connected before
	 * the guard was forked; recover loads it here) */
	if (mb_pq_load(e) < 0)
		return NULL;
	c = mb_pq.connectdbParams(keys, vals, 1);
	msg = c ? mb_pq.errorMessage(c) : "out of memory";
	if (c && mb_pq.status(c) == CONNECTION_OK)
		return c;
	mb_fail(e, MB_ERR_DATABASE, 0, "unable to connect to PostgreSQL: %.*s",
		(int)strcspn(msg, "\n"), msg);
	mb_pq.finish(c);
	return NULL;
}

/* Terminates the session of "<pid> <start> <conninfo>"; a session already
 * gone is success (idempotent). */
int mb_pg_undo(const char *arg, const struct mb_undo_ctx *ctx, struct mb_error *e)
{
	static const char sql[] =
		"SELECT pg_terminate_backend(pid, " PG_TERMINATE_MS ") FROM pg_stat_activity"
		" WHERE pid = $1::integer AND extract(epoch FROM backend_start) = $2::numeric";
	char pid[16], start[64];
	const char *params[2] = { pid, start };
	PGconn *c = NULL;
	PGresult *res = NULL;
	int off = 0, rc = -1;

	if (sscanf(arg, "%15s %63s %n", pid, start, &off) < 2 || off == 0)
		return mb_fail(e, MB_ERR_INTERNAL, 0, "postgres: bad session description '%.40s'", arg);
	if (!(c = connect_guard(arg + off, e)))
		goto out;
	res = mb_pq.execParams(c, sql, 2, NULL, params, NULL, NULL, 0);
	if (mb_pq.resultStatus(res) != PGRES_TUPLES_OK) {
		const char *msg = mb_pq.errorMessage(c);

		mb_fail(e, MB_ERR_DATABASE, 0, "unable to end the session of backend %s: %.*s", pid,
			(int)strcspn(msg, "\n"), msg);
	} else if (mb_pq.ntuples(res) == 0) {
		mb_info("postgres: the session of backend %s had already ended", pid);
		rc = 0;
	} else if (strcmp(mb_pq.getvalue(res, 0, 0), "t") != 0) {
		mb_fail(e, MB_ERR_DATABASE, 0, "unable to end the session of backend %s: "
			"it did not end within " PG_TERMINATE_MS " ms", pid);
	} else {
		mb_warn("postgres: ended the session of backend %s at the guard's deadline "
			"(backup mode ended, temporary slot dropped)", pid);
		rc = 0;
	}
out:
	mb_pq.clear(res);
	mb_pq.finish(c);
	return rc;
}
