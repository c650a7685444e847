/*
 * The zstd filter (writing): the image goes out as independent zstd
 * frames, then a seek table (zstd_seek.h), so that `zstd -dc` gives the
 * image back byte for byte and a reader with the table decompresses only
 * the frames it needs.  Frames are cut at member boundaries (the
 * writer's hint, ops->boundary) once they hold FRAME_MIN bytes, and
 * inside a member every FRAME_MAX bytes; so a small file lies in one
 * frame and a frame starts with a tar header wherever it can.
 *
 * Threads: frames are independent, so a pool of workers compresses them
 * (one ZSTD_CCtx each) while the caller fills the next, and the caller
 * writes the finished frames in order.  libzstd's own workers
 * (ZSTD_c_nbWorkers) would cut one frame into jobs of several MiB each:
 * at these frame sizes they would not run in parallel, and the frames
 * must stay independent for the seek table.
 */
#include "plugins/media/drivers.h"
#include "plugins/media/zstd_seek.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#define XXH_INLINE_ALL
#include <xxhash.h>
#include <zstd.h>

#include "common/log.h"

#define FRAME_MIN (1u << 20)	/* cut at the first boundary past this */
#define FRAME_MAX (4u << 20)	/* cut inside a member at this */
#define HINTS 64		/* boundaries queued ahead of the bytes */
#define MAX_THREADS 64
#define DEFAULT_MAX_THREADS 8	/* threads 0: the online CPUs, at most this many */

struct zjob {
	unsigned char *in, *out;
	size_t in_len, out_len;
	size_t zrc;		/* ZSTD_compress2's result */
	uint32_t check;
	bool done;
};

struct zw;
struct zworker {
	struct zw *z;
	ZSTD_CCtx *cc;
	pthread_t thr;
	bool started;
};

struct zw {
	struct mb_sink *next;
	int level;
	unsigned nthr, nslot;
	struct zworker *wk;
	struct zjob *slot;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	uint64_t filled, taken, written;	/* jobs handed in, taken, written out */
	bool stop;
	pthread_mutex_t hmu;			/* the hints: increasing offsets */
	uint64_t hint[HINTS], h_last;
	unsigned h_head, h_n;
	uint64_t upos;				/* image bytes of this stream so far */
	uint64_t cbytes;			/* its compressed bytes */
	struct mbz_table table;
	bool ended;				/* finish wrote the seek table; no byte since */
	uint32_t rs;				/* the medium's record; 0: any */
	unsigned char *stage;			/* a partial record (rs > 0) */
	size_t stage_len, stage_cap;
};

static void *worker_main(void *arg)
{
	struct zworker *w = arg;
	struct zw *z = w->z;

	pthread_mutex_lock(&z->mu);
	for (;;) {
		while (!z->stop && z->taken == z->filled)
			pthread_cond_wait(&z->cv, &z->mu);
		if (z->stop)
			break;
		struct zjob *j = &z->slot[z->taken++ % z->nslot];

		pthread_mutex_unlock(&z->mu);
		j->zrc = ZSTD_compress2(w->cc, j->out, ZSTD_compressBound(FRAME_MAX), j->in, j->in_len);
		j->check = (uint32_t)XXH64(j->in, j->in_len, 0);
		pthread_mutex_lock(&z->mu);
		j->done = true;
		pthread_cond_broadcast(&z->cv);
	}
	pthread_mutex_unlock(&z->mu);
	return NULL;
}

/* Compressed bytes to the sink below: as they come, or in whole records. */
static int emit(struct zw *z, const void *buf, size_t len, struct mb_error *e)
{
	const unsigned char *p = buf;

	z->cbytes += len;
	if (!z->rs)
		return mb_sink_write(z->next, p, len, e);
	while (len > 0) {
		size_t n = z->stage_cap - z->stage_len < len ? z->stage_cap - z->stage_len : len;

		memcpy(z->stage + z->stage_len, p, n);
		z->stage_len += n;
		p += n;
		len -= n;
		if (z->stage_len == z->stage_cap) {
			if (mb_sink_write(z->next, z->stage, z->stage_len, e) < 0)
				return -1;
			z->stage_len = 0;
		}
	}
	return 0;
}

