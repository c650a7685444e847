/* The passes that go by the change journal: the converge rounds of P2
 * and the recheck of P5; see extentmap.h ("the change journal"). */
#include "extentmap/extentmap.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/log.h"
#include "extentmap/internal.h"

static int index_for(struct mb_em_ino_index *x, const struct mb_set *set,
		     struct mb_error *e)
{
	if (mb_em_index_fresh(x, set))
		return 0;
	if (mb_em_index_build(x, set) < 0)
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to index '%s'", set->root);
	return 0;
}

/* One converge round: drain, then re-check what the journal named, or
 * everything after an overflow (the racy rule from the last clean drain
 * covers what the lost events would have named).  *named: SIZE_MAX after
 * an overflow, so that another round follows. */
static int round_once(struct mb_set *set, int rootfd, struct mb_journal *j,
		      const struct mb_stop *stop, struct mb_map_stats *st, size_t *named,
		      struct mb_error *e)
{
	struct mb_em_ino_index *x = mb_em_journal_index(j);
	struct mb_em_dirty d = { 0 };
	int ret = -1;

	if (mb_em_journal_drain(j, &d, e) < 0)
		goto out;
	if (d.overflowed) {
		mb_warn("the change journal of '%s' lost events: every entry is checked again",
			set->root);
		st->overflows++;
		*named = SIZE_MAX;
		ret = mb_em_refresh(set, rootfd, d.clean_since - 1, true, stop, NULL, NULL, st, e);
	} else {
		*named = d.files.n + d.dirs.n;
		if (index_for(x, set, e) == 0)
			ret = mb_em_refresh(set, rootfd, INT64_MAX, true, stop, &d, x, st, e);
	}
	/* The window's recheck looks entries up by inode: index what this
	 * round left, now, outside the window. */
	if (ret == 0)
		ret = index_for(x, set, e);
out:
	mb_em_dirty_free(&d);
	return ret;
}

/* Rounds until one named at most small_enough inodes, up to max_rounds. */
static int rounds(struct mb_set *set, int rootfd, struct mb_journal *j, size_t small_enough,
		  int max_rounds, const struct mb_stop *stop, struct mb_map_stats *st,
		  struct mb_error *e)
{
	size_t named;

	while (st->rounds < max_rounds) {
		if (round_once(set, rootfd, j, stop, st, &named, e) < 0)
			return -1;
		st->rounds++;
		if (named <= small_enough)
			break;
	}
	return 0;
}

int mb_converge_journal(struct mb_set *set, struct mb_journal *j, size_t small_enough,
			int max_rounds, const struct mb_stop *stop,
			struct mb_map_stats *st, struct mb_error *e)
{
	struct mb_map_stats local;
	int rootfd, ret = -1;

	if ((rootfd = mb_em_pass_begin(set, &st, &local, e)) < 0)
		return -1;
	if (rounds(set, rootfd, j, small_enough, max_rounds, stop, st, e) < 0)
		goto out;
	mb_em_set_trim(set);	/* (before the index, which keeps the array's address) */
	if (index_for(mb_em_journal_index(j), set, e) < 0)
		goto out;
	mb_em_totals(set, st);
	st->journal = true;
	ret = 0;
out:
	close(rootfd);
	return ret;
}

int mb_settle_journal(struct mb_set *set, struct mb_journal *j, size_t small_enough,
		      int max_rounds, const struct mb_stop *stop, struct mb_map_stats *st,
		      struct mb_error *e)
{
	struct mb_map_stats local;
	int rootfd, ret;

	if ((rootfd = mb_em_pass_begin(set, &st, &local, e)) < 0)
		return -1;
	/* Nothing after the last drain but its own re-check and index:
	 * whatever the writer changes from that drain to the freeze is the
	 * window's to stat, so no trim and no totals scan (O(n): tens of ms
	 * at 1,000,000 files) here. */
	ret = rounds(set, rootfd, j, small_enough, max_rounds, stop, st, e);
	st->entries = set->n;
	st->journal = true;
	close(rootfd);
	return ret;
}

int mb_recheck_journal(struct mb_set *set, struct mb_journal *j, int64_t premap_started,
		       struct mb_map_stats *st, struct mb_error *e)
{
	struct mb_map_stats local;
	struct mb_em_dirty d = { 0 };
	struct mb_em_ino_index *x = NULL;
	int rootfd, ret = -1;

	if (!j)
		return mb_recheck(set, premap_started, st, e);
	if ((rootfd = mb_em_pass_begin(set, &st, &local, e)) < 0)
		return -1;
	if (mb_em_journal_drain(j, &d, e) < 0)
		goto out;
	if (d.overflowed) {
		mb_warn("the change journal of '%s' lost events: the window re-checks every entry",
			set->root);
		close(rootfd);
		mb_em_dirty_free(&d);
		if (mb_recheck(set, premap_started, st, e) < 0)
			return -1;
		st->overflows = 1;
		return 0;
	}
	x = mb_em_journal_index(j);
	if (!mb_em_index_fresh(x, set))
		mb_debug("the set of '%s' changed since its last converge round: "
			"indexing it inside the window", set->root);
	/* No FIEMAP_FLAG_SYNC: the filesystem is frozen (see mb_recheck). */
	if (index_for(x, set, e) < 0 ||
	    mb_em_refresh(set, rootfd, INT64_MAX, false, NULL, &d, x, st, e) < 0)
		goto out;
	/* Not mb_em_totals: a scan of every entry (71 ms of the window at
	 * 1,000,000 files on the host) for counts nothing in the window
	 * needs; the stream counts the set itself. */
	st->entries = set->n;
	ret = 0;
out:
	/* Nothing looks entries up by inode after the window. */
	free(x ? x->v : NULL);
	if (x)
		*x = (struct mb_em_ino_index){ 0 };
	mb_em_dirty_free(&d);
	close(rootfd);
	return ret;
}
