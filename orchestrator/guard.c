/* The guard process; see guard.h. */
#include "orchestrator/guard.h"
#include "common/clock.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"

#define GUARD_READY 'R'
#define GUARD_DISARM 'D'
#define GUARD_OK 'K'
#define GUARD_FIRED 'T'
#define GUARD_REPLY_MS 5000

#define GUARD_CGROUP_PREFIX "mbackup-guard-"

/* What the guard process holds (its own copy, after the fork). */
struct guard_ctx {
	int sock;
	const int *fds;
	size_t n;
	const struct mb_quiesce_deadline *undo;
	size_t n_undo;
	char *const *hier;	/* [MB_GUARD_HIER]: the cgroup2 mount, then
				 * systemd's v1 one (hybrid), NULL if none */
	char own[MB_GUARD_HIER][PATH_MAX];	/* its own cgroups, "" if none */
};

static int write_text(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), rc = 0;
	size_t len = strlen(text);

	if (fd < 0)
		return -1;
	if (write(fd, text, len) != (ssize_t)len)
		rc = -1;
	if (close(fd) < 0)
		rc = -1;
	return rc;
}

/* Into hier/mbackup-guard-PID; 0 or an errno. */
static int join_own(const char *hier, char own[PATH_MAX])
{
	char procs[PATH_MAX + 16], pid[24];
	int err = 0;

	snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	snprintf(own, PATH_MAX, "%s/" GUARD_CGROUP_PREFIX "%d", hier, (int)getpid());
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", own);
	if (mkdir(own, 0755) < 0 && errno != EEXIST)
		err = errno;
	else if (write_text(procs, pid) < 0)
		err = errno ? errno : EIO;
	if (err) {
		rmdir(own);
		own[0] = '\0';
	}
	return err;
}

/* Leaves the run's process group and cgroup, so that a kill of either
 * (kill -9 -PGID, systemd's stop, cgroup.kill, a cgroup's OOM kill)
 * spares the guard, and asks the OOM killer to spare it too.  Returns 0
 * or the errno of the cgroup2 step (ENOENT: no cgroup2 hierarchy). */
static int guard_detach(struct guard_ctx *c)
{
	int err, err1;

	setsid();	/* fails only for a group leader, which a child is not */
	write_text("/proc/self/oom_score_adj", "-1000");
	err = c->hier[0] ? join_own(c->hier[0], c->own[0]) : ENOENT;
	/* On a hybrid machine systemd tracks a unit's processes in its v1
	 * hierarchy: leave the unit's cgroup there too. */
	err1 = c->hier[1] ? join_own(c->hier[1], c->own[1]) : 0;
	return err ? err : err1;
}

/* The guard's way out: back to each hierarchy's root cgroup, its own
 * removed, so nothing is left even when mbackup is gone. */
static void guard_exit(struct guard_ctx *c)
{
	char procs[PATH_MAX + 16], pid[24];

	snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	for (int i = 0; i < MB_GUARD_HIER; i++) {
		if (!c->own[i][0])
			continue;
		snprintf(procs, sizeof(procs), "%s/cgroup.procs", c->hier[i]);
		if (write_text(procs, pid) == 0)
			rmdir(c->own[i]);
	}
	_exit(0);
}

static void thaw_all(const int *fds, size_t n)
{
	for (size_t i = n; i-- > 0;)
		ioctl(fds[i], FITHAW, 0);	/* EINVAL: was not frozen */
}

/* Keeps only sock, the mount fds and the log file (never on a frozen
 * filesystem; without it a later fd, such as the database socket of an
 * undo, would take its number and the log lines): the guard must not
 * hold the lock, the catalog or the media open after mbackup is gone. */
static int next_kept(int from, int sock, const int *fds, size_t n)
{
	int log = mb_log_file_fd(), k = INT_MAX;

	if (sock >= from && sock < k)
		k = sock;
	if (log >= from && log < k)
		k = log;
	for (size_t i = 0; i < n; i++)
		if (fds[i] >= from && fds[i] < k)
			k = fds[i];
	return k;
}

