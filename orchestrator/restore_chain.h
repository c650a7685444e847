/*
 * restore --backup ID without --from: the backup's chain from the catalog
 * (orchestrator/restore_chain.c).
 */
#ifndef MB_RESTORE_CHAIN_H
#define MB_RESTORE_CHAIN_H

#include "common/error.h"
#include "orchestrator/options.h"

/* Restores backup opt->backup (a catalog id) to opt->to: its full, then
 * each increment of its chain; with --file, only those names.  Refuses
 * (before writing anything) a chain with an image missing (not found), an
 * image of another backup or an increment on another base (corrupt). */
int mb_restore_chain(const struct mb_options *opt, struct mb_error *e);

/* The same for consolidate: backup point, whole, into the new directory
 * to, nothing printed. */
#include <stdint.h>
int mb_restore_chain_to(const struct mb_options *opt, int64_t point, const char *to,
			struct mb_error *e);

#endif
