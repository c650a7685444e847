/*
 * libFuzzer target: the walk of a compressed file's frames from its
 * start (plugins/media/zstd_walk.c), fed a whole file.  What it walks
 * must hold together: streams one after another within the whole
 * frames, each table indexed and found by its image offsets, a stream
 * without its table only the last, and a walk that stops leaves nothing.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "plugins/media/zstd_walk.h"

struct mem {
	const uint8_t *p;
	size_t n;
};

static int rd(void *ctx, uint64_t off, void *buf, size_t len, size_t *got, struct mb_error *e)
{
	const struct mem *m = ctx;

	(void)e;
	*got = off >= m->n ? 0 : len < m->n - off ? len : m->n - off;
	if (*got)
		memcpy(buf, m->p + off, *got);
	return 0;
}

static void check_stream(const struct mbz_walk *w, size_t i, uint64_t *end)
{
	const struct mbz_walk_stream *s = &w->v[i];
	const struct mbz_table *t = &s->t;

	if (s->start < *end || (!s->table && i + 1 != w->n) || !t->c_off || !t->d_off)
		abort();
	for (size_t k = 0; k < t->n; k++)
		if (t->c_off[k + 1] != t->c_off[k] + t->v[k].c_size ||
		    t->d_off[k + 1] != t->d_off[k] + t->v[k].d_size ||
		    (t->v[k].d_size && mbz_table_find(t, t->d_off[k]) != k))
			abort();
	*end = s->start + t->c_off[t->n];
	if (*end > w->whole)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mem m = { data, size };
	struct mbz_walk w;
	struct mb_error e = { 0 };
	uint64_t end = 0;

	if (mbz_walk(rd, &m, size, &w, &e) < 0)
		abort();	/* (no read fails here, and a few MiB are no memory) */
	if (!w.n && (w.v || w.whole || w.cut))
		abort();
	if (w.whole > size)
		abort();
	for (size_t i = 0; i < w.n; i++)
		check_stream(&w, i, &end);
	mbz_walk_free(&w);
	return 0;
}
