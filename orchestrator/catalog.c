/* The SQLite catalog: runs, phases, obligations, backup sets, images; see
 * catalog.h.  Every value goes through a bound parameter; statements are
 * prepared once per connection and reused. */
#include "orchestrator/catalog.h"
#include "common/clock.h"
#include "orchestrator/catalog_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/path.h"

static const char *const schema_v1[] = {
	"CREATE TABLE schema_version (version INTEGER NOT NULL)",
	"CREATE TABLE runs ("
	" id INTEGER PRIMARY KEY,"
	" verb TEXT NOT NULL,"
	" status TEXT NOT NULL"
	"  CHECK (status IN ('running', 'complete', 'failed')),"
	" started TEXT NOT NULL, finished TEXT,"
	" pid INTEGER, host TEXT, window_ms INTEGER,"
	" files INTEGER NOT NULL DEFAULT 0, bytes INTEGER NOT NULL DEFAULT 0,"
	" exit_code INTEGER, error TEXT, config TEXT)",
	"CREATE TABLE phases ("
	" run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
	" name TEXT NOT NULL, started TEXT NOT NULL, finished TEXT,"
	" duration_ms INTEGER, status TEXT NOT NULL, detail TEXT)",
	"CREATE INDEX phases_run ON phases (run_id)",
	"CREATE TABLE obligations ("
	" id INTEGER PRIMARY KEY,"
	" run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
	" kind TEXT NOT NULL, driver TEXT NOT NULL, arg TEXT NOT NULL,"
	" state TEXT NOT NULL"
	"  CHECK (state IN ('pending', 'released', 'recovered', 'failed')),"
	" created TEXT NOT NULL, updated TEXT NOT NULL)",
	"CREATE INDEX obligations_run ON obligations (run_id)",
	/* id keeps file rows stable for extents.file_row (VACUUM may
	 * renumber an implicit rowid) */
	"CREATE TABLE files ("
	" id INTEGER PRIMARY KEY,"
	" run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
	" path BLOB NOT NULL, type TEXT NOT NULL, ino INTEGER, size INTEGER,"
	" mode INTEGER, uid INTEGER, gid INTEGER,"
	" mtime_sec INTEGER, mtime_nsec INTEGER,"
	" seg_offset INTEGER, seg_length INTEGER, image_offset INTEGER,"
	" link_target BLOB, rdev INTEGER)",
	"CREATE INDEX files_run ON files (run_id)",
	"CREATE TABLE extents ("
	" run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
	" file_row INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,"
	" logical INTEGER NOT NULL, physical INTEGER NOT NULL,"
	" length INTEGER NOT NULL, flags INTEGER NOT NULL)",
	"CREATE INDEX extents_run_file ON extents (run_id, file_row)",
	"CREATE TABLE images ("
	" run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
	" device INTEGER NOT NULL, media TEXT NOT NULL,"
	" bytes INTEGER NOT NULL, status TEXT NOT NULL)",
	"CREATE INDEX images_run ON images (run_id)",
	NULL
};

int cat_fail(struct mb_catalog *c, const char *what, struct mb_error *e)
{
	int rc = sqlite3_extended_errcode(c->db);

	mb_fail(e, MB_ERR_CATALOG, 0, "unable to %s in catalog '%s': %s", what,
		c->path, sqlite3_errmsg(c->db));
	if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED)
		mb_hint(e, "another process keeps the catalog busy");
	return -1;
}

sqlite3_stmt *cat_stmt(struct mb_catalog *c, enum stmt_id id,
		       const char *sql, struct mb_error *e)
{
	sqlite3_stmt *st = c->stmt[id];

	if (!st) {
		if (sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
				       &st, NULL) != SQLITE_OK) {
			cat_fail(c, "prepare a statement", e);
			return NULL;
		}
		c->stmt[id] = st;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return st;
}

int cat_done(struct mb_catalog *c, sqlite3_stmt *st,
		    const char *what, struct mb_error *e)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return cat_fail(c, what, e);
	return 0;
}

