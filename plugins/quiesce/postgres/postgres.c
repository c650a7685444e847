/*
 * The postgres quiesce plugin's session; see postgres.h for the bracket.
 * Every SQL statement runs on the one session opened by discover, in
 * autocommit.  Any failure in discover or prepare disconnects at once, so
 * the server drops the temporary slot and nothing is left behind.
 */
#include "plugins/quiesce/postgres/pg_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"

#define PG_MIN_VERSION 150000
#define PG_POLL_MS 1000			/* a statement's wait, between looks */
#define PG_CANCEL_WAIT_MS 10000		/* the server's answer to a cancel */

static struct pg *pg_priv(struct mb_quiesce *q, struct mb_error *e)
{
	if (!q->priv && !(q->priv = calloc(1, sizeof(struct pg))))
		mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to set up the postgres plugin");
	return q->priv;
}

static int pg_open(struct mb_quiesce *q, const struct mb_quiesce_params *params,
		   struct mb_error *e)
{
	struct pg *p = pg_priv(q, e);
	const char *mode = params->option(params->ctx, "mode");
	const char *conninfo = params->option(params->ctx, "pg-conn");
	const char *checkpoint = params->option(params->ctx, "checkpoint");

	if (!p)
		return -1;
	if (mode && strcmp(mode, "hot") != 0 && strcmp(mode, "freeze") != 0) {
		mb_fail(e, MB_ERR_USAGE, 0, "invalid --mode '%s'", mode);
		mb_hint(e, "use hot (backup mode, the WAL as redo log) or freeze (checkpoint + freeze)");
		return -1;
	}
	p->mode = mode && strcmp(mode, "freeze") == 0 ? MB_PG_FREEZE : MB_PG_HOT;
	p->stop = params->stop;
	p->fast = checkpoint && strcmp(checkpoint, "fast") == 0;
	p->conninfo = strdup(conninfo ? conninfo : "");
	p->label = strdup(params->label ? params->label : "mbackup");
	if (!p->conninfo || !p->label)
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to set up the postgres plugin");
	return 0;
}

const struct mb_pg_info *mb_pg_info(const struct mb_quiesce *q)
{
	const struct pg *p = q ? q->priv : NULL;

	return p && p->discovered ? &p->info : NULL;
}

const struct mb_pg_backup *mb_pg_backup_result(const struct mb_quiesce *q)
{
	const struct pg *p = q ? q->priv : NULL;

	return p && p->stopped ? &p->result : NULL;
}

/* The first line of a libpq message (the rest is advice for psql users). */
static void first_line(char *out, size_t size, const char *msg)
{
	size_t len = msg ? strcspn(msg, "\n") : 0;

	snprintf(out, size, "%.*s", (int)len, msg ? msg : "");
	if (!out[0])
		snprintf(out, size, "unknown error");
}

static const char *server_message(PGconn *conn, PGresult *res)
{
	const char *m = res ? mb_pq.resultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;

	return m ? m : mb_pq.errorMessage(conn);
}

/* After the stop: the server is asked to cancel the statement and its
 * end is waited for, so the session stays usable (a cancelled CHECKPOINT
 * or pg_backup_start leaves nothing); a server that does not answer
 * within PG_CANCEL_WAIT_MS loses the session, which ends all it held. */
static void pg_cancel(struct pg *p, const char *sql)
{
	PGcancel *c = mb_pq.getCancel(p->conn);
	long long deadline = mb_now_ms() + PG_CANCEL_WAIT_MS;
	char err[256] = "out of memory";
	PGresult *res;

	if (!c || !mb_pq.cancel(c, err, sizeof(err)))
		mb_warn("postgres: unable to cancel '%s': %s", sql, err);
	mb_pq.freeCancel(c);
	while (mb_pq.isBusy(p->conn)) {
		struct mb_error ignored = { 0 };
		long long left = deadline - mb_now_ms();

		if (left <= 0 || mb_stop_wait_fd(NULL, mb_pq.socket(p->conn), (int)left, "PostgreSQL",
						 &ignored) <= 0 || !mb_pq.consumeInput(p->conn)) {
			mb_warn("postgres: no answer to the cancel of '%s'; closing the session", sql);
			mb_pq.finish(p->conn);
			p->conn = NULL;
			return;
		}
	}
	while ((res = mb_pq.getResult(p->conn)))
		mb_pq.clear(res);
	mb_info("postgres: '%s' cancelled: the run is stopping", sql);
}

