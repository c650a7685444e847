/*
 * A token bucket shared by threads: at most `rate` bytes per second on
 * average, with a burst of at most `burst` bytes after an idle spell.  It
 * is kept as a "theoretical arrival time" (GCRA): each reservation of n
 * bytes pushes tat on by n / rate; a caller waits for whatever tat stands
 * more than one burst ahead of now.  Reservations are never refused, only
 * delayed, so a reader may ask for a whole chunk at once and the average
 * stays exact whatever the chunk size.
 *
 * Time is given by the caller (microseconds of a monotonic clock) so the
 * bucket's decisions are tested without sleeping; mb_ratelimit_now_us()
 * is the clock to pass in real use (it honours MBACKUP_CLOCK_OFFSET_MS).
 */
#ifndef MB_RATELIMIT_H
#define MB_RATELIMIT_H

#include <pthread.h>
#include <stdint.h>

struct mb_ratelimit {
	pthread_mutex_t lock;
	uint64_t rate;		/* bytes per second, 0: unlimited */
	uint64_t burst;		/* bytes allowed at once after an idle spell */
	int64_t tat_us;		/* when the bytes reserved so far are "paid" */
	uint64_t frac;		/* and the fraction of a microsecond past it */
	uint64_t bytes;		/* reserved in all */
	int64_t waited_us;	/* waits handed out in all */
};

/* Burst: max(64 KiB, rate / 50), i.e. 20 ms worth: no bursts of a
 * second's worth after a pause. */
void mb_ratelimit_init(struct mb_ratelimit *rl, uint64_t rate);
void mb_ratelimit_destroy(struct mb_ratelimit *rl);

/* Changes the rate from now on (0: unlimited); what was reserved at the
 * old rate stays paid at it. */
void mb_ratelimit_set_rate(struct mb_ratelimit *rl, uint64_t rate, int64_t now_us);
uint64_t mb_ratelimit_rate(struct mb_ratelimit *rl);

/* Reserves n bytes at now_us; returns how many microseconds the caller
 * must wait before using them (0: at once). */
int64_t mb_ratelimit_reserve(struct mb_ratelimit *rl, uint64_t n, int64_t now_us);

/* CLOCK_MONOTONIC in microseconds, plus the clock seam's offset. */
int64_t mb_ratelimit_now_us(void);

#endif
