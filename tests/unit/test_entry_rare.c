/* The entry's side record (common/entry.c): the rare fields read as NULL
 * or 0 without one, a setter makes it only to store something, the
 * strings become the entry's, and a copy is deep. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/entry.h"
#include "tests/lib/tap.h"

static void test_none(void)
{
	struct mb_entry ent = { .type = MB_T_FILE };

	ok(!mb_entry_link(&ent) && !mb_entry_content(&ent) && !mb_entry_live_path(&ent) &&
	   !mb_entry_delta(&ent) && mb_entry_rdev(&ent) == 0, "no side record: NULL and 0");
	is_int(mb_entry_set_link(&ent, NULL), 0, "storing NULL succeeds");
	is_int(mb_entry_set_rdev(&ent, 0), 0, "storing 0 succeeds");
	is_int(mb_entry_set_delta(&ent, NULL), 0, "storing no plan succeeds");
	ok(!ent.rare, "and makes no side record");
	mb_entry_free(&ent);
}

static void test_set_and_replace(void)
{
	struct mb_entry ent = { .type = MB_T_SYMLINK };

	is_int(mb_entry_set_link(&ent, strdup("a/b")), 0, "a link target is stored");
	ok(ent.rare != NULL, "in a side record");
	is_str(mb_entry_link(&ent), "a/b", "and read back");
	is_int(mb_entry_set_link(&ent, strdup("c")), 0, "replaced (ASan: the old one freed)");
	is_str(mb_entry_link(&ent), "c", "the new one is read");
	is_int(mb_entry_set_rdev(&ent, 0x0103), 0, "a device number beside it");
	ok(mb_entry_rdev(&ent) == 0x0103 && strcmp(mb_entry_link(&ent), "c") == 0,
	   "each field keeps its own value");
	is_int(mb_entry_set_link(&ent, NULL), 0, "the link target dropped");
	ok(!mb_entry_link(&ent) && mb_entry_rdev(&ent) == 0x0103, "the rest stays");
	mb_entry_free(&ent);
	ok(!ent.rare && !ent.path, "freed with the entry, which is zeroed");
}

static void test_copy(void)
{
	static const int plan = 7;
	struct mb_entry s = { .type = MB_T_FILE, .size = 5 }, d;

	mb_entry_set_content(&s, memcpy(malloc(5), "hello", 5));
	mb_entry_set_live_path(&s, strdup("/srv/pg_wal/000000010000000000000001"));
	mb_entry_set_delta(&s, &plan);
	d = s;
	is_int(mb_entry_copy_rare(&d, &s), 0, "a deep copy of the side record");
	ok(d.rare && d.rare != s.rare, "of its own");
	ok(mb_entry_content(&d) != mb_entry_content(&s) &&
	   memcmp(mb_entry_content(&d), "hello", 5) == 0, "the content copied (size bytes)");
	ok(mb_entry_live_path(&d) != mb_entry_live_path(&s) &&
	   strcmp(mb_entry_live_path(&d), mb_entry_live_path(&s)) == 0, "the live path copied");
	ok(mb_entry_delta(&d) == &plan, "the plan borrowed, as the original's");
	mb_entry_free(&s);
	ok(memcmp(mb_entry_content(&d), "hello", 5) == 0, "the copy outlives the original");
	mb_entry_free(&d);

	struct mb_entry plain = { .type = MB_T_FILE }, c = plain;

	is_int(mb_entry_copy_rare(&c, &plain), 0, "copying no side record");
	ok(!c.rare, "gives none");
}

int main(void)
{
	test_none();
	test_set_and_replace();
	test_copy();
	return done_testing();
}
