/*
 * The zstd filter (reading).  mb_media_open_read looks at an image's
 * first bytes; one that starts with a zstd frame (or a skippable one) is
 * read through this filter, which takes the driver's place in the
 * struct mb_media_in (the driver's state moves to z->lower) and hands
 * the image reader the decompressed image.
 *
 * On a file or an object whose end holds seek tables (one per image: a
 * device's rescue images follow its first), the reader seeks: a read decompresses
 * the one frame holding its bytes (kept until the next), so a single
 * file costs the frames it lies in.  Elsewhere (a pipe, standard input,
 * a file without a table) the frames are decompressed in order.
 */
#include "plugins/media/drivers.h"
#include "plugins/media/zstd_seek.h"
#include "plugins/media/zstd_walk.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#define XXH_INLINE_ALL
#include <xxhash.h>
#include <zstd.h>

#include "common/log.h"

#define MAX_FRAME_READ (256u << 20)	/* a larger frame is refused, not allocated */
#define SEQ_IN (128u << 10)

struct zstream {
	uint64_t start;		/* lower offset of its first frame */
	struct mbz_table t;
};

struct zimg;
struct zrd {
	struct mb_media_in lower;	/* the driver's medium, as it opened it */
	bool seekable, compressed;
	struct zstream *s;		/* seekable: every stream, in order */
	size_t n_s;
	ZSTD_DCtx *dctx;
	unsigned char *cbuf;		/* one compressed frame */
	size_t cbuf_cap;
	uint64_t c_read, frames_read, c_size;
	struct zimg *img;		/* the newest image's input, then older ones */
	unsigned char peek[4];		/* the first bytes, read before we knew */
	size_t peek_len;
	bool cut_mid;			/* walked: the file ends inside a frame of
					 * its last stream (zstd_walk.h) */
};

struct zimg {
	struct zrd *z;
	struct zimg *prev;
	struct mb_image_input lin;	/* in order: the lower input of this image */
	const char *lname;		/* and the lower medium's name then */
	char *label;
	size_t stream;
	uint64_t pos;			/* image offset of the next byte */
	size_t cur;			/* the frame in buf (SIZE_MAX: none) */
	size_t bad;			/* a frame found damaged (SIZE_MAX: none) */
	struct mb_error bad_err;	/* and why, given again without a re-read */
	unsigned char *buf;
	size_t cap;
	/* in order: */
	ZSTD_DStream *ds;
	unsigned char *in;
	ZSTD_inBuffer ib;
	uint64_t frame_at;		/* image offset where the frame being read began */
	uint64_t frame_c;		/* and its compressed byte */
	bool mid;			/* inside a frame */
	bool eof;
};

static bool is_zstd(const unsigned char p[4])
{
	uint32_t v = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
		     (uint32_t)p[3] << 24;

	return v == MBZ_FRAME_MAGIC || (v & 0xfffffff0u) == 0x184D2A50u;
}

/* All of len at lower offset off, or fails (truncated: the file is shorter). */
static int lower_pread(struct zrd *z, uint64_t off, void *buf, size_t len, const char *what,
		       struct mb_error *e)
{
	const struct mb_image_input *in = &z->lower.in;
	unsigned char *p = buf;

	if (in->seek(in->ctx, off, e) < 0)
		return -1;
	while (len > 0) {
		ssize_t n = in->read(in->ctx, p, len, e);

		if (n < 0)
			return -1;
		if (n == 0)
			return mb_fail(e, MB_ERR_TRUNCATED, 0, "compressed image '%s' is truncated at "
				       "byte %" PRIu64 " (inside %s)", z->lower.name, off, what);
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
		z->c_read += (uint64_t)n;
	}
	return 0;
}

static int bad_table(struct zrd *z, uint64_t at, const char *why, struct mb_error *e)
{
	return mb_fail(e, MB_ERR_CORRUPT, 0, "damaged seek table in compressed image '%s' "
		       "(ending at byte %" PRIu64 "): %s", z->lower.name, at, why);
}

/* The stream whose seek table ends at lower offset end: its table and
 * where its first frame starts. */
