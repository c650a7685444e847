/*
 * The reader: the index member, then members in order (or one reached by
 * seeking the input), then the trailer.  Every length read from the image is bounded;
 * every header is checked against its checksum and against the index.
 * Reads are exact after open and after a seek (so the byte count shows
 * what a single-file restore really read) and read ahead in large chunks
 * once the caller walks on sequentially.
 */
#include "image/internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RBUF_SIZE (1u << 20)
#define META_STEP (64u << 20)	/* grow index buffers as data arrives */

struct mb_image_reader {
	struct mb_image_input in;	/* borrowed; in.seek NULL: in order only */
	char *name;
	struct mb_index idx;
	unsigned char *buf;
	size_t head, tail;	/* buffered bytes [head, tail) */
	uint64_t pos;		/* image offset of the next byte consumed */
	uint64_t bytes_read;
	bool exact;		/* read only what is asked for */
	size_t next_i;		/* member expected next; idx.n: the trailer */
	size_t ctx;		/* what is being read, for messages */
	bool in_member, at_end;
	uint64_t data_left, pad_left, member_off;
	struct mb_hash h;
	bool hash_ok;		/* all data of the member went through read */
	char hash[MB_HASH_HEX_LEN + 1];
	struct mb_trailer trailer;
	bool have_trailer;
};

#define CTX_INDEX SIZE_MAX

/* "'dir/file'", "the index", "the trailer" ... (static storage). */
static const char *where(const struct mb_image_reader *r)
{
	static __thread char buf[1100];
	char *p;

	if (r->ctx == CTX_INDEX)
		return "the index";
	if (r->ctx == r->idx.n)
		return "the trailer";
	if (r->ctx > r->idx.n)
		return "the end-of-archive blocks";
	p = mbi_printable(r->idx.v[r->ctx].ent.path);
	snprintf(buf, sizeof(buf), "'%s'", p ? p : "?");
	free(p);
	return buf;
}

static int truncated(struct mb_image_reader *r, struct mb_error *e)
{
	return mb_fail(e, MB_ERR_TRUNCATED, 0, "image '%s' is truncated at offset "
		       "%" PRIu64 " (inside %s)", r->name, r->pos, where(r)),
	       mb_hint(e, "a copy or a write that did not finish: use another copy of the image"), -1;
}

/* One read of the input into dst, at most n bytes; 0 at the end. */
static ssize_t raw_read(struct mb_image_reader *r, void *dst, size_t n,
			struct mb_error *e)
{
	ssize_t got = r->in.read(r->in.ctx, dst, n, e);

	if (got > 0)
		r->bytes_read += (uint64_t)got;
	return got;
}

/* Consumes exactly n bytes into dst (or drops them when dst is NULL). */
static int rd_get(struct mb_image_reader *r, void *dst, size_t n,
		  struct mb_error *e)
{
	unsigned char *d = dst;

	while (n > 0) {
		size_t have = r->tail - r->head, k = have < n ? have : n;
		ssize_t got;

		if (k) {
			if (d)
				memcpy(d, r->buf + r->head, k), d += k;
			r->head += k;
			r->pos += k;
			n -= k;
			continue;
		}
		r->head = r->tail = 0;
		if (d && (r->exact || n >= RBUF_SIZE)) {
			got = raw_read(r, d, n, e);
			if (got > 0)
				d += got, n -= (size_t)got, r->pos += (uint64_t)got;
		} else {
			got = raw_read(r, r->buf, r->exact && n < RBUF_SIZE ? n : RBUF_SIZE, e);
			if (got > 0)
				r->tail = (size_t)got;
		}
		if (got < 0)
			return -1;
		if (got == 0)
			return truncated(r, e);
	}
	return 0;
}

/* Skips n bytes: by seeking when large and the input allows it. */
static int rd_skip(struct mb_image_reader *r, uint64_t n, struct mb_error *e)
{
	uint64_t have = r->tail - r->head;

	if (r->in.seek && n > RBUF_SIZE) {
		r->head = r->tail = 0;
		r->pos += have;
		n -= have;
		if (r->in.seek(r->in.ctx, r->pos + n, e) < 0)
			return -1;
		r->pos += n;
		return 0;
	}
	while (n > 0) {
		size_t k = n > RBUF_SIZE ? RBUF_SIZE : (size_t)n;

		if (rd_get(r, NULL, k, e) < 0)
			return -1;
		n -= k;
	}
	return 0;
}

