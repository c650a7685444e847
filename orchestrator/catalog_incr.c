/* The catalog's backups and block maps (see catalog_incr.h).  Block
 * hashes are stored as one BLOB per file, 8 bytes a block, little-endian. */
#include "orchestrator/catalog_incr.h"
#include "orchestrator/catalog_internal.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

enum { ADD_BACKUP, GET_BACKUP, NEWEST, MEDIA, DEL_MAPS, LOAD_MAPS, ROUTES, COPY_MAPS, N_SQL };
static const char *const sql[N_SQL] = {
	[ADD_BACKUP] = "INSERT OR REPLACE INTO backups (run_id, kind, base_id, chain,"
		       " block_size, bytes, changed_files, changed_bytes, point_id)"
		       " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
	[GET_BACKUP] = "SELECT b.run_id, b.kind, coalesce(b.base_id, 0), b.chain,"
		       " b.block_size, b.bytes, b.changed_files, b.changed_bytes, r.status,"
		       " b.point_id"
		       " FROM backups b JOIN runs r ON r.id = b.run_id WHERE b.run_id = ?",
	[NEWEST] = "SELECT b.run_id FROM backups b JOIN runs r ON r.id = b.run_id"
		   " WHERE r.status = 'complete'"
		   " AND (b.point_id = b.run_id OR b.kind = 'consolidated')"
		   " ORDER BY b.point_id DESC, b.run_id DESC LIMIT 1",
	[MEDIA] = "SELECT media FROM images WHERE run_id = ? AND status = 'complete'"
		  " ORDER BY device",
	[DEL_MAPS] = "DELETE FROM block_maps WHERE run_id = ?",
	[LOAD_MAPS] = "SELECT path, size, block_size, file_hash, hashes, type FROM block_maps"
		      " WHERE run_id = ? ORDER BY path",
	/* the cost of a route: the image bytes of every backup of its chain
	 * (a chain is "1,4,7": matched as ",1,4,7," contains ",id,") */
	[ROUTES] = "SELECT b.run_id, (SELECT coalesce(sum(x.bytes), 0) FROM backups x"
		   "  WHERE ',' || b.chain || ',' LIKE '%,' || x.run_id || ',%') AS cost"
		   " FROM backups b JOIN runs r ON r.id = b.run_id"
		   " WHERE r.status = 'complete' AND b.point_id = ? ORDER BY cost, b.run_id",
	[COPY_MAPS] = "INSERT INTO block_maps (run_id, path, type, size, block_size, file_hash,"
		      " hashes) SELECT ?, path, type, size, block_size, file_hash, hashes"
		      " FROM block_maps WHERE run_id = ?",
};
#define ADD_MAP "INSERT INTO block_maps (run_id, path, size, block_size, file_hash," \
		" hashes, type) VALUES (?, ?, ?, ?, ?, ?, ?)"

void mb_backup_rec_free(struct mb_backup_rec *b)
{
	free(b->chain);
	b->chain = NULL;
}

int mb_catalog_backup_add(struct mb_catalog *c, const struct mb_backup_rec *b,
			  struct mb_error *e)
{
	return cat_do(c, sql, ADD_BACKUP,
		      CAT_ARGS(CAT_I(b->run_id), CAT_T(b->kind),
			       b->base_id ? CAT_I(b->base_id) : CAT_T(NULL), CAT_T(b->chain),
			       CAT_I(b->block_size), CAT_I(b->bytes), CAT_I(b->changed_files),
			       CAT_I(b->changed_bytes), CAT_I(b->point_id ? b->point_id : b->run_id)),
		      "record the backup", e);
}

static int get_row(sqlite3_stmt *st, void *ctx, struct mb_error *e)
{
	struct mb_backup_rec *b = ctx;
	const char *chain = (const char *)sqlite3_column_text(st, 3);

	b->run_id = sqlite3_column_int64(st, 0);
	snprintf(b->kind, sizeof(b->kind), "%s", (const char *)sqlite3_column_text(st, 1));
	b->base_id = sqlite3_column_int64(st, 2);
	if (!(b->chain = strdup(chain ? chain : "")))
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to read the backup");
	b->block_size = (uint32_t)sqlite3_column_int64(st, 4);
	b->bytes = (uint64_t)sqlite3_column_int64(st, 5);
	b->changed_files = (uint64_t)sqlite3_column_int64(st, 6);
	b->changed_bytes = (uint64_t)sqlite3_column_int64(st, 7);
	snprintf(b->status, sizeof(b->status), "%s", (const char *)sqlite3_column_text(st, 8));
	b->point_id = sqlite3_column_int64(st, 9);
	return 0;
}

