/*
 * The watch of a classic snapshot: a thread reads the container's fill
 * through libdevmapper every MB_SNAP_POLL_MS for the snapshot's whole life
 * (dmeventd is not relied on: it checks from 50 % in 5 % steps, seconds
 * apart).  Its levers, in order:
 *
 *   extend    past MB_SNAP_EXTEND_AT, or when the fill rate would pass it
 *             within twice the time the last lvextend took (at least 2 s:
 *             lvextend suspends and reloads, seconds under load), it grows
 *             the container by half its size, at least MB_SNAP_GROW_MIN and
 *             what that horizon's writes need twice over, up to
 *             --snapshot-extend-max
 *   throttle  when it cannot grow, one quantity decides: the room left
 *             below a safety mark (THROTTLE_MARGIN_PTS under the abort
 *             mark) spread over THROTTLE_HORIZON_MS, room_bps.  The writers
 *             are limited (snapshot_throttle.c) once the fill rate exceeds
 *             it (or past MB_SNAP_THROTTLE_AT), to it, never more than the
 *             limit before (at first THROTTLE_START_BPS), never under
 *             the floor; so the room decays geometrically whatever the
 *             writers ask and however late a poll comes.  io.max limits
 *             the origin's bytes, the container fills by chunks: an 8 KiB
 *             page written into a 64 KiB chunk copies 8 times its bytes.
 *             So the limit is the room divided by the amplification the
 *             watch measures (fill delta over the bytes the cgroup's
 *             io.stat says it wrote; without io.stat, over the limit,
 *             which the writers cannot pass: a lower bound), and the
 *             floor (THROTTLE_MIN_BPS) bounds the fill, divided likewise,
 *             never under THROTTLE_MIN_WRITE_BPS of writes (a page every
 *             two seconds: the writers live, the backup finishes).
 *             (wiops beside wbps would bound the chunks too, but wbps with
 *             wiops misbehaved on some kernels, and a measured ratio also
 *             holds for the writes that land in chunks already copied.)
 *             The limit is
 *             lifted when the fill falls THROTTLE_RELEASE_PTS under the
 *             throttle mark with the rate at half the room (a thin pool
 *             that discard-behind drains), else when the stream ends
 *   abort     a classic snapshot is dropped (snapshot.c: its table becomes
 *             an error target, its copy-outs stop, the stream's reads fail)
 *             at MB_SNAP_ABORT_AT, or before it when no lever is left (it
 *             cannot grow, the writers are at the floor or not throttled)
 *             and the fill, projected at the fill rate over the next two
 *             looks, would reach it: a writer faster than the floor (a
 *             chunk copied for every small write) ends the run cleanly
 *             instead of invalidating the snapshot.  A burst faster than a
 *             poll can still invalidate it: that is noted, the stream's
 *             reads fail, and stream_done says so.
 *
 * A thin snapshot's watch (snapshot_thin.c) reads the pool instead, with
 * marks of its own, and drops the snapshot at its abort mark before the
 * pool can fill.
 */
#include "plugins/mirror/snapshot.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/spawn.h"
#include "plugins/mirror/dm.h"

#define LVEXTEND_TIMEOUT_MS 60000
#define THROTTLE_START_BPS (1LL << 20)	/* first limit at most: 1 MiB/s */
#define THROTTLE_MIN_BPS (32LL << 10)	/* the floor, as the container's fill */
#define THROTTLE_MIN_WRITE_BPS (4LL << 10)	/* the floor of the writes, whatever the ratio */
/* a ratio is taken over at least this much written, or filled */
#define AMP_MIN_BYTES (64LL << 10)
#define AMP_MIN_FILL (1LL << 20)
#define THROTTLE_HORIZON_MS 20000	/* the room left must last this long */
#define THROTTLE_MARGIN_PTS 5.0		/* the safety mark: under the ceiling by this */
#define THROTTLE_RELEASE_PTS 10.0	/* lifted this far under the throttle mark */

