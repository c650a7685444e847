/*
 * libFuzzer target: the trailer text parser (mbi_trailer_parse), fed the
 * payload of a trailer member ("mbackup-trailer 1\n..." up to "self ...").
 * The "self" line is a checksum of what precedes it, which a mutation
 * almost never keeps right; when the input ends in a well-formed self
 * line, the target recomputes it (in a copy) so mutations of the lines
 * before it reach the end of the parser too.  Whatever it accepts must
 * list file members in increasing offset order.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/hash.h"
#include "image/internal.h"

#define SELF_LINE (5 + MB_HASH_HEX_LEN + 1)	/* "self <hash>\n" */

static void fix_self(char *p, size_t size)
{
	char got[MB_HASH_HEX_LEN + 1];
	size_t at;

	if (size < SELF_LINE)
		return;
	at = size - SELF_LINE;
	if ((at && p[at - 1] != '\n') || memcmp(p + at, "self ", 5) || p[size - 1] != '\n')
		return;
	mb_hash_buf_hex(p, at, got);
	memcpy(p + at + 5, got, MB_HASH_HEX_LEN);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mb_trailer t;
	struct mb_error e = { 0 };
	char *p = malloc(size ? size : 1);

	if (!p)
		return 0;
	memcpy(p, data, size);
	fix_self(p, size);
	if (mbi_trailer_parse(p, size, &t, 4096, "fuzz", &e) < 0) {
		if (!e.code || !e.msg[0])
			abort();
	} else {
		for (size_t i = 1; i < t.n; i++)
			if (t.v[i].offset <= t.v[i - 1].offset)
				abort();
		if (t.n && mb_trailer_hash_at(&t, t.v[t.n - 1].offset) != t.v[t.n - 1].hash)
			abort();
		mbi_trailer_free(&t);
	}
	free(p);
	return 0;
}
