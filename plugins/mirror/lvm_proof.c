/*
 * The targeted proof of a merged raid1 leg (lvm_proof.h): md's on-disk
 * write-intent bitmap, and a compare of two legs on its dirty chunks.
 */
#include "plugins/mirror/lvm_proof.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BITMAP_MAGIC 0x6d746962u	/* "bitm" */
#define BITMAP_SB_BYTES 256		/* sizeof(bitmap_super_t); the bits follow */
#define BITMAP_STALE (1u << 1)		/* state: the bits cannot be trusted */
#define BITMAP_READ_MAX (64u << 20)	/* 512 Mi chunks: far above any LV */
#define ALIGN 4096
#define PIECE (64u << 10)		/* compared at a time */
#define RETRIES 20			/* of a piece that differs ... */
#define RETRY_NS 25000000L		/* ... 25 ms apart: 0.5 s for a write in flight */

static uint32_t le32(const unsigned char *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const unsigned char *p)
{
	return le32(p) | (uint64_t)le32(p + 4) << 32;
}

static bool bit_set(const unsigned char *bits, uint64_t i)
{
	return bits[i / 8] >> (i % 8) & 1;
}

int mb_lvm_dirty_parse(const unsigned char *buf, size_t len, struct mb_lvm_dirty *d,
		       struct mb_error *e)
{
	uint32_t state, chunk;
	uint64_t sync_sectors, bytes;

	memset(d, 0, sizeof(*d));
	if (len < BITMAP_SB_BYTES || le32(buf) != BITMAP_MAGIC)
		return mb_fail(e, MB_ERR_MIRROR, 0, "no md write-intent bitmap found");
	state = le32(buf + 48);
	chunk = le32(buf + 52);
	sync_sectors = le64(buf + 40);
	if (state & BITMAP_STALE)
		return mb_fail(e, MB_ERR_MIRROR, 0, "the md write-intent bitmap is stale");
	if (chunk < 512 || (chunk & (chunk - 1)) || sync_sectors == 0)
		return mb_fail(e, MB_ERR_MIRROR, 0, "the md write-intent bitmap has chunk size %u "
			       "and sync size %llu sectors", chunk, (unsigned long long)sync_sectors);
	d->chunk_bytes = chunk;
	d->size_bytes = sync_sectors * 512;
	d->chunks = (d->size_bytes + chunk - 1) / chunk;
	bytes = (d->chunks + 7) / 8;
	if (bytes > len - BITMAP_SB_BYTES)
		return mb_fail(e, MB_ERR_MIRROR, 0, "the md write-intent bitmap is cut short "
			       "(%llu chunks, %zu bytes read)", (unsigned long long)d->chunks, len);
	d->bits = calloc(1, bytes);
	if (!d->bits)
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to read the write-intent bitmap");
	memcpy(d->bits, buf + BITMAP_SB_BYTES, bytes);
	/* Bits past the last chunk are padding: never counted or compared. */
	if (d->chunks % 8)
		d->bits[bytes - 1] &= (unsigned char)((1u << (d->chunks % 8)) - 1);
	for (uint64_t i = 0; i < d->chunks; i++)
		d->dirty += bit_set(d->bits, i);
	return 0;
}

/* Opens path for reading, O_DIRECT where the filesystem allows it (a
 * unit test's regular file on tmpfs may not). */
static int open_direct(const char *path, struct mb_error *e)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_DIRECT);

	if (fd < 0 && errno == EINVAL)
		fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		mb_fail(e, MB_ERR_MIRROR, errno, "unable to open '%s'", path);
	return fd;
}

