/* Unit tests for plugins/mirror/lvm_due.c: when a raid1 LV's merge must be
 * proven by a full pass again (no record, a record of schema 11, the runs
 * bound, the days bound, the defaults), what the next due says, and the
 * record a proof leaves through the undo context. */
#include <string.h>

#include "plugins/mirror/lvm_due.h"
#include "tests/lib/tap.h"

static struct mb_proof_record rec(const char *at, long long age_s, int runs)
{
	struct mb_proof_record r = { .full_age_s = age_s, .runs_since = runs };

	strcpy(r.full_at, at);
	return r;
}

#define AT "2026-12-01T10:00:00.000Z"

static void test_due(void)
{
	struct mb_proof_record r = rec(AT, 3600, 2);
	char why[256];

	ok(mb_lvm_full_due(false, &r, 0, 0, why, sizeof(why)), "no record: due");
	is_str(why, "the catalog has no proof that the legs were equal before the split", "... why");
	ok(!mb_lvm_full_due(true, &r, 0, 0, why, sizeof(why)), "2 runs, an hour: not due");
	is_str(why, "", "... and nothing said");
	r = rec(AT, 3600, 6);
	ok(!mb_lvm_full_due(true, &r, 0, 0, why, sizeof(why)), "6 runs: not due by default");
	r = rec(AT, 3600, MB_LVM_CHECK_RUNS);
	ok(mb_lvm_full_due(true, &r, 0, 0, why, sizeof(why)), "7 runs: due by default");
	is_str(why, "full check due: 7 runs since the last one at " AT, "... saying so");
	r = rec(AT, 3600, 1);
	ok(mb_lvm_full_due(true, &r, 1, 0, why, sizeof(why)), "1 run with a bound of 1: due");
	is_str(why, "full check due: 1 run since the last one at " AT, "... one run, singular");
	r = rec(AT, 7 * 86400 - 1, 0);
	ok(!mb_lvm_full_due(true, &r, 0, 0, why, sizeof(why)), "a second short of 7 days: not due");
	r = rec(AT, 7 * 86400 + 8640, 0);
	ok(mb_lvm_full_due(true, &r, 0, 0, why, sizeof(why)), "7.1 days: due by default");
	is_str(why, "full check due: 7.1 days since the last one at " AT, "... saying so");
	r = rec(AT, 2 * 86400, 0);
	ok(mb_lvm_full_due(true, &r, 0, 2, why, sizeof(why)), "2 days with a bound of 2: due");
	ok(!mb_lvm_full_due(true, &r, 0, 30, why, sizeof(why)), "... not with a bound of 30");
	r = rec("", -1, 0);
	ok(mb_lvm_full_due(true, &r, 0, 0, why, sizeof(why)), "a record without a full pass: due");
}

static void test_next(void)
{
	struct mb_proof_record r = rec(AT, 3600, 2);
	char buf[256], at[32];
	int left;

	mb_lvm_next_due(&r, 0, 0, buf, sizeof(buf));
	is_str(buf, "after 5 more runs or at 2026-12-08T10:00:00Z, whichever comes first",
	       "next due: runs left and the day");
	mb_lvm_due_at(&r, 10, 1, &left, at, sizeof(at));
	ok(left == 8 && strcmp(at, "2026-12-02T10:00:00Z") == 0, "... with other bounds");
	r = rec(AT, 3600, 6);
	mb_lvm_next_due(&r, 0, 0, buf, sizeof(buf));
	is_str(buf, "after 1 more run or at 2026-12-08T10:00:00Z, whichever comes first",
	       "... one run, singular");
	r = rec(AT, 3600, 9);
	mb_lvm_next_due(&r, 0, 0, buf, sizeof(buf));
	is_str(buf, "at the next run (full check due: 9 runs since the last one at " AT ")",
	       "... overdue (witness forced): the next run");
	mb_lvm_due_at(&r, 0, 0, &left, at, sizeof(at));
	is_int(left, 0, "... no run left");
}

static struct { int calls; char key[64]; struct mb_proof_record rec; bool full; } seen;

static void proven(void *arg, const char *mirror, const char *id,
		   const struct mb_proof_record *r)
{
	seen.calls++;
	strcpy(seen.key, mirror);
	seen.full = !r;
	if (r)
		seen.rec = *r;
}

static void test_record(void)
{
	struct mb_undo_ctx ctx = { .whole_proven = proven };
	struct mb_proof_record r = rec(AT, 3600, 2);

	mb_lvm_record_proof(&ctx, "lvm:vg/pg", "U1", false, &r);
	ok(seen.calls == 1 && !seen.full && strcmp(seen.key, "lvm:vg/pg") == 0,
	   "a proof by the witness is recorded");
	ok(seen.rec.runs_since == 3 && strcmp(seen.rec.full_at, AT) == 0,
	   "... one more run since the same full pass");
	mb_lvm_record_proof(&ctx, "lvm:vg/pg", "U1", true, &r);
	ok(seen.calls == 2 && seen.full, "a full pass is recorded as one (the catalog stamps it)");
	ctx.whole_proven = NULL;
	mb_lvm_record_proof(&ctx, "lvm:vg/pg", "U1", true, &r);
	is_int(seen.calls, 2, "no catalog: nothing recorded");
}

int main(void)
{
	test_due();
	test_next();
	test_record();
	return done_testing();
}
