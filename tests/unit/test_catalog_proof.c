/* Unit tests for orchestrator/catalog_proof.c: the record that a mirror's
 * legs were proven equal, taken by the undo that may lean on it, written
 * again by a proof, dropped for a kept split, and tied to the volume's
 * identity; and the undo context's hooks over it. */
#include <stdlib.h>

#include "orchestrator/catalog.h"
#include "orchestrator/catalog_proof.h"
#include "tests/lib/tap.h"

#define PATH "/tmp/catalog-proof-test/catalog.db"

static bool take(struct mb_catalog *c, const char *mirror, const char *id)
{
	struct mb_error e = { 0 };
	bool known = true;

	if (mb_catalog_proof_take(c, mirror, id, &known, &e) < 0)
		diag("take: %s", e.msg);
	return known;
}

static void test_record(struct mb_catalog *c)
{
	struct mb_error e = { 0 };

	ok(!take(c, "lvm:vg/pg", "U1"), "a mirror never proven has no record");
	is_int(mb_catalog_proof_set(c, "lvm:vg/pg", "U1", &e), 0, "a proof is recorded");
	ok(take(c, "lvm:vg/pg", "U1"), "... and taken");
	ok(!take(c, "lvm:vg/pg", "U1"), "taking drops it: the next undo has none until a proof");
	mb_catalog_proof_set(c, "lvm:vg/pg", "U1", &e);
	mb_catalog_proof_set(c, "lvm:vg/pg", "U1", &e);
	ok(take(c, "lvm:vg/pg", "U1"), "a second proof replaces the first");
	mb_catalog_proof_set(c, "lvm:vg/pg", "U1", &e);
	ok(!take(c, "lvm:vg/pg", "U2"), "a volume made again under the name (another id): none");
	ok(!take(c, "lvm:vg/pg", "U1"), "... and the old one is dropped too");
	mb_catalog_proof_set(c, "lvm:vg/pg", "U1", &e);
	mb_catalog_proof_set(c, "lvm:vg/other", "U3", &e);
	is_int(mb_catalog_proof_forget(c, "lvm:vg/pg", &e), 0, "a kept split forgets it");
	ok(!take(c, "lvm:vg/pg", "U1"), "... so there is none");
	ok(take(c, "lvm:vg/other", "U3"), "another mirror's record is left alone");
}

static void test_ctx(struct mb_catalog *c)
{
	struct mb_undo_ctx ctx = { 0 };

	mb_catalog_proof_ctx(NULL, &ctx);
	ok(!ctx.whole_take && !ctx.whole_proven, "no catalog: no hooks (a full proof every time)");
	mb_catalog_proof_ctx(c, &ctx);
	ok(ctx.whole_take && ctx.whole_proven && ctx.whole_arg == c, "a catalog: both hooks");
	ok(!ctx.whole_take(ctx.whole_arg, "lvm:vg/x", "U9"), "take through the hook: none yet");
	ctx.whole_proven(ctx.whole_arg, "lvm:vg/x", "U9");
	ok(ctx.whole_take(ctx.whole_arg, "lvm:vg/x", "U9"), "proven through the hook, then taken");
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
	test_ctx(c);
	mb_catalog_close(c);
	return done_testing();
}