/* close_range(2) on the gaps between the kept fds: a handful of calls.
 * A close() of every number up to the limit made ~21,000 calls here,
 * inside backup mode (room tap, session 10); the loop stays for a kernel
 * without close_range (before 5.9). */
static void close_other_fds(int sock, const int *fds, size_t n)
{
	long max = sysconf(_SC_OPEN_MAX);

	if (max < 0 || max > 65536)
		max = 65536;
	for (int fd = 3; fd < max;) {
		int k = next_kept(fd, sock, fds, n);
		unsigned last = k == INT_MAX ? ~0U : (unsigned)k - 1;

		if (k > fd && close_range((unsigned)fd, last, 0) < 0)
			for (int f = fd; f < max && (unsigned)f <= last; f++)
				close(f);
		if (k == INT_MAX)
			break;
		fd = k + 1;
	}
}

/* The deadline passed: thaw first, then end from outside what the
 * plugins outside the window hold (a database session), newest first. */
static void guard_fire(struct guard_ctx *c, int timeout_s)
{
	thaw_all(c->fds, c->n);
	mb_warn("guard: the window passed --freeze-timeout (%d s): thawed %zu filesystem(s)",
		timeout_s, c->n);
	for (size_t i = c->n_undo; i-- > 0;) {
		struct mb_error e = { 0 };

		/* (the quiesce plugins' undos need nothing of the context) */
		if (c->undo[i].undo(c->undo[i].arg, &(struct mb_undo_ctx){ 0 }, &e) < 0)
			mb_error_log("guard: unable to end what '%s' holds: %s", c->undo[i].name, e.msg);
	}
}

