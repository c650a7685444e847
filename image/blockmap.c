/* Block-hash maps, their difference and the delta member's header; see
 * image/blockmap.h and image/FORMAT.md "Increments". */
#include "image/blockmap.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/internal.h"

#define DELTA_MAGIC "mbackup-delta 1\n"

uint64_t mb_blocks_of(uint64_t size, uint32_t block_size)
{
	return size / block_size + (size % block_size != 0);
}

void mb_blockmap_free(struct mb_blockmap *m)
{
	if (!m)
		return;
	free(m->h);
	m->h = NULL;
	m->n = 0;
}

int mb_blockhasher_init(struct mb_blockhasher *bh, struct mb_blockmap *m,
			uint32_t block_size, uint64_t size, struct mb_error *e)
{
	uint64_t n = mb_blocks_of(size, block_size);

	memset(bh, 0, sizeof(*bh));
	memset(m, 0, sizeof(*m));
	if (block_size < MB_BLOCK_MIN || block_size > MB_BLOCK_MAX)
		return mb_fail(e, MB_ERR_INTERNAL, 0, "block size %" PRIu32 " out of range",
			       block_size);
	m->size = size;
	m->block_size = block_size;
	m->n = (size_t)n;
	if (!(m->h = calloc(n ? n : 1, sizeof(*m->h))) || !(bh->part = malloc(block_size))) {
		mb_blockmap_free(m);
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to hash the blocks");
	}
	bh->m = m;
	mb_hash_init(&bh->whole);
	return 0;
}

static int put_block(struct mb_blockhasher *bh, const void *p, size_t len,
		     struct mb_error *e)
{
	uint64_t i = bh->pos / bh->m->block_size;

	if (i >= bh->m->n)
		return mb_fail(e, MB_ERR_INTERNAL, 0, "more bytes than the file's %" PRIu64,
			       bh->m->size);
	bh->m->h[i] = XXH3_64bits(p, len);
	bh->pos += len;
	return 0;
}

int mb_blockhasher_update(struct mb_blockhasher *bh, const void *buf, size_t len,
			  struct mb_error *e)
{
	const unsigned char *p = buf;
	uint32_t bs = bh->m->block_size;

	if (!bh->no_whole)
		mb_hash_update(&bh->whole, buf, len);
	while (len > 0) {
		if (bh->part_len == 0 && len >= bs) {
			if (put_block(bh, p, bs, e) < 0)
				return -1;
			p += bs;
			len -= bs;
			continue;
		}
		size_t take = bs - bh->part_len < len ? bs - bh->part_len : len;

		memcpy(bh->part + bh->part_len, p, take);
		bh->part_len += take;
		p += take;
		len -= take;
		if (bh->part_len == bs) {
			bh->part_len = 0;
			if (put_block(bh, bh->part, bs, e) < 0)
				return -1;
		}
	}
	return 0;
}

int mb_blockhasher_final(struct mb_blockhasher *bh, struct mb_error *e)
{
	int rc = 0;

	if (bh->part_len)
		rc = put_block(bh, bh->part, bh->part_len, e);
	if (rc == 0 && bh->pos != bh->m->size)
		rc = mb_fail(e, MB_ERR_INTERNAL, 0, "hashed %" PRIu64 " bytes of a file of %" PRIu64,
			     bh->pos, bh->m->size);
	if (rc == 0 && !bh->no_whole)
		mb_hash_final_hex(&bh->whole, bh->m->file_hash);
	free(bh->part);
	bh->part = NULL;
	return rc;
}

void mb_blockhasher_abort(struct mb_blockhasher *bh)
{
	free(bh->part);
	bh->part = NULL;
	mb_blockmap_free(bh->m);
}

static int add_run(struct mb_delta *d, size_t *cap, uint64_t first, uint64_t count,
		   struct mb_error *e)
{
	if (d->n_runs && d->runs[d->n_runs - 1].first + d->runs[d->n_runs - 1].count == first) {
		d->runs[d->n_runs - 1].count += count;
	} else {
		if (d->n_runs == *cap) {
			size_t nc = *cap ? *cap * 2 : 16;
			struct mb_block_run *v = realloc(d->runs, nc * sizeof(*v));

			if (!v)
				return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to compare the blocks");
			d->runs = v;
			*cap = nc;
		}
		d->runs[d->n_runs++] = (struct mb_block_run){ first, count };
	}
	d->blocks += count;
	return 0;
}

static uint64_t block_len(const struct mb_blockmap *m, size_t i)
{
	uint64_t off = (uint64_t)i * m->block_size;

	return m->size - off < m->block_size ? m->size - off : m->block_size;
}

int mb_blockmap_diff(const struct mb_blockmap *old, const struct mb_blockmap *cur,
		     struct mb_delta *d, struct mb_error *e)
{
	size_t cap = 0;