int cat_exec(struct mb_catalog *c, const char *sql,
		    const char *what, struct mb_error *e)
{
	if (sqlite3_exec(c->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return cat_fail(c, what, e);
	return 0;
}

void bind_text(sqlite3_stmt *st, int i, const char *s)
{
	if (s)
		sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, i);
}

void mb_catalog_now(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;
	char stamp[24];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%03ldZ", stamp, ts.tv_nsec / 1000000);
}


/* A failure while opening: "unable to open catalog '/x': <sqlite>". */
static int open_fail(struct mb_catalog *c, struct mb_error *e)
{
	return mb_fail(e, MB_ERR_CATALOG, 0, "unable to open catalog '%s': %s",
		       c->path, sqlite3_errmsg(c->db));
}

/* The version recorded in the file, 0 if it has no schema yet. */
static int read_version(struct mb_catalog *c, int *version,
			struct mb_error *e)
{
	sqlite3_stmt *st = NULL;
	int rc;

	*version = 0;
	if (sqlite3_prepare_v2(c->db,
			       "SELECT count(*) FROM sqlite_master"
			       " WHERE name = 'schema_version'",
			       -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_finalize(st);
		return open_fail(c, e);
	}
	rc = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if (rc == 0)
		return 0;
	if (sqlite3_prepare_v2(c->db, "SELECT max(version) FROM schema_version",
			       -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_finalize(st);
		return open_fail(c, e);
	}
	*version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return 0;
}

static int run_all(struct mb_catalog *c, const char *const *sql,
		   struct mb_error *e)
{
	for (size_t i = 0; sql[i]; i++)
		if (cat_exec(c, sql[i], "create the schema", e) < 0)
			return -1;
	return 0;
}

/* A new catalog gets every version's tables; an older one the steps it
 * lacks (1 -> 2: the tape tables).  Its version row then says the
 * current version. */
static int create_schema(struct mb_catalog *c, int from, struct mb_error *e)
{
	sqlite3_stmt *st = NULL;

	if ((from < 1 && run_all(c, schema_v1, e) < 0) ||
	    (from < 2 && run_all(c, mb_catalog_schema_tape, e) < 0))
		return -1;
	if (sqlite3_prepare_v2(c->db, from == 0 ?
			       "INSERT INTO schema_version (version) VALUES (?)" :
			       "UPDATE schema_version SET version = ?",
			       -1, &st, NULL) != SQLITE_OK)
		return cat_fail(c, "create the schema", e);
	sqlite3_bind_int(st, 1, MB_CATALOG_SCHEMA_VERSION);
	if (sqlite3_step(st) != SQLITE_DONE) {
		sqlite3_finalize(st);
		return cat_fail(c, "create the schema", e);
	}
	sqlite3_finalize(st);
	return 0;
}

/* Creates the schema if missing, refuses a newer one.  Inside BEGIN
 * IMMEDIATE so two first opens cannot both create it. */
static int check_schema(struct mb_catalog *c, struct mb_error *e)
{
	int version;

	if (sqlite3_exec(c->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return open_fail(c, e);
	if (read_version(c, &version, e) < 0)
		goto fail;
	if (version > MB_CATALOG_SCHEMA_VERSION) {
		mb_fail(e, MB_ERR_CATALOG, 0,
			"catalog '%s' has schema version %d, newer than this "
			"mbackup supports (%d)", c->path, version,
			MB_CATALOG_SCHEMA_VERSION);
		mb_hint(e, "run a newer mbackup, or point --catalog at another "
			"file");
		goto fail;
	}
	if (version < MB_CATALOG_SCHEMA_VERSION && create_schema(c, version, e) < 0)
		goto fail;
	return cat_exec(c, "COMMIT", "create the schema", e);
fail:
	sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

/*
 * WAL with synchronous=FULL: a commit is on disk before it returns, which
 * an obligation needs (it must be durable before the action it guards);
 * the cost is one fsync of the WAL per commit, well under a millisecond on
 * the disks measured (see the report), so one setting serves every table.
 */
static int configure(struct mb_catalog *c, struct mb_error *e)
{
	sqlite3_busy_timeout(c->db, 5000);
	if (sqlite3_exec(c->db, "PRAGMA journal_mode = WAL; "
			 "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON",
			 NULL, NULL, NULL) != SQLITE_OK)
		return open_fail(c, e);
	return 0;
}

/* The file is created 0600 before SQLite sees it: it holds the effective
 * configuration; SQLite gives its -wal and -shm files the same mode. */
static int precreate(const char *path, struct mb_error *e)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

	if (fd < 0)
		return mb_fail(e, MB_ERR_CATALOG, errno,
			       "unable to open catalog '%s'", path);
	close(fd);
	return 0;
}

int mb_catalog_open(struct mb_catalog **out, const char *path,
		    struct mb_error *e)
{
	struct mb_catalog *c = NULL;
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;

	*out = NULL;
	if (mb_make_parents(path, MB_ERR_CATALOG, e) < 0 || precreate(path, e) < 0)
		return -1;
	c = calloc(1, sizeof(*c));
	if (!c || !(c->path = strdup(path))) {
		free(c);
		return mb_fail(e, MB_ERR_CATALOG, ENOMEM,
			       "unable to open catalog '%s'", path);
	}
	if (sqlite3_open_v2(path, &c->db, flags, NULL) != SQLITE_OK) {
		mb_fail(e, MB_ERR_CATALOG, 0, "unable to open catalog '%s': %s",
			path, c->db ? sqlite3_errmsg(c->db) : "out of memory");
		goto fail;
	}
	sqlite3_extended_result_codes(c->db, 1);
	if (configure(c, e) < 0 || check_schema(c, e) < 0)
		goto fail;
	*out = c;
	return 0;
fail:
	mb_catalog_close(c);
	return -1;
}

void mb_catalog_close(struct mb_catalog *c)
{
	if (!c)
		return;
	for (int i = 0; i < N_STMT; i++)
		sqlite3_finalize(c->stmt[i]);
	sqlite3_close(c->db);
	free(c->path);
	free(c);
}

int mb_catalog_run_begin(struct mb_catalog *c, const char *verb,
			 const char *config_json, int64_t *run_id,
			 struct mb_error *e)
{
	char now[32], host[256] = "";
	sqlite3_stmt *st = cat_stmt(c, S_RUN_BEGIN,
		"INSERT INTO runs (verb, status, started, pid, host, config)"
		" VALUES (?, 'running', ?, ?, ?, ?)", e);

	if (!st)
		return -1;
	mb_catalog_now(now, sizeof(now));
	gethostname(host, sizeof(host) - 1);
	bind_text(st, 1, verb);
	bind_text(st, 2, now);
	sqlite3_bind_int64(st, 3, getpid());
	bind_text(st, 4, host);
	bind_text(st, 5, config_json);
	if (cat_done(c, st, "record the run", e) < 0)
		return -1;
	*run_id = sqlite3_last_insert_rowid(c->db);
	return 0;
}

/* After an UPDATE of one run: fails with MB_ERR_NOT_FOUND if no row. */
static int one_row(struct mb_catalog *c, int64_t id, const char *what,
		   struct mb_error *e)
{
	if (sqlite3_changes(c->db) == 0)
		return mb_fail(e, MB_ERR_NOT_FOUND, 0,
			       "unable to %s in catalog '%s': no %s %lld",
			       what, c->path,
			       strstr(what, "obligation") ? "obligation" : "run",
			       (long long)id);
	return 0;
}

int mb_catalog_run_end(struct mb_catalog *c, int64_t run_id,
		       const char *status, int exit_code, const char *error,
		       struct mb_error *e)
{
	char now[32];
	sqlite3_stmt *st;

	if (!status || (strcmp(status, "complete") && strcmp(status, "failed")))
		return mb_fail(e, MB_ERR_INTERNAL, 0,
			       "invalid run status '%s'", status ? status : "");
	st = cat_stmt(c, S_RUN_END,
		"UPDATE runs SET status = ?, finished = ?, exit_code = ?,"
		" error = ? WHERE id = ?", e);
	if (!st)
		return -1;
	mb_catalog_now(now, sizeof(now));
	bind_text(st, 1, status);
	bind_text(st, 2, now);
	sqlite3_bind_int(st, 3, exit_code);
	bind_text(st, 4, error);
	sqlite3_bind_int64(st, 5, run_id);
	if (cat_done(c, st, "end the run", e) < 0)
		return -1;
	return one_row(c, run_id, "end the run", e);
}

int mb_catalog_run_set_window(struct mb_catalog *c, int64_t run_id,
			      int64_t window_ms, struct mb_error *e)
{
	sqlite3_stmt *st = cat_stmt(c, S_RUN_WINDOW,
		"UPDATE runs SET window_ms = ? WHERE id = ?", e);

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, window_ms);
	sqlite3_bind_int64(st, 2, run_id);
	if (cat_done(c, st, "record the window", e) < 0)
		return -1;
	return one_row(c, run_id, "record the window", e);
}

int mb_catalog_run_set_totals(struct mb_catalog *c, int64_t run_id,
			      uint64_t files, uint64_t bytes,
			      struct mb_error *e)
{
	sqlite3_stmt *st = cat_stmt(c, S_RUN_TOTALS,
		"UPDATE runs SET files = ?, bytes = ? WHERE id = ?", e);

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)files);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)bytes);
	sqlite3_bind_int64(st, 3, run_id);
	if (cat_done(c, st, "record the totals", e) < 0)
		return -1;
	return one_row(c, run_id, "record the totals", e);
}

