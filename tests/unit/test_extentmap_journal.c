/* The change journal (mb_converge_journal, mb_recheck_journal) on real
 * ext4 and xfs, under a real FIFREEZE: the window stats only what the
 * journal named (counted exactly), the map it leaves is the map a fresh
 * walk + premap of the frozen state gives, a quiet window does nothing,
 * and a queue overflow falls back to the full recheck, exact too. */
#include <time.h>

#include "tests/lib/tap.h"
#include "tests/unit/test_extentmap_fixture.h"

#define NDIRS 20
#define PER_DIR 100
#define OVERFLOW_FILES 17000	/* > /proc/sys/fs/fanotify/max_queued_events */


#define P(...) (snprintf(p, sizeof(p), __VA_ARGS__), p)

static void make_tree(const char *m)
{
	char p[600], q[600];

	for (int d = 0; d < NDIRS; d++) {
		mkdir(P("%s/d%02d", m, d), 0755);
		for (int f = 0; f < PER_DIR; f++)
			fx_write_at(P("%s/d%02d/f%03d", m, d, f), 0, 1024 + 37 * f, (uint32_t)f);
	}
	fx_write_at(P("%s/hl_a", m), 0, 20 * 1024, 7);
	snprintf(q, sizeof(q), "%s/hl_a", m);
	link(q, P("%s/hl_b", m));
	symlink("d00/f000", P("%s/lnk", m));
}

/* After the last converge round: 3 inodes written or chmod'ed, names
 * removed, created and replaced in d02, d03 and the root. */
