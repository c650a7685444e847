/*
 * Mirrors proven whole (schema 11): one row a mirror, the undo context's
 * whole_take / whole_proven (common/obligation.h).
 */
#include "orchestrator/catalog_proof.h"

#include "common/log.h"
#include "orchestrator/catalog.h"
#include "orchestrator/catalog_internal.h"

enum { PROOF_GET, PROOF_SET, PROOF_FORGET, N_SQL };
static const char *const sql[N_SQL] = {
	[PROOF_GET] = "SELECT count(*) FROM mirror_proofs WHERE mirror = ? AND id = ?",
	[PROOF_SET] = "INSERT OR REPLACE INTO mirror_proofs (mirror, id, proven_at)"
		      " VALUES (?, ?, ?)",
	[PROOF_FORGET] = "DELETE FROM mirror_proofs WHERE mirror = ?",
};

static int count_row(sqlite3_stmt *st, void *ctx, struct mb_error *e)
{
	(void)e;
	*(bool *)ctx = sqlite3_column_int64(st, 0) > 0;
	return 0;
}

int mb_catalog_proof_take(struct mb_catalog *c, const char *mirror, const char *id,
			  bool *known, struct mb_error *e)
{
	*known = false;
	if (cat_each(c, sql, PROOF_GET, CAT_ARGS(CAT_T(mirror), CAT_T(id)), count_row, known,
		     "read the proofs of the mirrors", e) < 0)
		return -1;
	return mb_catalog_proof_forget(c, mirror, e);
}

int mb_catalog_proof_set(struct mb_catalog *c, const char *mirror, const char *id,
			 struct mb_error *e)
{
	char now[32];

	mb_catalog_now(now, sizeof(now));
	return cat_do(c, sql, PROOF_SET, CAT_ARGS(CAT_T(mirror), CAT_T(id), CAT_T(now)),
		      "record the mirror proven whole", e);
}

int mb_catalog_proof_forget(struct mb_catalog *c, const char *mirror, struct mb_error *e)
{
	return cat_do(c, sql, PROOF_FORGET, CAT_ARGS(CAT_T(mirror)),
		      "forget the mirror's proof", e);
}

static bool whole_take(void *arg, const char *mirror, const char *id)
{
	struct mb_error e = { 0 };
	bool known;

	if (mb_catalog_proof_take(arg, mirror, id, &known, &e) < 0) {
		mb_warn("%s", e.msg);
		return false;
	}
	return known;
}

static void whole_proven(void *arg, const char *mirror, const char *id)
{
	struct mb_error e = { 0 };

	if (mb_catalog_proof_set(arg, mirror, id, &e) < 0)
		mb_warn("%s", e.msg);
}

void mb_catalog_proof_ctx(struct mb_catalog *c, struct mb_undo_ctx *ctx)
{
	ctx->whole_take = c ? whole_take : NULL;
	ctx->whole_proven = c ? whole_proven : NULL;
	ctx->whole_arg = c;
}
