/* The image input over a plain fd (see image/io.h). */
#include "image/io.h"

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <unistd.h>

static ssize_t fd_read(void *ctx, void *buf, size_t n, struct mb_error *e)
{
	struct mb_image_fd *f = ctx;
	ssize_t got;

	/* pread where the fd can seek: several inputs may share one fd (the
	 * images of one file) and each keeps its own place. */
	do
		got = f->base >= 0 ? pread(f->fd, buf, n, (off_t)(f->base + (int64_t)f->pos))
				   : read(f->fd, buf, n);
	while (got < 0 && errno == EINTR);
	if (got < 0)
		return mb_fail(e, MB_ERR_IO, errno, "unable to read image '%s' at offset "
			       "%" PRIu64, f->name, f->pos);
	f->pos += (uint64_t)got;
	return got;
}

static int fd_seek(void *ctx, uint64_t off, struct mb_error *e)
{
	struct mb_image_fd *f = ctx;

	if (off > (uint64_t)INT64_MAX - (uint64_t)f->base)
		return mb_fail(e, MB_ERR_MEDIA, EINVAL, "unable to seek in image '%s'", f->name);
	f->pos = off;
	return 0;
}

void mb_image_input_fd(struct mb_image_input *in, struct mb_image_fd *f, int fd,
		       const char *name)
{
	off_t at = lseek(fd, 0, SEEK_CUR);

	f->fd = fd;
	f->base = at;
	f->pos = 0;
	f->name = name;
	*in = (struct mb_image_input){ fd_read, at >= 0 ? fd_seek : NULL, f, name };
}
