/* The run lock: flock() on a small file holding the holder's pid; see
 * lock.h. */
#include "orchestrator/lock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/path.h"

/* The pid the holder wrote into the file, or 0 if none can be read. */
static long holder_pid(int fd)
{
	char buf[32];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	char *end;
	long pid;

	if (n <= 0)
		return 0;
	buf[n] = '\0';
	pid = strtol(buf, &end, 10);
	return end != buf && pid > 0 ? pid : 0;
}

static int locked(int fd, const char *path, struct mb_error *e)
{
	long pid = holder_pid(fd);

	if (pid)
		mb_fail(e, MB_ERR_LOCKED, 0,
			"another mbackup run (pid %ld) holds the lock '%s'",
			pid, path);
	else
		mb_fail(e, MB_ERR_LOCKED, 0,
			"another mbackup run holds the lock '%s'", path);
	mb_hint(e, "wait for it to finish, or check 'mbackup list'");
	return -1;
}

int mb_lock_acquire(const char *path, int *fd, struct mb_error *e)
{
	char pid[32];
	int lfd = -1, n;

	*fd = -1;
	if (mb_make_parents(path, MB_ERR_CONFIG, e) < 0)
		return -1;
	lfd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (lfd < 0)
		return mb_fail(e, MB_ERR_CONFIG, errno,
			       "unable to open lock file '%s'", path);
	while (flock(lfd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EINTR)
			continue;
		if (errno == EWOULDBLOCK)
			locked(lfd, path, e);
		else
			mb_fail(e, MB_ERR_GENERAL, errno, "unable to lock '%s'",
				path);
		close(lfd);
		return -1;
	}
	/* Informational only: the flock is the lock, the pid names it. */
	n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(lfd, 0) < 0 || pwrite(lfd, pid, n, 0) != n) {
		mb_fail(e, MB_ERR_GENERAL, errno,
			"unable to write the pid into lock file '%s'", path);
		close(lfd);
		return -1;
	}
	*fd = lfd;
	return 0;
}

int mb_lock_catalog(const char *catalog, int *fd, struct mb_error *e)
{
	char *path = NULL;
	int rc;

	*fd = -1;
	if (asprintf(&path, "%s.lock", catalog) < 0)
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM,
			       "unable to open lock file '%s.lock'", catalog);
	/* The lock lives beside the catalog: a place where it cannot be made
	 * is a catalog error (12), as when the catalog was opened first. */
	rc = mb_make_parents(catalog, MB_ERR_CATALOG, e);
	if (rc == 0 && (rc = mb_lock_acquire(path, fd, e)) < 0 &&
	    e->code == MB_ERR_CONFIG)
		e->code = MB_ERR_CATALOG;
	free(path);
	return rc;
}

void mb_lock_release(int fd)
{
	if (fd < 0)
		return;
	/* Empty the file first so no stale pid is ever shown. */
	if (ftruncate(fd, 0) < 0)
		(void)0;
	close(fd);
}
