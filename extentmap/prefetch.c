/*
 * Read-ahead for the extent reader.  The stream reads the split leg extent
 * by extent, in logical order, and between two reads it hashes and writes:
 * without help the disk idles during that time.  A thread walks the same
 * plan ahead of the reader and asks the kernel for the next extents
 * (readahead(2): the I/O is queued, nothing is copied), staying at most
 * `ahead` bytes in front, so the reader's pread finds the data in the page
 * cache or already on its way.
 */
#include "extentmap/prefetch.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fiemap.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#define PREFETCH_CHUNK (2u << 20)

struct mb_prefetch {
	int fd;
	uint64_t device_offset;
	struct mb_entry *const *entries;
	size_t n;
	uint64_t ahead;
	uint64_t skip_from;

	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t moved;	/* the reader advanced, or stop */
	uint64_t issued;	/* device bytes asked for so far */
	uint64_t consumed;	/* device bytes the reader has read */
	bool stop;
};

/* Waits until the reader is close enough behind; false when stopping. */
static bool wait_for_room(struct mb_prefetch *p, uint64_t len)
{
	bool go;

	pthread_mutex_lock(&p->lock);
	while (!p->stop && p->issued + len > p->consumed + p->ahead)
		pthread_cond_wait(&p->moved, &p->lock);
	go = !p->stop;
	pthread_mutex_unlock(&p->lock);
	return go;
}

/* Asks for device bytes [off, off + len) in chunks; false when stopping. */
static bool prefetch_range(struct mb_prefetch *p, uint64_t off, uint64_t len)
{
	while (len > 0) {
		uint64_t n = len < PREFETCH_CHUNK ? len : PREFETCH_CHUNK;

		if (!wait_for_room(p, n))
			return false;
		(void)readahead(p->fd, (off64_t)(p->device_offset + off), n);
		pthread_mutex_lock(&p->lock);
		p->issued += n;
		pthread_mutex_unlock(&p->lock);
		off += n;
		len -= n;
	}
	return true;
}

/* The device bytes the reader will pread for one entry, in its order:
 * data extents clipped to the segment (holes and unwritten extents are
 * zeros, read from nowhere). */
static bool prefetch_entry(struct mb_prefetch *p, const struct mb_entry *ent)
{
	uint64_t pos = ent->seg_offset, end = pos + ent->seg_length;

	if (ent->type != MB_T_FILE || ent->read_via_fs)
		return true;
	if (ent->seg_length == 0) {
		pos = 0;
		end = ent->size;
	}
	if (p->skip_from && end - pos >= p->skip_from)
		return true;
	for (size_t i = 0; i < ent->n_extents; i++) {
		const struct mb_extent *x = &ent->extents[i];
		uint64_t a = x->logical > pos ? x->logical : pos;
		uint64_t b = x->logical + x->length < end ? x->logical + x->length : end;

		if ((x->flags & FIEMAP_EXTENT_UNWRITTEN) || a >= b)
			continue;
		if (!prefetch_range(p, x->physical + (a - x->logical), b - a))
			return false;
	}
	return true;
}

static void *prefetch_main(void *arg)
{
	struct mb_prefetch *p = arg;

	for (size_t i = 0; i < p->n; i++)
		if (!prefetch_entry(p, p->entries[i]))
			break;
	return NULL;
}

int mb_prefetch_start(struct mb_prefetch **out, int fd, uint64_t device_offset,
		      struct mb_entry *const *entries, size_t n, uint64_t ahead,
		      uint64_t skip_from, struct mb_error *e)
{
	struct mb_prefetch *p = calloc(1, sizeof(*p));
	int err;

	*out = NULL;
	if (!p)
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to start read-ahead");
	p->fd = fd;
	p->device_offset = device_offset;
	p->entries = entries;
	p->n = n;
	p->ahead = ahead;
	p->skip_from = skip_from;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->moved, NULL);
	err = pthread_create(&p->thread, NULL, prefetch_main, p);
	if (err) {
		pthread_mutex_destroy(&p->lock);
		pthread_cond_destroy(&p->moved);
		free(p);
		return mb_fail(e, MB_ERR_GENERAL, err, "unable to start read-ahead");
	}
	*out = p;
	return 0;
}

void mb_prefetch_advance(struct mb_prefetch *p, uint64_t bytes)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->consumed += bytes;
	pthread_cond_signal(&p->moved);
	pthread_mutex_unlock(&p->lock);
}

void mb_prefetch_stop(struct mb_prefetch *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_signal(&p->moved);
	pthread_mutex_unlock(&p->lock);
	pthread_join(p->thread, NULL);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->moved);
	free(p);
}