static void modify_tree(const char *m)
{
	char p[600];

	fx_write_at(P("%s/d00/f000", m), 0, 1024, 99);		/* in place */
	fx_write_at(P("%s/d01/f001", m), 1061, 64 * 1024, 98);	/* append */
	chmod(P("%s/d04/f004", m), 0600);
	unlink(P("%s/d02/f002", m));
	fx_write_at(P("%s/d03/new", m), 0, 9 * 1024, 97);
	mkdir(P("%s/d99", m), 0755);
	fx_write_at(P("%s/d99/n1", m), 0, 11 * 1024, 96);
	unlink(P("%s/lnk", m));
	symlink("d01", P("%s/lnk", m));
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

static int recheck_frozen(struct fx *fs, struct mb_set *set, struct mb_journal *j,
			  struct mb_map_stats *st, struct mb_error *e)
{
	bool frozen = freeze(fs->mnt, FIFREEZE) == 0;
	int rc;

	ok(frozen, "filesystem frozen for the recheck");
	rc = mb_recheck_journal(set, j, time(NULL) - 60, st, e);
	if (frozen)
		freeze(fs->mnt, FITHAW);
	return rc;
}

static bool same_entry(const struct mb_entry *a, const struct mb_entry *b)
{
	if (strcmp(a->path, b->path) || a->type != b->type || a->ino != b->ino ||
	    a->size != b->size || a->mode != b->mode || a->mtime_sec != b->mtime_sec ||
	    a->mtime_nsec != b->mtime_nsec || a->ctime_nsec != b->ctime_nsec ||
	    a->seg_length != b->seg_length || a->n_extents != b->n_extents ||
	    a->read_via_fs != b->read_via_fs ||
	    !mb_entry_link(a) != !mb_entry_link(b) ||
	    (mb_entry_link(a) && strcmp(mb_entry_link(a), mb_entry_link(b))))
		return false;
	for (size_t k = 0; k < a->n_extents; k++)
		if (a->extents[k].physical != b->extents[k].physical ||
		    a->extents[k].logical != b->extents[k].logical ||
		    a->extents[k].length != b->extents[k].length)
			return false;
	return true;
}

/* The set against a fresh walk + premap of the (unchanged) filesystem. */
static void is_exact(struct mb_set *set, const char *mnt, const char *what)
{
	struct mb_set fresh = { 0 };
	struct mb_error e = { 0 };
	size_t bad = 0, first = SIZE_MAX;

	if (mb_walk(&fresh, mnt, NULL, &e) < 0 || mb_premap(&fresh, NULL, NULL, &e) < 0)
		diag("fresh walk: %s", e.msg);
	for (size_t i = 0; i < set->n && i < fresh.n; i++)
		if (!same_entry(&set->v[i], &fresh.v[i]) && bad++ == 0)
			first = i;
	char msg[2][128];

	if (first != SIZE_MAX)
		diag("first difference: '%s'", set->v[first].path);
	snprintf(msg[0], sizeof(msg[0]), "%s: as many entries as a fresh walk", what);
	snprintf(msg[1], sizeof(msg[1]), "%s: every entry and extent as a fresh premap maps it", what);
	is_int(set->n, fresh.n, msg[0]);
	is_int(bad, 0, msg[1]);
	mb_set_free(&fresh);
}

static void start(struct fx *fs, struct mb_set *set, struct mb_journal **j)
{
	struct mb_map_stats st;
	struct mb_error e = { 0 };
	char p[600];

	is_int(mb_journal_open(j, fs->mnt, &e), 0, "journal opened");
	is_str(e.msg, "", "journal: no error");
	/* written between the walk and the premap: the first round sees it */
	is_int(mb_walk(set, fs->mnt, NULL, &e), 0, "walk");
	fx_write_at(P("%s/d05/f005", fs->mnt), 0, 512, 55);
	is_int(mb_premap(set, NULL, &st, &e), 0, "premap");
	fx_write_at(P("%s/d06/f006", fs->mnt), 0, 512, 66);
	is_int(mb_converge_journal(set, *j, 0, 4, NULL, &st, &e), 0, "converge by the journal");
	is_int(st.rounds, 2, "converge: a second round finds nothing new");
	is_int(st.stated, 2, "converge: only the two written files stat'ed");
	is_int(st.mapped, 2, "converge: and re-mapped");
	ok(st.journal, "converge went by the journal");
}

static void test_window(struct fx *fs)
{
	struct mb_set set = { 0 };
	struct mb_map_stats st;
	struct mb_error e = { 0 };
	struct mb_journal *j = NULL;
	struct mb_extent_reader *r = NULL;
	struct mb_entry *ent;

	make_tree(fs->mnt);
	start(fs, &set, &j);
	modify_tree(fs->mnt);
	is_int(recheck_frozen(fs, &set, j, &st, &e), 0, "recheck by the journal");
	is_str(e.msg, "", "recheck: no error");
	ok(st.journal && st.overflows == 0, "the window went by the journal");
	/* f000 f001 f004 hl_a hl_b (inodes named), d02 and d03 with their 100
	 * children each, the 23 direct children of the root (20 dirs,
	 * lost+found, hl_b, lnk): 5 + 2 * 101 + 23 */
	is_int(st.stated, 230, "the window stats only what the journal named");
	is_int(st.changed, 7, "changed: f000 f001 f004 hl_b lnk d02 d03");
	is_int(st.removed, 2, "removed: d02/f002 hl_a");
	is_int(st.added, 3, "added: d03/new d99 d99/n1");
	is_int(st.dirs_reread, 3, "listed again: root d02 d03");
	is_int(st.mapped, 6, "mapped: f000 f001 f004 hl_b d03/new d99/n1");
	ent = fx_find(&set, "hl_b");
	ok(ent && ent->type == 'f' && !mb_entry_link(ent) && ent->n_extents > 0,
	   "last hard link name is 'f' with a map");
	ent = fx_find(&set, "lnk");
	is_str(ent ? mb_entry_link(ent) : NULL, "d01", "symlink retargeted");
	is_exact(&set, fs->mnt, "after the window");
	mb_extent_reader_open(&r, fs->img, 0, &e);
	is_int(fx_compare_all(r, &set, fs->mnt), 0, "re-read bytes match the live files");
	mb_extent_reader_close(r);

	is_int(recheck_frozen(fs, &set, j, &st, &e), 0, "quiet recheck");
	is_int(st.stated + st.mapped + st.dirs_reread, 0, "quiet window: nothing stat'ed, mapped or listed");
	mb_journal_close(j);
	mb_set_free(&set);
}

static void test_overflow(struct fx *fs)
{
	struct mb_set set = { 0 };
	struct mb_map_stats st;
	struct mb_error e = { 0 };
	struct mb_journal *j = NULL;
	char p[600];
	size_t n0;

	start(fs, &set, &j);
	n0 = set.n;
	mkdir(P("%s/many", fs->mnt), 0755);
	for (int i = 0; i < OVERFLOW_FILES; i++) {
		int fd = open(P("%s/many/%05d", fs->mnt, i), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);

		if (fd >= 0)
			close(fd);
	}
	fx_write_at(P("%s/d07/f007", fs->mnt), 0, 700, 77);
	is_int(recheck_frozen(fs, &set, j, &st, &e), 0, "recheck after an overflow");
	ok(!st.journal && st.overflows == 1, "the window fell back to the full recheck");
	is_int(st.stated, n0, "full recheck: every entry stat'ed");
	is_int(st.added, OVERFLOW_FILES + 1, "full recheck: 'many' and its files added");
	is_exact(&set, fs->mnt, "after the overflow");
	mb_journal_close(j);
	mb_set_free(&set);
}

/* The rounds right before the window: they take what the writer did,
 * stop on a quiet round, and leave the set's totals uncounted (a scan of
 * every entry after the last drain would widen what the window stats). */
static void test_settle(struct fx *fs)
{
	struct mb_set set = { 0 };
	struct mb_map_stats st;
	struct mb_error e = { 0 };
	struct mb_journal *j = NULL;
	char p[600];

	start(fs, &set, &j);
	fx_write_at(P("%s/d08/f008", fs->mnt), 0, 900, 88);
	fx_write_at(P("%s/d09/f009", fs->mnt), 0, 900, 99);
	is_int(mb_settle_journal(&set, j, 0, 3, NULL, &st, &e), 0, "settle by the journal");
	is_int(st.rounds, 2, "settle: a second round finds nothing new");
	is_int(st.stated, 2, "settle: only the two written files stat'ed");
	is_int(st.mapped, 2, "settle: and re-mapped");
	ok(st.journal && st.entries == set.n, "settle went by the journal, over the whole set");
	is_int(st.files + st.bytes + st.extents, 0, "settle: no totals counted");
	fx_write_at(P("%s/d08/f008", fs->mnt), 0, 900, 11);
	is_int(mb_settle_journal(&set, j, 8, 3, NULL, &st, &e), 0, "settle again");
	is_int(st.rounds, 1, "settle: a round naming no more than small_enough is the last");
	is_int(recheck_frozen(fs, &set, j, &st, &e), 0, "recheck after settle");
	is_int(st.stated + st.mapped, 0, "the window stats nothing that settle took");
	is_exact(&set, fs->mnt, "after settle");
	mb_journal_close(j);
	mb_set_free(&set);
}

static void test_both(struct fx *fs)
{
	test_window(fs);
	test_settle(fs);
	test_overflow(fs);
}

int main(void)
{
	const uint64_t size[2] = { 256u << 20, 512u << 20 };

	return fx_main_ext4_xfs(size, test_both);
}
