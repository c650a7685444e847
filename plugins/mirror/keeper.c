/*
 * A keeper: a child, in a session of its own, that undoes one thing if
 * mbackup dies while it is in force.  It holds the read end of a pipe;
 * done() writes a byte and reaps it; if mbackup dies first (kill -9), the
 * pipe reaches EOF and the child runs its undo.  Between fork and that
 * undo only async-signal-safe calls: another thread may have held a lock
 * at the fork.  A kill of the child's cgroup escapes this; then
 * `mbackup recover` does the same undo from the catalog.
 *
 * Two keepers: the origin's suspend (the guard's thaw of the frozen
 * filesystem would block on a suspended device, and so would every
 * writer: `dmsetup resume`, a no-op on an active device), and the
 * writers' io.max limit (its previous line written back).
 */
#include "plugins/mirror/keeper.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "plugins/mirror/dm.h"

static void keeper_main(int fd, const struct mb_keeper *k)
{
	char c = 0;
	ssize_t n;

	setsid();
	do
		n = read(fd, &c, 1);
	while (n < 0 && errno == EINTR);
	if (n == 1 && c == 'd')
		_exit(0);
	if (k->resume_dm[0]) {
		execlp("dmsetup", "dmsetup", "resume", k->resume_dm, (char *)NULL);
		_exit(127);
	}
	n = (ssize_t)strlen(k->line);
	fd = open(k->file, O_WRONLY | O_CLOEXEC);
	_exit(fd >= 0 && write(fd, k->line, (size_t)n) == n ? 0 : 1);
}

int mb_keeper_start(struct mb_keeper *k, struct mb_error *e)
{
	int fds[2];

	k->pid = -1;
	k->fd = -1;
	if (pipe2(fds, O_CLOEXEC) < 0)
		return mb_fail(e, MB_ERR_MIRROR, errno, "unable to start a keeper");
	k->pid = fork();
	if (k->pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return mb_fail(e, MB_ERR_MIRROR, errno, "unable to start a keeper");
	}
	if (k->pid == 0) {
		close(fds[1]);
		keeper_main(fds[0], k);
	}
	close(fds[0]);
	k->fd = fds[1];
	return 0;
}

void mb_keeper_done(struct mb_keeper *k)
{
	if (k->fd >= 0) {
		(void)!write(k->fd, "d", 1);
		close(k->fd);
		k->fd = -1;
	}
	if (k->pid > 0) {
		while (waitpid(k->pid, NULL, 0) < 0 && errno == EINTR)
			;
		k->pid = -1;
	}
}

int mb_dm_suspend_guarded(const char *name, struct mb_keeper *k, struct mb_error *e)
{
	memset(k, 0, sizeof(*k));
	snprintf(k->resume_dm, sizeof(k->resume_dm), "%s", name);
	if (mb_keeper_start(k, e) < 0)
		return -1;
	if (mb_dm_suspend(name, e) < 0) {
		mb_keeper_done(k);
		return -1;
	}
	return 0;
}
