/* The catalog's obligations: recorded before the action, undone by the run
 * or by `mbackup recover` (see catalog.h). */
#include "orchestrator/catalog.h"
#include "orchestrator/catalog_internal.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { OBL_ADD, OBL_SET, OBL_OPEN, OBL_LEFT, N_SQL };
static const char *const sql[N_SQL] = {
	[OBL_ADD] = "INSERT INTO obligations (run_id, kind, driver, arg, state,"
		    " created, updated)"
		    " VALUES (?1, ?2, ?3, ?4, 'pending', ?5, ?5)",
	[OBL_SET] = "UPDATE obligations SET state = ?, updated = ? WHERE id = ?",
	[OBL_OPEN] = "SELECT o.id, o.run_id, o.kind, o.driver, o.arg, o.state"
		     " FROM obligations o JOIN runs r ON r.id = o.run_id"
		     " WHERE r.status = 'running'"
		     "  AND o.state IN ('pending', 'failed')"
		     " ORDER BY o.id DESC",
	[OBL_LEFT] = "SELECT o.id, o.run_id, o.kind, o.driver, o.arg, o.state"
		     " FROM obligations o JOIN runs r ON r.id = o.run_id"
		     " WHERE r.status <> 'running'"
		     "  AND o.state IN ('pending', 'failed')"
		     " ORDER BY o.id DESC",
};

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
	struct mb_obligation *o = NULL;	/* for the sizes of its fields */
	char now[32];

	/* recover reads them back into fixed fields: refuse, never cut */
	if (!kind || !driver || strlen(kind) >= sizeof(o->kind) ||
	    strlen(driver) >= sizeof(o->driver))
		return mb_fail(e, MB_ERR_INTERNAL, 0,
			       "invalid obligation kind or driver name");
	mb_catalog_now(now, sizeof(now));
	if (cat_do(c, sql, OBL_ADD,
		   CAT_ARGS(CAT_I(run_id), CAT_T(kind), CAT_T(driver),
			    CAT_T(arg ? arg : ""), CAT_T(now)),
		   "record the obligation", e) < 0)
		return -1;
	if (obligation_id)
		*obligation_id = sqlite3_last_insert_rowid(c->db);
	return 0;
}

int mb_catalog_obligation_set(struct mb_catalog *c, int64_t obligation_id,
			      const char *state, struct mb_error *e)
{
	const char *what = "update the obligation";
	char now[32];

	if (!valid_state(state))
		return mb_fail(e, MB_ERR_INTERNAL, 0,
			       "invalid obligation state '%s'",
			       state ? state : "");
	mb_catalog_now(now, sizeof(now));
	if (cat_do(c, sql, OBL_SET,
		   CAT_ARGS(CAT_T(state), CAT_T(now), CAT_I(obligation_id)),
		   what, e) < 0)
		return -1;
	return cat_one_row(c, obligation_id, "obligation", what, e);
}

static void copy_col(char *dst, size_t len, sqlite3_stmt *st, int i)
{
	const unsigned char *s = sqlite3_column_text(st, i);

	snprintf(dst, len, "%s", s ? (const char *)s : "");
}

struct obligations {
	struct mb_obligation *v;
	size_t n, cap;
};

static int add_obligation(sqlite3_stmt *st, void *ctx, struct mb_error *e)
{
	struct obligations *got = ctx;
	struct mb_obligation *nv = cat_grow(got->v, got->n, &got->cap,
					    sizeof(*nv)), *o;
	const unsigned char *arg = sqlite3_column_text(st, 4);

	if (!nv)
		goto nomem;
	got->v = nv;
	o = memset(&nv[got->n], 0, sizeof(*o));
	o->id = sqlite3_column_int64(st, 0);
	o->run_id = sqlite3_column_int64(st, 1);
	copy_col(o->kind, sizeof(o->kind), st, 2);
	copy_col(o->driver, sizeof(o->driver), st, 3);
	copy_col(o->state, sizeof(o->state), st, 5);
	if (!(o->arg = strdup(arg ? (const char *)arg : "")))
		goto nomem;
	got->n++;
	return 0;
nomem:
	return mb_fail(e, MB_ERR_CATALOG, ENOMEM,
		       "unable to read the obligations");
}

static int read_obligations(struct mb_catalog *c, int which, struct mb_obligation **v,
			    size_t *n, struct mb_error *e)
{
	struct obligations got = { 0 };

	*v = NULL;
	*n = 0;
	if (cat_each(c, sql, which, CAT_NO_ARGS, add_obligation, &got,
		     "read the obligations", e) < 0) {
		mb_obligations_free(got.v, got.n);
		return -1;
	}
	*v = got.v;
	*n = got.n;
	return 0;
}

int mb_catalog_obligations_open(struct mb_catalog *c, struct mb_obligation **v,
				size_t *n, struct mb_error *e)
{
	return read_obligations(c, OBL_OPEN, v, n, e);
}

int mb_catalog_obligations_left(struct mb_catalog *c, struct mb_obligation **v,
				size_t *n, struct mb_error *e)
{
	return read_obligations(c, OBL_LEFT, v, n, e);
}

void mb_obligations_free(struct mb_obligation *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i].arg);
	free(v);
}
