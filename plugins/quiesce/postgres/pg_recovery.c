/*
 * A hot backup as the start of a point-in-time recovery (PostgreSQL 15).
 *
 * facts: what the catalog keeps of a backup: mode, timeline, start and
 * stop LSN, segment size, and consistent_at, the server's clock read just
 * after pg_backup_stop returned.  Every commit record before the stop LSN
 * carries a time no later than consistent_at, so a copy of this backup
 * can reach any target time from consistent_at on; an earlier one it
 * cannot (PostgreSQL would stop replaying before the copy is consistent).
 *
 * recovery: the target checked (times need their zone: a time without
 * one would be read in whatever TimeZone the restored server has), a
 * backup placed against it, and the settings a restored copy needs,
 * written into its postgresql.auto.conf (pg_recovery_conf.c).
 */
#include "plugins/quiesce/postgres/pg_internal.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void put(struct mb_fact *out, size_t cap, size_t *n, const char *key, const char *fmt,
		...) __attribute__((format(printf, 5, 6)));

static void put(struct mb_fact *out, size_t cap, size_t *n, const char *key, const char *fmt,
		...)
{
	va_list ap;

	if (*n == cap)
		return;
	snprintf(out[*n].key, sizeof(out[*n].key), "%s", key);
	va_start(ap, fmt);
	vsnprintf(out[*n].value, sizeof(out[*n].value), fmt, ap);
	va_end(ap);
	(*n)++;
}

static void lsn_text(char out[24], uint64_t lsn)
{
	snprintf(out, 24, "%" PRIX32 "/%" PRIX32, (uint32_t)(lsn >> 32), (uint32_t)lsn);
}

int mb_pg_facts(struct mb_quiesce *q, struct mb_fact *out, size_t cap, size_t *n,
		struct mb_error *e)
{
	const struct pg *p = q->priv;
	char start[24], stop[24];

	*n = 0;
	if (!p || !p->discovered)
		return 0;
	put(out, cap, n, "mode", "%s", p->mode == MB_PG_HOT ? "hot" : "freeze");
	put(out, cap, n, "wal_segment_size", "%" PRIu64, p->info.wal_segment_size);
	if (!p->stopped) {	/* freeze: a crash image, no consistency point */
		put(out, cap, n, "timeline", "%" PRIu32, p->info.timeline);
		return 0;
	}
	lsn_text(start, p->result.start_lsn);
	lsn_text(stop, p->result.stop_lsn);
	put(out, cap, n, "timeline", "%" PRIu32, p->result.timeline);
	put(out, cap, n, "start_lsn", "%s", start);
	put(out, cap, n, "stop_lsn", "%s", stop);
	put(out, cap, n, "consistent_at", "%s", p->result.consistent_at);
	return 0;
}

/* ---- the target ---- */

/* n decimal digits at *s (exactly n), advancing *s. */
static bool digits(const char **s, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*s)[i]))
			return false;
		v = v * 10 + ((*s)[i] - '0');
	}
	*s += n;
	*out = v;
	return true;
}

/* The zone after a time: Z, UTC, +HH, +HHMM, +HH:MM (or -); seconds east. */
static bool zone(const char *s, long *east)
{
	int h = 0, m = 0, sign;

	s += *s == ' ';
	if (!strcmp(s, "Z") || !strcmp(s, "UTC") || !strcmp(s, "GMT")) {
		*east = 0;
		return true;
	}
	if (*s != '+' && *s != '-')
		return false;
	sign = *s++ == '-' ? -1 : 1;
	if (!digits(&s, 2, &h) || h > 15)
		return false;
	s += *s == ':';
	if (*s && (!digits(&s, 2, &m) || m > 59))
		return false;
	*east = sign * (h * 3600L + m * 60L);
	return *s == '\0';
}

/* "YYYY-MM-DD HH:MM[:SS[.ffffff]]ZONE" (or a T between) -> microseconds
 * since the epoch; -1: malformed, -2: no zone. */
