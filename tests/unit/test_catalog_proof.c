/* Unit tests for orchestrator/catalog_proof.c: the record that a mirror's
 * legs were proven equal, taken by the undo that may lean on it, written
 * again by a proof, dropped for a kept split, and tied to the volume's
 * identity; its last full pass and the runs since (schema 12); and the
 * undo context's hooks over it. */
#include <stdlib.h>
#include <string.h>

#include "orchestrator/catalog.h"
#include "orchestrator/catalog_proof.h"
#include "tests/lib/tap.h"

#define PATH "/tmp/catalog-proof-test/catalog.db"

static bool take_rec(struct mb_catalog *c, const char *mirror, const char *id,
		     struct mb_proof_record *rec)
{
	struct mb_error e = { 0 };
	bool known = true;

	if (mb_catalog_proof_take(c, mirror, id, &known, rec, &e) < 0)
		diag("take: %s", e.msg);
	return known;
}

static bool take(struct mb_catalog *c, const char *mirror, const char *id)
{
	return take_rec(c, mirror, id, NULL);
}

static void test_record(struct mb_catalog *c)
{
	struct mb_error e = { 0 };

	ok(!take(c, "lvm:vg/pg", "U1"), "a mirror never proven has no record");
	is_int(mb_catalog_proof_set(c, "lvm:vg/pg", "U1", NULL, &e), 0, "a proof is recorded");
	ok(take(c, "lvm:vg/pg", "U1"), "... and taken");
	ok(!take(c, "lvm:vg/pg", "U1"), "taking drops it: the next undo has none until a proof");
	mb_catalog_proof_set(c, "lvm:vg/pg", "U1", NULL, &e);
	mb_catalog_proof_set(c, "lvm:vg/pg", "U1", NULL, &e);
	ok(take(c, "lvm:vg/pg", "U1"), "a second proof replaces the first");
	mb_catalog_proof_set(c, "lvm:vg/pg", "U1", NULL, &e);
	ok(!take(c, "lvm:vg/pg", "U2"), "a volume made again under the name (another id): none");
	ok(!take(c, "lvm:vg/pg", "U1"), "... and the old one is dropped too");
	mb_catalog_proof_set(c, "lvm:vg/pg", "U1", NULL, &e);
	mb_catalog_proof_set(c, "lvm:vg/other", "U3", NULL, &e);
	is_int(mb_catalog_proof_forget(c, "lvm:vg/pg", &e), 0, "a kept split forgets it");
	ok(!take(c, "lvm:vg/pg", "U1"), "... so there is none");
	ok(take(c, "lvm:vg/other", "U3"), "another mirror's record is left alone");
}

/* Schema 12: a full pass stamps full_at now with no runs since; a proof
 * by the witness keeps the full pass's time and counts its run. */
static void test_full(struct mb_catalog *c)
{
	struct mb_error e = { 0 };
	struct mb_proof_record rec, next;
	bool known = false;

	mb_catalog_proof_set(c, "lvm:vg/f", "U4", NULL, &e);
	ok(take_rec(c, "lvm:vg/f", "U4", &rec), "a full pass recorded");
	is_int((int)strlen(rec.full_at), 24, "... its time, UTC to the millisecond");
	ok(rec.full_age_s >= 0 && rec.full_age_s < 60, "... a few seconds old");
	is_int(rec.runs_since, 0, "... no run by the witness since");
	next = rec;
	next.runs_since = 3;
	mb_catalog_proof_set(c, "lvm:vg/f", "U4", &next, &e);
	is_int(mb_catalog_proof_get(c, "lvm:vg/f", &known, &rec, &e), 0, "get: reads it");
	ok(known, "... by the name alone, and keeps it");
	is_str(rec.full_at, next.full_at, "a proof by the witness keeps the last full pass's time");
	is_int(rec.runs_since, 3, "... and counts the runs since");
	strcpy(next.full_at, "2026-11-01T00:00:00.000Z");
	next.runs_since = 1;
	mb_catalog_proof_set(c, "lvm:vg/f", "U4", &next, &e);
	ok(take_rec(c, "lvm:vg/f", "U4", &rec), "an old full pass");
	ok(rec.full_age_s > 20 * 86400, "... its age in seconds, at the take");
	ok(!mb_catalog_proof_get(c, "lvm:vg/f", &known, &rec, &e) && !known &&
	   rec.full_age_s == -1 && !rec.full_at[0], "get after the take: none, and no time");
}

static void test_ctx(struct mb_catalog *c)
{
	struct mb_undo_ctx ctx = { 0 };
	struct mb_proof_record rec;

	mb_catalog_proof_ctx(NULL, &ctx);
	ok(!ctx.whole_take && !ctx.whole_proven, "no catalog: no hooks (a full proof every time)");
	mb_catalog_proof_ctx(c, &ctx);
	ok(ctx.whole_take && ctx.whole_proven && ctx.whole_arg == c, "a catalog: both hooks");
	ok(!ctx.whole_take(ctx.whole_arg, "lvm:vg/x", "U9", &rec), "take through the hook: none yet");
	ctx.whole_proven(ctx.whole_arg, "lvm:vg/x", "U9", NULL);
	ok(ctx.whole_take(ctx.whole_arg, "lvm:vg/x", "U9", &rec) && rec.full_at[0],
	   "proven through the hook, then taken, with its full pass");
}

int main(void)
{
	struct mb_catalog *c = NULL;
	struct mb_error e = { 0 };

	if (system("rm -rf /tmp/catalog-proof-test") != 0)
		return 1;
	is_int(mb_catalog_open(&c, PATH, &e), 0, "a new catalog");
	if (!c)
		return done_testing();
	test_record(c);
	test_full(c);
	test_ctx(c);
	mb_catalog_close(c);
	return done_testing();
}
