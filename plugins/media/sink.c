/*
 * Media sinks: the registry and the three simple drivers (file, pipe,
 * stdout).  A tape driver and the parallel set of several devices slot in
 * beside them as further entries of the registry.
 */
#include "plugins/media/sink.h"
#include "plugins/media/tape.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Writes all of buf or fails: a short write is retried, never taken as
 * success. */
static int write_all(struct mb_sink *s, const void *buf, size_t len,
		     struct mb_error *e)
{
	const char *p = buf;

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

/* file:PATH — the image is written to PATH.partial and renamed to PATH
 * only when it is complete, so a failed run never leaves a half image
 * under the real name (nor destroys the old one with --force).  An
 * existing PATH is refused unless --force.  A non-regular PATH (a device
 * such as /dev/null) is written in place. */
struct file_sink {
	char *partial;		/* temp name, NULL when writing in place */
};

static int file_open_mode(struct mb_sink *s, const char *arg, bool force,
			  struct mb_error *e)
{
	struct stat st;
	char *partial = NULL;

	if (!*arg)
		return mb_fail(e, MB_ERR_USAGE, 0, "media '%s' names no file", s->spec);
	if (stat(arg, &st) == 0 && !S_ISREG(st.st_mode)) {
		s->fd = open(arg, O_WRONLY | O_CLOEXEC);
		if (s->fd < 0)
			return mb_fail(e, MB_ERR_MEDIA, errno, "unable to open media '%s'", arg);
		s->path = strdup(arg);
		return 0;
	}
	if (!force && access(arg, F_OK) == 0) {
		mb_fail(e, MB_ERR_MEDIA, 0, "media file '%s' already exists", arg);
		mb_hint(e, "choose a new name, or pass --force to overwrite it");
		return -1;
	}
	if (asprintf(&partial, "%s%s", arg, MB_SINK_PARTIAL_SUFFIX) < 0)
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to open media '%s'", arg);
	s->fd = open(partial, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (s->fd < 0) {
		mb_fail(e, MB_ERR_MEDIA, errno, "unable to create media file '%s'", partial);
		free(partial);
		return -1;
	}
	s->path = strdup(arg);
	s->priv = partial;
	return 0;
}

static int file_open(struct mb_sink *s, const char *arg, struct mb_error *e)
{
	return file_open_mode(s, arg, false, e);
}

static int file_open_force(struct mb_sink *s, const char *arg, struct mb_error *e)
{
	return file_open_mode(s, arg, true, e);
}

static int fd_close(struct mb_sink *s, struct mb_error *e)
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
static int file_close(struct mb_sink *s, struct mb_error *e)
{
	char *partial = s->priv;
	int rc = fd_close(s, e);

	if (rc == 0 && partial && rename(partial, s->path) < 0)
		rc = mb_fail(e, MB_ERR_MEDIA, errno, "unable to rename '%s' to '%s'",
			     partial, s->path);
	if (rc < 0 && partial)
		unlink(partial);
	free(partial);
	s->priv = NULL;
	return rc;
}

static void file_abort(struct mb_sink *s)
{
	char *partial = s->priv;

	fd_abort(s);
	if (partial)
		unlink(partial);
	free(partial);
	s->priv = NULL;
}

/* pipe:FIFO — an existing FIFO; opening blocks until a reader appears. */
static int pipe_open(struct mb_sink *s, const char *arg, struct mb_error *e)
{
	struct stat st;

	if (stat(arg, &st) < 0)
		return mb_fail(e, MB_ERR_MEDIA, errno, "unable to use pipe '%s'", arg);
	if (!S_ISFIFO(st.st_mode))
		return mb_fail(e, MB_ERR_MEDIA, 0, "media '%s' is not a fifo", arg);
	s->fd = open(arg, O_WRONLY | O_CLOEXEC);
	if (s->fd < 0)
		return mb_fail(e, MB_ERR_MEDIA, errno, "unable to open pipe '%s'", arg);
	s->path = strdup(arg);
	return 0;
}

static int stdout_open(struct mb_sink *s, const char *arg, struct mb_error *e)
{
	if (isatty(STDOUT_FILENO)) {
		mb_fail(e, MB_ERR_MEDIA, 0, "refusing to write an image to a terminal");
		mb_hint(e, "redirect standard output, or use --media file:PATH");
		return -1;
	}
	s->fd = STDOUT_FILENO;
	return 0;
}

static int sink_write(struct mb_sink *s, const void *buf, size_t len,
		      struct mb_error *e)
{
	return write_all(s, buf, len, e);
}

static const struct mb_sink_ops sink_drivers[] = {
	{ "file", file_open, sink_write, file_close, file_abort },
	{ "file!", file_open_force, sink_write, file_close, file_abort },
	{ "pipe", pipe_open, sink_write, fd_close, fd_abort },
	{ "stdout", stdout_open, sink_write, fd_close, fd_abort },
	{ "tape", mb_tape_sink_open, mb_tape_sink_write, mb_tape_sink_close,
	  mb_tape_sink_abort },
};

/* Splits "name:arg"; "-" means stdout.  Returns the driver or NULL. */
static const struct mb_sink_ops *sink_find(const char *spec, bool force,
					   const char **arg)
{
	const char *colon = strchr(spec, ':');
	size_t len;

	if (strcmp(spec, "-") == 0) {
		*arg = "";
		return &sink_drivers[3];
	}
	if (!colon)
		return NULL;
	len = colon - spec;
	*arg = colon + 1;
	if (len == 4 && strncmp(spec, "file", 4) == 0)
		return &sink_drivers[force ? 1 : 0];
	if (len == 4 && strncmp(spec, "pipe", 4) == 0)
		return &sink_drivers[2];
	if (len == 4 && strncmp(spec, "tape", 4) == 0)
		return &sink_drivers[4];
	return NULL;
}

int mb_sink_open_mode(struct mb_sink **out, const char *spec, bool force,
		      struct mb_error *e)
{
	const struct mb_sink_ops *ops;
	struct mb_sink *s;
	const char *arg;

