/*
 * The index and trailer text rendered in pieces: each piece is counted,
 * hashed and passed on (into the image, or nowhere when the layout only
 * needs the length) once it is about TEXT_PIECE bytes, so the text of a
 * million entries is never held whole (it was ~100 bytes per entry, plus
 * a copy into its pax member).  Offsets are fixed-width, so a count with
 * zeros gives the final length (image/FORMAT.md "Offsets").
 */
#include "image/internal.h"

#include <string.h>

#define TEXT_PIECE (64u << 10)

void mbi_text_init(struct mbi_text *t, mbi_out_fn out, void *arg)
{
	memset(t, 0, sizeof(*t));
	mb_hash_init(&t->h);
	t->out = out;
	t->arg = arg;
}

int mbi_text_flush(struct mbi_text *t, struct mb_error *e)
{
	if (t->b.len == 0)
		return 0;
	mb_hash_update(&t->h, t->b.p, t->b.len);
	t->len += t->b.len;
	if (t->out && t->out(t->arg, t->b.p, t->b.len, e) < 0)
		return -1;
	t->b.len = 0;
	return 0;
}

int mbi_text_step(struct mbi_text *t, struct mb_error *e)
{
	return t->b.len >= TEXT_PIECE ? mbi_text_flush(t, e) : 0;
}

void mbi_text_free(struct mbi_text *t)
{
	ibuf_free(&t->b);
}

int mbi_text_to_ibuf(void *arg, const void *p, size_t len, struct mb_error *e)
{
	return ibuf_add(arg, p, len, e);
}
