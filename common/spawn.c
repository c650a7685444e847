/* External commands: posix_spawnp from argv, captured output, timeout; see
 * spawn.h.  No global state: safe to call from several threads at once. */
#include "common/spawn.h"
#include "common/clock.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"

#define OUT_MAX (16u << 20)	/* stdout kept at most */
#define ERR_KEEP 4096		/* last bytes of stderr kept */
#define KILL_GRACE_MS 2000	/* SIGTERM .. SIGKILL */

extern char **environ;

/* Output being collected from one pipe. */
struct sink {
	int fd;
	char *buf;
	size_t len, cap;
	size_t limit;		/* keep at most this much */
	bool keep_tail;		/* keep the last `limit` bytes, not the first */
	bool truncated;
};

/* "lvs --reportformat json vg", for messages and the debug log. */
static void join_argv(const char *const argv[], char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = 0; argv[i] && n + 1 < len; i++)
		n += snprintf(buf + n, len - n, "%s%s", i ? " " : "", argv[i]);
	if (n >= len && len > 4)
		memcpy(buf + len - 4, "...", 4);
}

/* environ with LC_ALL=C in place of any LC_ALL; built before fork because
 * allocating in the child of a threaded process is not safe. */
static char **child_env(void)
{
	size_t n = 0, k = 0;
	char **env;

	while (environ && environ[n])
		n++;
	env = calloc(n + 2, sizeof(*env));
	if (!env)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "LC_ALL=", 7) != 0)
			env[k++] = environ[i];
	env[k++] = "LC_ALL=C";
	env[k] = NULL;
	return env;
}

/* Appends to a head sink, growing its buffer up to the limit. */
static void sink_head(struct sink *s, const char *data, size_t n)
{
	if (s->len + n > s->cap && s->cap < s->limit) {
		size_t cap = s->cap ? s->cap : 65536;
		char *buf;

		while (cap < s->len + n && cap < s->limit)
			cap *= 2;
		if (cap > s->limit)
			cap = s->limit;
		buf = realloc(s->buf, cap + 1);
		if (buf) {
			s->buf = buf;
			s->cap = cap;
		}
	}
	if (n > s->cap - s->len) {
		s->truncated = true;
		n = s->cap - s->len;
	}
	memcpy(s->buf + s->len, data, n);
	s->len += n;
}

/* Keeps the last `limit` bytes; buf holds 2 * limit, slid down when full. */
static void sink_tail(struct sink *s, const char *data, size_t n)
{
	size_t take = n > s->limit ? s->limit : n;

	if (s->len + take > s->cap) {
		size_t keep = s->limit - take;

		memmove(s->buf, s->buf + s->len - keep, keep);
		s->len = keep;
		s->truncated = true;
	}
	memcpy(s->buf + s->len, data + n - take, take);
	s->len += take;
}

/* 1: read something (or nothing yet), 0: EOF, -1: error. */
static int sink_read(struct sink *s)
{
	char chunk[65536];
	ssize_t n = read(s->fd, chunk, sizeof(chunk));

	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 1 : -1;
	if (n == 0)
		return 0;
	if (s->keep_tail)
		sink_tail(s, chunk, n);
	else
		sink_head(s, chunk, n);
	return 1;
}

static int wait_exit(pid_t pid, int *status, int64_t deadline)
{
	for (;;) {
		pid_t r = waitpid(pid, status, deadline < 0 ? 0 : WNOHANG);

		if (r == pid)
			return 0;
		if (r < 0 && errno != EINTR)
			return -1;
		if (deadline >= 0 && mb_now_ms() >= deadline)
			return 1;
		if (r == 0) {
			struct timespec nap = { 0, 5 * 1000000 };
			nanosleep(&nap, NULL);
		}
	}
}

/* Reads both pipes until they reach EOF or, with a pidfd, until the child
 * has exited and what it wrote is drained (a grandchild that keeps a pipe
 * open cannot hold us).  Returns 1 on timeout, -1 on error. */
