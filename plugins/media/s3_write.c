/*
 * s3://BUCKET/KEY, writing: the image as one multipart upload.
 *
 * Parts are filled in RAM while UPLOADERS threads upload the ones before
 * (UPLOADERS + 1 buffers: one filling, the others in flight), each with
 * the SHA-256 of its body signed into the request, which the store checks.  A part is 8 MiB; the
 * size doubles every 1,000 parts, so 10,000 parts hold 8 TiB (more than
 * the 5 TiB an S3 object may be).  The upload is completed only at close,
 * after the trailer: an object under the image's name is always a whole
 * image.  A failed run aborts the upload (abort), and the obligation
 * (the bucket and key) lets recover abort whatever upload a dead run left
 * under that key; an object completed for a run that then fails (another
 * device's close failed) is deleted again (the publish obligation).
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
/* Parts in flight.  The rate is bound by the store's time per part, not
 * by the client's CPU (perf of a run: SHA-256 by SHA-NI, 1.7 GB/s, a
 * quarter of mbackup's own few CPU seconds; UNSIGNED-PAYLOAD with a
 * Content-MD5 instead was no faster, MD5 being the slower hash here), so
 * more parts at once is what helps: bench/s3-ab against curl -T on the
 * local Ceph, 2 -> 8 in flight went 0.35 -> 0.58 and 0.42 -> 0.51 of
 * curl's rate (256 MiB images), 0.67 -> 0.88 (1 GiB; 4 gave 0.89): see
 * bench/s3.md.  8, for stores farther away than 127.0.0.1, where each
 * part waits longer; 72 MiB of buffers an object. */
#define UPLOADERS 8
#define SLOTS (UPLOADERS + 1)	/* and one filling */

struct slot {
	char *buf;
	size_t cap, len;
	uint32_t no;			/* its part number */
	bool busy;			/* queued or uploading */
};

struct s3w {
	struct mbm_s3 c;		/* the main thread's: start, complete, abort */
	struct mbm_s3 tc[UPLOADERS];	/* one client per uploader */
	char *upload_id;
	struct slot slot[SLOTS];
	int cur;			/* the slot being filled */
	int queue[SLOTS], q_head, q_len;	/* slots waiting for an uploader */
	uint32_t n_parts;		/* parts handed over */
	char (*etag)[96];		/* per part, from its answer */
	pthread_t th[UPLOADERS];
	int n_threads;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool quit;
	struct mb_error err;		/* the uploaders' first failure */
	bool failed;
	bool tail_sent;			/* finish uploaded the filling slot as part
					 * n_parts + 1; no byte since */
};

static uint64_t part_size(uint32_t no)
{
	uint64_t n = PART_MIN << ((no - 1) / PARTS_PER_STEP);

	return n > PART_MAX ? PART_MAX : n;
}

/* The test seam MBACKUP_FAULT=s3-part:N:KEY: part N of the object KEY
 * goes out with a digest that does not match its body, so the real store
 * refuses it (as a part damaged in transit). */
static bool fault_part(const struct mbm_s3 *c, uint32_t no)
{
	const char *spec = getenv("MBACKUP_FAULT");
	char *end;

	if (!spec || strncmp(spec, "s3-part:", 8) != 0 || strtoul(spec + 8, &end, 10) != no ||
	    *end != ':' || strcmp(end + 1, c->key) != 0)
		return false;
	mb_warn("injecting fault 'bad digest' at part %" PRIu32 " of '%s'", no, c->spec);
	return true;
}

/* Uploads one part: PUT ?partNumber=N&uploadId=ID. */
static int put_part(struct s3w *w, struct mbm_s3 *c, const void *buf, size_t len, uint32_t no,
		    struct mb_error *e)
{
	char what[64];
	struct mbm_s3_req r = { .method = "PUT", .body = buf, .body_len = len,
				.bad_digest = fault_part(c, no) };
	int rc = -1;

