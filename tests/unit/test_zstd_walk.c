/*
 * The walk of a compressed file's frames from its start (zstd_walk.c):
 * two streams as the writer makes them (frames with their content size
 * and checksum, raw, RLE and compressed blocks, a padding frame inside
 * the stream, a seek table after each), walked whole and cut at every
 * kind of place; anything else than such frames is not walked.
 */
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "plugins/media/zstd_walk.h"
#include "tests/lib/tap.h"

#define CAP (4u << 20)

static unsigned char file[CAP];
static size_t len;

static int rd(void *ctx, uint64_t off, void *buf, size_t n, size_t *got, struct mb_error *e)
{
	size_t end = *(size_t *)ctx;

	(void)e;
	*got = off >= end ? 0 : n < end - off ? n : end - off;
	memcpy(buf, file + off, *got);
	return 0;
}

/* One frame of data (content size and checksum, as the writer's). */
static uint32_t frame(struct mbz_table *t, const unsigned char *p, size_t n, int sized)
{
	ZSTD_CCtx *cc = ZSTD_createCCtx();
	size_t c;

	ZSTD_CCtx_setParameter(cc, ZSTD_c_checksumFlag, 1);
	ZSTD_CCtx_setParameter(cc, ZSTD_c_contentSizeFlag, sized);
	if (sized) {
		c = ZSTD_compress2(cc, file + len, CAP - len, p, n);
	} else {		/* streamed: no content size in its header */
		ZSTD_outBuffer ob = { file + len, CAP - len, 0 };
		ZSTD_inBuffer ib = { p, n, 0 };

		ZSTD_compressStream2(cc, &ob, &ib, ZSTD_e_end);
		c = ob.pos;
	}
	ZSTD_freeCCtx(cc);
	len += c;
	mbz_table_add(t, (uint32_t)c, (uint32_t)n, 0, NULL);
	return (uint32_t)c;
}

static void pad(struct mbz_table *t, uint32_t n)
{
	static const unsigned char head[8] = { 0x50, 0x2a, 0x4d, 0x18 };

	memcpy(file + len, head, 8);
	file[len + 4] = (unsigned char)(n - 8);
	memset(file + len + 8, 0, n - 8);
	len += n;
	mbz_table_add(t, n, 0, 0, NULL);
}

static void table(struct mbz_table *t)
{
	mbz_table_render(t, file + len);
	len += mbz_table_len(t->n);
	mbz_table_free(t);
}

static int walk(size_t end, struct mbz_walk *w)
{
	struct mb_error e = { 0 };

	return mbz_walk(rd, &end, end, w, &e);
}

int main(void)
{
	unsigned char *noise = malloc(300000), *zeros = calloc(1, 200000), *text = malloc(100000);
	struct mbz_table t = { 0 };
	struct mbz_walk w;
	size_t f1, f2, s1, s2_table;
	uint32_t x = 7;

	for (size_t i = 0; i < 300000; i++)
		x ^= x << 13, x ^= x >> 17, x ^= x << 5, noise[i] = (unsigned char)x;
	for (size_t i = 0; i < 100000; i++)
		text[i] = "the one file asked for\n"[i % 23];
	f1 = frame(&t, noise, 300000, 1);	/* raw blocks */
	f2 = frame(&t, zeros, 200000, 1);	/* RLE */
	frame(&t, text, 100000, 1);		/* compressed */
	pad(&t, 100);
	table(&t);
	s1 = len;
	frame(&t, text, 50000, 1);
	s2_table = len;
	table(&t);

	ok(walk(len, &w) == 0 && w.n == 2 && w.v[0].table && w.v[1].table && !w.cut &&
	   w.whole == len, "whole: two streams, each its own table");
	ok(w.n == 2 && w.v[0].t.n == 4 && w.v[0].t.d_off[4] == 600000 && w.v[1].start == s1 &&
	   w.v[1].t.d_off[1] == 50000 && w.v[0].t.checksums, "whole: the tables read (with checks)");
	mbz_walk_free(&w);

	ok(walk(f1 + f2 / 2, &w) == 0 && w.n == 1 && !w.v[0].table && w.v[0].t.n == 1 &&
	   w.v[0].t.d_off[1] == 300000 && w.cut && w.whole == f1,
	   "cut inside the second frame: the first one whole");
	ok(w.n == 1 && !w.v[0].t.checksums, "walked frames carry no checks of the table's");
	mbz_walk_free(&w);
	ok(walk(f1 + f2, &w) == 0 && w.n == 1 && w.v[0].t.n == 2 && !w.cut && w.whole == f1 + f2 &&
	   w.v[0].t.d_off[2] == 500000, "cut at a frame's end: both whole, nothing cut in two");
	mbz_walk_free(&w);
	ok(walk(f1 + 2, &w) == 0 && w.n == 1 && w.v[0].t.n == 1 && w.cut,
	   "cut inside a block header");
	mbz_walk_free(&w);
	ok(walk(s1 - 5, &w) == 0 && w.n == 1 && !w.v[0].table && w.v[0].t.n == 4 &&
	   w.v[0].t.d_off[4] == 600000 && w.cut, "cut inside the seek table: every frame whole");
	mbz_walk_free(&w);
	ok(walk(len - 3, &w) == 0 && w.n == 2 && w.v[0].table && !w.v[1].table &&
	   w.v[1].t.n == 1 && w.whole == s2_table, "cut in the second stream's table");
	mbz_walk_free(&w);
	ok(walk(3, &w) == 0 && w.n == 0, "cut inside the first frame's magic: nothing walked");

	/* not walked: a frame without its content size, bytes that are no
	 * frame, a table that lists other frames */
	len = 0;
	frame(&t, text, 1000, 0);
	table(&t);
	ok(walk(len - 1, &w) == 0 && w.n == 0, "a frame without its content size: not walked");
	len = 0;
	frame(&t, text, 1000, 1);
	table(&t);
	memset(file + len, 0x55, 64);
	ok(walk(len + 64, &w) == 0 && w.n == 0, "bytes after a table that are no frame: not walked");
	len = 0;
	frame(&t, text, 1000, 1);
	t.v[0].d_size = 999;
	table(&t);
	ok(walk(len, &w) == 0 && w.n == 0, "a table that lists other frames: not walked");
	free(noise), free(zeros), free(text);
	return done_testing();
}