static int collect(struct sink *s, int pidfd, int64_t deadline)
{
	bool exited = false;

	while (s[0].fd >= 0 || s[1].fd >= 0) {
		struct pollfd p[3];
		int np = 0, wait = -1, r;

		for (int i = 0; i < 2; i++)
			if (s[i].fd >= 0)
				p[np++] = (struct pollfd){ s[i].fd, POLLIN, 0 };
		if (pidfd >= 0 && !exited)
			p[np++] = (struct pollfd){ pidfd, POLLIN, 0 };
		if (exited)
			wait = 0;
		else if (deadline >= 0)
			wait = deadline > mb_now_ms() ? (int)(deadline - mb_now_ms()) : 0;
		r = poll(p, np, wait);
		if (r < 0 && errno != EINTR)
			return -1;
		if (r == 0 && exited)
			return 0;
		for (int i = 0; r > 0 && i < np; i++) {
			struct sink *k = p[i].fd == s[0].fd ? &s[0] : &s[1];

			if (!p[i].revents)
				continue;
			if (p[i].fd == pidfd)
				exited = true;
			else if (sink_read(k) <= 0)
				close(k->fd), k->fd = -1;
		}
		if (!exited && deadline >= 0 && mb_now_ms() >= deadline)
			return 1;
	}
	return 0;
}

/* First non-empty line of stderr, for the error message. */
static void first_line(const char *text, char *buf, size_t len)
{
	const char *p = text;

	buf[0] = '\0';
	while (p && *p) {
		size_t n = strcspn(p, "\n");
		const char *q = p;

		while (n && (*q == ' ' || *q == '\t' || *q == '\r'))
			q++, n--;
		while (n && (q[n - 1] == ' ' || q[n - 1] == '\r'))
			n--;
		if (n) {
			snprintf(buf, len, "%.*s", (int)n, q);
			return;
		}
		p += strcspn(p, "\n");
		if (*p)
			p++;
	}
}

/* Captured stderr without the cut line at the front of a kept tail. */
static const char *err_text(struct sink *s)
{
	const char *nl;

	if (s->len > s->limit) {
		memmove(s->buf, s->buf + s->len - s->limit, s->limit);
		s->len = s->limit;
		s->truncated = true;
	}
	s->buf[s->len] = '\0';
	if (s->truncated && (nl = strchr(s->buf, '\n')))
		return nl + 1;
	return s->buf;
}

static int report(const char *cmd, int status, const char *errtext,
		  int code, struct mb_error *e)
{
	char line[512];

	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFSIGNALED(status))
		return mb_fail(e, code, 0, "'%s' was killed by signal %d", cmd,
			       WTERMSIG(status));
	first_line(errtext, line, sizeof(line));
	if (line[0])
		return mb_fail(e, code, 0, "'%s' exited with status %d: %s",
			       cmd, WEXITSTATUS(status), line);
	return mb_fail(e, code, 0, "'%s' exited with status %d", cmd,
		       WEXITSTATUS(status));
}

