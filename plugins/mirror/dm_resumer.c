/*
 * The origin's suspend, guarded: a child, in a session of its own, holds
 * the read end of a pipe while the origin is suspended.  If mbackup dies
 * before lvcreate has resumed the origin (kill -9 between the two), the
 * pipe reaches EOF and the child resumes it (dmsetup resume): the guard's thaw of the
 * frozen filesystem would otherwise block on a suspended device, and so
 * would every writer.  A kill of the child's cgroup escapes this; then
 * `mbackup recover` (the snapshot's undo) resumes it.
 */
#include "plugins/mirror/dm.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

/* Between fork and exec only async-signal-safe calls: another thread
 * may have held a lock at the fork.  Resuming an active device is a no-op
 * for dmsetup. */
static void resumer_main(int fd, const char *name)
{
	char c = 0;
	ssize_t n;

	setsid();
	do
		n = read(fd, &c, 1);
	while (n < 0 && errno == EINTR);
	if (n == 1 && c == 'd')
		_exit(0);
	execlp("dmsetup", "dmsetup", "resume", name, (char *)NULL);
	_exit(127);
}

int mb_dm_suspend_guarded(const char *name, struct mb_dm_resumer *r, struct mb_error *e)
{
	int fds[2];

	r->pid = -1;
	r->fd = -1;
	if (pipe2(fds, O_CLOEXEC) < 0)
		return mb_fail(e, MB_ERR_MIRROR, errno, "unable to guard the suspend of '%s'", name);
	r->pid = fork();
	if (r->pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return mb_fail(e, MB_ERR_MIRROR, errno, "unable to guard the suspend of '%s'", name);
	}
	if (r->pid == 0) {
		close(fds[1]);
		resumer_main(fds[0], name);
	}
	close(fds[0]);
	r->fd = fds[1];
	if (mb_dm_suspend(name, e) < 0) {
		mb_dm_resumer_done(r);
		return -1;
	}
	return 0;
}

void mb_dm_resumer_done(struct mb_dm_resumer *r)
{
	if (r->fd >= 0) {
		(void)!write(r->fd, "d", 1);
		close(r->fd);
		r->fd = -1;
	}
	if (r->pid > 0) {
		while (waitpid(r->pid, NULL, 0) < 0 && errno == EINTR)
			;
		r->pid = -1;
	}
}
