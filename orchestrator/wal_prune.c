/* The WAL no kept backup needs, removed; see wal_archive.h. */
#include "orchestrator/wal_archive.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"

#define TMP_AGE_S (24 * 3600)

struct tl_need {
	uint32_t tli;
	uint64_t first;
};

struct prune {
	struct mb_wal_store *s;
	const struct mb_wal_keep *keep;
	size_t n;
	uint32_t seg_size;
	struct mb_wal_pruned *out;
	uint64_t oldest_seg;
	uint32_t oldest_tli;
	struct mb_wal_entry *v;	/* the archive's files */
	size_t n_v, cap_v;
	struct tl_need *tl;	/* first_needed, per timeline seen */
	size_t n_tl;
	const char **doomed;	/* rels of p->v to remove, in one go (remove_all) */
	size_t n_doomed;
};

/* The first segment of timeline tli some kept backup needs; UINT64_MAX:
 * none does; 0: all of it (its history cannot be read). */
static uint64_t first_needed(const struct prune *p, uint32_t tli)
{
	struct mb_wal_history h = { 0 };
	struct mb_error e = { 0 };
	uint64_t first = UINT64_MAX;

	if (mb_wal_history_load(p->s, tli, &h, &e) < 0) {
		mb_warn("expire: timeline %u is kept whole: %s", tli, e.msg);
		return 0;
	}
	for (size_t i = 0; i < p->n; i++) {
		const struct mb_wal_tl *tl = mb_wal_history_find(&h, p->keep[i].tli);
		uint64_t seg = mb_wal_segno(p->keep[i].lsn, p->seg_size);

		if (tl && p->keep[i].lsn < tl->end && seg < first)
			first = seg;
	}
	mb_wal_history_free(&h);
	return first;
}

/* first_needed, once per timeline. */
static int needed(struct prune *p, uint32_t tli, uint64_t *first)
{
	struct tl_need *v;

	for (size_t i = 0; i < p->n_tl; i++)
		if (p->tl[i].tli == tli) {
			*first = p->tl[i].first;
			return 0;
		}
	if (!(v = realloc(p->tl, (p->n_tl + 1) * sizeof(*v))))
		return -1;
	p->tl = v;
	*first = first_needed(p, tli);
	p->tl[p->n_tl++] = (struct tl_need){ tli, *first };
	return 0;
}

static int collect(void *ctx, const struct mb_wal_entry *en, struct mb_error *e)
{
	struct prune *p = ctx;

	if (p->n_v == p->cap_v) {
		size_t cap = p->cap_v ? p->cap_v * 2 : 256;
		struct mb_wal_entry *v = realloc(p->v, cap * sizeof(*v));

		if (!v)
			return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to list the WAL archive");
		p->v = v;
		p->cap_v = cap;
	}
	p->v[p->n_v++] = *en;
	return 0;
}

/* One file: removed when no kept backup needs it (a dead push's
 * temporary when it is older than a day). */
static int prune_one(struct prune *p, const struct mb_wal_entry *en, struct mb_error *e)
{
	const char *slash = strchr(en->rel, '/'), *base = slash ? slash + 1 : en->rel;
	size_t len = strlen(base);
	char name[MB_WAL_NAME_MAX];
	struct mb_wal_name n;
	uint64_t seg, first;
	bool zst;

	if (base[0] == '.') {
		if (len < 5 || strcmp(base + len - 4, ".tmp") != 0 ||
		    time(NULL) - en->mtime < TMP_AGE_S)
			return 0;
		p->out->tmp++;
		return p->s->ops->remove(p->s, en->rel, e);
	}
	if (!slash || mb_wal_stored_parse(base, &n, name, &zst) < 0 || n.kind == MB_WAL_HISTORY)
		return 0;
	if (needed(p, n.tli, &first) < 0)
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to expire the WAL archive");
	seg = mb_wal_name_segno(&n, p->seg_size);
	if (seg >= first) {
		if (n.kind == MB_WAL_SEGMENT && (!p->oldest_tli || seg < p->oldest_seg ||
						 (seg == p->oldest_seg && n.tli < p->oldest_tli))) {
			p->oldest_tli = n.tli;
			p->oldest_seg = seg;
		}
		return 0;
	}
	p->doomed[p->n_doomed++] = en->rel;
	p->out->bytes += en->size;
	return 0;
}

/* The files no kept backup needs: all at once where the store can (one
 * request per 1,000 objects), else one by one. */
static int remove_all(struct prune *p, struct mb_error *e)
{
	struct mb_wal_store *s = p->s;
	size_t requests = 0;

	if (s->ops->remove_many && p->n_doomed) {
		if (s->ops->remove_many(s, p->doomed, p->n_doomed, &requests, e) < 0)
			return -1;
		p->out->files = p->n_doomed;
		p->out->requests = requests;
		return 0;
	}
	for (size_t i = 0; i < p->n_doomed; i++) {
		if (s->ops->remove(s, p->doomed[i], e) < 0)
			return -1;
		p->out->files++;
		p->out->requests++;
	}
	return 0;
}

int mb_wal_prune(struct mb_wal_store *st, const struct mb_wal_keep *keep, size_t n,
		 struct mb_wal_pruned *out, struct mb_error *e)
{
	struct prune p = { .s = st, .keep = keep, .n = n, .out = out };
	uint64_t sysid;
	int rc;

	*out = (struct mb_wal_pruned){ 0 };
	if (n == 0)
		return 0;
	if (mb_wal_info_read(st, &sysid, &p.seg_size, e) < 0)
		return -1;
	rc = st->ops->list(st, collect, &p, e);
	if (rc == 0 && p.n_v && !(p.doomed = calloc(p.n_v, sizeof(*p.doomed))))
		rc = mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to expire the WAL archive");
	for (size_t i = 0; rc == 0 && i < p.n_v; i++)
		rc = prune_one(&p, &p.v[i], e);
	if (rc == 0)
		rc = remove_all(&p, e);
	if (rc == 0 && out->files && st->ops->tidy)
		rc = st->ops->tidy(st, e);
	if (p.oldest_tli)
		mb_wal_seg_name(p.oldest_tli, p.oldest_seg, p.seg_size, out->oldest_kept);
	free(p.doomed);
	free(p.v);
	free(p.tl);
	return rc;
}
