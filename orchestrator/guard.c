/* The guard process; see guard.h. */
#include "orchestrator/guard.h"
#include "common/clock.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"

#define GUARD_READY 'R'
#define GUARD_DISARM 'D'
#define GUARD_OK 'K'
#define GUARD_FIRED 'T'
#define GUARD_REPLY_MS 5000

static void thaw_all(const int *fds, size_t n)
{
	for (size_t i = n; i-- > 0;)
		ioctl(fds[i], FITHAW, 0);	/* EINVAL: was not frozen */
}

/* Keeps only sock and the mount fds: the guard must not hold the lock,
 * the catalog or the media open after mbackup is gone. */
static void close_other_fds(int sock, const int *fds, size_t n)
{
	long max = sysconf(_SC_OPEN_MAX);

	if (max < 0 || max > 65536)
		max = 65536;
	for (int fd = 3; fd < max; fd++) {
		bool keep = fd == sock;

		for (size_t i = 0; i < n && !keep; i++)
			keep = fd == fds[i];
		if (!keep)
			close(fd);
	}
}

static void guard_main(int sock, const int *fds, size_t n, int timeout_s)
{
	long long deadline = mb_now_ms() + timeout_s * 1000LL;
	sigset_t all;
	char c = GUARD_READY;

	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	close_other_fds(sock, fds, n);
	if (write(sock, &c, 1) != 1)
		_exit(1);
	for (;;) {
		long long left = deadline - mb_now_ms();
		struct pollfd p = { .fd = sock, .events = POLLIN };
		int r = poll(&p, 1, left > 0 ? (int)left : 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0) {	/* deadline: thaw, tell, wait for the end */
			thaw_all(fds, n);
			c = GUARD_FIRED;
			if (write(sock, &c, 1) < 0)
				_exit(0);
			while (read(sock, &c, 1) == 1)
				if (c == GUARD_DISARM && write(sock, (char[]){ GUARD_FIRED }, 1) < 0)
					break;
			_exit(0);
		}
		if (read(sock, &c, 1) == 1 && c == GUARD_DISARM) {
			c = GUARD_OK;
			if (write(sock, &c, 1) < 0)
				(void)0;
			_exit(0);
		}
		/* EOF or error: mbackup is gone. */
		thaw_all(fds, n);
		_exit(0);
	}
}

/* Opens the mountpoints before forking: the guard must not need a path
 * lookup on a frozen filesystem. */
static int open_mounts(char *const *mounts, size_t n, int *fds, struct mb_error *e)
{
	for (size_t i = 0; i < n; i++) {
		fds[i] = open(mounts[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fds[i] < 0)
			return mb_fail(e, MB_ERR_QUIESCE, errno, "guard: unable to open '%s'", mounts[i]);
	}
	return 0;
}

static int read_reply(int sock, char *c, int timeout_ms)
{
	struct pollfd p = { .fd = sock, .events = POLLIN };

	if (poll(&p, 1, timeout_ms) <= 0)
		return -1;
	return read(sock, c, 1) == 1 ? 0 : -1;
}

int mb_guard_arm(struct mb_guard *g, char *const *mounts, size_t n,
		 int timeout_s, struct mb_error *e)
{
	int sv[2] = { -1, -1 }, *fds = calloc(n ? n : 1, sizeof(int)), rc = -1;
	char c = 0;

	g->pid = -1;
	g->sock = -1;
	for (size_t i = 0; fds && i < n; i++)
		fds[i] = -1;
	if (!fds || open_mounts(mounts, n, fds, e) < 0)
		goto out;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		mb_fail(e, MB_ERR_QUIESCE, errno, "unable to create the guard's socket");
		goto out;
	}
	g->pid = fork();
	if (g->pid < 0) {
		mb_fail(e, MB_ERR_QUIESCE, errno, "unable to start the guard");
		goto out;
	}
	if (g->pid == 0)
		guard_main(sv[1], fds, n, timeout_s);
	close(sv[1]);
	sv[1] = -1;
	g->sock = sv[0];
	sv[0] = -1;
	if (read_reply(g->sock, &c, GUARD_REPLY_MS) < 0 || c != GUARD_READY) {
		mb_fail(e, MB_ERR_QUIESCE, 0, "the guard process did not start");
		goto out;
	}
	mb_debug("guard %d armed, deadline %d s", (int)g->pid, timeout_s);
	rc = 0;
out:
	for (size_t i = 0; fds && i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(fds);
	for (int i = 0; i < 2; i++)
		if (sv[i] >= 0)
			close(sv[i]);
	return rc;
}

int mb_guard_disarm(struct mb_guard *g, bool *fired, struct mb_error *e)
{
	char c = GUARD_DISARM;
	int rc = 0;

	*fired = false;
	if (g->sock < 0)
		return 0;
	if (write(g->sock, &c, 1) != 1 || read_reply(g->sock, &c, GUARD_REPLY_MS) < 0) {
		/* It is gone: it thawed (EOF is its only way out) or was killed.
		 * Either way the window cannot be trusted. */
		*fired = true;
	} else if (c == GUARD_FIRED) {
		*fired = true;
	}
	close(g->sock);
	g->sock = -1;
	while (waitpid(g->pid, NULL, 0) < 0 && errno == EINTR)
		;
	g->pid = -1;
	if (*fired)
		rc = mb_fail(e, MB_ERR_TIMEOUT, 0, "the guard thawed the filesystems before mbackup did");
	return rc;
}
