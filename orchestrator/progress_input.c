/* An image input counting into a progress; see progress.h. */
#include <stdlib.h>

#include "orchestrator/progress.h"

/* The name of the index entry at c->pos, moving on in image order (a
 * seek back starts over); NULL while the same entry is read. */
static const char *file_at(struct mb_progress_input *c)
{
	const struct mb_index *ix = c->idx;
	size_t k = c->cur;

	if (!ix || ix->n == 0)
		return NULL;
	if (k >= ix->n || ix->v[k].ent.image_offset > c->pos)
		k = 0;
	while (k + 1 < ix->n && ix->v[k + 1].ent.image_offset <= c->pos)
		k++;
	if (k == c->cur || ix->v[k].ent.image_offset > c->pos)
		return NULL;	/* (the same entry, or the index before the first) */
	c->cur = k;
	return ix->v[k].ent.path;
}

static ssize_t count_read(void *ctx, void *buf, size_t n, struct mb_error *e)
{
	struct mb_progress_input *c = ctx;
	ssize_t got = c->inner.read(c->inner.ctx, buf, n, e);

	if (got > 0) {
		const char *file = c->p ? file_at(c) : NULL;

		c->pos += (uint64_t)got;
		mb_progress_add(c->p, (uint64_t)got, file);
	}
	return got;
}

static int count_seek(void *ctx, uint64_t off, struct mb_error *e)
{
	struct mb_progress_input *c = ctx;

	if (c->inner.seek(c->inner.ctx, off, e) < 0)
		return -1;
	c->pos = off;
	return 0;
}

struct mb_progress_input *mb_progress_input_new(const struct mb_image_input *inner)
{
	struct mb_progress_input *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->inner = *inner;
	c->in = (struct mb_image_input){ count_read, inner->seek ? count_seek : NULL, c,
					 inner->name };
	c->cur = SIZE_MAX;
	return c;
}
