/* The frames of a compressed file walked from its start; see zstd_walk.h. */
#include "plugins/media/zstd_walk.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* The walk reads the file once, in order, 1 MiB at a time: faster than a
 * read of a page per block header where blocks are 128 KiB apart (0.30
 * against 0.93 s for 427 MB cold, bench/restore-cut.md), and the cost of
 * one read of the file on a disk that seeks slowly. */
#define WALK_BUF (1u << 20)
#define FRAME_HEAD_MAX 18		/* magic, descriptor, window, dictionary, size */

struct walker {
	mbz_read_at rd;
	void *ctx;
	uint64_t size;
	unsigned char buf[WALK_BUF];	/* the bytes at [at, at + len) */
	uint64_t at;
	size_t len;
};

enum { W_FRAME, W_CUT, W_STOP };	/* a whole frame; the file ends in it; not walkable */

static uint32_t le(const unsigned char *p, size_t n)
{
	uint32_t v = 0;

	while (n--)
		v = v << 8 | p[n];
	return v;
}

/* Up to n (<= FRAME_HEAD_MAX) bytes at off, *got of them. */
static int get(struct walker *wk, uint64_t off, unsigned char *dst, size_t n, size_t *got,
	       struct mb_error *e)
{
	if (off < wk->at || off + n > wk->at + wk->len) {
		if (wk->rd(wk->ctx, off, wk->buf, sizeof(wk->buf), &wk->len, e) < 0)
			return -1;
		wk->at = off;
	}
	*got = off - wk->at + n <= wk->len ? n : (size_t)(wk->at + wk->len - off);
	memcpy(dst, wk->buf + (off - wk->at), *got);
	return 0;
}

/* A zstd frame's header at off: its length, content size and whether a
 * checksum ends the frame; W_STOP without a content size. */
static int frame_head(struct walker *wk, uint64_t off, uint64_t *len, uint64_t *d, bool *check,
		      struct mb_error *e)
{
	static const unsigned did_len[4] = { 0, 1, 2, 4 }, fcs_len[4] = { 0, 2, 4, 8 };
	unsigned char h[FRAME_HEAD_MAX];
	size_t got, at;
	unsigned fhd, fcs;
	bool single;

	if (get(wk, off, h, sizeof(h), &got, e) < 0)
		return -1;
	if (got < 5)
		return W_CUT;
	fhd = h[4];
	single = fhd >> 5 & 1;
	fcs = fcs_len[fhd >> 6] ? fcs_len[fhd >> 6] : single;
	if (fcs == 0 || fhd & 0x08)	/* no content size; a reserved bit */
		return W_STOP;
	at = 5 + !single + did_len[fhd & 3];
	*len = at + fcs;
	if (got < *len)
		return W_CUT;
	*d = fcs == 8 ? le(h + at, 4) | (uint64_t)le(h + at + 4, 4) << 32 : le(h + at, fcs);
	*d += fcs == 2 ? 256 : 0;
	*check = fhd >> 2 & 1;
	return *d > MBZ_MAX_FRAME_D ? W_STOP : W_FRAME;
}

/* The zstd frame at off: its compressed bytes *c (block by block) and
 * decompressed bytes *d. */
static int zstd_frame(struct walker *wk, uint64_t off, uint64_t *c, uint64_t *d,
		      struct mb_error *e)
{
	uint64_t pos;
	bool check, last = false;
	int rc = frame_head(wk, off, &pos, d, &check, e);

	if (rc != W_FRAME)
		return rc;
	for (pos += off; !last;) {
		unsigned char b[3];
		size_t got;
		uint32_t v;

		if (get(wk, pos, b, 3, &got, e) < 0)
			return -1;
		if (got < 3)
			return W_CUT;
		v = le(b, 3);
		last = v & 1;
		if ((v >> 1 & 3) == 3)		/* reserved block type */
			return W_STOP;
		pos += 3 + ((v >> 1 & 3) == 1 ? 1 : v >> 3);	/* RLE: one byte */
		if (pos > wk->size)
			return W_CUT;
	}
	pos += check ? 4 : 0;
	*c = pos - off;
	return pos > wk->size ? W_CUT : W_FRAME;
}

/* The table ending the stream s, whose frames were walked: it replaces
 * them when it lists the same frames; W_STOP otherwise. */
static int take_table(struct walker *wk, uint64_t off, uint64_t len, struct mbz_walk_stream *s,
		      struct mb_error *e)
{
	unsigned char *p = len <= mbz_table_len(s->t.n) ? malloc(len) : NULL;
	struct mbz_table t;
	const char *why;
	size_t got = 0;
	int rc = W_STOP;

