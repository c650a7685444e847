/*
 * Filters: sinks over a sink (s->next).  The deadline watches a device
 * that can stall (a FIFO or socket whose reader stops reading): its fd is
 * made non-blocking and every write waits at most timeout seconds for
 * room, so a stalled device fails instead of hanging the run; the wait
 * also watches the run's stop, so a signal ends a blocked write at once.
 * mbm_wait is that wait, for every driver and filter that must not block
 * past a signal.
 */
#include "plugins/media/drivers.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static long long monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int ms_left(long long until)
{
	long long left;

	if (until < 0)
		return -1;
	left = until - monotonic_ms();
	return left < 0 ? 0 : (int)left;
}

int mbm_wait(int fd, short events, const struct mb_media_stop *stop, int timeout_ms,
	     struct mb_error *e)
{
	bool watch = stop && stop->check;
	struct pollfd pfd[2] = { { .fd = fd, .events = events },
				 { .fd = watch ? stop->fd : -1, .events = POLLIN } };
	long long until = timeout_ms < 0 ? -1 : monotonic_ms() + timeout_ms;

	for (;;) {
		int pr;

		if (watch && stop->check(e) < 0)
			return -1;
		pr = poll(pfd, 2, ms_left(until));
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr < 0)
			return mb_fail(e, MB_ERR_MEDIA, errno, "unable to wait for the media");
		if (watch && pfd[1].revents && stop->check(e) < 0)
			return -1;
		if (pfd[0].revents)
			return 1;
		if (pr == 0)
			return 0;
		pfd[1].fd = -1;		/* readable but no stop: checked each round */
	}
}

struct deadline {
	unsigned timeout;	/* seconds; 0: never */
	struct mb_media_stop stop;
	int flags;		/* the fd's flags before */
};

static int deadline_write(struct mb_sink *s, const void *buf, size_t len,
			  struct mb_error *e)
{
	struct deadline *d = s->priv;
	struct mb_sink *n = s->next;
	const char *c = buf;

	while (len > 0) {
		int ready = mbm_wait(n->fd, POLLOUT, &d->stop,
				     d->timeout ? (int)d->timeout * 1000 : -1, e);
		ssize_t w;

		if (ready < 0)
			return -1;
		if (ready == 0)
			return mb_fail(e, MB_ERR_TIMEOUT, 0, "unable to write to '%s' at byte %llu: "
				       "stalled for %u s", n->spec, (unsigned long long)n->bytes, d->timeout),
			       mb_hint(e, "its reader or drive stalled; --device-timeout sets how long "
				       "mbackup waits"), -1;
		w = write(n->fd, c, len);
		if (w < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (w <= 0)
			return mb_fail(e, MB_ERR_MEDIA, w < 0 ? errno : 0, "unable to write to "
				       "'%s' at byte %llu", n->spec, (unsigned long long)n->bytes);
		c += w;
		len -= (size_t)w;
		n->bytes += (uint64_t)w;
		s->bytes += (uint64_t)w;
	}
	return 0;
}

/* Gives the fd its blocking mode back before the sink below closes it. */
static void deadline_abort(struct mb_sink *s)
{
	struct deadline *d = s->priv;

	if (d && s->next->fd >= 0)
		fcntl(s->next->fd, F_SETFL, d->flags);
	free(d);
	s->priv = NULL;
}

static int deadline_close(struct mb_sink *s, struct mb_media_position *where,
			  struct mb_error *e)
{
	deadline_abort(s);
	return 0;
}

const struct mb_media_ops mbm_deadline_ops = {
	.name = "deadline", .write = deadline_write, .close = deadline_close,
	.abort = deadline_abort,
};

int mb_sink_push_deadline(struct mb_sink **top, unsigned timeout,
			  const struct mb_media_stop *stop, struct mb_error *e)
{
	struct mb_sink *n = *top, *s;
	struct deadline *d;
	struct stat st;

	if (n->fd < 0 || fstat(n->fd, &st) < 0 || !(S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)))
		return 0;
	s = mbm_sink_new(&mbm_deadline_ops, n->spec);
	d = calloc(1, sizeof(*d));
	if (!s || !d || (d->flags = fcntl(n->fd, F_GETFL)) < 0 ||
	    fcntl(n->fd, F_SETFL, d->flags | O_NONBLOCK) < 0) {
		free(d);
		if (s)
			free(s->spec);
		free(s);
		return mb_fail(e, MB_ERR_GENERAL, errno ? errno : ENOMEM,
			       "unable to watch media '%s' for stalls", n->spec);
	}
	d->timeout = timeout;
	if (stop)
		d->stop = *stop;
	s->priv = d;
	s->next = n;
	s->fd = n->fd;
	s->record_size = n->record_size;
	s->path = NULL;
	*top = s;
	return 0;
}
