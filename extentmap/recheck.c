/* P5 recheck (and the stat pass mb_converge repeats); see extentmap.h.
 * Runs inside the freeze window: it stats what the set holds and lists
 * only the directories that moved, never the whole tree. */
#include "extentmap/extentmap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "extentmap/internal.h"

struct pass {
	struct mb_set *set;
	int rootfd;
	size_t n0;		/* entries before this pass: sorted */
	int64_t racy_from;
	bool sync;
	const struct mb_stop *stop;	/* NULL in the window */
	const struct mb_em_dirty *dirty;	/* NULL: every entry */
	const struct mb_em_ino_index *x;	/* with dirty */
	size_t *dirs;		/* directories to list again (SIZE_MAX: root) */
	size_t n_dirs, cap_dirs;
	bool reshaped;		/* entries dropped, replaced or added */
	struct mb_map_stats *st;
};

static int push_dir(struct pass *p, size_t i)
{
	if (p->n_dirs == p->cap_dirs) {
		size_t cap = p->cap_dirs ? p->cap_dirs * 2 : 64;
		size_t *v = realloc(p->dirs, cap * sizeof(*v));

		if (!v)
			return -1;
		p->dirs = v;
		p->cap_dirs = cap;
	}
	p->dirs[p->n_dirs++] = i;
	return 0;
}

static bool is_under(const char *path, const char *dir, size_t len)
{
	return strncmp(path, dir, len) == 0 && path[len] == '/';
}

/* Drops everything below directory i (which follows it directly in
 * logical order). */
static void drop_below(struct pass *p, size_t i)
{
	const char *dir = p->set->v[i].path;
	size_t len = strlen(dir);

	for (size_t j = i + 1; j < p->n0 && is_under(p->set->v[j].path, dir, len); j++)
		p->set->v[j].type = MB_EM_GONE;
}

static void drop_tree(struct pass *p, size_t i)
{
	p->reshaped = true;
	if (p->set->v[i].type == MB_T_DIR)
		drop_below(p, i);
	p->set->v[i].type = MB_EM_GONE;
}

static int map_file(struct pass *p, struct mb_entry *ent, struct mb_error *e)
{
	int rc = mb_em_map_entry(p->rootfd, ent, p->sync, e);

	if (rc < 0)
		return -1;
	p->st->mapped += rc == 0;
	return 0;
}

/* The name now holds another kind of file: start the entry afresh. */
static int replace(struct pass *p, size_t i, const struct stat *st, struct mb_error *e)
{
	struct mb_entry *ent = &p->set->v[i];

	p->reshaped = true;
	if (ent->type == MB_T_DIR)
		drop_below(p, i);
	ent->type = mb_em_type_of(st->st_mode);
	mb_entry_drop_extents(ent);
	mb_entry_set_link(ent, NULL);
	ent->read_via_fs = false;
	ent->seg_offset = 0;
	if (mb_em_set_stat(ent, st, e) < 0)
		return -1;
	ent->seg_length = ent->size;
	return 0;
}

static bool same_kind(char a, char b)
{
	if (a == MB_T_HARDLINK)
		a = MB_T_FILE;
	if (b == MB_T_HARDLINK)
		b = MB_T_FILE;
	return a == b;
}

/* Stats entry i and brings it up to date; see mb_recheck.  force: the
 * journal named it, so it is re-mapped (or re-listed) whatever its stat
 * says. */
static int check_one(struct pass *p, size_t i, bool force, struct mb_error *e)
{
	struct mb_entry *ent = &p->set->v[i];
	struct stat st;
	bool moved, racy;
	char type;

	p->st->stated++;
	if (fstatat(p->rootfd, ent->path, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno != ENOENT && errno != ENOTDIR)
			return mb_fail(e, MB_ERR_SOURCE, errno,
				       "unable to stat '%s'", ent->path);
		drop_tree(p, i);
		return 0;
	}
	type = mb_em_type_of(st.st_mode);
	if (st.st_dev != p->set->dev || !type) {
		mb_warn("dropping '%s/%s': %s", p->set->root, ent->path,
			type ? "another filesystem is mounted there"
			     : "it became a socket");
		drop_tree(p, i);
		return 0;
	}
	moved = !same_kind(ent->type, type) || mb_em_stat_moved(ent, &st);
	racy = force || st.st_mtim.tv_sec >= p->racy_from ||
	       st.st_ctim.tv_sec >= p->racy_from;
	if (moved) {
		p->st->changed++;
		if ((!same_kind(ent->type, type) ? replace(p, i, &st, e)
						  : mb_em_set_stat(ent, &st, e)) < 0)
			return -1;
		if (type == MB_T_SYMLINK &&
		    mb_em_read_link(ent, p->rootfd, ent->path, e) < 0)
			return -1;
	}
	if (!moved && !racy)
		return 0;
	if (type == MB_T_FILE) {
		/* another name of the inode: finalize takes its map away */
		p->reshaped |= ent->type == MB_T_HARDLINK;
		return map_file(p, ent, e);
	}
	if (type == MB_T_DIR && push_dir(p, i) < 0)
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to recheck '%s'",
			       ent->path);
	return 0;
}