struct mb_snap_watch {
	struct mb_snap_watch_conf conf;
	pthread_t thread;
	pthread_mutex_t lock;
	/* held across an lvextend, which suspends and reloads the pool's
	 * table: a thin table loaded meanwhile is refused (EINVAL) */
	pthread_mutex_t tables;
	pthread_cond_t wake;
	bool stop, cannot_grow, invalid, dropped;
	bool meta_cannot_grow;		/* a thin pool's metadata */
	double peak, last_pct;
	int extensions, meta_extensions;
	long long meta_initial;
	long long size_initial, throttle_since, throttled_ms;
	long long logged_bps;		/* the limit the log last showed */
	long long extend_ms;		/* the last lvextend's duration */
	double rate;			/* bytes/s into the container, smoothed */
	double last_rate;		/* the same over the last interval alone */
	double amp;			/* container bytes per byte written, >= 1 */
	long long last_wbytes;		/* the cgroup's io.stat wbytes, -1: unknown */
	uint64_t amp_used;		/* sectors when last_wbytes was read */
	uint64_t last_used;		/* sectors, at last_ms */
	long long last_ms;
	long long gap_ms;		/* between the last two looks, less work_ms */
	long long work_ms;		/* spent growing since the last look */
};

/* Grows the container; false when it cannot (limit, no free space). */
static long long horizon_ms(const struct mb_snap_watch *w)
{
	return 2 * w->extend_ms > 2000 ? 2 * w->extend_ms : 2000;
}
/* Takes the tables; true when they were held (an lvextend or a reload
 * under the pool was under way: the two would have met). */
static bool tables_take(struct mb_snap_watch *w)
{
	if (pthread_mutex_trylock(&w->tables) == 0)
		return false;
	pthread_mutex_lock(&w->tables);
	return true;
}

/* One lvextend of target, with the tables held (mb_snap_watch_tables). */
static int extend(struct mb_snap_watch *w, const char *const *argv, const char *target,
		  struct mb_error *e)
{
	long long t0 = mb_now_ms();
	int rc;

	if (tables_take(w))
		mb_info("snapshot: the extension of '%s' waited %lld ms for a table reload under it",
			target, mb_now_ms() - t0);
	rc = mb_spawn(argv, LVEXTEND_TIMEOUT_MS, MB_ERR_MIRROR, NULL, e);
	pthread_mutex_unlock(&w->tables);
	return rc;
}

bool mb_snap_watch_tables(struct mb_snap_watch *w, bool hold)
{
	if (!w)
		return false;
	if (hold)
		return tables_take(w);
	pthread_mutex_unlock(&w->tables);
	return false;
}

static bool grow(struct mb_snap_watch *w)
{
	long long add = w->conf.size / 2 > MB_SNAP_GROW_MIN ? w->conf.size / 2 : MB_SNAP_GROW_MIN;
	long long need = (long long)(2 * w->rate * (double)horizon_ms(w) / 1000), t0 = mb_now_ms();
	char size[32], target[2 * MB_LVM_NAME_MAX + 40];
	const char *argv[] = { "lvextend", "-q", "-L", size, target, w->conf.pv, NULL };
	struct mb_error e = { 0 };

	if (need > add)
		add = need;
	if (w->conf.limit > 0 && w->conf.size + add > w->conf.limit)
		add = w->conf.limit - w->conf.size;
	snprintf(target, sizeof(target), "%s/%s", w->conf.vg, w->conf.snap_lv);
	if (add < (1 << 20)) {
		mb_info("snapshot: '%s' cannot grow past %lld MiB (--snapshot-extend-max or the free "
			"space)", target, w->conf.size >> 20);
		return false;
	}
	snprintf(size, sizeof(size), "+%lldk", add >> 10);
	if (extend(w, argv, target, &e) < 0) {
		mb_warn("snapshot: unable to extend '%s' (%s); it cannot grow further", target, e.msg);
		return false;
	}
	pthread_mutex_lock(&w->lock);
	w->conf.size += add;
	w->extensions++;
	w->extend_ms = mb_now_ms() - t0;
	pthread_mutex_unlock(&w->lock);
	mb_info("snapshot: extended '%s' by %lld MiB to %lld MiB in %lld ms", target, add >> 20,
		w->conf.size >> 20, w->extend_ms);
	return true;
}