/* Reads len bytes of index/trailer text, growing the buffer only as data
 * arrives, so a lying size on a short stream fails as truncated. */
static int read_text(struct mb_image_reader *r, uint64_t len, char **out,
		     struct mb_error *e)
{
	char *p = NULL, *np;
	uint64_t done = 0;

	*out = NULL;
	if (len > MBI_MAX_META_LEN)
		return mb_fail(e, MB_ERR_CORRUPT, 0, "%s of image '%s' claims %" PRIu64
			       " bytes, more than the limit", where(r), r->name, len);
	while (done < len) {
		size_t k = len - done > META_STEP ? META_STEP : (size_t)(len - done);

		np = realloc(p, (size_t)done + k + 1);
		if (!np) {
			free(p);
			return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to read %s of '%s'",
				       where(r), r->name);
		}
		p = np;
		if (rd_get(r, p + done, k, e) < 0) {
			free(p);
			return -1;
		}
		done += k;
	}
	if (!p && !(p = malloc(1)))
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to read '%s'", r->name);
	p[len] = 0;
	*out = p;
	return 0;
}

static const unsigned char *u_field(const unsigned char *blk, size_t off)
{
	return blk + off;
}

/* A header block: checksum, magic, and its data size. */
static int read_block(struct mb_image_reader *r, unsigned char blk[MB_IMAGE_BLOCK],
		      uint64_t *size, struct mb_error *e)
{
	uint64_t at = r->pos;

	if (rd_get(r, blk, MB_IMAGE_BLOCK, e) < 0)
		return -1;
	if (!mbi_checksum_ok(blk))
		return mb_fail(e, MB_ERR_CORRUPT, 0, "header checksum mismatch at offset "
			       "%" PRIu64 " (member of %s) in image '%s'", at, where(r), r->name);
	if (memcmp(u_field(blk, 257), "ustar\0" "00", 8) != 0 ||
	    mbi_octal(u_field(blk, 124), 12, size) < 0)
		return mb_fail(e, MB_ERR_CORRUPT, 0, "malformed header at offset %" PRIu64
			       " (member of %s) in image '%s'", at, where(r), r->name);
	return 0;
}

struct one_rec {
	const char *key;
	const char *val;
	size_t vlen;
	int count;
};

static int one_rec_fn(void *arg, const char *key, size_t klen, const char *val,
		      size_t vlen)
{
	struct one_rec *o = arg;

	o->count++;
	if (klen != strlen(o->key) || memcmp(key, o->key, klen) != 0)
		return -1;
	o->val = val;
	o->vlen = vlen;
	return 0;
}

/* A header's data of size bytes (malloc'ed into *raw) and its padding. */
static int read_padded(struct mb_image_reader *r, uint64_t size, char **raw,
		       struct mb_error *e)
{
	if (read_text(r, size, raw, e) < 0)
		return -1;
	return rd_skip(r, mbi_pad(size) - size, e);
}

/* A 'g' member holding one record "key=text"; *text is malloc'ed and
 * *text_at is the image offset of its first byte. */
static int read_global(struct mb_image_reader *r, const char *name,
		       const char *key, char **text, size_t *tlen,
		       uint64_t *text_at, struct mb_error *e)
{
	unsigned char blk[MB_IMAGE_BLOCK];
	struct one_rec o = { .key = key };
	uint64_t at = r->pos, size;
	const char *why = NULL;
	char *raw = NULL;
	int rc = -1;

	if (read_block(r, blk, &size, e) < 0)
		goto out;
	if (blk[156] != 'g' || strncmp((char *)blk, name, 100) != 0) {
		mb_fail(e, MB_ERR_CORRUPT, 0, "no %s member at offset %" PRIu64
			" in image '%s'", where(r), at, r->name);
		goto out;
	}
	if (read_padded(r, size, &raw, e) < 0)
		goto out;
	if (mbi_pax_parse(raw, (size_t)size, one_rec_fn, &o, &why) < 0 || o.count != 1) {
		mb_fail(e, MB_ERR_CORRUPT, 0, "malformed %s member at offset %" PRIu64
			" in image '%s': %s", where(r), at, r->name, why ? why : "no record");
		goto out;
	}
	*tlen = o.vlen;
	*text_at = at + MB_IMAGE_BLOCK + (uint64_t)(o.val - raw);
	memmove(raw, o.val, o.vlen);
	raw[o.vlen] = 0;
	*text = raw;
	raw = NULL;
	rc = 0;
out:
	free(raw);
	return rc;
}

