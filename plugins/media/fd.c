/*
 * The media drivers over a plain file descriptor: file:PATH (both ways),
 * pipe:FIFO (writing) and "-" (standard output / standard input).  See
 * media.h for the table they fill.
 */
#include "plugins/media/drivers.h"
#include "plugins/media/writebehind.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PARTIAL_SUFFIX ".partial"

/* Writes all of buf or fails: a short write is retried, never taken as
 * success.  The run's stop is looked at first: a write to a file that
 * takes its time (a slow network filesystem) ends at the next buffer
 * (the image writer's are of megabytes) once a signal came. */
int mbm_write_all(struct mb_sink *s, const void *buf, size_t len, struct mb_error *e)
{
	const char *p = buf;

	if (s->stop.check && s->stop.check(e) < 0)
		return -1;
	while (len > 0) {
		ssize_t n = write(s->fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return mb_fail(e, MB_ERR_MEDIA, errno,
				       "unable to write to '%s' at byte %llu",
				       s->spec, (unsigned long long)s->bytes);
		if (n == 0)
			return mb_fail(e, MB_ERR_MEDIA, 0,
				       "unable to write to '%s' at byte %llu: no progress",
				       s->spec, (unsigned long long)s->bytes);
		p += n;
		len -= n;
		s->bytes += n;
	}
	return 0;
}

/* A file image's state: the name it is written under until complete, and
 * its write-behind. */
struct file_priv {
	char *partial;
	struct mbm_writebehind wb;
};

/* file:PATH's write: every byte as mbm_write_all, then the write-behind. */
static int file_write(struct mb_sink *s, const void *buf, size_t len, struct mb_error *e)
{
	struct file_priv *fp = s->priv;

	if (mbm_write_all(s, buf, len, e) < 0)
		return -1;
	return fp ? mbm_wb_advance(&fp->wb, s->fd, s->bytes, s->spec, e) : 0;
}

static int file_obligation(const char *arg, char **what, struct mb_error *e)
{
	if (asprintf(what, "%s%s", arg, PARTIAL_SUFFIX) < 0) {
		*what = NULL;
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to open media 'file:%s'", arg);
	}
	return 0;
}

static int set_path(struct mb_sink *s, const char *arg, struct mb_error *e)
{
	if (!(s->path = strdup(arg)))
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to open media '%s'", arg);
	return 0;
}

/* file:PATH: what can be seen before opening (see file_open). */
static int file_check(const char *arg, const struct mb_media_params *p, struct mb_error *e)
{
	struct stat st;

	if (!*arg)
		return mb_fail(e, MB_ERR_USAGE, 0, "media 'file:%s' names no file", arg);
	if (stat(arg, &st) == 0 && !S_ISREG(st.st_mode))
		return 0;
	if (!p->force && access(arg, F_OK) == 0) {
		mb_fail(e, MB_ERR_MEDIA, 0, "media file '%s' already exists", arg);
		mb_hint(e, "choose a new name, or pass --force to overwrite it");
		return -1;
	}
	return 0;
}

/* file:PATH — the image is written to PATH.partial and renamed to PATH
 * only when it is complete, so a failed run never leaves a half image
 * under the real name (nor destroys the old one with --force).  An
 * existing PATH is refused unless --force.  A non-regular PATH (a device
 * such as /dev/null) is written in place. */
static int file_open(struct mb_sink *s, const char *arg, const struct mb_media_params *p,
		     struct mb_error *e)
{
	struct stat st;
	char *partial = NULL;
	struct file_priv *fp;

	if (file_check(arg, p, e) < 0)
		return -1;
	if (stat(arg, &st) == 0 && !S_ISREG(st.st_mode)) {
		s->fd = open(arg, O_WRONLY | O_CLOEXEC);
		if (s->fd < 0)
			return mb_fail(e, MB_ERR_MEDIA, errno, "unable to open media '%s'", arg);
		return set_path(s, arg, e);
	}
	if (file_obligation(arg, &partial, e) < 0)
		return -1;
	if (!(fp = calloc(1, sizeof(*fp)))) {
		free(partial);
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to open media 'file:%s'", arg);
	}
	s->fd = open(partial, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (s->fd < 0) {
		mb_fail(e, MB_ERR_MEDIA, errno, "unable to create media file '%s'", partial);
		free(partial);
		free(fp);
		return -1;
	}
	fp->partial = partial;
	s->priv = fp;
	return set_path(s, arg, e);
}

static int fd_close(struct mb_sink *s, struct mb_media_position *where, struct mb_error *e)
{
	int rc = 0;

	/* fsync on a pipe or tty fails with EINVAL: that is not an error. */
	if (fsync(s->fd) < 0 && errno != EINVAL && errno != EROFS)
		rc = mb_fail(e, MB_ERR_MEDIA, errno, "unable to flush '%s'", s->spec);
	if (s->fd > STDERR_FILENO && close(s->fd) < 0 && rc == 0)
		rc = mb_fail(e, MB_ERR_MEDIA, errno, "unable to close '%s'", s->spec);
	s->fd = -1;
	return rc;
}

static void fd_abort(struct mb_sink *s)
{
	if (s->fd > STDERR_FILENO)
		close(s->fd);
	s->fd = -1;
}

/* Makes the complete image visible under its real name. */
static int file_close(struct mb_sink *s, struct mb_media_position *where,
		      struct mb_error *e)
{
	struct file_priv *fp = s->priv;
	char *partial = fp ? fp->partial : NULL;
	int rc = fd_close(s, where, e);

	if (rc == 0 && partial && rename(partial, s->path) < 0)
		rc = mb_fail(e, MB_ERR_MEDIA, errno, "unable to rename '%s' to '%s'",
			     partial, s->path);
	if (rc < 0 && partial)
		unlink(partial);
	free(partial);
	free(fp);
	s->priv = NULL;
	return rc;
}

static void file_abort(struct mb_sink *s)
{
	struct file_priv *fp = s->priv;

	fd_abort(s);
	if (fp && fp->partial)
		unlink(fp->partial);
	if (fp)
		free(fp->partial);
	free(fp);
	s->priv = NULL;
}

static int file_undo(const char *partial_path, const struct mb_undo_ctx *ctx, struct mb_error *e)
{
	if (unlink(partial_path) < 0 && errno != ENOENT)
		return mb_fail(e, MB_ERR_MEDIA, errno, "unable to remove '%s'", partial_path);
	return 0;
}

static char *path_dir(const char *arg)
{
	const char *slash;

	if (!*arg)
		return NULL;
	slash = strrchr(arg, '/');
	if (!slash)
		return strdup(".");
	if (slash == arg)
		return strdup("/");
	return strndup(arg, slash - arg);
}

/* Opens FIFO arg for writing once a reader has it open.  A blocking
 * open would wait for the reader past any signal: the open is tried
 * without blocking, and retried every 100 ms while the stop allows. */
static int open_fifo(const char *arg, const struct mb_media_stop *stop, struct mb_error *e)
{
	for (;;) {
		int fd = open(arg, O_WRONLY | O_NONBLOCK | O_CLOEXEC), flags;

		if (fd >= 0) {
			if ((flags = fcntl(fd, F_GETFL)) < 0 ||
			    fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0) {
				mb_fail(e, MB_ERR_MEDIA, errno, "unable to open pipe '%s'", arg);
				close(fd);
				return -1;
			}
			return fd;
		}
		if (errno != ENXIO && errno != EINTR)
			return mb_fail(e, MB_ERR_MEDIA, errno, "unable to open pipe '%s'", arg);
		if (mbm_wait(-1, 0, stop, 100, e) < 0)
			return -1;
	}
}

static int pipe_check(const char *arg, const struct mb_media_params *p, struct mb_error *e)
{
	struct stat st;

	if (stat(arg, &st) < 0)
		return mb_fail(e, MB_ERR_MEDIA, errno, "unable to use pipe '%s'", arg);
	if (!S_ISFIFO(st.st_mode))
		return mb_fail(e, MB_ERR_MEDIA, 0, "media '%s' is not a fifo", arg),
		       mb_hint(e, "pipe: needs a named pipe (mkfifo); a regular file is file:PATH"), -1;
	return 0;
}

/* pipe:FIFO — an existing FIFO; opening waits until a reader appears. */
static int pipe_open(struct mb_sink *s, const char *arg, const struct mb_media_params *p,
		     struct mb_error *e)
{
	if (pipe_check(arg, p, e) < 0)
		return -1;
	s->fd = open_fifo(arg, &p->stop, e);
	if (s->fd < 0)
		return -1;
	return set_path(s, arg, e);
}

static int stdout_open(struct mb_sink *s, const char *arg, const struct mb_media_params *p,
		       struct mb_error *e)
{
	if (isatty(STDOUT_FILENO)) {
		mb_fail(e, MB_ERR_MEDIA, 0, "refusing to write an image to a terminal");
		mb_hint(e, "redirect standard output, or use --media file:PATH");
		return -1;
	}
	s->fd = STDOUT_FILENO;
	return 0;
}

/* ---- reading ---- */

/* One image of the medium: its own input, so a reader of an earlier image
 * stays valid when the medium moves on to the next (pread). */
struct fd_img {
	struct mb_image_fd f;
	struct mb_image_input raw;
	struct mb_media_stop stop;
	char *label;		/* "PATH@BASE" for an image after the first */
	struct fd_img *prev;
};

/* A read waits for data or the run's stop: a writer of a pipe that stalls
 * (restore --from -) cannot hold a signal back. */
static ssize_t stop_read(void *ctx, void *buf, size_t n, struct mb_error *e)
{
	struct fd_img *fi = ctx;

	if (mbm_wait(fi->f.fd, POLLIN, &fi->stop, -1, e) < 0)
		return -1;
	return fi->raw.read(fi->raw.ctx, buf, n, e);
}

static int stop_seek(void *ctx, uint64_t off, struct mb_error *e)
{
	struct fd_img *fi = ctx;

	return fi->raw.seek(fi->raw.ctx, off, e);
}

/* Starts image input over m->fd at its current offset, named label (owned,
 * may be NULL: m->name). */
static int fd_img_push(struct mb_media_in *m, char *label, struct mb_error *e)
{
	struct fd_img *fi = calloc(1, sizeof(*fi));

	if (!fi) {
		free(label);
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to open image '%s'", m->name);
	}
	fi->label = label;
	if (label)
		m->name = label;
	fi->prev = m->priv;
	m->priv = fi;
	mb_image_input_fd(&fi->raw, &fi->f, m->fd, m->name);
	m->sequential = !fi->raw.seek;
	m->in = fi->raw;
	fi->stop = m->stop;
	if (fi->stop.check)
		m->in = (struct mb_image_input){ stop_read, fi->raw.seek ? stop_seek : NULL, fi,
						 fi->raw.name };
	return 0;
}

static int fd_in_start(struct mb_media_in *m, int fd, struct mb_error *e)
{
	m->fd = fd;
	return fd_img_push(m, NULL, e);
}

static int file_open_read(struct mb_media_in *m, const char *arg,
			  const struct mb_media_params *p, struct mb_error *e)
{
	int fd = open(arg, O_RDONLY | O_CLOEXEC);

	m->name = arg;
	if (fd < 0)
		return mb_fail(e, errno == ENOENT ? MB_ERR_NOT_FOUND : MB_ERR_IO, errno,
			       "unable to open image '%s'", arg);
	m->images = MB_IMAGES_BYTES;
	return fd_in_start(m, fd, e);
}

static int stdin_open_read(struct mb_media_in *m, const char *arg,
			   const struct mb_media_params *p, struct mb_error *e)
{
	m->name = "standard input";
	return fd_in_start(m, STDIN_FILENO, e);
}

/* The current image (the table's read and seek; the image reader uses
 * each image's own input, m->in). */
static ssize_t fd_read(struct mb_media_in *m, void *buf, size_t n, struct mb_error *e)
{
	struct fd_img *fi = m->priv;

	return fi->raw.read(fi->raw.ctx, buf, n, e);
}

static int fd_seek(struct mb_media_in *m, uint64_t off, struct mb_error *e)
{
	struct fd_img *fi = m->priv;

	if (!fi->raw.seek)
		return mb_fail(e, MB_ERR_MEDIA, ESPIPE, "unable to seek in image '%s'", m->name);
	return fi->raw.seek(fi->raw.ctx, off, e);
}

/* The next image starts at the byte after this one; none if the file
 * ends there. */
static int file_next_image(struct mb_media_in *m, uint64_t size, struct mb_error *e)
{
	struct fd_img *fi = m->priv;
	struct stat st;
	uint64_t base = (uint64_t)fi->f.base + size;
	char *label;

	if (!fi->raw.seek || fstat(m->fd, &st) < 0 || !S_ISREG(st.st_mode))
		return mb_fail(e, MB_ERR_MEDIA, errno ? errno : ESPIPE,
			       "unable to read the set from '%s'", m->spec);
	if (base >= (uint64_t)st.st_size)
		return 0;
	if (asprintf(&label, "%s@%" PRIu64, m->spec, base) < 0)
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to read '%s'", m->spec);
	if (lseek(m->fd, (off_t)base, SEEK_SET) < 0) {
		free(label);
		return mb_fail(e, MB_ERR_MEDIA, errno, "unable to seek in image '%s'", m->spec);
	}
	m->base = base;
	return fd_img_push(m, label, e) < 0 ? -1 : 1;
}

/* From the image's start to the file's end (a file cut short holds less
 * than its index says). */
static int file_held(const struct mb_media_in *m, uint64_t *bytes)
{
	struct stat st;

	if (m->fd < 0 || fstat(m->fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size < m->base)
		return 0;
	*bytes = (uint64_t)st.st_size - m->base;
	return 1;
}

static void fd_close_read(struct mb_media_in *m)
{
	if (m->fd > STDERR_FILENO)
		close(m->fd);
	m->fd = -1;
	while (m->priv) {
		struct fd_img *fi = m->priv;

		m->priv = fi->prev;
		free(fi->label);
		free(fi);
	}
}

const struct mb_media_ops mbm_file_ops = {
	.name = "file", .check = file_check, .open_write = file_open, .write = file_write,
	.close = file_close, .abort = file_abort, .obligation = file_obligation,
	.undo = file_undo, .dir = path_dir, .open_read = file_open_read,
	.read = fd_read, .seek = fd_seek, .next_image = file_next_image,
	.close_read = fd_close_read, .held = file_held,
};

const struct mb_media_ops mbm_pipe_ops = {
	.name = "pipe", .check = pipe_check, .open_write = pipe_open, .write = mbm_write_all,
	.close = fd_close, .abort = fd_abort, .dir = path_dir,
};

const struct mb_media_ops mbm_stdout_ops = {
	.name = "stdout", .open_write = stdout_open, .write = mbm_write_all,
	.close = fd_close, .abort = fd_abort, .open_read = stdin_open_read,
	.read = fd_read, .seek = fd_seek, .close_read = fd_close_read,
};