static void guard_main(struct guard_ctx *c, int timeout_s)
{
	long long deadline = mb_now_ms() + timeout_s * 1000LL;
	sigset_t all;
	char ready[1 + sizeof(int)] = { GUARD_READY }, ch;
	int detached;

	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	close_other_fds(c->sock, c->fds, c->n);
	detached = guard_detach(c);
	memcpy(ready + 1, &detached, sizeof(int));
	if (write(c->sock, ready, sizeof(ready)) != (ssize_t)sizeof(ready))
		guard_exit(c);
	for (;;) {
		long long left = deadline - mb_now_ms();
		struct pollfd p = { .fd = c->sock, .events = POLLIN };
		int r = poll(&p, 1, left > 0 ? (int)left : 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0) {	/* deadline: thaw, tell, wait for the end */
			guard_fire(c, timeout_s);
			if (write(c->sock, (char[]){ GUARD_FIRED }, 1) < 0)
				guard_exit(c);
			while (read(c->sock, &ch, 1) == 1)
				if (ch == GUARD_DISARM && write(c->sock, (char[]){ GUARD_FIRED }, 1) < 0)
					break;
			guard_exit(c);
		}
		if (read(c->sock, &ch, 1) == 1 && ch == GUARD_DISARM) {
			if (write(c->sock, (char[]){ GUARD_OK }, 1) < 0)
				(void)0;
			guard_exit(c);
		}
		/* EOF or error: mbackup is gone (its session with it). */
		thaw_all(c->fds, c->n);
		guard_exit(c);
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

/* The mountpoints of the hierarchies the guard leaves the run's cgroup
 * in, malloc'd, NULL where none is mounted: [0] cgroup2 (/sys/fs/cgroup
 * on a systemd machine, /sys/fs/cgroup/unified on a hybrid one), [1]
 * systemd's v1 hierarchy (name=systemd, hybrid and legacy machines).
 * Read before the fork: nothing here is frozen. */
static void find_hierarchies(char *hier[MB_GUARD_HIER])
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL;
	size_t cap = 0;

	hier[0] = hier[1] = NULL;
	while (f && getline(&line, &cap, f) > 0) {
		char mnt[PATH_MAX], type[64], opts[1024] = "", *o;
		const char *sep = strstr(line, " - ");
		int i;

		if (!sep || sscanf(sep, " - %63s %*s %1023s", type, opts) < 1 ||
		    sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1 || strchr(mnt, '\\'))
			continue;
		o = strstr(opts, "name=systemd");
		i = strcmp(type, "cgroup2") == 0 ? 0 :
		    strcmp(type, "cgroup") == 0 && o && (o == opts || o[-1] == ',') &&
		    (o[12] == '\0' || o[12] == ',') ? 1 : -1;
		if (i >= 0 && !hier[i])
			hier[i] = strdup(mnt);
	}
	free(line);
	if (f)
		fclose(f);
}

/* The guard's first word: ready, and whether it left the run's cgroup. */
static int read_ready(struct mb_guard *g, char *const *hier, struct mb_error *e)
{
	char msg[1 + sizeof(int)] = { 0 };
	struct pollfd p = { .fd = g->sock, .events = POLLIN };
	int err;

	if (poll(&p, 1, GUARD_REPLY_MS) <= 0 || read(g->sock, msg, sizeof(msg)) != sizeof(msg) ||
	    msg[0] != GUARD_READY)
		return mb_fail(e, MB_ERR_QUIESCE, 0, "the guard process did not start");
	memcpy(&err, msg + 1, sizeof(int));
	for (int i = 0; i < MB_GUARD_HIER; i++)	/* the guard removes them itself */
		if (hier[i] && asprintf(&g->cgroups[i], "%s/" GUARD_CGROUP_PREFIX "%d", hier[i],
					(int)g->pid) < 0)
			g->cgroups[i] = NULL;
	if (err)
		mb_warn("guard: unable to leave the run's cgroup: %s; a kill of the whole "
			"cgroup inside the window leaves the filesystems frozen until "
			"'mbackup recover'", err == ENOENT && !hier[0] ?
			"no cgroup2 hierarchy is mounted" : strerror(err));
	return 0;
}

int mb_guard_arm(struct mb_guard *g, char *const *mounts, size_t n,
		 const struct mb_quiesce_deadline *undo, size_t n_undo,
		 int timeout_s, struct mb_error *e)
{
	int sv[2] = { -1, -1 }, *fds = calloc(n ? n : 1, sizeof(int)), rc = -1;
	char *hier[MB_GUARD_HIER];

	find_hierarchies(hier);
	g->pid = -1;
	g->sock = -1;
	g->cgroups[0] = g->cgroups[1] = NULL;
	for (size_t i = 0; fds && i < n; i++)
		fds[i] = -1;
	if (!fds) {
		mb_fail(e, MB_ERR_QUIESCE, ENOMEM, "unable to start the guard");
		goto out;
	}
	if (open_mounts(mounts, n, fds, e) < 0)
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
	if (g->pid == 0) {
		struct guard_ctx c = { .sock = sv[1], .fds = fds, .n = n, .undo = undo,
				       .n_undo = n_undo, .hier = hier };

		guard_main(&c, timeout_s);
	}
	close(sv[1]);
	sv[1] = -1;
	g->sock = sv[0];
	sv[0] = -1;
	if (read_ready(g, hier, e) < 0)
		goto out;
	mb_debug("guard %d armed, deadline %d s, %zu undo(s) at the deadline", (int)g->pid,
		 timeout_s, n_undo);
	rc = 0;
out:
	for (size_t i = 0; fds && i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(fds);
	free(hier[0]);
	free(hier[1]);
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
	for (int i = 0; i < MB_GUARD_HIER; i++) {
		if (g->cgroups[i])	/* the guard removes it on its way out; not if killed */
			rmdir(g->cgroups[i]);
		free(g->cgroups[i]);
		g->cgroups[i] = NULL;
	}
	if (*fired)
		rc = mb_fail(e, MB_ERR_TIMEOUT, 0, "the guard thawed the filesystems before mbackup did"),
		mb_hint(e, "the window outlasted --freeze-timeout; the split is void, run again");
	return rc;
}