/* A thin pool whose metadata is the fuller part: its metadata LV grows
 * by half (at least MB_SNAP_META_GROW_MIN) up to MB_SNAP_META_MAX.  Like
 * the data's, an extension is not undone: a pool never shrinks. */
static bool grow_meta(struct mb_snap_watch *w)
{
	long long add = w->conf.meta_size / 2, t0 = mb_now_ms();
	char size[32], target[2 * MB_LVM_NAME_MAX + 40];
	const char *argv[] = { "lvextend", "-q", "--poolmetadatasize", size, target, w->conf.pv,
			       NULL };
	struct mb_error e = { 0 };

	if (add < MB_SNAP_META_GROW_MIN)
		add = MB_SNAP_META_GROW_MIN;
	if (w->conf.meta_size + add > MB_SNAP_META_MAX)
		add = MB_SNAP_META_MAX - w->conf.meta_size;
	snprintf(target, sizeof(target), "%s/%s", w->conf.vg, w->conf.snap_lv);
	if (add < (1 << 20)) {
		mb_warn("snapshot: the metadata of '%s' is at LVM's largest; it cannot grow", target);
		return false;
	}
	snprintf(size, sizeof(size), "+%lldk", add >> 10);
	if (extend(w, argv, target, &e) < 0) {
		mb_warn("snapshot: unable to extend the metadata of '%s' (%s); it cannot grow further",
			target, e.msg);
		return false;
	}
	pthread_mutex_lock(&w->lock);
	w->conf.meta_size += add;
	w->meta_extensions++;
	pthread_mutex_unlock(&w->lock);
	mb_info("snapshot: extended the metadata of '%s' by %lld MiB to %lld MiB in %lld ms", target,
		add >> 20, w->conf.meta_size >> 20, mb_now_ms() - t0);
	return true;
}

/* Room for the fuller part: the data, or a thin pool's metadata; false
 * (and never asked again) once that part cannot grow. */
static bool cannot_grow(const struct mb_snap_watch *w, bool meta)
{
	return meta && w->conf.meta_size > 0 ? w->meta_cannot_grow : w->cannot_grow;
}

static void make_room(struct mb_snap_watch *w, bool meta)
{
	long long t0 = mb_now_ms();

	if (meta && w->conf.meta_size > 0) {
		if (!grow_meta(w))
			w->meta_cannot_grow = true;
	} else if (!grow(w)) {
		w->cannot_grow = true;
	}
	w->work_ms += mb_now_ms() - t0;
}

/* The limit that lets the room under the safety mark (under the abort
 * mark; 100 % for a container the watch cannot drop) last
 * THROTTLE_HORIZON_MS. */
static long long room_bps(const struct mb_snap_watch *w, const struct mb_dm_snap_fill *f)
{
	double ceiling = w->conf.abort_at > 0 ? w->conf.abort_at : 100.0;
	double room = (double)f->total * 512 * (ceiling - THROTTLE_MARGIN_PTS) / 100 -
		      (double)f->used * 512;

	return room <= 0 ? 0 : (long long)(room * 1000 / THROTTLE_HORIZON_MS);
}

/* The lowest limit: THROTTLE_MIN_BPS of fill at the measured ratio, at
 * least THROTTLE_MIN_WRITE_BPS of writes. */
static long long floor_bps(const struct mb_snap_watch *w)
{
	long long bps = (long long)((double)THROTTLE_MIN_BPS / w->amp);

	return bps > THROTTLE_MIN_WRITE_BPS ? bps : THROTTLE_MIN_WRITE_BPS;
}

/* The ratio of the container's fill to the origin's writes since the
 * last reading, taken at once when it rises, smoothed when it falls; the
 * writes are io.stat's, else the limit's most (a lower bound). */
