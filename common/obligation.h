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
#include <stdint.h>

#include "common/error.h"

struct mb_s3_settings;		/* plugins/media/media.h */

/* --mirror-proof: auto (the default) proves a merge by what changed when
 * a current record allows it, else by a full pass; witness by what
 * changed even when a full pass is due (never without a record); full
 * always by a full pass. */
enum mb_mirror_proof { MB_PROOF_AUTO, MB_PROOF_WITNESS, MB_PROOF_FULL };

/* A mirror's record of proofs (the catalog's mirror_proofs, schema 12). */
struct mb_proof_record {
	char full_at[32];	/* UTC of the last full pass over both legs;
				 * "": none known (a record of schema 11) */
	long long full_age_s;	/* seconds since then, at the take (-1: none) */
	int runs_since;		/* proofs of only what changed since then */
};

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
	 * one, fills *rec from it, and drops it: it holds only until the next
	 * split is undone; whole_proven records one now: after a full pass
	 * (rec NULL), or after a proof of what changed (rec: the last full
	 * pass's time kept, the runs since it counted by the caller). */
	bool (*whole_take)(void *arg, const char *mirror, const char *id,
			   struct mb_proof_record *rec);
	void (*whole_proven)(void *arg, const char *mirror, const char *id,
			     const struct mb_proof_record *rec);
	void *whole_arg;
	/* How a merge is proven (--mirror-proof) and when a full pass is due
	 * again (--mirror-check-runs, --mirror-check-days; 0: the driver's
	 * defaults). */
	enum mb_mirror_proof proof;
	int check_runs, check_days;
	/* The run's pace (--max-rate, --yield auto) for an undo's own bulk
	 * reads, a merge's proof: pace(pace_arg, n) waits until n bytes may
	 * be read.  NULL: at once (the guard, recover, an unpaced run). */
	void (*pace)(void *arg, uint64_t n);
	void *pace_arg;
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
