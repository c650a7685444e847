/* The premap's progress: files and bytes mapped of the set's; see
 * progress.h.  Before the window, like every progress. */
#include "orchestrator/progress.h"

#include "extentmap/extentmap.h"

static void on_mapped(void *arg, const struct mb_entry *ent)
{
	mb_progress_add_file(arg, ent->size, ent->path);
}

int mb_progress_premap(const struct mb_options *o, struct mb_set *set,
		       const struct mb_stop *stop, struct mb_map_stats *st, struct mb_error *e)
{
	struct mb_progress *p;
	uint64_t files = 0, bytes = 0;
	int rc;

	for (size_t i = 0; i < set->n; i++)
		if (set->v[i].type == MB_T_FILE)
			files++, bytes += set->v[i].size;
	if (mb_progress_start_files(&p, o, "premap", files, bytes, e) < 0)
		return -1;
	rc = mb_premap_report(set, stop, p ? on_mapped : NULL, p, st, e);
	mb_progress_end(p, rc == 0);
	return rc;
}
