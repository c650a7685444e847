/*
 * Loop-mounted scratch filesystems for the extentmap tests.
 *
 * The parent process creates the filesystems, forks, and the child runs the
 * tests; whatever happens to the child (failure, crash, alarm), the parent
 * thaws, unmounts and detaches afterwards.  No shell: mkfs runs from an
 * argv, loop devices and mounts use the syscalls.
 */
#ifndef TEST_EXTENTMAP_FIXTURE_H
#define TEST_EXTENTMAP_FIXTURE_H

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/loop.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/entry.h"
#include "common/error.h"
#include "extentmap/extentmap.h"
#include "tests/lib/tap.h"

struct fx {
	char dir[64];		/* /tmp/extentmap-XXXXXX */
	char img[128];		/* the loop device's backing file */
	char mnt[128];
	char loop[32];
	char inner[160];	/* a nested mount to tear down first, or "" */
	int loop_fd;
	bool mounted;
};

static inline int fx_spawn(char *const argv[])
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 1);
		dup2(null, 2);
		execvp(argv[0], argv);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static inline int fx_attach(struct fx *f)
{
	struct loop_config cfg;
	int ctl = -1, img = -1, n, ret = -1;

	if ((ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC)) < 0 ||
	    (img = open(f->img, O_RDWR | O_CLOEXEC)) < 0)
		goto out;
	for (int tries = 0; tries < 10; tries++) {
		if ((n = ioctl(ctl, LOOP_CTL_GET_FREE)) < 0)
			goto out;
		snprintf(f->loop, sizeof(f->loop), "/dev/loop%d", n);
		if ((f->loop_fd = open(f->loop, O_RDWR | O_CLOEXEC)) < 0)
			goto out;
		memset(&cfg, 0, sizeof(cfg));
		cfg.fd = (uint32_t)img;
		/* Auto-clear: the device goes away with its last user even if
		 * this process is killed before it can detach it. */
		cfg.info.lo_flags = LO_FLAGS_AUTOCLEAR;
		if (ioctl(f->loop_fd, LOOP_CONFIGURE, &cfg) == 0) {
			ret = 0;
			goto out;
		}
		close(f->loop_fd);
		f->loop_fd = -1;
		if (errno != EBUSY)
			goto out;
	}
out:
	if (ctl >= 0)
		close(ctl);
	if (img >= 0)
		close(img);
	return ret;
}

