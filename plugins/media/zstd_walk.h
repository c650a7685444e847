/*
 * The frames of a compressed image found from its start (zstd_walk.c),
 * for a file that does not end in a seek table: one cut short (a copy or
 * a write that did not finish), or a tape's image copied with its
 * padding.  Each frame's compressed size is read off its block headers
 * (RFC 8878: 3 bytes a block), its decompressed size off its header
 * (mbackup writes every frame with its content size), so the walk
 * decompresses nothing: it reads the file once, in order.  Each stream's
 * own seek table, where
 * the walk reaches it, replaces the walked frames (it has the checks);
 * the stream the file ends inside keeps its whole frames only.
 *
 * No libzstd here, as zstd_seek.c: the format by hand.
 */
#ifndef MB_MEDIA_ZSTD_WALK_H
#define MB_MEDIA_ZSTD_WALK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "plugins/media/zstd_seek.h"

struct mbz_walk_stream {
	uint64_t start;		/* offset of its first frame */
	bool table;		/* its seek table was found after its frames */
	struct mbz_table t;	/* indexed; without a table: its whole frames */
};

struct mbz_walk {
	struct mbz_walk_stream *v;
	size_t n;		/* 0: not walked (read it in order, as before) */
	uint64_t whole;		/* offset where the last whole frame ends */
	bool cut;		/* the file ends inside a frame */
};

/* Up to len bytes at offset off into buf, *got of them (fewer: the end). */
typedef int (*mbz_read_at)(void *ctx, uint64_t off, void *buf, size_t len, size_t *got,
			   struct mb_error *e);

/* Walks the size bytes that rd reads.  0 with w->n 0 when something else
 * than frames is found (a frame without its content size, a reserved
 * block type, a table that disagrees with its frames): the caller reads
 * in order, as it did before.  -1 only on a read error or no memory. */
int mbz_walk(mbz_read_at rd, void *ctx, uint64_t size, struct mbz_walk *w, struct mb_error *e);
void mbz_walk_free(struct mbz_walk *w);

#endif