/* Waits for the child, SIGTERM then SIGKILL after the deadline. */
static int reap(pid_t pid, int *status, bool timed_out, int64_t deadline)
{
	if (!timed_out) {
		int r = wait_exit(pid, status, deadline);
		if (r <= 0)
			return r;
	}
	kill(-pid, SIGTERM);
	kill(pid, SIGTERM);
	if (wait_exit(pid, status, mb_now_ms() + KILL_GRACE_MS) == 0)
		return 1;
	kill(-pid, SIGKILL);
	kill(pid, SIGKILL);
	wait_exit(pid, status, -1);
	return 1;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* The child, started with posix_spawnp: glibc clones it with CLONE_VM |
 * CLONE_VFORK, so its cost does not grow with our address space (fork()
 * copied the page tables: 34-62 ms from a 250 MB process on this host
 * against 1.2-1.4 ms, bench/files.md), and an exec failure comes back as
 * its errno.  The child: its own process group, stdin from /dev/null,
 * stdout and stderr to the pipes, every fd from 3 up closed, no signal
 * blocked, SIGPIPE at its default.  in (>= 0) is its stdin instead.  On
 * success the parent ends of the pipes are in s[]; *exec_err is the errno
 * of a failed start (pid -1). */
static pid_t start(const char *path, const char *const argv[], char **env, int in, struct sink *s,
		   int *exec_err, const char *cmd, int code, struct mb_error *e)
{
	int out[2] = { -1, -1 }, err[2] = { -1, -1 }, devnull = -1, rc;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, pipe_only;
	pid_t pid = -1;

	*exec_err = 0;
	devnull = in >= 0 ? dup(in) : open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (devnull < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) {
		mb_fail(e, code, errno, "unable to run '%s'", cmd);
		goto out;
	}
	sigemptyset(&none);
	sigemptyset(&pipe_only);
	sigaddset(&pipe_only, SIGPIPE);
	rc = posix_spawn_file_actions_init(&fa);
	if (rc == 0 && (rc = posix_spawnattr_init(&at)) != 0)
		posix_spawn_file_actions_destroy(&fa);
	if (rc != 0) {
		mb_fail(e, code, rc, "unable to run '%s'", cmd);
		goto out;
	}
	/* dup2 clears FD_CLOEXEC on the copies 0, 1 and 2 */
	rc = posix_spawn_file_actions_adddup2(&fa, devnull, 0);
	rc = rc ? rc : posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	rc = rc ? rc : posix_spawn_file_actions_adddup2(&fa, err[1], 2);
	rc = rc ? rc : posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	rc = rc ? rc : posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
						POSIX_SPAWN_SETSIGDEF);
	rc = rc ? rc : posix_spawnattr_setpgroup(&at, 0);
	rc = rc ? rc : posix_spawnattr_setsigmask(&at, &none);
	rc = rc ? rc : posix_spawnattr_setsigdefault(&at, &pipe_only);
	if (rc == 0 && (rc = posix_spawnp(&pid, path, &fa, &at, (char *const *)argv, env)) != 0) {
		*exec_err = rc;
		pid = -1;
	} else if (rc != 0) {
		mb_fail(e, code, rc, "unable to run '%s'", cmd);
	}
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	if (pid > 0) {
		setpgid(pid, pid);	/* already done by the child: EACCES after its exec */
		s[0].fd = out[0], out[0] = -1;
		s[1].fd = err[0], err[0] = -1;
	}
out:
	close_fd(&devnull);
	for (int i = 0; i < 2; i++) {
		close_fd(&out[i]);
		close_fd(&err[i]);
	}
	return pid;
}

static int run(const char *const argv[], int timeout_ms, int code,
	       struct sink *s, int *status, struct mb_error *e)
{
	char cmd[1024];
	char **env = NULL;
	int pidfd = -1, rc = -1, err = 0, timed_out;
	int64_t deadline = timeout_ms > 0 ? mb_now_ms() + timeout_ms : -1;
	pid_t pid;

	join_argv(argv, cmd, sizeof(cmd));
	mb_debug("running '%s'", cmd);
	env = child_env();
	if (!env) {
		mb_fail(e, code, ENOMEM, "unable to run '%s'", cmd);
		goto out;
	}
	pid = start(argv[0], argv, env, -1, s, &err, cmd, code, e);
	if (err) {
		mb_fail(e, code, err, "unable to run '%s'", argv[0]);
		goto out;
	}
	if (pid < 0)
		goto out;
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	timed_out = collect(s, pidfd, deadline);
	if (timed_out < 0)
		mb_fail(e, code, errno, "unable to read the output of '%s'", cmd);
	timed_out = reap(pid, status, timed_out == 1, deadline) == 1;
	if (timed_out)
		mb_fail(e, MB_ERR_TIMEOUT, 0, "'%s' timed out after %d ms", cmd,
			timeout_ms);
	else if (report(cmd, *status, err_text(&s[1]), code, e) == 0 &&
		 !e->code)
		rc = 0;
	mb_debug("'%s' finished with wait status %d", cmd, *status);
out:
	close_fd(&pidfd);
	close_fd(&s[0].fd);
	close_fd(&s[1].fd);
	free(env);
	return rc;
}

