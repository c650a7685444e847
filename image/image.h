/*
 * The image: a POSIX pax (tar) stream whose first member is the index and
 * whose last member is the trailer.  See image/FORMAT.md for the bytes.
 *
 * Writing:  mb_image_layout() computes, before any data is written, the exact
 *           byte offset of every member (stored in each entry's image_offset
 *           and in the index), then mb_image_write() streams the image
 *           to an output (image/io.h), pulling file data from a callback.
 * Reading:  mb_image_open() reads and checks the index from an input
 *           (image/io.h); members are then
 *           read in order (ls, verify, restore) or one is reached by seeking
 *           to its offset (restore --file).
 */
#ifndef MB_IMAGE_H
#define MB_IMAGE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "common/entry.h"
#include "common/error.h"
#include "common/hash.h"
#include "image/io.h"

#define MB_IMAGE_BLOCK 512
#define MB_IMAGE_DEFAULT_RECORD 10240	/* tar's default blocking factor 20 */

struct mb_image_peer;

/* What the index says about the whole image. */
struct mb_image_meta {
	char backup_id[64];	/* catalog run id as text, e.g. "17" */
	int64_t created;	/* unix seconds */
	char source[512];	/* e.g. "/srv/data on /dev/loop3 (ext4)" */
	uint32_t record_size;	/* the end is zero-padded to a multiple of it */
	uint32_t device_index;	/* k of n, counting from 1 (1 of 1 for now) */
	uint32_t device_count;
	/* Several devices (image/multi.h): the image names its set. */
	uint32_t part;		/* 0 or 1: the device's first image; p > 1: the
				 * p-th image on it, a rescue image appended
				 * after the earlier ones */
	uint64_t rescues;	/* rescue image: bit k-1 per failed device k
				 * whose items the rescue images take over */
	const struct mb_image_peer *peers;	/* what the other images of the
				 * set hold (borrowed when writing; owned by
				 * the mb_index when parsed) */
	size_t n_peers;
};

/* One item held by another image of the set. */
struct mb_image_peer {
	uint32_t device;	/* 1..device_count */
	uint32_t part;		/* its image on that device (1 = the first) */
	char type;		/* enum mb_type */
	uint64_t size;		/* the whole file's size */
	uint64_t seg_offset, seg_length;
	char *path;
};

/* Result of the layout: everything the writer needs, exact to the byte. */
struct mb_image_layout {
	struct mb_image_meta meta;
	struct mb_entry **entries;	/* borrowed, in image order */
	size_t n_entries;
	size_t index_len;		/* the index member's text (rendered as
					 * it is written, never held whole) */
	size_t trailer_len;		/* the trailer member's text */
	uint64_t data_offset;		/* first byte after the index member */
	uint64_t trailer_offset;	/* where the trailer member starts */
	uint64_t image_size;		/* total bytes, padding included */
};

struct mb_image_stats {
	uint64_t bytes;		/* image bytes written */
	uint64_t file_bytes;	/* file data bytes (sum of seg_length) */
	uint64_t members;
	uint64_t files;		/* regular-file members (verify) */
};

int mb_image_layout(struct mb_entry **entries, size_t n,
		    const struct mb_image_meta *meta,
		    struct mb_image_layout *out, struct mb_error *e);
void mb_image_layout_free(struct mb_image_layout *lay);

/* Writes the whole image.  Fails (MB_ERR_INTERNAL) if any member does not
 * start at its computed offset or a file emits the wrong number of bytes. */
int mb_image_write(const struct mb_image_output *out, const struct mb_image_layout *lay,
		   mb_data_fn data, void *data_arg, struct mb_image_stats *st,
		   struct mb_error *e);

/* The emit function mb_image_write hands its data callback.  A producer
 * that recognises it (emit == mb_image_emit, or the target of taps over it:
 * mb_tap_target, common/tap.h; the taps then see each span before its
 * commit) may fill the image buffer in place instead of emitting a copy:
 * mb_image_emit_space() returns where the next bytes of the current file
 * go and sets *room (> 0 while data is still due, never more than is
 * due); mb_image_emit_commit(emit_arg, len, e)
 * then takes the first len <= *room bytes written there as emitted, hashed
 * and counted exactly as mb_image_emit would.  Nothing else may come in
 * between.  When the returned pointer is MB_IMAGE_BLOCK-aligned, the bytes
 * up to *room rounded up to MB_IMAGE_BLOCK may be written too (for direct
 * I/O): they are the file's later bytes or its padding, written over
 * before they reach the sink. */
int mb_image_emit(void *emit_arg, const void *buf, size_t len, struct mb_error *e);
void *mb_image_emit_space(void *emit_arg, size_t *room);
int mb_image_emit_commit(void *emit_arg, size_t len, struct mb_error *e);
/* The writer's checksum (XXH3-128) of the current member's bytes, which
 * a block hasher of the same file need not compute again: with hex NULL,
 * whether the current member is ent itself, all of its file, and nothing
 * of it emitted yet; with hex, once it is all emitted, the file's hash in
 * hex.  False (hex untouched) otherwise. */
bool mb_image_emit_file_hash(void *emit_arg, const struct mb_entry *ent,
			     char hex[MB_HASH_HEX_LEN + 1]);

