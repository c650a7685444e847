/*
 * The md array under a raid1 LV (lvm_md.c): its state from dm-raid's
 * status, and the scrubs that prove or mend its legs after a merge.
 */
#ifndef MB_LVM_MD_H
#define MB_LVM_MD_H

#include <stdbool.h>

#include "common/error.h"
#include "common/obligation.h"
#include "plugins/mirror/dm.h"

#define MB_LVM_SCRUB_TIMEOUT_S 3600	/* a scrub reads the whole LV */

/* Polls dm-raid's status of vg/lv until md is idle and 100% in sync (or
 * timeout_s), reporting the percentage to ctx; the last status in *r. */
int mb_lvm_md_wait(const char *vg, const char *lv, int timeout_s, const struct mb_undo_ctx *ctx,
		   struct mb_dm_raid *r, struct mb_error *e);
/* After a merge, md idle: the legs are equal, whatever the merge
 * resynced.  A check scrub counts mismatches (dm-raid reports the count
 * only after a check, never after a repair); when it finds any, repair and
 * check again.  differ: a proof already found the legs different, so the
 * first check would only count what the repair mends: repair at once (a
 * full pass less). */
int mb_lvm_md_make_whole(const char *vg, const char *lv, bool differ,
			 const struct mb_undo_ctx *ctx, struct mb_error *e);

#endif
