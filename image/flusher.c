/*
 * Buffered output for the writer: a ring of buffers, written to the output in
 * order by a thread of its own while the writer fills the next ones.
 * Reading and hashing the split leg then overlap the write to the media
 * instead of taking turns with it, and a slow reader on the other end (a
 * pipe) does not stall the stream at every buffer.  Each submitted buffer
 * is written whole, in order, by the one thread: the output still sees a
 * plain sequence of writes.
 */
#include "image/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define NBUF 4
#define PIPE_WANT (1u << 20)	/* the default pipe-max-size */

struct mbi_flusher {
	struct mb_image_output out;
	unsigned char *buf[NBUF];
	size_t len[NBUF];

	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	uint64_t submitted;	/* buffers handed over; the writer fills
				 * buf[submitted % NBUF] */
	uint64_t written;	/* buffers the thread is done with */
	bool stop, failed;
	struct mb_error err;	/* the thread's first failure */
};

static void *flusher_main(void *arg)
{
	struct mbi_flusher *f = arg;

	pthread_mutex_lock(&f->lock);
	for (;;) {
		while (f->written == f->submitted && !f->stop)
			pthread_cond_wait(&f->cond, &f->lock);
		if (f->written == f->submitted)
			break;
		const unsigned char *p = f->buf[f->written % NBUF];
		size_t len = f->len[f->written % NBUF];
		bool skip = f->failed;

		pthread_mutex_unlock(&f->lock);
		struct mb_error err = { 0 };
		int rc = skip ? 0 : f->out.write(f->out.ctx, p, len, &err);
		pthread_mutex_lock(&f->lock);
		if (rc < 0) {
			f->failed = true;
			f->err = err;
		}
		f->written++;
		pthread_cond_broadcast(&f->cond);
	}
	pthread_mutex_unlock(&f->lock);
	return NULL;
}

/* A pipe's default 64 KiB makes the writer and the reader on the other end
 * take turns 16 times per MiB; a larger pipe lets each run longer.  Best
 * effort: a pipe we may not grow is only slower. */
static void grow_pipe(int fd)
{
	struct stat st;
	int have;

	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISFIFO(st.st_mode))
		return;
	have = fcntl(fd, F_GETPIPE_SZ);
	if (have >= 0 && (unsigned)have < PIPE_WANT)
		(void)fcntl(fd, F_SETPIPE_SZ, (int)PIPE_WANT);
}

int mbi_flusher_start(struct mbi_flusher **out, const struct mb_image_output *to,
		      size_t cap, struct mb_error *e)
{
	struct mbi_flusher *f = calloc(1, sizeof(*f));
	int err;

	*out = NULL;
	if (!f)
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to allocate the write buffers");
	pthread_mutex_init(&f->lock, NULL);
	pthread_cond_init(&f->cond, NULL);
	for (int i = 0; i < NBUF; i++) {
		if (posix_memalign((void **)&f->buf[i], 4096, cap) != 0) {
			f->buf[i] = NULL;
			mbi_flusher_free(f);
			return mb_fail(e, MB_ERR_GENERAL, ENOMEM,
				       "unable to allocate the write buffers");
		}
	}
	f->out = *to;
	grow_pipe(to->fd);
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
	return f->buf[f->submitted % NBUF];
}

/* Waits until at most `pending` buffers are still to be written; reports
 * the thread's failure, if any. */
static int wait_pending(struct mbi_flusher *f, uint64_t pending, struct mb_error *e)
{
	int rc = 0;

	pthread_mutex_lock(&f->lock);
	while (f->submitted - f->written > pending)
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
	if (len == 0)
		return wait_pending(f, NBUF - 1, e);
	pthread_mutex_lock(&f->lock);
	f->len[f->submitted % NBUF] = len;
	f->submitted++;
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->lock);
	/* the next buffer is free once the thread is done with it */
	return wait_pending(f, NBUF - 1, e);
}

int mbi_flusher_finish(struct mbi_flusher *f, struct mb_error *e)
{
	return wait_pending(f, 0, e);
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
	for (int i = 0; i < NBUF; i++)
		free(f->buf[i]);
	free(f);
}
