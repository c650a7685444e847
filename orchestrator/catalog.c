/* The SQLite catalog (see catalog.h): opening it, and the statements every
 * catalog file runs through.  Every value goes through a bound parameter;
 * statements are prepared once per connection, per (file table, index),
 * and reused.  The tables themselves live in catalog_schema.c, the rows in
 * catalog_runs.c, catalog_obligations.c, catalog_set.c, catalog_media.c,
 * and `mbackup list` in catalog_list.c. */
#include "orchestrator/catalog.h"
#include "orchestrator/catalog_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/path.h"

int cat_fail(struct mb_catalog *c, const char *what, struct mb_error *e)
{
	int rc = sqlite3_extended_errcode(c->db);

	mb_fail(e, MB_ERR_CATALOG, 0, "unable to %s in catalog '%s': %s", what,
		c->path, sqlite3_errmsg(c->db));
	if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED)
		mb_hint(e, "another process keeps the catalog busy");
	return -1;
}

int cat_exec(struct mb_catalog *c, const char *sql, const char *what,
	     struct mb_error *e)
{
	if (sqlite3_exec(c->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return cat_fail(c, what, e);
	return 0;
}

/* The cache slot of a file's table: found by the table's address, or the
 * first free one; NULL if every slot holds another table. */
static struct cat_cache *cache_of(struct mb_catalog *c, const char *const *sql)
{
	for (int k = 0; k < CAT_TABLES; k++) {
		struct cat_cache *t = &c->cache[k];

		if (t->sql == sql || !t->sql) {
			t->sql = sql;
			return t;
		}
	}
	return NULL;
}

static int bind_all(sqlite3_stmt *st, const struct cat_val *args)
{
	int rc = SQLITE_OK;

	for (int i = 0; rc == SQLITE_OK && args[i].kind != CAT_END; i++) {
		const struct cat_val *a = &args[i];

		if (a->kind == CAT_INT)
			rc = sqlite3_bind_int64(st, i + 1, a->i);
		else if (!a->s)
			rc = sqlite3_bind_null(st, i + 1);
		else if (a->kind == CAT_TEXT)
			rc = sqlite3_bind_text(st, i + 1, a->s, -1, SQLITE_STATIC);
		else
			rc = sqlite3_bind_blob(st, i + 1, a->s, (int)strlen(a->s),
					       SQLITE_STATIC);
	}
	return rc == SQLITE_OK ? 0 : -1;
}

/* sql[i], prepared on first use, bound to args. */
static sqlite3_stmt *stmt(struct mb_catalog *c, const char *const *sql, int i,
			  const struct cat_val *args, const char *what,
			  struct mb_error *e)
{
	struct cat_cache *t = cache_of(c, sql);
	sqlite3_stmt **st;

	if (!t || i < 0 || i >= CAT_TABLE_STMTS) {
		mb_fail(e, MB_ERR_INTERNAL, 0, "catalog statement %d of table %p"
			" does not fit the cache", i, (const void *)sql);
		return NULL;
	}
	st = &t->st[i];
	if (!*st && sqlite3_prepare_v3(c->db, sql[i], -1,
				       SQLITE_PREPARE_PERSISTENT, st,
				       NULL) != SQLITE_OK) {
		cat_fail(c, "prepare a statement", e);
		return NULL;
	}
	if (bind_all(*st, args) < 0) {
		cat_fail(c, what, e);
		sqlite3_clear_bindings(*st);
		return NULL;
	}
	return *st;
}

/* The one stepping loop: every row to row(), then reset and unbound (the
 * bound values are the caller's, SQLITE_STATIC). */
int cat_each(struct mb_catalog *c, const char *const *sql, int i,
	     const struct cat_val *args, cat_row_fn *row, void *ctx,
	     const char *what, struct mb_error *e)
{
	sqlite3_stmt *st = stmt(c, sql, i, args, what, e);
	int rc, failed = 0;

	if (!st)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if (row && (failed = row(st, ctx, e)) < 0)
			break;
	if (!failed && rc != SQLITE_DONE)
		failed = cat_fail(c, what, e);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return failed;
}

int cat_do(struct mb_catalog *c, const char *const *sql, int i,
	   const struct cat_val *args, const char *what, struct mb_error *e)
{
	return cat_each(c, sql, i, args, NULL, NULL, what, e);
}

int cat_tx(struct mb_catalog *c, cat_body_fn *body, void *ctx,
	   const char *what, struct mb_error *e)
{
	if (cat_exec(c, "BEGIN IMMEDIATE", what, e) < 0)
		return -1;
	if (body(c, ctx, e) < 0 || cat_exec(c, "COMMIT", what, e) < 0) {
		sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	return 0;
}

int cat_one_row(struct mb_catalog *c, int64_t id, const char *noun,
		const char *what, struct mb_error *e)
{
	if (sqlite3_changes(c->db) == 0)
		return mb_fail(e, MB_ERR_NOT_FOUND, 0,
			       "unable to %s in catalog '%s': no %s %lld",
			       what, c->path, noun, (long long)id);
	return 0;
}

void *cat_grow(void *v, size_t n, size_t *cap, size_t size)
{
	size_t want = *cap ? *cap * 2 : 16;
	void *nv;

	if (n < *cap)
		return v;
	if (!(nv = realloc(v, want * size)))
		return NULL;
	*cap = want;
	return nv;
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

/*
 * WAL with synchronous=FULL: a commit is on disk before it returns, which
 * an obligation needs (it must be durable before the action it guards);
 * the cost is one fsync of the WAL per commit, well under a millisecond on
 * the disks measured (see the report), so one setting serves every table.
 * A page cache of 256 KiB, not SQLite's 2 MB: the biggest write, a run's
 * set (mb_catalog_save_set), appends rows in rowid order and touches the
 * right edge of each B-tree only, and the 2 MB it filled stayed allocated
 * through the stream, at the backup's peak (bench/files.md).
 */
static int configure(struct mb_catalog *c, struct mb_error *e)
{
	sqlite3_busy_timeout(c->db, 5000);
	if (sqlite3_exec(c->db, "PRAGMA journal_mode = WAL; "
			 "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; "
			 "PRAGMA cache_size = -256",
			 NULL, NULL, NULL) != SQLITE_OK)
		return mb_fail(e, MB_ERR_CATALOG, 0,
			       "unable to open catalog '%s': %s", c->path,
			       sqlite3_errmsg(c->db));
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
	if (configure(c, e) < 0 || cat_migrate(c, e) < 0)
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
	for (int k = 0; k < CAT_TABLES; k++)
		for (int i = 0; i < CAT_TABLE_STMTS; i++)
			sqlite3_finalize(c->cache[k].st[i]);
	sqlite3_close(c->db);
	free(c->path);
	free(c);
}
