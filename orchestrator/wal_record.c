/*
 * The catalog's record of the WAL archive (table wal_files: name,
 * timeline, size as stored: compressed for a NAME.zst, checksum of the
 * WAL's own bytes, archived_at), brought up to date from the archive
 * itself.
 *
 * Why not recorded by wal-push: wal-push runs as PostgreSQL's user, which
 * cannot open the root-owned catalog, and it must never wait for a
 * backup; the archive (each file and its checksum sidecar) is the truth,
 * and the verbs that read the catalog anyway (wal-check, expire) copy it
 * here, so a DBA can query what was archived when without walking the
 * directory.  Only names not yet recorded are stat'ed and their sidecar
 * read; names gone from the archive (expired, removed) are dropped.
 */
#include "orchestrator/catalog_wal.h"
#include "orchestrator/catalog_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/hash.h"
#include "orchestrator/wal_archive.h"

enum { KNOWN, ADD, DROP, N_SQL };
static const char *const sql[N_SQL] = {
	[KNOWN] = "SELECT name FROM wal_files ORDER BY name",
	[ADD] = "INSERT OR REPLACE INTO wal_files (name, timeline, size, checksum, archived_at)"
		" VALUES (?, ?, ?, ?, ?)",
	[DROP] = "DELETE FROM wal_files WHERE name = ?",
};

struct name {
	char name[MB_WAL_NAME_MAX];	/* first: the key the lists are sorted by */
	char rel[MB_WAL_REL_MAX];	/* where the archive stores it */
};

struct names {
	struct name *v;
	size_t n, cap;
};

static int add_name(struct names *l, const char *name, const char *rel)
{
	void *v = cat_grow(l->v, l->n, &l->cap, sizeof(*l->v));

	if (!v)
		return -1;
	l->v = v;
	snprintf(l->v[l->n].name, MB_WAL_NAME_MAX, "%s", name);
	snprintf(l->v[l->n++].rel, MB_WAL_REL_MAX, "%s", rel);
	return 0;
}

static int known_row(sqlite3_stmt *st, void *ctx, struct mb_error *e)
{
	const char *name = (const char *)sqlite3_column_text(st, 0);

	if (add_name(ctx, name ? name : "", "") < 0)
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to read the archive's record");
	return 0;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(a, b);
}

static bool has(const struct names *l, const char *name)
{
	return l->n && bsearch(name, l->v, l->n, sizeof(*l->v), cmp_name);
}

/* Every segment and history file the scan found, sorted by name. */
static int present(const struct mb_wal_scan *s, struct names *l)
{
	char name[MB_WAL_NAME_MAX], rel[MB_WAL_REL_MAX];
	struct mb_wal_name n;

	for (size_t i = 0; i < s->n_segs; i++) {
		mb_wal_seg_name(s->segs[i].tli, s->segs[i].segno, s->seg_size, name);
		mb_wal_name_parse(name, &n);
		mb_wal_rel(&n, name, s->segs[i].zst, rel);
		if (add_name(l, name, rel) < 0)
			return -1;
	}
	for (size_t i = 0; i < s->n_hist; i++) {
		snprintf(name, sizeof(name), "%08X.history", (unsigned)s->hist[i]);
		if (add_name(l, name, name) < 0)
			return -1;
	}
	if (l->n)
		qsort(l->v, l->n, sizeof(*l->v), cmp_name);
	return 0;
}

/* One file's row: its stored size and time, its checksum. */
static int add_row(struct mb_catalog *c, struct mb_wal_store *st, const struct name *f,
		   struct mb_error *e)
{
	struct mb_wal_entry en;
	struct mb_wal_name n;
	char when[32];
	struct tm tm;
	int rc;

	if (mb_wal_name_parse(f->name, &n) < 0)
		return 0;
	if ((rc = st->ops->stat(st, f->rel, &en, e)) != 0)	/* 1: gone since the scan */
		return rc < 0 ? -1 : 0;
	gmtime_r(&en.mtime, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return cat_do(c, sql, ADD, CAT_ARGS(CAT_T(f->name), CAT_I(n.tli), CAT_I(en.size),
					    CAT_T(en.sum), CAT_T(when)),
		      "record an archived file", e);
}

struct sync {
	struct mb_wal_store *archive;
	struct names have, known;
	size_t added, dropped;
};

static int sync_body(struct mb_catalog *c, void *ctx, struct mb_error *e)
{
	struct sync *y = ctx;

	for (size_t i = 0; i < y->have.n; i++) {
		if (has(&y->known, y->have.v[i].name))
			continue;
		if (add_row(c, y->archive, &y->have.v[i], e) < 0)
			return -1;
		y->added++;
	}
	for (size_t i = 0; i < y->known.n; i++) {
		if (has(&y->have, y->known.v[i].name))
			continue;
		if (cat_do(c, sql, DROP, CAT_ARGS(CAT_T(y->known.v[i].name)),
			   "forget a file gone from the archive", e) < 0)
			return -1;
		y->dropped++;
	}
	return 0;
}

int mb_catalog_wal_record(struct mb_catalog *c, struct mb_wal_store *archive,
			  const struct mb_wal_scan *s,
			  size_t *added, size_t *dropped, struct mb_error *e)
{
	struct sync y = { .archive = archive };
	int rc = -1;

	if (present(s, &y.have) < 0) {
		mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to record the archive '%s'",
			archive->spec);
		goto out;
	}
	if (cat_each(c, sql, KNOWN, CAT_NO_ARGS, known_row, &y.known,
		     "read the archive's record", e) < 0 ||
	    cat_tx(c, sync_body, &y, "record the archive", e) < 0)
		goto out;
	*added = y.added;
	*dropped = y.dropped;
	rc = 0;
out:
	free(y.have.v);
	free(y.known.v);
	return rc;
}
