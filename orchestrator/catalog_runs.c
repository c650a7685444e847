/* The catalog's runs and their phases (see catalog.h). */
#include "orchestrator/catalog.h"
#include "common/clock.h"
#include "orchestrator/catalog_internal.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { RUN_BEGIN, RUN_END, RUN_WINDOW, RUN_TOTALS, RUNS_RUNNING,
       PHASE_BEGIN, PHASE_END, PHASE_RECORD, RUN_FACT, POINTS, POINT_FACTS,
       POINT_MEDIA, N_SQL };
static const char *const sql[N_SQL] = {
	[RUN_BEGIN] = "INSERT INTO runs (verb, status, started, pid, host, config)"
		      " VALUES (?, 'running', ?, ?, ?, ?)",
	[RUN_END] = "UPDATE runs SET status = ?, finished = ?, exit_code = ?,"
		    " error = ? WHERE id = ?",
	[RUN_WINDOW] = "UPDATE runs SET window_ms = ? WHERE id = ?",
	[RUN_TOTALS] = "UPDATE runs SET files = ?, bytes = ? WHERE id = ?",
	[RUNS_RUNNING] = "SELECT id FROM runs WHERE status = 'running'"
			 " ORDER BY id",
	[PHASE_BEGIN] = "INSERT INTO phases (run_id, name, started, status)"
			" VALUES (?, ?, ?, 'running')",
	/* ?4: the monotonic duration if this connection began the phase */
	[PHASE_END] = "UPDATE phases SET finished = ?1, status = ?2, detail = ?3,"
		      " duration_ms = coalesce(?4, CAST(round((julianday(?1) -"
		      "  julianday(started)) * 86400000) AS INTEGER))"
		      " WHERE rowid = (SELECT max(rowid) FROM phases"
		      "  WHERE run_id = ?5 AND name = ?6 AND finished IS NULL)",
	[PHASE_RECORD] = "INSERT INTO phases (run_id, name, started, finished,"
			 " duration_ms, status, detail)"
			 " VALUES (?, ?, ?, ?, ?, ?, ?)",
	[RUN_FACT] = "INSERT OR REPLACE INTO run_facts (run_id, key, value)"
		     " VALUES (?, ?, ?)",
	/* complete backups that reported facts, newest first */
	[POINTS] = "SELECT id, finished, coalesce(config, '') FROM runs"
		   " WHERE status = 'complete' AND verb = 'backup' AND expired IS NULL"
		   " AND id IN (SELECT run_id FROM run_facts) ORDER BY id DESC",
	[POINT_FACTS] = "SELECT key, value FROM run_facts WHERE run_id = ?"
			" ORDER BY key",
	[POINT_MEDIA] = "SELECT media FROM images WHERE run_id = ?"
			" AND status = 'complete' ORDER BY device, rowid",
};

int mb_catalog_run_begin(struct mb_catalog *c, const char *verb,
			 const char *config_json, int64_t *run_id,
			 struct mb_error *e)
{
	char now[32], host[256] = "";

	mb_catalog_now(now, sizeof(now));
	gethostname(host, sizeof(host) - 1);
	if (cat_do(c, sql, RUN_BEGIN,
		   CAT_ARGS(CAT_T(verb), CAT_T(now), CAT_I(getpid()),
			    CAT_T(host), CAT_T(config_json)),
		   "record the run", e) < 0)
		return -1;
	*run_id = sqlite3_last_insert_rowid(c->db);
	return 0;
}

/* One UPDATE of run `id`, which must exist. */
static int update_run(struct mb_catalog *c, int64_t id, int i,
		      const struct cat_val *args, const char *what,
		      struct mb_error *e)
{
	if (cat_do(c, sql, i, args, what, e) < 0)
		return -1;
	return cat_one_row(c, id, "run", what, e);
}

int mb_catalog_run_end(struct mb_catalog *c, int64_t run_id,
		       const char *status, int exit_code, const char *error,
		       struct mb_error *e)
{
	char now[32];

	if (!status || (strcmp(status, "complete") && strcmp(status, "failed")))
		return mb_fail(e, MB_ERR_INTERNAL, 0,
			       "invalid run status '%s'", status ? status : "");
	mb_catalog_now(now, sizeof(now));
	return update_run(c, run_id, RUN_END,
			  CAT_ARGS(CAT_T(status), CAT_T(now), CAT_I(exit_code),
				   CAT_T(error), CAT_I(run_id)),
			  "end the run", e);
}

int mb_catalog_run_set_window(struct mb_catalog *c, int64_t run_id,
			      int64_t window_ms, struct mb_error *e)
{
	return update_run(c, run_id, RUN_WINDOW,
			  CAT_ARGS(CAT_I(window_ms), CAT_I(run_id)),
			  "record the window", e);
}

int mb_catalog_run_set_totals(struct mb_catalog *c, int64_t run_id,
			      uint64_t files, uint64_t bytes,
			      struct mb_error *e)
{
	return update_run(c, run_id, RUN_TOTALS,
			  CAT_ARGS(CAT_I(files), CAT_I(bytes), CAT_I(run_id)),
			  "record the totals", e);
}

struct ids {
	int64_t *v;
	size_t n, cap;
};

static int add_id(sqlite3_stmt *st, void *ctx, struct mb_error *e)
{
	struct ids *ids = ctx;
	int64_t *nv = cat_grow(ids->v, ids->n, &ids->cap, sizeof(*nv));

	if (!nv)
		return mb_fail(e, MB_ERR_CATALOG, ENOMEM,
			       "unable to read the runs");
	ids->v = nv;
	ids->v[ids->n++] = sqlite3_column_int64(st, 0);
	return 0;
}

