/* The catalog for wal-check and expire; see catalog_wal.h. */
#include "orchestrator/catalog_wal.h"
#include "orchestrator/catalog_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "orchestrator/wal_archive.h"

enum { BACKUPS, BEFORE, MEDIA, FIRST_WAL, HAS_FACTS, FACTS, DELETE, EXPIRE, N_SQL };
static const char *const sql[N_SQL] = {
	[BACKUPS] = "SELECT id, finished FROM runs WHERE verb = 'backup'"
		    " AND status = 'complete' AND expired IS NULL ORDER BY id DESC",
	[BEFORE] = "SELECT id, coalesce(finished, '') FROM runs WHERE id < ?"
		   " AND status IN ('complete', 'failed') AND expired IS NULL"
		   " AND NOT EXISTS (SELECT 1 FROM obligations o WHERE o.run_id = runs.id"
		   "  AND o.state = 'pending') ORDER BY id",
	[MEDIA] = "SELECT media FROM images WHERE run_id = ? ORDER BY device",
	/* the image carries pg_wal from the start segment to the stop */
	[FIRST_WAL] = "SELECT min(substr(CAST(path AS TEXT), 8)) FROM files WHERE run_id = ?"
		      " AND CAST(path AS TEXT) GLOB 'pg_wal/" "[0-9A-F][0-9A-F][0-9A-F][0-9A-F]"
		      "[0-9A-F][0-9A-F][0-9A-F][0-9A-F][0-9A-F][0-9A-F][0-9A-F][0-9A-F]"
		      "[0-9A-F][0-9A-F][0-9A-F][0-9A-F][0-9A-F][0-9A-F][0-9A-F][0-9A-F]"
		      "[0-9A-F][0-9A-F][0-9A-F][0-9A-F]'",
	[HAS_FACTS] = "SELECT count(*) FROM sqlite_master WHERE name = 'run_facts'",
	[FACTS] = "SELECT key, value FROM run_facts WHERE run_id = ?"
		  " AND key IN ('timeline', 'start_lsn')",
	[DELETE] = "DELETE FROM runs WHERE id = ?",
	[EXPIRE] = "UPDATE runs SET expired = ? WHERE id = ?",
};

struct list {
	struct mb_wal_backup *v;
	size_t n, cap;
};

static int add_run(sqlite3_stmt *st, void *ctx, struct mb_error *e)
{
	struct list *l = ctx;
	struct mb_wal_backup *v = cat_grow(l->v, l->n, &l->cap, sizeof(*v));
	const char *fin = (const char *)sqlite3_column_text(st, 1);

	if (!v)
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to list the backups");
	l->v = v;
	v[l->n] = (struct mb_wal_backup){ .run_id = sqlite3_column_int64(st, 0) };
	snprintf(v[l->n].finished, sizeof(v[l->n].finished), "%s", fin ? fin : "");
	l->n++;
	return 0;
}

static int add_media(sqlite3_stmt *st, void *ctx, struct mb_error *e)
{
	struct mb_wal_backup *b = ctx;
	const char *m = (const char *)sqlite3_column_text(st, 0);
	char **v = realloc(b->media, (b->n_media + 1) * sizeof(*v));

	if (!v || !(v[b->n_media] = strdup(m ? m : ""))) {
		if (v)
			b->media = v;
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to list the backups");
	}
	b->media = v;
	b->n_media++;
	return 0;
}

static int first_wal(sqlite3_stmt *st, void *ctx, struct mb_error *e)
{
	struct mb_wal_backup *b = ctx;
	const char *name = (const char *)sqlite3_column_text(st, 0);
	struct mb_wal_name n;

	if (name && mb_wal_name_parse(name, &n) == 0 && n.kind == MB_WAL_SEGMENT) {
		snprintf(b->start_seg, sizeof(b->start_seg), "%s", name);
		b->tli = n.tli;
	}
	return 0;
}

