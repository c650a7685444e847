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

/* Whether restore --backup ID goes through the chain: without --from
 * always; with --from when the catalog's chain of ID holds increments
 * (else --backup only picks the image on a tape, as it always did). */
#include <stdbool.h>
bool mb_restore_chain_wanted(const struct mb_options *opt);

/* How a link's medium is read: again and again (a file, the object
 * store), by positioning (a tape, found by backup id), or once (a pipe,
 * standard input, a FIFO: the chain restore reads it in its order). */
enum mb_link_medium { MB_LINK_FILE, MB_LINK_TAPE, MB_LINK_STORE, MB_LINK_STREAM };
enum mb_link_medium mb_link_medium_of(const char *spec);

/* On the set a restore opened (restore.c): with chain_link, every image
 * must hold that backup (MB_ERR_CORRUPT); without, an increment is
 * refused (MB_ERR_USAGE, naming its backup and its base): alone it is no
 * state. */
struct mb_image_set;
int mb_chain_check_set(struct mb_image_set *s, const char *chain_link, struct mb_error *e);

/* The same for consolidate: backup point, whole, into the new directory
 * to, nothing printed. */
#include <stdint.h>
int mb_restore_chain_to(const struct mb_options *opt, int64_t point, const char *to,
			struct mb_error *e);

#endif
