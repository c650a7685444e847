/*
 * Hostile images (issue 16): structurally valid images, written by the
 * project's own writer so every checksum is right, whose entries try to
 * leave the restore target: ".." components, absolute paths, a symlinked
 * parent then something below it, hard links to outside, device nodes,
 * control characters in names, very long paths.  Each case runs the real
 * `mbackup restore` (next to this test: build/mbackup for build/tests/unit/,
 * build-asan/mbackup under check-asan) and asserts its exact exit code and
 * error line, then the target: exactly the names it should hold (nothing
 * under a wrong name), and nothing beside it touched (a sibling directory
 * "outside" keeps its one file, its content, its link count and mtime).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "image/image.h"
#include "tests/lib/tap.h"

#define TOP "/tmp/hostile-t"
#define MAX_ENTS 8
#define OUT "@"			/* in a case's paths: its "outside" directory */
#define LISTING_MAX (256 * 1024)

static char mbackup[PATH_MAX];

struct hcase {
	const char *name;
	struct mb_entry ents[MAX_ENTS];
	int code;		/* exit code */
	const char *error;	/* the error line after "mbackup: error: ", "" for none */
	const char *listing;	/* the target afterwards, see list_dir() */
};

/* a 256-byte name holding a terminal escape, and as messages show it */
#define X50 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
#define LONG_CTL X50 X50 X50 X50 X50 "xx\x1b[2J"
#define LONG_CTL_SHOWN X50 X50 X50 X50 X50 "xx%1B[2J"

#define F(p) { .path = p, .type = MB_T_FILE, .size = 5, .seg_length = 5, .mode = 0100644 }
#define D(p) { .path = p, .type = MB_T_DIR, .mode = 040755 }
#define L(p, to) { .path = p, .type = MB_T_SYMLINK, .rare = &(struct mb_entry_rare){ .link_target = to }, .mode = 0120777 }
#define H(p, to) { .path = p, .type = MB_T_HARDLINK, .rare = &(struct mb_entry_rare){ .link_target = to }, .mode = 0100644 }
#define C(p, maj, min) { .path = p, .type = MB_T_CHR, .mode = 020666, .rare = &(struct mb_entry_rare){ .rdev = ((maj) << 8) | (min) } }
#define B(p, maj, min) { .path = p, .type = MB_T_BLK, .mode = 060660, .rare = &(struct mb_entry_rare){ .rdev = ((maj) << 8) | (min) } }

static const struct hcase cases[] = {
	{ "a '..' component", { F("../outside/evil") }, 11,
	  "refusing to restore '../outside/evil': '..' component", "" },
	{ "'..' inside a path", { D("a"), F("a/../../outside/evil") }, 11,
	  "refusing to restore 'a/../../outside/evil': '..' component", "a d\n" },
	{ "a '.' component", { F("./evil") }, 11,
	  "refusing to restore './evil': '.' component", "" },
	{ "an empty component", { F("a//evil") }, 11,
	  "refusing to restore 'a//evil': empty component", "" },
	{ "an absolute path", { F(OUT "/evil") }, 11,
	  "refusing to restore '" OUT "/evil': absolute path", "" },
	{ "a file below a symlink to outside", { L("a", OUT), F("a/evil") }, 11,
	  "refusing to restore 'a/evil': 'a' is a symlink", "a l " OUT "\n" },
	{ "a symlink below a relative symlink", { L("a", "../outside"), L("a/evil", "x") }, 11,
	  "refusing to restore 'a/evil': 'a' is a symlink", "a l ../outside\n" },
	{ "a directory, then a symlink in its place", { L("a", "../outside"), D("a/sub") }, 11,
	  "unable to create 'a': File exists", "a d\na/sub d\n" },
	{ "a hard link to '..'", { H("h", "../outside/canary") }, 11,
	  "refusing to restore '../outside/canary': '..' component", "" },
	{ "a hard link to an absolute path", { H("h", OUT "/canary") }, 11,
	  "refusing to restore '" OUT "/canary': absolute path", "" },
	{ "a hard link through a symlinked parent", { L("s", OUT), H("h", "s/canary") }, 11,
	  "refusing to restore 's/canary': 's' is a symlink", "s l " OUT "\n" },
	{ "a hard link to a symlink to outside", { L("s", OUT "/canary"), H("h", "s") }, 0,
	  "", "h l " OUT "/canary\ns l " OUT "/canary\n" },
	{ "a hard link to a directory", { D("d"), H("h", "d") }, 11,
	  "unable to link 'h' to 'd': Operation not permitted", "d d\n" },
	{ "device nodes", { C("null", 1, 3), B("loop", 7, 0) }, 0,
	  "", "loop b 7:0 0660\nnull c 1:3 0666\n" },
	{ "a device node at '..'", { C("../outside/null", 1, 3) }, 11,
	  "refusing to restore '../outside/null': '..' component", "" },
	{ "control characters in a name", { F("evil\n\x1b[31mred\r") }, 0,
	  "", "evil%0A%1B[31mred%0D f\n" },
	{ "control characters in a refused name", { F("../\x1b]0;owned\a") }, 11,
	  "refusing to restore '../%1B]0;owned%07': '..' component", "" },
	{ "control characters in a symlinked parent", { L("s\x1b[2J", OUT), F("s\x1b[2J/f") }, 11,
	  "refusing to restore 's%1B[2J/f': 's%1B[2J' is a symlink", "s%1B[2J l " OUT "\n" },
	{ "control characters in a name longer than NAME_MAX", { F(LONG_CTL "/f") }, 11,
	  "refusing to restore '" LONG_CTL_SHOWN "/f': File name too long", "" },
};