	memset(d, 0, sizeof(*d));
	d->size = cur->size;
	d->block_size = cur->block_size;
	if (old->block_size != cur->block_size)
		return mb_fail(e, MB_ERR_INTERNAL, 0, "block sizes %" PRIu32 " and %" PRIu32 " differ",
			       old->block_size, cur->block_size);
	for (size_t i = 0; i < cur->n; i++) {
		/* the same hash of a block of another length (a short last
		 * block) is not the same block */
		bool same = i < old->n && old->h[i] == cur->h[i] &&
			    block_len(old, i) == block_len(cur, i);

		if (!same && add_run(d, &cap, i, 1, e) < 0) {
			mb_delta_free(d);
			return -1;
		}
	}
	for (size_t i = 0; i < d->n_runs; i++) {
		uint64_t off, len;

		mb_delta_run_range(d, i, &off, &len);
		d->data_bytes += len;
	}
	return 0;
}

void mb_delta_run_range(const struct mb_delta *d, size_t i, uint64_t *off, uint64_t *len)
{
	uint64_t end = (d->runs[i].first + d->runs[i].count) * d->block_size;

	*off = d->runs[i].first * d->block_size;
	*len = (end > d->size ? d->size : end) - *off;
}

void mb_delta_free(struct mb_delta *d)
{
	free(d->runs);
	d->runs = NULL;
	d->n_runs = 0;
}

int mb_delta_header(const struct mb_delta *d, char **text, size_t *len, struct mb_error *e)
{
	struct ibuf b = { 0 };

	*text = NULL;
	if (ibuf_printf(&b, e, DELTA_MAGIC "size %" PRIu64 "\nblock-size %" PRIu32
			"\nruns %zu\n", d->size, d->block_size, d->n_runs) < 0)
		goto fail;
	for (size_t i = 0; i < d->n_runs; i++)
		if (ibuf_printf(&b, e, "r %" PRIu64 " %" PRIu64 "\n", d->runs[i].first,
				d->runs[i].count) < 0)
			goto fail;
	if (ibuf_printf(&b, e, "end\n") < 0)
		goto fail;
	*text = b.p;
	*len = b.len;
	return 0;
fail:
	ibuf_free(&b);
	return -1;
}

/* "<key> <u64>\n" at *p; advances. */
static int key_u64(const char **p, const char *end, const char *key, uint64_t *v)
{
	size_t kl = strlen(key);
	const char *nl = memchr(*p, '\n', (size_t)(end - *p));

	if (!nl || (size_t)(nl - *p) <= kl + 1 || memcmp(*p, key, kl) != 0 || (*p)[kl] != ' ' ||
	    mbi_parse_u64(*p + kl + 1, (size_t)(nl - *p) - kl - 1, v) < 0)
		return -1;
	*p = nl + 1;
	return 0;
}

/* "r <first> <count>\n" at *p; advances. */
static int run_line(const char **p, const char *end, struct mb_block_run *r)
{
	const char *nl = memchr(*p, '\n', (size_t)(end - *p)), *sp;

	if (!nl || nl - *p < 5 || memcmp(*p, "r ", 2) != 0 ||
	    !(sp = memchr(*p + 2, ' ', (size_t)(nl - *p - 2))) ||
	    mbi_parse_u64(*p + 2, (size_t)(sp - *p - 2), &r->first) < 0 ||
	    mbi_parse_u64(sp + 1, (size_t)(nl - sp - 1), &r->count) < 0 || r->count == 0)
		return -1;
	*p = nl + 1;
	return 0;
}

static int delta_runs(const char **p, const char *end, struct mb_delta *d, uint64_t n)
{
	uint64_t next = 0, nblocks = mb_blocks_of(d->size, d->block_size);

	if (n > (uint64_t)(end - *p) / 6 || !(d->runs = calloc(n ? n : 1, sizeof(*d->runs))))
		return -1;
	for (uint64_t i = 0; i < n; i++) {
		struct mb_block_run *r = &d->runs[i];

		if (run_line(p, end, r) < 0 || r->first < next || r->count > nblocks ||
		    r->first > nblocks - r->count)
			return -1;
		next = r->first + r->count;
		d->n_runs++;
		d->blocks += r->count;
	}
	for (size_t i = 0; i < d->n_runs; i++) {
		uint64_t off, len;

		mb_delta_run_range(d, i, &off, &len);
		d->data_bytes += len;
	}
	return 0;
}

int mb_delta_parse(const char *p, size_t len, struct mb_delta *d, size_t *hdr_len,
		   const char *name, struct mb_error *e)
{
	const char *start = p, *end = p + len;
	uint64_t bs = 0, n = 0;

	memset(d, 0, sizeof(*d));
	if (len < strlen(DELTA_MAGIC) || memcmp(p, DELTA_MAGIC, strlen(DELTA_MAGIC)) != 0)
		goto bad;
	p += strlen(DELTA_MAGIC);
	if (key_u64(&p, end, "size", &d->size) < 0 || key_u64(&p, end, "block-size", &bs) < 0 ||
	    bs < MB_BLOCK_MIN || bs > MB_BLOCK_MAX || key_u64(&p, end, "runs", &n) < 0)
		goto bad;
	d->block_size = (uint32_t)bs;
	if (delta_runs(&p, end, d, n) < 0 || end - p < 4 || memcmp(p, "end\n", 4) != 0)
		goto bad;
	*hdr_len = (size_t)(p + 4 - start);
	return 0;
bad:
	mb_delta_free(d);
	return mb_fail(e, MB_ERR_CORRUPT, 0, "corrupt increment member '%s': bad delta header "
		       "at byte %zu", name, (size_t)(p - start));
}