	snprintf(what, sizeof(what), "upload part %" PRIu32 " of", no);
	if (mbm_s3_call(c, &r, what, MBM_S3_2XX, e, "partNumber=%" PRIu32 "&uploadId=%s", no,
			w->upload_id) < 0)
		goto out;
	if (!r.etag[0]) {
		mbm_s3_fail(c, &r, what, e);
		goto out;
	}
	memcpy(w->etag[no - 1], r.etag, sizeof(r.etag));
	mb_debug("s3: part %" PRIu32 " of '%s': %zu bytes, etag %s", no, c->spec, len, r.etag);
	rc = 0;
out:
	mbm_s3_req_free(&r);
	return rc;
}

struct uploader_arg {
	struct s3w *w;
	int i;
};

/* An uploader: takes the oldest queued slot, uploads it with its own
 * client, frees the slot; ends once told to and the queue is empty. */
static void *uploader(void *arg)
{
	struct s3w *w = ((struct uploader_arg *)arg)->w;
	struct mbm_s3 *c = &w->tc[((struct uploader_arg *)arg)->i];

	free(arg);
	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (!w->q_len && !w->quit)
			pthread_cond_wait(&w->cv, &w->mu);
		if (!w->q_len)
			break;
		struct slot *sl = &w->slot[w->queue[w->q_head]];
		struct mb_error e = { 0 };
		bool skip = w->failed;	/* after a failure the rest is dropped */

		w->q_head = (w->q_head + 1) % SLOTS;
		w->q_len--;
		pthread_mutex_unlock(&w->mu);
		int rc = skip ? 0 : put_part(w, c, sl->buf, sl->len, sl->no, &e);

		pthread_mutex_lock(&w->mu);
		if (rc < 0 && !w->failed) {
			w->err = e;
			w->failed = true;
		}
		sl->busy = false;
		pthread_cond_broadcast(&w->cv);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* Under w->mu: a slot neither queued nor uploading, or -1. */
static int free_slot(const struct s3w *w)
{
	for (int i = 0; i < SLOTS; i++)
		if (!w->slot[i].busy)
			return i;
	return -1;
}

/* Waits until every part handed over is uploaded; -1 (the uploaders'
 * error) if one failed. */
static int wait_idle(struct s3w *w, struct mb_error *e)
{
	bool failed;

	pthread_mutex_lock(&w->mu);
	for (int i = 0; i < SLOTS; i++)
		while (w->slot[i].busy)
			pthread_cond_wait(&w->cv, &w->mu);
	failed = w->failed;
	pthread_mutex_unlock(&w->mu);
	if (failed) {
		*e = w->err;
		return -1;
	}
	return 0;
}

/* Queues the filling slot and takes a free one (waiting while every slot
 * is busy); -1 once an upload failed. */
static int hand_over(struct s3w *w, struct mb_error *e)
{
	int next;

	if (w->n_parts == MAX_PARTS)
		return mb_fail(e, MB_ERR_MEDIA, EFBIG, "unable to write '%s': more than %d parts",
			       w->c.spec, MAX_PARTS);
	pthread_mutex_lock(&w->mu);
	w->slot[w->cur].no = ++w->n_parts;
	w->slot[w->cur].busy = true;
	w->queue[(w->q_head + w->q_len) % SLOTS] = w->cur;
	w->q_len++;
	pthread_cond_broadcast(&w->cv);
	while ((next = free_slot(w)) < 0 && !w->failed)
		pthread_cond_wait(&w->cv, &w->mu);
	if (w->failed) {
		*e = w->err;
		pthread_mutex_unlock(&w->mu);
		return -1;
	}
	pthread_mutex_unlock(&w->mu);
	w->cur = next;
	w->slot[next].len = 0;
	return 0;
}

/* The filling slot's buffer, at least the size of the next part. */
static int ensure_buffer(struct s3w *w, struct mb_error *e)
{
	struct slot *sl = &w->slot[w->cur];
	size_t want = (size_t)part_size(w->n_parts + 1);
	char *b;

	if (sl->cap >= want)
		return 0;
	if (!(b = realloc(sl->buf, want)))
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to buffer a part of '%s'", w->c.spec);
	sl->buf = b;
	sl->cap = want;
	return 0;
}

static int s3_write(struct mb_sink *s, const void *buf, size_t len, struct mb_error *e)
{
	struct s3w *w = s->priv;
	const char *p = buf;

	if (s->stop.check && s->stop.check(e) < 0)
		return -1;
	w->tail_sent = w->tail_sent && len == 0;
	while (len > 0) {
		struct slot *sl;
		size_t room, n;

		if (ensure_buffer(w, e) < 0)
			return -1;
		sl = &w->slot[w->cur];
		room = (size_t)part_size(w->n_parts + 1) - sl->len;
		n = len < room ? len : room;
		memcpy(sl->buf + sl->len, p, n);
		sl->len += n;
		p += n;
		len -= n;
		s->bytes += n;
		if (sl->len == part_size(w->n_parts + 1) && hand_over(w, e) < 0)
			return -1;
	}
	return 0;
}

/* CreateMultipartUpload: POST ?uploads=, the answer's UploadId. */
static int create_upload(struct s3w *w, struct mb_error *e)
{
	struct mbm_s3_req r = { .method = "POST", .query = "uploads=" };
	int rc = -1;

	if (mbm_s3_call(&w->c, &r, "start the upload of", MBM_S3_200, e, NULL) < 0)
		goto out;
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
	pthread_mutex_lock(&w->mu);
	w->quit = true;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	for (int i = 0; i < w->n_threads; i++)
		pthread_join(w->th[i], NULL);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	mbm_s3_fini(&w->c);
	for (int i = 0; i < UPLOADERS; i++)
		mbm_s3_fini(&w->tc[i]);
	free(w->upload_id);
	for (int i = 0; i < SLOTS; i++)
		free(w->slot[i].buf);
	free(w->etag);
	free(w);
}

/* The uploaders, each with a client of its own (a curl handle is used by
 * one thread at a time). */
static int start_uploaders(struct s3w *w, const char *arg, const struct mb_media_params *p,
			   struct mb_error *e)
{
	for (int i = 0; i < UPLOADERS; i++) {
		struct uploader_arg *a = malloc(sizeof(*a));

		if (mbm_s3_init(&w->tc[i], arg, p, e) < 0) {
			free(a);
			return -1;
		}
		if (a)
			*a = (struct uploader_arg){ w, i };
		if (!a || pthread_create(&w->th[i], NULL, uploader, a) != 0) {
			free(a);
			return mb_fail(e, MB_ERR_GENERAL, EAGAIN, "unable to start the upload of '%s'",
				       w->c.spec);
		}
		w->n_threads++;
	}
	return 0;
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
	return start_uploaders(w, arg, p, e);
}

/* AbortMultipartUpload: DELETE ?uploadId=ID; 404: already gone. */
int mbm_s3_abort_upload(struct mbm_s3 *c, const char *upload_id, struct mb_error *e)
{
	struct mbm_s3_req r = { .method = "DELETE" };
	int rc = mbm_s3_call(c, &r, "abort the upload of", MBM_S3_2XX | MBM_S3_404, e,
			     "uploadId=%s", upload_id);

	mbm_s3_req_free(&r);
	if (rc < 0)
		return -1;
	mb_info("s3: upload %s of '%s' aborted", upload_id, c->spec);
	return 0;
}

/* ABORT_PATIENCE, or the test seam MBACKUP_S3_ABORT_PATIENCE=N seconds
 * (1 to ABORT_PATIENCE), so that a test of a store gone for good does not
 * wait the whole time. */
static time_t abort_patience(void)
{
	const char *v = getenv("MBACKUP_S3_ABORT_PATIENCE");
	unsigned long n = v ? strtoul(v, NULL, 10) : 0;

	return n && n < ABORT_PATIENCE ? (time_t)n : ABORT_PATIENCE;
}

/* The run's own abort: a gateway that went away (restarted, failed over)
 * is given ABORT_PATIENCE seconds to come back, since a run marked failed
 * is not looked at again by recover. */
static int abort_patiently(struct s3w *w, struct mb_error *e)
{
	time_t until = time(NULL) + abort_patience();

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
	if (w->n_threads) {
		struct mb_error ignored = { 0 };

		wait_idle(w, &ignored);
	}
	w->c.stop.check = NULL;		/* the abort is sent even after a signal */
	if (w->upload_id && abort_patiently(w, &e) < 0)
		mb_warn("%s: its parts stay in the store until it is aborted", e.msg);
	s3w_free(w);
	s->priv = NULL;
}

/* The image is written: every part is uploaded now, the last (short)
 * one too, under the number it will have, so a store that refuses it
 * fails this device while the set can still fail over.  Bytes written
 * after (a rescue image) fill that part again and upload it again under
 * the same number, which replaces it; only the completion is left. */
static int s3_finish(struct mb_sink *s, struct mb_error *e)
{
	struct s3w *w = s->priv;
	struct slot *sl;

	if (wait_idle(w, e) < 0 || ensure_buffer(w, e) < 0)
		return -1;
	sl = &w->slot[w->cur];
	if (w->tail_sent || (sl->len == 0 && w->n_parts > 0))
		return 0;
	if (w->n_parts == MAX_PARTS)
		return mb_fail(e, MB_ERR_MEDIA, EFBIG, "unable to write '%s': more than %d parts",
			       w->c.spec, MAX_PARTS);
	if (put_part(w, &w->c, sl->buf, sl->len, w->n_parts + 1, e) < 0)
		return -1;
	w->tail_sent = true;
	return 0;
}

/* Every part is up (finish), so the ETag the completion will give the
 * object is known before it is asked for. */
static int s3_publication(struct mb_sink *s, char **what, struct mb_error *e)
{
	struct s3w *w = s->priv;

	if (s3_finish(s, e) < 0 || wait_idle(w, e) < 0)
		return -1;
	if (!(*what = mbm_s3_publication(&w->c, w->etag, w->n_parts + w->tail_sent)))
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to record the image '%s'",
			       w->c.spec);
	return 0;
}