int mb_spawn(const char *const argv[], int timeout_ms, int code,
	     struct mb_spawn_result *res, struct mb_error *e)
{
	struct sink s[2] = {
		{ .fd = -1, .limit = OUT_MAX },
		{ .fd = -1, .limit = ERR_KEEP, .cap = 2 * ERR_KEEP,
		  .keep_tail = true },
	};
	int status = 0, rc = -1;

	if (res)
		memset(res, 0, sizeof(*res));
	if (!argv || !argv[0])
		return mb_fail(e, MB_ERR_INTERNAL, 0, "spawn: empty argv");
	s[0].buf = malloc(1);	/* grows on demand, up to OUT_MAX */
	s[1].buf = malloc(2 * ERR_KEEP + 1);
	if (!s[0].buf || !s[1].buf) {
		mb_fail(e, code, ENOMEM, "unable to run '%s'", argv[0]);
		goto out;
	}
	rc = run(argv, timeout_ms, code, s, &status, e);
	s[0].buf[s[0].len] = '\0';
	err_text(&s[1]);	/* trims to the last ERR_KEEP bytes */
	if (s[0].truncated)
		mb_warn("output of '%s' cut at %u bytes", argv[0], OUT_MAX);
	if (res) {
		res->status = status;
		res->out = s[0].buf;
		res->out_len = s[0].len;
		res->err = s[1].buf;
		s[0].buf = s[1].buf = NULL;
	}
out:
	free(s[0].buf);
	free(s[1].buf);
	return rc;
}

void mb_spawn_result_free(struct mb_spawn_result *res)
{
	if (!res)
		return;
	free(res->out);
	free(res->err);
	memset(res, 0, sizeof(*res));
}

int mb_spawn_coproc(const char *path, const char *const argv[], struct mb_coproc *c, int code,
		    struct mb_error *e)
{
	struct sink s[2] = { { .fd = -1 }, { .fd = -1 } };
	int in[2] = { -1, -1 }, err = 0;
	char cmd[1024];
	char **env;

	c->pid = -1, c->to = c->from = c->err = -1;
	join_argv(argv, cmd, sizeof(cmd));
	mb_debug("starting '%s'", cmd);
	env = child_env();
	if (!env || pipe2(in, O_CLOEXEC) < 0) {
		mb_fail(e, code, env ? errno : ENOMEM, "unable to run '%s'", cmd);
		goto out;
	}
	c->pid = start(path ? path : argv[0], argv, env, in[0], s, &err, cmd, code, e);
	if (err)
		mb_fail(e, code, err, "unable to run '%s'", path ? path : argv[0]);
	if (c->pid > 0) {
		c->to = in[1], in[1] = -1;
		c->from = s[0].fd, c->err = s[1].fd;
	}
out:
	close_fd(&in[0]);
	close_fd(&in[1]);
	free(env);
	return c->pid > 0 ? 0 : -1;
}

void mb_coproc_end(struct mb_coproc *c, int grace_ms)
{
	int status;

	close_fd(&c->to);
	close_fd(&c->from);
	close_fd(&c->err);
	if (c->pid > 0 && wait_exit(c->pid, &status, mb_now_ms() + grace_ms) != 0) {
		kill(c->pid, SIGKILL);
		wait_exit(c->pid, &status, -1);
	}
	c->pid = -1;
}
