/*
 * device-mapper through libdevmapper, for the snapshot drivers: suspend
 * and resume without lockfs (the filesystem is already frozen by the
 * window), and a snapshot's fill from its status line.
 */
#ifndef MB_MIRROR_DM_H
#define MB_MIRROR_DM_H

#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"

/* Suspends (flushing, without freezing the filesystem again) or resumes
 * the dm device `name`.  Resuming a device that is not suspended, or that
 * does not exist, is a no-op. */
int mb_dm_suspend(const char *name, struct mb_error *e);
int mb_dm_resume(const char *name, struct mb_error *e);

struct mb_dm_snap_fill {
	uint64_t used;		/* sectors: data + metadata */
	uint64_t total;
	bool invalid;		/* Invalid or Overflow: the snapshot is lost */
};

/* The status of snapshot device `name`. */
int mb_dm_snapshot_fill(const char *name, struct mb_dm_snap_fill *f, struct mb_error *e);

#endif
