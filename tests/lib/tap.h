/*
 * A small TAP producer for the C unit tests, run by prove.
 *   plan(n); ok(cond, "name"); is_int(got, want, "name");
 *   is_str(got, want, "name"); diag("..."); skip_all("why");
 *   return done_testing();
 * A failure prints "#   at file:line" and what was got and wanted.
 */
#ifndef MB_TAP_H
#define MB_TAP_H

#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>

static int tap_count, tap_failed, tap_planned = -1;

static inline void plan(int n)
{
	tap_planned = n;
	printf("1..%d\n", n);
	fflush(stdout);
}

static inline void skip_all(const char *why)
{
	printf("1..0 # SKIP %s\n", why);
	exit(0);
}

static inline void diag(const char *fmt, ...)
{
	va_list ap;

	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputs("\n", stdout);
	fflush(stdout);
}

static inline int tap_ok(int cond, const char *file, int line, const char *name)
{
	tap_count++;
	printf("%sok %d - %s\n", cond ? "" : "not ", tap_count, name);
	if (!cond) {
		tap_failed++;
		printf("#   Failed test '%s'\n#   at %s:%d\n", name, file, line);
	}
	fflush(stdout);
	return cond;
}

/* Counts n tests as skipped, with the reason, as TAP's "# SKIP" directive
 * (prove reports them as skipped, never as passed silently). */
static inline void skip(int n, const char *why)
{
	for (int i = 0; i < n; i++) {
		tap_count++;
		printf("ok %d # SKIP %s\n", tap_count, why);
	}
	fflush(stdout);
}

#define ok(cond, name) tap_ok(!!(cond), __FILE__, __LINE__, (name))

#define is_int(got, want, name) do {                                        \
	long long g_ = (long long)(got), w_ = (long long)(want);            \
	if (!tap_ok(g_ == w_, __FILE__, __LINE__, (name)))                  \
		printf("#          got: %lld\n#     expected: %lld\n", g_, w_); \
} while (0)

#define is_str(got, want, name) do {                                        \
	const char *g_ = (got), *w_ = (want);                               \
	int same_ = (g_ && w_) ? strcmp(g_, w_) == 0 : g_ == w_;            \
	if (!tap_ok(same_, __FILE__, __LINE__, (name)))                     \
		printf("#          got: '%s'\n#     expected: '%s'\n",      \
		       g_ ? g_ : "(null)", w_ ? w_ : "(null)");             \
} while (0)

/* Tests that work in a fixed directory (their messages name it) take
 * this lock first: other checkouts on the machine run the same test, and
 * two runs in one directory remove each other's files.  Held until exit. */
static inline void tap_lock_dir(const char *dir)
{
	char lock[4096];
	int fd;

	snprintf(lock, sizeof(lock), "%s.lock", dir);
	fd = open(lock, O_CREAT | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0 || flock(fd, LOCK_EX) < 0)
		diag("unable to lock '%s': another run may share the directory", lock);
}

static inline int done_testing(void)
{
	if (tap_planned < 0)
		printf("1..%d\n", tap_count);
	else if (tap_planned != tap_count)
		printf("# planned %d tests but ran %d\n", tap_planned, tap_count);
	fflush(stdout);
	return tap_failed || (tap_planned >= 0 && tap_planned != tap_count);
}

#endif
