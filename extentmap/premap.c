/* P2: premap and converge; see extentmap.h. */
#include "extentmap/extentmap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
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
	mb_em_set_stat(ent, &st);
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

int mb_premap(struct mb_set *set, struct mb_map_stats *st, struct mb_error *e)
{
	struct mb_map_stats local;
	int rootfd, ret = -1;

	if ((rootfd = mb_em_pass_begin(set, &st, &local, e)) < 0)
		return -1;
	for (size_t i = 0; i < set->n; i++) {
		int rc;

		if (set->v[i].type != MB_T_FILE)
			continue;
		if ((rc = mb_em_map_entry(rootfd, &set->v[i], true, e)) < 0)
			goto out;
		st->mapped += rc == 0;
	}
	mb_em_totals(set, st);
	ret = 0;
out:
	close(rootfd);
	return ret;
}

int mb_converge(struct mb_set *set, size_t small_enough, int max_rounds,
		struct mb_map_stats *st, struct mb_error *e)
{
	struct mb_map_stats local;
	int rootfd, ret = -1;

	if ((rootfd = mb_em_pass_begin(set, &st, &local, e)) < 0)
		return -1;
	while (st->rounds < max_rounds) {
		uint64_t before = st->changed + st->added;

		/* No racy rule here: that is the recheck's job. */
		if (mb_em_refresh(set, rootfd, INT64_MAX, true, st, e) < 0)
			goto out;
		st->rounds++;
		if (st->changed + st->added - before <= small_enough)
			break;
	}
	mb_em_totals(set, st);
	ret = 0;
out:
	close(rootfd);
	return ret;
}
