/*
 * Read-ahead of the split leg for the extent reader: a thread queues the
 * I/O of the next extents of the plan, at most `ahead` bytes in front of
 * what the reader has consumed.  Private to extentmap/.
 */
#ifndef MB_PREFETCH_H
#define MB_PREFETCH_H

#include <stddef.h>
#include <stdint.h>

#include "common/entry.h"
#include "common/error.h"

struct mb_prefetch;

/* entries (borrowed until stop) in the order they will be read; segments
 * of skip_from bytes or more are left out (read with O_DIRECT; 0: none). */
int mb_prefetch_start(struct mb_prefetch **out, int fd, uint64_t device_offset,
		      struct mb_entry *const *entries, size_t n, uint64_t ahead,
		      uint64_t skip_from, struct mb_error *e);
/* The reader has pread `bytes` more device bytes. */
void mb_prefetch_advance(struct mb_prefetch *p, uint64_t bytes);
void mb_prefetch_stop(struct mb_prefetch *p);

#endif
