/* One entry mapped by name, and the totals of a set: what both passes,
 * the premap (premap.c) and the recheck (recheck.c), build on; see
 * internal.h. */
#include "extentmap/extentmap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "extentmap/internal.h"

int mb_em_map_entry(int rootfd, struct mb_entry *ent, bool sync,
		    struct mb_error *e)
{
	/* O_NONBLOCK | O_NOCTTY: the name may have become a fifo or device
	 * since it was stat'ed; opening must neither hang nor grab a tty. */
	int flags = O_RDONLY | O_NONBLOCK | O_NOCTTY | O_NOATIME;
	struct stat st;
	int fd, ret = -1;

	fd = mb_em_open_beneath(rootfd, ent->path, flags);
	if (fd < 0 && errno == EPERM)
		fd = mb_em_open_beneath(rootfd, ent->path, flags & ~O_NOATIME);
	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP ||
		    errno == EXDEV)
			return 1;
		return mb_fail(e, MB_ERR_SOURCE, errno, "unable to open '%s'",
			       ent->path);
	}
	if (fstat(fd, &st) < 0) {
		mb_fail(e, MB_ERR_SOURCE, errno, "unable to stat '%s'", ent->path);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = 1;
		goto out;
	}
	/* The stat taken before the map is what later passes compare with:
	 * any change after it shows up as moved. */
	if (mb_em_set_stat(ent, &st, e) < 0)
		goto out;
	if (ent->type == MB_T_FILE)
		ent->seg_length = ent->size;
	ret = mb_fiemap_fd(fd, ent, sync, e);
out:
	close(fd);
	return ret;
}

void mb_em_totals(const struct mb_set *set, struct mb_map_stats *st)
{
	st->entries = set->n;
	st->files = st->bytes = st->extents = st->via_fs = 0;
	for (size_t i = 0; i < set->n; i++) {
		const struct mb_entry *ent = &set->v[i];

		if (ent->type != MB_T_FILE)
			continue;
		st->files++;
		st->bytes += ent->size;
		st->extents += ent->n_extents;
		st->via_fs += ent->read_via_fs;
	}
}

void mb_em_set_trim(struct mb_set *set)
{
	/* The array doubled while the walk grew it: up to half of it (184
	 * bytes an entry) would stay empty for the whole run.  A little room
	 * is left for the names the window adds, so that it does not copy
	 * the array. */
	size_t cap = set->n + set->n / 64 + 64;
	struct mb_entry *v;

	if (cap >= set->cap || !(v = realloc(set->v, cap * sizeof(*v))))
		return;
	set->v = v;
	set->cap = cap;
}