/* Sends one statement and waits for its end on the session's socket and
 * on the run's stop, so a statement that waits long (CHECKPOINT, the
 * checkpoint of pg_backup_start) ends within moments of a signal: then
 * it is cancelled and the stop's error returned.  Its result (or the
 * failure to send it) is then PQgetResult's. */
static int pg_send_wait(struct pg *p, const char *sql, int nparams, const char *const *params,
			struct mb_error *e)
{
	if (!mb_pq.sendQueryParams(p->conn, sql, nparams, NULL, params, NULL, NULL, 0))
		return 0;
	while (mb_pq.isBusy(p->conn)) {
		int ready = mb_stop_wait_fd(&p->stop, mb_pq.socket(p->conn), PG_POLL_MS, "PostgreSQL", e);

		if (ready < 0) {
			pg_cancel(p, sql);
			return -1;
		}
		if (ready > 0 && !mb_pq.consumeInput(p->conn))
			break;
	}
	return 0;
}

/* The statement's one result; anything after it is dropped. */
static PGresult *pg_result(struct pg *p)
{
	PGresult *res = mb_pq.getResult(p->conn), *more;

	while (res && (more = mb_pq.getResult(p->conn)))
		mb_pq.clear(more);
	return res;
}

/* Runs one statement; what names it in the error ("unable to <what>"). */
static int pg_exec(struct pg *p, const char *what, const char *sql, int nparams,
		   const char *const *params, PGresult **out, struct mb_error *e)
{
	PGresult *res;
	ExecStatusType st;
	char line[512];

	if (out)
		*out = NULL;
	mb_debug("postgres: %s", sql);
	if (pg_send_wait(p, sql, nparams, params, e) < 0)
		return -1;
	res = pg_result(p);
	st = res ? mb_pq.resultStatus(res) : PGRES_FATAL_ERROR;
	if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
		first_line(line, sizeof(line), server_message(p->conn, res));
		mb_pq.clear(res);
		return mb_fail(e, MB_ERR_DATABASE, 0, "unable to %s: %s", what, line);
	}
	if (out)
		*out = res;
	else
		mb_pq.clear(res);
	return 0;
}

/* One value of a one-row result, copied; what names it in the error. */
static int pg_value(struct pg *p, const char *what, const char *sql, int nparams,
		    const char *const *params, char **val, struct mb_error *e)
{
	PGresult *res;

	*val = NULL;
	if (pg_exec(p, what, sql, nparams, params, &res, e) < 0)
		return -1;
	if (mb_pq.ntuples(res) != 1 || mb_pq.nfields(res) < 1 || mb_pq.getisnull(res, 0, 0)) {
		mb_pq.clear(res);
		return mb_fail(e, MB_ERR_DATABASE, 0, "unable to %s: no value returned", what);
	}
	*val = strdup(mb_pq.getvalue(res, 0, 0));
	mb_pq.clear(res);
	if (!*val)
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to %s", what);
	return 0;
}

static void connect_hint(const char *conninfo, const char *msg, struct mb_error *e)
{
	char shown[512];
	PQconninfoOption *opts;
	char *err = NULL;

	mb_pg_conninfo_redact(conninfo, shown, sizeof(shown));
	if (conninfo && *conninfo && !(opts = mb_pq.conninfoParse(conninfo, &err))) {
		mb_pq.freemem(err);
		mb_hint(e, "--pg-conn takes a conninfo such as 'host=/run/postgresql port=5432 "
			   "user=postgres' or a postgresql:// URI");
		return;
	} else if (conninfo && *conninfo) {
		mb_pq.conninfoFree(opts);
	}
	if (strstr(msg, "authentication failed") || strstr(msg, "no password supplied") ||
	    strstr(msg, "no pg_hba.conf entry") || (strstr(msg, "role") && strstr(msg, "does not exist")))
		mb_hint(e, "check the user and its password (PGUSER, PGPASSWORD, ~/.pgpass, "
			   "pg_hba.conf) or --pg-conn; tried %s", shown);
	else
		mb_hint(e, "is the server running?  Set PGHOST/PGPORT or --pg-conn; tried %s", shown);
}