/* Open phases remember a monotonic start so durations ignore clock steps;
 * a phase begun elsewhere falls back to the wall-clock difference. */
static struct open_phase *phase_slot(struct mb_catalog *c, int64_t run_id,
				       const char *name, bool take)
{
	struct open_phase *free_slot = NULL;

	for (int i = 0; i < MAX_OPEN_PHASES; i++) {
		struct open_phase *p = &c->phases[i];

		if (p->run_id == run_id && !strcmp(p->name, name))
			return p;
		if (!p->run_id && !free_slot)
			free_slot = p;
	}
	return take ? free_slot : NULL;
}

int mb_catalog_phase_begin(struct mb_catalog *c, int64_t run_id,
			   const char *phase, struct mb_error *e)
{
	char now[32];
	struct open_phase *slot;
	sqlite3_stmt *st = cat_stmt(c, S_PHASE_BEGIN,
		"INSERT INTO phases (run_id, name, started, status)"
		" VALUES (?, ?, ?, 'running')", e);

	if (!st)
		return -1;
	mb_catalog_now(now, sizeof(now));
	sqlite3_bind_int64(st, 1, run_id);
	bind_text(st, 2, phase);
	bind_text(st, 3, now);
	if (cat_done(c, st, "record the phase", e) < 0)
		return -1;
	slot = phase_slot(c, run_id, phase, true);
	if (slot && strlen(phase) < sizeof(slot->name)) {
		slot->run_id = run_id;
		strcpy(slot->name, phase);
		slot->start_ms = mb_now_ms();
	}
	return 0;
}