	*out = NULL;
	ops = sink_find(spec, force, &arg);
	if (!ops) {
		mb_fail(e, MB_ERR_USAGE, 0, "unknown media '%s'", spec);
		mb_hint(e, "use file:PATH, pipe:FIFO, tape:/dev/nstN or - for standard output");
		return -1;
	}
	s = calloc(1, sizeof(*s));
	if (!s || !(s->spec = strdup(spec))) {
		free(s);
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to open media '%s'", spec);
	}
	s->ops = ops;
	s->fd = -1;
	if (ops->open(s, arg, e) < 0) {
		free(s->path);
		free(s->spec);
		free(s);
		return -1;
	}
	*out = s;
	return 0;
}

int mb_sink_open(struct mb_sink **out, const char *spec, struct mb_error *e)
{
	return mb_sink_open_mode(out, spec, false, e);
}

int mb_sink_write(struct mb_sink *s, const void *buf, size_t len,
		  struct mb_error *e)
{
	return s->ops->write(s, buf, len, e);
}

static void sink_free(struct mb_sink *s)
{
	free(s->path);
	free(s->spec);
	free(s);
}

int mb_sink_close(struct mb_sink *s, struct mb_error *e)
{
	int rc;

	if (!s)
		return 0;
	rc = s->ops->close(s, e);
	sink_free(s);
	return rc;
}

void mb_sink_abort(struct mb_sink *s)
{
	if (!s)
		return;
	s->ops->abort(s);
	sink_free(s);
}

int mb_sink_undo_partial(const char *partial_path, struct mb_error *e)
{
	if (unlink(partial_path) < 0 && errno != ENOENT)
		return mb_fail(e, MB_ERR_MEDIA, errno, "unable to remove '%s'", partial_path);
	return 0;
}

char *mb_sink_spec_dir(const char *spec)
{
	const char *arg, *slash;
	const struct mb_sink_ops *ops = sink_find(spec, false, &arg);

	if (!ops || !*arg)
		return NULL;
	slash = strrchr(arg, '/');
	if (!slash)
		return strdup(".");
	if (slash == arg)
		return strdup("/");
	return strndup(arg, slash - arg);
}