static int pg_connect(struct pg *p, struct mb_error *e)
{
	const char *keys[] = { "fallback_application_name", "connect_timeout", "dbname", NULL };
	const char *vals[] = { "mbackup", getenv("PGCONNECT_TIMEOUT") ? NULL : "10",
			       p->conninfo, NULL };
	char line[512], shown[512];

	if (mb_pq_load(e) < 0)	/* the first use: here, before any guard is forked */
		return -1;
	mb_pg_conninfo_redact(p->conninfo, shown, sizeof(shown));
	mb_debug("postgres: connecting with %s", shown);
	p->conn = mb_pq.connectdbParams(keys, vals, 1);
	if (!p->conn)
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to connect to PostgreSQL");
	if (mb_pq.status(p->conn) != CONNECTION_OK) {
		first_line(line, sizeof(line), mb_pq.errorMessage(p->conn));
		mb_fail(e, MB_ERR_DATABASE, 0, "unable to connect to PostgreSQL: %s", line);
		connect_hint(p->conninfo, line, e);
		return -1;
	}
	p->info.backend_pid = mb_pq.backendPID(p->conn);
	p->info.server_version_num = mb_pq.serverVersion(p->conn);
	mb_info("postgres: connected to PostgreSQL %s on '%s' port %s as '%s' (backend %d)",
		mb_pq.parameterStatus(p->conn, "server_version"), mb_pq.host(p->conn), mb_pq.port(p->conn),
		mb_pq.user(p->conn), p->info.backend_pid);
	if (p->info.server_version_num < PG_MIN_VERSION) {
		mb_fail(e, MB_ERR_DATABASE, 0, "PostgreSQL %s is too old: mbackup needs 15 or later",
			mb_pq.parameterStatus(p->conn, "server_version"));
		mb_hint(e, "pg_backup_start and pg_backup_stop appeared in PostgreSQL 15");
		return -1;
	}
	return 0;
}

/* Superuser, or the few rights a hot backup needs, listed by name. */
static int check_rights(struct pg *p, struct mb_error *e)
{
	static const char sql[] =
		"SELECT r.rolsuper, r.rolreplication,"
		" pg_has_role('pg_checkpoint', 'MEMBER'),"
		" pg_has_role('pg_read_all_settings', 'MEMBER'),"
		" has_function_privilege('pg_backup_start(text, boolean)', 'EXECUTE')"
		"  AND has_function_privilege('pg_backup_stop(boolean)', 'EXECUTE')"
		" FROM pg_roles r WHERE r.rolname = current_user";
	static const char *const need[] = { NULL, "REPLICATION", "pg_checkpoint",
					    "pg_read_all_settings",
					    "EXECUTE on pg_backup_start/pg_backup_stop" };
	char missing[512] = "";
	PGresult *res;

	if (pg_exec(p, "check the rights of the session", sql, 0, NULL, &res, e) < 0)
		return -1;
	if (mb_pq.ntuples(res) == 1 && strcmp(mb_pq.getvalue(res, 0, 0), "t") != 0) {
		for (int i = 1; i < 5; i++)
			if (strcmp(mb_pq.getvalue(res, 0, i), "t") != 0)
				snprintf(missing + strlen(missing), sizeof(missing) - strlen(missing),
					 "%s%s", missing[0] ? ", " : "", need[i]);
	}
	mb_pq.clear(res);
	if (!missing[0])
		return 0;
	mb_fail(e, MB_ERR_DATABASE, 0, "role '%s' may not take a backup: it lacks %s",
		mb_pq.user(p->conn), missing);
	mb_hint(e, "connect as a superuser, or grant these rights to '%s'", mb_pq.user(p->conn));
	return -1;
}

