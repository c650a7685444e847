/* P7: the extent reader, the streaming hot path; see extentmap.h.
 * One 4 MiB buffer per reader, reused for every file: data extents are
 * pread into it (physically contiguous extents in one run), small holes
 * are zeroed in it, large holes are emitted from a static zero buffer. */
#include "extentmap/extentmap.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fiemap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "extentmap/internal.h"
#include "extentmap/prefetch.h"

#define READ_BUF (4u << 20)
#define SMALL_HOLE (64u << 10)	/* zeroed into the buffer, not emitted apart */
#define PREFETCH_AHEAD (64u << 20)

static char zeros[1u << 20];	/* never written */

struct mb_extent_reader {
	int fd;
	char *device;
	uint64_t device_offset;
	char *fs_root;
	int root_fd;		/* fs_root, opened on first use */
	char *buf;
	size_t fill;		/* bytes waiting in buf */
	uint64_t bytes;		/* read from the device or the filesystem */
	struct mb_prefetch *prefetch;	/* after mb_extent_reader_plan */
};

/* Where one mb_extent_read call sends its bytes. */
struct out {
	struct mb_extent_reader *r;
	const struct mb_entry *ent;
	mb_emit_fn emit;
	void *arg;
};

int mb_extent_reader_open(struct mb_extent_reader **out, const char *device,
			  uint64_t device_offset, struct mb_error *e)
{
	struct mb_extent_reader *r = calloc(1, sizeof(*r));

	*out = NULL;
	if (r)
		r->fd = r->root_fd = -1;
	if (!r || !(r->device = strdup(device)) ||
	    posix_memalign((void **)&r->buf, 4096, READ_BUF) != 0) {
		mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to open '%s'", device);
		goto fail;
	}
	r->device_offset = device_offset;
	r->fd = open(device, O_RDONLY | O_CLOEXEC);
	if (r->fd < 0) {
		mb_fail(e, MB_ERR_MIRROR, errno, "unable to open '%s'", device);
		goto fail;
	}
	(void)posix_fadvise(r->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	*out = r;
	return 0;
fail:
	mb_extent_reader_close(r);
	return -1;
}

void mb_extent_reader_set_fs_root(struct mb_extent_reader *r,
				  const char *fs_root)
{
	free(r->fs_root);
	r->fs_root = fs_root ? strdup(fs_root) : NULL;
	if (r->root_fd >= 0)
		close(r->root_fd);
	r->root_fd = -1;
}

int mb_extent_reader_plan(struct mb_extent_reader *r,
			  struct mb_entry *const *entries, size_t n,
			  struct mb_error *e)
{
	mb_prefetch_stop(r->prefetch);
	r->prefetch = NULL;
	return mb_prefetch_start(&r->prefetch, r->fd, r->device_offset, entries, n,
				 PREFETCH_AHEAD, e);
}

void mb_extent_reader_close(struct mb_extent_reader *r)
{
	if (!r)
		return;
	mb_prefetch_stop(r->prefetch);
	if (r->fd >= 0)
		close(r->fd);
	if (r->root_fd >= 0)
		close(r->root_fd);
	free(r->device);
	free(r->fs_root);
	free(r->buf);
	free(r);
}

uint64_t mb_extent_reader_bytes(const struct mb_extent_reader *r)
{
	return r->bytes;
}

static int emit(struct out *o, const void *buf, size_t len, struct mb_error *e)
{
	if (o->emit(o->arg, buf, len, e) == 0)
		return 0;
	return mb_fail(e, MB_ERR_GENERAL, 0, "writing '%s' failed", o->ent->path);
}

static int flush(struct out *o, struct mb_error *e)
{
	size_t n = o->r->fill;

	o->r->fill = 0;
	return n ? emit(o, o->r->buf, n, e) : 0;
}

static int put_zeros(struct out *o, uint64_t len, struct mb_error *e)
{
	struct mb_extent_reader *r = o->r;

	if (len <= SMALL_HOLE && r->fill + len <= READ_BUF) {
		memset(r->buf + r->fill, 0, len);
		r->fill += len;
		return 0;
	}
	if (flush(o, e) < 0)
		return -1;
	while (len > 0) {
		size_t n = len < sizeof(zeros) ? len : sizeof(zeros);

		if (emit(o, zeros, n, e) < 0)
			return -1;
		len -= n;
	}
	return 0;
}

/* Reads len bytes at device offset off (already shifted) into the buffer,
 * emitting it whenever it is full. */
static int put_device(struct out *o, uint64_t off, uint64_t len,
		      struct mb_error *e)
{
	struct mb_extent_reader *r = o->r;

	while (len > 0) {
		size_t n = READ_BUF - r->fill;
		ssize_t got;

		if (n == 0) {
			if (flush(o, e) < 0)
				return -1;
			continue;
		}
		if (n > len)
			n = len;
		got = pread(r->fd, r->buf + r->fill, n, (off_t)off);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return mb_fail(e, MB_ERR_IO, errno,
				       "unable to read '%s' at offset %llu for '%s'",
				       r->device, (unsigned long long)off, o->ent->path);
		if (got == 0)
			return mb_fail(e, MB_ERR_IO, 0,
				       "short read from '%s' at offset %llu for '%s'",
				       r->device, (unsigned long long)off, o->ent->path);
		r->fill += (size_t)got;
		r->bytes += (uint64_t)got;
		mb_prefetch_advance(r->prefetch, (uint64_t)got);
		off += (uint64_t)got;
		len -= (uint64_t)got;
	}
	return 0;
}

/* Index of the first extent that ends after pos. */
static size_t first_extent(const struct mb_entry *ent, uint64_t pos)
{
	size_t lo = 0, hi = ent->n_extents;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct mb_extent *x = &ent->extents[mid];

		if (x->logical + x->length <= pos)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* From extent i (which covers pos), the end of the run of data extents
 * that follow each other both in the file and on the device; *next is the
 * first extent after the run. */
static uint64_t data_run_end(const struct mb_entry *ent, size_t i, size_t *next)
{
	const struct mb_extent *x = &ent->extents[i];
	uint64_t end = x->logical + x->length;
	uint64_t phys_end = x->physical + x->length;

	for (i++; i < ent->n_extents; i++) {
		x = &ent->extents[i];
		if ((x->flags & FIEMAP_EXTENT_UNWRITTEN) || x->logical != end ||
		    x->physical != phys_end)
			break;
		end += x->length;
		phys_end += x->length;
	}
	*next = i;
	return end;
}

/* Emits [pos, end) of the file from its extents. */
static int read_extents(struct out *o, uint64_t pos, uint64_t end,
			struct mb_error *e)
{
	const struct mb_entry *ent = o->ent;
	size_t i = first_extent(ent, pos);

	while (pos < end) {
		const struct mb_extent *x;
		uint64_t stop;
		size_t next;
		int rc;

		/* skip empty or overlapping extents: never trust the order */
		while (i < ent->n_extents &&
		       ent->extents[i].logical + ent->extents[i].length <= pos)
			i++;
		x = i < ent->n_extents ? &ent->extents[i] : NULL;
		next = i + 1;
		if (!x || x->logical > pos) {	/* a hole */
			stop = x && x->logical < end ? x->logical : end;
			next = i;
			rc = put_zeros(o, stop - pos, e);
		} else if (x->flags & FIEMAP_EXTENT_UNWRITTEN) {
			stop = x->logical + x->length;
			stop = stop < end ? stop : end;
			rc = put_zeros(o, stop - pos, e);
		} else {
			stop = data_run_end(ent, i, &next);
			stop = stop < end ? stop : end;
			rc = put_device(o, o->r->device_offset + x->physical +
					   (pos - x->logical), stop - pos, e);
		}
		if (rc < 0)
			return -1;
		pos = stop;
		i = next;
	}
	return flush(o, e);
}

static int open_fs_file(struct out *o, uint64_t end, struct mb_error *e)
{
	struct mb_extent_reader *r = o->r;
	const char *path = o->ent->path;
	struct stat st;
	int fd;

	if (!r->fs_root)
		return mb_fail(e, MB_ERR_INTERNAL, 0,
			       "'%s' must be read through the filesystem but no mount of '%s' was given",
			       path, r->device);
	if (r->root_fd < 0 &&
	    (r->root_fd = open(r->fs_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return mb_fail(e, MB_ERR_IO, errno, "unable to open '%s'", r->fs_root);
	fd = mb_em_open_beneath(r->root_fd, path, O_RDONLY | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return mb_fail(e, MB_ERR_IO, errno, "unable to open '%s/%s'",
			       r->fs_root, path);
	if (fstat(fd, &st) < 0)
		mb_fail(e, MB_ERR_IO, errno, "unable to stat '%s/%s'", r->fs_root, path);
	else if (!S_ISREG(st.st_mode))
		mb_fail(e, MB_ERR_IO, 0, "'%s/%s' is no longer a regular file",
			r->fs_root, path);
	else if ((uint64_t)st.st_size < end)
		mb_fail(e, MB_ERR_IO, 0,
			"'%s/%s' is shorter than expected: %llu bytes, wanted %llu",
			r->fs_root, path, (unsigned long long)st.st_size,
			(unsigned long long)end);
	else
		return fd;
	close(fd);
	return -1;
}

/* Emits [pos, end) of a file read through the mounted split leg. */
static int read_fs(struct out *o, uint64_t pos, uint64_t end, struct mb_error *e)
{
	struct mb_extent_reader *r = o->r;
	int fd = open_fs_file(o, end, e), ret = -1;

	if (fd < 0)
		return -1;
	while (pos < end) {
		size_t n = end - pos < READ_BUF ? end - pos : READ_BUF;
		ssize_t got = pread(fd, r->buf, n, (off_t)pos);

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			mb_fail(e, MB_ERR_IO, got < 0 ? errno : 0,
				got < 0 ? "unable to read '%s/%s'"
					: "'%s/%s' is shorter than expected", r->fs_root,
				o->ent->path);
			goto out;
		}
		r->bytes += (uint64_t)got;
		pos += (uint64_t)got;
		if (emit(o, r->buf, (size_t)got, e) < 0)
			goto out;
	}
	ret = 0;
out:
	close(fd);
	return ret;
}

int mb_extent_read(void *reader, const struct mb_entry *ent, mb_emit_fn emit_fn,
		   void *emit_arg, struct mb_error *e)
{
	struct out o = { reader, ent, emit_fn, emit_arg };
	uint64_t pos = ent->seg_offset, len = ent->seg_length;

	o.r->fill = 0;
	if (ent->type != MB_T_FILE) {	/* 'h' and the rest carry no data */
		if (len == 0)
			return 0;
		return mb_fail(e, MB_ERR_INTERNAL, 0, "'%s' is not a regular file",
			       ent->path);
	}
	if (len == 0 && ent->size > 0) {	/* an entry never segmented */
		pos = 0;
		len = ent->size;
	}
	if (pos > ent->size || len > ent->size - pos)
		return mb_fail(e, MB_ERR_INTERNAL, 0,
			       "segment %llu+%llu of '%s' is past its end (%llu bytes)",
			       (unsigned long long)pos, (unsigned long long)len,
			       ent->path, (unsigned long long)ent->size);
	if (ent->read_via_fs)
		return read_fs(&o, pos, pos + len, e);
	return read_extents(&o, pos, pos + len, e);
}
