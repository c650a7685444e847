/*
 * The targeted proof of a merged raid1 leg (lvm_proof.h): a map of the
 * regions written while a leg was split, and a compare of two legs on
 * those regions only.
 */
#include "plugins/mirror/lvm_proof.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define ALIGN 4096
#define PIECE (1u << 20)		/* compared at a time, at most */
#define RETRIES 20			/* of a piece that differs ... */
#define RETRY_NS 25000000L		/* ... 25 ms apart: 0.5 s for a write in flight */
#define MENDS 8				/* copies of one piece before it counts as lost */

static bool bit_set(const unsigned char *bits, uint64_t i)
{
	return bits[i / 8] >> (i % 8) & 1;
}

int mb_lvm_dirty_init(struct mb_lvm_dirty *d, uint64_t chunk_bytes, uint64_t size_bytes,
		      struct mb_error *e)
{
	memset(d, 0, sizeof(*d));
	if (chunk_bytes == 0 || chunk_bytes % 512 || size_bytes == 0)
		return mb_fail(e, MB_ERR_MIRROR, 0, "a change map of %llu-byte regions over %llu "
			       "bytes makes no sense", (unsigned long long)chunk_bytes,
			       (unsigned long long)size_bytes);
	d->chunk_bytes = chunk_bytes;
	d->size_bytes = size_bytes;
	d->chunks = (size_bytes + chunk_bytes - 1) / chunk_bytes;
	d->bits = calloc(1, (d->chunks + 7) / 8);
	if (!d->bits)
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to hold a change map of %llu "
			       "regions", (unsigned long long)d->chunks);
	return 0;
}

void mb_lvm_dirty_mark(struct mb_lvm_dirty *d, uint64_t i)
{
	if (i >= d->chunks || bit_set(d->bits, i))
		return;
	d->bits[i / 8] |= (unsigned char)(1u << (i % 8));
	d->dirty++;
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

void mb_lvm_dirty_free(struct mb_lvm_dirty *d)
{
	free(d->bits);
	memset(d, 0, sizeof(*d));
}

/* Writes what a held (na bytes at off) over b; false if it could not. */
static bool mend_piece(int wb, const unsigned char *ba, ssize_t na, uint64_t off,
		       struct mb_lvm_compare *c)
{
	ssize_t n = pwrite(wb, ba, (size_t)na, (off_t)off);

	if (n != na) {
		c->mend_errno = n < 0 ? errno : EIO;
		return false;
	}
	if (!c->mended++)
		c->mended_at = off;
	c->bytes_mended += (uint64_t)na;
	return true;
}

/* One piece of both devices: 0 equal (perhaps after retries, or after a
 * copy of a's over b's when wb >= 0), 1 still different, -1 a read failed.
 * A copy is safe while writes go on: a's is read again and compared after
 * each one, so a copy that a newer write overtook on a is simply made
 * again. */
static int compare_piece(int fa, int fb, int wb, unsigned char *ba, unsigned char *bb,
			 size_t len, uint64_t off, struct mb_lvm_compare *c)
{
	const struct timespec pause = { 0, RETRY_NS };
	int mends = 0;

	for (int attempt = 0; attempt <= RETRIES; attempt++) {
		ssize_t na, nb;

		na = read_at(fa, ba, len, off);
		nb = read_at(fb, bb, len, off);
		if (na < 0 || nb < 0)
			return -1;
		c->bytes_read += (uint64_t)na + (uint64_t)nb;
		if (na == nb && memcmp(ba, bb, (size_t)na) == 0) {
			c->retried += attempt > 0 && !mends;
			return 0;
		}
		if (wb >= 0 && mends < MENDS && na == (ssize_t)len) {
			if (!mend_piece(wb, ba, na, off, c))
				break;
			mends++;
		} else {
			nanosleep(&pause, NULL);
		}
	}
	c->differ_at = off;
	return 1;
}

/* b for writing, O_DIRECT where the filesystem allows it. */
static int open_direct_rw(const char *path, struct mb_error *e)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC | O_DIRECT);

	if (fd < 0 && errno == EINVAL)
		fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		mb_fail(e, MB_ERR_MIRROR, errno, "unable to open '%s' for writing", path);
	return fd;
}

static int compare(const char *a, const char *b, bool mend, const struct mb_lvm_dirty *d,
		   struct mb_lvm_compare *c, struct mb_error *e)
{
	unsigned char *ba = NULL, *bb = NULL;
	int fa = open_direct(a, e), fb = fa < 0 ? -1 : open_direct(b, e), wb = -1, rc = -1;

	memset(c, 0, sizeof(*c));
	if (fb < 0 || (mend && (wb = open_direct_rw(b, e)) < 0))
		goto out;
	if (posix_memalign((void **)&ba, ALIGN, PIECE) || posix_memalign((void **)&bb, ALIGN, PIECE)) {
		mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to compare '%s' and '%s'", a, b);
		goto out;
	}
	rc = 0;
	/* A run of written chunks is read in pieces of up to 1 MiB: under
	 * the test VM's emulation each read costs milliseconds whatever its
	 * size, and a 64 KiB piece a chunk made the proof read at 10 MB/s. */
	for (uint64_t i = 0, j; i < d->chunks && rc == 0; i = j) {
		uint64_t off = i * d->chunk_bytes, end;

		for (j = i; j < d->chunks && bit_set(d->bits, j); j++)
			;
		if (j == i) {
			j++;
			continue;
		}
		c->regions += j - i;
		end = j * d->chunk_bytes < d->size_bytes ? j * d->chunk_bytes : d->size_bytes;
		for (; off < end && rc == 0; off += PIECE)
			rc = compare_piece(fa, fb, wb, ba, bb, end - off < PIECE ? end - off : PIECE,
					   off, c);
	}
	if (rc < 0)
		mb_fail(e, MB_ERR_MIRROR, errno, "unable to compare '%s' and '%s'", a, b);
	if (rc == 0 && c->mended && fdatasync(wb) < 0)
		rc = mb_fail(e, MB_ERR_MIRROR, errno, "unable to write '%s' back to disk", b);
out:
	free(ba);
	free(bb);
	if (fa >= 0)
		close(fa);
	if (fb >= 0)
		close(fb);
	if (wb >= 0)
		close(wb);
	return rc;
}

int mb_lvm_compare_dirty(const char *a, const char *b, const struct mb_lvm_dirty *d,
			 struct mb_lvm_compare *c, struct mb_error *e)
{
	return compare(a, b, false, d, c, e);
}

int mb_lvm_mend_dirty(const char *a, const char *b, const struct mb_lvm_dirty *d,
		      struct mb_lvm_compare *c, struct mb_error *e)
{
	return compare(a, b, true, d, c, e);
}
