/*
 * The LVM helper: the window's lvconvert without an exec inside the
 * window.  bench/files.md ("Session 9") measured the raid1 split: the same
 * work at any file count, about 100 ms of it the kernel's, the rest an
 * lvm process's own CPU, a good part of which is its start (exec, 20
 * shared libraries, the configuration).  So before the window
 * (prepare_split) mbackup starts itself again as this helper
 * (/proc/self/exe, argv[0] MB_LVM_HELPER_ARGV0), which loads LVM's command
 * library (liblvm2cmd, dlopen'ed: no build dependency) and initialises it
 * once; inside the window the split is one line to it and one answer.
 *
 * Protocol, one line each way: the parent writes a command line; the
 * helper runs it with lvm2_run and answers "rc N" (N: LVM's return code,
 * 1 = done), after any number of "E message" lines (LVM's errors).  It
 * says "ready" once initialised and ends at EOF of its stdin (mbackup
 * ended or died: nobody else holds that pipe, the guard closes it after
 * its fork), holding no LVM lock between two commands; a command read
 * after mbackup died is not run (its parent changed).  A command under
 * way when mbackup dies runs to its end, as an lvconvert would: LVM
 * must not be stopped while it has devices suspended.  LVM's own metadata commit keeps a split stopped half
 * way recoverable, as with lvconvert: the split's undo reads the VG.
 */
#include "plugins/mirror/lvm_helper.h"
#include "common/clock.h"

#include <dlfcn.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "plugins/mirror/snapshot.h"

#define HELPER_READY_MS 60000	/* the library's load and first command */
#define HELPER_END_MS 2000
#define LVM2CMD_SONAME "liblvm2cmd.so.2.03"
#define LVM_LOG_ERR 3		/* LVM's _LOG_ERR; lower is worse */
#define LVM_ECMD_PROCESSED 1

/* ---- the helper's side (its own process) ---- */

static void on_lvm_log(int level, const char *file, int line, int dm_errno, const char *msg)
{
	(void)file, (void)line, (void)dm_errno;
	if ((level & 0x0f) <= LVM_LOG_ERR && msg && *msg)
		printf("E %s\n", msg);
}

int mb_lvm_helper_main(void)
{
	void *lib = dlopen(LVM2CMD_SONAME, RTLD_NOW | RTLD_LOCAL), *h;
	void *(*init)(void);
	int (*run)(void *, const char *);
	void (*fini)(void *);
	void (*log_fn)(void (*)(int, const char *, int, int, const char *));
	char line[4096];
	pid_t parent = getppid();

	setvbuf(stdout, NULL, _IOLBF, 0);
	/* nobody reads our stderr: LVM's errors go up as "E" lines */
	if (!freopen("/dev/null", "w", stderr))
		return 1;
	if (!lib) {
		printf("no %s\n", dlerror());
		return 1;
	}
	*(void **)&init = dlsym(lib, "lvm2_init");
	*(void **)&run = dlsym(lib, "lvm2_run");
	*(void **)&fini = dlsym(lib, "lvm2_exit");
	*(void **)&log_fn = dlsym(lib, "lvm2_log_fn");
	if (!init || !run || !fini || !log_fn) {
		printf("no lvm2_init, lvm2_run, lvm2_exit or lvm2_log_fn in %s\n", LVM2CMD_SONAME);
		return 1;
	}
	log_fn(on_lvm_log);
	h = init();
	if (!h) {
		printf("no lvm2_init: it failed\n");
		return 1;
	}
	printf("ready\n");
	while (fgets(line, sizeof(line), stdin) && getppid() == parent) {
		line[strcspn(line, "\n")] = '\0';
		printf("rc %d\n", run(h, line));
	}
	fini(h);
	return 0;
}

/* ---- mbackup's side ---- */

bool mb_lvm_split_valid(const char *with)
{
	return !with || strcmp(with, "auto") == 0 || strcmp(with, "helper") == 0 ||
	       strcmp(with, "lvconvert") == 0;
}