int mb_catalog_phase_end(struct mb_catalog *c, int64_t run_id,
			 const char *phase, const char *status,
			 const char *detail, struct mb_error *e)
{
	char now[32];
	struct open_phase *slot = phase_slot(c, run_id, phase, false);
	sqlite3_stmt *st = cat_stmt(c, S_PHASE_END,
		"UPDATE phases SET finished = ?1, status = ?2, detail = ?3,"
		" duration_ms = coalesce(?4, CAST(round((julianday(?1) -"
		"  julianday(started)) * 86400000) AS INTEGER))"
		" WHERE rowid = (SELECT max(rowid) FROM phases"
		"  WHERE run_id = ?5 AND name = ?6 AND finished IS NULL)", e);

	if (!st)
		return -1;
	mb_catalog_now(now, sizeof(now));
	bind_text(st, 1, now);
	bind_text(st, 2, status);
	bind_text(st, 3, detail);
	if (slot)
		sqlite3_bind_int64(st, 4, mb_now_ms() - slot->start_ms);
	sqlite3_bind_int64(st, 5, run_id);
	bind_text(st, 6, phase);
	if (slot)
		memset(slot, 0, sizeof(*slot));
	if (cat_done(c, st, "record the end of the phase", e) < 0)
		return -1;
	if (sqlite3_changes(c->db) == 0)
		return mb_fail(e, MB_ERR_NOT_FOUND, 0,
			       "unable to end phase '%s' of run %lld: it was "
			       "not begun", phase, (long long)run_id);
	return 0;
}

