/*
 * Block increments (image/FORMAT.md "Increments"): the block-hash map of a
 * file, the runs of blocks that changed between two maps, the delta member
 * that carries them, and the manifest that describes the whole state of an
 * incremental backup.  Pure functions: no I/O, no catalog.
 */
#ifndef MB_BLOCKMAP_H
#define MB_BLOCKMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/entry.h"
#include "common/error.h"
#include "common/hash.h"

/* A changed file's member in an increment: never the file's real name. */
#define MB_DELTA_SUFFIX ".mbackup-incr"
/* The manifest member of an increment (the first file member). */
#define MB_INCR_MANIFEST ".mbackup-increment"
#define MB_BLOCK_MIN 512
#define MB_BLOCK_MAX (1u << 20)

/* One file's block hashes: XXH3-64 of each block (the last may be short)
 * and XXH3-128 of the whole file. */
struct mb_blockmap {
	/* (ordered so that nothing pads: 64 bytes, one per file of a full) */
	uint64_t size;
	uint64_t *h;		/* n = blocks of size */
	size_t n;
	uint32_t block_size;
	char file_hash[MB_HASH_HEX_LEN + 1];
};

uint64_t mb_blocks_of(uint64_t size, uint32_t block_size);
void mb_blockmap_free(struct mb_blockmap *m);

/* Builds a map from consecutive bytes of a file (fed in any chunks).
 * no_whole (set after init): the whole-file hash is left to the caller,
 * who has it from elsewhere (the image writer's checksum of the same
 * bytes, mb_image_emit_file_hash): m->file_hash is not set. */
struct mb_blockhasher {
	struct mb_blockmap *m;
	bool no_whole;
	struct mb_hash whole;
	unsigned char *part;	/* the current, incomplete block */
	size_t part_len;
	uint64_t pos;
};
int mb_blockhasher_init(struct mb_blockhasher *bh, struct mb_blockmap *m,
			uint32_t block_size, uint64_t size, struct mb_error *e);
int mb_blockhasher_update(struct mb_blockhasher *bh, const void *buf, size_t len,
			  struct mb_error *e);
/* Fails (internal) unless exactly size bytes were fed; frees bh's buffer. */
int mb_blockhasher_final(struct mb_blockhasher *bh, struct mb_error *e);
void mb_blockhasher_abort(struct mb_blockhasher *bh);

/* ---- a map built from pieces (image/blockrange.c) ----
 * A several-device full cuts a big file into segments streamed at once
 * by different devices: each segment hashes the blocks wholly inside it
 * into one map; a block a segment boundary cuts (segments are aligned to
 * 4 KiB, PostgreSQL's blocks are 8 KiB) is hashed once both its parts
 * are there.  Such a map has no whole-file hash (MB_NO_FILE_HASH): an
 * XXH3-128 cannot be put together from pieces. */
#define MB_NO_FILE_HASH "-"

/* m for a file of size, every block's hash 0 until its piece comes. */
int mb_blockmap_alloc(struct mb_blockmap *m, uint32_t block_size, uint64_t size,
		      struct mb_error *e);

/* Bytes [from, to) of block `block` (at data + from; data holds a block). */
struct mb_blockedge {
	uint64_t block;
	uint32_t from, to;
	unsigned char *data;
};
struct mb_blockedges {
	struct mb_blockedge *v;
	size_t n;
};

/* Hashes bytes [off, off + len) of m's file, fed in order in any chunks:
 * the blocks wholly inside into m, the parts of the (at most two) blocks
 * the range cuts into edges[] (after final: for mb_blockedge_merge). */
struct mb_blockrange {
	struct mb_blockmap *m;
	uint64_t pos, end;
	unsigned char *buf;	/* the block being gathered */
	uint32_t from, len;	/* where its bytes begin, how many so far */
	struct mb_blockedge edges[2];
	size_t n_edges;
};
int mb_blockrange_init(struct mb_blockrange *r, struct mb_blockmap *m, uint64_t off,
		       uint64_t len, struct mb_error *e);