static int load_stream(struct zrd *z, uint64_t end, struct zstream *st, struct mb_error *e)
{
	unsigned char foot[MBZ_FOOTER], *tab = NULL;
	const char *why;
	uint32_t n;
	size_t len;
	int rc = -1;

	if (end < MBZ_SKIP_HEAD + MBZ_FOOTER)
		return bad_table(z, end, "the seek table is too short", e);
	if (lower_pread(z, end - MBZ_FOOTER, foot, sizeof(foot), "the seek table", e) < 0)
		return -1;
	if (mbz_footer_parse(foot, &n, &len, &why) < 0)
		return bad_table(z, end, why, e);
	if (len > end)
		return bad_table(z, end, "the seek table is longer than the image", e);
	if (!(tab = malloc(len)))
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to read '%s'", z->lower.name);
	if (lower_pread(z, end - len, tab, len, "the seek table", e) < 0)
		goto out;
	if (mbz_table_parse(tab, len, &st->t, &why) < 0) {
		bad_table(z, end, why, e);
		goto out;
	}
	if (st->t.c_off[st->t.n] > end - len) {
		bad_table(z, end, "its frames would start before the image", e);
		goto out;
	}
	st->start = end - len - st->t.c_off[st->t.n];
	rc = 0;
out:
	free(tab);
	return rc;
}

/* The walk's reads (of headers): not the image's compressed bytes read. */
static int walk_read(void *ctx, uint64_t off, void *buf, size_t len, size_t *got,
		     struct mb_error *e)
{
	const struct mb_image_input *in = &((struct zrd *)ctx)->lower.in;

	*got = 0;
	if (in->seek(in->ctx, off, e) < 0)
		return -1;
	while (*got < len) {
		ssize_t n = in->read(in->ctx, (unsigned char *)buf + *got, len - *got, e);

		if (n < 0)
			return -1;
		if (n == 0)
			break;
		*got += (size_t)n;
	}
	return 0;
}

/* A file that does not end in a seek table (cut short; a tape's image
 * copied with what followed it): every stream's table from its frames
 * walked from its start, the stream it ends inside with its whole frames
 * only, so it seeks and the image's index tells what is missing.  A file
 * the walk does not read as frames is read in order, as before. */
static int walk_streams(struct zrd *z, uint64_t size, struct mb_error *e)
{
	struct mbz_walk w;
	const struct mbz_table *t;

	if (z->lower.fd < 0 || z->lower.images != MB_IMAGES_BYTES)
		return 0;
	if (mbz_walk(walk_read, z, size, &w, e) < 0)
		return -1;
	if (!w.n)
		return 0;
	if (!(z->s = calloc(w.n, sizeof(*z->s)))) {
		mbz_walk_free(&w);
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to read '%s'", z->lower.name);
	}
	for (size_t i = 0; i < w.n; i++)
		z->s[i] = (struct zstream){ w.v[i].start, w.v[i].t };
	z->n_s = w.n;
	z->seekable = true;
	z->cut_mid = w.cut;
	t = &z->s[w.n - 1].t;
	if (!w.v[w.n - 1].table)
		mb_warn("zstd: '%s' does not end in a seek table: it ends %s at byte %" PRIu64
			"; walked from its start, its whole frames hold %" PRIu64 " image bytes",
			z->lower.name, w.cut ? "inside a frame" : "after a frame", size,
			t->d_off[t->n]);
	free(w.v);
	return 0;
}

/* Every stream of the file, found from its end, or by walking its frames
 * when it does not end in a seek table (else it is read in order). */
static int load_streams(struct zrd *z, uint64_t size, struct mb_error *e)
{
	unsigned char foot[MBZ_FOOTER];
	uint64_t end = size;

	if (size < MBZ_FOOTER || lower_pread(z, size - MBZ_FOOTER, foot, MBZ_FOOTER, "", e) < 0 ||
	    ((uint32_t)foot[5] | (uint32_t)foot[6] << 8 | (uint32_t)foot[7] << 16 |
	     (uint32_t)foot[8] << 24) != MBZ_SEEK_MAGIC)
		return walk_streams(z, size, e);
	while (end > 0) {
		struct zstream *v = realloc(z->s, (z->n_s + 1) * sizeof(*v));

		if (!v)
			return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to read '%s'", z->lower.name);
		z->s = v;
		memset(&z->s[z->n_s], 0, sizeof(*z->s));
		if (load_stream(z, end, &z->s[z->n_s], e) < 0)
			return -1;
		end = z->s[z->n_s++].start;
	}
	for (size_t i = 0; i < z->n_s / 2; i++) {	/* found last first */
		struct zstream t = z->s[i];

		z->s[i] = z->s[z->n_s - 1 - i];
		z->s[z->n_s - 1 - i] = t;
	}
	z->seekable = true;
	return 0;
}