/* Waits for the oldest job not yet written, writes it, notes its frame. */
static int write_out(struct zw *z, struct mb_error *e)
{
	struct zjob *j = &z->slot[z->written % z->nslot];

	pthread_mutex_lock(&z->mu);
	while (!j->done)
		pthread_cond_wait(&z->cv, &z->mu);
	pthread_mutex_unlock(&z->mu);
	if (ZSTD_isError(j->zrc))
		return mb_fail(e, MB_ERR_GENERAL, 0, "unable to compress for '%s': %s",
			       z->next->spec, ZSTD_getErrorName(j->zrc));
	if (mbz_table_add(&z->table, (uint32_t)j->zrc, (uint32_t)j->in_len, j->check, e) < 0 ||
	    emit(z, j->out, j->zrc, e) < 0)
		return -1;
	z->written++;
	return 0;
}

static bool oldest_done(struct zw *z)
{
	bool done;

	pthread_mutex_lock(&z->mu);
	done = z->written < z->filled && z->slot[z->written % z->nslot].done;
	pthread_mutex_unlock(&z->mu);
	return done;
}

/* Hands the current frame to the workers, writes what is done, and makes
 * the next slot free to fill. */
static int submit(struct zw *z, struct mb_error *e)
{
	struct zjob *j;

	pthread_mutex_lock(&z->mu);
	z->filled++;
	pthread_cond_broadcast(&z->cv);
	pthread_mutex_unlock(&z->mu);
	while (oldest_done(z))
		if (write_out(z, e) < 0)
			return -1;
	while (z->filled - z->written >= z->nslot)
		if (write_out(z, e) < 0)
			return -1;
	j = &z->slot[z->filled % z->nslot];
	pthread_mutex_lock(&z->mu);
	j->in_len = 0;
	j->done = false;
	pthread_mutex_unlock(&z->mu);
	return 0;
}

/* Where the frame that started at fstart ends: the first hinted member
 * boundary at least FRAME_MIN into it, else FRAME_MAX into it. */
static uint64_t next_cut(struct zw *z, uint64_t fstart)
{
	uint64_t cut = fstart + FRAME_MAX;

	pthread_mutex_lock(&z->hmu);
	while (z->h_n && (z->hint[z->h_head] < fstart + FRAME_MIN || z->hint[z->h_head] < z->upos)) {
		z->h_head = (z->h_head + 1) % HINTS;
		z->h_n--;
	}
	if (z->h_n && z->hint[z->h_head] < cut)
		cut = z->hint[z->h_head];
	pthread_mutex_unlock(&z->hmu);
	return cut;
}

static void zw_boundary(struct mb_sink *s, uint64_t off)
{
	struct zw *z = s->priv;

	pthread_mutex_lock(&z->hmu);
	/* one cut a FRAME_MIN is all that is used: the queue stays short */
	if (z->h_n < HINTS && (z->h_n == 0 || off >= z->h_last + FRAME_MIN)) {
		z->hint[(z->h_head + z->h_n++) % HINTS] = off;
		z->h_last = off;
	}
	pthread_mutex_unlock(&z->hmu);
}

static int zw_write(struct mb_sink *s, const void *buf, size_t len, struct mb_error *e)
{
	struct zw *z = s->priv;
	const unsigned char *p = buf;

	z->ended = z->ended && len == 0;
	while (len > 0) {
		struct zjob *j = &z->slot[z->filled % z->nslot];
		uint64_t cut = next_cut(z, z->upos - j->in_len);
		size_t n = cut - z->upos < len ? (size_t)(cut - z->upos) : len;

		memcpy(j->in + j->in_len, p, n);
		j->in_len += n;
		z->upos += n;
		s->bytes += n;
		p += n;
		len -= n;
		if (z->upos == cut && submit(z, e) < 0)
			return -1;
	}
	return 0;
}

