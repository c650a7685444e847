/* P7: the extent reader, the streaming hot path; see extentmap.h.
 * Data extents (physically contiguous extents in one run) are pread
 * straight into the image writer's buffer when emit is the writer's, or
 * taps over it (common/tap.h: the block hasher, the progress count), which
 * see each span before it is committed (mb_image_emit_space/commit: no
 * copy); else into a 4 MiB buffer of the reader, reused for every file,
 * and emitted from there (copied).  Small holes are zeroed in that buffer,
 * large holes are emitted from a static zero buffer. */
#include "extentmap/extentmap.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fiemap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/fs.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/tap.h"
#include "extentmap/internal.h"
#include "extentmap/prefetch.h"
#include "image/image.h"

#define READ_BUF (4u << 20)
#define SMALL_HOLE (64u << 10)	/* zeroed into the buffer, not emitted apart */
#define PREFETCH_AHEAD (64u << 20)
#define DIRECT_FROM (1u << 20)	/* segments this big are read with O_DIRECT */

static char zeros[1u << 20];	/* never written */

struct mb_extent_reader {
	int fd;
	int dfd;		/* the device again, O_DIRECT, or -1 */
	size_t mem_align, off_align;	/* of buffers, offsets and lengths */
	char *block;		/* one block read directly (off_align bytes) */
	uint64_t block_off;	/* its device offset */
	size_t block_len;	/* and valid bytes, 0: none */
	char *device;
	uint64_t device_offset;
	char *fs_root;
	bool fs_root_lost;	/* set_fs_root ran out of memory */
	int root_fd;		/* fs_root, opened on first use */
	char *buf;
	size_t fill;		/* bytes waiting in buf */
	uint64_t bytes;		/* read from the device or the filesystem */
	uint64_t direct_bytes;	/* of those, read with O_DIRECT */
	uint64_t copied_bytes;	/* of those, read here and emitted by copy */
	struct mb_prefetch *prefetch;	/* after mb_extent_reader_plan */
	uint64_t skip_from;	/* segments the prefetch leaves out, 0: none */
};

/* Where one mb_extent_read call sends its bytes. */
struct out {
	struct mb_extent_reader *r;
	const struct mb_entry *ent;
	mb_emit_fn emit;	/* the writer's, or taps over it, or any other */
	void *arg;
	void *target_arg;	/* of the emit at the end of the taps */
	bool in_place;	/* that is the image writer's: read into its buffer */
	bool copies;	/* not in place, and some emit takes the bytes */
	bool direct;	/* a big segment: O_DIRECT where aligned */
	bool prefetched;	/* the prefetch thread reads this one ahead */
};

/* Big segments are read with O_DIRECT (best effort): the split leg is
 * read once and never again, so its pages in the cache only cost an
 * allocation and a copy each and evict the production data.  Small files
 * stay on the page cache, where read-ahead (prefetch.c) hides the latency
 * of their many small reads.  Without a known alignment: no O_DIRECT. */
static void open_direct(struct mb_extent_reader *r)
{
	struct statx stx;
	unsigned mem = 0, off = 0;
	int ssz;

	if (getenv("MB_NO_DIRECT_READ"))
		return;
	if (statx(r->fd, "", AT_EMPTY_PATH, STATX_DIOALIGN | STATX_TYPE, &stx) < 0)
		return;
	if ((stx.stx_mask & STATX_DIOALIGN) && stx.stx_dio_offset_align) {
		mem = stx.stx_dio_mem_align;
		off = stx.stx_dio_offset_align;
	} else if (S_ISBLK(stx.stx_mode) && ioctl(r->fd, BLKSSZGET, &ssz) == 0 && ssz > 0) {
		mem = off = (unsigned)ssz;
	}
	/* the writer's buffer is MB_IMAGE_BLOCK-aligned, no more */
	if (mem == 0 || mem > MB_IMAGE_BLOCK || (mem & (mem - 1)) ||
	    off == 0 || off > (64u << 10) || (off & (off - 1)) ||
	    posix_memalign((void **)&r->block, 4096, off) != 0)
		return;
	r->mem_align = mem;
	r->off_align = off;
	r->dfd = open(r->device, O_RDONLY | O_DIRECT | O_CLOEXEC);
}

