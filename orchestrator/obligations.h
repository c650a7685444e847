/*
 * Obligations: anything that hurts production if left alone (a frozen
 * filesystem, a split leg, a mount of the split leg).  Each is recorded in
 * the catalog BEFORE the action is taken, pushed on a stack, and undone
 * newest-first on every exit path; after a crash `mbackup recover` finds
 * the catalog rows and undoes them through the same undo functions.
 */
#ifndef MB_OBLIGATIONS_H
#define MB_OBLIGATIONS_H

#include <stdint.h>

#include "common/error.h"
#include "common/obligation.h"
#include "orchestrator/catalog.h"

#define MB_OBL_MAX 64

struct mb_obligation_slot {
	int64_t id;		/* catalog row */
	char kind[32], driver[32];
	char *arg;
	mb_undo_fn undo;
	int open;		/* 1 until released or undone */
};

struct mb_obligations {
	struct mb_catalog *catalog;
	int64_t run_id;
	struct mb_obligation_slot v[MB_OBL_MAX];
	int n;
	struct mb_undo_ctx ctx;	/* what every undo of the run gets */
};

void mb_obl_init(struct mb_obligations *o, struct mb_catalog *c, int64_t run_id,
		 const struct mb_undo_ctx *ctx);
/* mb_obl_take and mb_obl_done: see common/obligation.h. */
/* Undo it now through its undo function, then mark it released. */
int mb_obl_release(struct mb_obligations *o, int handle, struct mb_error *e);
/* Keep it on purpose (--keep-split): released without undo. */
int mb_obl_keep(struct mb_obligations *o, int handle, struct mb_error *e);
/* Undoes every open obligation newest-first, carrying on past failures
 * (logged); the first failure goes into e.  Returns 0 if all undone. */
int mb_obl_unwind(struct mb_obligations *o, struct mb_error *e);
void mb_obl_free(struct mb_obligations *o);

/* The undo function for a (kind, driver) pair found in the catalog, asked
 * of the registry that owns the kind; NULL if none knows it. */
mb_undo_fn mb_obl_undo_for(const char *kind, const char *driver);

#endif
