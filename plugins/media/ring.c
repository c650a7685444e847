/*
 * The RAM ring: a filter that keeps a streaming medium (a tape drive) fed.
 * Whole records go into a ring of RAM; a thread of its own writes them to
 * the sink below, one record per write, so the drive keeps streaming while
 * the producer stalls.  The thread waits for the ring to be half full
 * before (re)starting, so a slow producer makes the drive stop seldom
 * rather than often; the times it ran dry are handed to the sink below at
 * close (s->next->ran_dry) for its report.
 */
#include "plugins/media/drivers.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct ring {
	unsigned char *buf;	/* cap records of bs bytes; the thread takes from tail */
	uint32_t bs;
	size_t cap, head, tail, count;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t thr;
	bool done, stop, failed;
	bool draining;		/* a mark waits: write what is queued, full or not */
	struct mb_error err;	/* the thread's failure */
	uint64_t records, ran_dry, records_at_dry;
	struct mb_sink *next;
	struct mb_media_stop run_stop;	/* looked at while the producer waits */
};

#define RING_STOP_MS 200	/* how often a waiting producer looks at the stop */

/* Waits for room (or the thread's failure) while the stop allows; -1 with
 * e filled when the run must end.  Holds mu. */
static int ring_wait_room(struct ring *g, struct mb_error *e)
{
	while (g->count == g->cap && !g->failed) {
		struct timespec until;

		if (!g->run_stop.check) {
			pthread_cond_wait(&g->cv, &g->mu);
			continue;
		}
		if (g->run_stop.check(e) < 0)
			return -1;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += RING_STOP_MS * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&g->cv, &g->mu, &until);
	}
	return 0;
}

/* Waits until there is a record to write (and, unless primed or done, the
 * ring is half full); false when the thread should end.  Holds mu. */
static bool ring_wait(struct ring *g, bool primed)
{
	while (!g->stop && !(g->done && g->count == 0) &&
	       (g->count == 0 ||
		(!primed && !g->done && !g->draining && g->count < g->cap / 2)))
		pthread_cond_wait(&g->cv, &g->mu);
	return !g->stop && g->count > 0;
}

static void *ring_main(void *arg)
{
	struct ring *g = arg;
	bool primed = false;

	pthread_mutex_lock(&g->mu);
	while (ring_wait(g, primed)) {
		const unsigned char *rec = g->buf + g->tail * g->bs;
		int rc;

		primed = true;
		pthread_mutex_unlock(&g->mu);
		rc = mb_sink_write(g->next, rec, g->bs, &g->err);
		pthread_mutex_lock(&g->mu);
		if (rc < 0) {
			g->failed = true;
			pthread_cond_broadcast(&g->cv);
			break;
		}
		g->tail = (g->tail + 1) % g->cap;
		g->count--;
		g->records++;
		if (g->count == 0 && !g->done) {
			g->ran_dry++;
			g->records_at_dry = g->records;
			primed = false;
		}
		pthread_cond_broadcast(&g->cv);
	}
	pthread_mutex_unlock(&g->mu);
	return NULL;
}

/* The thread's failure becomes the caller's (first error wins). */
static int copy_err(struct mb_error *e, const struct mb_error *from)
{
	if (e->code == MB_OK)
		*e = *from;
	return -1;
}

/* Queues whole records; blocks while the ring is full. */
static int ring_write(struct mb_sink *s, const void *buf, size_t len, struct mb_error *e)
{
	struct ring *g = s->priv;
	const unsigned char *p = buf;
	int rc = 0;

	if (len % g->bs)
		return mb_fail(e, MB_ERR_INTERNAL, 0, "%zu bytes for '%s' are not whole "
			       "%u-byte records", len, s->spec, g->bs);
	pthread_mutex_lock(&g->mu);
	for (; len > 0; len -= g->bs, p += g->bs) {
		if (ring_wait_room(g, e) < 0) {
			pthread_mutex_unlock(&g->mu);
			return -1;
		}
		if (g->failed)
			break;
		memcpy(g->buf + g->head * g->bs, p, g->bs);
		g->head = (g->head + 1) % g->cap;
		g->count++;
		s->bytes += g->bs;
		pthread_cond_broadcast(&g->cv);
	}
	if (g->failed)
		rc = copy_err(e, &g->err);
	pthread_mutex_unlock(&g->mu);
	return rc;
}

