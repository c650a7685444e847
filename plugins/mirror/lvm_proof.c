/*
 * The targeted proof of a merged raid1 leg (lvm_proof.h): a map of the
 * regions written while a leg was split, and a compare of two legs on
 * those regions only.
 */
#include "plugins/mirror/lvm_proof.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
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
#define WORKERS 4			/* pieces in flight: the reads wait, not the CPU */

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

/* The pieces of a compare, shared by its workers. */
struct job {
	const char *a, *b;
	bool mend;
	struct { uint64_t off, len; } *v;
	size_t n;
	size_t next;		/* the next piece to take (atomic) */
	void (*pace)(void *arg, uint64_t n);	/* the run's pace, NULL: none */
	void *pace_arg;
	int stop;		/* a worker found a difference or failed (atomic) */
};

struct worker {
	pthread_t thread;
	struct job *job;
	struct mb_lvm_compare c;
	struct mb_error e;
	int rc;
};

/* Takes pieces until none is left or another worker stops the job. */
static void *work(void *arg)
{
	struct worker *w = arg;
	struct job *j = w->job;
	unsigned char *ba = NULL, *bb = NULL;
	int fa = open_direct(j->a, &w->e), fb = fa < 0 ? -1 : open_direct(j->b, &w->e), wb = -1;

	w->rc = -1;
	if (fb < 0 || (j->mend && (wb = open_direct_rw(j->b, &w->e)) < 0))
		goto out;
	if (posix_memalign((void **)&ba, ALIGN, PIECE) || posix_memalign((void **)&bb, ALIGN, PIECE)) {
		mb_fail(&w->e, MB_ERR_GENERAL, ENOMEM, "unable to compare '%s' and '%s'", j->a, j->b);
		goto out;
	}
	w->rc = 0;
	while (w->rc == 0 && !__atomic_load_n(&j->stop, __ATOMIC_RELAXED)) {
		size_t i = __atomic_fetch_add(&j->next, 1, __ATOMIC_RELAXED);

		if (i >= j->n)
			break;
		if (j->pace)	/* both legs' reads of the piece */
			j->pace(j->pace_arg, 2 * j->v[i].len);
		w->rc = compare_piece(fa, fb, wb, ba, bb, j->v[i].len, j->v[i].off, &w->c);
	}
	if (w->rc != 0)
		__atomic_store_n(&j->stop, 1, __ATOMIC_RELAXED);
	if (w->rc < 0)
		mb_fail(&w->e, MB_ERR_MIRROR, errno, "unable to compare '%s' and '%s'", j->a, j->b);
	if (w->rc == 0 && w->c.mended && fdatasync(wb) < 0)
		w->rc = mb_fail(&w->e, MB_ERR_MIRROR, errno, "unable to write '%s' back to disk", j->b);
out:
	free(ba);
	free(bb);
	if (fa >= 0)
		close(fa);
	if (fb >= 0)
		close(fb);
	if (wb >= 0)
		close(wb);
	return NULL;
}

/* A run of written chunks is cut in pieces of up to 1 MiB; *regions the
 * chunks.  Under the test VM's emulation a read costs tens of
 * milliseconds whatever its size, one at a time: 64 KiB pieces read by
 * one thread made the proof 10 MB/s. */
static int plan_pieces(struct job *j, const struct mb_lvm_dirty *d, uint64_t *regions)
{
	size_t cap = 0;

	for (int pass = 0; pass < 2; pass++) {
		j->n = 0;
		*regions = 0;
		for (uint64_t i = 0, k; i < d->chunks; i = k) {
			uint64_t off = i * d->chunk_bytes, end;

			for (k = i; k < d->chunks && bit_set(d->bits, k); k++)
				;
			if (k == i) {
				k++;
				continue;
			}
			*regions += k - i;
			end = k * d->chunk_bytes < d->size_bytes ? k * d->chunk_bytes : d->size_bytes;
			for (; off < end; off += PIECE, j->n++)
				if (pass) {
					j->v[j->n].off = off;
					j->v[j->n].len = end - off < PIECE ? end - off : PIECE;
				}
		}
		if (!pass && !(j->v = calloc((cap = j->n) ? cap : 1, sizeof(*j->v))))
			return -1;
	}
	return 0;
}

/* Folds worker w's result into *c; the first failure, else the first
 * difference, decides rc. */
static void fold(const struct worker *w, struct mb_lvm_compare *c, int *rc, struct mb_error *e)
{
	c->bytes_read += w->c.bytes_read;
	c->retried += w->c.retried;
	if (w->c.mended && (!c->mended || w->c.mended_at < c->mended_at))
		c->mended_at = w->c.mended_at;
	c->mended += w->c.mended;
	c->bytes_mended += w->c.bytes_mended;
	if (w->c.mend_errno)
		c->mend_errno = w->c.mend_errno;
	if (w->rc == 1 && *rc != -1 && (*rc != 1 || w->c.differ_at < c->differ_at))
		c->differ_at = w->c.differ_at;
	if (w->rc < 0 && *rc != -1)
		*e = w->e;
	if (w->rc < 0 || (w->rc == 1 && *rc == 0))
		*rc = w->rc;
}

static int compare(struct job j, const struct mb_lvm_dirty *d, struct mb_lvm_compare *c,
		   struct mb_error *e)
{
	const char *a = j.a, *b = j.b;
	struct worker w[WORKERS];
	int n, rc = 0;

	memset(c, 0, sizeof(*c));
	memset(w, 0, sizeof(w));
	if (plan_pieces(&j, d, &c->regions) < 0)
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to compare '%s' and '%s'", a, b);
	for (n = 0; n < WORKERS && (n == 0 || (size_t)n < j.n); n++) {
		w[n].job = &j;
		if (n > 0 && pthread_create(&w[n].thread, NULL, work, &w[n]) != 0)
			break;
	}
	work(&w[0]);
	for (int i = 0; i < n; i++) {
		if (i > 0)
			pthread_join(w[i].thread, NULL);
		fold(&w[i], c, &rc, e);
	}
	free(j.v);
	return rc;
}

int mb_lvm_compare_dirty(const char *a, const char *b, const struct mb_lvm_dirty *d,
			 struct mb_lvm_compare *c, struct mb_error *e)
{
	return compare((struct job){ .a = a, .b = b }, d, c, e);
}

int mb_lvm_mend_dirty(const char *a, const char *b, const struct mb_lvm_dirty *d,
		      struct mb_lvm_compare *c, struct mb_error *e)
{
	return compare((struct job){ .a = a, .b = b, .mend = true }, d, c, e);
}

int mb_lvm_mend_dirty_paced(const char *a, const char *b, const struct mb_lvm_dirty *d,
			    void (*pace)(void *arg, uint64_t n), void *pace_arg,
			    struct mb_lvm_compare *c, struct mb_error *e)
{
	return compare((struct job){ .a = a, .b = b, .mend = true, .pace = pace,
				     .pace_arg = pace_arg }, d, c, e);
}