static void update_amp(struct mb_snap_watch *w, uint64_t used, long long dt_ms)
{
	const struct mb_throttle *t = w->conf.throttle;
	long long wb = t && t->cgroup[0] ? mb_throttle_wbytes(t) : -1;
	double wrote = -1, filled = used >= w->amp_used ? (double)(used - w->amp_used) * 512 : -1, r;
	bool enough;

	if (wb >= 0 && w->last_wbytes >= 0 && wb >= w->last_wbytes)
		wrote = (double)(wb - w->last_wbytes);
	else if (wb < 0 && t && t->set && dt_ms > 0)
		wrote = (double)t->bps * (double)dt_ms / 1000;
	enough = wrote > 0 && filled >= 0 && (wrote >= AMP_MIN_BYTES || filled >= AMP_MIN_FILL);
	if (enough) {
		r = filled / wrote;
		r = r > w->amp ? r : w->amp * 0.75 + r * 0.25;
		w->amp = r > 1 ? r : 1;
	}
	/* little written: the next look measures over a longer span */
	if (enough || wb < 0 || w->last_wbytes < 0 || wb < w->last_wbytes || filled < 0) {
		w->last_wbytes = wb;
		w->amp_used = used;
	}
}

/* Past the mark with no room to grow: limit the writers to what the room
 * left allows at the measured ratio, lowered at every poll as it shrinks. */
static void throttle(struct mb_snap_watch *w, const struct mb_dm_snap_fill *f, double pct)
{
	struct mb_throttle *t = w->conf.throttle;
	long long bps = t && t->set ? t->bps : THROTTLE_START_BPS;
	long long room = (long long)((double)room_bps(w, f) / w->amp);
	struct mb_error e = { 0 };

	if (!t || !t->cgroup[0])
		return;
	if (room < bps)
		bps = room;
	if (bps < floor_bps(w))
		bps = floor_bps(w);
	if (t->set && bps >= t->bps)
		return;
	if (mb_throttle_set(t, bps, &e) < 0) {
		mb_warn("snapshot: %s", e.msg);
		return;
	}
	pthread_mutex_lock(&w->lock);
	if (!w->throttle_since)
		w->throttle_since = mb_now_ms();
	pthread_mutex_unlock(&w->lock);
	if (w->logged_bps && bps > w->logged_bps / 2 && bps > floor_bps(w))
		return;
	w->logged_bps = bps;
	mb_info("snapshot: container %.1f%% full and it cannot grow: writers of '%s' limited to "
		"%lld KiB/s (%.1f bytes copied a byte written)", pct, t->cgroup, t->bps >> 10, w->amp);
}

/* Lifts the limit (the fill fell, or the stream ended); the time it held
 * adds to throttled_ms. */
static void release(struct mb_snap_watch *w, double pct)
{
	struct mb_throttle *t = w->conf.throttle;
	struct mb_error e = { 0 };

	if (!t || !t->set)
		return;
	if (mb_throttle_lift(t, &e) < 0) {
		mb_error_log("%s (recover lifts it)", e.msg);
		return;
	}
	pthread_mutex_lock(&w->lock);
	w->throttled_ms += mb_now_ms() - w->throttle_since;
	w->throttle_since = 0;
	pthread_mutex_unlock(&w->lock);
	w->logged_bps = 0;
	mb_info("snapshot: writers of '%s' released after %lld ms (container %.1f%% full)",
		t->cgroup, w->throttled_ms, pct);
}

/* The fill rate, bytes/s: a rise is taken at once, a fall smoothed over
 * about a second of polls (a watch that must act before the container
 * fills cannot wait for an average to catch up with a writer that just
 * started); a fill that fell (a thin pool given blocks back) is a net
 * rate of none. */