static int parse_time(const char *s, int64_t *usec)
{
	struct tm tm = { 0 }, back;
	int y, mo, d, h, mi, sec = 0, frac = 0, scale = 100000;
	long east;
	time_t t;

	if (!digits(&s, 4, &y) || y < 1970 || *s++ != '-' || !digits(&s, 2, &mo) || *s++ != '-' ||
	    !digits(&s, 2, &d) || (*s != ' ' && *s != 'T'))
		return -1;
	s++;
	if (!digits(&s, 2, &h) || *s++ != ':' || !digits(&s, 2, &mi))
		return -1;
	if (*s == ':' && (++s, !digits(&s, 2, &sec)))
		return -1;
	if (*s == '.') {
		if (!isdigit((unsigned char)*++s))
			return -1;
		for (; isdigit((unsigned char)*s); s++, scale /= 10)
			frac += scale ? (*s - '0') * scale : 0;
	}
	if (!*s)
		return -2;
	if (!zone(s, &east))
		return -1;
	tm = (struct tm){ .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h,
			  .tm_min = mi, .tm_sec = sec };
	back = tm;
	t = timegm(&tm);
	if (h > 23 || mi > 59 || sec > 59 || tm.tm_mday != back.tm_mday ||
	    tm.tm_mon != back.tm_mon || tm.tm_year != back.tm_year)
		return -1;	/* 2026-02-30 came back as March */
	*usec = ((int64_t)t - east) * 1000000 + frac;
	return 0;
}

/* "X/Y", each 1 to 8 hex digits, nothing else. */
static bool strict_lsn(const char *s, uint64_t *lsn)
{
	size_t hi = strspn(s, "0123456789abcdefABCDEF"), lo;

	if (hi < 1 || hi > 8 || s[hi] != '/')
		return false;
	lo = strspn(s + hi + 1, "0123456789abcdefABCDEF");
	if (lo < 1 || lo > 8 || s[hi + 1 + lo])
		return false;
	return mb_pg_parse_lsn(s, lsn) == 0;
}

static int check_value(const struct mb_recovery_target *t, struct mb_error *e)
{
	const char *v = t->value ? t->value : "";
	uint64_t lsn;
	int64_t us;
	int rc;

	if (!strcmp(t->kind, "time") && (rc = parse_time(v, &us)) < 0) {
		mb_fail(e, MB_ERR_USAGE, 0, "invalid --target-time '%s': %s", v,
			rc == -2 ? "it has no time zone" : "expected YYYY-MM-DD HH:MM:SS and a zone");
		mb_hint(e, "write the zone too, e.g. '2026-11-29 14:02:59+00' or "
			   "'2026-11-29 14:02:59.5+01:00'");
		return -1;
	}
	if (!strcmp(t->kind, "lsn") && !strict_lsn(v, &lsn)) {
		mb_fail(e, MB_ERR_USAGE, 0, "invalid --target-lsn '%s': expected X/Y in hex", v);
		mb_hint(e, "an LSN as PostgreSQL prints it, e.g. 0/5A000028");
		return -1;
	}
	if (!strcmp(t->kind, "xid") &&
	    (!*v || strspn(v, "0123456789") != strlen(v) || strlen(v) > 19 ||
	     strtoull(v, NULL, 10) < 3)) {
		mb_fail(e, MB_ERR_USAGE, 0, "invalid --target-xid '%s': expected a transaction id",
			v);
		mb_hint(e, "a number from 3 on, e.g. what txid_current() returned");
		return -1;
	}
	if (!strcmp(t->kind, "name") && (!*v || strlen(v) > 63)) {
		mb_fail(e, MB_ERR_USAGE, 0, "invalid --target-name '%s': %s", v,
			*v ? "longer than 63 bytes" : "empty");
		mb_hint(e, "the name given to pg_create_restore_point()");
		return -1;
	}
	return 0;
}

static int pg_target_check(const struct mb_recovery_target *t, struct mb_error *e)
{
	const char *tl = t->timeline ? t->timeline : "latest";

	if (check_value(t, e) < 0)
		return -1;
	if (strcmp(tl, "latest") && strcmp(tl, "current") &&
	    (!*tl || strspn(tl, "0123456789") != strlen(tl) || strlen(tl) > 10 ||
	     strtoull(tl, NULL, 10) < 1 || strtoull(tl, NULL, 10) > UINT32_MAX)) {
		mb_fail(e, MB_ERR_USAGE, 0, "invalid --target-timeline '%s'", tl);
		mb_hint(e, "use latest, current or a timeline number such as 2");
		return -1;
	}
	if (!strcmp(t->kind, "latest") && strcmp(t->action, "promote")) {
		mb_fail(e, MB_ERR_USAGE, 0, "--target-action %s needs a target to stop at",
			t->action);
		mb_hint(e, "--target latest replays every archived segment and promotes; "
			   "give --target-time, --target-lsn, --target-xid or --target-name");
		return -1;
	}
	return 0;
}

