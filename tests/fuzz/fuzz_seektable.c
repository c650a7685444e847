/*
 * libFuzzer target: the seek table parser of compressed images
 * (plugins/media/zstd_seek.c), fed the end of a compressed image: the
 * footer is parsed from its last 9 bytes, then the table frame it sizes.
 * Whatever it accepts must index consistently (offsets that never go
 * back, every image byte found in the frame that holds it), and render
 * back to the same bytes when it carries checksums and no unused bits.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "plugins/media/zstd_seek.h"

static void check_index(const struct mbz_table *t)
{
	uint64_t end = t->d_off[t->n];

	for (size_t i = 0; i < t->n; i++)
		if (t->c_off[i + 1] < t->c_off[i] || t->d_off[i + 1] < t->d_off[i])
			abort();
	for (uint64_t pos = 0; end && pos < end; pos += end / 7 + 1) {
		size_t i = mbz_table_find(t, pos);

		if (i >= t->n || t->d_off[i] > pos || t->d_off[i + 1] <= pos)
			abort();
	}
	if (mbz_table_find(t, end) != t->n)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mbz_table t;
	const char *why = NULL;
	uint32_t n;
	size_t len;
	unsigned char *back;

	if (size < MBZ_FOOTER)
		return 0;
	if (mbz_footer_parse(data + size - MBZ_FOOTER, &n, &len, &why) < 0) {
		if (!why)
			abort();
		return 0;
	}
	if (len > size)
		return 0;
	if (mbz_table_parse(data + size - len, len, &t, &why) < 0) {
		if (!why || t.v || t.n)
			abort();
		return 0;
	}
	if (t.n != n)
		abort();
	check_index(&t);
	if (t.checksums && data[size - 5] == MBZ_CHECKSUM_FLAG) {
		if (!(back = malloc(len)))
			abort();
		mbz_table_render(&t, back);
		if (memcmp(back, data + size - len, len) != 0)
			abort();
		free(back);
	}
	mbz_table_free(&t);
	return 0;
}
