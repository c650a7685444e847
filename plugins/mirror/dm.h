/*
 * device-mapper through libdevmapper, for the snapshot drivers: suspend
 * and resume without lockfs (the filesystem is already frozen by the
 * window), and a snapshot's fill from its status line.
 */
#ifndef MB_MIRROR_DM_H
#define MB_MIRROR_DM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"

/* Suspends (flushing, without freezing the filesystem again) or resumes
 * the dm device `name`.  Resuming a device that is not suspended, or that
 * does not exist, is a no-op. */
int mb_dm_suspend(const char *name, struct mb_error *e);
int mb_dm_resume(const char *name, struct mb_error *e);
/* The device number of the dm device `name`: a /dev/mapper node made
 * without udev may be stale, so a driver checks the node against it. */
int mb_dm_devno(const char *name, dev_t *devno, struct mb_error *e);

struct mb_dm_snap_fill {
	uint64_t used;		/* sectors: data + metadata */
	uint64_t total;
	bool invalid;		/* Invalid or Overflow: the snapshot is lost;
				 * for a pool: out of space, read-only or failed */
	bool meta;		/* a pool's metadata is the fuller part */
};

/* The status line of `name`'s one target, which must be of `type`
 * ("snapshot", "thin-pool"): its params (malloc'ed, the caller frees)
 * and its length in sectors. */
int mb_dm_status_target(const char *name, const char *type, char **params, uint64_t *length,
			struct mb_error *e);
/* Fills `out` from libdevmapper's parse (in `mem`) of a status line of
 * `length` sectors; -1 if it does not parse. */
struct dm_pool;
typedef int (*mb_dm_parse_fn)(struct dm_pool *mem, const char *params, uint64_t length,
			      void *out);
/* mb_dm_status_target's line of `name`, parsed by `parse` into `out`. */
int mb_dm_status_parse(const char *name, const char *type, mb_dm_parse_fn parse, void *out,
		       struct mb_error *e);
/* The status of snapshot device `name`. */
int mb_dm_snapshot_fill(const char *name, struct mb_dm_snap_fill *f, struct mb_error *e);

/* What a raid target's status says (dm-raid's own, no lvs). */
struct mb_dm_raid {
	uint64_t insync, total;	/* sectors: the sync ratio */
	uint64_t mismatches;	/* counted by the last check */
	char health[64];	/* a char a leg: A in sync, a not, D dead */
	char action[16];	/* idle, frozen, resync, recover, check, repair */
};

/* The status of raid device `name`: a microsecond, against an lvs. */
int mb_dm_raid_state(const char *name, struct mb_dm_raid *r, struct mb_error *e);

/* dm_thin.c: a thin device's one target "thin MAJ:MIN ID" of sectors. */
struct mb_dm_thin {
	char pool_devno[32];	/* the pool's (-tpool) device, "253:3" */
	unsigned dev_id;	/* the thin device's id in the pool */
	uint64_t sectors;
};

int mb_dm_thin_table(const char *name, struct mb_dm_thin *th, struct mb_error *e);
/* A target message to sector 0 of `name` ("create_snap 7 1", "delete 7"). */
int mb_dm_message(const char *name, const char *msg, struct mb_error *e);
/* Creates `name`, read-only, as thin device th->dev_id of pool th->pool_devno. */
int mb_dm_create_thin(const char *name, const struct mb_dm_thin *th, struct mb_error *e);
/* 1 if `name` exists, 0 if not, -1 if device-mapper cannot be asked. */
int mb_dm_exists(const char *name, struct mb_error *e);
/* Removes `name`; a no-op if it does not exist. */
int mb_dm_remove(const char *name, struct mb_error *e);
/* Reloads `name` (made by mb_dm_create_thin) writable: discard-behind. */
int mb_dm_reload_thin_rw(const char *name, const struct mb_dm_thin *th, struct mb_error *e);
/* Replaces name's table with an error target (reloaded, resumed). */
int mb_dm_load_error(const char *name, uint64_t sectors, struct mb_error *e);
/* The fill of thin pool `name` (its -tpool device): the fuller of data
 * and metadata, in sectors of the data. */
int mb_dm_pool_fill(const char *name, struct mb_dm_snap_fill *f, struct mb_error *e);
void mb_dm_pool_fill_of(uint64_t data_used, uint64_t data_total, uint64_t meta_used,
			uint64_t meta_total, uint64_t sectors, struct mb_dm_snap_fill *f);
/* 1 with the first dm device named prefix* in out (len bytes), 0 if none. */
int mb_dm_find_prefix(const char *prefix, char *out, size_t len, struct mb_error *e);

#endif