int mb_blockrange_update(struct mb_blockrange *r, const void *buf, size_t len,
			 struct mb_error *e);
/* Fails (internal) unless exactly len bytes were fed. */
int mb_blockrange_final(struct mb_blockrange *r, struct mb_error *e);
void mb_blockrange_abort(struct mb_blockrange *r);

/* Adds edge g (its data taken) to the pending edges v of m: a block whose
 * parts now cover it is hashed into m and leaves v.  A part given again
 * changes no hash (if its block is hashed already, it waits in v alone:
 * callers give each segment once, a rescue image's copy not again). */
int mb_blockedge_merge(struct mb_blockmap *m, struct mb_blockedges *v,
		       struct mb_blockedge *g, struct mb_error *e);
void mb_blockedges_free(struct mb_blockedges *v);

/* A run of consecutive blocks. */
struct mb_block_run {
	uint64_t first, count;
};

/* What a delta member holds: the new size and the runs it carries. */
struct mb_delta {
	uint64_t size;		/* the file's size at the newer point */
	uint32_t block_size;
	struct mb_block_run *runs;
	size_t n_runs;
	uint64_t blocks;	/* sum of the runs' counts */
	uint64_t data_bytes;	/* bytes of those blocks (the last may be short) */
};

/* The blocks of cur that differ from old or lie past its end, as runs;
 * old and cur must share the block size. */
int mb_blockmap_diff(const struct mb_blockmap *old, const struct mb_blockmap *cur,
		     struct mb_delta *d, struct mb_error *e);
/* File offset and byte count of run i. */
void mb_delta_run_range(const struct mb_delta *d, size_t i, uint64_t *off,
			uint64_t *len);
/* The member's header text (malloc'ed); the member is header + data. */
int mb_delta_header(const struct mb_delta *d, char **text, size_t *len,
		    struct mb_error *e);
/* Parses a header at the start of p (len bytes available: at least the
 * header); *hdr_len is its length.  name: the member, for messages. */
int mb_delta_parse(const char *p, size_t len, struct mb_delta *d, size_t *hdr_len,
		   const char *name, struct mb_error *e);
void mb_delta_free(struct mb_delta *d);

/* ---- the manifest ---- */

enum mb_incr_kind {
	MB_INCR_SAME = 'u',	/* regular file, content as at the base */
	MB_INCR_WHOLE = 'w',	/* regular file, whole in this increment */
	MB_INCR_DELTA = 'd',	/* regular file, changed blocks in <path>.mbackup-incr */
	MB_INCR_META = 'm',	/* not a regular file: made from this line */
};

struct mb_incr_entry {
	char kind;		/* enum mb_incr_kind */
	struct mb_entry ent;	/* type, path, link target, size, mode, uid,
				 * gid, rdev, mtime (owned when parsed) */
	char hash[MB_HASH_HEX_LEN + 1];	/* files: XXH3-128 of the whole file */
};

struct mb_incr_manifest {
	char backup_id[64];
	char base_id[64];
	uint32_t block_size;
	struct mb_incr_entry *v;	/* every entry of the newer state, in order */
	size_t n;
	char **removed;			/* paths of the base gone at this point */
	size_t n_removed;
	bool owned;			/* parsed: strings are ours */
	size_t *by_path;		/* parsed: v's indices by path (strcmp) */
};

int mb_incr_manifest_render(const struct mb_incr_manifest *m, char **text,
			    size_t *len, struct mb_error *e);
int mb_incr_manifest_parse(const char *text, size_t len, struct mb_incr_manifest *m,
			   const char *name, struct mb_error *e);
void mb_incr_manifest_free(struct mb_incr_manifest *m);
/* The entry for path, or NULL (a parsed manifest: binary search). */
const struct mb_incr_entry *mb_incr_manifest_find(const struct mb_incr_manifest *m,
						  const char *path);

#endif
