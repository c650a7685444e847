/* Blocked signals read at safe points; see signals.h. */
#include "orchestrator/signals.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

static const int stop_signals[] = { SIGTERM, SIGINT, SIGHUP };

/* Set once before any thread starts, read-only afterwards. */
static int signal_fd = -1;
/* The stop flag: the first terminating signal seen, shared by every
 * thread that checks (the device threads of a multi-device backup). */
static atomic_int signal_seen;

int mb_signals_block(struct mb_error *e)
{
	sigset_t set;

	sigemptyset(&set);
	for (size_t i = 0; i < sizeof(stop_signals) / sizeof(stop_signals[0]); i++)
		sigaddset(&set, stop_signals[i]);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return mb_fail(e, MB_ERR_GENERAL, errno, "unable to block signals");
	signal_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (signal_fd < 0)
		return mb_fail(e, MB_ERR_GENERAL, errno, "unable to create a signalfd");
	/* A reader that went away must be an error on write, not a death. */
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

int mb_signal_pending(void)
{
	int seen = atomic_load(&signal_seen), none = 0;
	sigset_t pending;

	if (seen || signal_fd < 0 || sigpending(&pending) < 0)
		return seen;
	/* Looked at, never taken: the signal stays pending, so the signalfd
	 * stays readable for every thread that waits on it (mb_signal_fd). */
	for (size_t i = 0; i < sizeof(stop_signals) / sizeof(stop_signals[0]); i++)
		if (sigismember(&pending, stop_signals[i]) == 1) {
			atomic_compare_exchange_strong(&signal_seen, &none, stop_signals[i]);
			break;
		}
	return atomic_load(&signal_seen);
}

int mb_signal_check(struct mb_error *e)
{
	int sig = mb_signal_pending();

	if (!sig)
		return 0;
	return mb_fail(e, MB_ERR_INTERRUPTED, 0, "interrupted by SIG%s",
		       sigabbrev_np(sig) ? sigabbrev_np(sig) : "?");
}

int mb_signal_fd(void)
{
	return signal_fd;
}

struct mb_stop mb_signal_stop(void)
{
	return (struct mb_stop){ signal_fd, mb_signal_check };
}