int mb_catalog_phase_record(struct mb_catalog *c, int64_t run_id,
			    const char *phase, const char *started,
			    const char *finished, int64_t duration_ms,
			    const char *status, const char *detail,
			    struct mb_error *e)
{
	sqlite3_stmt *st = cat_stmt(c, S_PHASE_RECORD,
		"INSERT INTO phases (run_id, name, started, finished,"
		" duration_ms, status, detail) VALUES (?, ?, ?, ?, ?, ?, ?)", e);

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, run_id);
	bind_text(st, 2, phase);
	bind_text(st, 3, started);
	bind_text(st, 4, finished);
	sqlite3_bind_int64(st, 5, duration_ms);
	bind_text(st, 6, status ? status : "ok");
	bind_text(st, 7, detail);
	return cat_done(c, st, "record the phase", e);
}

int mb_catalog_image_add(struct mb_catalog *c, int64_t run_id,
			 int device_index, const char *media, uint64_t bytes,
			 const char *status, struct mb_error *e)
{
	sqlite3_stmt *st = cat_stmt(c, S_IMAGE_ADD,
		"INSERT INTO images (run_id, device, media, bytes, status)"
		" VALUES (?, ?, ?, ?, ?)", e);

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, run_id);
	sqlite3_bind_int(st, 2, device_index);
	bind_text(st, 3, media);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)bytes);
	bind_text(st, 5, status);
	return cat_done(c, st, "record the image", e);
}

static bool valid_state(const char *s)
{
	return s && (!strcmp(s, "pending") || !strcmp(s, "released") ||
		     !strcmp(s, "recovered") || !strcmp(s, "failed"));
}

int mb_catalog_obligation_add(struct mb_catalog *c, int64_t run_id,
			      const char *kind, const char *driver,
			      const char *arg, int64_t *obligation_id,
			      struct mb_error *e)
{
	char now[32];
	sqlite3_stmt *st;

	/* recover reads them back into fixed fields: refuse, never cut */
	if (!kind || !driver || strlen(kind) >= sizeof(((struct mb_obligation *)0)->kind) ||
	    strlen(driver) >= sizeof(((struct mb_obligation *)0)->driver))
		return mb_fail(e, MB_ERR_INTERNAL, 0,
			       "invalid obligation kind or driver name");
	st = cat_stmt(c, S_OBL_ADD,
		"INSERT INTO obligations (run_id, kind, driver, arg, state,"
		" created, updated) VALUES (?1, ?2, ?3, ?4, 'pending', ?5, ?5)",
		e);
	if (!st)
		return -1;
	mb_catalog_now(now, sizeof(now));
	sqlite3_bind_int64(st, 1, run_id);
	bind_text(st, 2, kind);
	bind_text(st, 3, driver);
	bind_text(st, 4, arg ? arg : "");
	bind_text(st, 5, now);
	if (cat_done(c, st, "record the obligation", e) < 0)
		return -1;
	if (obligation_id)
		*obligation_id = sqlite3_last_insert_rowid(c->db);
	return 0;
}

