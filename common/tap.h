/*
 * Taps: observers of a byte stream (the block hasher, the progress count)
 * that look at the bytes on their way to the next emit and never change
 * them.  A tap is itself an emit (mb_tap_emit over a struct mb_tap), so a
 * producer that knows nothing of taps still works; a producer that does
 * (the extent reader) follows the chain to its end (mb_tap_target) and,
 * when that is the image writer, preads into the writer's buffer and
 * shows each span to the taps (mb_tap_see) before committing it: no copy.
 * A wrapper that must change the bytes cannot be a tap: it stays a plain
 * emit, and the producer copies through it (none exists today).
 */
#ifndef MB_COMMON_TAP_H
#define MB_COMMON_TAP_H

#include <stddef.h>

#include "common/entry.h"
#include "common/error.h"

/* Looks at len bytes of the stream (the next ones, in order): -1 stops
 * the stream with its error. */
typedef int (*mb_tap_fn)(void *see_arg, const void *buf, size_t len, struct mb_error *e);

struct mb_tap {
	mb_tap_fn see;
	void *see_arg;
	mb_emit_fn next;	/* where the bytes go on, NULL: they end here */
	void *next_arg;
};

/* The emit of a tap (arg: the struct mb_tap): see, then next. */
int mb_tap_emit(void *tap, const void *buf, size_t len, struct mb_error *e);

/* The first emit of the chain from emit that is not a tap (NULL: the
 * bytes end at a tap), its argument in *arg. */
mb_emit_fn mb_tap_target(mb_emit_fn emit, void *emit_arg, void **arg);

/* Every tap of the chain from emit to its target sees buf, in order. */
int mb_tap_see(mb_emit_fn emit, void *emit_arg, const void *buf, size_t len,
	       struct mb_error *e);

#endif
