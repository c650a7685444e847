/*
 * Unit tests for orchestrator/pace_governor.c, the --yield auto governor:
 * its decisions for given device readings (samples built here, 250 ms
 * apart on a made-up clock: no sleeping, no timed assertions).
 */
#include <stdint.h>

#include "orchestrator/pace.h"
#include "tests/lib/tap.h"

#define MiB (1ull << 20)

static struct mb_gov_sample at;	/* the device and the readers so far */

/* 250 ms more: ios I/Os of lat_ms each on the device, the readers took
 * `took` bytes. */
static enum mb_gov_decision step(struct mb_governor *g, uint64_t ios, double lat_ms,
				 uint64_t took)
{
	at.now_ms += 250;
	at.ios += ios;
	at.ticks_ms += (uint64_t)(ios * lat_ms);
	at.bytes += took;
	return mb_governor_step(g, &at);
}

/* what the readers take in 250 ms at the governor's rate */
static uint64_t full(const struct mb_governor *g)
{
	return g->rate / 4;
}

static void test_start_and_climb(void)
{
	struct mb_governor g;

	at = (struct mb_gov_sample){ .now_ms = 1000 };
	mb_governor_init(&g, 8 * MiB, 0);
	is_int(g.rate, 32 * MiB, "starts at 4 x the floor");
	is_int(mb_governor_step(&g, &at), MB_GOV_PRIME, "first sample: nothing to compare");
	is_int(step(&g, 100, 2.0, full(&g)), MB_GOV_UP, "healthy, rate used: up");
	is_int(g.rate, 40 * MiB, "  by a quarter");
	is_int(step(&g, 100, 2.0, full(&g) / 4), MB_GOV_HOLD,
	       "the readers use a quarter of it: no point raising");
	is_int(g.rate, 40 * MiB, "  the rate stays");
	is_int(step(&g, 0, 0, full(&g)), MB_GOV_UP, "no I/O on the device (production at rest): up");
	is_int(g.yielded_ms, 0, "never held back so far");
}

static void test_suffer_and_recover(void)
{
	struct mb_governor g;

	at = (struct mb_gov_sample){ .now_ms = 1000 };
	mb_governor_init(&g, 8 * MiB, 0);
	mb_governor_step(&g, &at);
	step(&g, 100, 2.0, full(&g));		/* best latency learnt: 2 ms */
	is_int(g.rate, 40 * MiB, "climbed to 40 MiB/s");
	/* smoothed: (2 + 12) / 2 = 7 > 2 x 2 + 1 */
	is_int(step(&g, 100, 12.0, full(&g)), MB_GOV_DOWN, "latency 6 x the best: down");
	is_int(g.rate, 20 * MiB, "  halved");
	is_int(step(&g, 100, 12.0, full(&g)), MB_GOV_DOWN, "still suffering: down again");
	is_int(g.rate, 10 * MiB, "  halved again");
	is_int(step(&g, 100, 12.0, full(&g)), MB_GOV_DOWN, "and again");
	is_int(g.rate, 8 * MiB, "  but never below the floor: the backup finishes");
	is_int(g.downs, 3, "three times lowered");
	is_int(g.min_rate, 8 * MiB, "the lowest rate is recorded");
	is_int(g.yielded_ms, 500, "held below the peak for the two intervals after the first cut");
	/* smoothed 10.75 -> 6.375 (> 5: down) -> 4.19 (hold) -> 3.09 (<= 3.5: up) */
	is_int(step(&g, 100, 2.0, full(&g)), MB_GOV_DOWN, "one good interval: the smoothed latency is still high");
	is_int(step(&g, 100, 2.0, full(&g)), MB_GOV_HOLD, "between the marks: hold");
	is_int(step(&g, 100, 2.0, full(&g)), MB_GOV_UP, "recovered: up again");
	is_int(g.rate, 10 * MiB, "  from the floor, by a quarter");
}