/* On a medium of fixed records the stream must end on a record: a
 * skippable frame (an entry of the table, 0 bytes of image) pads it. */
static int pad_records(struct zw *z, struct mb_error *e)
{
	size_t r = z->stage_len % z->rs, pad;
	unsigned char head[MBZ_SKIP_HEAD], zero[4096] = { 0 };

	if ((r + mbz_table_len(z->table.n)) % z->rs == 0)
		return 0;
	pad = (z->rs - (r + mbz_table_len(z->table.n + 1)) % z->rs) % z->rs;
	if (pad < MBZ_SKIP_HEAD)
		pad += z->rs;
	memcpy(head, (const unsigned char[]){ 0x50, 0x2a, 0x4d, 0x18 }, 4);
	for (int i = 0; i < 4; i++)
		head[4 + i] = (unsigned char)((pad - MBZ_SKIP_HEAD) >> (8 * i));
	if (mbz_table_add(&z->table, (uint32_t)pad, 0, (uint32_t)XXH64(NULL, 0, 0), e) < 0 ||
	    emit(z, head, sizeof(head), e) < 0)
		return -1;
	for (pad -= MBZ_SKIP_HEAD; pad > 0;) {
		size_t n = pad < sizeof(zero) ? pad : sizeof(zero);

		if (emit(z, zero, n, e) < 0)
			return -1;
		pad -= n;
	}
	return 0;
}

/* The last frame, every frame written out, the seek table; the next
 * stream starts empty. */
static int end_stream(struct zw *z, struct mb_error *e)
{
	unsigned char *tab = NULL;
	size_t len;
	int rc = -1;

	if (z->slot[z->filled % z->nslot].in_len && submit(z, e) < 0)
		return -1;
	while (z->written < z->filled)
		if (write_out(z, e) < 0)
			return -1;
	if (z->rs && pad_records(z, e) < 0)
		return -1;
	len = mbz_table_len(z->table.n);
	if (!(tab = malloc(len)))
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to write the seek table");
	mbz_table_render(&z->table, tab);
	if (emit(z, tab, len, e) < 0 ||
	    (z->stage_len && mb_sink_write(z->next, z->stage, z->stage_len, e) < 0))
		goto out;
	mb_info("zstd: %llu image bytes in %zu frames, %llu bytes compressed (%.2f:1) to '%s'",
		(unsigned long long)z->upos, z->table.n, (unsigned long long)z->cbytes,
		z->cbytes ? (double)z->upos / (double)z->cbytes : 0.0, z->next->spec);
	z->stage_len = 0;
	z->table.n = 0;
	z->upos = z->cbytes = 0;
	pthread_mutex_lock(&z->hmu);
	z->h_n = 0;
	pthread_mutex_unlock(&z->hmu);
	rc = 0;
out:
	free(tab);
	return rc;
}

static void zw_free(struct zw *z)
{
	if (!z)
		return;
	pthread_mutex_lock(&z->mu);
	z->stop = true;
	pthread_cond_broadcast(&z->cv);
	pthread_mutex_unlock(&z->mu);
	for (unsigned i = 0; z->wk && i < z->nthr; i++) {
		if (z->wk[i].started)
			pthread_join(z->wk[i].thr, NULL);
		ZSTD_freeCCtx(z->wk[i].cc);
	}
	for (unsigned i = 0; z->slot && i < z->nslot; i++) {
		free(z->slot[i].in);
		free(z->slot[i].out);
	}
	pthread_mutex_destroy(&z->mu);
	pthread_cond_destroy(&z->cv);
	pthread_mutex_destroy(&z->hmu);
	mbz_table_free(&z->table);
	free(z->wk);
	free(z->slot);
	free(z->stage);
	free(z);
}

static void zw_abort(struct mb_sink *s)
{
	zw_free(s->priv);
	s->priv = NULL;
}

/* The image is written: its stream ends here (the last frames and the
 * seek table go down now), unless finish already ended it. */
static int zw_finish(struct mb_sink *s, struct mb_error *e)
{
	struct zw *z = s->priv;

	if (z->ended)
		return 0;
	if (end_stream(z, e) < 0)
		return -1;
	z->ended = true;
	return 0;
}