static int damaged(struct zimg *im, uint64_t d_at, uint64_t c_at, const char *why,
		   struct mb_error *e)
{
	return mb_fail(e, MB_ERR_CORRUPT, 0, "damaged compressed frame in image '%s' at offset "
		       "%" PRIu64 " (compressed byte %" PRIu64 "): %s", im->label ? im->label :
		       im->lname, d_at, c_at, why);
}

/* Frame i of the image's stream into im->buf, checked. */
static int load_frame(struct zimg *im, size_t i, struct mb_error *e)
{
	struct zrd *z = im->z;
	const struct zstream *st = &z->s[im->stream];
	const struct mbz_frame *f = &st->t.v[i];
	uint64_t c_at = st->start + st->t.c_off[i], d_at = st->t.d_off[i];
	size_t got;

	if (i == im->bad) {		/* (verify goes on past a damaged file) */
		if (e->code == MB_OK)
			*e = im->bad_err;
		return -1;
	}
	if (f->d_size > MAX_FRAME_READ || f->c_size > ZSTD_compressBound(MAX_FRAME_READ))
		return damaged(im, d_at, c_at, "the seek table gives it too many bytes", e);
	if ((f->c_size > z->cbuf_cap && !(z->cbuf = realloc(z->cbuf, z->cbuf_cap = f->c_size))) ||
	    (f->d_size > im->cap && !(im->buf = realloc(im->buf, im->cap = f->d_size)))) {
		z->cbuf_cap = im->cap = 0;
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to read '%s'", z->lower.name);
	}
	im->cur = SIZE_MAX;
	if (lower_pread(z, c_at, z->cbuf, f->c_size, "a compressed frame", e) < 0)
		return -1;
	z->frames_read++;
	got = ZSTD_decompressDCtx(z->dctx, im->buf, f->d_size, z->cbuf, f->c_size);
	if (ZSTD_isError(got))
		return damaged(im, d_at, c_at, ZSTD_getErrorName(got), e);
	if (got != f->d_size)
		return damaged(im, d_at, c_at, "it holds another size than the seek table says", e);
	if (st->t.checksums && (uint32_t)XXH64(im->buf, got, 0) != f->check)
		return damaged(im, d_at, c_at, "checksum mismatch with the seek table", e);
	im->cur = i;
	return 0;
}

static ssize_t seek_read(struct zimg *im, void *buf, size_t n, struct mb_error *e)
{
	const struct mbz_table *t = &im->z->s[im->stream].t;
	size_t i = mbz_table_find(t, im->pos);
	uint64_t left;

	if (i == t->n && im->z->cut_mid && im->stream + 1 == im->z->n_s)
		return mb_fail(e, MB_ERR_TRUNCATED, 0, "image '%s' is truncated at offset %" PRIu64
			       " (inside a compressed frame)", im->label ? im->label : im->lname,
			       t->d_off[t->n]);
	if (i == t->n)
		return 0;
	if (im->cur != i && load_frame(im, i, e) < 0) {
		if (e->code == MB_ERR_CORRUPT && im->bad == SIZE_MAX) {
			im->bad = i;
			im->bad_err = *e;
		}
		return -1;
	}
	left = t->d_off[i + 1] - im->pos;
	if (n > left)
		n = (size_t)left;
	memcpy(buf, im->buf + (im->pos - t->d_off[i]), n);
	im->pos += n;
	return (ssize_t)n;
}

