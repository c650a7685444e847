/* mb_converge and mb_recheck on real ext4 and xfs: after modifying,
 * appending, deleting, creating (a new subdirectory too), retargeting a
 * symlink, replacing a file by a directory and deleting the first name of
 * a hard link, the recheck (inside a real FIFREEZE) reports exact counts
 * and the re-read bytes match the live files. */
#include <time.h>

#include "tests/lib/tap.h"
#include "tests/unit/test_extentmap_fixture.h"

#define KiB 1024u
#define NOT_RACY ((int64_t)1 << 40)	/* premap "started" far in the future */


#define P(...) (snprintf(p, sizeof(p), __VA_ARGS__), p)

static void make_tree(const char *m)
{
	char p[600], q[600];

	mkdir(P("%s/d1", m), 0755);
	mkdir(P("%s/d2", m), 0755);
	fx_write_at(P("%s/d1/f1", m), 0, 1024 * KiB, 1);
	fx_write_at(P("%s/d1/f2", m), 0, 100 * KiB, 2);
	fx_write_at(P("%s/d1/f3", m), 0, 10 * KiB, 3);
	fx_write_at(P("%s/d1/keep", m), 0, 5 * KiB, 4);
	fx_write_at(P("%s/d2/g1", m), 0, 7 * KiB, 5);
	fx_write_at(P("%s/r1", m), 0, 3 * KiB, 6);
	fx_write_at(P("%s/hl_a", m), 0, 20 * KiB, 7);
	snprintf(q, sizeof(q), "%s/hl_a", m);
	link(q, P("%s/hl_b", m));
	symlink("d1/f1", P("%s/lnk", m));
}

static void modify_tree(const char *m)
{
	char p[600];

	fx_write_at(P("%s/d1/f1", m), 0, 4 * KiB, 99);		/* in place */
	fx_write_at(P("%s/d1/f2", m), 100 * KiB, 300 * KiB, 98);	/* append */
	unlink(P("%s/d1/f3", m));
	fx_write_at(P("%s/d1/new1", m), 0, 9 * KiB, 97);
	mkdir(P("%s/d3", m), 0755);
	fx_write_at(P("%s/d3/n1", m), 0, 11 * KiB, 96);
	mkdir(P("%s/d3/sub", m), 0755);
	fx_write_at(P("%s/d3/sub/n2", m), 0, 13 * KiB, 95);
	fx_write_at(P("%s/r2", m), 0, 2 * KiB, 94);
	unlink(P("%s/d2/g1", m));				/* file -> dir */
	mkdir(P("%s/d2/g1", m), 0755);
	fx_write_at(P("%s/d2/g1/inner", m), 0, 6 * KiB, 93);
	unlink(P("%s/lnk", m));
	symlink("d2", P("%s/lnk", m));
	unlink(P("%s/hl_a", m));				/* hl_b becomes 'f' */
}

