/*
 * The classic snapshot driver's parts (snapshot.c: the driver,
 * snapshot_watch.c: the watch, snapshot_throttle.c: the writers' limit).
 */
#ifndef MB_MIRROR_SNAPSHOT_H
#define MB_MIRROR_SNAPSHOT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"
#include "plugins/mirror/dm.h"
#include "plugins/mirror/keeper.h"
#include "plugins/mirror/lvm_util.h"
#include "plugins/mirror/mirror.h"

/* The thresholds of the watch, in percent of the container: extend at
 * EXTEND_AT (half full leaves a lvextend's worth of headroom even under
 * emulation), throttle the writers at THROTTLE_AT when it cannot grow,
 * drop a classic snapshot at ABORT_AT (dm-snapshot invalidates at 100 %,
 * and a chunk's copy-out is refused only then). */
#define MB_SNAP_POLL_MS 250
#define MB_SNAP_EXTEND_AT 50.0
#define MB_SNAP_THROTTLE_AT 60.0
#define MB_SNAP_ABORT_AT 97.0
#define MB_SNAP_GROW_MIN (16LL << 20)	/* bytes added per lvextend, at least */
#define MB_SNAP_META_GROW_MIN (4LL << 20)	/* a pool's metadata, likewise */
#define MB_SNAP_META_MAX (16320LL << 20)	/* LVM's largest pool metadata (15.94 GiB) */

/* The writers' limit: a cgroup v2 io.max line on the origin device. */
struct mb_throttle {
	char cgroup[600];	/* "/sys/fs/cgroup/pg"; "" if none found */
	char devno[32];		/* "253:0" */
	char previous[64];	/* its wbps before ("max" if none) */
	long long bps;		/* the limit set (wbps) */
	bool set;
	struct mb_keeper keeper;	/* writes previous back if we die */
};

/* What the watch needs and what it found; the thread owns the counters
 * under the lock. */
struct mb_snap_watch;

struct mb_snap_watch_conf {
	char vg[MB_LVM_NAME_MAX], snap_lv[MB_LVM_NAME_MAX + 32];
	char snap_dm[2 * (2 * MB_LVM_NAME_MAX + 32)];
	const char *pv;			/* lvextend onto it; NULL: the VG */
	long long size;			/* the container now, bytes */
	long long limit;		/* bytes it may grow to; 0: free space */
	struct mb_throttle *throttle;	/* NULL: --throttle-writers off */
	/* A thin pool's watch (snapshot_thin.c) sets pool, its fill (NULL:
	 * mb_dm_snapshot_fill of snap_dm) and its marks in percent (0:
	 * MB_SNAP_EXTEND_AT, MB_SNAP_THROTTLE_AT, and abort_at
	 * MB_SNAP_ABORT_AT for a classic one with a drop, else never).
	 * drop ends the snapshot at abort_at: a pool's before it fills (also
	 * when out of space), a classic one's before it is invalidated (also
	 * when the fill, projected over the next looks, would pass the mark
	 * and the writers cannot be slowed any more). */
	bool pool;
	int (*fill)(const char *dm, struct mb_dm_snap_fill *f, struct mb_error *e);
	double extend_at, throttle_at, abort_at;
	/* A thin pool's metadata LV, bytes (0: none): when the metadata is
	 * the fuller part (fill's f->meta), the watch grows it instead
	 * (lvextend --poolmetadatasize), up to MB_SNAP_META_MAX. */
	long long meta_size;
	void (*drop)(void *arg);
	void *drop_arg;
};

int mb_snap_watch_start(struct mb_snap_watch **out, const struct mb_snap_watch_conf *conf,
			struct mb_error *e);
/* Holds (hold) or releases the watch's right to extend: a thin table
 * loaded while an lvextend reloads the pool is refused, so a caller
 * that reloads a table under the pool holds it meanwhile (w NULL: none).
 * A hold returns true when it had to wait for an extension under way. */
bool mb_snap_watch_tables(struct mb_snap_watch *w, bool hold);
/* Stops the thread (lifting any throttle) and fills st. */
void mb_snap_watch_stop(struct mb_snap_watch *w, struct mb_mirror_stats *st);

/* Finds the cgroup of the processes working in the origin's filesystem
 * (their cwd is on rdev: a postmaster and its backends chdir to PGDATA);
 * t->cgroup stays "" if none can be throttled (logged). */
void mb_throttle_find(struct mb_throttle *t, dev_t lv_rdev);
/* Sets wbps=bps on the origin device for t->cgroup (t->previous kept). */
int mb_throttle_set(struct mb_throttle *t, long long bps, struct mb_error *e);
/* The controllers io.max needs to reach buffered writes that cgroup lacks:
 * "memory", "io", "memory and io"; NULL if none. */
const char *mb_cgroup_missing(const char *cgroup);
/* The bytes t->cgroup wrote to t->devno (io.stat's wbytes), -1 if unknown. */
long long mb_throttle_wbytes(const struct mb_throttle *t);
/* Puts the previous line back; idempotent. */
int mb_throttle_lift(struct mb_throttle *t, struct mb_error *e);
/* From an obligation's text "CGROUP|MAJ:MIN|PREVIOUS": lift it. */
int mb_throttle_undo(const char *text, struct mb_error *e);

/* snapshot.c, shared with snapshot_thin.c: one field of the first row of
 * an lvs/vgs/pvs report ("" if none); the test seam of the steps inside
 * split, MBACKUP_FAULT=<point>:kill. */
int mb_lvm_report_field(const char *cmd, const char *fields, const char *target,
			const char *name, char *out, size_t len, struct mb_error *e);
/* The same report's first row, several of its fields at once (one lvs,
 * not one a field): names[i] into out[i]. */
#define MB_LVM_FIELD_LEN 128
int mb_lvm_report_fields(const char *cmd, const char *fields, const char *target,
			 const char *const *names, char (*out)[MB_LVM_FIELD_LEN], size_t n,
			 struct mb_error *e);
void mb_snap_fault_point(const char *point);

#endif