int mb_catalog_backup_get(struct mb_catalog *c, int64_t id, struct mb_backup_rec *b,
			  struct mb_error *e)
{
	memset(b, 0, sizeof(*b));
	if (cat_each(c, sql, GET_BACKUP, CAT_ARGS(CAT_I(id)), get_row, b, "read the backup", e) < 0)
		return -1;
	if (!b->chain)
		return mb_fail(e, MB_ERR_NOT_FOUND, 0, "no backup %lld in catalog '%s'",
			       (long long)id, c->path);
	return 0;
}

static int id_row(sqlite3_stmt *st, void *ctx, struct mb_error *e)
{
	*(int64_t *)ctx = sqlite3_column_int64(st, 0);
	return 0;
}

int mb_catalog_backup_newest(struct mb_catalog *c, int64_t *id, struct mb_error *e)
{
	*id = 0;
	if (cat_each(c, sql, NEWEST, CAT_NO_ARGS, id_row, id, "find the newest backup", e) < 0)
		return -1;
	if (*id == 0) {
		mb_fail(e, MB_ERR_NOT_FOUND, 0, "no complete backup in catalog '%s' to be the base "
			"of an incremental", c->path);
		mb_hint(e, "take a full backup first (without --incremental)");
		return -1;
	}
	return 0;
}

struct media_rows {
	char **v;
	size_t n, cap;
};

static int media_row(sqlite3_stmt *st, void *ctx, struct mb_error *e)
{
	struct media_rows *m = ctx;
	char **v = cat_grow(m->v, m->n, &m->cap, sizeof(char *));

	if (!v || !(v[m->n] = strdup((const char *)sqlite3_column_text(st, 0)))) {
		if (v)
			m->v = v;
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to read the images");
	}
	m->v = v;
	m->n++;
	return 0;
}

int mb_catalog_backup_media(struct mb_catalog *c, int64_t id, char ***media, size_t *n,
			    struct mb_error *e)
{
	struct media_rows m = { 0 };
	int rc = cat_each(c, sql, MEDIA, CAT_ARGS(CAT_I(id)), media_row, &m, "read the images", e);

	if (rc < 0) {
		for (size_t i = 0; i < m.n; i++)
			free(m.v[i]);
		free(m.v);
		return -1;
	}
	*media = m.v;
	*n = m.n;
	return 0;
}

struct id_rows {
	int64_t *v;
	size_t n, cap;
};

static int route_row(sqlite3_stmt *st, void *ctx, struct mb_error *e)
{
	struct id_rows *r = ctx;
	int64_t *v = cat_grow(r->v, r->n, &r->cap, sizeof(*v));

	if (!v)
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to read the backups");
	r->v = v;
	r->v[r->n++] = sqlite3_column_int64(st, 0);
	return 0;
}

int mb_catalog_backup_routes(struct mb_catalog *c, int64_t point, int64_t **ids, size_t *n,
			     struct mb_error *e)
{
	struct id_rows r = { 0 };

	if (cat_each(c, sql, ROUTES, CAT_ARGS(CAT_I(point)), route_row, &r, "read the backups",
		     e) < 0) {
		free(r.v);
		return -1;
	}
	*ids = r.v;
	*n = r.n;
	return 0;
}

int mb_catalog_blockmaps_copy(struct mb_catalog *c, int64_t from, int64_t to,
			      struct mb_error *e)
{
	return cat_do(c, sql, COPY_MAPS, CAT_ARGS(CAT_I(to), CAT_I(from)), "copy the block maps", e);
}

/* ---- block maps ---- */

