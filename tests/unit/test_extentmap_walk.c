/* mb_walk on a real ext4: logical order, types, links, special files,
 * sockets and mount points skipped, and the errors. */
#include <sys/socket.h>
#include <sys/un.h>

#include "tests/lib/tap.h"
#include "tests/unit/test_extentmap_fixture.h"

static struct fx fs;

static void make_tree(const char *m)
{
	char p[600], name[201];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int s;

	memset(name, 'n', 200);
	name[200] = '\0';
#define P(...) (snprintf(p, sizeof(p), __VA_ARGS__), p)
	mkdir(P("%s/a", m), 0755);
	mkdir(P("%s/a/b", m), 0750);
	fx_write_at(P("%s/a/b/deep.txt", m), 0, 4, 1);
	fx_write_at(P("%s/a-b", m), 0, 1, 2);
	fx_write_at(P("%s/empty", m), 0, 0, 3);
	mkfifo(P("%s/fifo", m), 0600);
	fx_write_at(P("%s/hl1", m), 0, 5, 4);
	symlink("a/b/deep.txt", P("%s/link", m));
	fx_write_at(P("%s/%s", m, name), 0, 7, 5);
	mkdir(P("%s/mp", m), 0755);
	mkdir(P("%s/z", m), 0755);
	link(P("%s/hl1", m), (snprintf(name, sizeof(name), "%s/z/hl2", m), name));
	fx_write_at(P("%s/\xc3\xa9.txt", m), 0, 3, 6);
	fx_write_at(P("%s/\xff", m), 0, 2, 7);
	if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/sock", m) >=
	    (int)sizeof(sa.sun_path))
		return;
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bind(s, (struct sockaddr *)&sa, sizeof(sa));
	close(s);
#undef P
}

static int body(void *arg)
{
	static const struct { const char *path; char type; } want[] = {
		{ "a", 'd' }, { "a/b", 'd' }, { "a/b/deep.txt", 'f' }, { "a-b", 'f' },
		{ "empty", 'f' }, { "fifo", 'p' }, { "hl1", 'f' }, { "link", 'l' },
		{ "lost+found", 'd' }, { NULL, 'f' } /* the long name */,
		{ "z", 'd' }, { "z/hl2", 'h' }, { "\xc3\xa9.txt", 'f' }, { "\xff", 'f' },
	};
	struct mb_set set = { 0 };
	struct mb_error e = { 0 };
	char longname[201], path[300];
	struct mb_entry *ent;
	int order_ok = 1;

	memset(longname, 'n', 200);
	longname[200] = '\0';
	make_tree(fs.mnt);
	snprintf(fs.inner, sizeof(fs.inner), "%s/mp", fs.mnt);
	if (mount("tmpfs", fs.inner, "tmpfs", 0, "size=1m") < 0)
		fs.inner[0] = '\0';
	ok(fs.inner[0], "tmpfs mounted inside the tree");
	is_int(mb_walk(&set, fs.mnt, NULL, &e), 0, "walk succeeds");
	is_str(e.msg, "", "no error");
	is_str(set.root, fs.mnt, "root recorded");
	is_int(set.n, 14, "14 entries: socket and mount point skipped");
	for (size_t i = 0; i < 14 && i < set.n; i++) {
		const char *w = want[i].path ? want[i].path : longname;

		if (strcmp(set.v[i].path, w) || set.v[i].type != want[i].type) {
			diag("entry %zu: got '%s' %c, want '%s' %c", i, set.v[i].path,
			     set.v[i].type, w, want[i].type);
			order_ok = 0;
		}
	}
	ok(order_ok, "logical order and types");
	ent = fx_find(&set, "z/hl2");
	is_str(ent ? mb_entry_link(ent) : NULL, "hl1", "hard link points at the first name");
	is_int(ent ? ent->size : 0, 5, "'h' keeps st_size");
	is_int(ent ? ent->seg_length : 1, 0, "'h' has no data");
	is_int(ent ? ent->nlink : 0, 2, "nlink recorded");
	ent = fx_find(&set, "hl1");
	ok(ent && mb_entry_link(ent) == NULL && ent->seg_length == 5, "first name carries the data");
	ent = fx_find(&set, "link");
	is_str(ent ? mb_entry_link(ent) : NULL, "a/b/deep.txt", "symlink target");
	is_int(ent ? ent->size : 1, 0, "symlink size 0");
	ent = fx_find(&set, "a/b");
	is_int(ent ? ent->mode : 0, S_IFDIR | 0750, "mode with type bits");
	ent = fx_find(&set, "a/b/deep.txt");
	{
		struct stat st;

		snprintf(path, sizeof(path), "%s/a/b/deep.txt", fs.mnt);
		stat(path, &st);
		ok(ent && ent->ino == st.st_ino && ent->size == 4 &&
		   ent->mtime_sec == st.st_mtim.tv_sec &&
		   ent->mtime_nsec == (uint32_t)st.st_mtim.tv_nsec &&
		   ent->ctime_nsec == (uint32_t)st.st_ctim.tv_nsec,
		   "ino, size and ns times recorded");
	}
	is_int(set.dev != 0, 1, "root device recorded");
	mb_set_free(&set);

	mb_error_clear(&e);
	is_int(mb_walk(&set, "/nonexistent-extentmap", NULL, &e), -1, "missing root fails");
	is_str(e.msg, "unable to resolve '/nonexistent-extentmap': No such file or directory",
	       "missing root message");
	is_int(e.code, MB_ERR_SOURCE, "missing root code");
	mb_set_free(&set);
	mb_error_clear(&e);
	snprintf(path, sizeof(path), "%s/a-b", fs.mnt);
	is_int(mb_walk(&set, path, NULL, &e), -1, "a file as root fails");
	{
		char msg[400];

		snprintf(msg, sizeof(msg), "unable to open '%s': Not a directory", path);
		is_str(e.msg, msg, "file root message");
	}
	mb_set_free(&set);
	return done_testing();
}

int main(void)
{
	static const char *const mkfs[] = { "mkfs.ext4", "-q", "-F", "-b", "4096", NULL };
	int rc;

	if (geteuid() != 0)
		skip_all("needs root for loop devices");
	if (fx_setup(&fs, "ext4", mkfs, 64 << 20) < 0) {
		printf("1..1\nnot ok 1 - ext4 scratch filesystem: %s\n", strerror(errno));
		fx_teardown(&fs);
		return 1;
	}
	snprintf(fs.inner, sizeof(fs.inner), "%s/mp", fs.mnt);
	rc = fx_run_child(body, NULL);
	fx_teardown(&fs);
	return rc;
}
