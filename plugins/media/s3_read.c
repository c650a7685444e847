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

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"

#define WIN_MIN (64u << 10)
#define WIN_MAX (16u << 20)

struct s3r {
	struct mbm_s3 c;
	uint64_t size;		/* the object's */
	uint64_t pos;		/* the next byte read returns */
	char *win;		/* object bytes [win_off, win_off + win_len) */
	uint64_t win_off;
	size_t win_len, win_cap, next_len;
};

static int head_object(struct s3r *r, struct mb_error *e)
{
	struct mbm_s3_req q = { .method = "HEAD" };
	int rc = -1;

	if (mbm_s3_do(&r->c, &q, "open", e) < 0)
		goto out;
	if (q.status != 200) {
		mbm_s3_fail(&r->c, &q, "open", e);
		if (q.status == 404 && !e->kept_older)	/* as a missing image file */
			e->code = MB_ERR_NOT_FOUND;
		goto out;
	}
	r->size = q.length;
	rc = 0;
out:
	mbm_s3_req_free(&q);
	return rc;
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
	return 0;
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

ssize_t mbm_s3_read(struct mb_media_in *m, void *buf, size_t n, struct mb_error *e)
{
	struct s3r *r = m->priv;
	size_t off, have;

	if (r->pos >= r->size || n == 0)
		return 0;
	if (r->pos < r->win_off || r->pos >= r->win_off + r->win_len) {
		if (m->stop.check && m->stop.check(e) < 0)
			return -1;
		if (fetch(r, n, e) < 0)
			return -1;
	}
	off = (size_t)(r->pos - r->win_off);
	have = r->win_len - off;
	if (n > have)
		n = have;
	memcpy(buf, r->win + off, n);
	r->pos += n;
	return (ssize_t)n;
}

int mbm_s3_seek(struct mb_media_in *m, uint64_t off, struct mb_error *e)
{
	struct s3r *r = m->priv;

	if (off > r->size)
		return mb_fail(e, MB_ERR_TRUNCATED, 0, "unable to seek to byte %" PRIu64 " of '%s': "
			       "it is %" PRIu64 " bytes", off, r->c.spec, r->size);
	if (off != r->pos && (off < r->win_off || off >= r->win_off + r->win_len))
		r->next_len = WIN_MIN;	/* a jump: start small again */
	r->pos = off;
	return 0;
}

void mbm_s3_close_read(struct mb_media_in *m)
{
	struct s3r *r = m->priv;

	if (!r)
		return;
	if (r->c.spec)
		mb_info("s3: fetched %" PRIu64 " of %" PRIu64 " bytes of '%s' in %" PRIu64
			" requests", r->c.fetched, r->size, r->c.spec, r->c.requests);
	mbm_s3_fini(&r->c);
	free(r->win);
	free(r);
	m->priv = NULL;
}
