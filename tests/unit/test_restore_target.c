/* Unit tests for orchestrator/restore_target.c: a varied tree restored with
 * its metadata and holes, and every way out of the target refused. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "orchestrator/restore_target.h"
#include "tests/lib/tap.h"

static char base[64], tgt[128], outside[128], p[512];

static const char *at(const char *dir, const char *rel)
{
	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	return p;
}

static struct mb_entry ent(const char *path, char type, uint32_t mode)
{
	return (struct mb_entry){ .path = (char *)path, .type = type,
		.mode = mode, .uid = 1000 + mode % 7, .gid = 2000 + mode % 5,
		.mtime_sec = 1600000000 + mode, .mtime_nsec = 123456789 };
}

static int write_file(struct mb_target *t, struct mb_entry *f, const char *data,
		      size_t len, struct mb_error *e)
{
	int fd;

	size_t id;

	if (mb_target_create_file(t, f, &fd, &id, e) < 0)
		return -1;
	if (mb_target_write(t, fd, data, len, e) < 0)
		return -1;
	if (mb_target_finish_file(t, fd, f, e) < 0)
		return -1;
	return mb_target_publish(t, id, e);
}

static int same_meta(const char *path, const struct mb_entry *x)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return 0;
	if ((st.st_mode & 07777) != (x->mode & 07777) && x->type != 'l')
		return diag("%s: mode %o", path, st.st_mode & 07777), 0;
	if (st.st_uid != x->uid || st.st_gid != x->gid)
		return diag("%s: owner %u:%u", path, st.st_uid, st.st_gid), 0;
	if (st.st_mtim.tv_sec != x->mtime_sec ||
	    st.st_mtim.tv_nsec != x->mtime_nsec)
		return diag("%s: mtime %ld.%09ld", path, st.st_mtim.tv_sec,
			    st.st_mtim.tv_nsec), 0;
	return 1;
}

/* 10 MiB: 'A' block, 8 MiB hole, 'B' block, trailing hole; fed in 1000-byte
 * chunks so the zero blocks never line up with a write. */
static int write_sparse(struct mb_target *t, struct mb_entry *f,
			struct mb_error *e)
{
	static char buf[10 << 20];
	int fd;

	memset(buf, 'A', 4096);
	memset(buf + (8 << 20) + 4096, 'B', 4096);
	buf[(8 << 20) + 4096 + 5000] = 'C';	/* inside a partial block */
	size_t id;

	if (mb_target_create_file(t, f, &fd, &id, e) < 0)
		return -1;
	for (size_t off = 0; off < sizeof(buf) - (1 << 20); off += 1000) {
		size_t n = sizeof(buf) - (1 << 20) - off;
		if (mb_target_write(t, fd, buf + off, n > 1000 ? 1000 : n, e) < 0)
			return -1;
	}
	f->size = sizeof(buf);	/* the last MiB comes from ftruncate */
	if (mb_target_finish_file(t, fd, f, e) < 0)
		return -1;
	return mb_target_publish(t, id, e);
}

static void check_sparse(const char *path)
{
	struct stat st;
	int fd = open(path, O_RDONLY);
	static char got[10 << 20];
	ssize_t n = fd < 0 ? -1 : read(fd, got, sizeof(got));
	int good = n == (ssize_t)sizeof(got);

	for (size_t i = 0; good && i < sizeof(got); i++) {
		char want = i < 4096 ? 'A' :
			    (i >= (8u << 20) + 4096 && i < (8u << 20) + 8192) ? 'B' :
			    i == (8u << 20) + 4096 + 5000 ? 'C' : 0;
		if (got[i] != want)
			good = 0, diag("byte %zu is %d", i, got[i]);
	}
	ok(good, "sparse file: content right");
	ok(fstat(fd, &st) == 0 && st.st_size == 10 << 20, "sparse file: size");
	ok(st.st_blocks * 512 <= 64 * 1024, "sparse file: holes kept");
	diag("sparse file uses %lld bytes", (long long)st.st_blocks * 512);
	close(fd);
}

