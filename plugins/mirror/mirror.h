/*
 * Mirror drivers: where the split leg comes from.  A driver is a table of
 * functions registered by name in mirror.c; the runner knows only the table.
 *
 *   loop:/dev/loopN   the filesystem sits on a loop device whose backing file
 *                     lives on a reflink-capable filesystem; the "split" is a
 *                     FICLONE of the backing file (hosts without device-mapper)
 *   lvm:vg/lv         (also written vg/lv, /dev/vg/lv, /dev/mapper/vg-lv: spec.c)
 *                     LVM raid1: --splitmirrors 1 --trackchanges, the split
 *                     image set read-only; merged back and scrubbed (lvm.c)
 *
 * Order of calls: open, check (P0), sync (P1), prepare_split (before the
 * window: slow set-up), split (P4, inside the window: fast), close.  The
 * split is an obligation whose undo() joins the leg again (or drops the
 * clone) from the catalog's text alone: the runner calls it at P8 or on
 * unwind (never with --keep-split), mbackup recover after a crash.
 */
#ifndef MB_MIRROR_H
#define MB_MIRROR_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"
#include "common/stop.h"

struct mb_mirror;

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
	int (*undo)(const char *obligation_arg, struct mb_error *e);
	void (*close)(struct mb_mirror *m);
};

struct mb_mirror {
	const struct mb_mirror_ops *ops;
	char *spec;		/* "loop:/dev/loop3" */
	char *device;		/* the live block device */
	dev_t rdev;		/* its device number: st_dev of the fs on it */
	char *split_path;	/* after split: the readable split leg */
	uint64_t split_offset;	/* add to FIEMAP physical offsets */
	char *obligation_arg;	/* after prepare_split */
	int sync_timeout_s;	/* P1: how long sync may wait for a resync
				 * (--sync-timeout; 0: the driver's default) */
	struct mb_stop stop;	/* ends sync's wait early (the run's signals,
				 * set by the runner after open; zeroed: none).
				 * undo never looks at it: it runs after a stop */
	void *priv;
};

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
/* The i-th driver of the registry, NULL past the end (for --help). */
const struct mb_mirror_ops *mb_mirror_driver_at(size_t i);
void mb_mirror_close(struct mb_mirror *m);
/* The driver table entry by name, for recover; NULL if unknown. */
const struct mb_mirror_ops *mb_mirror_driver(const char *name);

#endif
