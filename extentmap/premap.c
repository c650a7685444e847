/* P2: premap and converge; see extentmap.h.  The per-entry map and the
 * totals are in map.c, the stat pass mb_converge repeats in recheck.c. */
#include "extentmap/extentmap.h"

#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "extentmap/internal.h"

int mb_premap(struct mb_set *set, const struct mb_stop *stop, struct mb_map_stats *st,
	      struct mb_error *e)
{
	return mb_premap_report(set, stop, NULL, NULL, st, e);
}

int mb_premap_report(struct mb_set *set, const struct mb_stop *stop, mb_map_report_fn report,
		     void *report_arg, struct mb_map_stats *st, struct mb_error *e)
{
	struct mb_map_stats local;
	int rootfd, ret = -1;

	if ((rootfd = mb_em_pass_begin(set, &st, &local, e)) < 0)
		return -1;
	for (size_t i = 0; i < set->n; i++) {
		int rc;

		if (mb_em_stop_at(stop, i + 1, e) < 0)
			goto out;
		if (set->v[i].type != MB_T_FILE)
			continue;
		if ((rc = mb_em_map_entry(rootfd, &set->v[i], true, e)) < 0)
			goto out;
		mb_set_pool_extents(set, &set->v[i]);	/* (a remap later mallocs) */
		st->mapped += rc == 0;
		if (report)
			report(report_arg, &set->v[i]);
	}
	mb_em_totals(set, st);
	ret = 0;
out:
	close(rootfd);
	return ret;
}

int mb_converge(struct mb_set *set, size_t small_enough, int max_rounds,
		const struct mb_stop *stop, struct mb_map_stats *st, struct mb_error *e)
{
	struct mb_map_stats local;
	int rootfd, ret = -1;

	if ((rootfd = mb_em_pass_begin(set, &st, &local, e)) < 0)
		return -1;
	while (st->rounds < max_rounds) {
		uint64_t before = st->changed + st->added;

		/* No racy rule here: that is the recheck's job. */
		if (mb_em_refresh(set, rootfd, INT64_MAX, true, stop, NULL, NULL, st, e) < 0)
			goto out;
		st->rounds++;
		if (st->changed + st->added - before <= small_enough)
			break;
	}
	mb_em_set_trim(set);
	mb_em_totals(set, st);
	ret = 0;
out:
	close(rootfd);
	return ret;
}
