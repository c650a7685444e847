/*
 * The writer: streams a laid-out image to an output.  Bytes gather in
 * large buffers (a multiple of the record size) so every output write is
 * whole records, as tape needs; a thread writes the full buffers while
 * the next ones fill (flusher.c).  File data is hashed in that buffer
 * while it is still in cache: the extent reader preads straight into it
 * (mb_image_emit_space/commit); other producers' bytes are copied in.
 */
#include "image/internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* Each of the flusher's NBUF buffers: 1 MiB writes keep a file, a pipe
 * (grown to 1 MiB) or a disk at speed, and the ring is then 4 MiB of the
 * peak RSS instead of 16 (64 B a file at 200,000 files, bench/files.md). */
#define WBUF_TARGET (1u << 20)
#define HASH_PIECE (64u << 10)	/* copy then hash pieces this big */

struct wstate {
	const struct mb_image_output *to;	/* for its boundary hint */
	struct mbi_flusher *out;
	unsigned char *buf;	/* the flusher's buffer being filled */
	size_t cap, len;
	uint64_t pos;		/* image bytes produced (flushed + buffered) */
	/* the file member being written */
	const struct mb_entry *ent;
	struct mb_hash h;
	uint64_t emitted;
};

static int flush(struct wstate *w, struct mb_error *e)
{
	if (mbi_flusher_submit(w->out, w->len, e) < 0)
		return -1;
	w->buf = mbi_flusher_buffer(w->out);
	w->len = 0;
	return 0;
}

/* Appends bytes (or zeros when p is NULL); when hash, hashes the copy. */
static int put(struct wstate *w, const void *p, size_t len, bool hash,
	       struct mb_error *e)
{
	const unsigned char *src = p;

	while (len > 0) {
		size_t n = w->cap - w->len;

		if (n > len)
			n = len;
		if (hash && n > HASH_PIECE)
			n = HASH_PIECE;
		if (src) {
			memcpy(w->buf + w->len, src, n);
			src += n;
		} else {
			memset(w->buf + w->len, 0, n);
		}
		if (hash)
			mb_hash_update(&w->h, w->buf + w->len, n);
		w->len += n;
		w->pos += n;
		len -= n;
		if (w->len == w->cap && flush(w, e) < 0)
			return -1;
	}
	return 0;
}

static int put_zero(struct wstate *w, uint64_t n, struct mb_error *e)
{
	while (n > 0) {
		size_t k = n > SIZE_MAX / 2 ? SIZE_MAX / 2 : (size_t)n;

		if (put(w, NULL, k, false, e) < 0)
			return -1;
		n -= k;
	}
	return 0;
}

/* A producer gave more than the current file's segment. */
static int too_long(const struct wstate *w, struct mb_error *e)
{
	return mb_fail(e, MB_ERR_INTERNAL, 0, "data of '%s' is longer than "
		       "%" PRIu64 " bytes", w->ent->path, w->ent->seg_length);
}

int mb_image_emit(void *arg, const void *buf, size_t len, struct mb_error *e)
{
	struct wstate *w = arg;

	if (len > w->ent->seg_length - w->emitted)
		return too_long(w, e);
	w->emitted += len;
	return put(w, buf, len, true, e);
}

void *mb_image_emit_space(void *arg, size_t *room)
{
	struct wstate *w = arg;
	uint64_t due = w->ent->seg_length - w->emitted;

	*room = w->cap - w->len < due ? w->cap - w->len : (size_t)due;
	return w->buf + w->len;
}

/* The producer wrote len bytes at w->buf + w->len itself: hashed here,
 * while they are still in cache, with no copy. */
int mb_image_emit_commit(void *arg, size_t len, struct mb_error *e)
{
	struct wstate *w = arg;

	if (len > w->ent->seg_length - w->emitted || len > w->cap - w->len)
		return too_long(w, e);
	mb_hash_update(&w->h, w->buf + w->len, len);
	w->emitted += len;
	w->len += len;
	w->pos += len;
	if (w->len == w->cap)
		return flush(w, e);
	return 0;
}

bool mb_image_emit_file_hash(void *arg, const struct mb_entry *ent,
			     char hex[MB_HASH_HEX_LEN + 1])
{
	struct wstate *w = arg;

	if (w->ent != ent || ent->type != MB_T_FILE || ent->seg_offset != 0 ||
	    ent->seg_length != ent->size || w->emitted != (hex ? ent->size : 0))
		return false;
	if (hex)
		mb_hash_final_hex(&w->h, hex);	/* (a digest: the state goes on) */
	return true;
}

static int at_offset(const struct wstate *w, uint64_t want, const char *what,
		     struct mb_error *e)
{
	if (w->to->boundary)
		w->to->boundary(w->to->boundary_ctx, want);
	if (w->pos != want)
		return mb_fail(e, MB_ERR_INTERNAL, 0, "%s starts at offset %" PRIu64
			       " instead of %" PRIu64, what, w->pos, want);
	return 0;
}

static int write_file_data(struct wstate *w, const struct mb_entry *t,
			   mb_data_fn data, void *data_arg, mb_hash_raw *hash,
			   struct mb_error *e)
{
	w->ent = t;
	w->emitted = 0;
	mb_hash_init(&w->h);
	if (data(data_arg, t, mb_image_emit, w, e) < 0)
		return mb_fail(e, MB_ERR_IO, 0, "unable to read the data of '%s'", t->path);
	if (w->emitted != t->seg_length)
		return mb_fail(e, MB_ERR_INTERNAL, 0, "data of '%s' is %" PRIu64
			       " bytes instead of %" PRIu64, t->path, w->emitted,
			       t->seg_length);
	*hash = mb_hash_final_raw(&w->h);
	return put_zero(w, mbi_pad(t->seg_length) - t->seg_length, e);
}

