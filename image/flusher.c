/*
 * Double-buffered output for the writer: while one buffer is being written
 * to the sink by a thread of its own, the writer fills the other.  Reading
 * and hashing the split leg then overlap the write to the media instead of
 * taking turns with it.  Each submitted buffer is written whole, in order,
 * by the one thread: the sink still sees a plain sequence of writes.
 */
#include "image/internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct mbi_flusher {
	struct mb_sink *sink;
	unsigned char *buf[2];
	int cur;		/* the buffer the writer fills */

	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	const unsigned char *job;	/* being written, NULL when idle */
	size_t job_len;
	bool stop, failed;
	struct mb_error err;	/* the thread's first failure */
};

static void *flusher_main(void *arg)
{
	struct mbi_flusher *f = arg;

	pthread_mutex_lock(&f->lock);
	for (;;) {
		while (!f->job && !f->stop)
			pthread_cond_wait(&f->cond, &f->lock);
		if (!f->job)
			break;
		const unsigned char *p = f->job;
		size_t len = f->job_len;

		pthread_mutex_unlock(&f->lock);
		struct mb_error err = { 0 };
		int rc = f->failed ? 0 : mb_sink_write(f->sink, p, len, &err);
		pthread_mutex_lock(&f->lock);
		if (rc < 0) {
			f->failed = true;
			f->err = err;
		}
		f->job = NULL;
		pthread_cond_broadcast(&f->cond);
	}
	pthread_mutex_unlock(&f->lock);
	return NULL;
}

int mbi_flusher_start(struct mbi_flusher **out, struct mb_sink *sink, size_t cap,
		      struct mb_error *e)
{
	struct mbi_flusher *f = calloc(1, sizeof(*f));
	int err;

	*out = NULL;
	if (!f || posix_memalign((void **)&f->buf[0], 4096, cap) != 0 ||
	    posix_memalign((void **)&f->buf[1], 4096, cap) != 0) {
		if (f) {
			free(f->buf[0]);
			free(f);
		}
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to allocate the write buffers");
	}
	f->sink = sink;
	pthread_mutex_init(&f->lock, NULL);
	pthread_cond_init(&f->cond, NULL);
	err = pthread_create(&f->thread, NULL, flusher_main, f);
	if (err) {
		f->thread = 0;
		mbi_flusher_free(f);
		return mb_fail(e, MB_ERR_GENERAL, err, "unable to start the writer thread");
	}
	*out = f;
	return 0;
}

unsigned char *mbi_flusher_buffer(struct mbi_flusher *f)
{
	return f->buf[f->cur];
}

/* Waits until the thread is idle; reports its failure, if any. */
static int wait_idle(struct mbi_flusher *f, struct mb_error *e)
{
	int rc = 0;

	pthread_mutex_lock(&f->lock);
	while (f->job)
		pthread_cond_wait(&f->cond, &f->lock);
	if (f->failed) {
		if (e && e->code == MB_OK)
			*e = f->err;
		rc = -1;
	}
	pthread_mutex_unlock(&f->lock);
	return rc;
}

int mbi_flusher_submit(struct mbi_flusher *f, size_t len, struct mb_error *e)
{
	if (wait_idle(f, e) < 0)
		return -1;
	if (len == 0)
		return 0;
	pthread_mutex_lock(&f->lock);
	f->job = f->buf[f->cur];
	f->job_len = len;
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->lock);
	f->cur ^= 1;
	return 0;
}

int mbi_flusher_finish(struct mbi_flusher *f, struct mb_error *e)
{
	return wait_idle(f, e);
}

void mbi_flusher_free(struct mbi_flusher *f)
{
	if (!f)
		return;
	if (f->thread) {
		pthread_mutex_lock(&f->lock);
		f->stop = true;
		pthread_cond_broadcast(&f->cond);
		pthread_mutex_unlock(&f->lock);
		pthread_join(f->thread, NULL);
	}
	pthread_mutex_destroy(&f->lock);
	pthread_cond_destroy(&f->cond);
	free(f->buf[0]);
	free(f->buf[1]);
	free(f);
}
