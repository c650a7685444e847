/*
 * libFuzzer target: the index text parser (mbi_index_parse), fed the
 * payload of an index member ("mbackup-index 1\n..." up to "end\n").
 * Whatever it accepts must be self-consistent: offsets in order and
 * inside the image, every path non-empty.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "image/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mb_index idx;
	struct mb_error e = { 0 };

	if (mbi_index_parse((const char *)data, size, &idx, "fuzz", &e) < 0) {
		if (!e.code || !e.msg[0])
			abort();	/* a failure must say why */
		return 0;
	}
	for (size_t i = 0; i < idx.n; i++) {
		const struct mb_entry *t = &idx.v[i].ent;

		if (!t->path || !*t->path || t->image_offset >= idx.trailer_offset ||
		    (i && t->image_offset <= idx.v[i - 1].ent.image_offset))
			abort();
	}
	mbi_index_free(&idx);
	return 0;
}
