/* The manifest of an increment: every entry of the newer state and the
 * paths of the base that are gone (image/FORMAT.md "Increments"). */
#include "image/blockmap.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/internal.h"

#define MANIFEST_MAGIC "mbackup-increment 1"
#define N_FIELDS 12		/* the most a line has: an entry's */

static int render_entry(struct ibuf *b, const struct mb_incr_entry *x, struct mb_error *e)
{
	const struct mb_entry *t = &x->ent;
	char mt[48];

	mbi_fmt_time(mt, sizeof(mt), t->mtime_sec, t->mtime_nsec);
	if (ibuf_printf(b, e, "e %c %c %" PRIu64 " %o %" PRIu32 " %" PRIu32 " %" PRIu64 " %s %s ",
			x->kind, t->type, t->size, t->mode, t->uid, t->gid, mb_entry_rdev(t), mt,
			x->hash[0] ? x->hash : "-") < 0 ||
	    mbi_escape(b, t->path, e) < 0 || ibuf_add(b, " ", 1, e) < 0 ||
	    mbi_escape(b, mb_entry_link(t), e) < 0 || ibuf_add(b, "\n", 1, e) < 0)
		return -1;
	return 0;
}

int mb_incr_manifest_render(const struct mb_incr_manifest *m, char **text, size_t *len,
			    struct mb_error *e)
{
	struct ibuf b = { 0 };

	*text = NULL;
	if (ibuf_printf(&b, e, MANIFEST_MAGIC "\nbackup-id %s\nbase-id %s\nblock-size %" PRIu32
			"\nentries %zu\n", m->backup_id, m->base_id, m->block_size, m->n) < 0)
		goto fail;
	for (size_t i = 0; i < m->n; i++)
		if (render_entry(&b, &m->v[i], e) < 0)
			goto fail;
	if (ibuf_printf(&b, e, "removed %zu\n", m->n_removed) < 0)
		goto fail;
	for (size_t i = 0; i < m->n_removed; i++)
		if (ibuf_add(&b, "x ", 2, e) < 0 || mbi_escape(&b, m->removed[i], e) < 0 ||
		    ibuf_add(&b, "\n", 1, e) < 0)
			goto fail;
	if (ibuf_printf(&b, e, "end\n") < 0)
		goto fail;
	*text = b.p;
	*len = b.len;
	return 0;
fail:
	ibuf_free(&b);
	return -1;
}

/* ---- parsing ---- */

struct cur {
	const char *p, *end, *start;
	struct mbi_fields l;	/* the current line's */
};

static int next_line(struct cur *c)
{
	return mbi_split_line(&c->p, c->end, N_FIELDS, &c->l) ? -1 : 0;
}

static bool is(const struct cur *c, int i, const char *s)
{
	return mbi_field_is(&c->l, i, s);
}

static int field_u64(const struct cur *c, int i, uint64_t *v)
{
	return mbi_parse_u64(c->l.f[i], c->l.fl[i], v);
}

static int field_text(const struct cur *c, int i, char *dst, size_t cap)
{
	if (c->l.fl[i] >= cap)
		return -1;
	memcpy(dst, c->l.f[i], c->l.fl[i]);
	dst[c->l.fl[i]] = 0;
	return 0;
}

static int parse_entry(struct cur *c, struct mb_incr_entry *x)
{
	struct mb_entry *t = &x->ent;
	uint64_t size, mode, uid, gid, rdev;
	char *end;

	if (c->l.n != 12 || !is(c, 0, "e") || c->l.fl[1] != 1 || c->l.fl[2] != 1 ||
	    !strchr("uwdm", c->l.f[1][0]) || !strchr("fdlhpcb", c->l.f[2][0]))
		return -1;
	x->kind = c->l.f[1][0];
	t->type = c->l.f[2][0];
	mode = strtoull(c->l.f[4], &end, 8);
	if (end != c->l.f[4] + c->l.fl[4] || field_u64(c, 3, &size) < 0 || field_u64(c, 5, &uid) < 0 ||
	    field_u64(c, 6, &gid) < 0 || field_u64(c, 7, &rdev) < 0 || mode > 0xffffffffu ||
	    uid > UINT32_MAX || gid > UINT32_MAX ||
	    mbi_parse_time(c->l.f[8], c->l.fl[8], &t->mtime_sec, &t->mtime_nsec) < 0)
		return -1;
	if ((x->kind == 'm') != (t->type != 'f'))
		return -1;
	t->size = t->seg_length = size;
	t->mode = (uint32_t)mode;
	t->uid = (uint32_t)uid;
	t->gid = (uint32_t)gid;
	if (is(c, 9, "-"))
		x->hash[0] = 0;
	else if (c->l.fl[9] != MB_HASH_HEX_LEN || field_text(c, 9, x->hash, sizeof(x->hash)) < 0)
		return -1;
	if (mb_entry_set_rdev(t, rdev) < 0 ||
	    mbi_unescape(c->l.f[10], c->l.fl[10], MBI_DASH_ITSELF, &t->path) < 0 ||
	    mbi_unescape_link(c->l.f[11], c->l.fl[11], t) < 0)
		return -1;
	return 0;
}