int mb_image_open(struct mb_image_reader **out, const struct mb_image_input *in,
		  struct mb_error *e)
{
	struct mb_image_reader *r = calloc(1, sizeof(*r));
	const char *name = in->name;
	char *text = NULL;
	size_t tlen;
	uint64_t at;

	*out = NULL;
	if (!r || !(r->name = strdup(name)) || !(r->buf = malloc(RBUF_SIZE))) {
		mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to open image '%s'", name);
		goto fail;
	}
	r->in = *in;
	r->exact = true;
	r->ctx = CTX_INDEX;
	if (read_global(r, MBI_INDEX_NAME, MBI_INDEX_KEY, &text, &tlen, &at, e) < 0) {
		if (e->code == MB_ERR_CORRUPT) {
			mb_error_clear(e);
			mb_fail(e, MB_ERR_CORRUPT, 0, "'%s' is not an mbackup image "
				"(no valid index member at its start)", name);
			mb_hint(e, "a plain tar archive can be listed with tar -tvf");
		}
		goto fail;
	}
	if (mbi_index_parse(text, tlen, &r->idx, name, e) < 0)
		goto fail;
	if (r->idx.data_offset != r->pos) {
		mb_fail(e, MB_ERR_CORRUPT, 0, "index of image '%s' ends at offset %" PRIu64
			" but says data starts at %" PRIu64, name, r->pos, r->idx.data_offset);
		goto fail;
	}
	free(text);
	*out = r;
	return 0;
fail:
	free(text);
	mb_image_close(r);
	return -1;
}

void mb_image_close(struct mb_image_reader *r)
{
	if (!r)
		return;
	mbi_index_free(&r->idx);
	mbi_trailer_free(&r->trailer);
	free(r->buf);
	free(r->name);
	free(r);
}

const char *mbi_reader_name(const struct mb_image_reader *r)
{
	return r->name;
}

const struct mb_index *mb_image_index(const struct mb_image_reader *r)
{
	return &r->idx;
}

uint64_t mb_image_bytes_read(const struct mb_image_reader *r)
{
	return r->bytes_read;
}

const char *mb_image_data_hash(const struct mb_image_reader *r)
{
	return r->in_member && r->hash_ok && r->data_left == 0 ? r->hash : NULL;
}

void mb_member_free(struct mb_member *m)
{
	free(m->path);
	free(m->link_target);
	memset(m, 0, sizeof(*m));
}

/* ---- members ---- */

struct member_recs {
	struct mb_member *m;
	bool have_path, have_mtime, have_size, have_uid, have_gid;
	int seg_fields;
};

static int dup_value(char **dst, const char *val, size_t vlen)
{
	if (*dst || vlen == 0 || memchr(val, 0, vlen))
		return -1;
	*dst = strndup(val, vlen);
	return *dst ? 0 : -1;
}

static int u32_value(uint32_t *dst, const char *val, size_t vlen)
{
	uint64_t v;

	if (mbi_parse_u64(val, vlen, &v) < 0 || v > UINT32_MAX)
		return -1;
	*dst = (uint32_t)v;
	return 0;
}

static bool key_is(const char *key, size_t klen, const char *want)
{
	return klen == strlen(want) && memcmp(key, want, klen) == 0;
}

/* Records of an 'x' header; unknown keys are ignored (forward compatible). */
static int member_rec_fn(void *arg, const char *key, size_t klen,
			 const char *val, size_t vlen)
{
	struct member_recs *mr = arg;
	struct mb_member *m = mr->m;

	if (key_is(key, klen, "path"))
		return mr->have_path = true, dup_value(&m->path, val, vlen);
	if (key_is(key, klen, "linkpath"))
		return dup_value(&m->link_target, val, vlen);
	if (key_is(key, klen, "mtime"))
		return mr->have_mtime = true,
		       mbi_parse_time(val, vlen, &m->mtime_sec, &m->mtime_nsec);
	if (key_is(key, klen, "size"))
		return mr->have_size = true, mbi_parse_u64(val, vlen, &m->size);
	if (key_is(key, klen, "uid"))
		return mr->have_uid = true, u32_value(&m->uid, val, vlen);
	if (key_is(key, klen, "gid"))
		return mr->have_gid = true, u32_value(&m->gid, val, vlen);
	if (key_is(key, klen, "comment")) {
		int seg = mbi_seg_comment_parse(val, vlen, &m->seg_offset,
						&m->seg_length, &m->file_size);

		return seg < 0 ? -1 : (mr->seg_fields += 3 * seg, 0);
	}
	if (key_is(key, klen, "MBACKUP.seg.offset"))
		return mr->seg_fields++, mbi_parse_u64(val, vlen, &m->seg_offset);
	if (key_is(key, klen, "MBACKUP.seg.length"))
		return mr->seg_fields++, mbi_parse_u64(val, vlen, &m->seg_length);
	if (key_is(key, klen, "MBACKUP.file.size"))
		return mr->seg_fields++, mbi_parse_u64(val, vlen, &m->file_size);
	return 0;
}