static int discover_tablespaces(struct pg *p, struct mb_error *e)
{
	static const char sql[] =
		"SELECT oid, spcname, pg_tablespace_location(oid) FROM pg_tablespace"
		" WHERE pg_tablespace_location(oid) <> '' ORDER BY oid";
	struct mb_pg_info *in = &p->info;
	PGresult *res;
	int n;

	if (pg_exec(p, "list the tablespaces", sql, 0, NULL, &res, e) < 0)
		return -1;
	n = mb_pq.ntuples(res);
	in->tablespaces = calloc(n ? n : 1, sizeof(*in->tablespaces));
	for (int i = 0; in->tablespaces && i < n; i++) {
		struct mb_pg_tablespace *t = &in->tablespaces[in->n_tablespaces++];

		t->oid = (unsigned)strtoul(mb_pq.getvalue(res, i, 0), NULL, 10);
		t->name = strdup(mb_pq.getvalue(res, i, 1));
		t->location = strdup(mb_pq.getvalue(res, i, 2));
		if (!t->name || !t->location)
			break;
	}
	mb_pq.clear(res);
	if (!in->tablespaces || in->n_tablespaces != (size_t)n ||
	    (n && !in->tablespaces[n - 1].location))
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to list the tablespaces");
	return 0;
}

/* pg_wal may be a symlink to another filesystem: the runner needs the
 * real place, and it must be visible from here (a local server). */
static int discover_wal_directory(struct pg *p, struct mb_error *e)
{
	char path[PATH_MAX + 8];

	snprintf(path, sizeof(path), "%s/pg_wal", p->info.data_directory);
	p->info.wal_directory = realpath(path, NULL);
	if (!p->info.wal_directory) {
		mb_fail(e, MB_ERR_DATABASE, errno, "unable to find the WAL directory '%s'", path);
		mb_hint(e, "mbackup must run on the database server's host");
		return -1;
	}
	return 0;
}

static int discover(struct pg *p, struct mb_error *e)
{
	static const char sql[] =
		"SELECT pg_size_bytes(current_setting('wal_segment_size')),"
		" (SELECT timeline_id FROM pg_control_checkpoint()), pg_is_in_recovery()";
	struct mb_pg_info *in = &p->info;
	PGresult *res;

	if (pg_value(p, "read data_directory", "SHOW data_directory", 0, NULL,
		     &in->data_directory, e) < 0 ||
	    discover_wal_directory(p, e) < 0 || discover_tablespaces(p, e) < 0 ||
	    pg_exec(p, "read the WAL settings", sql, 0, NULL, &res, e) < 0)
		return -1;
	in->wal_segment_size = strtoull(mb_pq.getvalue(res, 0, 0), NULL, 10);
	in->timeline = (uint32_t)strtoul(mb_pq.getvalue(res, 0, 1), NULL, 10);
	in->in_recovery = strcmp(mb_pq.getvalue(res, 0, 2), "t") == 0;
	mb_pq.clear(res);
	mb_info("postgres: data directory '%s', WAL in '%s', %zu tablespace(s), "
		"segments of %" PRIu64 " bytes, timeline %" PRIu32 "%s",
		in->data_directory, in->wal_directory, in->n_tablespaces, in->wal_segment_size,
		in->timeline, in->in_recovery ? " (standby)" : "");
	return 0;
}

/* A temporary slot holds the WAL from now on until the session ends:
 * the runner copies start..stop from the live pg_wal after the stop. */
static int reserve_wal(struct pg *p, struct mb_error *e)
{
	const char *params[1] = { p->info.slot_name };
	char *lsn = NULL;

	snprintf(p->info.slot_name, sizeof(p->info.slot_name), "mbackup_%d", p->info.backend_pid);
	if (pg_value(p, "reserve WAL with a temporary replication slot",
		     "SELECT lsn FROM pg_create_physical_replication_slot($1, true, true)",
		     1, params, &lsn, e) < 0) {
		mb_hint(e, "needs wal_level = replica (or logical) and a free slot "
			   "(max_replication_slots)");
		return -1;
	}
	mb_info("postgres: temporary slot '%s' holds WAL from %s", p->info.slot_name, lsn);
	free(lsn);
	return 0;
}

static void pg_free_info(struct mb_pg_info *in)
{
	free(in->data_directory);
	free(in->wal_directory);
	for (size_t i = 0; i < in->n_tablespaces; i++) {
		free(in->tablespaces[i].name);
		free(in->tablespaces[i].location);
	}
	free(in->tablespaces);
}

/* Ends the session after a failure: the server drops the slot and ends
 * a backup still running, so nothing is left behind. */
static int pg_drop(struct pg *p)
{
	mb_pq.finish(p->conn);
	p->conn = NULL;
	p->discovered = p->prepared = false;
	return -1;
}

