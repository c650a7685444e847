/*
 * --mirror-proof, --mirror-check-runs and --mirror-check-days: how a raid1
 * merge is proven whole (plugins/mirror/lvm.c, lvm_due.h), checked and
 * handed to the undos; and the one refusal that can be made before a
 * split: --mirror-proof witness for a mirror the catalog has no proof of.
 */
#ifndef MB_MIRROR_PROOF_H
#define MB_MIRROR_PROOF_H

#include "common/error.h"
#include "common/obligation.h"
#include "orchestrator/options.h"

struct mb_catalog;
struct mb_run;

/* The options into ctx's proof, check_runs and check_days; a bad
 * --mirror-proof: MB_ERR_USAGE "invalid --mirror-proof 'X'" with a hint. */
int mb_mirror_proof_ctx(const struct mb_options *o, struct mb_undo_ctx *ctx, struct mb_error *e);
/* --mirror-proof witness needs a proof of each raid1 mirror's legs on
 * record (the witness proves only what changed since): refused with
 * MB_ERR_MIRROR otherwise, before anything is split. */
int mb_mirror_proof_refuse(const struct mb_run *r, struct mb_error *e);

#endif