static int write_members(struct wstate *w, const struct mb_image_layout *lay,
			 mb_data_fn data, void *data_arg,
			 mb_hash_raw *hashes, struct mb_error *e)
{
	struct ibuf hb = { 0 };
	size_t k = 0;
	int rc = -1;

	for (size_t i = 0; i < lay->n_entries; i++) {
		const struct mb_entry *t = lay->entries[i];

		hb.len = 0;
		if (at_offset(w, t->image_offset, "member", e) < 0) {
			mb_error_prefix(e, "'%s': ", t->path);
			goto out;
		}
		if (mbi_member_headers(t, &hb, e) < 0 || put(w, hb.p, hb.len, false, e) < 0)
			goto out;
		if (t->type == MB_T_FILE &&
		    write_file_data(w, t, data, data_arg, &hashes[k++], e) < 0)
			goto out;
	}
	rc = 0;
out:
	ibuf_free(&hb);
	return rc;
}

static int put_text(void *arg, const void *p, size_t len, struct mb_error *e)
{
	return put(arg, p, len, false, e);
}

/* A 'g' member whose text is rendered in pieces straight into the image
 * (the index or the trailer: index_hash NULL), len bytes as laid out;
 * the text's hash goes to hash. */
static int write_text_member(struct wstate *w, const struct mb_image_layout *lay,
			     const char *index_hash, mb_hash_raw *hashes,
			     char hash[MB_HASH_HEX_LEN + 1], struct mb_error *e)
{
	bool index = index_hash == NULL;
	const char *key = index ? MBI_INDEX_KEY : MBI_TRAILER_KEY;
	size_t len = index ? lay->index_len : lay->trailer_len;
	uint64_t start = w->pos;
	struct ibuf b = { 0 };
	struct mbi_text t;
	int rc = -1;

	mbi_text_init(&t, put_text, w);
	if (mbi_global_head(&b, index ? MBI_INDEX_NAME : MBI_TRAILER_NAME, key, len,
			    lay->meta.created, e) < 0 || put(w, b.p, b.len, false, e) < 0 ||
	    (index ? mbi_index_render(lay, &t, e)
		   : mbi_trailer_render(lay, index_hash, hashes, &t, e)) < 0)
		goto out;
	if (t.len != len) {
		mb_fail(e, MB_ERR_INTERNAL, 0, "the %s's text is %" PRIu64 " bytes instead of "
			"%zu", index ? "index" : "trailer", t.len, len);
		goto out;
	}
	if (put(w, "\n", 1, false, e) < 0 ||
	    put_zero(w, start + mbi_global_member_len(key, len) - w->pos, e) < 0)
		goto out;
	mb_hash_final_hex(&t.h, hash);
	rc = 0;
out:
	mbi_text_free(&t);
	ibuf_free(&b);
	return rc;
}

/* Index member, members, trailer, end blocks, padding to a record. */
static int write_image(struct wstate *w, const struct mb_image_layout *lay,
		       mb_data_fn data, void *data_arg,
		       mb_hash_raw *hashes, struct mb_error *e)
{
	char ih[MB_HASH_HEX_LEN + 1], th[MB_HASH_HEX_LEN + 1];

	if (write_text_member(w, lay, NULL, NULL, ih, e) < 0 ||
	    at_offset(w, lay->data_offset, "the first member", e) < 0 ||
	    write_members(w, lay, data, data_arg, hashes, e) < 0 ||
	    at_offset(w, lay->trailer_offset, "the trailer", e) < 0 ||
	    write_text_member(w, lay, ih, hashes, th, e) < 0)
		return -1;
	if (w->pos + 2 * MB_IMAGE_BLOCK > lay->image_size ||
	    lay->image_size - w->pos - 2 * MB_IMAGE_BLOCK >= lay->meta.record_size)
		return mb_fail(e, MB_ERR_INTERNAL, 0, "trailer ends at offset %" PRIu64
			       ", which does not fit image size %" PRIu64, w->pos,
			       lay->image_size);
	if (put_zero(w, lay->image_size - w->pos, e) < 0 || flush(w, e) < 0 ||
	    mbi_flusher_finish(w->out, e) < 0)
		return -1;
	return 0;
}

int mb_image_write(const struct mb_image_output *to, const struct mb_image_layout *lay,
		   mb_data_fn data, void *data_arg, struct mb_image_stats *st,
		   struct mb_error *e)
{
	struct wstate w = { 0 };
	mb_hash_raw *hashes = NULL;
	uint32_t rs = lay->meta.record_size;
	int rc = -1;

	if (!lay->image_size || rs == 0 || rs % MB_IMAGE_BLOCK)
		return mb_fail(e, MB_ERR_INTERNAL, 0, "image written without a layout");
	w.to = to;
	w.cap = rs >= WBUF_TARGET ? rs : WBUF_TARGET / rs * rs;
	if (mbi_flusher_start(&w.out, to, w.cap, e) < 0)
		goto out;
	w.buf = mbi_flusher_buffer(w.out);
	hashes = calloc(lay->n_entries + 1, sizeof(*hashes));
	if (!hashes) {
		mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to allocate the checksums");
		goto out;
	}
	if (write_image(&w, lay, data, data_arg, hashes, e) < 0)
		goto out;
	if (st) {
		memset(st, 0, sizeof(*st));
		st->bytes = w.pos;
		st->members = lay->n_entries;
		for (size_t i = 0; i < lay->n_entries; i++)
			st->file_bytes += mbi_member_data_len(lay->entries[i]);
	}
	rc = 0;
out:
	mbi_flusher_free(w.out);
	free(hashes);
	return rc;
}
