/*
 * The fault injection seam for tests: MBACKUP_FAULT=<point>:<action>
 * fires at a named point of the run.  Points are "after-<phase>",
 * "in-window" (frozen, before the split) and "mid-stream" (after the
 * first file); actions: error, term (SIGTERM self), kill (SIGKILL self),
 * hang (sleep until killed).
 */
#include "orchestrator/run.h"
#include "common/clock.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"

int mb_fault(const char *point, struct mb_error *e)
{
	const char *spec = getenv("MBACKUP_FAULT"), *colon;
	size_t len = strlen(point);

	if (!spec || !(colon = strchr(spec, ':')) || (size_t)(colon - spec) != len ||
	    strncmp(spec, point, len) != 0)
		return 0;
	mb_warn("injecting fault '%s' at %s", colon + 1, point);
	if (strcmp(colon + 1, "kill") == 0)
		kill(getpid(), SIGKILL);
	if (strcmp(colon + 1, "term") == 0) {
		kill(getpid(), SIGTERM);	/* blocked: read at the next safe point */
		return 0;
	}
	if (strcmp(colon + 1, "hang") == 0)
		for (;;)
			pause();
	return mb_fail(e, MB_ERR_GENERAL, 0, "injected fault at %s", point);
}