/* One line from the helper into buf, by deadline; -1 on timeout/EOF. */
static int read_line(struct mb_lvm_helper *hp, char *buf, size_t len, long long deadline)
{
	for (;;) {
		char *nl = memchr(hp->buf, '\n', hp->len);
		struct pollfd p = { hp->co.from, POLLIN, 0 };
		long long left = deadline - mb_now_ms();
		ssize_t n;

		if (nl) {
			size_t k = (size_t)(nl - hp->buf);

			snprintf(buf, len, "%.*s", (int)k, hp->buf);
			memmove(hp->buf, nl + 1, hp->len - k - 1);
			hp->len -= k + 1;
			return 0;
		}
		if (hp->len == sizeof(hp->buf))
			hp->len = 0;	/* a line longer than the buffer: drop it */
		if (left <= 0 || poll(&p, 1, (int)left) == 0)
			return -1;
		n = read(hp->co.from, hp->buf + hp->len, sizeof(hp->buf) - hp->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		hp->len += (size_t)n;
	}
}

int mb_lvm_helper_start(struct mb_lvm_helper *hp, struct mb_error *e)
{
	/* argv[0] names the helper; the binary is this one */
	const char *argv[] = { MB_LVM_HELPER_ARGV0, NULL };
	char line[512] = "";

	memset(hp, 0, sizeof(*hp));
	hp->co.pid = -1;
	if (mb_spawn_coproc("/proc/self/exe", argv, &hp->co, MB_ERR_MIRROR, e) < 0)
		return -1;
	if (read_line(hp, line, sizeof(line), mb_now_ms() + HELPER_READY_MS) < 0 ||
	    strcmp(line, "ready") != 0) {
		mb_fail(e, MB_ERR_MIRROR, 0, "the LVM helper did not start: %s",
			line[0] ? line : "no answer");
		mb_lvm_helper_stop(hp);
		return -1;
	}
	return 0;
}

/* The whole of buf to fd, or -1 (EPIPE: the helper is gone). */
static int write_all(int fd, const char *buf, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, buf, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		buf += w, n -= (size_t)w;
	}
	return 0;
}

int mb_lvm_helper_run(struct mb_lvm_helper *hp, const char *cmdline, int timeout_ms,
		      struct mb_error *e)
{
	long long deadline = mb_now_ms() + timeout_ms;
	char line[1024], first[512] = "";
	size_t n = strlen(cmdline);
	int rc;

	if (hp->co.pid <= 0)
		return mb_fail(e, MB_ERR_MIRROR, 0, "'%s': the LVM helper is not running", cmdline), 1;
	mb_debug("lvm helper: '%s'", cmdline);
	if (write_all(hp->co.to, cmdline, n) < 0 || write_all(hp->co.to, "\n", 1) < 0) {
		mb_fail(e, MB_ERR_MIRROR, errno, "'%s': unable to reach the LVM helper", cmdline);
		mb_lvm_helper_stop(hp);
		return 1;
	}
	/* test seam: mbackup killed while the helper has the command */
	mb_snap_fault_point("lvm-helper-sent");
	for (;;) {
		if (read_line(hp, line, sizeof(line), deadline) < 0) {
			mb_lvm_helper_stop(hp);	/* a late answer would confuse the next */
			return mb_fail(e, MB_ERR_TIMEOUT, 0, "'%s' got no answer from the LVM helper "
				       "within %d ms", cmdline, timeout_ms);
		}
		if (strncmp(line, "E ", 2) == 0 && !first[0])
			snprintf(first, sizeof(first), "%.500s", line + 2);
		if (sscanf(line, "rc %d", &rc) == 1)
			break;
	}
	if (rc == LVM_ECMD_PROCESSED)
		return 0;
	if (first[0])
		return mb_fail(e, MB_ERR_MIRROR, 0, "'%s' failed with LVM status %d: %s", cmdline,
			       rc, first);
	return mb_fail(e, MB_ERR_MIRROR, 0, "'%s' failed with LVM status %d", cmdline, rc);
}

void mb_lvm_helper_release(struct mb_lvm_helper *hp)
{
	if (hp->co.pid > 0 && hp->co.to >= 0) {	/* pid 0: never started (to is 0) */
		close(hp->co.to);
		hp->co.to = -1;
	}
}

void mb_lvm_helper_stop(struct mb_lvm_helper *hp)
{
	if (hp->co.pid > 0)
		mb_coproc_end(&hp->co, HELPER_END_MS);
	hp->len = 0;
}