/* Is path already in the sorted part of the set (and not dropped)? */
static bool known(void *arg, const char *path)
{
	const struct pass *p = arg;
	size_t lo = 0, hi = p->n0;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = mb_path_cmp(p->set->v[mid].path, path);

		if (c == 0)
			return p->set->v[mid].type != MB_EM_GONE;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

/* Lists directory path again (i: its entry, or SIZE_MAX for the root). */
static int relist(struct pass *p, size_t i, struct mb_error *e)
{
	const char *path = i == SIZE_MAX ? "" : p->set->v[i].path;
	int fd = i == SIZE_MAX ? fcntl(p->rootfd, F_DUPFD_CLOEXEC, 0)
			       : mb_em_open_beneath(p->rootfd, path,
						    O_RDONLY | O_DIRECTORY);
	uint64_t n;
	int ret;

	if (fd < 0 && (errno == ENOENT || errno == ENOTDIR || errno == ELOOP))
		return 0;	/* gone meanwhile (live fs): the next pass drops it */
	if (fd < 0)
		return mb_fail(e, MB_ERR_SOURCE, errno, "unable to open '%s'", path);
	p->st->dirs_reread++;
	n = p->st->added;
	ret = mb_em_list_dir(p->set, fd, path, known, p, &p->st->added, p->stop, e);
	p->reshaped |= p->st->added != n;
	close(fd);
	return ret;
}

/* Frees the dropped entries and closes the gaps. */
static void compact(struct pass *p)
{
	struct mb_set *set = p->set;
	size_t out = 0;

	for (size_t i = 0; i < set->n; i++) {
		if (set->v[i].type == MB_EM_GONE) {
			mb_entry_free(&set->v[i]);
			p->st->removed++;
		} else {
			set->v[out++] = set->v[i];
		}
	}
	set->n = out;
}

/* A first name left without a map (its earlier first name went away, or
 * it was skipped while it changed) is mapped now.  Fully sparse files are
 * mapped again too: cheap, and never wrong. */
static int map_unmapped(struct pass *p, struct mb_error *e)
{
	for (size_t i = 0; i < p->set->n; i++) {
		struct mb_entry *ent = &p->set->v[i];

		if (ent->type == MB_T_FILE && ent->size > 0 &&
		    ent->n_extents == 0 && !ent->read_via_fs &&
		    map_file(p, ent, e) < 0)
			return -1;
	}
	return 0;
}

/* Every entry of the set, then the root (not an entry, so its mtime is
 * not known: it is always listed, one directory whatever the tree). */
static int check_every(struct pass *p, struct mb_error *e)
{
	for (size_t i = 0; i < p->n0; i++)
		if (mb_em_stop_at(p->stop, i + 1, e) < 0 ||
		    (p->set->v[i].type != MB_EM_GONE && check_one(p, i, false, e) < 0))
			return -1;
	if (push_dir(p, SIZE_MAX) < 0)
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to recheck '%s'",
			       p->set->root);
	return 0;
}

/* The direct children of directory i (SIZE_MAX: the root), whose names
 * changed: a name removed or replaced shows in its stat; a child's own
 * writes have their own events. */
static int check_children(struct pass *p, size_t i, struct mb_error *e)
{
	const char *dir = i == SIZE_MAX ? "" : p->set->v[i].path;
	size_t len = strlen(dir);

	for (size_t j = i == SIZE_MAX ? 0 : i + 1; j < p->n0; j++) {
		const char *path = p->set->v[j].path;

		if (len && !is_under(path, dir, len))
			break;
		if (strchr(path + (len ? len + 1 : 0), '/') ||
		    p->set->v[j].type == MB_EM_GONE)
			continue;
		if (check_one(p, j, false, e) < 0)
			return -1;
	}
	return 0;
}

