/* The token bucket; see ratelimit.h. */
#include "common/ratelimit.h"

#include <time.h>

#include "common/clock.h"

#define MIN_BURST (64u << 10)

/* The burst as time: 20 ms of the rate, or 64 KiB if that is longer. */
static int64_t burst_us(uint64_t rate)
{
	int64_t small = rate ? (int64_t)(MIN_BURST * 1000000ull / rate) : 0;

	return small > 20000 ? small : 20000;
}

static uint64_t burst_of(uint64_t rate)
{
	return rate / 50 > MIN_BURST ? rate / 50 : MIN_BURST;
}

void mb_ratelimit_init(struct mb_ratelimit *rl, uint64_t rate)
{
	*rl = (struct mb_ratelimit){ .rate = rate, .burst = burst_of(rate) };
	pthread_mutex_init(&rl->lock, NULL);
}

void mb_ratelimit_destroy(struct mb_ratelimit *rl)
{
	pthread_mutex_destroy(&rl->lock);
}

/* n bytes at rate, in microseconds, the fraction carried in *frac (in
 * millionths of a byte-second) so that many small reservations add up to
 * the exact time (no overflow below rate 2^40). */
static int64_t cost_us(uint64_t n, uint64_t rate, uint64_t *frac)
{
	uint64_t rest = (n % rate) * 1000000u + *frac;

	*frac = rest % rate;
	return (int64_t)((n / rate) * 1000000u + rest / rate);
}

void mb_ratelimit_set_rate(struct mb_ratelimit *rl, uint64_t rate, int64_t now_us)
{
	pthread_mutex_lock(&rl->lock);
	if (rl->rate == 0 || rl->tat_us < now_us)
		rl->tat_us = now_us;	/* nothing owed: start from now */
	rl->rate = rate;
	rl->burst = burst_of(rate);
	rl->frac = 0;
	pthread_mutex_unlock(&rl->lock);
}

uint64_t mb_ratelimit_rate(struct mb_ratelimit *rl)
{
	uint64_t rate;

	pthread_mutex_lock(&rl->lock);
	rate = rl->rate;
	pthread_mutex_unlock(&rl->lock);
	return rate;
}

int64_t mb_ratelimit_reserve(struct mb_ratelimit *rl, uint64_t n, int64_t now_us)
{
	int64_t wait = 0;

	pthread_mutex_lock(&rl->lock);
	rl->bytes += n;
	if (rl->rate) {
		if (rl->tat_us < now_us)
			rl->tat_us = now_us;
		rl->tat_us += cost_us(n, rl->rate, &rl->frac);
		wait = rl->tat_us - now_us - burst_us(rl->rate);
		if (wait < 0)
			wait = 0;
		rl->waited_us += wait;
	}
	pthread_mutex_unlock(&rl->lock);
	return wait;
}

static long long mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

/* mb_now_ms() has the seam but milliseconds only: its offset is taken
 * from a reading bracketed by two of ours in the same millisecond. */
int64_t mb_ratelimit_now_us(void)
{
	for (;;) {
		long long a = mono_us(), m = mb_now_ms(), b = mono_us();

		if (a / 1000 == b / 1000)
			return b + (m - b / 1000) * 1000;
	}
}