static int parse_head(struct cur *c, struct mb_incr_manifest *m, uint64_t *n)
{
	uint64_t bs;

	if (next_line(c) < 0 || c->l.n != 2 || !is(c, 0, "mbackup-increment") || !is(c, 1, "1") ||
	    next_line(c) < 0 || c->l.n != 2 || !is(c, 0, "backup-id") ||
	    field_text(c, 1, m->backup_id, sizeof(m->backup_id)) < 0 ||
	    next_line(c) < 0 || c->l.n != 2 || !is(c, 0, "base-id") ||
	    field_text(c, 1, m->base_id, sizeof(m->base_id)) < 0 ||
	    next_line(c) < 0 || c->l.n != 2 || !is(c, 0, "block-size") || field_u64(c, 1, &bs) < 0 ||
	    bs < MB_BLOCK_MIN || bs > MB_BLOCK_MAX ||
	    next_line(c) < 0 || c->l.n != 2 || !is(c, 0, "entries") || field_u64(c, 1, n) < 0 ||
	    *n > (uint64_t)(c->end - c->p) / 24)
		return -1;
	m->block_size = (uint32_t)bs;
	return 0;
}

static int parse_body(struct cur *c, struct mb_incr_manifest *m)
{
	uint64_t n, nr;

	if (parse_head(c, m, &n) < 0 || !(m->v = calloc(n ? n : 1, sizeof(*m->v))))
		return -1;
	for (; m->n < n; m->n++)
		if (next_line(c) < 0 || parse_entry(c, &m->v[m->n]) < 0) {
			m->n++;		/* (freed with the rest) */
			return -1;
		}
	if (next_line(c) < 0 || c->l.n != 2 || !is(c, 0, "removed") || field_u64(c, 1, &nr) < 0 ||
	    nr > (uint64_t)(c->end - c->p) / 4 || !(m->removed = calloc(nr ? nr : 1, sizeof(char *))))
		return -1;
	for (; m->n_removed < nr; m->n_removed++)
		if (next_line(c) < 0 || c->l.n != 2 || !is(c, 0, "x") ||
		    mbi_unescape(c->l.f[1], c->l.fl[1], MBI_DASH_ITSELF, &m->removed[m->n_removed]) < 0) {
			m->n_removed++;
			return -1;
		}
	if (next_line(c) < 0 || c->l.n != 1 || !is(c, 0, "end") || c->p != c->end)
		return -1;
	return 0;
}

static const struct mb_incr_manifest *sort_m;

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(sort_m->v[*(const size_t *)a].ent.path, sort_m->v[*(const size_t *)b].ent.path);
}

/* The index by path; two entries of one path are refused. */
static int sort_paths(struct mb_incr_manifest *m)
{
	if (!(m->by_path = malloc((m->n ? m->n : 1) * sizeof(*m->by_path))))
		return -1;
	for (size_t i = 0; i < m->n; i++)
		m->by_path[i] = i;
	sort_m = m;	/* (qsort has no argument; parsing is not threaded) */
	qsort(m->by_path, m->n, sizeof(*m->by_path), cmp_entry);
	for (size_t i = 1; i < m->n; i++)
		if (cmp_entry(&m->by_path[i - 1], &m->by_path[i]) == 0)
			return -1;
	return 0;
}

int mb_incr_manifest_parse(const char *text, size_t len, struct mb_incr_manifest *m,
			   const char *name, struct mb_error *e)
{
	struct cur c = { .p = text, .end = text + len, .start = text };

	memset(m, 0, sizeof(*m));
	m->owned = true;
	if (parse_body(&c, m) == 0 && sort_paths(m) == 0)
		return 0;
	mb_incr_manifest_free(m);
	return mb_fail(e, MB_ERR_CORRUPT, 0, "corrupt increment manifest in '%s' at byte %zu",
		       name, (size_t)(c.p - c.start));
}

void mb_incr_manifest_free(struct mb_incr_manifest *m)
{
	if (m->owned) {
		for (size_t i = 0; i < m->n; i++)
			mb_entry_free(&m->v[i].ent);
		for (size_t i = 0; i < m->n_removed; i++)
			free(m->removed[i]);
	}
	free(m->v);
	free(m->removed);
	free(m->by_path);
	memset(m, 0, sizeof(*m));
}

const struct mb_incr_entry *mb_incr_manifest_find(const struct mb_incr_manifest *m,
						  const char *path)
{
	size_t lo = 0, hi = m->by_path ? m->n : 0;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		const struct mb_incr_entry *x = &m->v[m->by_path[mid]];
		int c = strcmp(x->ent.path, path);

		if (c == 0)
			return x;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}
