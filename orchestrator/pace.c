/* The run's pace: the bucket every reader takes from, the readers' I/O
 * priority, and the --yield auto governor's thread; see pace.h. */
#include "orchestrator/pace.h"

#include <errno.h>
#include <string.h>
#include <linux/ioprio.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "orchestrator/signals.h"

#define GOV_INTERVAL_MS 250
#define SLEEP_SLICE_US 100000	/* a stop is seen within 100 ms */
#define YIELD_FLOOR (8u << 20)	/* bytes/s: --yield auto never goes lower */

bool mb_pace_active(const struct mb_pace *pc)
{
	return pc && (pc->p.max_rate || pc->p.yield == MB_YIELD_AUTO);
}

static int gov_sample(struct mb_pace *pc, struct mb_gov_sample *s)
{
	s->now_ms = mb_now_ms();
	pthread_mutex_lock(&pc->rl.lock);
	s->bytes = pc->rl.bytes;
	pthread_mutex_unlock(&pc->rl.lock);
	return mb_governor_read_dev(pc->dev, s, &pc->gov_err);
}

/* Every GOV_INTERVAL_MS: one sample, one decision, the bucket's new rate. */
static void *gov_main(void *arg)
{
	struct mb_pace *pc = arg;
	struct timespec until;
	struct mb_gov_sample s;

	pthread_mutex_lock(&pc->lock);
	while (!pc->stop) {
		pthread_mutex_unlock(&pc->lock);
		if (gov_sample(pc, &s) < 0) {
			mb_warn("yield: %s; the stream goes on at %llu bytes/s", pc->gov_err.msg,
				(unsigned long long)mb_ratelimit_rate(&pc->rl));
			return NULL;
		}
		if (mb_governor_step(&pc->gov, &s) != MB_GOV_HOLD)
			mb_ratelimit_set_rate(&pc->rl, pc->gov.rate, mb_ratelimit_now_us());
		/* the sample too: a run's sequence can be replayed (test_pace_governor) */
		mb_debug("yield: latency %.2f ms (best %.2f), rate %llu bytes/s; sample %lld %llu %llu "
			 "%llu %llu", pc->gov.ewma_ms, pc->gov.base_ms, (unsigned long long)pc->gov.rate,
			 s.now_ms, (unsigned long long)s.ios, (unsigned long long)s.ticks_ms,
			 (unsigned long long)s.in_flight, (unsigned long long)s.bytes);
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_nsec += GOV_INTERVAL_MS * 1000000L;
		until.tv_sec += until.tv_nsec / 1000000000L;
		until.tv_nsec %= 1000000000L;
		pthread_mutex_lock(&pc->lock);
		while (!pc->stop && pthread_cond_timedwait(&pc->cond, &pc->lock, &until) == 0)
			;
	}
	pthread_mutex_unlock(&pc->lock);
	return NULL;
}

static int start_governor(struct mb_pace *pc, struct mb_error *e)
{
	struct mb_gov_sample s;
	pthread_condattr_t ca;

	struct mb_error err = { 0 };

	/* no statistics to watch: the stream goes on as without --yield */
	if (mb_governor_read_dev(pc->dev, &s, &err) < 0) {
		mb_warn("yield: %s; --yield auto is off for this run", err.msg);
		pc->p.yield = MB_YIELD_OFF;
		return 0;
	}
	mb_governor_init(&pc->gov, pc->p.max_rate && pc->p.max_rate < YIELD_FLOOR
			 ? pc->p.max_rate : YIELD_FLOOR, pc->p.max_rate);
	mb_ratelimit_set_rate(&pc->rl, pc->gov.rate, mb_ratelimit_now_us());
	pthread_mutex_init(&pc->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&pc->cond, &ca);
	pthread_condattr_destroy(&ca);
	if ((errno = pthread_create(&pc->th, NULL, gov_main, pc)) != 0) {
		mb_fail(e, MB_ERR_GENERAL, errno, "unable to start the yield governor");
		pthread_cond_destroy(&pc->cond);
		pthread_mutex_destroy(&pc->lock);
		return -1;
	}
	pc->running = true;
	return 0;
}

