/*
 * s3://BUCKET/KEY, reading: ranged GETs through a read-ahead window.
 *
 * A read outside the window fetches a new one starting where the read
 * starts.  The window is 64 KiB after a seek (restore --file reads a
 * header and one file: a few ranges of what it needs) and doubles while
 * the reads follow on, up to 16 MiB (a whole restore streams).  The bytes
 * fetched and the requests are logged at close.  A compressed image
 * (zstd_read.c) is read by its seek table: the footer and the table by
 * two ranged GETs at the object's end (m->size), then one GET per frame a
 * read needs.
 */
#include "plugins/media/drivers.h"
#include "plugins/media/s3.h"
#include "plugins/media/s3_object.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"

#define WIN_MIN (64u << 10)
#define WIN_MAX (16u << 20)

struct s3img;
struct s3r {
	struct mbm_s3 c;
	uint64_t size;		/* the object's */
	uint64_t pos;		/* the object byte the next fetch starts at */
	char *win;		/* object bytes [win_off, win_off + win_len) */
	uint64_t win_off;
	size_t win_len, win_cap, next_len;
	struct s3img *img;	/* the newest image's input, then older ones */
};

/* One image of the object (a set member's rescue images follow its
 * first, byte after byte): its own position, so the readers of earlier
 * images stay valid once the medium moves on. */
struct s3img {
	struct s3r *r;
	struct s3img *prev;
	uint64_t base;		/* object byte where the image starts */
	uint64_t pos;		/* image byte the next read returns */
	char *label;		/* "s3://b/k@BYTE" (NULL: the first image) */
};

static int head_object(struct s3r *r, struct mb_error *e)
{
	struct mb_s3_info info;
	int rc = mbm_s3_head(&r->c, "open", &info, e);

	if (rc == 1) {		/* as a missing image file */
		mbm_s3_fail(&r->c, &(struct mbm_s3_req){ .status = 404 }, "open", e);
		if (!e->kept_older)
			e->code = MB_ERR_NOT_FOUND;
		return -1;
	}
	if (rc == 0)
		r->size = info.size;
	return rc;
}

/* Fetches the window at r->pos, at least n bytes of it (up to the
 * largest window): one ranged GET. */
static int fetch(struct s3r *r, size_t n, struct mb_error *e)
{
	size_t want = n > r->next_len ? (n < WIN_MAX ? n : WIN_MAX) : r->next_len;
	struct mbm_s3_req q = { .method = "GET" };
	int rc = -1;

	if (want > r->size - r->pos)
		want = (size_t)(r->size - r->pos);
	if (r->win_cap < want) {
		char *w = realloc(r->win, want);

		if (!w)
			return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to read '%s'", r->c.spec);
		r->win = w;
		r->win_cap = want;
	}
	q.range_from = r->pos;
	q.range_len = want;
	q.dst = r->win;
	if (mbm_s3_do(&r->c, &q, "read", e) < 0)
		goto out;
	if (q.status != 206 && !(q.status == 200 && r->pos == 0 && want == r->size)) {
		mbm_s3_fail(&r->c, &q, "read", e);
		goto out;
	}
	if (q.got != want) {
		mb_fail(e, MB_ERR_TRUNCATED, 0, "unable to read '%s': %zu of %zu bytes at byte %"
			PRIu64, r->c.spec, q.got, want, r->pos);
		goto out;
	}
	r->win_off = r->pos;
	r->win_len = want;
	if (r->next_len < WIN_MAX)
		r->next_len *= 2;
	rc = 0;
out:
	mbm_s3_req_free(&q);
	return rc;
}

/* The object from byte off: through the window, fetched where it is
 * not (a jump starts the window small again). */