static void test_tree(void)
{
	struct mb_error e = { 0 };
	struct mb_target *t = NULL;
	struct mb_entry d = ent("d", 'd', S_IFDIR | 0750);
	struct mb_entry sub = ent("d/sub", 'd', S_IFDIR | 0705);
	struct mb_entry f = ent("d/f", 'f', S_IFREG | 04755);
	struct mb_entry sp = ent("d/sparse", 'f', S_IFREG | 0640);
	struct mb_entry h = ent("d/sub/h", 'h', S_IFREG | 04755);
	struct mb_entry l = ent("d/link", 'l', S_IFLNK | 0777);
	struct mb_entry fifo = ent("d/fifo", 'p', S_IFIFO | 0640);
	struct mb_entry chr = ent("null", 'c', S_IFCHR | 0666);
	struct mb_entry deep = ent("auto/made/x", 'f', S_IFREG | 0600);
	struct stat a, b;
	char buf[64];

	f.size = 5;
	mb_entry_set_link(&h, strdup("d/f"));
	mb_entry_set_link(&l, strdup("../../etc/passwd"));
	mb_entry_set_rdev(&chr, makedev(1, 3));
	is_int(mb_target_open(&t, tgt, false, &e), 0, "open a new target");
	ok(stat(tgt, &a) == 0 && (a.st_mode & 07777) == 0700, "target made 0700");
	is_int(mb_target_make(t, &d, &e), 0, "dir d");
	is_int(mb_target_make(t, &sub, &e), 0, "dir d/sub");
	is_int(write_file(t, &f, "hello", 5, &e), 0, "file d/f");
	is_int(write_sparse(t, &sp, &e), 0, "sparse file");
	is_int(mb_target_make(t, &h, &e), 0, "hard link");
	is_int(mb_target_make(t, &l, &e), 0, "symlink");
	is_int(mb_target_make(t, &fifo, &e), 0, "fifo");
	is_int(mb_target_make(t, &chr, &e), 0, "char device");
	is_int(write_file(t, &deep, "", 0, &e), 0, "file under missing dirs");
	is_int(mb_target_close(t, &e), 0, "close");
	if (e.code)
		diag("error: %s", e.msg);

	ok(same_meta(at(tgt, "d"), &d), "dir d: mode, owner, mtime (ns)");
	ok(same_meta(at(tgt, "d/sub"), &sub), "dir d/sub: metadata");
	ok(same_meta(at(tgt, "d/f"), &f), "file: setuid mode, owner, mtime");
	ok(same_meta(at(tgt, "d/sparse"), &sp), "sparse: metadata");
	ok(same_meta(at(tgt, "d/link"), &l), "symlink: owner, mtime");
	ok(same_meta(at(tgt, "d/fifo"), &fifo), "fifo: metadata");
	ok(same_meta(at(tgt, "null"), &chr), "char device: metadata");
	ok(lstat(at(tgt, "d/fifo"), &a) == 0 && S_ISFIFO(a.st_mode), "is a fifo");
	ok(lstat(at(tgt, "null"), &a) == 0 && S_ISCHR(a.st_mode) &&
	   a.st_rdev == makedev(1, 3), "is char device 1:3");
	ok(stat(at(tgt, "d/f"), &a) == 0 && stat(at(tgt, "d/sub/h"), &b) == 0 &&
	   a.st_ino == b.st_ino && a.st_nlink == 2, "hard link: same inode");
	ssize_t n = readlink(at(tgt, "d/link"), buf, sizeof(buf) - 1);
	buf[n < 0 ? 0 : n] = '\0';
	is_str(buf, "../../etc/passwd", "symlink target kept as is");
	int fd = open(at(tgt, "d/f"), O_RDONLY);
	n = fd < 0 ? -1 : read(fd, buf, sizeof(buf));
	close(fd);
	ok(n == 5 && !memcmp(buf, "hello", 5), "file content");
	ok(stat(at(tgt, "auto/made"), &a) == 0 && (a.st_mode & 07777) == 0700,
	   "missing parent made 0700");
	check_sparse(at(tgt, "d/sparse"));
}

