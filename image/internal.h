/*
 * Shared by the image/ sources only (not part of the public contract):
 * a growable byte buffer, the tar/pax building blocks, the index and
 * trailer text.  See image/FORMAT.md for the bytes.
 */
#ifndef MB_IMAGE_INTERNAL_H
#define MB_IMAGE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "image/image.h"

#define MBI_INDEX_NAME "mbackup-index"
#define MBI_TRAILER_NAME "mbackup-trailer"
#define MBI_INDEX_KEY "MBACKUP.index"
#define MBI_TRAILER_KEY "MBACKUP.trailer"
#define MBI_SEG_SUFFIX ".mbackup-seg-"
/* A segment's pax record: comment=MBACKUP.seg <offset> <length> <file size> */
#define MBI_SEG_COMMENT "MBACKUP.seg"
/* Never trust a length from the image beyond these. */
#define MBI_MAX_PAX_LEN (1u << 20)		/* one member's 'x' data */
#define MBI_MAX_META_LEN (UINT64_C(4) << 30)	/* index / trailer text */

struct ibuf {
	char *p;
	size_t len, cap;
};

void ibuf_free(struct ibuf *b);
int ibuf_reserve(struct ibuf *b, size_t more, struct mb_error *e);
int ibuf_add(struct ibuf *b, const void *p, size_t len, struct mb_error *e);
int ibuf_printf(struct ibuf *b, struct mb_error *e, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Appends zero bytes up to the next multiple of MB_IMAGE_BLOCK. */
int ibuf_pad_block(struct ibuf *b, struct mb_error *e);

static inline uint64_t mbi_pad(uint64_t n)
{
	return (n + MB_IMAGE_BLOCK - 1) & ~(uint64_t)(MB_IMAGE_BLOCK - 1);
}

/* ---- tar.c: ustar and pax ---- */

/* Length of the pax record "<len> key=value\n". */
size_t mbi_pax_reclen(size_t klen, size_t vlen);
int mbi_pax_add(struct ibuf *b, const char *key, const char *val, size_t vlen,
		struct mb_error *e);
uint64_t mbi_global_member_len(const char *key, size_t vlen);
/* A 'g' member's header block and the start of its record, "<len> key=":
 * the vlen bytes of the value, "\n" and the padding to a block follow. */
int mbi_global_head(struct ibuf *b, const char *name, const char *key, size_t vlen,
		    int64_t mtime, struct mb_error *e);
/* All header bytes of an entry's member ('x' header, records, ustar). */
int mbi_member_headers(const struct mb_entry *ent, struct ibuf *b,
		       struct mb_error *e);
/* Data bytes that follow the headers (seg_length for files, else 0). */
uint64_t mbi_member_data_len(const struct mb_entry *ent);
/* Name of the member in the archive: path, or path.mbackup-seg-<hex>. */
char *mbi_member_path(const struct mb_entry *ent);
bool mbi_is_segment(const struct mb_entry *ent);
/* A "comment" record's value: 1 and the numbers if it is a segment's,
 * 0 if it is another comment, -1 if it is a malformed segment record. */
int mbi_seg_comment_parse(const char *val, size_t vlen, uint64_t *seg_offset,
			  uint64_t *seg_length, uint64_t *file_size);
char mbi_typeflag(char type);

/* Parsing (reader). */
bool mbi_checksum_ok(const unsigned char blk[MB_IMAGE_BLOCK]);
bool mbi_is_zero(const void *p, size_t len);
/* Parses an octal ustar number field; -1 if malformed. */
int mbi_octal(const unsigned char *f, size_t len, uint64_t *out);
/* Calls fn for each record of pax data; -1 (with why) if malformed. */
typedef int (*mbi_rec_fn)(void *arg, const char *key, size_t klen,
			  const char *val, size_t vlen);
int mbi_pax_parse(const char *p, size_t len, mbi_rec_fn fn, void *arg,
		  const char **why);
/* Strict numbers for pax values and index fields (whole string). */
int mbi_parse_u64(const char *p, size_t len, uint64_t *out);
int mbi_parse_time(const char *p, size_t len, int64_t *sec, uint32_t *nsec);
int mbi_fmt_time(char *buf, size_t cap, int64_t sec, uint32_t nsec);

/* ---- text.c: the index and trailer text, rendered in pieces ---- */

typedef int (*mbi_out_fn)(void *arg, const void *p, size_t len, struct mb_error *e);
struct mbi_text {
	struct ibuf b;		/* rendered, not passed on yet (one piece) */
	struct mb_hash h;	/* of every byte passed on */
	uint64_t len;		/* bytes passed on */
	mbi_out_fn out;		/* NULL: only counted and hashed */
	void *arg;
};
void mbi_text_init(struct mbi_text *t, mbi_out_fn out, void *arg);
/* Renderers call it after each line: passes b on once it holds a piece. */
int mbi_text_step(struct mbi_text *t, struct mb_error *e);
/* Passes on what b holds. */
int mbi_text_flush(struct mbi_text *t, struct mb_error *e);
void mbi_text_free(struct mbi_text *t);
/* An out function appending to the struct ibuf arg (a whole text in memory). */
int mbi_text_to_ibuf(void *arg, const void *p, size_t len, struct mb_error *e);

/* ---- index.c: the index and trailer text ---- */

/* A line of the image's text (the index, the trailer, an increment's
 * manifest): fields separated by single spaces. */
#define MBI_MAX_FIELDS 14
struct mbi_fields {
	const char *f[MBI_MAX_FIELDS];
	size_t fl[MBI_MAX_FIELDS];
	int n;
};
/* Splits the line at *p (the text ends at end) into at most max fields
 * (max <= MBI_MAX_FIELDS) and moves *p past its newline: NULL, or why it
 * cannot ("unterminated line", "empty field", "too many fields"), *p
 * left at the line. */
const char *mbi_split_line(const char **p, const char *end, int max, struct mbi_fields *l);
/* Field i is s exactly. */
bool mbi_field_is(const struct mbi_fields *l, int i, const char *s);
/* A field mbi_escape wrote, unescaped into *out (malloc'ed); the field
 * "-" is NULL, "" or "-" itself as dash says.  -1 on a malformed escape,
 * a raw byte that must be escaped, an escaped NUL, or no memory. */
enum mbi_dash { MBI_DASH_NULL, MBI_DASH_EMPTY, MBI_DASH_ITSELF };
int mbi_unescape(const char *f, size_t len, enum mbi_dash dash, char **out);
/* The same for a link target field ("-" is none), stored in t. */
int mbi_unescape_link(const char *f, size_t len, struct mb_entry *t);

/* Percent-escapes bytes <= 0x20, '%' and 0x7f; NULL is rendered "-". */
int mbi_escape(struct ibuf *b, const char *s, struct mb_error *e);
/* A one-line rendering of a path for messages (escaped, malloc'ed). */
char *mbi_printable(const char *s);
/* Renders the whole index into t (flushed at the end). */
int mbi_index_render(const struct mb_image_layout *lay, struct mbi_text *t,
		     struct mb_error *e);
/* The whole index text into b, in memory (tests, seeds). */
int mbi_index_text(const struct mb_image_layout *lay, struct ibuf *b, struct mb_error *e);
int mbi_index_parse(const char *text, size_t len, struct mb_index *idx,
		    const char *name, struct mb_error *e);
void mbi_index_free(struct mb_index *idx);

/* One hash per file member in image order, and the index text's; NULL
 * hashes render as zeros (the layout sizes the trailer so).  Flushes t. */
int mbi_trailer_render(const struct mb_image_layout *lay, const char *index_hash,
		       const mb_hash_raw *hashes, struct mbi_text *t,
		       struct mb_error *e);
int mbi_trailer_parse(const char *text, size_t len, struct mb_trailer *t,
		      uint64_t at, const char *name, struct mb_error *e);
void mbi_trailer_free(struct mb_trailer *t);

/* ---- reader.c ---- */

/* After the trailer: the end blocks, the padding, then end of file (not
 * checked when followed: another image comes next on the medium). */
int mbi_check_end(struct mb_image_reader *r, bool followed, struct mb_error *e);
/* The name messages give the reader's image. */
const char *mbi_reader_name(const struct mb_image_reader *r);

/* Output writes from a thread, through a ring of buffers (flusher.c). */
struct mbi_flusher;
int mbi_flusher_start(struct mbi_flusher **out, const struct mb_image_output *to,
		      size_t cap, struct mb_error *e);
/* The buffer to fill next (cap bytes). */
unsigned char *mbi_flusher_buffer(struct mbi_flusher *f);
/* Hands the filled buffer (len bytes) to the thread and waits until the
 * next one, mbi_flusher_buffer(), is free.  Reports an earlier write's
 * failure. */
int mbi_flusher_submit(struct mbi_flusher *f, size_t len, struct mb_error *e);
/* Waits until everything submitted is written. */
int mbi_flusher_finish(struct mbi_flusher *f, struct mb_error *e);
void mbi_flusher_free(struct mbi_flusher *f);

#endif
