/*
 * Unit tests for common/error.c: the first failure wins, and a hint goes
 * only onto the failure the latest mb_fail actually recorded (never onto
 * an older, unrelated one that first-error-wins kept).
 */
#include <errno.h>
#include <string.h>

#include "common/error.h"
#include "tests/lib/tap.h"

static void test_first_wins(void)
{
	struct mb_error e = { 0 };

	ok(mb_fail(&e, MB_ERR_SOURCE, ENOENT, "unable to use source '%s'", "/x") == -1,
	   "mb_fail returns -1");
	mb_fail(&e, MB_ERR_MEDIA, 0, "unable to open media 'y'");
	is_int(e.code, MB_ERR_SOURCE, "the first code stays");
	is_str(e.msg, "unable to use source '/x': No such file or directory",
	       "the first message stays, with strerror");
	is_int(e.sys_errno, ENOENT, "and its errno");
	ok(mb_fail(NULL, MB_ERR_IO, 0, "ignored") == -1, "a NULL error is fine");
}

static void test_hint_on_the_latest(void)
{
	struct mb_error e = { 0 };

	mb_fail(&e, MB_ERR_QUIESCE, 0, "unable to freeze '/srv'");
	mb_hint(&e, "it is frozen already");
	is_str(e.hint, "it is frozen already", "a hint goes onto the failure just recorded");
	mb_hint(&e, "a second hint");
	is_str(e.hint, "it is frozen already", "the first hint stays");
	mb_error_clear(&e);

	mb_hint(&e, "nothing failed");
	is_str(e.hint, "", "no hint without a failure");
}

/* The fault: backup.c failed inside the window (e.g. an injected fault),
 * then the guard's disarm failed too (dropped: first error wins) and
 * hinted at --freeze-timeout, which landed on the unrelated first error. */
static void test_hint_not_on_an_older_error(void)
{
	struct mb_error e = { 0 };

	mb_fail(&e, MB_ERR_MIRROR, 0, "unable to split 'loop:/dev/loop3'");
	mb_fail(&e, MB_ERR_TIMEOUT, 0, "the guard thawed the filesystems before mbackup did");
	mb_hint(&e, "the window took longer than --freeze-timeout (10 s)");
	is_str(e.msg, "unable to split 'loop:/dev/loop3'", "the older error is kept");
	is_str(e.hint, "", "the hint of the dropped failure is dropped too");

	/* A failure recorded after a clear takes hints again. */
	mb_error_clear(&e);
	mb_fail(&e, MB_ERR_TIMEOUT, 0, "the guard thawed the filesystems before mbackup did");
	mb_hint(&e, "the window took longer than --freeze-timeout (%d s)", 10);
	is_str(e.hint, "the window took longer than --freeze-timeout (10 s)",
	       "the hint goes onto its own failure");

	/* The hint of the kept error, given after a dropped one, is dropped:
	 * it can no longer tell which failure it is about. */
	mb_error_clear(&e);
	mb_fail(&e, MB_ERR_CATALOG, 0, "unable to commit in catalog 'c'");
	mb_fail(&e, MB_ERR_CATALOG, 0, "unable to roll back in catalog 'c'");
	mb_hint(&e, "another process keeps the catalog busy");
	is_str(e.hint, "", "no hint after a dropped failure");
}

static void test_prefix_and_names(void)
{
	struct mb_error e = { 0 };

	mb_error_prefix(&e, "source '%s': ", "/x");
	is_str(e.msg, "", "no prefix without a failure");
	mb_fail(&e, MB_ERR_NOT_FOUND, 0, "no mount for device 7:3");
	mb_error_prefix(&e, "source '%s': ", "/x");
	is_str(e.msg, "source '/x': no mount for device 7:3", "prefix");
	is_str(mb_code_name(MB_ERR_CORRUPT), "corrupt", "code name");
	is_str(mb_code_name(-1), "error", "an unknown code is 'error'");
}

int main(void)
{
	plan(16);
	test_first_wins();
	test_hint_on_the_latest();
	test_hint_not_on_an_older_error();
	test_prefix_and_names();
	return done_testing();
}
