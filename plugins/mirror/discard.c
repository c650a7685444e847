/*
 * Discard-behind on a thin snapshot (snapshot_thin.c): the snapshot's
 * pool blocks are given back once the backup no longer needs them, so a
 * later write of the origin to such a block is no copy (the block is the
 * origin's alone again) and the pool drains as the stream advances.
 *
 * A pool block (the pool's chunk, 64 KiB and up) may hold pieces of
 * several files, and free space or filesystem metadata besides.  Each
 * block counts the ranges of the plan that touch it; a block no range
 * touches is discarded at once (free space, metadata, files outside the
 * set: the snapshot is never mounted), and a block is discarded when the
 * last range touching it is streamed.  Discards are whole pool blocks
 * only (dm-thin ignores the rest of a partial one), runs of neighbours
 * in one BLKDISCARD.  Memory: 4 bytes per pool block of the snapshot
 * (1 TiB in 64 KiB blocks: 64 MiB).
 */
#include "plugins/mirror/discard.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "common/log.h"

struct mb_discard {
	int fd;
	char *dev;
	uint64_t block;		/* bytes of a pool block */
	uint64_t n;		/* pool blocks of the device */
	uint32_t *pending;	/* ranges still to stream, per block */
	bool off;		/* the pool ignores discards: stop asking */
	struct mb_discard_stats st;
};

/* The blocks [first, last] range r touches, clipped to the device;
 * false if none. */
static bool blocks_of(const struct mb_discard *d, const struct mb_mirror_range *r,
		      uint64_t *first, uint64_t *last)
{
	if (r->length == 0 || r->offset / d->block >= d->n)
		return false;
	*first = r->offset / d->block;
	*last = (r->offset + r->length - 1) / d->block;
	if (*last >= d->n)
		*last = d->n - 1;
	return true;
}

/* Gives back blocks [first, first + count). */
static int discard_run(struct mb_discard *d, uint64_t first, uint64_t count, bool behind,
		       struct mb_error *e)
{
	uint64_t r[2] = { first * d->block, count * d->block };

	if (count == 0 || d->off)
		return 0;
	if (ioctl(d->fd, BLKDISCARD, r) < 0) {
		if (errno == EOPNOTSUPP) {
			mb_warn("lvm: '%s' takes no discards (the pool's discards are ignored): "
				"no discard-behind", d->dev);
			d->off = true;
			return 0;
		}
		return mb_fail(e, MB_ERR_IO, errno, "unable to discard %llu bytes at %llu of '%s'",
			       (unsigned long long)r[1], (unsigned long long)r[0], d->dev);
	}
	d->st.discarded += r[1];
	if (behind)
		d->st.behind += r[1];
	d->st.calls++;
	return 0;
}

/* Every block whose count is 0 (none of the plan touches it). */
static int discard_untouched(struct mb_discard *d, struct mb_error *e)
{
	uint64_t start = 0;

	for (uint64_t b = 0; b <= d->n; b++) {
		if (b < d->n && d->pending[b] == 0)
			continue;
		if (discard_run(d, start, b - start, false, e) < 0)
			return -1;
		start = b + 1;
	}
	return 0;
}

int mb_discard_open(struct mb_discard **out, const char *dev, uint64_t block,
		    const struct mb_mirror_range *v, size_t n, struct mb_error *e)
{
	struct mb_discard *d = calloc(1, sizeof(*d));
	uint64_t bytes = 0, first, last;

	*out = NULL;
	if (!d || !(d->dev = strdup(dev))) {
		free(d);
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to plan the discards of '%s'", dev);
	}
	d->fd = -1;
	d->block = block;
	if (block == 0) {
		mb_fail(e, MB_ERR_INTERNAL, 0, "no pool block size to discard '%s' by", dev);
		goto fail;
	}
	if ((d->fd = open(dev, O_WRONLY | O_CLOEXEC)) < 0 || ioctl(d->fd, BLKGETSIZE64, &bytes) < 0) {
		mb_fail(e, MB_ERR_MIRROR, errno, "unable to open '%s' to discard", dev);
		goto fail;
	}
	d->n = bytes / block;
	if (!(d->pending = calloc(d->n ? d->n : 1, sizeof(*d->pending)))) {
		mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to plan the discards of '%s'", dev);
		goto fail;
	}
	for (size_t i = 0; i < n; i++)
		if (blocks_of(d, &v[i], &first, &last))
			for (uint64_t b = first; b <= last; b++)
				d->pending[b]++;
	if (discard_untouched(d, e) < 0)
		goto fail;
	d->st.outside = d->st.discarded;
	*out = d;
	return 0;
fail:
	mb_discard_close(d, NULL);
	return -1;
}

int mb_discard_done(struct mb_discard *d, const struct mb_mirror_range *v, size_t n,
		    struct mb_error *e)
{
	uint64_t first, last, start, b;

	for (size_t i = 0; d && i < n; i++) {
		if (!blocks_of(d, &v[i], &first, &last))
			continue;
		for (start = first, b = first; b <= last; b++) {
			if (d->pending[b] > 0 && --d->pending[b] == 0)
				continue;
			if (discard_run(d, start, b - start, true, e) < 0)
				return -1;
			start = b + 1;
		}
		if (discard_run(d, start, b - start, true, e) < 0)
			return -1;
	}
	return 0;
}

void mb_discard_get(const struct mb_discard *d, struct mb_discard_stats *st)
{
	if (d)
		*st = d->st;
}

void mb_discard_close(struct mb_discard *d, struct mb_discard_stats *st)
{
	if (!d)
		return;
	if (st)
		*st = d->st;
	if (d->fd >= 0)
		close(d->fd);
	free(d->pending);
	free(d->dev);
	free(d);
}
