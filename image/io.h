/*
 * The image's own ends: where the writer's bytes go (an output) and where
 * the reader's come from (an input).  image/ knows nothing of media
 * drivers; a medium (plugins/media/media.h) hands the image one of these.
 */
#ifndef MB_IMAGE_IO_H
#define MB_IMAGE_IO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"

/* write() takes all of len or fails (a short write is never success).
 * record_size is the medium's fixed record (0: any): the image is padded
 * to it.  fd is the file descriptor behind it if any (-1), only so the
 * writer may enlarge a pipe. */
struct mb_image_output {
	int (*write)(void *ctx, const void *buf, size_t len, struct mb_error *e);
	void *ctx;
	uint32_t record_size;
	int fd;
	/* Called between two images written on the same output (a rescue
	 * image after a device's first): a tape starts a tape file of its
	 * own for it.  NULL: the next image follows at the next byte. */
	int (*next_image)(void *ctx, struct mb_error *e);
	/* A hint, called with boundary_ctx before the bytes of each member
	 * (and of the trailer) are written: a member starts at image byte
	 * off (counted from this image's first byte).  It may come from
	 * another thread than write and ahead of it; it changes no byte.  A
	 * compressing output cuts its frames there.  NULL: no one asks. */
	void (*boundary)(void *boundary_ctx, uint64_t off);
	void *boundary_ctx;
	/* Called once an image's last byte is written (several devices):
	 * whatever the output still holds goes to the medium now, so a
	 * device that fails at the end (a tape's end, an upload's last
	 * part) fails while the set can still move its items to the others.
	 * NULL: nothing is held back. */
	int (*finish)(void *ctx, struct mb_error *e);
};

/* read() returns up to n bytes, 0 at the end of the medium, -1 on error.
 * seek() positions at byte off of the image (counted from the image's
 * first byte); NULL: the input can only be read in order (a pipe).  name
 * is what messages call the image. */
struct mb_image_input {
	ssize_t (*read)(void *ctx, void *buf, size_t n, struct mb_error *e);
	int (*seek)(void *ctx, uint64_t off, struct mb_error *e);
	void *ctx;
	const char *name;
};

/* An input over a plain fd whose image starts at the fd's current offset.
 * Where the fd can seek, it reads with pread from its own position (seek
 * is set), so several inputs can share one fd; else it reads in order
 * (seek NULL).  f must outlive the input; the fd is not closed. */
struct mb_image_fd {
	int fd;
	int64_t base;		/* fd offset of image byte 0; -1: not seekable */
	uint64_t pos;		/* image offset of the next byte read */
	const char *name;
};
void mb_image_input_fd(struct mb_image_input *in, struct mb_image_fd *f, int fd,
		       const char *name);

#endif