/* The next compressed bytes in order: the peeked ones first. */
static int refill(struct zimg *im, struct mb_error *e)
{
	struct zrd *z = im->z;
	ssize_t n;

	if (z->peek_len) {
		memcpy(im->in, z->peek, z->peek_len);
		n = (ssize_t)z->peek_len;
		z->peek_len = 0;
	} else if ((n = im->lin.read(im->lin.ctx, im->in, SEQ_IN, e)) < 0) {
		return -1;
	}
	z->c_read += (uint64_t)n;
	im->ib = (ZSTD_inBuffer){ im->in, (size_t)n, 0 };
	im->eof = n == 0;
	return 0;
}

/* In order: frames (and skippable frames) one after another. */
static ssize_t seq_read(struct zimg *im, void *buf, size_t n, struct mb_error *e)
{
	ZSTD_outBuffer ob = { buf, n, 0 };

	while (ob.pos == 0 && n > 0) {
		size_t rc;

		if (im->ib.pos == im->ib.size && refill(im, e) < 0)
			return -1;
		if (im->eof) {
			if (im->mid)
				return mb_fail(e, MB_ERR_TRUNCATED, 0, "image '%s' is truncated at "
					       "offset %" PRIu64 " (inside a compressed frame)",
					       im->lname, im->pos);
			return 0;
		}
		rc = ZSTD_decompressStream(im->ds, &ob, &im->ib);
		if (ZSTD_isError(rc))
			return damaged(im, im->frame_at, im->frame_c, ZSTD_getErrorName(rc), e);
		im->mid = rc != 0;
		im->pos += ob.pos;
		if (!im->mid) {
			im->z->frames_read++;
			im->frame_at = im->pos;
			im->frame_c = im->z->c_read - (im->ib.size - im->ib.pos);
		}
	}
	return (ssize_t)ob.pos;
}

/* Not compressed, read in order: the peeked bytes, then the medium's. */
static ssize_t plain_read(struct zimg *im, void *buf, size_t n, struct mb_error *e)
{
	struct zrd *z = im->z;

	if (z->peek_len && n) {
		n = n < z->peek_len ? n : z->peek_len;
		memcpy(buf, z->peek, n);
		memmove(z->peek, z->peek + n, z->peek_len - n);
		z->peek_len -= n;
		return (ssize_t)n;
	}
	return z->lower.in.read(z->lower.in.ctx, buf, n, e);
}

static ssize_t zi_read(void *ctx, void *buf, size_t n, struct mb_error *e)
{
	struct zimg *im = ctx;

	if (!im->z->compressed)
		return plain_read(im, buf, n, e);
	return im->z->seekable ? seek_read(im, buf, n, e) : seq_read(im, buf, n, e);
}

static int zi_seek(void *ctx, uint64_t off, struct mb_error *e)
{
	struct zimg *im = ctx;

	im->pos = off;
	return 0;
}

static void zimg_free(struct zimg *im)
{
	ZSTD_freeDStream(im->ds);
	free(im->in);
	free(im->buf);
	free(im->label);
	free(im);
}

/* The input of stream k (seekable) or of the stream in order; label
 * (owned, may be NULL) names it in messages. */
static int zimg_push(struct mb_media_in *m, size_t k, char *label, struct mb_error *e)
{
	struct zrd *z = m->priv;
	struct zimg *im = calloc(1, sizeof(*im));

	if (!im || (z->compressed && !z->seekable && (!(im->ds = ZSTD_createDStream()) ||
				     !(im->in = malloc(SEQ_IN))))) {
		if (im)
			zimg_free(im);
		free(label);
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to read '%s'", m->name);
	}
	im->z = z;
	im->lin = z->lower.in;
	im->lname = z->lower.name;
	im->stream = k;
	im->cur = im->bad = SIZE_MAX;
	im->label = label;
	im->prev = z->img;
	z->img = im;
	if (label)
		m->name = label;
	m->in = (struct mb_image_input){ zi_read, z->seekable ? zi_seek : NULL, im, m->name };
	return 0;
}

/* ---- the filter's table ---- */

/* Below an input of mbm_zstd_open_input: no driver, nothing to close. */
static const struct mb_media_ops bare_ops = { .name = "input" };

static ssize_t zr_read(struct mb_media_in *m, void *buf, size_t n, struct mb_error *e)
{
	return zi_read(((struct zrd *)m->priv)->img, buf, n, e);
}