/* Each entry of an inode the journal named, all its names. */
static int check_inode(struct pass *p, uint64_t ino, bool dir, struct mb_error *e)
{
	if (dir && ino == p->dirty->root_ino) {
		if (push_dir(p, SIZE_MAX) < 0)
			return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to recheck '%s'",
				       p->set->root);
		return check_children(p, SIZE_MAX, e);
	}
	for (size_t k = mb_em_index_find(p->x, ino); k < p->x->n && p->x->v[k].ino == ino; k++) {
		size_t i = p->x->v[k].idx;

		if (p->set->v[i].type == MB_EM_GONE || (dir && p->set->v[i].type != MB_T_DIR))
			continue;
		if (check_one(p, i, true, e) < 0)
			return -1;
		if (dir && p->set->v[i].type == MB_T_DIR && check_children(p, i, e) < 0)
			return -1;
	}
	return 0;
}

static int check_journal(struct pass *p, struct mb_error *e)
{
	const struct mb_em_dirty *d = p->dirty;

	p->st->journal = true;
	p->st->named = d->files.n + d->dirs.n;
	for (size_t k = 0; k < d->files.n; k++)
		if (mb_em_stop_at(p->stop, k + 1, e) < 0 ||
		    check_inode(p, d->files.v[k], false, e) < 0)
			return -1;
	for (size_t k = 0; k < d->dirs.n; k++)
		if (mb_em_stop_at(p->stop, k + 1, e) < 0 ||
		    check_inode(p, d->dirs.v[k], true, e) < 0)
			return -1;
	return 0;
}

static int index_cmp(const void *x, const void *y)
{
	size_t a = *(const size_t *)x, b = *(const size_t *)y;

	return a < b ? -1 : a > b;
}

/* A directory named twice is listed once (a second listing would add
 * its new names again: only the sorted part of the set is "known"). */
static void unique_dirs(struct pass *p)
{
	size_t out = 0;

	if (p->n_dirs > 1)
		qsort(p->dirs, p->n_dirs, sizeof(*p->dirs), index_cmp);
	for (size_t k = 0; k < p->n_dirs; k++)
		if (out == 0 || p->dirs[out - 1] != p->dirs[k])
			p->dirs[out++] = p->dirs[k];
	p->n_dirs = out;
}

static int run_pass(struct pass *p, struct mb_error *e)
{
	size_t n_before;

	if ((p->dirty ? check_journal(p, e) : check_every(p, e)) < 0)
		return -1;
	if (p->dirty)
		unique_dirs(p);
	n_before = p->set->n;
	for (size_t k = 0; k < p->n_dirs; k++)
		if ((p->dirs[k] == SIZE_MAX || p->set->v[p->dirs[k]].type == MB_T_DIR) &&
		    relist(p, p->dirs[k], e) < 0)
			return -1;
	for (size_t i = n_before; i < p->set->n; i++)
		if (p->set->v[i].type == MB_T_FILE && map_file(p, &p->set->v[i], e) < 0)
			return -1;
	/* A journal pass that only re-mapped leaves the order and the links
	 * as they were: no O(n) work inside the window. */
	if (p->dirty && !p->reshaped && p->set->n == n_before)
		return 0;
	compact(p);
	mb_set_finalize(p->set);
	return map_unmapped(p, e);
}

int mb_em_refresh(struct mb_set *set, int rootfd, int64_t racy_from,
		  bool sync, const struct mb_stop *stop,
		  const struct mb_em_dirty *dirty, const struct mb_em_ino_index *x,
		  struct mb_map_stats *st, struct mb_error *e)
{
	struct pass p = {
		.set = set, .rootfd = rootfd, .n0 = set->n,
		.racy_from = racy_from, .sync = sync, .stop = stop,
		.dirty = dirty, .x = x, .st = st,
	};
	int ret = run_pass(&p, e);

	free(p.dirs);
	return ret;
}

int mb_recheck(struct mb_set *set, int64_t premap_started,
	       struct mb_map_stats *st, struct mb_error *e)
{
	struct mb_map_stats local;
	int rootfd, ret = -1;

	if ((rootfd = mb_em_pass_begin(set, &st, &local, e)) < 0)
		return -1;
	/* The filesystem is frozen: nothing is dirty, FIEMAP needs no sync
	 * (and a sync inside the window must never wait on writeback). */
	if (mb_em_refresh(set, rootfd, premap_started - 1, false, NULL, NULL, NULL, st, e) < 0)
		goto out;
	mb_em_totals(set, st);
	ret = 0;
out:
	close(rootfd);
	return ret;
}
