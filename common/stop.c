/* The run's stop as lower layers see it; see stop.h. */
#include "common/stop.h"

#include <errno.h>
#include <poll.h>
#include <stddef.h>

#include "common/clock.h"

int mb_stop_check(const struct mb_stop *s, struct mb_error *e)
{
	if (!s || !s->check)
		return 0;
	return s->check(e) < 0 ? -1 : 0;
}

int mb_stop_wait_fd(const struct mb_stop *s, int fd, int ms, const char *what,
		    struct mb_error *e)
{
	struct pollfd p[2] = { { .fd = fd, .events = POLLIN }, { .fd = -1, .events = POLLIN } };
	long long deadline = mb_now_ms() + ms;
	int left = ms;

	if (s && s->check && s->fd >= 0)
		p[1].fd = s->fd;
	for (;;) {
		int n = poll(p, 2, left);

		if (mb_stop_check(s, e) < 0)
			return -1;
		if (n < 0 && errno != EINTR)
			return mb_fail(e, MB_ERR_GENERAL, errno, "unable to wait for %s", what);
		if (n > 0 && p[0].revents)
			return 1;
		if (n > 0 && p[1].revents)
			p[1].fd = -1;	/* readable, yet no stop: watch it no more */
		left = (int)(deadline - mb_now_ms());
		if (left <= 0)
			return 0;
	}
}

int mb_stop_sleep(const struct mb_stop *s, int ms, struct mb_error *e)
{
	return mb_stop_wait_fd(s, -1, ms, "the stop", e) < 0 ? -1 : 0;
}