static int s3_close(struct mb_sink *s, struct mb_media_position *where, struct mb_error *e)
{
	struct s3w *w = s->priv;

	/* the last part, short (a part may be empty only when it is the only
	 * one), unless finish sent it */
	if (w->tail_sent)
		w->n_parts++;
	else if ((w->slot[w->cur].len > 0 || w->n_parts == 0) && hand_over(w, e) < 0)
		goto fail;
	if (wait_idle(w, e) < 0 ||
	    mbm_s3_complete(&w->c, w->upload_id, w->etag, w->n_parts, s->bytes, e) < 0)
		goto fail;
	for (int i = 0; i < UPLOADERS; i++)
		w->c.requests += w->tc[i].requests;
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

/* Before anything is recorded (and by `check`): the settings, a HEAD
 * of the object (reachable, credentials taken, no image in the way) and
 * the bucket there (s3_probe.c). */
static int s3_check(const char *arg, const struct mb_media_params *p, struct mb_error *e)
{
	struct mbm_s3 c;
	int rc = mbm_s3_init(&c, arg, p, e);

	if (rc == 0)
		rc = mbm_s3_refuse_existing(&c, p->force, e);
	if (rc == 0)
		rc = mbm_s3_probe_bucket(&c, e);

	mbm_s3_fini(&c);
	return rc;
}

const struct mb_media_ops mbm_s3_ops = {
	.name = "s3", .check = s3_check, .open_write = s3_open_write, .write = s3_write,
	.close = s3_close, .abort = s3_abort, .finish = s3_finish, .obligation = s3_obligation,
	.undo = mbm_s3_undo, .publication = s3_publication, .unpublish = mbm_s3_unpublish,
	.open_read = mbm_s3_open_read, .read = mbm_s3_read,
	.seek = mbm_s3_seek, .next_image = mbm_s3_next_image, .close_read = mbm_s3_close_read,
};
