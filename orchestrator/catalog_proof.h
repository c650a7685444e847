/*
 * The catalog's mirror_proofs table (schema 11): the mirrors whose legs
 * were last proven equal (by a full pass, or by a proof of what a split
 * wrote that followed such a record), with no split since.  A proof of
 * only what a split wrote (plugins/mirror/lvm.c) trusts the legs equal
 * before the split: it needs the record, and takes it (an undo that does
 * not end in a proof leaves none; --keep-split drops it).
 */
#ifndef MB_CATALOG_PROOF_H
#define MB_CATALOG_PROOF_H

#include <stdbool.h>

#include "common/error.h"
#include "common/obligation.h"

struct mb_catalog;

/* Whether mirror ("lvm:vg/lv") had a record for identity id (the
 * driver's own: an LV's UUID, so a volume made again under the same name
 * has none); drops it either way. */
int mb_catalog_proof_take(struct mb_catalog *c, const char *mirror, const char *id,
			  bool *known, struct mb_error *e);
/* Records mirror as id proven whole now. */
int mb_catalog_proof_set(struct mb_catalog *c, const char *mirror, const char *id,
			 struct mb_error *e);
/* Drops mirror's record: a split leaves mbackup's hands (--keep-split). */
int mb_catalog_proof_forget(struct mb_catalog *c, const char *mirror, struct mb_error *e);
/* Points ctx's whole_* at c (a failure there is logged, and counts as no
 * record). */
void mb_catalog_proof_ctx(struct mb_catalog *c, struct mb_undo_ctx *ctx);

#endif
