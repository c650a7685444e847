/*
 * Mirror drivers: where the split leg comes from.  A driver is a table of
 * functions registered by name in mirror.c; the runner knows only the table.
 *
 *   loop:/dev/loopN   the filesystem sits on a loop device whose backing file
 *                     lives on a reflink-capable filesystem; the "split" is a
 *                     FICLONE of the backing file (hosts without device-mapper)
 *   lvm:vg/lv         (also written vg/lv, /dev/vg/lv, /dev/mapper/vg-lv: spec.c)
 *                     LVM raid1: --splitmirrors 1 --trackchanges, the split
 *                     image set read-only; merged back and scrubbed (lvm.c);
 *                     a linear or striped LV gets a classic COW snapshot
 *                     instead, watched while it lives (snapshot*.c), a thin
 *                     LV a thin snapshot mbackup loads through device-mapper
 *                     (snapshot_thin.c): the LV's type picks the driver
 *                     (lvm_method.c)
 *
 * Order of calls: open, check (P0), sync (P1), prepare_split (before the
 * window: slow set-up), split (P4, inside the window: fast), close.  The
 * split is an obligation whose undo() joins the leg again (or drops the
 * clone) from the catalog's text alone (and the undo context,
 * common/obligation.h): the runner calls it at P8 or on
 * unwind (never with --keep-split), mbackup recover after a crash.
 */
#ifndef MB_MIRROR_H
#define MB_MIRROR_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"
#include "common/obligation.h"
#include "common/stop.h"

struct mb_mirror;

/* Bytes of the split leg (split_offset included): what the stream reads. */
struct mb_mirror_range {
	uint64_t offset, length;
};

struct mb_mirror_ops {
	const char *name;
	int (*open)(struct mb_mirror *m, const char *arg, struct mb_error *e);
	/* Preflight; changes nothing. */
	int (*check)(struct mb_mirror *m, struct mb_error *e);
	int (*sync)(struct mb_mirror *m, struct mb_error *e);
	/* Everything slow the split needs, before the window.  run_id names
	 * the split leg.  Fills m->obligation_arg: what undo() needs. */
	int (*prepare_split)(struct mb_mirror *m, int64_t run_id,
			     struct mb_error *e);
	int (*split)(struct mb_mirror *m, struct mb_error *e);
	/* Joins the leg named by obligation_arg again (or drops the clone);
	 * idempotent, safe when the split never happened. */
	mb_undo_fn undo;
	void (*close)(struct mb_mirror *m);
	/* Optional.  After the stream, whatever its result (stream_rc): 0 if
	 * the split leg stayed whole for the whole stream; stops anything
	 * the driver runs alongside the stream (a snapshot's watch), fills
	 * m->stats.  A leg lost meanwhile fails here with the cause, which
	 * replaces the read error the stream saw. */
	int (*stream_done)(struct mb_mirror *m, int stream_rc, struct mb_error *e);
	/* Optional.  The window and the bracket around it are closed (P6):
	 * what only the split needed may go (the LVM helper).  Not called
	 * when the run fails before; close() cleans up then. */
	void (*after_window)(struct mb_mirror *m);
	/* Optional, discard-behind (a thin snapshot): the stream calls
	 * stream_plan once before its first byte with every range it will
	 * read (any order, overlaps allowed), then streamed with the ranges
	 * of each file once they are written to the media and will not be
	 * read again, the same ranges as in the plan.  The driver may give
	 * back every block outside the plan at once, and each block once no
	 * range still to be streamed touches it.  The stream calls them only
	 * when it reads nothing else of the leg (no file read through a
	 * mount of it, no incremental pre-pass) and writes one device (no
	 * failover re-reads a file).  A failure fails the run. */
	int (*stream_plan)(struct mb_mirror *m, const struct mb_mirror_range *v, size_t n,
			   struct mb_error *e);
	int (*streamed)(struct mb_mirror *m, const struct mb_mirror_range *v, size_t n,
			struct mb_error *e);
};