/* mkfs_argv: e.g. {"mkfs.ext4", "-q", "-F", NULL}; the image is appended. */
static inline int fx_setup(struct fx *f, const char *fstype, const char *const mkfs_argv[],
		    uint64_t size)
{
	char *argv[16];
	int fd, n = 0;

	/* The tests compare the modes they create: the caller's umask (077
	 * on some machines) must not decide them. */
	umask(022);
	memset(f, 0, sizeof(*f));
	f->loop_fd = -1;
	strcpy(f->dir, "/tmp/extentmap-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->img, sizeof(f->img), "%s/fs.img", f->dir);
	snprintf(f->mnt, sizeof(f->mnt), "%s/mnt", f->dir);
	if (mkdir(f->mnt, 0755) < 0)
		return -1;
	if ((fd = open(f->img, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0)
		return -1;
	if (ftruncate(fd, (off_t)size) < 0) {
		close(fd);
		return -1;
	}
	close(fd);
	while (mkfs_argv[n] && n < 14) {
		argv[n] = (char *)mkfs_argv[n];
		n++;
	}
	argv[n++] = f->img;
	argv[n] = NULL;
	if (fx_spawn(argv) != 0 || fx_attach(f) < 0)
		return -1;
	if (mount(f->loop, f->mnt, fstype, 0, NULL) < 0)
		return -1;
	f->mounted = true;
	return 0;
}

static inline void fx_teardown(struct fx *f)
{
	int fd;

	if (f->inner[0])
		umount2(f->inner, 0);
	if (f->mounted) {
		if ((fd = open(f->mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
			ioctl(fd, FITHAW, 0);	/* EINVAL when not frozen */
			close(fd);
		}
		if (umount2(f->mnt, 0) < 0)
			fprintf(stderr, "# umount '%s': %s\n", f->mnt, strerror(errno));
		f->mounted = false;
	}
	if (f->loop_fd >= 0) {
		ioctl(f->loop_fd, LOOP_CLR_FD, 0);
		close(f->loop_fd);
		f->loop_fd = -1;
	}
	if (f->img[0])
		unlink(f->img);
	if (f->mnt[0])
		rmdir(f->mnt);
	if (f->dir[0])
		rmdir(f->dir);
}

/* Runs body in a child; returns its exit status (1 if it died). */
static inline int fx_run_child(int (*body)(void *), void *arg)
{
	int status;
	pid_t pid;

	fflush(stdout);
	if ((pid = fork()) == 0) {
		alarm(600);	/* a hang inside a freeze must end too */
		exit(body(arg));
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		return 1;
	if (WIFSIGNALED(status)) {
		printf("# test child killed by signal %d\n", WTERMSIG(status));
		return 1;
	}
	return WEXITSTATUS(status);
}

/* A test run on a scratch ext4 and a scratch xfs of the given sizes:
 * test(fs) on each in turn, in a child (fx_run_child), with lost+found
 * made on xfs too so that both trees look the same; the filesystems are
 * torn down after.  The test's exit status, or 1 when a filesystem could
 * not be set up (said in TAP). */
struct fx_both {
	struct fx fs[2];
	void (*test)(struct fx *);
};

static inline int fx_both_body(void *arg)
{
	struct fx_both *b = arg;

	for (int i = 0; i < 2; i++) {
		char p[600];

		diag("---- %s ----", i ? "xfs" : "ext4");
		snprintf(p, sizeof(p), "%s/lost+found", b->fs[i].mnt);
		mkdir(p, 0700);
		b->test(&b->fs[i]);
	}
	return done_testing();
}

static inline int fx_main_ext4_xfs(const uint64_t size[2], void (*test)(struct fx *))
{
	static const char *const mkfs_ext4[] = { "mkfs.ext4", "-q", "-F", "-b", "4096", NULL };
	static const char *const mkfs_xfs[] = { "mkfs.xfs", "-q", "-f", NULL };
	const char *const *mkfs[2] = { mkfs_ext4, mkfs_xfs };
	static const char *const type[2] = { "ext4", "xfs" };
	struct fx_both b = { .test = test };
	int rc = 1, i;

	if (geteuid() != 0)
		skip_all("needs root for loop devices");
	for (i = 0; i < 2; i++)
		b.fs[i].loop_fd = -1;
	for (i = 0; i < 2; i++) {
		if (fx_setup(&b.fs[i], type[i], mkfs[i], size[i]) < 0) {
			printf("1..1\nnot ok 1 - %s scratch filesystem: %s\n", type[i],
			       strerror(errno));
			goto out;
		}
	}
	rc = fx_run_child(fx_both_body, &b);
out:
	for (i = 0; i < 2; i++)
		fx_teardown(&b.fs[i]);
	return rc;
}

/* ---- helpers for the test bodies ---- */

/* Deterministic, non-repeating bytes: file offset and seed mixed. */
static inline void fx_fill(unsigned char *buf, size_t len, uint64_t off, uint32_t seed)
{
	for (size_t i = 0; i < len; i++) {
		uint64_t x = (off + i) * 0x9E3779B97F4A7C15ull + seed;

		buf[i] = (unsigned char)(x >> 56 ^ x >> 29);
	}
}

static inline int fx_write_at(const char *path, uint64_t off, size_t len, uint32_t seed)
{
	unsigned char *buf = malloc(len ? len : 1);
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644), ret = -1;

	if (fd >= 0 && buf) {
		fx_fill(buf, len, off, seed);
		ret = pwrite(fd, buf, len, (off_t)off) == (ssize_t)len ? 0 : -1;
	}
	if (fd >= 0)
		close(fd);
	free(buf);
	return ret;
}

struct fx_buf {
	unsigned char *p;
	size_t n, cap;
	int calls;
};

static inline int fx_collect(void *arg, const void *data, size_t len, struct mb_error *e)
{
	struct fx_buf *b = arg;

	if (b->n + len > b->cap) {
		size_t cap = (b->n + len) * 2;
		unsigned char *p = realloc(b->p, cap);

		if (!p)
			return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "collect");
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->n, data, len);
	b->n += len;
	b->calls++;
	return 0;
}

/* Reads [off, off+len) of a live file (stat size when len is 0). */
static inline int fx_read_live(const char *path, uint64_t off, uint64_t len, struct fx_buf *b)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret = -1;

	b->n = 0;
	if (fd < 0 || fstat(fd, &st) < 0)
		goto out;
	if (len == 0)
		len = (uint64_t)st.st_size - off;
	free(b->p);
	b->p = malloc(len ? len : 1);
	b->cap = len;
	if (b->p && pread(fd, b->p, len, (off_t)off) == (ssize_t)len) {
		b->n = len;
		ret = 0;
	}
out:
	if (fd >= 0)
		close(fd);
	return ret;
}

/* The entry of the set with this path, or NULL. */
static inline struct mb_entry *fx_find(struct mb_set *set, const char *path)
{
	for (size_t i = 0; i < set->n; i++)
		if (!strcmp(set->v[i].path, path))
			return &set->v[i];
	return NULL;
}

/* Reads every regular file of the set through the reader and compares it
 * with the live file under mnt; returns the number of mismatches. */
static inline int fx_compare_all(struct mb_extent_reader *r, struct mb_set *set, const char *mnt)
{
	struct fx_buf got = { 0 }, want = { 0 };
	struct mb_error e = { 0 };
	char path[4200];
	int bad = 0;

	for (size_t i = 0; i < set->n; i++) {
		struct mb_entry *ent = &set->v[i];

		if (ent->type != MB_T_FILE)
			continue;
		got.n = 0;
		mb_error_clear(&e);
		snprintf(path, sizeof(path), "%s/%s", mnt, ent->path);
		if (mb_extent_read(r, ent, fx_collect, &got, &e) < 0 ||
		    fx_read_live(path, 0, 0, &want) < 0 || got.n != want.n ||
		    (got.n && memcmp(got.p, want.p, got.n))) {
			printf("# mismatch '%s': got %zu bytes, want %zu (%s)\n",
			       ent->path, got.n, want.n, e.msg);
			bad++;
		}
	}
	free(got.p);
	free(want.p);
	return bad;
}

#endif