int mb_extent_reader_open(struct mb_extent_reader **out, const char *device,
			  uint64_t device_offset, struct mb_error *e)
{
	struct mb_extent_reader *r = calloc(1, sizeof(*r));

	*out = NULL;
	if (r)
		r->fd = r->dfd = r->root_fd = -1;
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
	open_direct(r);
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
	r->fs_root_lost = fs_root && !r->fs_root;	/* reported at first use */
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
	r->skip_from = r->dfd >= 0 ? DIRECT_FROM : 0;
	return mb_prefetch_start(&r->prefetch, r->fd, r->device_offset, entries, n,
				 PREFETCH_AHEAD, r->skip_from, e);
}

void mb_extent_reader_close(struct mb_extent_reader *r)
{
	if (!r)
		return;
	mb_prefetch_stop(r->prefetch);
	if (r->fd >= 0)
		close(r->fd);
	if (r->dfd >= 0)
		close(r->dfd);
	if (r->root_fd >= 0)
		close(r->root_fd);
	free(r->device);
	free(r->fs_root);
	free(r->buf);
	free(r->block);
	free(r);
}

uint64_t mb_extent_reader_bytes(const struct mb_extent_reader *r)
{
	return r->bytes;
}

uint64_t mb_extent_reader_direct_bytes(const struct mb_extent_reader *r)
{
	return r->direct_bytes;
}

uint64_t mb_extent_reader_copied_bytes(const struct mb_extent_reader *r)
{
	return r->copied_bytes;
}

static int emit(struct out *o, const void *buf, size_t len, struct mb_error *e)
{
	if (o->emit(o->arg, buf, len, e) == 0)
		return 0;
	return mb_fail(e, MB_ERR_GENERAL, 0, "writing '%s' failed", o->ent->path);
}

/* The end of a run that does not fill whole blocks: one block is read
 * directly into r->block and its bytes handed out from there (the next
 * run may start in the same block: never read twice). */
static ssize_t read_block(struct mb_extent_reader *r, char *dst, size_t n,
			  uint64_t off)
{
	ssize_t got;

	if (!(r->block_len && off >= r->block_off &&
	      off < r->block_off + r->block_len)) {
		r->block_len = 0;
		got = pread(r->dfd, r->block, r->off_align, (off_t)off);
		if (got <= 0)
			return got;
		r->block_off = off;
		r->block_len = (size_t)got;
	}
	got = (ssize_t)(r->block_off + r->block_len - off);
	if ((size_t)got > n)
		got = (ssize_t)n;
	memcpy(dst, r->block + (off - r->block_off), (size_t)got);
	return got;
}

static ssize_t counted(struct mb_extent_reader *r, ssize_t direct)
{
	if (direct > 0)
		r->direct_bytes += (uint64_t)direct;
	return direct;
}

/* Reads at most n bytes at device offset off into dst, which has room for
 * writable >= n bytes: with O_DIRECT for a big segment when the offset and
 * dst are aligned (whole blocks into dst, the last one through r->block),
 * else through the page cache. */