static int bind_map(sqlite3_stmt *st, int64_t run_id, const char *path, const char *type,
		    const struct mb_blockmap *m, unsigned char *buf)
{
	static const struct mb_blockmap none = { .file_hash = "-" };

	if (!m)
		m = &none;
	for (size_t k = 0; k < m->n; k++)
		for (int b = 0; b < 8; b++)
			buf[k * 8 + b] = (unsigned char)(m->h[k] >> (8 * b));
	sqlite3_reset(st);
	return sqlite3_bind_int64(st, 1, run_id) | sqlite3_bind_blob(st, 2, path, (int)strlen(path),
								   SQLITE_STATIC) |
	       sqlite3_bind_int64(st, 3, (int64_t)m->size) | sqlite3_bind_int64(st, 4, m->block_size) |
	       sqlite3_bind_text(st, 5, m->file_hash, -1, SQLITE_STATIC) |
	       sqlite3_bind_blob64(st, 6, buf, m->n * 8, SQLITE_STATIC) |
	       sqlite3_bind_text(st, 7, type, 1, SQLITE_STATIC);
}

struct save {
	int64_t run_id;
	mb_blockmap_next_fn next;
	void *next_ctx;
};

static int save_maps(struct mb_catalog *c, void *ctx, struct mb_error *e)
{
	const struct save *s = ctx;
	sqlite3_stmt *st = NULL;
	unsigned char *buf = NULL;
	size_t cap = 0;
	const char *path;
	const struct mb_blockmap *m;
	char type;
	int rc = -1, got;

	if (cat_do(c, sql, DEL_MAPS, CAT_ARGS(CAT_I(s->run_id)), "save the block maps", e) < 0)
		return -1;
	if (sqlite3_prepare_v2(c->db, ADD_MAP, -1, &st, NULL) != SQLITE_OK)
		return cat_fail(c, "save the block maps", e);
	while ((got = s->next(s->next_ctx, &path, &type, &m, e)) > 0) {
		if (m && m->n * 8 > cap) {
			free(buf);
			cap = m->n * 8;
			if (!(buf = malloc(cap))) {
				mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to save the block maps");
				goto out;
			}
		}
		if (bind_map(st, s->run_id, path, &type, m,
			     buf ? buf : (unsigned char *)"") != SQLITE_OK ||
		    sqlite3_step(st) != SQLITE_DONE) {
			cat_fail(c, "save the block maps", e);
			goto out;
		}
	}
	rc = got < 0 ? -1 : 0;
out:
	sqlite3_finalize(st);
	free(buf);
	return rc;
}

int mb_catalog_blockmaps_save_each(struct mb_catalog *c, int64_t run_id,
				   mb_blockmap_next_fn next, void *ctx, struct mb_error *e)
{
	struct save s = { run_id, next, ctx };

	return cat_tx(c, save_maps, &s, "save the block maps", e);
}

struct save_arrays {
	const char *const *paths;
	const char *types;
	const struct mb_blockmap *const *maps;
	size_t n, i;
};

static int next_of_arrays(void *ctx, const char **path, char *type,
			  const struct mb_blockmap **m, struct mb_error *e)
{
	struct save_arrays *a = ctx;

	if (a->i == a->n)
		return 0;
	*path = a->paths[a->i];
	*type = a->types[a->i];
	*m = a->maps[a->i++];
	return 1;
}

int mb_catalog_blockmaps_save(struct mb_catalog *c, int64_t run_id,
			      const char *const *paths, const char *types,
			      const struct mb_blockmap *const *maps, size_t n,
			      struct mb_error *e)
{
	struct save_arrays a = { paths, types, maps, n, 0 };

	return mb_catalog_blockmaps_save_each(c, run_id, next_of_arrays, &a, e);
}