static void update_rate(struct mb_snap_watch *w, uint64_t used)
{
	long long now = mb_now_ms();

	update_amp(w, used, w->last_ms ? now - w->last_ms : 0);
	if (w->last_ms && now > w->last_ms && used >= w->last_used) {
		double r = (double)(used - w->last_used) * 512 * 1000 / (double)(now - w->last_ms);

		w->rate = r > w->rate ? r : w->rate * 0.75 + r * 0.25;
		w->last_rate = r;
	} else if (used < w->last_used) {
		w->rate = w->last_rate = 0;
	}
	if (w->last_ms)
		w->gap_ms = now - w->last_ms - w->work_ms;
	w->work_ms = 0;
	w->last_used = used;
	w->last_ms = now;
}

/* Past the mark, or going to pass it before an lvextend could be done. */
static bool wants_room(const struct mb_snap_watch *w, const struct mb_dm_snap_fill *f, double pct)
{
	double soon = (double)f->used * 512 + w->rate * (double)horizon_ms(w) / 1000;

	return pct >= w->conf.extend_at || soon >= (double)f->total * 512 * w->conf.extend_at / 100;
}

/* No lever left: the container cannot grow, and its writers are not
 * throttled (off, no cgroup) or already at the floor. */
static bool no_lever(const struct mb_snap_watch *w, const struct mb_dm_snap_fill *f)
{
	const struct mb_throttle *t = w->conf.throttle;

	return cannot_grow(w, f->meta) && (!t || (t->set && t->bps <= floor_bps(w)));
}

/* At the abort mark now, or (a classic container with no lever left) at
 * it within the next two looks at the last interval's fill rate (the
 * smoothed one still remembers the writers before their limit): a poll
 * late by as much as the last one was, and the drop's own suspend, still
 * come in time. */
static bool must_abort(const struct mb_snap_watch *w, const struct mb_dm_snap_fill *f, double pct)
{
	long long ahead_ms = 2 * (w->gap_ms > MB_SNAP_POLL_MS ? w->gap_ms : MB_SNAP_POLL_MS);

	if (w->conf.abort_at <= 0 || w->stop)
		return false;
	if (pct >= w->conf.abort_at)
		return true;
	if (w->conf.pool || !no_lever(w, f))
		return false;
	return (double)f->used * 512 + w->last_rate * (double)ahead_ms / 1000 >=
	       (double)f->total * 512 * w->conf.abort_at / 100;
}

/* The snapshot is lost (a classic one invalidated), or must go before it
 * is (dropped: the stream's reads fail); the writers' limit has no use
 * any more and is lifted at once. */
static bool lost(struct mb_snap_watch *w, double pct, bool invalid)
{
	bool drop = w->conf.drop && (w->conf.pool || !invalid);

	if (drop && w->conf.pool)
		mb_error_log("thin pool '%s/%s' is %.1f%% full%s: dropping the snapshot before the "
			     "pool fills", w->conf.vg, w->conf.snap_lv, pct, invalid ? " (out of space)" : "");
	else if (drop)
		mb_error_log("snapshot '%s/%s': container %.1f%% full, filling at %lld KiB/s, and it "
			     "cannot grow: dropping the snapshot before it overflows", w->conf.vg,
			     w->conf.snap_lv, pct, (long long)w->last_rate >> 10);
	else
		mb_error_log("snapshot '%s/%s' is invalid: its container overflowed",
			     w->conf.vg, w->conf.snap_lv);
	if (drop)
		w->conf.drop(w->conf.drop_arg);
	pthread_mutex_lock(&w->lock);
	w->invalid = true;
	w->dropped = drop && !invalid;
	pthread_mutex_unlock(&w->lock);
	release(w, pct);
	return false;
}

