/*
 * A full's block maps on their way to the catalog (orchestrator/
 * incremental.c): each file's map is appended to an unnamed temporary
 * file in the catalog's directory as soon as the file is hashed, and read
 * back once, in the order written, when P8 records them.  Memory stays
 * flat in the number of files (a map held to the end cost 96 bytes a
 * file: 64 of struct and a 32-byte chunk of hashes).  The file has no
 * name (O_TMPFILE, or unlinked at once): nothing is left to undo if the
 * run dies, and the catalog's directory is never on a frozen filesystem.
 */
#ifndef MB_INCREMENTAL_SPILL_H
#define MB_INCREMENTAL_SPILL_H

#include <stddef.h>

#include "common/error.h"
#include "image/blockmap.h"

struct mb_mapspill;

/* A spill in directory dir. */
int mb_mapspill_open(struct mb_mapspill **out, const char *dir, struct mb_error *e);
/* Appends the map of state entry idx. */
int mb_mapspill_put(struct mb_mapspill *s, size_t idx, const struct mb_blockmap *m,
		    struct mb_error *e);
/* Starts reading back from the first map put. */
int mb_mapspill_rewind(struct mb_mapspill *s, struct mb_error *e);
/* The next map (*m valid until the next call): 1, or 0 at the end. */
int mb_mapspill_next(struct mb_mapspill *s, size_t *idx, const struct mb_blockmap **m,
		     struct mb_error *e);
void mb_mapspill_close(struct mb_mapspill *s);

#endif
