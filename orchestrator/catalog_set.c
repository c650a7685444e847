/* The catalog's copy of a run's final backup set: its files with their
 * image offsets, and their extents (see catalog.h). */
#include "orchestrator/catalog.h"
#include "orchestrator/catalog_internal.h"

enum { DEL_EXTENTS, DEL_FILES, ADD_FILE, ADD_EXTENT, N_SQL };
static const char *const sql[N_SQL] = {
	[DEL_EXTENTS] = "DELETE FROM extents WHERE run_id = ?",
	[DEL_FILES] = "DELETE FROM files WHERE run_id = ?",
	[ADD_FILE] = "INSERT INTO files (run_id, path, type, ino, size, mode,"
		     " uid, gid, mtime_sec, mtime_nsec, seg_offset, seg_length,"
		     " image_offset, link_target, rdev)"
		     " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	[ADD_EXTENT] = "INSERT INTO extents (run_id, file_row, logical,"
		       " physical, length, flags) VALUES (?, ?, ?, ?, ?, ?)",
};

static const char what[] = "save the backup set";

/* One files row and its extents. */
static int save_entry(struct mb_catalog *c, int64_t run_id,
		      const struct mb_entry *x, struct mb_error *e)
{
	char type[2] = { x->type, '\0' };
	int64_t row;

	if (cat_do(c, sql, ADD_FILE,
		   CAT_ARGS(CAT_I(run_id), CAT_B(x->path), CAT_T(type),
			    CAT_I(x->ino), CAT_I(x->size), CAT_I(x->mode),
			    CAT_I(x->uid), CAT_I(x->gid), CAT_I(x->mtime_sec),
			    CAT_I(x->mtime_nsec), CAT_I(x->seg_offset),
			    CAT_I(x->seg_length), CAT_I(x->image_offset),
			    CAT_B(mb_entry_link(x)), CAT_I(mb_entry_rdev(x))),
		   what, e) < 0)
		return -1;
	row = sqlite3_last_insert_rowid(c->db);
	for (size_t k = 0; k < x->n_extents; k++) {
		const struct mb_extent *m = &x->extents[k];

		if (cat_do(c, sql, ADD_EXTENT,
			   CAT_ARGS(CAT_I(run_id), CAT_I(row), CAT_I(m->logical),
				    CAT_I(m->physical), CAT_I(m->length),
				    CAT_I(m->flags)),
			   what, e) < 0)
			return -1;
	}
	return 0;
}

struct set {
	int64_t run_id;
	struct mb_entry *const *v;
	size_t n;
};

static int replace_set(struct mb_catalog *c, void *ctx, struct mb_error *e)
{
	const struct set *s = ctx;

	if (cat_do(c, sql, DEL_EXTENTS, CAT_ARGS(CAT_I(s->run_id)), what, e) < 0 ||
	    cat_do(c, sql, DEL_FILES, CAT_ARGS(CAT_I(s->run_id)), what, e) < 0)
		return -1;
	for (size_t i = 0; i < s->n; i++)
		if (save_entry(c, s->run_id, s->v[i], e) < 0)
			return -1;
	return 0;
}

/* Replaces the run's set in one transaction: one commit, one fsync. */
int mb_catalog_save_set(struct mb_catalog *c, int64_t run_id,
			struct mb_entry *const *entries, size_t n,
			struct mb_error *e)
{
	struct set s = { run_id, entries, n };

	return cat_tx(c, replace_set, &s, what, e);
}
