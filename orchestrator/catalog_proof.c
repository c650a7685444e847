/*
 * Mirrors proven whole (schema 11, the full passes 12): one row a mirror,
 * the undo context's whole_take / whole_proven (common/obligation.h).
 */
#include "orchestrator/catalog_proof.h"

#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "orchestrator/catalog.h"
#include "orchestrator/catalog_internal.h"

enum { PROOF_GET, PROOF_ANY, PROOF_SET, PROOF_FORGET, N_SQL };
#define PROOF_COLUMNS "full_at, runs_since_full," \
	" CAST(round((julianday('now') - julianday(full_at)) * 86400) AS INTEGER)"
static const char *const sql[N_SQL] = {
	[PROOF_GET] = "SELECT " PROOF_COLUMNS " FROM mirror_proofs WHERE mirror = ? AND id = ?",
	[PROOF_ANY] = "SELECT " PROOF_COLUMNS " FROM mirror_proofs WHERE mirror = ?",
	[PROOF_SET] = "INSERT OR REPLACE INTO mirror_proofs"
		      " (mirror, id, proven_at, full_at, runs_since_full)"
		      " VALUES (?, ?, ?, coalesce(?, ?3), ?)",
	[PROOF_FORGET] = "DELETE FROM mirror_proofs WHERE mirror = ?",
};

struct found {
	bool known;
	struct mb_proof_record *rec;
};

static int record_row(sqlite3_stmt *st, void *ctx, struct mb_error *e)
{
	struct found *f = ctx;
	const char *at = (const char *)sqlite3_column_text(st, 0);

	(void)e;
	f->known = true;
	snprintf(f->rec->full_at, sizeof(f->rec->full_at), "%s", at ? at : "");
	f->rec->runs_since = sqlite3_column_int(st, 1);
	f->rec->full_age_s = at ? sqlite3_column_int64(st, 2) : -1;
	return 0;
}

/* Reads mirror's record (for id, or any id when id is NULL). */
static int get(struct mb_catalog *c, const char *mirror, const char *id, bool *known,
	       struct mb_proof_record *rec, struct mb_error *e)
{
	struct mb_proof_record ignored;
	struct found f = { false, rec ? rec : &ignored };

	*f.rec = (struct mb_proof_record){ .full_age_s = -1 };
	if (cat_each(c, sql, id ? PROOF_GET : PROOF_ANY,
		     id ? CAT_ARGS(CAT_T(mirror), CAT_T(id)) : CAT_ARGS(CAT_T(mirror)), record_row,
		     &f, "read the proofs of the mirrors", e) < 0)
		return -1;
	*known = f.known;
	return 0;
}

int mb_catalog_proof_take(struct mb_catalog *c, const char *mirror, const char *id,
			  bool *known, struct mb_proof_record *rec, struct mb_error *e)
{
	*known = false;
	if (get(c, mirror, id, known, rec, e) < 0)
		return -1;
	return mb_catalog_proof_forget(c, mirror, e);
}

int mb_catalog_proof_get(struct mb_catalog *c, const char *mirror, bool *known,
			 struct mb_proof_record *rec, struct mb_error *e)
{
	return get(c, mirror, NULL, known, rec, e);
}

int mb_catalog_proof_set(struct mb_catalog *c, const char *mirror, const char *id,
			 const struct mb_proof_record *rec, struct mb_error *e)
{
	char now[32];

	mb_catalog_now(now, sizeof(now));
	return cat_do(c, sql, PROOF_SET,
		      CAT_ARGS(CAT_T(mirror), CAT_T(id), CAT_T(now),
			       CAT_T(rec && rec->full_at[0] ? rec->full_at : NULL),
			       CAT_I(rec ? rec->runs_since : 0)),
		      "record the mirror proven whole", e);
}

int mb_catalog_proof_forget(struct mb_catalog *c, const char *mirror, struct mb_error *e)
{
	return cat_do(c, sql, PROOF_FORGET, CAT_ARGS(CAT_T(mirror)),
		      "forget the mirror's proof", e);
}

static bool whole_take(void *arg, const char *mirror, const char *id,
		       struct mb_proof_record *rec)
{
	struct mb_error e = { 0 };
	bool known;

	if (mb_catalog_proof_take(arg, mirror, id, &known, rec, &e) < 0) {
		mb_warn("%s", e.msg);
		return false;
	}
	return known;
}

static void whole_proven(void *arg, const char *mirror, const char *id,
			 const struct mb_proof_record *rec)
{
	struct mb_error e = { 0 };

	if (mb_catalog_proof_set(arg, mirror, id, rec, &e) < 0)
		mb_warn("%s", e.msg);
}

void mb_catalog_proof_ctx(struct mb_catalog *c, struct mb_undo_ctx *ctx)
{
	ctx->whole_take = c ? whole_take : NULL;
	ctx->whole_proven = c ? whole_proven : NULL;
	ctx->whole_arg = c;
}