/* len bytes at off (short only at the end of the device). */
static ssize_t read_at(int fd, void *buf, size_t len, uint64_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, (char *)buf + done, len - done, (off_t)(off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

int mb_lvm_dirty_read(const char *dev, struct mb_lvm_dirty *d, struct mb_error *e)
{
	unsigned char *buf = NULL;
	size_t len = ALIGN;
	ssize_t n;
	int fd = open_direct(dev, e), rc = -1;

	memset(d, 0, sizeof(*d));
	if (fd < 0)
		return -1;
	/* The superblock first, then as much as its size needs, rounded to
	 * the direct I/O alignment. */
	for (int pass = 0; pass < 2; pass++) {
		free(buf);
		if (posix_memalign((void **)&buf, ALIGN, len) != 0) {
			buf = NULL;
			mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to read '%s'", dev);
			goto out;
		}
		n = read_at(fd, buf, len, MB_LVM_BITMAP_OFFSET);
		if (n < 0) {
			mb_fail(e, MB_ERR_MIRROR, errno, "unable to read the bitmap of '%s'", dev);
			goto out;
		}
		if (pass == 0 && (size_t)n >= BITMAP_SB_BYTES && le32(buf) == BITMAP_MAGIC &&
		    le32(buf + 52) >= 512) {
			uint64_t chunks = (le64(buf + 40) * 512 + le32(buf + 52) - 1) / le32(buf + 52);
			uint64_t want = BITMAP_SB_BYTES + (chunks + 7) / 8;

			if (want <= len || want > BITMAP_READ_MAX)
				break;
			len = (size_t)((want + ALIGN - 1) / ALIGN * ALIGN);
			continue;
		}
		break;
	}
	rc = mb_lvm_dirty_parse(buf, (size_t)n, d, e);
	if (rc < 0)
		mb_error_prefix(e, "'%s': ", dev);
out:
	free(buf);
	close(fd);
	return rc;
}

int mb_lvm_dirty_union(struct mb_lvm_dirty *into, const struct mb_lvm_dirty *other,
		       struct mb_error *e)
{
	if (into->chunk_bytes != other->chunk_bytes || into->chunks != other->chunks)
		return mb_fail(e, MB_ERR_MIRROR, 0, "the write-intent bitmap changed its geometry "
			       "(%llu to %llu chunks)", (unsigned long long)into->chunks,
			       (unsigned long long)other->chunks);
	into->dirty = 0;
	for (uint64_t i = 0; i < into->chunks; i++) {
		into->bits[i / 8] |= other->bits[i / 8] & (1u << (i % 8));
		into->dirty += bit_set(into->bits, i);
	}
	return 0;
}

void mb_lvm_dirty_free(struct mb_lvm_dirty *d)
{
	free(d->bits);
	memset(d, 0, sizeof(*d));
}

/* One piece of both devices: 0 equal (perhaps after retries), 1 still
 * different, -1 a read failed. */
static int compare_piece(int fa, int fb, unsigned char *ba, unsigned char *bb, size_t len,
			 uint64_t off, struct mb_lvm_compare *c)
{
	const struct timespec pause = { 0, RETRY_NS };

	for (int attempt = 0; attempt <= RETRIES; attempt++) {
		ssize_t na, nb;

		if (attempt)
			nanosleep(&pause, NULL);
		na = read_at(fa, ba, len, off);
		nb = read_at(fb, bb, len, off);
		if (na < 0 || nb < 0)
			return -1;
		c->bytes_read += (uint64_t)na + (uint64_t)nb;
		if (na == nb && memcmp(ba, bb, (size_t)na) == 0) {
			c->retried += attempt > 0;
			return 0;
		}
	}
	c->differ_at = off;
	return 1;
}

int mb_lvm_compare_dirty(const char *a, const char *b, const struct mb_lvm_dirty *d,
			 struct mb_lvm_compare *c, struct mb_error *e)
{
	unsigned char *ba = NULL, *bb = NULL;
	int fa = open_direct(a, e), fb = fa < 0 ? -1 : open_direct(b, e), rc = -1;

	memset(c, 0, sizeof(*c));
	if (fb < 0)
		goto out;
	if (posix_memalign((void **)&ba, ALIGN, PIECE) || posix_memalign((void **)&bb, ALIGN, PIECE)) {
		mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to compare '%s' and '%s'", a, b);
		goto out;
	}
	rc = 0;
	for (uint64_t i = 0; i < d->chunks && rc == 0; i++) {
		uint64_t off = i * d->chunk_bytes;
		uint64_t end = off + d->chunk_bytes < d->size_bytes ? off + d->chunk_bytes : d->size_bytes;

		if (!bit_set(d->bits, i))
			continue;
		c->regions++;
		for (; off < end && rc == 0; off += PIECE)
			rc = compare_piece(fa, fb, ba, bb, end - off < PIECE ? end - off : PIECE,
					   off, c);
	}
	if (rc < 0)
		mb_fail(e, MB_ERR_MIRROR, errno, "unable to compare '%s' and '%s'", a, b);
out:
	free(ba);
	free(bb);
	if (fa >= 0)
		close(fa);
	if (fb >= 0)
		close(fb);
	return rc;
}