int mb_catalog_obligation_set(struct mb_catalog *c, int64_t obligation_id,
			      const char *state, struct mb_error *e)
{
	char now[32];
	sqlite3_stmt *st;

	if (!valid_state(state))
		return mb_fail(e, MB_ERR_INTERNAL, 0,
			       "invalid obligation state '%s'",
			       state ? state : "");
	st = cat_stmt(c, S_OBL_SET,
		"UPDATE obligations SET state = ?, updated = ? WHERE id = ?", e);
	if (!st)
		return -1;
	mb_catalog_now(now, sizeof(now));
	bind_text(st, 1, state);
	bind_text(st, 2, now);
	sqlite3_bind_int64(st, 3, obligation_id);
	if (cat_done(c, st, "update the obligation", e) < 0)
		return -1;
	return one_row(c, obligation_id, "update the obligation", e);
}

static void copy_col(char *dst, size_t len, sqlite3_stmt *st, int i)
{
	const unsigned char *s = sqlite3_column_text(st, i);

	snprintf(dst, len, "%s", s ? (const char *)s : "");
}

/* Appends one row to a growing array; *cap doubles. */
static void *grow(void *v, size_t n, size_t *cap, size_t size)
{
	if (n < *cap)
		return v;
	*cap = *cap ? *cap * 2 : 16;
	return realloc(v, *cap * size);
}

int mb_catalog_obligations_open(struct mb_catalog *c, struct mb_obligation **v,
				size_t *n, struct mb_error *e)
{
	struct mb_obligation *ov = NULL, *o;
	size_t on = 0, cap = 0;
	sqlite3_stmt *st = cat_stmt(c, S_OBL_OPEN,
		"SELECT o.id, o.run_id, o.kind, o.driver, o.arg, o.state"
		" FROM obligations o JOIN runs r ON r.id = o.run_id"
		" WHERE r.status = 'running' AND o.state IN ('pending', 'failed')"
		" ORDER BY o.id DESC", e);
	int rc;

	*v = NULL;
	*n = 0;
	if (!st)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		void *nv = grow(ov, on, &cap, sizeof(*ov));

		if (!nv)
			goto nomem;
		ov = nv;
		o = &ov[on];
		memset(o, 0, sizeof(*o));
		o->id = sqlite3_column_int64(st, 0);
		o->run_id = sqlite3_column_int64(st, 1);
		copy_col(o->kind, sizeof(o->kind), st, 2);
		copy_col(o->driver, sizeof(o->driver), st, 3);
		copy_col(o->state, sizeof(o->state), st, 5);
		o->arg = strdup((const char *)sqlite3_column_text(st, 4) ?: "");
		if (!o->arg)
			goto nomem;
		on++;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		mb_obligations_free(ov, on);
		return cat_fail(c, "read the obligations", e);
	}
	*v = ov;
	*n = on;
	return 0;
nomem:
	sqlite3_reset(st);
	mb_obligations_free(ov, on);
	return mb_fail(e, MB_ERR_CATALOG, ENOMEM,
		       "unable to read the obligations");
}

void mb_obligations_free(struct mb_obligation *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i].arg);
	free(v);
}

int mb_catalog_runs_running(struct mb_catalog *c, int64_t **ids, size_t *n,
			    struct mb_error *e)
{
	int64_t *v = NULL;
	size_t cnt = 0, cap = 0;
	sqlite3_stmt *st = cat_stmt(c, S_RUNS_RUNNING,
		"SELECT id FROM runs WHERE status = 'running' ORDER BY id", e);
	int rc;

	*ids = NULL;
	*n = 0;
	if (!st)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t *nv = grow(v, cnt, &cap, sizeof(*v));

		if (!nv) {
			sqlite3_reset(st);
			free(v);
			return mb_fail(e, MB_ERR_CATALOG, ENOMEM,
				       "unable to read the runs");
		}
		v = nv;
		v[cnt++] = sqlite3_column_int64(st, 0);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		free(v);
		return cat_fail(c, "read the runs", e);
	}
	*ids = v;
	*n = cnt;
	return 0;
}

