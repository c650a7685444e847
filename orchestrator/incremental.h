/*
 * Block increments on the backup side (image/FORMAT.md "Increments").
 *
 * Every backup records the block-hash map of each file it holds (catalog
 * table block_maps): a full hashes its files as they stream.  An
 * incremental (--incremental [--base ID]) first reads every file of the
 * split leg once to hash it (the pre-pass: the leg is idle, production
 * pays nothing), compares with the base's maps, and then writes an image
 * holding only the manifest, the directories, the files that are new or
 * mostly changed (whole, under their names) and, for each file with few
 * changed blocks, a member <path>.mbackup-incr with those blocks.  The
 * layout stays exact: every member's size is known before the first byte.
 */
#ifndef MB_INCREMENTAL_H
#define MB_INCREMENTAL_H

#include <stdint.h>

#include "common/entry.h"
#include "common/error.h"

struct mb_run;
struct mb_incr;
struct mb_multi_source;
struct mb_catalog;
struct mb_options;

/* P0: --base only with --incremental; the base exists, is complete and
 * has the blocks of this --db (else nothing is frozen for nothing). */
int mb_incr_check_base(struct mb_catalog *c, const struct mb_options *o,
		       struct mb_error *e);

/* P7, before the layout: the block maps of r->set; with --incremental
 * also the base, the pre-pass through src (device 1) and the increment's
 * entries in r->set (the state is kept aside).  r->incr is set. */
int mb_incr_prepare(struct mb_run *r, const struct mb_multi_source *src,
		    struct mb_error *e);

/* The stream's data callback goes through here: a delta member's bytes
 * are the changed blocks of its file, read by inner from the split leg;
 * a whole file of a full backup is hashed on its way (inner reads it). */
int mb_incr_data(struct mb_incr *x, const struct mb_entry *ent, mb_data_fn inner,
		 void *inner_arg, mb_emit_fn emit, void *emit_arg, struct mb_error *e);

/* P8: the backup's kind, base and chain, and the state's block maps. */
int mb_incr_record(struct mb_run *r, struct mb_error *e);

/* consolidate: the increment that turns the state of base_id (the newer
 * point, its block maps base) into `state` (a materialised tree: files
 * with live_path; their maps by path, from the catalog, moved out of maps;
 * a file without one is hashed through read).  *inc gets the increment's
 * entries (the manifest names id and base_id); its data goes through
 * mb_incr_data(*out, ..., read, ...).  Free *out with mb_incr_free even
 * on failure. */
struct mb_set;
struct mb_blockmaps;
int mb_incr_plan_tree(struct mb_incr **out, const struct mb_set *state, struct mb_blockmaps *maps,
		      struct mb_blockmaps *base, uint32_t block_size, int64_t id, int64_t base_id,
		      mb_data_fn read, struct mb_set *inc, struct mb_error *e);

void mb_incr_free(struct mb_incr *x);

#endif
