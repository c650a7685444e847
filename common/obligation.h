/*
 * The obligation interface every layer may use: how a plugin records what
 * it is about to do (so that it can be undone even after a crash) and says
 * when it has undone it itself.  The stack behind the handle, its catalog
 * rows and the newest-first unwind belong to the orchestrator
 * (orchestrator/obligations.c); plugins see only this.
 */
#ifndef MB_OBLIGATION_H
#define MB_OBLIGATION_H

#include <stdbool.h>

#include "common/error.h"

struct mb_s3_settings;		/* plugins/media/media.h */

/* What an undo may need besides its text, built from the options of the
 * run or of recover, never process-wide state: the object store's
 * settings (s3), and where a long wait of an undo (a leg's resync after
 * its merge, a scrub) reports its percentage, what naming the volume and
 * the action (on_wait NULL: nowhere; the driver may show its own line). */
struct mb_undo_ctx {
	const struct mb_s3_settings *s3;
	void (*on_wait)(void *arg, const char *what, double percent);
	void *on_wait_arg;
	/* The catalog's record that a mirror's legs were proven equal, by a
	 * full pass or by a proof of what changed since such a record (NULL:
	 * none kept, as in the guard).  whole_take says whether mirror
	 * ("lvm:vg/lv") as id (the driver's identity of it: an LV's UUID) had
	 * one, and drops it: it holds only until the next split is undone;
	 * whole_proven records one now. */
	bool (*whole_take)(void *arg, const char *mirror, const char *id);
	void (*whole_proven)(void *arg, const char *mirror, const char *id);
	void *whole_arg;
};

/* Undoes one obligation from its catalog text alone (and ctx, never
 * NULL); idempotent (undoing what was never done, or already undone,
 * succeeds).  Plugins publish theirs in their driver table; `mbackup
 * recover` finds it by name. */
typedef int (*mb_undo_fn)(const char *arg, const struct mb_undo_ctx *ctx, struct mb_error *e);

/* The run's obligations (opaque here). */
struct mb_obligations;

/* Records the intent (catalog row "pending") and pushes the undo; the
 * caller acts only if this succeeds.  kind names what is at stake
 * ("freeze"), driver the table whose undo heals it ("fsfreeze"), arg what
 * undo needs ("/srv/pg").  *handle identifies it later. */
int mb_obl_take(struct mb_obligations *o, const char *kind, const char *driver,
		const char *arg, mb_undo_fn undo, int *handle,
		struct mb_error *e);
/* The caller has undone it itself (e.g. thawed through its own fd), or
 * it turned out void (nothing was done). */
int mb_obl_done(struct mb_obligations *o, int handle, struct mb_error *e);

#endif
