/*
 * Where each item of a set written to several devices finally landed
 * (after any failover).  The table is additive to schema version 1 and
 * created on first use, so older catalogs and older mbackups are unaffected.
 */
#include "orchestrator/catalog.h"
#include "orchestrator/catalog_internal.h"

#include <sqlite3.h>
#include <string.h>

static const char placements_table[] =
	"CREATE TABLE IF NOT EXISTS placements ("
	" run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
	" path BLOB NOT NULL, seg_offset INTEGER NOT NULL, seg_length INTEGER NOT NULL,"
	" image_offset INTEGER NOT NULL, planned INTEGER NOT NULL,"
	" device INTEGER NOT NULL, part INTEGER NOT NULL)";

static int save_one(struct mb_catalog *c, int64_t run_id, const struct mb_placement *p,
		    struct mb_error *e)
{
	sqlite3_stmt *st = cat_stmt(c, S_PLACE,
		"INSERT INTO placements (run_id, path, seg_offset, seg_length, image_offset,"
		" planned, device, part) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", e);

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, run_id);
	sqlite3_bind_blob(st, 2, p->path, (int)strlen(p->path), SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)p->seg_offset);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)p->seg_length);
	sqlite3_bind_int64(st, 5, (sqlite3_int64)p->image_offset);
	sqlite3_bind_int(st, 6, (int)p->planned);
	sqlite3_bind_int(st, 7, (int)p->device);
	sqlite3_bind_int(st, 8, (int)p->part);
	return cat_done(c, st, "record where an item landed", e);
}

int mb_catalog_save_placements(struct mb_catalog *c, int64_t run_id,
			       const struct mb_placement *v, size_t n,
			       struct mb_error *e)
{
	if (cat_exec(c, placements_table, "create the placements table", e) < 0 ||
	    cat_exec(c, "BEGIN", "record the placements", e) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (save_one(c, run_id, &v[i], e) < 0) {
			cat_exec(c, "ROLLBACK", "record the placements", NULL);
			return -1;
		}
	return cat_exec(c, "COMMIT", "record the placements", e);
}
