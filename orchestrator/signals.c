/* Blocked signals read at safe points; see signals.h. */
#include "orchestrator/signals.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

static int signal_fd = -1;
static int signal_seen;

int mb_signals_block(struct mb_error *e)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
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
	struct signalfd_siginfo info;

	if (signal_seen || signal_fd < 0)
		return signal_seen;
	if (read(signal_fd, &info, sizeof(info)) == sizeof(info))
		signal_seen = (int)info.ssi_signo;
	return signal_seen;
}

int mb_signal_check(struct mb_error *e)
{
	int sig = mb_signal_pending();

	if (!sig)
		return 0;
	return mb_fail(e, MB_ERR_INTERRUPTED, 0, "interrupted by SIG%s",
		       sigabbrev_np(sig) ? sigabbrev_np(sig) : "?");
}