static int fact(sqlite3_stmt *st, void *ctx, struct mb_error *e)
{
	uint64_t *kv = ctx;
	const char *k = (const char *)sqlite3_column_text(st, 0);
	const char *v = (const char *)sqlite3_column_text(st, 1);

	if (k && v && strcmp(k, "timeline") == 0)
		kv[0] = strtoul(v, NULL, 10);
	else if (k && v && mb_wal_lsn_parse(v, &kv[1]) == 0)
		kv[2] = 1;
	return 0;
}

static int max_int(sqlite3_stmt *st, void *ctx, struct mb_error *e)
{
	*(int *)ctx = sqlite3_column_int(st, 0);
	return 0;
}

/* Where b's WAL starts: its facts, else its first pg_wal segment. */
static int find_start(struct mb_catalog *c, struct mb_wal_backup *b, bool facts,
		      struct mb_error *e)
{
	const char *what = "read a backup's WAL start";
	uint64_t kv[3] = { 0, 0, 0 };

	if (facts && cat_each(c, sql, FACTS, CAT_ARGS(CAT_I(b->run_id)), fact, kv, what, e) < 0)
		return -1;
	if (kv[0] && kv[2]) {
		b->tli = (uint32_t)kv[0];
		b->start_lsn = kv[1];
		return 0;
	}
	return cat_each(c, sql, FIRST_WAL, CAT_ARGS(CAT_I(b->run_id)), first_wal, b, what, e);
}

static int list_runs(struct mb_catalog *c, int q, const struct cat_val *args, bool starts,
		     struct mb_wal_backup **v, size_t *n, struct mb_error *e)
{
	struct list l = { 0 };
	int has_facts = 0;

	*v = NULL;
	*n = 0;
	if (cat_each(c, sql, q, args, add_run, &l, "list the backups", e) < 0 ||
	    cat_each(c, sql, HAS_FACTS, CAT_NO_ARGS, max_int, &has_facts, "list the backups", e) < 0)
		goto fail;
	for (size_t i = 0; i < l.n; i++)
		if (cat_each(c, sql, MEDIA, CAT_ARGS(CAT_I(l.v[i].run_id)), add_media, &l.v[i],
			     "list a backup's images", e) < 0 ||
		    (starts && find_start(c, &l.v[i], has_facts > 0, e) < 0))
			goto fail;
	*v = l.v;
	*n = l.n;
	return 0;
fail:
	mb_catalog_wal_backups_free(l.v, l.n);
	return -1;
}

int mb_catalog_wal_backups(struct mb_catalog *c, struct mb_wal_backup **v, size_t *n,
			   struct mb_error *e)
{
	return list_runs(c, BACKUPS, CAT_NO_ARGS, true, v, n, e);
}

int mb_catalog_runs_before(struct mb_catalog *c, int64_t run_id, struct mb_wal_backup **v,
			   size_t *n, struct mb_error *e)
{
	return list_runs(c, BEFORE, CAT_ARGS(CAT_I(run_id)), false, v, n, e);
}

void mb_catalog_wal_backups_free(struct mb_wal_backup *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++) {
		for (size_t k = 0; k < v[i].n_media; k++)
			free(v[i].media[k]);
		free(v[i].media);
	}
	free(v);
}

int mb_catalog_run_expire(struct mb_catalog *c, int64_t run_id, bool keep,
			  struct mb_error *e)
{
	char now[32];

	if (!keep)
		return cat_do(c, sql, DELETE, CAT_ARGS(CAT_I(run_id)), "remove an expired run", e);
	mb_catalog_now(now, sizeof(now));
	return cat_do(c, sql, EXPIRE, CAT_ARGS(CAT_T(now), CAT_I(run_id)), "mark a run expired", e);
}

/* The LSN b's WAL starts at, in the archive's segment size. */
uint64_t mb_wal_backup_start(const struct mb_wal_backup *b, uint32_t seg_size)
{
	struct mb_wal_name n;

	if (!b->start_seg[0] || mb_wal_name_parse(b->start_seg, &n) < 0)
		return b->start_lsn;
	return mb_wal_name_segno(&n, seg_size) * seg_size;
}
