/*
 * s3://BUCKET/KEY, writing: the image as one multipart upload.
 *
 * Parts are filled in RAM while a thread uploads the one before (two
 * buffers: one filling, one in flight), each with the SHA-256 of its body
 * signed into the request, which the store checks.  A part is 8 MiB; the
 * size doubles every 1,000 parts, so 10,000 parts hold 8 TiB (more than
 * the 5 TiB an S3 object may be).  The upload is completed only at close,
 * after the trailer: an object under the image's name is always a whole
 * image.  A failed run aborts the upload (abort), and the obligation
 * (the bucket and key) lets recover abort whatever upload a dead run left
 * under that key.
 */
#include "plugins/media/drivers.h"
#include "plugins/media/s3.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"

#define PART_MIN (8ull << 20)
#define PART_MAX (5ull << 30)
#define PARTS_PER_STEP 1000
#define MAX_PARTS 10000
#define ABORT_PATIENCE 30	/* seconds a failed run tries to abort its upload */

struct s3w {
	struct mbm_s3 c;
	char *upload_id;
	char *buf[2];
	size_t cap[2], fill;
	int cur;			/* the buffer being filled */
	uint32_t n_parts;		/* parts handed to the thread */
	char (*etag)[96];		/* per part, from its answer */
	pthread_t th;
	bool th_started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool busy, quit;		/* a part in the thread / the thread must end */
	int job;			/* its buffer */
	size_t job_len;
	uint32_t job_no;
	struct mb_error err;		/* the thread's first failure */
	bool failed;
};

static uint64_t part_size(uint32_t no)
{
	uint64_t n = PART_MIN << ((no - 1) / PARTS_PER_STEP);

	return n > PART_MAX ? PART_MAX : n;
}

/* Uploads one part: PUT ?partNumber=N&uploadId=ID. */
static int put_part(struct s3w *w, const void *buf, size_t len, uint32_t no, struct mb_error *e)
{
	char what[64], *query = NULL;
	struct mbm_s3_req r = { .method = "PUT", .body = buf, .body_len = len };
	int rc = -1;

	snprintf(what, sizeof(what), "upload part %" PRIu32 " of", no);
	if (asprintf(&query, "partNumber=%" PRIu32 "&uploadId=%s", no, w->upload_id) < 0) {
		query = NULL;
		mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to %s '%s'", what, w->c.spec);
		goto out;
	}
	r.query = query;
	if (mbm_s3_do(&w->c, &r, what, e) < 0)
		goto out;
	if (r.status / 100 != 2 || !r.etag[0]) {
		mbm_s3_fail(&w->c, &r, what, e);
		goto out;
	}
	memcpy(w->etag[no - 1], r.etag, sizeof(r.etag));
	mb_debug("s3: part %" PRIu32 " of '%s': %zu bytes, etag %s", no, w->c.spec, len, r.etag);
	rc = 0;
out:
	mbm_s3_req_free(&r);
	free(query);
	return rc;
}

