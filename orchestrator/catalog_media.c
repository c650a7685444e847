/*
 * Where a run's data went: one image per device, the placement of each
 * item of a set written to several devices (after any failover), and the
 * tape positions (which volume / tape file each image part is on, which
 * record each member starts on), so a single-file restore knows which
 * volume to ask for and how far to space.  See catalog.h.
 */
#include "orchestrator/catalog.h"
#include "orchestrator/catalog_internal.h"

enum { IMAGE_ADD, PLACEMENT_ADD, TAPE_PART_ADD, TAPE_MEMBERS_ADD, IMAGE_COMPRESSED,
       TAPE_MEMBERS_DROP, N_SQL };
static const char *const sql[N_SQL] = {
	[IMAGE_ADD] = "INSERT INTO images (run_id, device, media, bytes, status)"
		      " VALUES (?, ?, ?, ?, ?)",
	[PLACEMENT_ADD] = "INSERT INTO placements (run_id, path, seg_offset,"
			  " seg_length, image_offset, planned, device, part)"
			  " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
	[TAPE_PART_ADD] = "INSERT INTO tape_parts (run_id, device, label,"
			  " volume, file_no, record_size, first_byte)"
			  " VALUES (?, ?, ?, ?, ?, ?, ?)",
	/* each member lies in the last part starting at or before its
	 * header */
	[TAPE_MEMBERS_ADD] =
		"INSERT INTO tape_members (run_id, file_row, device, volume, record)"
		" SELECT f.run_id, f.id, p.device, p.volume,"
		"  (f.image_offset - p.first_byte) / p.record_size"
		" FROM files f JOIN tape_parts p ON p.run_id = f.run_id"
		"  AND p.device = ?2 AND p.first_byte <= f.image_offset"
		" WHERE f.run_id = ?1 AND f.image_offset IS NOT NULL"
		"  AND NOT EXISTS (SELECT 1 FROM tape_parts q"
		"   WHERE q.run_id = p.run_id AND q.device = p.device"
		"   AND q.first_byte > p.first_byte"
		"   AND q.first_byte <= f.image_offset)",
	[IMAGE_COMPRESSED] = "UPDATE images SET compressed_bytes = ?3"
			     " WHERE run_id = ?1 AND device = ?2",
	[TAPE_MEMBERS_DROP] = "DELETE FROM tape_members WHERE run_id = ?1 AND device = ?2",
};

int mb_catalog_image_add(struct mb_catalog *c, int64_t run_id,
			 int device_index, const char *media, uint64_t bytes,
			 const char *status, struct mb_error *e)
{
	return cat_do(c, sql, IMAGE_ADD,
		      CAT_ARGS(CAT_I(run_id), CAT_I(device_index), CAT_T(media),
			       CAT_I(bytes), CAT_T(status)),
		      "record the image", e);
}

struct placements {
	int64_t run_id;
	const struct mb_placement *v;
	size_t n;
};

static int add_placements(struct mb_catalog *c, void *ctx, struct mb_error *e)
{
	const struct placements *s = ctx;

	for (size_t i = 0; i < s->n; i++) {
		const struct mb_placement *p = &s->v[i];

		if (cat_do(c, sql, PLACEMENT_ADD,
			   CAT_ARGS(CAT_I(s->run_id), CAT_B(p->path),
				    CAT_I(p->seg_offset), CAT_I(p->seg_length),
				    CAT_I(p->image_offset), CAT_I(p->planned),
				    CAT_I(p->device), CAT_I(p->part)),
			   "record where an item landed", e) < 0)
			return -1;
	}
	return 0;
}

int mb_catalog_save_placements(struct mb_catalog *c, int64_t run_id,
			       const struct mb_placement *v, size_t n,
			       struct mb_error *e)
{
	struct placements s = { run_id, v, n };

	return cat_tx(c, add_placements, &s, "record the placements", e);
}

struct tape {
	int64_t run_id;
	int device;
	uint32_t record_size;
	const struct mb_catalog_tape_part *parts;
	size_t n;
};

static int add_tape(struct mb_catalog *c, void *ctx, struct mb_error *e)
{
	const struct tape *t = ctx;
	const char *what = "record the tape position";

	for (size_t i = 0; i < t->n; i++) {
		const struct mb_catalog_tape_part *p = &t->parts[i];

		if (cat_do(c, sql, TAPE_PART_ADD,
			   CAT_ARGS(CAT_I(t->run_id), CAT_I(t->device),
				    CAT_T(p->label ? p->label : ""),
				    CAT_I(p->volume), CAT_I(p->file_no),
				    CAT_I(t->record_size), CAT_I(p->first_byte)),
			   what, e) < 0)
			return -1;
	}
	return cat_do(c, sql, TAPE_MEMBERS_ADD,
		      CAT_ARGS(CAT_I(t->run_id), CAT_I(t->device)), what, e);
}

int mb_catalog_tape_add(struct mb_catalog *c, int64_t run_id, int device_index,
			uint32_t record_size,
			const struct mb_catalog_tape_part *parts, size_t n,
			struct mb_error *e)
{
	struct tape t = { run_id, device_index, record_size, parts, n };

	if (record_size == 0 || n == 0)
		return mb_fail(e, MB_ERR_INTERNAL, 0,
			       "no tape position to record for run %lld",
			       (long long)run_id);
	return cat_tx(c, add_tape, &t, "record the tape position", e);
}

struct compressed {
	int64_t run_id;
	int device;
	uint64_t bytes;
};

static int set_compressed(struct mb_catalog *c, void *ctx, struct mb_error *e)
{
	const struct compressed *z = ctx;
	const char *what = "record the compressed size";

	if (cat_do(c, sql, IMAGE_COMPRESSED,
		   CAT_ARGS(CAT_I(z->run_id), CAT_I(z->device), CAT_I(z->bytes)), what, e) < 0)
		return -1;
	return cat_do(c, sql, TAPE_MEMBERS_DROP, CAT_ARGS(CAT_I(z->run_id), CAT_I(z->device)),
		      what, e);
}

int mb_catalog_image_set_compressed(struct mb_catalog *c, int64_t run_id, int device_index,
				    uint64_t bytes, struct mb_error *e)
{
	struct compressed z = { run_id, device_index, bytes };

	return cat_tx(c, set_compressed, &z, "record the compressed size", e);
}
