/* The monotonic clock with a seam; see clock.h. */
#include "common/clock.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

static atomic_llong offset_ms;
static atomic_int offset_read;

static long long env_offset(void)
{
	const char *s;

	if (atomic_exchange(&offset_read, 1) == 0 && (s = getenv("MBACKUP_CLOCK_OFFSET_MS")))
		atomic_store(&offset_ms, strtoll(s, NULL, 10));
	return atomic_load(&offset_ms);
}

long long mb_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000 + env_offset();
}

void mb_clock_set_offset_ms(long long ms)
{
	atomic_store(&offset_read, 1);
	atomic_store(&offset_ms, ms);
}