/* A backup's fact, or the refusal naming the one it lacks. */
static const char *need(const struct mb_fact *f, size_t n, const char *key,
			struct mb_error *e)
{
	const char *v = mb_fact_get(f, n, key);

	if (!v)
		mb_fail(e, MB_ERR_NOT_FOUND, 0, "the backup has no %s", key);
	return v;
}

static int pg_target_order(const struct mb_fact *f, size_t n,
			   const struct mb_recovery_target *t, enum mb_recovery_order *out,
			   struct mb_error *e)
{
	const char *mode = mb_fact_get(f, n, "mode"), *at, *stop;
	uint64_t stop_lsn, want;
	int64_t at_us, want_us;

	*out = MB_RECOVERY_UNUSABLE;
	if (!mode || strcmp(mode, "hot"))	/* freeze: a crash image */
		return 0;
	if (!(at = need(f, n, "consistent_at", e)) || !(stop = need(f, n, "stop_lsn", e)))
		return -1;
	if (parse_time(at, &at_us) < 0 || mb_pg_parse_lsn(stop, &stop_lsn) < 0)
		return mb_fail(e, MB_ERR_CATALOG, 0, "the backup's consistency point '%s' at "
			       "'%s' cannot be read", stop, at);
	if (!strcmp(t->kind, "time")) {
		parse_time(t->value, &want_us);
		*out = at_us <= want_us ? MB_RECOVERY_BEFORE : MB_RECOVERY_AFTER;
	} else if (!strcmp(t->kind, "lsn")) {
		mb_pg_parse_lsn(t->value, &want);
		*out = stop_lsn <= want ? MB_RECOVERY_BEFORE : MB_RECOVERY_AFTER;
	} else if (!strcmp(t->kind, "latest") || !strcmp(t->kind, "immediate")) {
		*out = MB_RECOVERY_BEFORE;
	} else {
		*out = MB_RECOVERY_UNKNOWN;
	}
	return 0;
}

static int pg_target_span(const struct mb_fact *f, size_t n,
			  const struct mb_recovery_target *t, struct mb_recovery_span *out,
			  struct mb_error *e)
{
	const char *tl, *start, *stop, *seg;

	memset(out, 0, sizeof(*out));
	if (!(tl = need(f, n, "timeline", e)) || !(start = need(f, n, "start_lsn", e)) ||
	    !(stop = need(f, n, "stop_lsn", e)) || !(seg = need(f, n, "wal_segment_size", e)))
		return -1;
	out->timeline = (uint32_t)strtoul(tl, NULL, 10);
	out->segment_size = strtoull(seg, NULL, 10);
	if (mb_pg_parse_lsn(start, &out->start_lsn) < 0 ||
	    mb_pg_parse_lsn(stop, &out->stop_lsn) < 0 || out->timeline == 0 ||
	    out->segment_size == 0)
		return mb_fail(e, MB_ERR_CATALOG, 0, "the backup's start '%s' on timeline '%s' "
			       "cannot be read", start, tl);
	if (!strcmp(t->kind, "lsn"))
		mb_pg_parse_lsn(t->value, &out->end_lsn);
	else if (!strcmp(t->kind, "immediate"))	/* consistent, and no further */
		out->end_lsn = out->stop_lsn;
	return 0;
}

/* The time for recovery_target_time, in UTC whatever zone was given. */
int mb_pg_target_time_utc(const char *value, char *out, size_t size)
{
	int64_t us;
	time_t secs;
	struct tm tm;

	if (parse_time(value, &us) < 0)
		return -1;
	secs = (time_t)(us / 1000000);
	gmtime_r(&secs, &tm);
	snprintf(out, size, "%04d-%02d-%02d %02d:%02d:%02d.%06d+00", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (int)(us % 1000000));
	return 0;
}

const struct mb_recovery_ops mb_pg_recovery = {
	.check = pg_target_check,
	.order = pg_target_order,
	.span = pg_target_span,
	.write = mb_pg_recovery_write,
};
