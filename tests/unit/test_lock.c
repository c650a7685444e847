/* Unit tests for orchestrator/lock.c: exclusive, names the holder, drops
 * on release, creates its directory. */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "orchestrator/lock.h"
#include "tests/lib/tap.h"

/* Per process: other runs of this test may share /tmp. */
static char DIR[64], PATH[128];

/* Tries the lock in a forked child; returns its error (code 0 = got it,
 * -1 = the child could not tell). */
static struct mb_error try_in_child(void)
{
	struct mb_error e = { .code = -1 };
	int p[2];
	pid_t pid;

	if (pipe(p) < 0)
		return e;
	e.code = 0;
	pid = fork();
	if (pid == 0) {
		int fd;

		close(p[0]);
		mb_lock_acquire(PATH, &fd, &e);
		if (write(p[1], &e, sizeof(e)) < 0)
			_exit(2);
		_exit(0);
	}
	close(p[1]);
	if (read(p[0], &e, sizeof(e)) != sizeof(e))
		e.code = -1;
	close(p[0]);
	waitpid(pid, NULL, 0);
	return e;
}

static void read_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, len - 1);

	buf[n < 0 ? 0 : n] = '\0';
	if (fd >= 0)
		close(fd);
}

int main(void)
{
	struct mb_error e = { 0 }, ce;
	char want[256], buf[64];
	struct stat st;
	int fd = -1, fd2 = -1;

	plan(25);
	snprintf(DIR, sizeof(DIR), "/tmp/lock-test-%d", (int)getpid());
	snprintf(PATH, sizeof(PATH), "%s/sub/catalog.db.lock", DIR);
	snprintf(want, sizeof(want), "rm -rf %s", DIR);
	if (system(want) != 0)
		diag("could not clean %s", DIR);

	is_int(mb_lock_acquire(PATH, &fd, &e), 0, "first acquire");
	ok(fd >= 0 && (fcntl(fd, F_GETFD) & FD_CLOEXEC), "lock fd is CLOEXEC");
	snprintf(want, sizeof(want), "%s/sub", DIR);
	ok(stat(want, &st) == 0 && (st.st_mode & 07777) == 0700,
	   "missing directory created 0700");
	snprintf(want, sizeof(want), "%ld\n", (long)getpid());
	read_file(PATH, buf, sizeof(buf));
	is_str(buf, want, "our pid is in the file");

	ce = try_in_child();
	is_int(ce.code, MB_ERR_LOCKED, "second acquire (child): MB_ERR_LOCKED");
	snprintf(want, sizeof(want),
		 "another mbackup run (pid %ld) holds the lock '%s'",
		 (long)getpid(), PATH);
	is_str(ce.msg, want, "second acquire: message names the holder");
	is_str(ce.hint, "wait for it to finish, or check 'mbackup list'",
	       "second acquire: hint");

	is_int(mb_lock_acquire(PATH, &fd2, &e), -1,
	       "second acquire in the same process fails too");
	is_int(fd2, -1, "no fd on failure");
	mb_error_clear(&e);

	mb_lock_release(fd);
	read_file(PATH, buf, sizeof(buf));
	is_str(buf, "", "release empties the file");
	ce = try_in_child();
	is_int(ce.code, 0, "acquire after release (child) succeeds");

	/* A holder that has not written its pid yet. */
	int raw = open(PATH, O_RDWR);
	ok(raw >= 0 && flock(raw, LOCK_EX) == 0, "raw flock taken");
	if (ftruncate(raw, 0) < 0)
		diag("ftruncate failed");
	is_int(mb_lock_acquire(PATH, &fd, &e), -1, "locked by a silent holder");
	snprintf(want, sizeof(want), "another mbackup run holds the lock '%s'", PATH);
	is_str(e.msg, want, "silent holder: message without pid");
	close(raw);

	mb_error_clear(&e);
	is_int(mb_lock_acquire(PATH, &fd, &e), 0, "acquire after holder closed");
	mb_lock_release(fd);

	/* A catalog's lock is CATALOG.lock, the very file a run locks. */
	mb_error_clear(&e);
	snprintf(want, sizeof(want), "%s/sub/catalog.db", DIR);
	is_int(mb_lock_catalog(want, &fd, &e), 0, "catalog lock taken");
	is_int(try_in_child().code, MB_ERR_LOCKED, "catalog lock: it is PATH.lock");
	mb_lock_release(fd);
	is_int(try_in_child().code, 0, "catalog lock: released");
	mb_error_clear(&e);
	is_int(mb_lock_catalog("/proc/nonexistent/catalog.db", &fd, &e), -1,
	       "catalog lock in an unusable place fails");
	is_int(e.code, MB_ERR_CATALOG, "catalog lock in an unusable place: a catalog error");
	is_str(e.msg, "unable to create directory '/proc/nonexistent': "
	       "No such file or directory", "catalog lock in an unusable place: message");
	mb_error_clear(&e);
	is_int(mb_lock_catalog("/proc/self/catalog.db", &fd, &e), -1,
	       "catalog lock where no file can be made fails");
	is_int(e.code, MB_ERR_CATALOG, "no lock file: a catalog error");

	mb_error_clear(&e);
	is_int(mb_lock_acquire("/proc/nonexistent/x.lock", &fd, &e), -1,
	       "unusable path fails");
	is_str(e.msg, "unable to create directory '/proc/nonexistent': "
	       "No such file or directory", "unusable path: message");
	snprintf(want, sizeof(want), "rm -rf %s", DIR);
	if (system(want) != 0)
		diag("could not clean %s", DIR);
	return done_testing();
}
