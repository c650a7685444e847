/*
 * `mbackup list --since WHEN --limit N`: which runs list shows.  WHEN is an
 * age (90s, 30m, 36h, 7d: started that recently) or a UTC time as the
 * catalog writes them, to the day, minute or second (2026-12-01,
 * 2026-12-01T22:00, 2026-12-01 22:00:05); see catalog.h.
 */
#include "orchestrator/catalog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const formats[] = {
	"%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M",
	"%Y-%m-%d",
};

/* "36h" -> now - 36 h; false if s is no age. */
static bool age(const char *s, time_t *t)
{
	static const char units[] = "smhd";
	static const long secs[] = { 1, 60, 3600, 86400 };
	char *end;
	long n = strtol(s, &end, 10);
	const char *u;

	if (end == s || n < 0 || n > 36500L * 86400 || !*end || end[1] || !(u = strchr(units, *end)))
		return false;
	*t = time(NULL) - (time_t)n * secs[u - units];
	return true;
}

static bool when(const char *s, time_t *t)
{
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		struct tm tm = { 0 };
		const char *end = strptime(s, formats[i], &tm);

		if (end && !*end) {
			*t = timegm(&tm);
			return true;
		}
	}
	return false;
}

int mb_list_filter_parse(const char *since, long limit, struct mb_list_filter *f,
			 struct mb_error *e)
{
	struct tm tm;
	time_t t;

	*f = (struct mb_list_filter){ .limit = limit };
	if (!since)
		return 0;
	if (!age(since, &t) && !when(since, &t)) {
		mb_fail(e, MB_ERR_USAGE, 0, "invalid --since '%s' for 'list'", since);
		mb_hint(e, "give an age (90s, 30m, 36h, 7d) or a UTC time (2026-12-01, "
			"2026-12-01T22:00)");
		return -1;
	}
	gmtime_r(&t, &tm);
	strftime(f->since, sizeof(f->since), "%Y-%m-%dT%H:%M:%S", &tm);
	return 0;
}