/* rm -rf: nftw() cannot remove a tree deeper than PATH_MAX, GNU rm can. */
static void rm_rf(const char *path)
{
	pid_t pid = fork();

	if (pid == 0) {
		execlp("rm", "rm", "-rf", "--", path, (char *)NULL);
		_exit(127);
	}
	if (pid > 0)
		waitpid(pid, NULL, 0);
}

/* s with every "@" replaced by the case's outside directory (malloc'ed). */
static char *subst(const char *s, const char *out)
{
	size_t n = 0;
	char *r, *d;

	for (const char *p = s; *p; p++)
		n += *p == '@' ? strlen(out) : 1;
	if (!(r = d = malloc(n + 1)))
		abort();
	for (const char *p = s; *p; p++)
		d = *p == '@' ? stpcpy(d, out) : (*d = *p, d + 1);
	*d = 0;
	return r;
}

static int gen(void *arg, const struct mb_entry *t, mb_emit_fn emit, void *emit_arg,
	       struct mb_error *e)
{
	char buf[4096];

	memset(buf, 'a' + (int)(t->ino % 26), sizeof(buf));
	for (uint64_t left = t->seg_length; left; ) {
		size_t k = left > sizeof(buf) ? sizeof(buf) : (size_t)left;

		if (emit(emit_arg, buf, k, e) < 0)
			return -1;
		left -= k;
	}
	return 0;
}

static int fd_write(void *ctx, const void *buf, size_t len, struct mb_error *e)
{
	if (write(*(int *)ctx, buf, len) != (ssize_t)len)
		return mb_fail(e, MB_ERR_MEDIA, errno, "unable to write the image");
	return 0;
}

/* The image of n entries at path, written by the project's writer. */
static int write_image(const char *path, struct mb_entry *v, size_t n, struct mb_error *e)
{
	struct mb_image_meta meta = { .backup_id = "66", .created = 1700000000,
		.source = "hostile", .record_size = 10240, .device_index = 1, .device_count = 1 };
	struct mb_entry *ptrs[64];
	struct mb_image_layout lay;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600), rc = -1;
	struct mb_image_output out = { .write = fd_write, .ctx = &fd, .record_size = 10240,
				       .fd = -1 };

	for (size_t i = 0; i < n; i++) {
		v[i].ino = 1000 + i;
		v[i].mtime_sec = 1700000000;
		for (size_t j = 0; j < i; j++)	/* a hard link shares its first name's inode */
			if (v[i].type == MB_T_HARDLINK && mb_entry_link(&v[i]) &&
			    strcmp(mb_entry_link(&v[i]), v[j].path) == 0)
				v[i].ino = v[j].ino;
		ptrs[i] = &v[i];
	}
	if (fd < 0)
		return mb_fail(e, MB_ERR_MEDIA, errno, "unable to create '%s'", path);
	if (mb_image_layout(ptrs, n, &meta, &lay, e) == 0) {
		rc = mb_image_write(&out, &lay, gen, NULL, NULL, e);
		mb_image_layout_free(&lay);
	}
	close(fd);
	return rc;
}