static int zr_seek(struct mb_media_in *m, uint64_t off, struct mb_error *e)
{
	struct zrd *z = m->priv;

	if (!z->seekable)
		return mb_fail(e, MB_ERR_MEDIA, ESPIPE, "unable to seek in image '%s'", m->name);
	return zi_seek(z->img, off, e);
}

/* A compressed image in order over tape files (each image its own file,
 * reached by the driver): the set's images follow it there. */
static bool in_files(const struct zrd *z)
{
	return z->compressed && z->lower.images == MB_IMAGES_FILES && z->lower.ops->next_image &&
	       z->lower.in.seek;
}

/* The image's first bytes (fewer at its end). */
static int peek(struct mb_media_in *m, unsigned char p[4], size_t *got, struct mb_error *e)
{
	*got = 0;
	while (*got < 4) {
		ssize_t n = m->in.read(m->in.ctx, p + *got, 4 - *got, e);

		if (n < 0)
			return -1;
		if (n == 0)
			break;
		*got += (size_t)n;
	}
	return 0;
}

/* In order over tape files: the next image is the next tape file, its
 * own stream read in order from its first frame (a plain image there is
 * not one of this compressed set: another backup appended after it). */
static int next_file(struct mb_media_in *m, struct mb_error *e)
{
	struct zrd *z = m->priv;
	unsigned char p[4];
	size_t got;
	char *label;
	int rc;

	if ((rc = z->lower.ops->next_image(&z->lower, MB_MEDIA_SIZE_UNKNOWN, e)) <= 0)
		return rc;
	if (peek(&z->lower, p, &got, e) < 0 || z->lower.in.seek(z->lower.in.ctx, 0, e) < 0)
		return -1;
	if (got < 4 || !is_zstd(p)) {
		mb_info("zstd: '%s' is not compressed: not an image of this compressed set",
			z->lower.name);
		return 0;
	}
	if (!(label = strdup(z->lower.name)))
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to read '%s'", m->spec);
	m->base = 0;
	return zimg_push(m, 0, label, e) < 0 ? -1 : 1;
}

/* The image after this one: the next stream of the file ("PATH@BYTE",
 * the byte where its frames start), or the next tape file; on a pipe the
 * medium's next image is not found through the compressed bytes. */
static int zr_next_image(struct mb_media_in *m, uint64_t size, struct mb_error *e)
{
	struct zrd *z = m->priv;
	size_t k = z->img->stream + 1;
	char *label;

	if (!z->seekable && in_files(z))
		return next_file(m, e);
	if (!z->seekable) {
		mb_fail(e, MB_ERR_MEDIA, ESPIPE, "unable to read the set from '%s'", m->spec);
		mb_hint(e, z->compressed ? "the images of a compressed set are read from files" :
			"the images of a set are read from files or tapes");
		return -1;
	}
	if (k >= z->n_s)
		return 0;
	if (asprintf(&label, "%s@%" PRIu64, m->spec, z->s[k].start) < 0)
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to read '%s'", m->spec);
	m->base = z->s[k].start;
	return zimg_push(m, k, label, e) < 0 ? -1 : 1;
}

static void zr_read_stats(const struct mb_media_in *m, uint64_t *records, uint64_t *record_size)
{
	const struct zrd *z = m->priv;

	if (z->lower.ops->read_stats)
		z->lower.ops->read_stats(&z->lower, records, record_size);
}

/* A compressed image that seeks: what its stream's frames hold. */
static int zr_held(const struct mb_media_in *m, uint64_t *bytes)
{
	const struct zrd *z = m->priv;
	const struct mbz_table *t;

	if (!z->compressed || !z->seekable)
		return 0;
	t = &z->s[z->img->stream].t;
	*bytes = t->d_off[t->n];
	return 1;
}