static int header_error(struct mb_image_reader *r, uint64_t at, const char *why,
			struct mb_error *e)
{
	return mb_fail(e, MB_ERR_CORRUPT, 0, "%s at offset %" PRIu64 " (member of %s)"
		       " in image '%s'", why, at, where(r), r->name);
}

/* The 'x' header and its records. */
static int read_pax(struct mb_image_reader *r, struct member_recs *mr,
		    struct mb_error *e)
{
	unsigned char blk[MB_IMAGE_BLOCK];
	uint64_t at = r->pos, size;
	const char *why = NULL;
	char *raw = NULL;
	int rc = -1;

	if (read_block(r, blk, &size, e) < 0)
		goto out;
	if (blk[156] != 'x' || size > MBI_MAX_PAX_LEN) {
		header_error(r, at, "no pax extended header", e);
		goto out;
	}
	if (read_padded(r, size, &raw, e) < 0)
		goto out;
	if (mbi_pax_parse(raw, (size_t)size, member_rec_fn, mr, &why) < 0 ||
	    !mr->have_path || !mr->have_mtime) {
		header_error(r, at, "malformed pax extended header", e);
		goto out;
	}
	rc = 0;
out:
	free(raw);
	return rc;
}

/* The ustar header; pax records override its fields. */
static int read_ustar(struct mb_image_reader *r, struct member_recs *mr,
		      struct mb_error *e)
{
	unsigned char blk[MB_IMAGE_BLOCK];
	struct mb_member *m = mr->m;
	uint64_t at = r->pos, size, mode, uid, gid;

	if (read_block(r, blk, &size, e) < 0)
		return -1;
	if (mbi_octal(blk + 100, 8, &mode) < 0 || mbi_octal(blk + 108, 8, &uid) < 0 ||
	    mbi_octal(blk + 116, 8, &gid) < 0)
		return header_error(r, at, "malformed header", e);
	m->typeflag = (char)blk[156];
	m->mode = (uint32_t)mode;
	if (!mr->have_size)
		m->size = size;
	if (!mr->have_uid)
		m->uid = (uint32_t)uid;
	if (!mr->have_gid)
		m->gid = (uint32_t)gid;
	m->data_offset = r->pos;
	return 0;
}

static int mismatch(struct mb_image_reader *r, const struct mb_member *m,
		    const char *what, struct mb_error *e)
{
	return mb_fail(e, MB_ERR_CORRUPT, 0, "member at offset %" PRIu64 " does not "
		       "match the index entry %s (%s differs) in image '%s'",
		       m->offset, where(r), what, r->name);
}

/* Every field of the member against its index entry. */
static int check_member(struct mb_image_reader *r, const struct mb_entry *t,
			struct member_recs *mr, struct mb_error *e)
{
	struct mb_member *m = mr->m;
	char *want = mbi_member_path(t);
	bool seg = mbi_is_segment(t), same;

