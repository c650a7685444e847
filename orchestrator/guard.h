/*
 * The guard: a child process, armed before the first freeze, that holds
 * open fds of every frozen filesystem and thaws them
 *   - when its socket reaches EOF (mbackup died, even by SIGKILL), or
 *   - when the deadline (--freeze-timeout) passes,
 * whichever comes first.  Disarmed after the last thaw.  It ignores the
 * terminal's signals, writes nothing before it has thawed, and holds no
 * other fd (not the run lock, not the catalog).
 */
#ifndef MB_GUARD_H
#define MB_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/error.h"

struct mb_guard {
	pid_t pid;
	int sock;		/* our end; -1 when not armed */
};

/* Forks the guard for these mountpoints; returns once it is ready. */
int mb_guard_arm(struct mb_guard *g, char *const *mounts, size_t n,
		 int timeout_s, struct mb_error *e);
/* Stops the guard.  *fired is set when it had already thawed on its
 * deadline (the window overran: the split may not be consistent). */
int mb_guard_disarm(struct mb_guard *g, bool *fired, struct mb_error *e);

#endif
