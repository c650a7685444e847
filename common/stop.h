/*
 * The run's stop, as a lower layer sees it: what ends a long wait or a
 * long pass early (a resync wait, a walk of a big tree, a CHECKPOINT)
 * when the run must end (SIGTERM).  The orchestrator fills it from its
 * signals and hands it down through a layer's open parameters (the
 * mirror's, the quiesce plugins', the walk's), so no lower layer
 * includes an orchestrator header or looks at signals itself.
 *
 * fd turns readable once the run must stop and stays readable (poll it,
 * never read it); check fails (MB_ERR_INTERRUPTED, "interrupted by
 * SIGTERM") from then on.  A NULL stop, or one whose check is NULL,
 * never stops anything.  Inside the window nothing may stop: there the
 * caller hands down no stop.  The same shape as struct mb_media_stop.
 */
#ifndef MB_STOP_H
#define MB_STOP_H

#include "common/error.h"

struct mb_stop {
	int fd;
	int (*check)(struct mb_error *e);
};

/* 0 while the run goes on; -1 (check's error) once it must stop. */
int mb_stop_check(const struct mb_stop *s, struct mb_error *e);
/* Sleeps ms milliseconds, or until the stop: then fails as check. */
int mb_stop_sleep(const struct mb_stop *s, int ms, struct mb_error *e);
/* Waits up to ms for fd to turn readable (events: POLLIN) or the stop:
 * 1 if fd is ready, 0 on timeout, -1 on the stop (check's error) or a
 * failed poll (what names the wait in that error). */
int mb_stop_wait_fd(const struct mb_stop *s, int fd, int ms, const char *what,
		    struct mb_error *e);

#endif