static void zr_close_read(struct mb_media_in *m)
{
	struct zrd *z = m->priv;

	if (z->lower.ops == &bare_ops)
		;			/* a scan's input says nothing */
	else if (z->compressed && z->seekable)
		mb_info("zstd: read %" PRIu64 " of %" PRIu64 " compressed bytes (%" PRIu64
			" frames decompressed) of '%s'", z->c_read, z->c_size, z->frames_read,
			z->lower.name);
	else if (z->compressed)		/* (over tape files: of every image read) */
		mb_info("zstd: read %" PRIu64 " compressed bytes in order (%" PRIu64
			" frames) of '%s'", z->c_read, z->frames_read,
			in_files(z) ? m->spec : z->lower.name);
	while (z->img) {
		struct zimg *im = z->img;

		z->img = im->prev;
		zimg_free(im);
	}
	for (size_t i = 0; i < z->n_s; i++)
		mbz_table_free(&z->s[i].t);
	if (z->lower.priv || z->lower.fd >= 0)
		z->lower.ops->close_read(&z->lower);
	ZSTD_freeDCtx(z->dctx);
	free(z->s);
	free(z->cbuf);
	free(z);
	m->priv = NULL;
	m->fd = -1;
}

static const struct mb_media_ops zstd_read_ops = {
	.name = "zstd", .read = zr_read, .seek = zr_seek, .next_image = zr_next_image,
	.close_read = zr_close_read, .read_stats = zr_read_stats, .held = zr_held,
};

/* The bytes of a medium that seeks and ends where its last seek table
 * does: a regular file (whose images may follow each other), or what the
 * driver says (an object's size, read back by ranged GETs); 0: none (a
 * pipe, a tape: read in order). */
static uint64_t medium_size(const struct mb_media_in *m)
{
	struct stat st;

	if (!m->in.seek)
		return 0;
	if (m->size)
		return m->size;
	if (m->images == MB_IMAGES_BYTES && m->fd >= 0 && fstat(m->fd, &st) == 0 && S_ISREG(st.st_mode))
		return (uint64_t)st.st_size;
	return 0;
}

/* m becomes the filter over what the driver opened. */
static int take_over(struct mb_media_in *m, bool compressed, const unsigned char *p, size_t got,
		     struct mb_error *e)
{
	struct zrd *z = calloc(1, sizeof(*z));
	uint64_t size;

	if (!z)
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to read '%s'", m->name);
	z->lower = *m;
	if (z->lower.in.ctx == m)	/* the table's read on the driver's state */
		z->lower.in.ctx = &z->lower;
	z->compressed = compressed;
	memcpy(z->peek, p, got);
	z->peek_len = got;
	m->ops = &zstd_read_ops;
	m->priv = z;
	if (compressed && !(z->dctx = ZSTD_createDCtx()))
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to read '%s'", m->name);
	if (compressed && (size = medium_size(&z->lower)) > z->lower.base) {
		z->c_size = size - z->lower.base;
		if (load_streams(z, z->c_size, e) < 0)
			return -1;
	}
	if (z->lower.in.seek && (z->lower.in.seek(z->lower.in.ctx, 0, e) < 0))
		return -1;
	if (z->lower.in.seek)
		z->peek_len = 0;	/* read again from byte 0 */
	z->c_read = 0;
	m->sequential = !z->seekable;
	m->images = z->seekable || in_files(z) ? z->lower.images : MB_IMAGES_ONE;
	return zimg_push(m, 0, NULL, e);
}

int mbm_zstd_detect(struct mb_media_in *m, struct mb_error *e)
{
	unsigned char p[4];
	size_t got;

	/* (On a tape the seek back to byte 0 stays in the record read.) */
	if (peek(m, p, &got, e) < 0)
		return -1;
	if (got == 4 && is_zstd(p))
		return take_over(m, true, p, got, e);
	if (m->in.seek)
		return m->in.seek(m->in.ctx, 0, e);
	return take_over(m, false, p, got, e);
}

int mbm_zstd_open_input(struct mb_media_in **out, const struct mb_image_input *lower,
			struct mb_error *e)
{
	struct mb_media_in *m = calloc(1, sizeof(*m));

	*out = NULL;
	if (!m)
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to read '%s'", lower->name);
	m->ops = &bare_ops;
	m->fd = -1;
	m->name = lower->name;
	m->in = *lower;
	m->in.seek = NULL;		/* in order: nothing is read twice */
	if (mbm_zstd_detect(m, e) < 0) {
		mb_media_close(m);
		return -1;
	}
	*out = m;
	return 0;
}
