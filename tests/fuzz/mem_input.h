/*
 * An image input (image/io.h) over bytes in memory, for the fuzz targets:
 * seekable or not, and reading at most `chunk` bytes per call so short
 * reads are exercised as a pipe gives them.
 */
#ifndef MB_FUZZ_MEM_INPUT_H
#define MB_FUZZ_MEM_INPUT_H

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "image/io.h"

struct mem_input {
	const uint8_t *p;
	size_t len, pos, chunk;
};

static ssize_t mem_read(void *ctx, void *buf, size_t n, struct mb_error *e)
{
	struct mem_input *m = ctx;
	size_t k = m->len - m->pos;

	if (k > n)
		k = n;
	if (m->chunk && k > m->chunk)
		k = m->chunk;
	memcpy(buf, m->p + m->pos, k);
	m->pos += k;
	return (ssize_t)k;
}

static int mem_seek(void *ctx, uint64_t off, struct mb_error *e)
{
	struct mem_input *m = ctx;

	/* like a file: a seek past the end succeeds, reads there give 0 */
	m->pos = off > m->len ? m->len : (size_t)off;
	return 0;
}

static void mem_input_init(struct mb_image_input *in, struct mem_input *m,
			   const uint8_t *p, size_t len, size_t chunk, int seekable)
{
	*m = (struct mem_input){ .p = p, .len = len, .chunk = chunk };
	*in = (struct mb_image_input){ .read = mem_read,
		.seek = seekable ? mem_seek : NULL, .ctx = m, .name = "fuzz" };
}

#endif