/* A name as the index writes it: bytes <= 0x20, '%' and 0x7f as %XX. */
static void put_name(FILE *f, const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || *s == '%' || *s == 0x7f)
			fprintf(f, "%%%02X", (unsigned char)*s);
		else
			fputc(*s, f);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* One line per name beneath dfd, sorted, depth first: "<path> <type>",
 * then " <link target>" for a symlink, " <major>:<minor> <mode>" for a
 * device.  Walks by fd, so paths longer than PATH_MAX are listed too. */
static void list_dir(FILE *f, int dfd, const char *prefix)
{
	DIR *d = fdopendir(dfd);
	char *names[256];
	size_t n = 0;
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d)) && n < 256)
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			names[n++] = strdup(de->d_name);
	qsort(names, n, sizeof(*names), cmp_str);
	for (size_t i = 0; i < n; i++) {
		struct stat st;
		char path[8192], link[PATH_MAX + 1];
		ssize_t ll;

		snprintf(path, sizeof(path), "%s%s%s", prefix, *prefix ? "/" : "", names[i]);
		if (fstatat(dirfd(d), names[i], &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		put_name(f, path);
		if (S_ISLNK(st.st_mode) &&
		    (ll = readlinkat(dirfd(d), names[i], link, PATH_MAX)) >= 0)
			fprintf(f, " l %.*s", (int)ll, link);
		else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))
			fprintf(f, " %c %u:%u %04o", S_ISCHR(st.st_mode) ? 'c' : 'b',
				major(st.st_rdev), minor(st.st_rdev), st.st_mode & 07777);
		else
			fprintf(f, " %c", S_ISDIR(st.st_mode) ? 'd' : S_ISREG(st.st_mode) ? 'f' : '?');
		fputc('\n', f);
		if (S_ISDIR(st.st_mode))
			list_dir(f, openat(dirfd(d), names[i], O_RDONLY | O_DIRECTORY |
					   O_NOFOLLOW | O_CLOEXEC), path);
		free(names[i]);
	}
	closedir(d);
}

static char *listing(const char *dir)
{
	static char buf[LISTING_MAX];
	FILE *f = fmemopen(buf, sizeof(buf), "w");

	buf[0] = 0;
	list_dir(f, open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), "");
	fclose(f);
	return buf;
}

