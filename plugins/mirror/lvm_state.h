/*
 * What `lvs` says about a raid1 LV and its images (lvm_state.c), read by
 * the raid1 driver (lvm.c) before each of its steps.
 */
#ifndef MB_LVM_STATE_H
#define MB_LVM_STATE_H

#include <stdbool.h>

#include "common/error.h"
#include "plugins/mirror/lvm_util.h"

/* What lvs says about a raid LV and its images. */
struct mb_lv_state {
	bool found;
	char uuid[40];		/* the LV's, for the record of its proofs */
	char segtype[32];
	char attr[16];
	char health[64];
	double sync_percent;	/* -1 when lvs reports none */
	char sync_action[32];
	unsigned long long mismatches;
	int legs;		/* rimage sub-LVs, the split one included */
	char split_lv[MB_LVM_NAME_MAX + 24];	/* a visible <lv>_rimage_N: split off */
	int last;		/* the highest N: the leg lvconvert splits */
	char last_devices[512];	/* its PVs, "/dev/vdb(1),/dev/vdc(0)" */
	bool last_writemostly;
};

/* One `lvs -a` of VG folded into *st (found false: no such LV). */
int mb_lv_state_read(const char *vg, const char *lv, struct mb_lv_state *st,
		     struct mb_error *e);

#endif
