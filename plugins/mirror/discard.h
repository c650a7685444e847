/*
 * Discard-behind (discard.c): a thin snapshot's pool blocks given back
 * outside the backup set at once, and behind the stream as it goes.
 */
#ifndef MB_MIRROR_DISCARD_H
#define MB_MIRROR_DISCARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "plugins/mirror/mirror.h"

struct mb_discard;

struct mb_discard_stats {
	uint64_t discarded;	/* bytes given back in all */
	uint64_t outside;	/* of which at once: outside the plan */
	uint64_t behind;	/* of which behind the stream */
	uint64_t calls;		/* BLKDISCARDs */
};

/* Opens dev (writable: a discard is a write), counts for each pool block
 * of `block` bytes the ranges of v touching it, and discards every block
 * none touches.  A device whose pool ignores discards is warned about
 * once and left alone (success, nothing discarded). */
int mb_discard_open(struct mb_discard **out, const char *dev, uint64_t block,
		    const struct mb_mirror_range *v, size_t n, struct mb_error *e);
/* The ranges v (as given to open) are streamed: every block no range
 * still to stream touches is discarded.  d NULL: nothing. */
int mb_discard_done(struct mb_discard *d, const struct mb_mirror_range *v, size_t n,
		    struct mb_error *e);
/* What was discarded so far (st untouched if d is NULL). */
void mb_discard_get(const struct mb_discard *d, struct mb_discard_stats *st);
/* Closes; st (if not NULL) gets what was discarded. */
void mb_discard_close(struct mb_discard *d, struct mb_discard_stats *st);

#endif