static int map_row(sqlite3_stmt *st, void *ctx, struct mb_error *e)
{
	struct mb_blockmaps *s = ctx;
	const unsigned char *h = sqlite3_column_blob(st, 4);
	size_t hl = (size_t)sqlite3_column_bytes(st, 4), plen = (size_t)sqlite3_column_bytes(st, 0);
	struct mb_blockmap *m;

	if (s->n == s->cap) {
		size_t nc = s->cap ? s->cap * 2 : 64;
		char **p = realloc(s->paths, nc * sizeof(*p));
		char *t = p ? realloc(s->types, nc) : NULL;
		struct mb_blockmap *v = t ? realloc(s->maps, nc * sizeof(*v)) : NULL;

		if (p)
			s->paths = p;
		if (t)
			s->types = t;
		if (!v)
			return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to load the block maps");
		s->maps = v;
		s->cap = nc;
	}
	m = &s->maps[s->n];
	memset(m, 0, sizeof(*m));
	m->size = (uint64_t)sqlite3_column_int64(st, 1);
	m->block_size = (uint32_t)sqlite3_column_int64(st, 2);
	snprintf(m->file_hash, sizeof(m->file_hash), "%s", (const char *)sqlite3_column_text(st, 3));
	m->n = hl / 8;
	s->types[s->n] = sqlite3_column_bytes(st, 5) == 1 ? *sqlite3_column_text(st, 5) : '?';
	if (m->block_size == 0 && hl == 0)
		;	/* no map */
	else if (m->block_size < MB_BLOCK_MIN || m->n != mb_blocks_of(m->size, m->block_size))
		return mb_fail(e, MB_ERR_CATALOG, 0, "unable to load the block maps: a map of "
			       "%zu blocks for %llu bytes", m->n, (unsigned long long)m->size);
	if (!(m->h = malloc(hl ? hl : 1)) || !(s->paths[s->n] = strndup(sqlite3_column_blob(st, 0), plen))) {
		free(m->h);
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to load the block maps");
	}
	for (size_t k = 0; k < m->n; k++) {
		m->h[k] = 0;
		for (int b = 7; b >= 0; b--)
			m->h[k] = m->h[k] << 8 | h[k * 8 + b];
	}
	s->n++;
	return 0;
}

static int cmp_path(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int mb_catalog_blockmaps_load(struct mb_catalog *c, int64_t run_id, struct mb_blockmaps *out,
			      struct mb_error *e)
{
	memset(out, 0, sizeof(*out));
	if (cat_each(c, sql, LOAD_MAPS, CAT_ARGS(CAT_I(run_id)), map_row, out,
		     "load the block maps", e) < 0) {
		mb_blockmaps_free(out);
		return -1;
	}
	/* SQLite orders BLOBs by memcmp, as strcmp does: already sorted */
	for (size_t i = 1; i < out->n; i++)
		if (cmp_path(&out->paths[i - 1], &out->paths[i]) >= 0) {
			mb_blockmaps_free(out);
			return mb_fail(e, MB_ERR_CATALOG, 0, "unable to load the block maps of run "
				       "%lld: paths out of order", (long long)run_id);
		}
	return 0;
}

void mb_blockmaps_free(struct mb_blockmaps *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->paths[i]);
		mb_blockmap_free(&s->maps[i]);
	}
	free(s->paths);
	free(s->types);
	free(s->maps);
	memset(s, 0, sizeof(*s));
}

long mb_blockmaps_find(const struct mb_blockmaps *s, const char *path)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(s->paths[mid], path);

		if (c == 0)
			return (long)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* ---- mbackup list ---- */

int mb_catalog_backup_json(struct mb_catalog *c, int64_t id, struct json_t *run,
			   struct mb_error *e)
{
	struct mb_backup_rec b;
	json_t *chain;
	char *p, *save = NULL;

	if (mb_catalog_backup_get(c, id, &b, e) < 0) {
		if (e->code != MB_ERR_NOT_FOUND)
			return -1;
		mb_error_clear(e);	/* a run that made no backup */
		json_object_set_new(run, "kind", json_null());
		return 0;
	}
	chain = json_array();
	for (p = strtok_r(b.chain, ",", &save); chain && p; p = strtok_r(NULL, ",", &save))
		json_array_append_new(chain, json_integer(strtoll(p, NULL, 10)));
	json_object_set_new(run, "kind", json_string(b.kind));
	json_object_set_new(run, "base", b.base_id ? json_integer(b.base_id) : json_null());
	json_object_set_new(run, "chain", chain ? chain : json_null());
	json_object_set_new(run, "image_bytes", json_integer((json_int_t)b.bytes));
	json_object_set_new(run, "changed_files", json_integer((json_int_t)b.changed_files));
	json_object_set_new(run, "changed_bytes", json_integer((json_int_t)b.changed_bytes));
	json_object_set_new(run, "block_size", json_integer(b.block_size));
	json_object_set_new(run, "point", json_integer(b.point_id));
	mb_backup_rec_free(&b);
	return 0;
}
