/*
 * The catalog's mirror_proofs table (schema 11): the mirrors whose legs
 * were last proven equal (by a full pass, or by a proof of what a split
 * wrote that followed such a record), with no split since; and (12) when
 * the last full pass was and how many proofs of what changed followed it.  A proof of
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
 * has none), and it in *rec (may be NULL); drops it either way. */
int mb_catalog_proof_take(struct mb_catalog *c, const char *mirror, const char *id,
			  bool *known, struct mb_proof_record *rec, struct mb_error *e);
/* The same without an identity, and keeping it: for info and preflight. */
int mb_catalog_proof_get(struct mb_catalog *c, const char *mirror, bool *known,
			 struct mb_proof_record *rec, struct mb_error *e);
/* Records mirror as id proven whole now: by a full pass (rec NULL, or
 * rec->full_at ""), or by what changed since rec->full_at, the
 * rec->runs_since'th such proof. */
int mb_catalog_proof_set(struct mb_catalog *c, const char *mirror, const char *id,
			 const struct mb_proof_record *rec, struct mb_error *e);
/* Drops mirror's record: a split leaves mbackup's hands (--keep-split). */
int mb_catalog_proof_forget(struct mb_catalog *c, const char *mirror, struct mb_error *e);
/* Points ctx's whole_* at c (a failure there is logged, and counts as no
 * record). */
void mb_catalog_proof_ctx(struct mb_catalog *c, struct mb_undo_ctx *ctx);

#endif