static void *uploader(void *arg)
{
	struct s3w *w = arg;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (!w->busy && !w->quit)
			pthread_cond_wait(&w->cv, &w->mu);
		if (!w->busy)
			break;
		pthread_mutex_unlock(&w->mu);
		struct mb_error e = { 0 };
		int rc = put_part(w, w->buf[w->job], w->job_len, w->job_no, &e);

		pthread_mutex_lock(&w->mu);
		if (rc < 0 && !w->failed) {
			w->err = e;
			w->failed = true;
		}
		w->busy = false;
		pthread_cond_broadcast(&w->cv);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* Waits until no part is in flight; -1 (the thread's error) if one failed. */
static int wait_idle(struct s3w *w, struct mb_error *e)
{
	int failed;

	pthread_mutex_lock(&w->mu);
	while (w->busy)
		pthread_cond_wait(&w->cv, &w->mu);
	failed = w->failed;
	pthread_mutex_unlock(&w->mu);
	if (failed) {
		*e = w->err;
		return -1;
	}
	return 0;
}

/* Hands the filling buffer to the thread and switches to the other. */
static int hand_over(struct s3w *w, struct mb_error *e)
{
	if (wait_idle(w, e) < 0)
		return -1;
	if (w->n_parts == MAX_PARTS)
		return mb_fail(e, MB_ERR_MEDIA, EFBIG, "unable to write '%s': more than %d parts",
			       w->c.spec, MAX_PARTS);
	pthread_mutex_lock(&w->mu);
	w->job = w->cur;
	w->job_len = w->fill;
	w->job_no = ++w->n_parts;
	w->busy = true;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	w->cur ^= 1;
	w->fill = 0;
	return 0;
}

/* The filling buffer, at least the size of the next part. */
static int ensure_buffer(struct s3w *w, struct mb_error *e)
{
	size_t want = (size_t)part_size(w->n_parts + 1);
	char *b;

	if (w->cap[w->cur] >= want)
		return 0;
	if (!(b = realloc(w->buf[w->cur], want)))
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to buffer a part of '%s'", w->c.spec);
	w->buf[w->cur] = b;
	w->cap[w->cur] = want;
	return 0;
}

static int s3_write(struct mb_sink *s, const void *buf, size_t len, struct mb_error *e)
{
	struct s3w *w = s->priv;
	const char *p = buf;

	if (s->stop.check && s->stop.check(e) < 0)
		return -1;
	while (len > 0) {
		size_t room, n;

		if (ensure_buffer(w, e) < 0)
			return -1;
		room = (size_t)part_size(w->n_parts + 1) - w->fill;
		n = len < room ? len : room;
		memcpy(w->buf[w->cur] + w->fill, p, n);
		w->fill += n;
		p += n;
		len -= n;
		s->bytes += n;
		if (w->fill == part_size(w->n_parts + 1) && hand_over(w, e) < 0)
			return -1;
	}
	return 0;
}

/* CreateMultipartUpload: POST ?uploads=, the answer's UploadId. */
static int create_upload(struct s3w *w, struct mb_error *e)
{
	struct mbm_s3_req r = { .method = "POST", .query = "uploads=" };
	int rc = -1;

	if (mbm_s3_do(&w->c, &r, "start the upload of", e) < 0)
		goto out;
	if (r.status != 200) {
		mbm_s3_fail(&w->c, &r, "start the upload of", e);
		goto out;
	}
	if (!(w->upload_id = mbm_s3_xml(r.text, "UploadId"))) {
		mb_fail(e, MB_ERR_MEDIA, 0, "unable to start the upload of '%s': no upload id",
			w->c.spec);
		goto out;
	}
	mb_info("s3: upload of '%s' started (upload id %s)", w->c.spec, w->upload_id);
	rc = 0;
out:
	mbm_s3_req_free(&r);
	return rc;
}

static void s3w_free(struct s3w *w)
{
	if (w->th_started) {
		pthread_mutex_lock(&w->mu);
		w->quit = true;
		pthread_cond_broadcast(&w->cv);
		pthread_mutex_unlock(&w->mu);
		pthread_join(w->th, NULL);
	}
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	mbm_s3_fini(&w->c);
	free(w->upload_id);
	free(w->buf[0]);
	free(w->buf[1]);
	free(w->etag);
	free(w);
}

static int s3_open_write(struct mb_sink *s, const char *arg, const struct mb_media_params *p,
			 struct mb_error *e)
{
	struct s3w *w = calloc(1, sizeof(*w));

	if (!w || !(w->etag = calloc(MAX_PARTS, sizeof(*w->etag)))) {
		free(w);
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to open media 's3:%s'", arg);
	}
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	s->priv = w;
	if (mbm_s3_init(&w->c, arg, p, e) < 0 || mbm_s3_refuse_existing(&w->c, p->force, e) < 0 ||
	    create_upload(w, e) < 0)
		return -1;
	if (pthread_create(&w->th, NULL, uploader, w) != 0)
		return mb_fail(e, MB_ERR_GENERAL, EAGAIN, "unable to start the upload of '%s'",
			       w->c.spec);
	w->th_started = true;
	return 0;
}

/* AbortMultipartUpload: DELETE ?uploadId=ID; 404: already gone. */
int mbm_s3_abort_upload(struct mbm_s3 *c, const char *upload_id, struct mb_error *e)
{
	struct mbm_s3_req r = { .method = "DELETE" };
	char *query = NULL;
	int rc = -1;

	if (asprintf(&query, "uploadId=%s", upload_id) < 0) {
		query = NULL;
		mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to abort the upload of '%s'", c->spec);
		goto out;
	}
	r.query = query;
	if (mbm_s3_do(c, &r, "abort the upload of", e) < 0)
		goto out;
	if (r.status / 100 != 2 && r.status != 404) {
		mbm_s3_fail(c, &r, "abort the upload of", e);
		goto out;
	}
	mb_info("s3: upload %s of '%s' aborted", upload_id, c->spec);
	rc = 0;
out:
	mbm_s3_req_free(&r);
	free(query);
	return rc;
}

/* The run's own abort: a gateway that went away (restarted, failed over)
 * is given ABORT_PATIENCE seconds to come back, since a run marked failed
 * is not looked at again by recover. */
static int abort_patiently(struct s3w *w, struct mb_error *e)
{
	time_t until = time(NULL) + ABORT_PATIENCE;

	for (;;) {
		struct mb_error one = { 0 };
		struct timespec pause = { 1, 0 };

		if (mbm_s3_abort_upload(&w->c, w->upload_id, &one) == 0)
			return 0;
		if (one.msg[0] && strstr(one.msg, ": HTTP ") != NULL) {
			*e = one;	/* the store answered: no use waiting */
			return -1;
		}
		if (time(NULL) >= until) {
			*e = one;
			return -1;
		}
		mb_info("s3: the store is unreachable, trying the abort again");
		nanosleep(&pause, NULL);
	}
}

static void s3_abort(struct mb_sink *s)
{
	struct s3w *w = s->priv;
	struct mb_error e = { 0 };

	if (!w)
		return;
	if (w->th_started) {
		struct mb_error ignored = { 0 };

		wait_idle(w, &ignored);
	}
	w->c.stop.check = NULL;		/* the abort is sent even after a signal */
	if (w->upload_id && abort_patiently(w, &e) < 0)
		mb_warn("%s: its parts stay in the store until it is aborted", e.msg);
	s3w_free(w);
	s->priv = NULL;
}

static int s3_close(struct mb_sink *s, struct mb_media_position *where, struct mb_error *e)
{
	struct s3w *w = s->priv;

	/* the last part, short (a part may be empty only when it is the only one) */
	if ((w->fill > 0 || w->n_parts == 0) && hand_over(w, e) < 0)
		goto fail;
	if (wait_idle(w, e) < 0 ||
	    mbm_s3_complete(&w->c, w->upload_id, w->etag, w->n_parts, s->bytes, e) < 0)
		goto fail;
	mb_info("s3: '%s' complete: %" PRIu64 " bytes in %" PRIu32 " parts, %" PRIu64
		" requests", w->c.spec, s->bytes, w->n_parts, w->c.requests);
	free(w->upload_id);
	w->upload_id = NULL;
	s3w_free(w);
	s->priv = NULL;
	return 0;
fail:
	s3_abort(s);
	return -1;
}

/* The obligation: "//BUCKET/KEY"; its undo aborts every upload under it. */
static int s3_obligation(const char *arg, char **what, struct mb_error *e)
{
	if (!(*what = strdup(arg)))
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to open media 's3:%s'", arg);
	return 0;
}

static int s3_check(const char *arg, const struct mb_media_params *p, struct mb_error *e)
{
	struct mbm_s3 c;
	int rc = mbm_s3_init(&c, arg, p, e);

	mbm_s3_fini(&c);
	return rc;
}

const struct mb_media_ops mbm_s3_ops = {
	.name = "s3", .check = s3_check, .open_write = s3_open_write, .write = s3_write,
	.close = s3_close, .abort = s3_abort, .obligation = s3_obligation,
	.undo = mbm_s3_undo, .open_read = mbm_s3_open_read, .read = mbm_s3_read,
	.seek = mbm_s3_seek, .close_read = mbm_s3_close_read,
};
