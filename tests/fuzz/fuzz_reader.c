/*
 * libFuzzer target: the image reader (image/reader.c over image/tar.c and
 * image/index.c), fed whole images.  Each input is read three ways, as
 * verify, ls and restore --file read an image:
 *   - verify in order from an input that cannot seek and returns short
 *     reads (a pipe): every member, its data, the trailer, the end;
 *   - seekable: the trailer first, then each member reached by seeking
 *     to it (restore --file), its data read and its checksum looked up.
 * A mutation almost never keeps a ustar header checksum, the trailer's
 * index checksum or its self checksum right, which would stop every
 * input at the first check; the target recomputes them in a copy (see
 * fixup()), so mutations reach the code behind those checks.  The checks
 * themselves are covered by the unit tests and tests/integration/40-damage.t.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/hash.h"
#include "image/internal.h"
#include "tests/fuzz/mem_input.h"

#define MAX_SEEKS 64

/* The text of the one pax record key=text of the 'g' member at off. */
static char *record_text(uint8_t *p, size_t size, size_t off, const char *key,
			 size_t *tlen)
{
	size_t klen = strlen(key), at = off + MB_IMAGE_BLOCK, len = 0, i;

	for (i = at; i < size && i < at + 20 && p[i] >= '0' && p[i] <= '9'; i++)
		len = len * 10 + (size_t)(p[i] - '0');
	if (i >= size || p[i] != ' ' || len > size - at ||
	    len < (i - at) + 1 + klen + 2 || memcmp(p + i + 1, key, klen) ||
	    p[i + 1 + klen] != '=')
		return NULL;
	*tlen = len - (i - at) - 1 - klen - 2;
	return (char *)p + i + 2 + klen;
}

/* The line of text starting with word, or NULL. */
static char *line_of(char *text, size_t len, const char *word)
{
	size_t wl = strlen(word);

	for (size_t i = 0; i + wl <= len; i++)
		if ((i == 0 || text[i - 1] == '\n') && memcmp(text + i, word, wl) == 0)
			return text + i;
	return NULL;
}

static void fix_trailer(uint8_t *p, size_t size, size_t off, const char *ih)
{
	size_t tlen, sl = 5 + MB_HASH_HEX_LEN + 1;
	char *t = record_text(p, size, off, MBI_TRAILER_KEY, &tlen), *l, got[MB_HASH_HEX_LEN + 1];

	if (!t)
		return;
	l = line_of(t, tlen, "index-hash ");
	if (ih && l && (size_t)(l - t) + 11 + MB_HASH_HEX_LEN <= tlen)
		memcpy(l + 11, ih, MB_HASH_HEX_LEN);
	if (tlen >= sl && memcmp(t + tlen - sl, "self ", 5) == 0) {
		mb_hash_buf_hex(t, tlen - sl, got);
		memcpy(t + tlen - sl + 5, got, MB_HASH_HEX_LEN);
	}
}

static void fix_checksum(uint8_t *blk)
{
	unsigned sum = 0;

	memset(blk + 148, ' ', 8);
	for (size_t i = 0; i < MB_IMAGE_BLOCK; i++)
		sum += blk[i];
	snprintf((char *)blk + 148, 8, "%06o", sum & 0777777);
	blk[155] = ' ';
}

/* Recomputes the checksums a mutation breaks: the index hash in the
 * trailer, the trailer's self line, every ustar header's checksum. */
static void fixup(uint8_t *p, size_t size)
{
	char ih[MB_HASH_HEX_LEN + 1], *it;
	size_t ilen;
	bool have_ih = false;

	it = record_text(p, size, 0, MBI_INDEX_KEY, &ilen);
	if (it) {
		mb_hash_buf_hex(it, ilen, ih);
		have_ih = true;
	}
	for (size_t off = 0; off + MB_IMAGE_BLOCK <= size; off += MB_IMAGE_BLOCK) {
		uint8_t *blk = p + off;

		if (memcmp(blk + 257, "ustar", 5) != 0)
			continue;
		if (blk[156] == 'g' && strncmp((char *)blk, MBI_TRAILER_NAME, 100) == 0)
			fix_trailer(p, size, off, have_ih ? ih : NULL);
		fix_checksum(blk);
	}
}

static void read_all(struct mb_image_reader *r)
{
	static unsigned char buf[65536];
	struct mb_error e = { 0 };

	while (mb_image_read(r, buf, sizeof(buf), &e) > 0)
		;
}

/* restore --file: the trailer, then each member by seeking to it. */
static void by_seeks(const uint8_t *p, size_t size)
{
	struct mb_image_input in;
	struct mem_input m;
	struct mb_image_reader *r = NULL;
	struct mb_error e = { 0 };
	const struct mb_trailer *t;
	size_t n;

	mem_input_init(&in, &m, p, size, 0, 1);
	if (mb_image_open(&r, &in, &e) < 0)
		return;
	t = mb_image_trailer(r, &e);
	n = mb_image_index(r)->n;
	for (size_t i = 0; i < n && i < MAX_SEEKS; i++) {
		struct mb_member mem;
		struct mb_error e2 = { 0 };

		if (mb_image_seek(r, i, &e2) < 0 || mb_image_next(r, &mem, &e2) != 1)
			continue;
		read_all(r);
		if (t && mb_image_data_hash(r))
			(void)mb_trailer_hash_at(t, mem.offset);
		mb_member_free(&mem);
	}
	mb_image_close(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *p = malloc(size ? size : 1);
	struct mb_image_input in;
	struct mem_input m;
	struct mb_error e = { 0 };
	struct mb_image_stats st;

	if (!p)
		return 0;
	memcpy(p, data, size);
	fixup(p, size);
	/* a pipe: short reads of a size the input picks */
	mem_input_init(&in, &m, p, size, size && p[size - 1] ? p[size - 1] : 4096, 0);
	if (mb_image_verify(&in, &st, &e) < 0 && (!e.code || !e.msg[0]))
		abort();	/* a failure must say why */
	by_seeks(p, size);
	free(p);
	return 0;
}