static ssize_t window_read(struct s3r *r, uint64_t off, void *buf, size_t n, struct mb_error *e)
{
	size_t at, have;

	if (off >= r->size || n == 0)
		return 0;
	if (off < r->win_off || off >= r->win_off + r->win_len) {
		if (r->c.stop.check && r->c.stop.check(e) < 0)
			return -1;
		if (off != r->win_off + r->win_len)
			r->next_len = WIN_MIN;
		r->pos = off;
		if (fetch(r, n, e) < 0)
			return -1;
	}
	at = (size_t)(off - r->win_off);
	have = r->win_len - at;
	if (n > have)
		n = have;
	memcpy(buf, r->win + at, n);
	return (ssize_t)n;
}

static ssize_t img_read(void *ctx, void *buf, size_t n, struct mb_error *e)
{
	struct s3img *im = ctx;
	ssize_t got = window_read(im->r, im->base + im->pos, buf, n, e);

	if (got > 0)
		im->pos += (uint64_t)got;
	return got;
}

static int img_seek(void *ctx, uint64_t off, struct mb_error *e)
{
	struct s3img *im = ctx;

	if (off > im->r->size - im->base)
		return mb_fail(e, MB_ERR_TRUNCATED, 0, "unable to seek to byte %" PRIu64 " of '%s': "
			       "it is %" PRIu64 " bytes", off, im->label ? im->label : im->r->c.spec,
			       im->r->size - im->base);
	im->pos = off;
	return 0;
}

/* Starts the input of the image at object byte base (label owned, NULL
 * for the first). */
static int img_push(struct mb_media_in *m, uint64_t base, char *label, struct mb_error *e)
{
	struct s3r *r = m->priv;
	struct s3img *im = calloc(1, sizeof(*im));

	if (!im) {
		free(label);
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to read '%s'", r->c.spec);
	}
	*im = (struct s3img){ r, r->img, base, 0, label };
	r->img = im;
	if (label)
		m->name = label;
	m->base = base;
	m->in = (struct mb_image_input){ img_read, img_seek, im, m->name };
	return 0;
}

int mbm_s3_open_read(struct mb_media_in *m, const char *arg, const struct mb_media_params *p,
		     struct mb_error *e)
{
	struct s3r *r = calloc(1, sizeof(*r));

	if (!r)
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to open media 's3:%s'", arg);
	m->priv = r;
	r->next_len = WIN_MIN;
	if (mbm_s3_init(&r->c, arg, p, e) < 0 || head_object(r, e) < 0)
		return -1;
	mb_debug("s3: '%s' is %" PRIu64 " bytes", r->c.spec, r->size);
	m->size = r->size;	/* a compressed image's seek table is at its end */
	m->images = MB_IMAGES_BYTES;
	return img_push(m, 0, NULL, e);
}

ssize_t mbm_s3_read(struct mb_media_in *m, void *buf, size_t n, struct mb_error *e)
{
	return img_read(((struct s3r *)m->priv)->img, buf, n, e);
}

int mbm_s3_seek(struct mb_media_in *m, uint64_t off, struct mb_error *e)
{
	return img_seek(((struct s3r *)m->priv)->img, off, e);
}

/* The image after the current one (size bytes) starts at the byte after
 * it, as on a file; none if the object ends there. */
int mbm_s3_next_image(struct mb_media_in *m, uint64_t size, struct mb_error *e)
{
	struct s3r *r = m->priv;
	uint64_t base = r->img->base + size;
	char *label;

	if (base >= r->size)
		return 0;
	if (asprintf(&label, "%s@%" PRIu64, r->c.spec, base) < 0)
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to read '%s'", r->c.spec);
	return img_push(m, base, label, e) < 0 ? -1 : 1;
}

void mbm_s3_close_read(struct mb_media_in *m)
{
	struct s3r *r = m->priv;

	if (!r)
		return;
	if (r->c.spec)
		mb_info("s3: fetched %" PRIu64 " of %" PRIu64 " bytes of '%s' in %" PRIu64
			" requests", r->c.fetched, r->size, r->c.spec, r->c.requests);
	while (r->img) {
		struct s3img *im = r->img;

		r->img = im->prev;
		free(im->label);
		free(im);
	}
	mbm_s3_fini(&r->c);
	free(r->win);
	free(r);
	m->priv = NULL;
}