static void test_check_path(void)
{
	static const struct { const char *path, *msg; } bad[] = {
		{ "/etc/passwd", "refusing to restore '/etc/passwd': absolute path" },
		{ "a/../b", "refusing to restore 'a/../b': '..' component" },
		{ "..", "refusing to restore '..': '..' component" },
		{ "./a", "refusing to restore './a': '.' component" },
		{ "a//b", "refusing to restore 'a//b': empty component" },
		{ "a/", "refusing to restore 'a/': empty component" },
		{ "", "refusing to restore '': empty path" },
	};
	struct mb_error e;
	char name[64];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		mb_error_clear(&e);
		mb_target_check_path(bad[i].path, &e);
		snprintf(name, sizeof(name), "check_path refuses '%s'", bad[i].path);
		is_str(e.msg, bad[i].msg, name);
	}
	mb_error_clear(&e);
	is_int(mb_target_check_path("a/..b/.c/b..", &e), 0, "dots inside names ok");
}

/* Every escape attempt is refused and nothing appears outside. */
static void test_escapes(void)
{
	struct mb_error e = { 0 };
	struct mb_target *t = NULL;
	struct mb_entry up = ent("../escaped", 'f', S_IFREG | 0644);
	struct mb_entry x = ent("evil/x", 'f', S_IFREG | 0644);
	struct mb_entry xd = ent("evil/newdir", 'd', S_IFDIR | 0755);
	struct mb_entry hl = ent("hl", 'h', S_IFREG | 0644);
	struct mb_entry sl = ent("s", 'l', S_IFLNK | 0777);
	struct mb_entry via = ent("s/passwd", 'f', S_IFREG | 0644);
	char t2[160];
	int fd;
	size_t id;

	snprintf(t2, sizeof(t2), "%s/t2", base);
	mkdir(outside, 0755);
	close(open(at(outside, "secret"), O_WRONLY | O_CREAT, 0600));
	is_int(mb_target_open(&t, t2, false, &e), 0, "open target 2");
	is_int(mb_target_create_file(t, &up, &fd, &id, &e), -1, "'..' refused");
	is_str(e.msg, "refusing to restore '../escaped': '..' component",
	       "'..': message");
	is_int(e.code, MB_ERR_TARGET, "'..': MB_ERR_TARGET");

	ok(symlink(outside, at(t2, "evil")) == 0, "planted symlink to outside");
	mb_error_clear(&e);
	is_int(mb_target_create_file(t, &x, &fd, &id, &e), -1, "file via symlink");
	is_str(e.msg, "refusing to restore 'evil/x': 'evil' is a symlink",
	       "file via symlink: message");
	mb_error_clear(&e);
	is_int(mb_target_make(t, &xd, &e), -1, "dir via symlink refused");
	mb_error_clear(&e);
	mb_entry_set_link(&hl, strdup("evil/secret"));
	is_int(mb_target_make(t, &hl, &e), -1, "hard link via symlink refused");
	is_str(e.msg, "refusing to restore 'evil/secret': 'evil' is a symlink",
	       "hard link via symlink: message");

	/* the classic archive attack: a symlink entry, then a file under it */
	mb_error_clear(&e);
	mb_entry_set_link(&sl, strdup(outside));
	is_int(mb_target_make(t, &sl, &e), 0, "symlink entry to outside");
	is_int(mb_target_create_file(t, &via, &fd, &id, &e), -1, "file under it");
	is_str(e.msg, "refusing to restore 's/passwd': 's' is a symlink",
	       "file under symlink entry: message");
	mb_error_clear(&e);
	is_int(mb_target_close(t, &e), 0, "close target 2");

	struct stat st;
	ok(lstat(at(base, "escaped"), &st) < 0 && lstat(at(outside, "x"), &st) < 0 &&
	   lstat(at(outside, "newdir"), &st) < 0 &&
	   lstat(at(outside, "passwd"), &st) < 0 && lstat(at(t2, "hl"), &st) < 0,
	   "nothing written outside the target");
}