/* One files row and its extents, with the statements of save_set. */
static int save_entry(struct mb_catalog *c, int64_t run_id,
		      const struct mb_entry *x, sqlite3_stmt *fst,
		      sqlite3_stmt *xst, struct mb_error *e)
{
	char type[2] = { x->type, '\0' };
	int64_t row;
	int i = 1;

	sqlite3_bind_int64(fst, i++, run_id);
	sqlite3_bind_blob(fst, i++, x->path, (int)strlen(x->path), SQLITE_STATIC);
	sqlite3_bind_text(fst, i++, type, 1, SQLITE_STATIC);
	sqlite3_bind_int64(fst, i++, (sqlite3_int64)x->ino);
	sqlite3_bind_int64(fst, i++, (sqlite3_int64)x->size);
	sqlite3_bind_int64(fst, i++, x->mode);
	sqlite3_bind_int64(fst, i++, x->uid);
	sqlite3_bind_int64(fst, i++, x->gid);
	sqlite3_bind_int64(fst, i++, x->mtime_sec);
	sqlite3_bind_int64(fst, i++, x->mtime_nsec);
	sqlite3_bind_int64(fst, i++, (sqlite3_int64)x->seg_offset);
	sqlite3_bind_int64(fst, i++, (sqlite3_int64)x->seg_length);
	sqlite3_bind_int64(fst, i++, (sqlite3_int64)x->image_offset);
	if (x->link_target)
		sqlite3_bind_blob(fst, i++, x->link_target,
				  (int)strlen(x->link_target), SQLITE_STATIC);
	else
		sqlite3_bind_null(fst, i++);
	sqlite3_bind_int64(fst, i++, (sqlite3_int64)x->rdev);
	if (cat_done(c, fst, "save the backup set", e) < 0)
		return -1;
	row = sqlite3_last_insert_rowid(c->db);
	for (size_t k = 0; k < x->n_extents; k++) {
		const struct mb_extent *m = &x->extents[k];

		sqlite3_bind_int64(xst, 1, run_id);
		sqlite3_bind_int64(xst, 2, row);
		sqlite3_bind_int64(xst, 3, (sqlite3_int64)m->logical);
		sqlite3_bind_int64(xst, 4, (sqlite3_int64)m->physical);
		sqlite3_bind_int64(xst, 5, (sqlite3_int64)m->length);
		sqlite3_bind_int64(xst, 6, m->flags);
		if (cat_done(c, xst, "save the backup set", e) < 0)
			return -1;
	}
	return 0;
}

/* Replaces the run's set in one transaction: one commit, one fsync. */
int mb_catalog_save_set(struct mb_catalog *c, int64_t run_id,
			struct mb_entry *const *entries, size_t n,
			struct mb_error *e)
{
	sqlite3_stmt *dx, *df, *fst, *xst;

	if (cat_exec(c, "BEGIN IMMEDIATE", "save the backup set", e) < 0)
		return -1;
	if (!(dx = cat_stmt(c, S_SET_DEL_EXT,
			    "DELETE FROM extents WHERE run_id = ?", e)) ||
	    !(df = cat_stmt(c, S_SET_DEL_FILES,
			    "DELETE FROM files WHERE run_id = ?", e)) ||
	    !(fst = cat_stmt(c, S_SET_FILE,
			     "INSERT INTO files (run_id, path, type, ino, size,"
			     " mode, uid, gid, mtime_sec, mtime_nsec, seg_offset,"
			     " seg_length, image_offset, link_target, rdev)"
			     " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
			     e)) ||
	    !(xst = cat_stmt(c, S_SET_EXTENT,
			     "INSERT INTO extents (run_id, file_row, logical,"
			     " physical, length, flags) VALUES (?, ?, ?, ?, ?, ?)",
			     e)))
		goto fail;
	sqlite3_bind_int64(dx, 1, run_id);
	sqlite3_bind_int64(df, 1, run_id);
	if (cat_done(c, dx, "save the backup set", e) < 0 ||
	    cat_done(c, df, "save the backup set", e) < 0)
		goto fail;
	for (size_t i = 0; i < n; i++)
		if (save_entry(c, run_id, entries[i], fst, xst, e) < 0)
			goto fail;
	if (cat_exec(c, "COMMIT", "save the backup set", e) < 0)
		goto fail;
	return 0;
fail:
	sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}
