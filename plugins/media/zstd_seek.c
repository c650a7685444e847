/* The seek table of a compressed image, by hand; see zstd_seek.h. */
#include "plugins/media/zstd_seek.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define ENTRY_LEN 12	/* with checksums */

static void put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

static uint32_t get32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

size_t mbz_table_len(size_t n)
{
	return MBZ_SKIP_HEAD + n * ENTRY_LEN + MBZ_FOOTER;
}

int mbz_table_add(struct mbz_table *t, uint32_t c_size, uint32_t d_size, uint32_t check,
		  struct mb_error *e)
{
	if (t->n >= MBZ_MAX_FRAMES)
		return mb_fail(e, MB_ERR_MEDIA, 0, "more than %u compressed frames in one image",
			       MBZ_MAX_FRAMES);
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 256;
		struct mbz_frame *v = realloc(t->v, cap * sizeof(*v));

		if (!v)
			return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to grow the seek table");
		t->v = v;
		t->cap = cap;
	}
	t->v[t->n++] = (struct mbz_frame){ c_size, d_size, check };
	t->checksums = true;
	return 0;
}

void mbz_table_render(const struct mbz_table *t, unsigned char *out)
{
	size_t len = mbz_table_len(t->n);
	unsigned char *p = out + MBZ_SKIP_HEAD;

	put32(out, MBZ_SKIP_MAGIC);
	put32(out + 4, (uint32_t)(len - MBZ_SKIP_HEAD));
	for (size_t i = 0; i < t->n; i++, p += ENTRY_LEN) {
		put32(p, t->v[i].c_size);
		put32(p + 4, t->v[i].d_size);
		put32(p + 8, t->v[i].check);
	}
	put32(p, (uint32_t)t->n);
	p[4] = MBZ_CHECKSUM_FLAG;
	put32(p + 5, MBZ_SEEK_MAGIC);
}

int mbz_footer_parse(const unsigned char foot[MBZ_FOOTER], uint32_t *n, size_t *table_len,
		     const char **why)
{
	unsigned desc = foot[4];

	*n = get32(foot);
	*table_len = 0;
	if (get32(foot + 5) != MBZ_SEEK_MAGIC)
		return *why = "no seek table footer at its end", -1;
	if (desc & 0x7c)
		return *why = "reserved bits set in the seek table descriptor", -1;
	if (*n > MBZ_MAX_FRAMES)
		return *why = "too many frames in the seek table", -1;
	*table_len = MBZ_SKIP_HEAD + (size_t)*n * (desc & MBZ_CHECKSUM_FLAG ? 12 : 8) + MBZ_FOOTER;
	return 0;
}

/* One entry: a frame with bytes has compressed bytes, and none is larger
 * than the format allows. */
static int parse_entry(const unsigned char *p, bool checks, struct mbz_frame *f,
		       const char **why)
{
	f->c_size = get32(p);
	f->d_size = get32(p + 4);
	f->check = checks ? get32(p + 8) : 0;
	if (f->d_size > MBZ_MAX_FRAME_D)
		return *why = "a frame larger than the format allows", -1;
	if (f->d_size && f->c_size == 0)
		return *why = "a frame of no compressed bytes holds data", -1;
	return 0;
}

int mbz_table_parse(const unsigned char *p, size_t len, struct mbz_table *t, const char **why)
{
	uint32_t n;
	size_t want, esize;
	struct mb_error e = { 0 };

	memset(t, 0, sizeof(*t));
	if (len < MBZ_SKIP_HEAD + MBZ_FOOTER)
		return *why = "the seek table is too short", -1;
	if (mbz_footer_parse(p + len - MBZ_FOOTER, &n, &want, why) < 0)
		return -1;
	if (want != len)
		return *why = "the seek table's length does not match its frame count", -1;
	if (get32(p) != MBZ_SKIP_MAGIC || get32(p + 4) != len - MBZ_SKIP_HEAD)
		return *why = "the seek table's frame header is wrong", -1;
	t->checksums = p[len - 5] & MBZ_CHECKSUM_FLAG;
	esize = t->checksums ? 12 : 8;
	if (n && !(t->v = calloc(n, sizeof(*t->v))))
		return *why = "out of memory", -1;
	t->cap = n;
	for (; t->n < n; t->n++)
		if (parse_entry(p + MBZ_SKIP_HEAD + t->n * esize, t->checksums, &t->v[t->n], why) < 0)
			goto fail;
	if (mbz_table_index(t, &e) < 0) {
		*why = "out of memory";
		goto fail;
	}
	return 0;
fail:
	mbz_table_free(t);
	return -1;
}

int mbz_table_index(struct mbz_table *t, struct mb_error *e)
{
	free(t->c_off);
	free(t->d_off);
	t->c_off = calloc(t->n + 1, sizeof(*t->c_off));
	t->d_off = calloc(t->n + 1, sizeof(*t->d_off));
	if (!t->c_off || !t->d_off)
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to index the seek table");
	for (size_t i = 0; i < t->n; i++) {
		t->c_off[i + 1] = t->c_off[i] + t->v[i].c_size;
		t->d_off[i + 1] = t->d_off[i] + t->v[i].d_size;
	}
	return 0;
}

size_t mbz_table_find(const struct mbz_table *t, uint64_t pos)
{
	size_t lo = 0, hi = t->n;	/* the first frame ending after pos is in [lo, hi] */

	if (pos >= t->d_off[t->n])
		return t->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (t->d_off[mid + 1] > pos)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

void mbz_table_free(struct mbz_table *t)
{
	free(t->v);
	free(t->c_off);
	free(t->d_off);
	memset(t, 0, sizeof(*t));
}