/* `mbackup restore --from img --to to`: its exit code, its error line. */
static int run_restore(const char *img, const char *to, char *err, size_t cap)
{
	char errf[256], line[4096];
	pid_t pid;
	int st, fd;
	FILE *f;

	snprintf(errf, sizeof(errf), "%s.stderr", img);
	fflush(stdout);
	if ((pid = fork()) == 0) {
		fd = open(errf, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		dup2(fd, STDERR_FILENO);
		dup2(open("/dev/null", O_WRONLY), STDOUT_FILENO);
		execl(mbackup, mbackup, "restore", "--from", img, "--to", to, (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &st, 0) < 0)
		return -1;
	err[0] = 0;
	if ((f = fopen(errf, "r"))) {
		while (fgets(line, sizeof(line), f))
			if (strncmp(line, "mbackup: error: ", 16) == 0 && !err[0])
				snprintf(err, cap, "%.*s", (int)strcspn(line + 16, "\n"), line + 16);
		fclose(f);
	}
	unlink(errf);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Beside the target nothing changed: the case directory holds the image,
 * "outside" and the target; "outside" holds its canary only, as it was. */
static void check_outside(const char *cdir, const char *name, const struct stat *before)
{
	char path[256], what[600], data[16] = "";
	struct stat st;
	DIR *d = opendir(cdir);
	struct dirent *de;
	int fd, others = 0;

	while (d && (de = readdir(d)))
		others += strcmp(de->d_name, ".") && strcmp(de->d_name, "..") &&
			  strcmp(de->d_name, "img.mbi") && strcmp(de->d_name, "outside") &&
			  strcmp(de->d_name, "to");
	if (d)
		closedir(d);
	snprintf(path, sizeof(path), "%s/outside/canary", cdir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0 && read(fd, data, sizeof(data) - 1) < 0)
		data[0] = 0;
	if (fd >= 0)
		close(fd);
	snprintf(what, sizeof(what), "%s: nothing beside the target touched", name);
	snprintf(path, sizeof(path), "%s/outside", cdir);
	ok(others == 0 && strcmp(listing(path), "canary f\n") == 0 &&
	   lstat(strcat(path, "/canary"), &st) == 0 && st.st_nlink == 1 &&
	   st.st_ino == before->st_ino && st.st_mtim.tv_sec == before->st_mtim.tv_sec &&
	   st.st_mtim.tv_nsec == before->st_mtim.tv_nsec && strcmp(data, "keep\n") == 0, what);
}

static void run_case(size_t k, const struct hcase *c)
{
	char cdir[64], out[128], img[128], to[128], err[1100], what[600];
	char *want_err = NULL, *want_list = NULL;
	struct mb_entry v[64];
	struct mb_error e = { 0 };
	struct stat before;
	size_t n = 0;
	int fd, code;

	snprintf(cdir, sizeof(cdir), TOP "/%zu", k);
	snprintf(out, sizeof(out), "%s/outside", cdir);
	snprintf(img, sizeof(img), "%s/img.mbi", cdir);
	snprintf(to, sizeof(to), "%s/to", cdir);
	mkdir(cdir, 0700);
	mkdir(out, 0755);
	snprintf(what, sizeof(what), "%s/canary", out);
	fd = open(what, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, "keep\n", 5) != 5 || close(fd) < 0 || lstat(what, &before) < 0)
		abort();
	for (; n < MAX_ENTS && c->ents[n].path; n++) {
		v[n] = c->ents[n];
		v[n].path = subst(c->ents[n].path, out);
		v[n].rare = NULL;
		if (mb_entry_copy_rare(&v[n], &c->ents[n]) < 0 ||
		    (mb_entry_link(&v[n]) && mb_entry_set_link(&v[n], subst(mb_entry_link(&v[n]), out)) < 0))
			abort();
	}
	snprintf(what, sizeof(what), "%s: the image is written", c->name);
	if (!ok(write_image(img, v, n, &e) == 0, what)) {
		diag("%s", e.msg);
		goto out;
	}
	code = run_restore(img, to, err, sizeof(err));
	snprintf(what, sizeof(what), "%s: exit %d", c->name, c->code);
	is_int(code, c->code, what);
	want_err = subst(c->error, out);
	snprintf(what, sizeof(what), "%s: the error line", c->name);
	is_str(err, want_err, what);
	want_list = subst(c->listing, out);
	snprintf(what, sizeof(what), "%s: the target holds exactly what it should", c->name);
	is_str(listing(to), want_list, what);
	check_outside(cdir, c->name, &before);
out:
	for (size_t i = 0; i < n; i++)
		mb_entry_free(&v[i]);
	free(want_err);
	free(want_list);
}

/* Very long paths, made here: one deeper than PATH_MAX (restored whole,
 * exactly), a name longer than NAME_MAX as the leaf and as a parent. */
static void long_cases(size_t k)
{
	static char deep[40 * 121 + 8], list[LISTING_MAX], name[300], below[310], msg[2][400];
	struct hcase c[3] = {
		{ "a path deeper than PATH_MAX", { F(deep) }, 0, "", list },
		{ "a name longer than NAME_MAX", { F(name) }, 11, msg[0], "" },
		{ "a parent longer than NAME_MAX", { F(below) }, 11, msg[1], "" },
	};
	char *p = deep, *l = list;

	for (int i = 0; i < 36; i++) {
		memset(p, 'a' + i % 26, 120);
		p[120] = 0;
		l += sprintf(l, "%s d\n", deep);
		p += 120;
		*p++ = '/';
	}
	strcpy(p, "f");
	sprintf(l, "%s f\n", deep);
	memset(name, 'n', 256);
	snprintf(below, sizeof(below), "%s/f", name);
	snprintf(msg[0], sizeof(msg[0]), "unable to create '%s': File name too long", name);
	snprintf(msg[1], sizeof(msg[1]), "refusing to restore '%s': File name too long", below);
	for (int i = 0; i < 3; i++)
		run_case(k + i, &c[i]);
}

int main(int argc, char **argv)
{
	char self[PATH_MAX];

	tap_lock_dir(TOP);
	/* build/tests/unit/test_hostile.t -> build/mbackup */
	if (!realpath(argv[0], self))
		skip_all("cannot find this test's own path");
	snprintf(mbackup, sizeof(mbackup), "%s/../../mbackup", dirname(self));
	if (access(mbackup, X_OK) < 0) {
		fprintf(stderr, "# %s: %s (build it first: make)\n", mbackup, strerror(errno));
		return 1;
	}
	rm_rf(TOP);
	mkdir(TOP, 0700);
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++)
		run_case(k, &cases[k]);
	long_cases(sizeof(cases) / sizeof(cases[0]));
	if (!getenv("HOSTILE_KEEP"))
		rm_rf(TOP);
	return done_testing();
}