/* The snapshot drivers' settings (--snapshot-*, --throttle-writers). */
struct mb_snapshot_params {
	const char *size;	/* "10%" of the origin, or bytes with K/M/G */
	const char *pv;		/* the container's PV; NULL: anywhere in the VG */
	long chunk;		/* bytes; 0: the driver's default */
	long extend_max;	/* bytes the container may grow to; 0: VG free space */
	const char *throttle;	/* "auto" or "off" */
	const char *discard_behind;	/* "auto" or "off" (NULL: auto) */
};

/* What a snapshot driver records about its run (the catalog's snapshots
 * table); method is NULL for drivers that split a real leg. */
struct mb_mirror_stats {
	const char *method;	/* "classic" or "thin" */
	char origin[320], snapshot[320], container_pv[320];
	long long chunk_bytes, size_initial, size_final;
	int extensions;
	double peak_pct;	/* the container's highest fill seen */
	long long throttled_ms;
	long long throttle_bps;	/* the write limit while throttled, 0: never */
	bool invalidated;	/* lost: invalidated, or dropped by the watch */
	bool dropped;		/* dropped at the watch's abort mark */
	int meta_extensions;	/* a thin pool's metadata grown */
	long long meta_initial, meta_final;	/* its size, bytes */
	long long discarded_bytes;	/* given back: outside the set, then behind */
	long long discarded_behind;	/* of which behind the stream */
	char outcome[256];	/* one line: how the container ended */
};

struct mb_mirror {
	const struct mb_mirror_ops *ops;
	char *spec;		/* "loop:/dev/loop3" */
	char *device;		/* the live block device */
	dev_t rdev;		/* its device number: st_dev of the fs on it */
	char *split_path;	/* after split: the readable split leg */
	uint64_t split_offset;	/* add to FIEMAP physical offsets */
	char *obligation_arg;	/* after prepare_split */
	const char *split_with;	/* lvm raid1 (--lvm-split): "auto", "helper" or
				 * "lvconvert"; NULL: lvconvert (lvm_helper.h) */
	int sync_timeout_s;	/* P1: how long sync may wait for a resync
				 * (--sync-timeout; 0: the driver's default) */
	struct mb_stop stop;	/* ends sync's wait early (the run's signals,
				 * set by the runner after open; zeroed: none).
				 * undo never looks at it: it runs after a stop */
	/* P1: sync's wait for a resync reports its percentage here, what
	 * naming the volume (NULL: the driver's own line on a terminal) */
	void (*on_sync)(void *arg, const char *what, double percent);
	void *on_sync_arg;
	enum mb_mirror_proof proof;	/* --mirror-proof: lvm raid1 starts no
					 * witness for full (set before check) */
	struct mb_snapshot_params snap;	/* set before check (P0) */
	struct mb_mirror_stats stats;	/* filled by stream_done */
	void *priv;
};

/* The waits of an undo (the merge's resync, a scrub): their percentage
 * to the undo context's on_wait (the runner's around the split's release
 * after the window, recover's); false when it has none (the driver may
 * show its own line). */
bool mb_mirror_wait_report(const struct mb_undo_ctx *ctx, const char *what, double percent);

/* Resolves spec (spec.c) and opens its driver. */
int mb_mirror_open(struct mb_mirror **out, const char *spec, struct mb_error *e);
/* The forms a DBA may write, to one canonical "driver:arg" in *canon
 * (malloc'ed): VG/LV, /dev/VG/LV and /dev/mapper/VG-LV ('--' inside a
 * name stands for '-'), with or without "lvm:", give "lvm:VG/LV";
 * /dev/loopN gives "loop:/dev/loopN"; "driver:arg" of a known driver is
 * kept.  Anything else: MB_ERR_USAGE "unknown mirror 'X'" (or "unknown
 * mirror driver 'D' in 'X'", or "invalid logical volume 'X'" after lvm:)
 * with mb_mirror_forms_hint as the hint.  Textual: nothing is looked up. */
int mb_mirror_resolve(const char *spec, char **canon, struct mb_error *e);
extern const char mb_mirror_forms_hint[];
/* The i-th driver a user writes, NULL past the end (for --help and the
 * completion; a method a driver picks by itself is not listed). */
const struct mb_mirror_ops *mb_mirror_driver_at(size_t i);
void mb_mirror_close(struct mb_mirror *m);
/* The driver table entry by name, for recover; NULL if unknown. */
const struct mb_mirror_ops *mb_mirror_driver(const char *name);

#endif