static int pg_discover(struct mb_quiesce *q, struct mb_error *e)
{
	struct pg *p = q->priv;
	char safe[512];

	if (!p || p->conn)
		return mb_fail(e, MB_ERR_INTERNAL, 0, "postgres plugin discovering %s",
			       p ? "twice" : "before open");
	pg_free_info(&p->info);		/* a retry after a failed discover */
	memset(&p->info, 0, sizeof(p->info));
	mb_pg_conninfo_redact(p->conninfo, safe, sizeof(safe));
	mb_info("connecting to PostgreSQL: %s", safe);
	if (pg_connect(p, e) < 0 || check_rights(p, e) < 0 || discover(p, e) < 0)
		return pg_drop(p);
	p->discovered = true;
	return 0;
}

/* Who the session is, for the guard: its backend pid and start time (a
 * pid alone may be reused by the time the deadline passes), and how to
 * reach the server: "<pid> <backend_start as epoch> <conninfo>". */
static int describe_for_guard(struct pg *p, struct mb_error *e)
{
	char *start = NULL;

	if (pg_value(p, "read the start time of the session",
		     "SELECT extract(epoch FROM backend_start)::text FROM pg_stat_activity"
		     " WHERE pid = pg_backend_pid()", 0, NULL, &start, e) < 0)
		return -1;
	free(p->guard_arg);
	if (asprintf(&p->guard_arg, "%d %s %s", p->info.backend_pid, start, p->conninfo) < 0)
		p->guard_arg = NULL;
	free(start);
	if (!p->guard_arg)
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to set up the postgres plugin");
	return 0;
}

static int pg_prepare(struct mb_quiesce *q, struct mb_error *e)
{
	struct pg *p = q->priv;

	if (!p || !p->discovered || !p->conn)
		return mb_fail(e, MB_ERR_INTERNAL, 0, "postgres plugin prepared before discover");
	if (p->prepared)
		return mb_fail(e, MB_ERR_INTERNAL, 0, "postgres plugin prepared twice");
	/* Hot mode: no CHECKPOINT of ours.  The start's own checkpoint is the
	 * one (spread: at the server's pace; fast: immediate, as pg_basebackup
	 * -c fast), and it runs before the guard is armed, so a CHECKPOINT
	 * ahead of it would not shorten the window, only add a second
	 * immediate checkpoint under production's load (1.7 s of an 8.9 s
	 * quiesce under pgbench, bench/compare.md). */
	if (reserve_wal(p, e) < 0 || describe_for_guard(p, e) < 0 ||
	    (p->mode == MB_PG_FREEZE &&
	     pg_exec(p, "run CHECKPOINT before the window", "CHECKPOINT", 0, NULL, NULL, e) < 0))
		return pg_drop(p);
	p->prepared = true;
	return 0;
}

static int pg_enter(struct mb_quiesce *q, struct mb_error *e)
{
	struct pg *p = q->priv;
	const char *params[1];
	char *lsn = NULL;
	long long started;
	int rc;

	if (!p || !p->prepared || !p->conn)
		return mb_fail(e, MB_ERR_INTERNAL, 0, "postgres plugin entered before prepare");
	if (p->mode == MB_PG_FREEZE)
		return pg_exec(p, "run CHECKPOINT", "CHECKPOINT", 0, NULL, NULL, e);
	if (p->in_backup)
		return mb_fail(e, MB_ERR_DATABASE, 0, "unable to start the backup: "
			       "a backup is already in progress in this session");
	params[0] = p->label;
	started = mb_now_ms();
	rc = pg_value(p, "start the backup", p->fast ? "SELECT pg_backup_start($1, true)"
		      : "SELECT pg_backup_start($1, false)", 1, params, &lsn, e);
	if (rc == 0 && mb_pg_parse_lsn(lsn, &p->result.start_lsn) < 0)
		rc = mb_fail(e, MB_ERR_DATABASE, 0, "unable to start the backup: bad LSN '%s'", lsn);
	/* A failed start leaves no backup: the server rolled it back, or the
	 * session is gone and the backup with it.  A start whose LSN we could
	 * not read is still running, so leave must stop it. */
	if (lsn)
		p->in_backup = true;
	if (rc == 0)
		mb_info("postgres: backup '%s' started at %s after a %s checkpoint of %lld ms",
			p->label, lsn, p->fast ? "fast" : "spread", mb_now_ms() - started);
	free(lsn);
	return rc;
}