int mb_pace_start(struct mb_pace *pc, const struct mb_options *o, dev_t dev, const char *what,
		  struct mb_error *e)
{
	*pc = (struct mb_pace){ .dev = dev };
	if (mb_pace_params(o, &pc->p, e) < 0)
		return -1;
	mb_ratelimit_init(&pc->rl, pc->p.max_rate);
	pc->started_ms = mb_now_ms();
	if (pc->p.yield == MB_YIELD_AUTO && start_governor(pc, e) < 0) {
		mb_ratelimit_destroy(&pc->rl);
		return -1;
	}
	if (pc->p.max_rate || pc->p.yield == MB_YIELD_AUTO)
		mb_info("%s: reading at most %llu bytes/s%s", what, (unsigned long long)
			mb_ratelimit_rate(&pc->rl), pc->p.yield == MB_YIELD_AUTO
			? ", adjusted to the source device's latency (--yield auto)" : "");
	return 0;
}

int mb_pace_take(struct mb_pace *pc, uint64_t n, int (*stop)(struct mb_error *e),
		 struct mb_error *e)
{
	int64_t wait;

	if (!mb_pace_active(pc))
		return 0;
	wait = mb_ratelimit_reserve(&pc->rl, n, mb_ratelimit_now_us());
	while (wait > 0) {
		int64_t slice = wait < SLEEP_SLICE_US ? wait : SLEEP_SLICE_US;
		struct timespec ts = { slice / 1000000, (slice % 1000000) * 1000 };

		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
		wait -= slice;
		if (stop && stop(e) < 0)
			return -1;
	}
	return 0;
}

void mb_pace_take_all(void *pace, uint64_t n)
{
	struct mb_error ignored = { 0 };

	(void)mb_pace_take(pace, n, NULL, &ignored);
}

uint64_t mb_pace_chunk(struct mb_pace *pc, uint64_t left)
{
	uint64_t rate = mb_pace_active(pc) ? mb_ratelimit_rate(&pc->rl) : 0;
	uint64_t chunk = rate / 50;	/* 20 ms worth */

	if (!rate)
		return left;
	chunk = chunk < MB_PACE_MIN_CHUNK ? MB_PACE_MIN_CHUNK
		: chunk > MB_PACE_MAX_CHUNK ? MB_PACE_MAX_CHUNK : chunk / MB_PACE_MIN_CHUNK * MB_PACE_MIN_CHUNK;
	return left < chunk + MB_PACE_MIN_CHUNK ? left : chunk;
}

int mb_pace_piece(void *pace, size_t *n, struct mb_error *e)
{
	struct mb_pace *pc = pace;
	uint64_t rate = mb_pace_active(pc) ? mb_ratelimit_rate(&pc->rl) : 0;
	uint64_t piece = rate / 50 > MB_PACE_LIVE_PIECE ? rate / 50 : MB_PACE_LIVE_PIECE;

	if (!rate)
		return 0;
	if (*n > piece)
		*n = (size_t)piece;
	return mb_pace_take(pc, *n, mb_signal_check, e);
}

void mb_pace_ioprio_enter(const struct mb_pace *pc, int *saved)
{
	int old;

	*saved = -1;
	if (!pc || pc->p.ioprio < 0)
		return;
	old = (int)syscall(SYS_ioprio_get, IOPRIO_WHO_PROCESS, 0);
	if (old < 0 || syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, pc->p.ioprio) < 0) {
		mb_warn("unable to set the stream's I/O priority: %s", strerror(errno));
		return;
	}
	*saved = old;
}

void mb_pace_ioprio_restore(int saved)
{
	if (saved >= 0)
		(void)syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, saved);
}

void mb_pace_stop(struct mb_pace *pc, struct mb_pace_stats *st)
{
	if (pc->running) {
		pthread_mutex_lock(&pc->lock);
		pc->stop = true;
		pthread_cond_broadcast(&pc->cond);
		pthread_mutex_unlock(&pc->lock);
		pthread_join(pc->th, NULL);
		pthread_cond_destroy(&pc->cond);
		pthread_mutex_destroy(&pc->lock);
		pc->running = false;
	}
	*st = (struct mb_pace_stats){ .bytes = pc->rl.bytes, .stream_ms = mb_now_ms() - pc->started_ms,
				      .waited_ms = pc->rl.waited_us / 1000 };
	if (pc->p.yield == MB_YIELD_AUTO)
		st->yielded_ms = pc->gov.yielded_ms, st->rate_min = pc->gov.min_rate,
		st->downs = pc->gov.downs;
	mb_ratelimit_destroy(&pc->rl);
}
