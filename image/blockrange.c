/* A block map built from pieces of a file (the segments a several-device
 * full cuts it into, streamed concurrently); see image/blockmap.h. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "image/blockmap.h"
#include "image/internal.h"

int mb_blockmap_alloc(struct mb_blockmap *m, uint32_t block_size, uint64_t size,
		      struct mb_error *e)
{
	uint64_t n = mb_blocks_of(size, block_size);

	memset(m, 0, sizeof(*m));
	if (block_size < MB_BLOCK_MIN || block_size > MB_BLOCK_MAX)
		return mb_fail(e, MB_ERR_INTERNAL, 0, "block size %" PRIu32 " out of range",
			       block_size);
	if (!(m->h = calloc(n ? n : 1, sizeof(*m->h))))
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to hash the blocks");
	m->size = size;
	m->block_size = block_size;
	m->n = (size_t)n;
	strcpy(m->file_hash, MB_NO_FILE_HASH);
	return 0;
}

static uint32_t blen_of(const struct mb_blockmap *m, uint64_t b)
{
	uint64_t off = b * m->block_size;

	return (uint32_t)(m->size - off < m->block_size ? m->size - off : m->block_size);
}

int mb_blockrange_init(struct mb_blockrange *r, struct mb_blockmap *m, uint64_t off,
		       uint64_t len, struct mb_error *e)
{
	memset(r, 0, sizeof(*r));
	if (off + len > m->size || !m->h)
		return mb_fail(e, MB_ERR_INTERNAL, 0, "a piece past the file's %" PRIu64 " bytes",
			       m->size);
	if (!(r->buf = malloc(m->block_size)))
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to hash the blocks");
	r->m = m;
	r->pos = off;
	r->end = off + len;
	return 0;
}

/* The part [from, to) of block b, as gathered in r->buf, kept as an edge. */
static int keep_edge(struct mb_blockrange *r, uint64_t b, uint32_t from, uint32_t to,
		     struct mb_error *e)
{
	struct mb_blockedge *g = &r->edges[r->n_edges];

	if (r->n_edges == 2)
		return mb_fail(e, MB_ERR_INTERNAL, 0, "a piece cuts more than two blocks");
	if (!(g->data = malloc(r->m->block_size)))
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to hash the blocks");
	memcpy(g->data + from, r->buf + from, to - from);
	g->block = b;
	g->from = from;
	g->to = to;
	r->n_edges++;
	return 0;
}

int mb_blockrange_update(struct mb_blockrange *r, const void *buf, size_t len,
			 struct mb_error *e)
{
	const unsigned char *p = buf;
	uint32_t bs = r->m->block_size;

	if (len > r->end - r->pos)
		return mb_fail(e, MB_ERR_INTERNAL, 0, "more bytes than the piece's");
	while (len > 0) {
		uint64_t b = r->pos / bs;
		uint32_t boff = (uint32_t)(r->pos % bs), blen = blen_of(r->m, b);
		uint32_t take = blen - boff < len ? blen - boff : (uint32_t)len;

		if (r->len == 0)
			r->from = boff;
		if (r->len == 0 && boff == 0 && take == blen) {
			r->m->h[b] = XXH3_64bits(p, blen);	/* a whole block: straight */
		} else {
			memcpy(r->buf + boff, p, take);
			r->len += take;
			if (boff + take == blen && r->from == 0)
				r->m->h[b] = XXH3_64bits(r->buf, blen);
			else if (boff + take == blen && keep_edge(r, b, r->from, blen, e) < 0)
				return -1;
			if (boff + take == blen)
				r->len = 0;
		}
		r->pos += take;
		p += take;
		len -= take;
	}
	return 0;
}

int mb_blockrange_final(struct mb_blockrange *r, struct mb_error *e)
{
	int rc = 0;

	if (r->pos != r->end)
		rc = mb_fail(e, MB_ERR_INTERNAL, 0, "a piece ended %" PRIu64 " bytes short",
			     r->end - r->pos);
	else if (r->len)	/* it ends inside a block */
		rc = keep_edge(r, r->pos / r->m->block_size, r->from, r->from + r->len, e);
	free(r->buf);
	r->buf = NULL;
	return rc;
}

void mb_blockrange_abort(struct mb_blockrange *r)
{
	free(r->buf);
	r->buf = NULL;
	for (size_t i = 0; i < r->n_edges; i++)
		free(r->edges[i].data);
	r->n_edges = 0;
}

int mb_blockedge_merge(struct mb_blockmap *m, struct mb_blockedges *v,
		       struct mb_blockedge *g, struct mb_error *e)
{
	struct mb_blockedge *x = NULL;

	for (size_t i = 0; i < v->n && !x; i++)
		if (v->v[i].block == g->block && g->from <= v->v[i].to && v->v[i].from <= g->to)
			x = &v->v[i];
	if (!x) {
		struct mb_blockedge *nv = realloc(v->v, (v->n + 1) * sizeof(*nv));

		if (!nv)
			return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to hash the blocks");
		v->v = nv;
		x = &v->v[v->n++];
		*x = *g;
		g->data = NULL;
	} else {
		memcpy(x->data + g->from, g->data + g->from, g->to - g->from);
		x->from = g->from < x->from ? g->from : x->from;
		x->to = g->to > x->to ? g->to : x->to;
		free(g->data);
		g->data = NULL;
	}
	if (x->from == 0 && x->to == blen_of(m, x->block)) {	/* both parts: hashed */
		m->h[x->block] = XXH3_64bits(x->data, x->to);
		free(x->data);
		*x = v->v[--v->n];
	}
	return 0;
}

void mb_blockedges_free(struct mb_blockedges *v)
{
	for (size_t i = 0; i < v->n; i++)
		free(v->v[i].data);
	free(v->v);
	v->v = NULL;
	v->n = 0;
}