	same = want && strcmp(want, m->path) == 0;
	free(want);
	if (!same)
		return mismatch(r, m, "path", e);
	if (t->type == MB_T_DIR)
		m->path[strlen(m->path) - 1] = 0;
	if (m->typeflag != mbi_typeflag(t->type))
		return mismatch(r, m, "type", e);
	if (m->size != mbi_member_data_len(t))
		return mismatch(r, m, "size", e);
	if ((m->mode & 07777) != (t->mode & 07777) || m->uid != t->uid || m->gid != t->gid)
		return mismatch(r, m, "owner or mode", e);
	if (m->mtime_sec != t->mtime_sec || m->mtime_nsec != t->mtime_nsec)
		return mismatch(r, m, "mtime", e);
	if (!!m->link_target != !!mb_entry_link(t) ||
	    (mb_entry_link(t) && strcmp(m->link_target, mb_entry_link(t)) != 0))
		return mismatch(r, m, "link target", e);
	if (mr->seg_fields != (seg ? 3 : 0) ||
	    (seg && (m->seg_offset != t->seg_offset || m->seg_length != t->seg_length ||
		     m->file_size != t->size)))
		return mismatch(r, m, "segment", e);
	if (!seg) {
		m->seg_length = m->size;
		m->file_size = m->size;
	}
	return 0;
}

/* Drops the rest of the current member, checking its padding is zero. */
static int finish_member(struct mb_image_reader *r, struct mb_error *e)
{
	unsigned char pad[MB_IMAGE_BLOCK];

	if (rd_skip(r, r->data_left, e) < 0)
		return -1;
	r->data_left = 0;
	if (rd_get(r, pad, (size_t)r->pad_left, e) < 0)
		return -1;
	if (!mbi_is_zero(pad, (size_t)r->pad_left))
		return mb_fail(e, MB_ERR_CORRUPT, 0, "non-zero padding after the data of "
			       "%s (member at offset %" PRIu64 ") in image '%s'", where(r),
			       r->member_off, r->name);
	r->in_member = false;
	return 0;
}

static int read_trailer(struct mb_image_reader *r, struct mb_error *e);

int mb_image_next(struct mb_image_reader *r, struct mb_member *m,
		  struct mb_error *e)
{
	struct member_recs mr = { .m = m };
	const struct mb_entry *t;

	memset(m, 0, sizeof(*m));
	if (r->at_end)
		return 0;
	if (r->in_member) {
		r->exact = false;	/* walking on: read ahead from now on */
		if (finish_member(r, e) < 0)
			return -1;
	}
	if (r->next_i == r->idx.n)
		return read_trailer(r, e) < 0 ? -1 : 0;
	r->ctx = r->next_i;
	t = &r->idx.v[r->next_i].ent;
	m->offset = r->pos;
	if (r->pos != t->image_offset)
		return mb_fail(e, MB_ERR_CORRUPT, 0, "member %s expected at offset %" PRIu64
			       " but the image is at %" PRIu64, where(r), t->image_offset, r->pos);
	if (read_pax(r, &mr, e) < 0 || read_ustar(r, &mr, e) < 0 ||
	    check_member(r, t, &mr, e) < 0) {
		mb_member_free(m);
		return -1;
	}
	r->next_i++;
	r->in_member = true;
	r->member_off = m->offset;
	r->data_left = m->size;
	r->pad_left = mbi_pad(m->size) - m->size;
	r->hash_ok = true;
	mb_hash_init(&r->h);
	if (m->size == 0)
		mb_hash_final_hex(&r->h, r->hash);
	return 1;
}

ssize_t mb_image_read(struct mb_image_reader *r, void *buf, size_t len,
		      struct mb_error *e)
{
	size_t n;

	if (!r->in_member || r->data_left == 0)
		return 0;
	n = len < r->data_left ? len : (size_t)r->data_left;
	if (n > SSIZE_MAX)
		n = SSIZE_MAX;
	if (rd_get(r, buf, n, e) < 0)
		return -1;
	mb_hash_update(&r->h, buf, n);
	r->data_left -= n;
	if (r->data_left == 0)
		mb_hash_final_hex(&r->h, r->hash);
	return (ssize_t)n;
}

static int seek_to(struct mb_image_reader *r, uint64_t off, struct mb_error *e)
{
	if (r->in.seek) {
		if (r->in.seek(r->in.ctx, off, e) < 0)
			return -1;
	} else {
		mb_fail(e, MB_ERR_MEDIA, ESPIPE,
			"unable to seek in image '%s'", r->name);
		mb_hint(e, "single-file access needs a seekable image (a file); "
			"a pipe or tape image can only be read in order");
		return -1;
	}
	r->head = r->tail = 0;
	r->pos = off;
	r->exact = true;
	r->in_member = r->at_end = false;
	r->data_left = r->pad_left = 0;
	return 0;
}