/* ---- reading ---- */

/* One entry of a parsed index (paths unescaped). */
struct mb_index_entry {
	struct mb_entry ent;	/* path, type, ino, size, mode, uid, gid,
				 * mtime, link_target, seg_*, image_offset */
};

struct mb_index {
	struct mb_image_meta meta;
	struct mb_index_entry *v;
	size_t n;
	uint64_t data_offset, trailer_offset, image_size;
	char index_hash[MB_HASH_HEX_LEN + 1];	/* of the index payload */
	/* Inode bitmap, sparse: which source inode numbers are in the image. */
	uint64_t *inodes;	/* sorted, unique */
	size_t n_inodes;
};

/* The trailer: a checksum per regular-file member, in image order. */
struct mb_trailer_entry {
	uint64_t offset;	/* member offset, as in the index */
	char hash[MB_HASH_HEX_LEN + 1];
};
struct mb_trailer {
	char backup_id[64];
	char index_hash[MB_HASH_HEX_LEN + 1];
	struct mb_trailer_entry *v;
	size_t n;
	uint64_t file_bytes;
};

/* A member header as read from the stream. */
struct mb_member {
	char *path;		/* from pax "path" (or ustar name) */
	char *link_target;
	char typeflag;		/* ustar typeflag: '0' '5' '2' '1' ... */
	uint64_t size;		/* data bytes that follow the header */
	uint64_t offset;	/* image offset of the member's first header */
	uint64_t data_offset;	/* image offset of the data */
	uint32_t mode, uid, gid;
	int64_t mtime_sec;
	uint32_t mtime_nsec;
	uint64_t seg_offset, seg_length, file_size;	/* MBACKUP.* records */
};

struct mb_image_reader;

/* Opens an image on an input (a file, pipe or tape; borrowed, never
 * closed by the reader: it must outlive the reader), reads the index
 * member and checks its structure.  An input that can seek may later use
 * mb_image_seek(). */
int mb_image_open(struct mb_image_reader **out, const struct mb_image_input *in,
		  struct mb_error *e);
void mb_image_close(struct mb_image_reader *r);
const struct mb_index *mb_image_index(const struct mb_image_reader *r);

/* Reads the next member header.  Returns 1 and fills m on a file member,
 * 0 when the trailer has been reached (and parsed, see mb_image_trailer),
 * -1 on error (MB_ERR_TRUNCATED / MB_ERR_CORRUPT naming the offset). */
int mb_image_next(struct mb_image_reader *r, struct mb_member *m,
		  struct mb_error *e);
/* Reads up to len bytes of the current member's data; returns the count
 * (0 at the member's end) or -1.  Unread data is skipped by the next call
 * to mb_image_next(). */
ssize_t mb_image_read(struct mb_image_reader *r, void *buf, size_t len,
		      struct mb_error *e);
/* Positions the reader at the member of index entry i (input's seek). */
int mb_image_seek(struct mb_image_reader *r, size_t i, struct mb_error *e);
/* Reads the trailer by seeking to it (seekable) or returns the one already
 * parsed by mb_image_next() reaching it. */
const struct mb_trailer *mb_image_trailer(struct mb_image_reader *r,
					  struct mb_error *e);
void mb_member_free(struct mb_member *m);
/* The trailer's checksum of the file member at image offset off, or NULL
 * if it has none (the trailer is in image order: a binary search). */
const char *mb_trailer_hash_at(const struct mb_trailer *t, uint64_t off);
/* XXH3-128 hex of the current member's data once all of it has been read
 * through mb_image_read() (compare with the trailer), else NULL. */
const char *mb_image_data_hash(const struct mb_image_reader *r);
/* Bytes read from the input so far (to show that --file reads one member). */
uint64_t mb_image_bytes_read(const struct mb_image_reader *r);

/* A path as the index writes it, for a terminal or a message: bytes <=
 * 0x20, '%' and 0x7f percent-escaped (malloc'ed; "?" when out of memory,
 * NULL only if even that fails). */
char *mb_image_printable(const char *s);

/* Reads the whole image sequentially and checks everything: every header
 * checksum, every member at its indexed offset, every file checksum, the
 * trailer, past every damaged file.  Fails naming the first damaged file
 * and its image offset. */
int mb_image_verify(const struct mb_image_input *in, struct mb_image_stats *st,
		    struct mb_error *e);
/* The same on a reader just opened (nothing read past its index); followed:
 * another image comes next on the medium, so bytes after the end are its. */
int mb_image_verify_reader(struct mb_image_reader *r, bool followed,
			   struct mb_image_stats *st, struct mb_error *e);
/* One damaged file found by verify: its path, its member's offset and the
 * error naming it (a checksum or header mismatch). */
typedef void (*mb_verify_damage_fn)(void *arg, const char *path, uint64_t offset,
				    const struct mb_error *why);
/* mb_image_verify_reader() going on past every damaged file (a damaged
 * header too, where the input can seek to the next member), calling fn
 * (may be NULL) for each, in image order; fails with the first one's
 * error (and a hint counting them when there are several). */
int mb_image_verify_all(struct mb_image_reader *r, bool followed,
			mb_verify_damage_fn fn, void *arg, struct mb_image_stats *st,
			struct mb_error *e);

#endif