static int freeze(const char *m, unsigned long op)
{
	int fd = open(m, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc;

	rc = fd < 0 ? -1 : ioctl(fd, op, 0);
	if (fd >= 0)
		close(fd);
	return rc;
}

static void test_converge(struct fx *fs, struct mb_set *set)
{
	struct mb_map_stats st;
	struct mb_error e = { 0 };
	char p[600];

	fx_write_at(P("%s/r1", fs->mnt), 1 * KiB, 1 * KiB, 50);
	is_int(mb_converge(set, 0, 5, NULL, &st, &e), 0, "converge");
	is_int(st.rounds, 2, "converge: a second round finds nothing new");
	is_int(st.changed, 1, "converge: one file changed");
	is_int(st.mapped, 1, "converge: one file re-mapped");
	is_int(st.added + st.removed, 0, "converge: nothing added or removed");
	is_int(st.dirs_reread, 2, "converge: the root is listed each round");
	fx_write_at(P("%s/r1", fs->mnt), 0, 1 * KiB, 51);
	is_int(mb_converge(set, 5, 5, NULL, &st, &e), 0, "converge (small enough)");
	is_int(st.rounds, 1, "converge: stops when few enough changed");
}

static void test_recheck(struct fx *fs)
{
	struct mb_set set = { 0 };
	struct mb_map_stats st;
	struct mb_error e = { 0 };
	struct mb_extent_reader *r = NULL;
	struct mb_entry *ent;
	int rc, frozen;
	uint64_t dirs = 0;
	int64_t started;

	make_tree(fs->mnt);
	is_int(mb_walk(&set, fs->mnt, NULL, &e) || mb_premap(&set, NULL, &st, &e), 0, "walk + premap");
	test_converge(fs, &set);
	modify_tree(fs->mnt);
	frozen = freeze(fs->mnt, FIFREEZE) == 0;
	ok(frozen, "filesystem frozen for the recheck");
	rc = mb_recheck(&set, NOT_RACY, &st, &e);
	if (frozen)
		freeze(fs->mnt, FITHAW);
	is_int(rc, 0, "recheck");
	is_str(e.msg, "", "recheck: no error");
	is_int(st.changed, 7, "changed: f1 f2 d1 d2 d2/g1 lnk hl_b");
	is_int(st.removed, 2, "removed: f3 hl_a");
	is_int(st.added, 7, "added: new1 d3 d3/n1 d3/sub d3/sub/n2 r2 d2/g1/inner");
	is_int(st.dirs_reread, 4, "listed again: root d1 d2 d2/g1");
	is_int(st.mapped, 8, "mapped: f1 f2 hl_b + 5 new files");
	ok(fx_find(&set, "d1/f3") == NULL && fx_find(&set, "hl_a") == NULL, "deleted names gone");
	ok(fx_find(&set, "d3/sub/n2") != NULL, "new subdirectory walked");
	ent = fx_find(&set, "d2/g1");
	is_int(ent ? ent->type : 0, 'd', "file replaced by a directory");
	ent = fx_find(&set, "lnk");
	is_str(ent ? mb_entry_link(ent) : NULL, "d2", "symlink retargeted");
	ent = fx_find(&set, "hl_b");
	ok(ent && ent->type == 'f' && !mb_entry_link(ent) && ent->n_extents > 0,
	   "last hard link name is 'f' with a map");
	ent = fx_find(&set, "d1/f2");
	is_int(ent ? ent->size : 0, 400 * KiB, "appended size");
	is_int(ent ? ent->seg_length : 0, 400 * KiB, "appended seg_length");
	is_int(st.entries, 17, "17 entries in the set");
	mb_extent_reader_open(&r, fs->img, 0, &e);
	is_int(fx_compare_all(r, &set, fs->mnt), 0, "re-read bytes match the live files");

	/* Racy: with the real premap start, everything recent is re-mapped. */
	started = time(NULL) - 30;
	for (size_t i = 0; i < set.n; i++)
		dirs += set.v[i].type == 'd' && (set.v[i].mtime_sec >= started - 1 ||
						 set.v[i].ctime_sec >= started - 1);
	is_int(mb_recheck(&set, started, &st, &e), 0, "racy recheck");
	is_int(st.changed + st.added + st.removed, 0, "racy recheck: nothing moved");
	is_int(st.mapped, st.files, "racy recheck: every file re-mapped");
	is_int(st.dirs_reread, dirs + 1, "racy recheck: every racy directory listed");
	is_int(mb_recheck(&set, NOT_RACY, &st, &e), 0, "quiet recheck");
	is_int(st.mapped + st.changed + st.added + st.removed, 0, "quiet recheck: no work");
	is_int(st.dirs_reread, 1, "quiet recheck: only the root listed");
	mb_extent_reader_close(r);
	mb_set_free(&set);
}

int main(void)
{
	const uint64_t size[2] = { 128u << 20, 512u << 20 };

	return fx_main_ext4_xfs(size, test_recheck);
}