int mb_image_seek(struct mb_image_reader *r, size_t i, struct mb_error *e)
{
	if (i >= r->idx.n)
		return mb_fail(e, MB_ERR_INTERNAL, 0, "entry %zu is not in image '%s' "
			       "(%zu entries)", i, r->name, r->idx.n);
	if (seek_to(r, r->idx.v[i].ent.image_offset, e) < 0)
		return -1;
	r->next_i = i;
	return 0;
}

/* The trailer must agree with the index: id, index hash, file members. */
static int check_trailer(struct mb_image_reader *r, struct mb_error *e)
{
	const struct mb_trailer *t = &r->trailer;
	size_t k = 0;

	if (strcmp(t->backup_id, r->idx.meta.backup_id) != 0)
		return mb_fail(e, MB_ERR_CORRUPT, 0, "trailer of image '%s' belongs to "
			       "backup '%s', the index to '%s'", r->name, t->backup_id,
			       r->idx.meta.backup_id);
	if (strcmp(t->index_hash, r->idx.index_hash) != 0)
		return mb_fail(e, MB_ERR_CORRUPT, 0, "index checksum mismatch in image "
			       "'%s' (index at offset 0)", r->name);
	for (size_t i = 0; i < r->idx.n; i++) {
		if (r->idx.v[i].ent.type != MB_T_FILE)
			continue;
		if (k >= t->n || t->v[k].offset != r->idx.v[i].ent.image_offset)
			break;
		k++;
	}
	if (k != t->n || k != r->trailer.n)
		return mb_fail(e, MB_ERR_CORRUPT, 0, "trailer of image '%s' does not list "
			       "the file members of its index", r->name);
	return 0;
}

static int read_trailer(struct mb_image_reader *r, struct mb_error *e)
{
	char *text = NULL;
	size_t len;
	uint64_t at;
	int rc = -1;

	r->ctx = r->idx.n;
	if (r->pos != r->idx.trailer_offset) {
		mb_fail(e, MB_ERR_CORRUPT, 0, "trailer of image '%s' expected at offset "
			"%" PRIu64 " but the image is at %" PRIu64, r->name,
			r->idx.trailer_offset, r->pos);
		goto out;
	}
	mbi_trailer_free(&r->trailer);
	r->have_trailer = false;
	if (read_global(r, MBI_TRAILER_NAME, MBI_TRAILER_KEY, &text, &len, &at, e) < 0 ||
	    mbi_trailer_parse(text, len, &r->trailer, at, r->name, e) < 0 ||
	    check_trailer(r, e) < 0)
		goto out;
	r->have_trailer = true;
	r->at_end = true;
	r->ctx = r->idx.n + 1;
	rc = 0;
out:
	free(text);
	return rc;
}

const struct mb_trailer *mb_image_trailer(struct mb_image_reader *r,
					  struct mb_error *e)
{
	if (r->have_trailer)
		return &r->trailer;
	if (seek_to(r, r->idx.trailer_offset, e) < 0 || read_trailer(r, e) < 0)
		return NULL;
	return &r->trailer;
}

/* After the trailer: two zero blocks and zero padding to the image size,
 * then nothing (unless followed: another image comes next on the medium).
 * Used by verify. */
int mbi_check_end(struct mb_image_reader *r, bool followed, struct mb_error *e)
{
	unsigned char blk[MB_IMAGE_BLOCK];
	ssize_t got;

	r->ctx = r->idx.n + 1;
	while (r->pos < r->idx.image_size) {
		uint64_t at = r->pos;

		if (rd_get(r, blk, MB_IMAGE_BLOCK, e) < 0)
			return -1;
		if (!mbi_is_zero(blk, MB_IMAGE_BLOCK))
			return mb_fail(e, MB_ERR_CORRUPT, 0, "non-zero block at offset %" PRIu64
				       " after the trailer of image '%s'", at, r->name);
	}
	if (followed)
		return 0;
	got = r->tail > r->head ? 1 : raw_read(r, blk, 1, e);
	if (got < 0)
		return -1;
	if (got > 0)
		return mb_fail(e, MB_ERR_CORRUPT, 0, "image '%s' goes on after its end at "
			       "offset %" PRIu64, r->name, r->idx.image_size);
	return 0;
}

const char *mb_trailer_hash_at(const struct mb_trailer *t, uint64_t off)
{
	size_t lo = 0, hi = t ? t->n : 0;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (t->v[mid].offset == off)
			return t->v[mid].hash;
		if (t->v[mid].offset < off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}
