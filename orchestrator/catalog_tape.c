/*
 * The catalog's tape tables (schema 2): where each image went on tape and
 * on which volume / record each member starts, so a single-file restore
 * knows which volume to ask for and how far to space.
 */
#include "orchestrator/catalog.h"
#include "orchestrator/catalog_internal.h"

const char *const mb_catalog_schema_tape[] = {
	"CREATE TABLE tape_parts ("
	" run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
	" device INTEGER NOT NULL, label TEXT NOT NULL, volume INTEGER NOT NULL,"
	" file_no INTEGER NOT NULL, record_size INTEGER NOT NULL,"
	" first_byte INTEGER NOT NULL)",
	"CREATE INDEX tape_parts_run ON tape_parts (run_id)",
	/* record: counted from the start of the tape file holding the part */
	"CREATE TABLE tape_members ("
	" run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
	" file_row INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,"
	" device INTEGER NOT NULL, volume INTEGER NOT NULL,"
	" record INTEGER NOT NULL)",
	"CREATE INDEX tape_members_run ON tape_members (run_id, file_row)",
	NULL
};

static int exec(struct mb_catalog *c, const char *sql, struct mb_error *e)
{
	if (sqlite3_exec(c->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return cat_fail(c, "record the tape position", e);
	return 0;
}

static int add_part(struct mb_catalog *c, int64_t run_id, int device, uint32_t record_size,
		    const struct mb_catalog_tape_part *p, struct mb_error *e)
{
	sqlite3_stmt *st = cat_stmt(c, S_TAPE_PART,
		"INSERT INTO tape_parts (run_id, device, label, volume, file_no,"
		" record_size, first_byte) VALUES (?, ?, ?, ?, ?, ?, ?)", e);
	int rc;

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, run_id);
	sqlite3_bind_int(st, 2, device);
	sqlite3_bind_text(st, 3, p->label ? p->label : "", -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 4, p->volume);
	sqlite3_bind_int64(st, 5, p->file_no);
	sqlite3_bind_int64(st, 6, record_size);
	sqlite3_bind_int64(st, 7, (sqlite3_int64)p->first_byte);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : cat_fail(c, "record the tape position", e);
}

/* Each member lies in the last part starting at or before its header. */
static int add_members(struct mb_catalog *c, int64_t run_id, int device,
		       struct mb_error *e)
{
	sqlite3_stmt *st = cat_stmt(c, S_TAPE_MEMBERS,
		"INSERT INTO tape_members (run_id, file_row, device, volume, record)"
		" SELECT f.run_id, f.id, p.device, p.volume,"
		"  (f.image_offset - p.first_byte) / p.record_size"
		" FROM files f JOIN tape_parts p ON p.run_id = f.run_id"
		"  AND p.device = ?2 AND p.first_byte <= f.image_offset"
		" WHERE f.run_id = ?1 AND f.image_offset IS NOT NULL"
		"  AND NOT EXISTS (SELECT 1 FROM tape_parts q WHERE q.run_id = p.run_id"
		"   AND q.device = p.device AND q.first_byte > p.first_byte"
		"   AND q.first_byte <= f.image_offset)", e);
	int rc;

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, run_id);
	sqlite3_bind_int(st, 2, device);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : cat_fail(c, "record the tape position", e);
}

int mb_catalog_tape_add(struct mb_catalog *c, int64_t run_id, int device_index,
			uint32_t record_size, const struct mb_catalog_tape_part *parts,
			size_t n, struct mb_error *e)
{
	if (record_size == 0 || n == 0)
		return mb_fail(e, MB_ERR_INTERNAL, 0, "no tape position to record for run %lld",
			       (long long)run_id);
	if (exec(c, "BEGIN IMMEDIATE", e) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (add_part(c, run_id, device_index, record_size, &parts[i], e) < 0)
			goto fail;
	if (add_members(c, run_id, device_index, e) < 0 || exec(c, "COMMIT", e) < 0)
		goto fail;
	return 0;
fail:
	sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}
