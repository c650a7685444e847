/*
 * Unit tests for common/ratelimit.c, the token bucket of --max-rate: the
 * waits it hands out for a given clock (passed in: no sleeping, no timed
 * assertions), the burst after an idle spell, rate changes, and the
 * average kept exact whatever the chunk size.
 */
#include <stdint.h>

#include "common/ratelimit.h"
#include "tests/lib/tap.h"

#define MiB (1ull << 20)

static void test_unlimited(void)
{
	struct mb_ratelimit rl;

	mb_ratelimit_init(&rl, 0);
	is_int(mb_ratelimit_reserve(&rl, 1ull << 40, 0), 0, "rate 0: never a wait");
	is_int(mb_ratelimit_reserve(&rl, 1ull << 40, 0), 0, "  not even the second terabyte");
	is_int((long long)rl.bytes, (long long)(2ull << 40), "  the bytes are still counted");
	mb_ratelimit_destroy(&rl);
}

static void test_steady(void)
{
	struct mb_ratelimit rl;

	/* 100 MiB/s: burst = 2 MiB (20 ms), 1 MiB costs 10 ms */
	mb_ratelimit_init(&rl, 100 * MiB);
	is_int((long long)rl.burst, (long long)(2 * MiB), "burst: 20 ms worth of the rate");
	is_int(mb_ratelimit_reserve(&rl, 1 * MiB, 1000000), 0, "first MiB: inside the burst");
	is_int(mb_ratelimit_reserve(&rl, 1 * MiB, 1000000), 0, "second MiB: still inside");
	is_int(mb_ratelimit_reserve(&rl, 1 * MiB, 1000000), 10000,
	       "third MiB at the same instant: waits 1 MiB's time (10 ms)");
	is_int(mb_ratelimit_reserve(&rl, 4 * MiB, 1000000), 10000 + 40000,
	       "4 MiB more: waits their time on top");
	/* 1 s later everything owed (7 MiB = 73.4 ms) is paid and the burst back */
	is_int(mb_ratelimit_reserve(&rl, 2 * MiB, 2000000), 0, "after an idle second: one burst free");
	is_int(mb_ratelimit_reserve(&rl, 2 * MiB, 2000000), 20000,
	       "  but only one: no second's worth of bytes at once");
	mb_ratelimit_destroy(&rl);
}

/* Whatever the chunks, n bytes reserved back to back from t = 0 are
 * released no sooner than n / rate - burst / rate. */
static long long last_release(uint64_t rate, uint64_t total, uint64_t chunk)
{
	struct mb_ratelimit rl;
	long long now = 0;

	mb_ratelimit_init(&rl, rate);
	for (uint64_t done = 0; done < total; done += chunk)
		now += mb_ratelimit_reserve(&rl, chunk, now);
	mb_ratelimit_destroy(&rl);
	return now;
}

static void test_average(void)
{
	/* 64 MiB at 8 MiB/s: 8 s, less the 20 ms burst (rate / 50 = 167772 B) */
	long long want = 8000000 - 20000;

	ok(llabs(last_release(8 * MiB, 64 * MiB, 1 * MiB) - want) <= 64,
	   "64 MiB at 8 MiB/s in 1 MiB chunks: released at 7.98 s");
	ok(llabs(last_release(8 * MiB, 64 * MiB, 4 * MiB) - want) <= 64,
	   "  in 4 MiB chunks: the same");
	ok(llabs(last_release(8 * MiB, 64 * MiB, 4096) - want) <= 64,
	   "  in 4 KiB pieces: the same (the fractions of a microsecond add up)");
}

static void test_set_rate(void)
{
	struct mb_ratelimit rl;

	mb_ratelimit_init(&rl, 0);
	mb_ratelimit_reserve(&rl, 100 * MiB, 0);	/* unlimited: owes nothing */
	mb_ratelimit_set_rate(&rl, 10 * MiB, 5000000);
	is_int((long long)mb_ratelimit_rate(&rl), (long long)(10 * MiB), "the new rate is read back");
	is_int(mb_ratelimit_reserve(&rl, 10 * MiB, 5000000), 1000000 - 20000,
	       "from unlimited to 10 MiB/s: the unlimited bytes owe nothing, 10 MiB take 1 s less the burst");
	mb_ratelimit_set_rate(&rl, 20 * MiB, 5000000);
	is_int(mb_ratelimit_reserve(&rl, 20 * MiB, 5000000), 1000000 + 1000000 - 20000,
	       "raised to 20 MiB/s: what was owed at 10 MiB/s stays owed, 20 MiB more take 1 s");
	is_int(rl.waited_us, 980000 + 1980000, "the waits handed out are added up");
	mb_ratelimit_destroy(&rl);
}

static void test_clock_seam(void)
{
	long long a = mb_ratelimit_now_us();

	setenv("MBACKUP_CLOCK_OFFSET_MS", "0", 1);
	ok(a > 0 && mb_ratelimit_now_us() >= a, "the clock in microseconds is monotonic");
}

int main(void)
{
	plan(18);
	test_unlimited();
	test_steady();
	test_average();
	test_set_rate();
	test_clock_seam();
	return done_testing();
}
