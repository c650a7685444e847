/*
 * A byte range of a file on a live filesystem, emitted in chunks: the
 * stream's generated and live files (backup_label, WAL copied after the
 * backup's end) and consolidate's materialised trees.
 */
#ifndef MB_RANGE_H
#define MB_RANGE_H

#include <stddef.h>
#include <stdint.h>

#include "common/entry.h"
#include "common/error.h"

/* Emits len bytes of path from offset off, read through buf (cap bytes);
 * a file shorter than that fails ("unable to read 'PATH' at N"). */
int mb_read_range(const char *path, uint64_t off, uint64_t len, char *buf, size_t cap,
		  mb_emit_fn emit, void *emit_arg, struct mb_error *e);

/* Called before each read: *n (at most cap, never more than is left) may
 * be lowered, not to 0; it may wait (a rate limit); -1 stops the read
 * with its error. */
typedef int (*mb_range_piece_fn)(void *arg, size_t *n, struct mb_error *e);

/* mb_read_range, each piece first handed to piece (NULL: none). */
int mb_read_range_pieces(const char *path, uint64_t off, uint64_t len, char *buf, size_t cap,
			 mb_range_piece_fn piece, void *piece_arg, mb_emit_fn emit,
			 void *emit_arg, struct mb_error *e);

#endif