static void test_force(void)
{
	struct mb_error e = { 0 };
	struct mb_target *t = NULL;
	struct mb_entry d = ent("d", 'd', S_IFDIR | 0755);
	struct mb_entry x = ent("x", 'f', S_IFREG | 0644);
	struct mb_entry keep = ent("keep", 'd', S_IFDIR | 0711);
	struct mb_entry evil = ent("evil", 'd', S_IFDIR | 0755);
	struct mb_entry ex = ent("evil/x", 'f', S_IFREG | 0644);
	char t3[160], buf[16];
	ssize_t n;
	struct stat st;

	x.size = 3;
	ex.size = 2;
	snprintf(t3, sizeof(t3), "%s/t3", base);
	mkdir(t3, 0755);
	close(open(at(t3, "d"), O_WRONLY | O_CREAT, 0600));
	int fd = open(at(t3, "x"), O_WRONLY | O_CREAT, 0600);
	ok(write(fd, "old content", 11) == 11, "old x written");
	close(fd);
	mkdir(at(t3, "keep"), 0700);
	close(open(at(t3, "keep/inner"), O_WRONLY | O_CREAT, 0600));
	symlink(outside, at(t3, "evil"));

	is_int(mb_target_open(&t, t3, false, &e), -1, "non-empty refused");
	is_int(e.code, MB_ERR_TARGET, "non-empty: MB_ERR_TARGET");
	snprintf(p, sizeof(p), "restore target '%s' is not empty", t3);
	is_str(e.msg, p, "non-empty: message");
	is_str(e.hint, "use an empty directory, or --force to overwrite",
	       "non-empty: hint");
	ok(t == NULL, "non-empty: no handle");

	mb_error_clear(&e);
	is_int(mb_target_open(&t, t3, true, &e), 0, "--force opens it");
	is_int(mb_target_make(t, &d, &e), 0, "force: dir replaces a file");
	is_int(write_file(t, &x, "new", 3, &e), 0, "force: file replaced");
	is_int(mb_target_make(t, &keep, &e), 0, "force: existing dir kept");
	is_int(mb_target_make(t, &evil, &e), 0, "force: symlink -> real dir");
	is_int(write_file(t, &ex, "in", 2, &e), 0, "force: file in that dir");
	is_int(mb_target_remove(t, "x", &e), 0, "remove a restored file");
	is_int(mb_target_close(t, &e), 0, "force: close");
	if (e.code)
		diag("error: %s", e.msg);
	ok(lstat(at(t3, "d"), &st) == 0 && S_ISDIR(st.st_mode), "d is a dir");
	ok(lstat(at(t3, "x"), &st) < 0 && errno == ENOENT, "x removed");
	ok(lstat(at(t3, "keep/inner"), &st) == 0, "kept dir keeps its content");
	ok(same_meta(at(t3, "keep"), &keep), "kept dir gets the entry's metadata");
	ok(lstat(at(t3, "evil"), &st) == 0 && S_ISDIR(st.st_mode),
	   "evil is a real dir now");
	ok(lstat(at(outside, "x"), &st) < 0, "force: nothing written outside");
	fd = open(at(t3, "evil/x"), O_RDONLY);
	n = fd < 0 ? -1 : read(fd, buf, sizeof(buf));
	if (n != 2) diag("n=%zd fd=%d %m", n, fd);
	ok(n == 2, "force: evil/x content");
	close(fd);
}

/* A file stays in the staging directory until published: never under its
 * name before; dropped at close when not published; a leftover staging
 * directory (a killed restore) is cleared by --force. */
