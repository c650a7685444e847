/* FIEMAP collection; see extentmap.h. */
#include "extentmap/extentmap.h"

#include <errno.h>
#include <inttypes.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#define FIEMAP_BATCH 512

/* Extents whose physical bytes are not the file's plain data. */
#define UNTRUSTED_FLAGS (FIEMAP_EXTENT_UNKNOWN | FIEMAP_EXTENT_DELALLOC | \
			 FIEMAP_EXTENT_ENCODED | FIEMAP_EXTENT_DATA_ENCRYPTED | \
			 FIEMAP_EXTENT_NOT_ALIGNED | FIEMAP_EXTENT_DATA_INLINE | \
			 FIEMAP_EXTENT_DATA_TAIL)

/* Flags an extent cannot keep (none is defined today): the file is read
 * through the filesystem rather than trusted on a flag not understood. */
#define UNKEPT_FLAGS (~((UINT32_C(1) << MB_EXTENT_FLAG_BITS) - 1))

struct extent_vec {
	struct mb_extent *v;
	size_t n, cap;
};

/* Appends fe, in pieces of at most MB_EXTENT_MAX_LENGTH (4 KiB aligned). */
static int append(struct extent_vec *xv, const struct fiemap_extent *fe)
{
	uint64_t done = 0;

	do {
		uint64_t len = fe->fe_length - done;

		if (xv->n == xv->cap) {
			size_t cap = xv->cap ? xv->cap * 2 : 8;
			struct mb_extent *v = realloc(xv->v, cap * sizeof(*v));

			if (!v)
				return -1;
			xv->v = v;
			xv->cap = cap;
		}
		if (len > MB_EXTENT_MAX_LENGTH)
			len = MB_EXTENT_MAX_LENGTH;
		xv->v[xv->n++] = (struct mb_extent){
			.logical = fe->fe_logical + done,
			.physical = fe->fe_physical + done,
			.length = len,
			.flags = fe->fe_flags,
		};
		done += len;
	} while (done < fe->fe_length);
	return 0;
}

/* One FIEMAP call from start; returns 1 when the LAST extent was seen (or
 * nothing was returned), 0 to go on from *start, -1 with errno. */
static int fiemap_batch(int fd, uint64_t *start, bool sync,
			struct extent_vec *xv, bool *via_fs)
{
	union {
		struct fiemap fm;
		char bytes[sizeof(struct fiemap) +
			   FIEMAP_BATCH * sizeof(struct fiemap_extent)];
	} u;
	struct fiemap *fm = &u.fm;
	const struct fiemap_extent *last;

	memset(fm, 0, sizeof(*fm));
	fm->fm_start = *start;
	fm->fm_length = FIEMAP_MAX_OFFSET - *start;
	fm->fm_flags = sync ? FIEMAP_FLAG_SYNC : 0;
	fm->fm_extent_count = FIEMAP_BATCH;
	if (ioctl(fd, FS_IOC_FIEMAP, fm) < 0)
		return -1;
	if (fm->fm_mapped_extents == 0)
		return 1;
	for (uint32_t i = 0; i < fm->fm_mapped_extents; i++) {
		if (fm->fm_extents[i].fe_flags & (UNTRUSTED_FLAGS | UNKEPT_FLAGS))
			*via_fs = true;
		if (append(xv, &fm->fm_extents[i]) < 0) {
			errno = ENOMEM;
			return -1;
		}
	}
	last = &fm->fm_extents[fm->fm_mapped_extents - 1];
	if (last->fe_flags & FIEMAP_EXTENT_LAST)
		return 1;
	if (last->fe_logical + last->fe_length <= *start) {
		errno = EIO;	/* no progress: never loop forever */
		return -1;
	}
	*start = last->fe_logical + last->fe_length;
	return 0;
}

int mb_fiemap_fd(int fd, struct mb_entry *ent, bool sync, struct mb_error *e)
{
	struct extent_vec xv = { 0 };
	uint64_t start = 0;
	bool via_fs = false;
	int rc;

	/* Only the first call needs to flush: later ones map what it wrote. */
	while ((rc = fiemap_batch(fd, &start, sync && start == 0, &xv,
				  &via_fs)) == 0)
		;
	if (rc < 0 && (errno == EOPNOTSUPP || errno == ENOTTY)) {
		free(xv.v);
		xv = (struct extent_vec){ 0 };
		via_fs = true;
	} else if (rc < 0) {
		free(xv.v);
		return mb_fail(e, MB_ERR_SOURCE, errno,
			       "unable to map the extents of '%s'", ent->path);
	}
	if (xv.n > UINT32_MAX) {	/* (128 GiB of map for one file) */
		free(xv.v);
		return mb_fail(e, MB_ERR_SOURCE, 0, "'%s' has more than %" PRIu32 " extents",
			       ent->path, UINT32_MAX);
	}
	/* A set holds one map per file for the whole run: no spare room (a
	 * one-extent file kept 8 slots, 256 bytes, before). */
	if (xv.n == 0) {
		free(xv.v);
		xv.v = NULL;
	} else if (xv.n < xv.cap) {
		struct mb_extent *fit = realloc(xv.v, xv.n * sizeof(*fit));

		if (fit)
			xv.v = fit;
	}
	free(ent->extents);
	ent->extents = xv.v;
	ent->n_extents = xv.n;
	ent->read_via_fs = via_fs;
	return 0;
}
