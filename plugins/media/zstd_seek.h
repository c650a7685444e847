/*
 * The seek table of a compressed image (the zstd seekable format, v0.1.0
 * of facebook/zstd's contrib/seekable_format): one entry per frame of a
 * stream (compressed size, decompressed size, the low 32 bits of the
 * XXH64 of the frame's decompressed bytes) in a skippable frame at the
 * stream's end, whose last 9 bytes (the footer) end with a magic number,
 * so a reader finds it from the end of the file.  See image/FORMAT.md,
 * "Compressed images".
 *
 * libzstd reads and writes frames but not this table (the seekable
 * format lives in zstd's contrib/, which Debian does not package), so the
 * table is written and parsed here, by hand, with no libzstd dependency:
 * the fuzz target (tests/fuzz/fuzz_seektable.c) links it alone.
 */
#ifndef MB_MEDIA_ZSTD_SEEK_H
#define MB_MEDIA_ZSTD_SEEK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

#define MBZ_FRAME_MAGIC 0xFD2FB528u	/* a zstd frame */
#define MBZ_SKIP_MAGIC 0x184D2A5Eu	/* the seek table's skippable frame */
#define MBZ_PAD_MAGIC 0x184D2A50u	/* padding to whole records (tape) */
#define MBZ_SEEK_MAGIC 0x8F92EAB1u	/* the footer's last 4 bytes */
#define MBZ_SKIP_HEAD 8			/* magic + frame size */
#define MBZ_FOOTER 9			/* frames, descriptor, magic */
#define MBZ_CHECKSUM_FLAG 0x80
#define MBZ_MAX_FRAMES 0x8000000u
#define MBZ_MAX_FRAME_D (1u << 30)	/* the format's limit on a frame's bytes */

struct mbz_frame {
	uint32_t c_size;	/* bytes of the frame in the stream */
	uint32_t d_size;	/* bytes it decompresses to (0: a skippable frame) */
	uint32_t check;		/* low 32 bits of XXH64 of those bytes */
};

/* The frames of one stream in order, and once indexed (mbz_table_index)
 * where each starts: c_off[i] in the stream, d_off[i] in the image;
 * c_off[n] and d_off[n] are the totals. */
struct mbz_table {
	struct mbz_frame *v;
	size_t n, cap;
	bool checksums;		/* entries carry checks (always when written here) */
	uint64_t *c_off, *d_off;
};

/* Bytes of the whole seek table frame for n frames with checksums. */
size_t mbz_table_len(size_t n);
int mbz_table_add(struct mbz_table *t, uint32_t c_size, uint32_t d_size, uint32_t check,
		  struct mb_error *e);
/* Renders the seek table frame into out (mbz_table_len(t->n) bytes). */
void mbz_table_render(const struct mbz_table *t, unsigned char *out);
/* The footer (the last MBZ_FOOTER bytes of a stream): the number of
 * frames and the length of the whole table frame; -1 with why if it is
 * not a seek table's footer. */
int mbz_footer_parse(const unsigned char foot[MBZ_FOOTER], uint32_t *n, size_t *table_len,
		     const char **why);
/* Parses a whole seek table frame (len bytes, as mbz_footer_parse sized
 * it) into t (empty before) and indexes it; -1 with why (t left empty). */
int mbz_table_parse(const unsigned char *p, size_t len, struct mbz_table *t, const char **why);
/* Fills c_off and d_off; -1 (ENOMEM) on failure. */
int mbz_table_index(struct mbz_table *t, struct mb_error *e);
/* The frame holding image byte pos (d_size > 0), or t->n if pos is at or
 * past the end.  Needs the index. */
size_t mbz_table_find(const struct mbz_table *t, uint64_t pos);
void mbz_table_free(struct mbz_table *t);

#endif