static int parse_label_timeline(struct pg *p, struct mb_error *e)
{
	const char *t = strstr(p->result.backup_label, "START TIMELINE: ");

	if (!t)
		return mb_fail(e, MB_ERR_DATABASE, 0, "unable to read START TIMELINE from backup_label");
	p->result.timeline = (uint32_t)strtoul(t + strlen("START TIMELINE: "), NULL, 10);
	return 0;
}

/* Stops the backup; on any failure the session is closed, which ends the
 * backup on the server, so backup mode is never left behind. */
static int pg_leave(struct mb_quiesce *q, struct mb_error *e)
{
	struct pg *p = q->priv;
	PGresult *res = NULL;
	int rc = -1;

	if (!p || !p->in_backup || !p->conn)
		return 0;
	p->in_backup = false;
	/* The bracket ends whatever stops the run (a signal stays pending). */
	p->stop = (struct mb_stop){ -1, NULL };
	/* clock_timestamp() is read after the stop returned: every commit
	 * the copy holds is no later than it (pg_recovery.c's consistent_at) */
	if (pg_exec(p, "stop the backup", "SELECT lsn, labelfile, spcmapfile,"
		    " to_char(clock_timestamp() AT TIME ZONE 'UTC',"
		    " 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') FROM pg_backup_stop(false)",
		    0, NULL, &res, e) < 0)
		goto out;
	if (mb_pq.ntuples(res) != 1 ||
	    mb_pg_parse_lsn(mb_pq.getvalue(res, 0, 0), &p->result.stop_lsn) < 0) {
		mb_fail(e, MB_ERR_DATABASE, 0, "unable to stop the backup: unexpected result");
		goto out;
	}
	snprintf(p->result.consistent_at, sizeof(p->result.consistent_at), "%s",
		 mb_pq.getvalue(res, 0, 3));
	p->result.backup_label = strdup(mb_pq.getvalue(res, 0, 1));
	p->result.tablespace_map = strdup(mb_pq.getvalue(res, 0, 2));
	if (!p->result.backup_label || !p->result.tablespace_map) {
		mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to keep backup_label");
		goto out;
	}
	if (parse_label_timeline(p, e) < 0)
		goto out;
	p->stopped = true;
	mb_info("postgres: backup stopped at %s", mb_pq.getvalue(res, 0, 0));
	rc = 0;
out:
	mb_pq.clear(res);
	if (rc < 0) {
		mb_pq.finish(p->conn);
		p->conn = NULL;
	}
	return rc;
}

/* Disconnecting ends a backup still running and drops the slot. */
static void pg_close(struct mb_quiesce *q)
{
	struct pg *p = q->priv;

	if (!p)
		return;
	if (p->in_backup)
		mb_warn("postgres: closing the session with the backup still running; "
			"the server aborts it");
	mb_pq.finish(p->conn);
	pg_free_info(&p->info);
	free(p->result.backup_label);
	free(p->result.tablespace_map);
	free(p->conninfo);
	free(p->label);
	free(p->guard_arg);
	free(p);
	q->priv = NULL;
}

/* No catalog obligation: a non-exclusive backup and a temporary slot
 * belong to the session, and the server ends both when the session dies
 * (even if mbackup is SIGKILLed).  While mbackup lives but hangs, the
 * guard ends the session at its deadline: guard and undo (pg_deadline.c). */
const struct mb_quiesce_ops mb_quiesce_postgres = {
	.name = "postgres",
	.bracket = "database",
	.open = pg_open,
	.discover = pg_discover,
	.source = mb_pg_source,
	.place = mb_pg_place,
	.prepare = pg_prepare,
	.enter = pg_enter,
	.leave = pg_leave,
	.filter = mb_pg_filter,
	.filtered = mb_pg_filtered,
	.artifacts = mb_pg_artifacts,
	.manifest = mb_pg_manifest,
	.guard = mb_pg_guard,
	.close = pg_close,
	.undo = mb_pg_undo,
	.facts = mb_pg_facts,
	.recovery = &mb_pg_recovery,
};