/* One look at the container; false once the snapshot is lost. */
static bool poll_once(struct mb_snap_watch *w)
{
	struct mb_dm_snap_fill f;
	struct mb_error e = { 0 };
	long long room;
	double pct;

	if (w->conf.fill(w->conf.snap_dm, &f, &e) < 0) {
		mb_warn("snapshot: %s", e.msg);
		return true;
	}
	update_rate(w, f.used);
	pct = f.invalid ? 100.0 : f.total ? 100.0 * (double)f.used / (double)f.total : 0;
	pthread_mutex_lock(&w->lock);
	w->last_pct = pct;
	if (pct > w->peak)
		w->peak = pct;
	w->invalid = f.invalid;
	pthread_mutex_unlock(&w->lock);
	if (f.invalid || must_abort(w, &f, pct))
		return lost(w, pct, f.invalid);
	if (!cannot_grow(w, f.meta) && wants_room(w, &f, pct))
		make_room(w, f.meta);
	room = room_bps(w, &f);
	if (cannot_grow(w, f.meta) && (pct >= w->conf.throttle_at || (double)room < w->rate))
		throttle(w, &f, pct);
	else if (pct < w->conf.throttle_at - THROTTLE_RELEASE_PTS && 2 * w->rate <= (double)room)
		release(w, pct);
	return true;
}

static void *watch_main(void *arg)
{
	struct mb_snap_watch *w = arg;
	bool alive = true;

	pthread_mutex_lock(&w->lock);
	while (!w->stop) {
		struct timespec until;

		pthread_mutex_unlock(&w->lock);
		if (alive)
			alive = poll_once(w);
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += MB_SNAP_POLL_MS * 1000000L;
		until.tv_sec += until.tv_nsec / 1000000000L;
		until.tv_nsec %= 1000000000L;
		pthread_mutex_lock(&w->lock);
		if (!w->stop)
			pthread_cond_timedwait(&w->wake, &w->lock, &until);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

int mb_snap_watch_start(struct mb_snap_watch **out, const struct mb_snap_watch_conf *conf,
			struct mb_error *e)
{
	struct mb_snap_watch *w = calloc(1, sizeof(*w));
	int err;

	*out = NULL;
	if (!w)
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to watch snapshot '%s'",
			       conf->snap_lv);
	w->conf = *conf;
	if (!w->conf.fill)
		w->conf.fill = mb_dm_snapshot_fill;
	if (w->conf.extend_at <= 0)
		w->conf.extend_at = MB_SNAP_EXTEND_AT;
	if (w->conf.throttle_at <= 0)
		w->conf.throttle_at = MB_SNAP_THROTTLE_AT;
	if (w->conf.abort_at <= 0 && !w->conf.pool && w->conf.drop)
		w->conf.abort_at = MB_SNAP_ABORT_AT;
	w->amp = 1;
	w->last_wbytes = -1;
	w->size_initial = conf->size;
	w->meta_initial = conf->meta_size;
	pthread_mutex_init(&w->lock, NULL);
	pthread_mutex_init(&w->tables, NULL);
	pthread_cond_init(&w->wake, NULL);
	if ((err = pthread_create(&w->thread, NULL, watch_main, w)) != 0) {
		pthread_cond_destroy(&w->wake);
		pthread_mutex_destroy(&w->lock);
		pthread_mutex_destroy(&w->tables);
		free(w);
		return mb_fail(e, MB_ERR_GENERAL, err, "unable to watch snapshot '%s'",
			       conf->snap_lv);
	}
	*out = w;
	return 0;
}

/* The last look, after the thread: the fill at the end, and the limit
 * lifted at once (production first). */
static void watch_final(struct mb_snap_watch *w)
{
	if (!w->invalid)
		poll_once(w);
	release(w, w->last_pct);
}

void mb_snap_watch_stop(struct mb_snap_watch *w, struct mb_mirror_stats *st)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->stop = true;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	watch_final(w);
	if (st) {
		st->size_initial = w->size_initial;
		st->size_final = w->conf.size;
		st->extensions = w->extensions;
		st->meta_extensions = w->meta_extensions;
		st->meta_initial = w->meta_initial;
		st->meta_final = w->conf.meta_size;
		st->peak_pct = w->peak;
		st->throttled_ms = w->throttled_ms;
		st->throttle_bps = w->conf.throttle ? w->conf.throttle->bps : 0;
		st->invalidated = w->invalid;
		st->dropped = w->dropped;
	}
	pthread_cond_destroy(&w->wake);
	pthread_mutex_destroy(&w->lock);
	pthread_mutex_destroy(&w->tables);
	free(w);
}