static ssize_t read_device(struct out *o, char *dst, size_t n, size_t writable,
			   uint64_t off)
{
	struct mb_extent_reader *r = o->r;
	size_t want;
	ssize_t got;

	if (!o->direct || r->dfd < 0)
		return pread(r->fd, dst, n, (off_t)off);
	if (r->block_len && off >= r->block_off && off < r->block_off + r->block_len)
		return counted(r, read_block(r, dst, n, off));
	if (off % r->off_align || (uintptr_t)dst % r->mem_align)
		return pread(r->fd, dst, n, (off_t)off);
	want = (n + r->off_align - 1) / r->off_align * r->off_align;
	if (want > writable)
		want = n / r->off_align * r->off_align;
	got = want ? pread(r->dfd, dst, want, (off_t)off) : read_block(r, dst, n, off);
	if (got >= 0)
		return counted(r, (size_t)got < n ? got : (ssize_t)n);
	if (errno != EINVAL)
		return -1;
	/* refused after all: the page cache from now on */
	close(r->dfd);
	r->dfd = -1;
	return pread(r->fd, dst, n, (off_t)off);
}

/* Where to pread the next bytes in the writer's buffer (*n of them). */
static char *space(struct out *o, size_t *n, struct mb_error *e)
{
	char *p = mb_image_emit_space(o->target_arg, n);

	if (*n > 0)
		return p;
	mb_fail(e, MB_ERR_INTERNAL, 0, "data of '%s' is longer than its segment",
		o->ent->path);
	return NULL;
}

/* The taps saw the got bytes we pread into the writer's buffer at dst,
 * and the writer took them. */
static int commit(struct out *o, const char *dst, size_t got, struct mb_error *e)
{
	if (mb_tap_see(o->emit, o->arg, dst, got, e) == 0 &&
	    mb_image_emit_commit(o->target_arg, got, e) == 0)
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

	if (o->in_place && flush(o, e) < 0)	/* zeros of a small hole first */
		return -1;
	while (len > 0) {
		size_t n = READ_BUF - r->fill, writable = n;
		char *dst = r->buf + r->fill;
		ssize_t got;

		if (o->in_place && !(dst = space(o, &n, e)))
			return -1;
		if (o->in_place)	/* see mb_image_emit_space */
			writable = (uintptr_t)dst % MB_IMAGE_BLOCK ? n
				   : (n + MB_IMAGE_BLOCK - 1) / MB_IMAGE_BLOCK * MB_IMAGE_BLOCK;
		if (n == 0) {
			if (flush(o, e) < 0)
				return -1;
			continue;
		}
		if (n > len)
			n = len;
		got = read_device(o, dst, n, writable, off);
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
		if (o->in_place && commit(o, dst, (size_t)got, e) < 0)
			return -1;
		if (!o->in_place)
			r->fill += (size_t)got;
		r->bytes += (uint64_t)got;
		r->copied_bytes += o->copies ? (uint64_t)got : 0;
		if (o->prefetched)
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

	if (r->fs_root_lost)
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM,
			       "unable to read '%s' through the filesystem", path);
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
		size_t n = READ_BUF;
		char *dst = o->in_place ? space(o, &n, e) : r->buf;
		ssize_t got;

		if (!dst)
			goto out;
		if (n > end - pos)
			n = end - pos;
		got = pread(fd, dst, n, (off_t)pos);
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
		r->copied_bytes += o->copies ? (uint64_t)got : 0;
		pos += (uint64_t)got;
		if ((o->in_place ? commit(o, dst, (size_t)got, e)
			       : emit(o, r->buf, (size_t)got, e)) < 0)
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
	struct out o = { .r = reader, .ent = ent, .emit = emit_fn, .arg = emit_arg };
	mb_emit_fn target = mb_tap_target(emit_fn, emit_arg, &o.target_arg);
	uint64_t pos = ent->seg_offset, len = ent->seg_length;

	o.in_place = target == mb_image_emit;
	o.copies = !o.in_place && target;
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
	/* big segments direct, into the writer's buffer or into ours (an
	 * emit that is not the writer's): prefetch.c skips them either way */
	o.direct = len >= DIRECT_FROM;
	o.prefetched = !o.r->skip_from || len < o.r->skip_from;
	if (ent->read_via_fs)
		return read_fs(&o, pos, pos + len, e);
	return read_extents(&o, pos, pos + len, e);
}