static int count_staging(const char *dir, char *name, size_t cap)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	while (d && (de = readdir(d)))
		if (strncmp(de->d_name, ".mbackup-restore-", 17) == 0) {
			snprintf(name, cap, "%s", de->d_name);
			n++;
		}
	if (d)
		closedir(d);
	return n;
}

static void test_staging(void)
{
	struct mb_error e = { 0 };
	struct mb_target *t = NULL;
	struct mb_entry a = ent("s/a", 'f', S_IFREG | 0640);
	struct mb_entry b = ent("s/b", 'f', S_IFREG | 0640);
	struct mb_entry bad = ent(".mbackup-restore-abcdef/x", 'f', S_IFREG | 0600);
	char t4[160], stage[NAME_MAX + 1] = "", in_stage[400];
	struct stat st;
	size_t ida, idb;
	int fa, fb;

	a.size = b.size = 1;
	snprintf(t4, sizeof(t4), "%s/t4", base);
	is_int(mb_target_open(&t, t4, false, &e), 0, "staging: open");
	is_int(mb_target_create_file(t, &a, &fa, &ida, &e), 0, "staging: create a");
	is_int(mb_target_create_file(t, &b, &fb, &idb, &e), 0, "staging: create b");
	is_int(mb_target_write(t, fa, "a", 1, &e) + mb_target_finish_file(t, fa, &a, &e), 0,
	       "staging: a written and finished");
	is_int(mb_target_write(t, fb, "b", 1, &e) + mb_target_finish_file(t, fb, &b, &e), 0,
	       "staging: b written and finished");
	ok(lstat(at(t4, "s/a"), &st) < 0 && lstat(at(t4, "s/b"), &st) < 0,
	   "staging: nothing under a final name before publishing");
	is_int(count_staging(t4, stage, sizeof(stage)), 1, "staging: one staging directory");
	ok(strlen(stage) == 23, "staging: named .mbackup-restore-XXXXXX");
	is_int(mb_target_publish(t, ida, &e), 0, "staging: publish a");
	ok(same_meta(at(t4, "s/a"), &a), "staging: a published with its metadata");
	is_int(mb_target_create_file(t, &bad, &fa, &ida, &e), -1, "staging: its name refused");
	is_str(e.msg, "refusing to restore '.mbackup-restore-abcdef/x': the name of a "
	       "restore's staging directory", "staging: message");
	mb_error_clear(&e);
	is_int(mb_target_close(t, &e), 0, "staging: close");
	ok(lstat(at(t4, "s/b"), &st) < 0, "staging: b, never published, is gone");
	is_int(count_staging(t4, stage, sizeof(stage)), 0, "staging: directory removed");

	/* a killed restore's leftover */
	mkdir(at(t4, ".mbackup-restore-Kill3d"), 0700);
	snprintf(in_stage, sizeof(in_stage), "%s/.mbackup-restore-Kill3d/0", t4);
	close(open(in_stage, O_WRONLY | O_CREAT, 0600));
	is_int(mb_target_open(&t, t4, false, &e), -1, "leftover: refused without force");
	mb_error_clear(&e);
	is_int(mb_target_open(&t, t4, true, &e), 0, "leftover: --force opens");
	is_int(count_staging(t4, stage, sizeof(stage)), 0, "leftover: cleared by --force");
	is_int(mb_target_close(t, &e), 0, "leftover: close");
	ok(lstat(at(t4, "s/a"), &st) == 0, "leftover: the published file stays");
}

int main(void)
{
	char cmd[200];

	if (geteuid() != 0)
		skip_all("needs root (owners, device nodes)");
	plan(92);
	snprintf(base, sizeof(base), "/tmp/restore_target-%d", (int)getpid());
	snprintf(tgt, sizeof(tgt), "%s/t1", base);
	snprintf(outside, sizeof(outside), "%s/outside", base);
	mkdir(base, 0755);
	test_tree();
	test_check_path();
	test_escapes();
	test_force();
	test_staging();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	if (system(cmd) != 0)
		diag("cleanup of %s failed", base);
	return done_testing();
}