int mb_catalog_runs_running(struct mb_catalog *c, int64_t **ids, size_t *n,
			    struct mb_error *e)
{
	struct ids got = { 0 };

	*ids = NULL;
	*n = 0;
	if (cat_each(c, sql, RUNS_RUNNING, CAT_NO_ARGS, add_id, &got,
		     "read the runs", e) < 0) {
		free(got.v);
		return -1;
	}
	*ids = got.v;
	*n = got.n;
	return 0;
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

	mb_catalog_now(now, sizeof(now));
	if (cat_do(c, sql, PHASE_BEGIN,
		   CAT_ARGS(CAT_I(run_id), CAT_T(phase), CAT_T(now)),
		   "record the phase", e) < 0)
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
	struct cat_val took = CAT_T(NULL);	/* NULL: not known here */

	mb_catalog_now(now, sizeof(now));
	if (slot) {
		took = CAT_I(mb_now_ms() - slot->start_ms);
		memset(slot, 0, sizeof(*slot));
	}
	if (cat_do(c, sql, PHASE_END,
		   CAT_ARGS(CAT_T(now), CAT_T(status), CAT_T(detail), took,
			    CAT_I(run_id), CAT_T(phase)),
		   "record the end of the phase", e) < 0)
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
	return cat_do(c, sql, PHASE_RECORD,
		      CAT_ARGS(CAT_I(run_id), CAT_T(phase), CAT_T(started),
			       CAT_T(finished), CAT_I(duration_ms),
			       CAT_T(status ? status : "ok"), CAT_T(detail)),
		      "record the phase", e);
}

int mb_catalog_run_set_fact(struct mb_catalog *c, int64_t run_id, const char *key,
			    const char *value, struct mb_error *e)
{
	return cat_do(c, sql, RUN_FACT, CAT_ARGS(CAT_I(run_id), CAT_T(key), CAT_T(value)),
		      "record the facts of the run", e);
}

struct points {
	struct mb_catalog_point *v;
	size_t n, cap;
};

static int add_point(sqlite3_stmt *st, void *ctx, struct mb_error *e)
{
	struct points *ps = ctx;
	struct mb_catalog_point *nv = cat_grow(ps->v, ps->n, &ps->cap, sizeof(*nv)), *p;

	if (!nv)
		return mb_fail(e, MB_ERR_CATALOG, ENOMEM, "unable to read the backups");
	ps->v = nv;
	p = memset(&ps->v[ps->n++], 0, sizeof(*p));
	p->run_id = sqlite3_column_int64(st, 0);
	snprintf(p->finished, sizeof(p->finished), "%s", sqlite3_column_text(st, 1) ?: (const unsigned char *)"");
	if (!(p->config = strdup((const char *)sqlite3_column_text(st, 2))))
		return mb_fail(e, MB_ERR_CATALOG, ENOMEM, "unable to read the backups");
	return 0;
}

static int add_fact(sqlite3_stmt *st, void *ctx, struct mb_error *e)
{
	struct mb_catalog_point *p = ctx;
	struct mb_fact *f;

	if (p->n_facts == MB_FACTS_MAX)
		return 0;
	f = &p->facts[p->n_facts++];
	snprintf(f->key, sizeof(f->key), "%s", sqlite3_column_text(st, 0));
	snprintf(f->value, sizeof(f->value), "%s", sqlite3_column_text(st, 1));
	return 0;
}

static int add_media(sqlite3_stmt *st, void *ctx, struct mb_error *e)
{
	struct mb_catalog_point *p = ctx;
	size_t cap = p->n_media;	/* grown one at a time: a few devices */
	char **nv = cat_grow(p->media, p->n_media, &cap, sizeof(*nv));

	if (!nv)
		return mb_fail(e, MB_ERR_CATALOG, ENOMEM, "unable to read the backups");
	p->media = nv;
	if (!(p->media[p->n_media] = strdup((const char *)sqlite3_column_text(st, 0))))
		return mb_fail(e, MB_ERR_CATALOG, ENOMEM, "unable to read the backups");
	p->n_media++;
	return 0;
}

int mb_catalog_points(struct mb_catalog *c, struct mb_catalog_point **v, size_t *n,
		      struct mb_error *e)
{
	struct points got = { 0 };
	const char *what = "read the backups";
	int rc = cat_each(c, sql, POINTS, CAT_NO_ARGS, add_point, &got, what, e);

	for (size_t i = 0; rc == 0 && i < got.n; i++) {
		struct mb_catalog_point *p = &got.v[i];

		if (cat_each(c, sql, POINT_FACTS, CAT_ARGS(CAT_I(p->run_id)), add_fact, p,
			     what, e) < 0 ||
		    cat_each(c, sql, POINT_MEDIA, CAT_ARGS(CAT_I(p->run_id)), add_media, p,
			     what, e) < 0)
			rc = -1;
	}
	if (rc < 0) {
		mb_catalog_points_free(got.v, got.n);
		got.v = NULL;
		got.n = 0;
	}
	*v = got.v;
	*n = got.n;
	return rc;
}

void mb_catalog_points_free(struct mb_catalog_point *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++) {
		for (size_t k = 0; k < v[i].n_media; k++)
			free(v[i].media[k]);
		free(v[i].media);
		free(v[i].config);
	}
	free(v);
}