static void test_ceiling_and_noise(void)
{
	struct mb_governor g;

	at = (struct mb_gov_sample){ .now_ms = 1000 };
	mb_governor_init(&g, 8 * MiB, 36 * MiB);
	mb_governor_step(&g, &at);
	is_int(step(&g, 100, 1.0, full(&g)), MB_GOV_UP, "under the --max-rate ceiling: up");
	is_int(g.rate, 36 * MiB, "  capped at --max-rate");
	is_int(step(&g, 100, 1.0, full(&g)), MB_GOV_HOLD, "at the ceiling: hold");
	/* 2 I/Os of 30 ms: not enough to learn from, enough to see */
	is_int(step(&g, 2, 30.0, full(&g)), MB_GOV_DOWN, "a few very slow I/Os still count as suffering");
	mb_governor_init(&g, 8 * MiB, 4 * MiB);
	is_int(g.rate, 4 * MiB, "a ceiling under 4 x floor: start at the ceiling");
}

/* A latency that stays high whatever the stream does: not the stream's
 * doing, and the governor climbs again after a while (the best latency
 * creeps towards the current by 1/64 a step). */
static void test_not_ours(void)
{
	struct mb_governor g;
	int steps = 0;

	at = (struct mb_gov_sample){ .now_ms = 1000 };
	mb_governor_init(&g, 8 * MiB, 0);
	mb_governor_step(&g, &at);
	step(&g, 100, 2.0, full(&g));
	while (step(&g, 100, 12.0, full(&g)) != MB_GOV_UP && steps < 1000)
		steps++;
	ok(g.rate == 10 * MiB, "after sustained slowness at the floor: climbing again");
	ok(steps >= 40 && steps <= 80, "  after 10 to 20 s of it");
	diag("%d steps", steps);
}

static void test_first_reading_slow(void)
{
	struct mb_governor g;

	at = (struct mb_gov_sample){ .now_ms = 1000 };
	mb_governor_init(&g, 8 * MiB, 0);
	mb_governor_step(&g, &at);
	is_int(step(&g, 2, 50.0, full(&g)), MB_GOV_UP,
	       "too few I/Os to learn a best latency: treated as healthy");
	ok(g.base_ms == 0, "  and nothing learnt");
	at.ios -= 1000;	/* counters went backwards (device replaced?) */
	is_int(step(&g, 0, 0, full(&g)), MB_GOV_UP, "counters going back: no reading, healthy");
}

/* I/Os in flight at both readings and none completed: production is
 * stuck (a flush that does not come back), not at rest. */
static void test_stall(void)
{
	struct mb_governor g;

	at = (struct mb_gov_sample){ .now_ms = 1000 };
	mb_governor_init(&g, 8 * MiB, 0);
	mb_governor_step(&g, &at);
	step(&g, 100, 2.0, full(&g));
	is_int(g.rate, 40 * MiB, "climbed to 40 MiB/s");
	at.in_flight = 3;
	is_int(step(&g, 0, 0, full(&g)), MB_GOV_UP, "I/Os just started, none done yet: no stall seen");
	is_int(step(&g, 0, 0, full(&g)), MB_GOV_DOWN, "in flight a whole interval, none done: down");
	is_int(g.rate, 25 * MiB, "  halved");
	ok(g.base_ms == 2.0, "  the stall is not learnt as a best latency");
	at.in_flight = 0;
	is_int(step(&g, 0, 0, full(&g)), MB_GOV_UP, "nothing in flight, nothing done: at rest, up");
	mb_governor_init(&g, 8 * MiB, 0);
	g.primed = false;
	at.in_flight = 1;
	mb_governor_step(&g, &at);
	is_int(step(&g, 0, 0, full(&g)), MB_GOV_DOWN, "a stall before any best latency: down too");
	at.in_flight = 0;
}

int main(void)
{
	plan(39);
	test_start_and_climb();
	test_suffer_and_recover();
	test_ceiling_and_noise();
	test_not_ours();
	test_first_reading_slow();
	test_stall();
	return done_testing();
}