static int zw_close(struct mb_sink *s, struct mb_media_position *where, struct mb_error *e)
{
	int rc = zw_finish(s, e);

	zw_abort(s);
	return rc;
}

/* One image ends and another follows (a rescue image): each has its own
 * stream and seek table, then the medium's mark (a tape file). */
static int zw_mark(struct mb_sink *s, struct mb_error *e)
{
	struct zw *z = s->priv;

	if (zw_finish(s, e) < 0)
		return -1;
	z->ended = false;	/* the next image's stream, even if empty */
	return mb_sink_mark(z->next, e);
}

const struct mb_media_ops mbm_zstd_ops = {
	.name = "zstd", .write = zw_write, .close = zw_close, .abort = zw_abort,
	.mark = zw_mark, .boundary = zw_boundary, .finish = zw_finish,
};

static int start_worker(struct zw *z, struct zworker *w, struct mb_error *e)
{
	w->z = z;
	if (!(w->cc = ZSTD_createCCtx()) ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(w->cc, ZSTD_c_compressionLevel, z->level)) ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(w->cc, ZSTD_c_checksumFlag, 1)))
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to set up zstd level %d", z->level);
	if ((errno = pthread_create(&w->thr, NULL, worker_main, w)) != 0)
		return mb_fail(e, MB_ERR_GENERAL, errno, "unable to start a compressor thread");
	w->started = true;
	return 0;
}

static int zw_setup(struct zw *z, const struct mb_compress *c, struct mb_error *e)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	z->level = c->level;
	z->nthr = c->threads ? c->threads : cpus > DEFAULT_MAX_THREADS ? DEFAULT_MAX_THREADS :
		  cpus > 0 ? (unsigned)cpus : 1;
	if (z->nthr > MAX_THREADS)
		z->nthr = MAX_THREADS;
	/* one filling, one being written, the rest compressing: 8 MiB each */
	z->nslot = z->nthr + 2;
	if (z->rs) {
		z->stage_cap = z->rs >= (1u << 20) ? z->rs : (1u << 20) / z->rs * z->rs;
		if (!(z->stage = malloc(z->stage_cap)))
			return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to allocate the zstd buffers");
	}
	if (!(z->slot = calloc(z->nslot, sizeof(*z->slot))) ||
	    !(z->wk = calloc(z->nthr, sizeof(*z->wk))))
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to allocate the zstd buffers");
	for (unsigned i = 0; i < z->nslot; i++)
		if (!(z->slot[i].in = malloc(FRAME_MAX)) ||
		    !(z->slot[i].out = malloc(ZSTD_compressBound(FRAME_MAX))))
			return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to allocate the zstd buffers");
	for (unsigned i = 0; i < z->nthr; i++)
		if (start_worker(z, &z->wk[i], e) < 0)
			return -1;
	return 0;
}

int mb_sink_push_zstd(struct mb_sink **top, const struct mb_compress *c, struct mb_error *e)
{
	struct mb_sink *n = *top, *s = mbm_sink_new(&mbm_zstd_ops, n->spec);
	struct zw *z = calloc(1, sizeof(*z));

	if (!s || !z) {
		free(z);
		if (s)
			free(s->spec);
		free(s);
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to compress for '%s'", n->spec);
	}
	pthread_mutex_init(&z->mu, NULL);
	pthread_cond_init(&z->cv, NULL);
	pthread_mutex_init(&z->hmu, NULL);
	z->next = n;
	z->rs = n->record_size;
	s->priv = z;
	s->next = n;
	s->fd = n->fd;
	s->record_size = n->record_size;
	*top = s;		/* from here the chain frees it */
	if (zw_setup(z, c, e) < 0)
		return -1;
	if (n->path && (strlen(n->path) < 4 || strcmp(n->path + strlen(n->path) - 4, ".zst")))
		mb_warn("media '%s' is compressed: a name ending in .zst tells the tools", n->spec);
	return 0;
}