	if (!p)
		return len <= mbz_table_len(s->t.n) ?
		       mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to walk the frames") : W_STOP;
	if (wk->rd(wk->ctx, off, p, len, &got, e) < 0) {
		free(p);
		return -1;
	}
	if (got == len && mbz_table_parse(p, len, &t, &why) == 0) {
		bool same = t.n == s->t.n;

		for (size_t i = 0; same && i < t.n; i++)
			same = t.v[i].c_size == s->t.v[i].c_size && t.v[i].d_size == s->t.v[i].d_size;
		if (same) {
			mbz_table_free(&s->t);
			s->t = t;
			s->table = true;
			rc = W_FRAME;
		} else {
			mbz_table_free(&t);
		}
	}
	free(p);
	return rc;
}

/* A skippable frame at off: the stream's seek table, padding inside the
 * stream (an entry of its table), or bytes between streams. */
static int skippable(struct walker *wk, uint64_t off, uint32_t magic, struct mbz_walk_stream *open,
		     uint64_t *c, bool *closes, struct mb_error *e)
{
	unsigned char b[4];
	size_t got;

	*closes = false;
	if (get(wk, off + 4, b, 4, &got, e) < 0)
		return -1;
	if (got < 4 || off + MBZ_SKIP_HEAD + le(b, 4) > wk->size)
		return W_CUT;
	*c = MBZ_SKIP_HEAD + le(b, 4);
	if (magic != MBZ_SKIP_MAGIC || *c < MBZ_SKIP_HEAD + MBZ_FOOTER)
		return W_FRAME;
	if (get(wk, off + *c - 4, b, 4, &got, e) < 0)
		return -1;
	if (le(b, 4) != MBZ_SEEK_MAGIC)
		return W_FRAME;
	*closes = true;
	return open ? take_table(wk, off, *c, open, e) : W_STOP;
}

static int add_frame(struct mbz_walk *w, struct mbz_walk_stream **open, uint64_t off,
		     uint64_t c, uint64_t d, struct mb_error *e)
{
	if (!*open) {
		struct mbz_walk_stream *v = realloc(w->v, (w->n + 1) * sizeof(*v));

		if (!v)
			return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to walk the frames");
		w->v = v;
		*open = memset(&w->v[w->n++], 0, sizeof(*v));
		(*open)->start = off;
	}
	if (c > UINT32_MAX)
		return W_STOP;
	return mbz_table_add(&(*open)->t, (uint32_t)c, (uint32_t)d, 0, e) < 0 ? -1 : W_FRAME;
}

static int walk_all(struct walker *wk, struct mbz_walk *w, struct mb_error *e)
{
	struct mbz_walk_stream *open = NULL;
	uint64_t off = 0;
	int rc = W_FRAME;

	while (rc == W_FRAME && off < wk->size) {
		unsigned char b[4];
		uint64_t c = 0, d = 0;
		size_t got;
		bool closes = false;
		uint32_t magic;

		if (get(wk, off, b, 4, &got, e) < 0)
			return -1;
		magic = le(b, got);
		if (got < 4)
			rc = W_CUT;
		else if (magic == MBZ_FRAME_MAGIC)
			rc = zstd_frame(wk, off, &c, &d, e);
		else if ((magic & 0xfffffff0u) == MBZ_PAD_MAGIC)
			rc = skippable(wk, off, magic, open, &c, &closes, e);
		else
			rc = W_STOP;
		if (rc == W_FRAME && !closes && (open || d))
			rc = add_frame(w, &open, off, c, d, e);
		if (rc == W_FRAME) {
			off += c;
			open = closes ? NULL : open;
		}
	}
	w->whole = off;
	w->cut = rc == W_CUT;
	return rc;
}

int mbz_walk(mbz_read_at rd, void *ctx, uint64_t size, struct mbz_walk *w, struct mb_error *e)
{
	struct walker *wk = calloc(1, sizeof(*wk));
	int rc;

	memset(w, 0, sizeof(*w));
	if (!wk)
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to walk the frames");
	*wk = (struct walker){ .rd = rd, .ctx = ctx, .size = size };
	rc = walk_all(wk, w, e);
	free(wk);
	for (size_t i = 0; rc >= 0 && rc != W_STOP && i < w->n; i++) {
		w->v[i].t.checksums &= w->v[i].table;	/* walked: the frames' own */
		if (!w->v[i].table && mbz_table_index(&w->v[i].t, e) < 0)
			rc = -1;
	}
	if (rc < 0 || rc == W_STOP || !w->n)	/* (not a whole frame: nothing walked) */
		mbz_walk_free(w);
	return rc < 0 ? -1 : 0;
}

void mbz_walk_free(struct mbz_walk *w)
{
	for (size_t i = 0; i < w->n; i++)
		mbz_table_free(&w->v[i].t);
	free(w->v);
	memset(w, 0, sizeof(*w));
}