/* Waits until every queued record is written (a tape's end or a write
 * error shows here, not only at close). */
static int ring_finish(struct mb_sink *s, struct mb_error *e)
{
	struct ring *g = s->priv;
	int rc = 0;

	pthread_mutex_lock(&g->mu);
	/* The thread may be waiting for the ring to fill half way: tell it
	 * not to, or both would wait for each other. */
	g->draining = true;
	pthread_cond_broadcast(&g->cv);
	while (g->count > 0 && !g->failed)
		pthread_cond_wait(&g->cv, &g->mu);
	g->draining = false;
	if (g->failed)
		rc = copy_err(e, &g->err);
	pthread_mutex_unlock(&g->mu);
	return rc;
}

/* Every queued record written, then the mark passed on. */
static int ring_mark(struct mb_sink *s, struct mb_error *e)
{
	return ring_finish(s, e) < 0 ? -1 : mb_sink_mark(((struct ring *)s->priv)->next, e);
}

static void ring_stop(struct ring *g, bool abort)
{
	pthread_mutex_lock(&g->mu);
	g->done = true;
	g->stop = abort;
	pthread_cond_broadcast(&g->cv);
	pthread_mutex_unlock(&g->mu);
	pthread_join(g->thr, NULL);
	pthread_mutex_destroy(&g->mu);
	pthread_cond_destroy(&g->cv);
}

static void ring_abort(struct mb_sink *s)
{
	struct ring *g = s->priv;

	if (!g)
		return;
	ring_stop(g, true);
	free(g->buf);
	free(g);
	s->priv = NULL;
}

/* Drains the ring into the sink below. */
static int ring_close(struct mb_sink *s, struct mb_media_position *where, struct mb_error *e)
{
	struct ring *g = s->priv;
	int rc = 0;

	ring_stop(g, false);
	if (g->failed)
		rc = copy_err(e, &g->err);
	if (g->ran_dry && g->records_at_dry == g->records)
		g->ran_dry--;	/* the ring emptying at the very end */
	g->next->ran_dry = g->ran_dry;
	free(g->buf);
	free(g);
	s->priv = NULL;
	return rc;
}

const struct mb_media_ops mbm_ring_ops = {
	.name = "ring", .write = ring_write, .close = ring_close, .abort = ring_abort,
	.mark = ring_mark, .finish = ring_finish,
};

int mb_sink_push_ring(struct mb_sink **top, uint64_t bytes, const struct mb_media_stop *stop,
		      struct mb_error *e)
{
	struct mb_sink *n = *top, *s = mbm_sink_new(&mbm_ring_ops, n->spec);
	struct ring *g = calloc(1, sizeof(*g));

	if (!s || !g || n->record_size == 0)
		goto nomem;
	g->bs = n->record_size;
	g->cap = bytes / g->bs < 2 ? 2 : (size_t)(bytes / g->bs);
	g->next = n;
	if (stop)
		g->run_stop = *stop;
	if (!(g->buf = malloc(g->cap * g->bs)))
		goto nomem;
	pthread_mutex_init(&g->mu, NULL);
	pthread_cond_init(&g->cv, NULL);
	if ((errno = pthread_create(&g->thr, NULL, ring_main, g)) != 0) {
		pthread_mutex_destroy(&g->mu);
		pthread_cond_destroy(&g->cv);
		mb_fail(e, MB_ERR_GENERAL, errno, "unable to start the writer of '%s'", n->spec);
		goto fail;
	}
	s->priv = g;
	s->next = n;
	s->fd = n->fd;
	s->record_size = n->record_size;
	*top = s;
	return 0;
nomem:
	mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to allocate a %llu-byte buffer for '%s'",
		(unsigned long long)bytes, n->spec);
fail:
	if (g)
		free(g->buf);
	free(g);
	if (s)
		free(s->spec);
	free(s);
	return -1;
}
