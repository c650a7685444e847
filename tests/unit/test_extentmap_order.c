/* mb_path_cmp and mb_set_finalize: logical order and hard links. */
#include <stdlib.h>
#include <string.h>

#include "extentmap/extentmap.h"
#include "tests/lib/tap.h"

static int sign(int x)
{
	return (x > 0) - (x < 0);
}

static struct mb_entry *add(struct mb_set *set, const char *path, char type,
			    uint64_t ino, uint32_t nlink, uint64_t size)
{
	struct mb_entry *ent = mb_set_add(set);

	ent->path = strdup(path);
	ent->type = type;
	ent->ino = ino;
	ent->nlink = nlink;
	ent->size = size;
	return ent;
}

static void test_path_cmp(void)
{
	is_int(sign(mb_path_cmp("a", "a/b")), -1, "a directory sorts before its contents");
	is_int(sign(mb_path_cmp("a/b", "a-b")), -1, "'a/b' before 'a-b' (component order)");
	is_int(sign(mb_path_cmp("a-b", "a/b")), 1, "'a-b' after 'a/b'");
	is_int(sign(mb_path_cmp("a/z", "a.b")), -1, "'a/z' before 'a.b'");
	is_int(sign(mb_path_cmp("ab", "a/b")), 1, "'ab' after 'a/b'");
	is_int(mb_path_cmp("x/y", "x/y"), 0, "equal paths");
	is_int(sign(mb_path_cmp("a/b", "a/c")), -1, "bytewise within a directory");
	is_int(sign(mb_path_cmp("\xc3\xa9", "z")), 1, "bytes compare unsigned");
	is_int(sign(mb_path_cmp("a/b/c", "a/b")), 1, "a child after its parent");
	is_int(sign(mb_path_cmp("B", "a")), -1, "no case folding");
}

static void test_finalize(void)
{
	struct mb_set set = { 0 };
	struct mb_entry *z;
	const char *want[] = { "a", "a/y", "a-b", "lone", "z" };
	int order_ok = 1;

	z = add(&set, "z", MB_T_FILE, 7, 2, 5000);
	z->extents = calloc(1, sizeof(*z->extents));
	z->extents[0] = (struct mb_extent){ 0, 8192, 8192, 1 };
	z->n_extents = 1;
	z->seg_length = 5000;
	add(&set, "a-b", MB_T_FILE, 9, 1, 10)->seg_length = 10;
	add(&set, "a/y", MB_T_FILE, 7, 2, 5000);
	add(&set, "a", MB_T_DIR, 2, 3, 0);
	/* an old second name whose first name was deleted */
	mb_entry_set_link(add(&set, "lone", MB_T_HARDLINK, 11, 1, 42), strdup("gone"));
	mb_set_finalize(&set);
	is_int(set.n, 5, "five entries");
	for (size_t i = 0; i < 5 && i < set.n; i++)
		order_ok &= !strcmp(set.v[i].path, want[i]);
	ok(order_ok, "logical order a, a/y, a-b, lone, z");
	is_int(set.v[1].type, 'f', "first name in logical order is 'f'");
	is_int(set.v[1].n_extents, 1, "the first name inherits the extent map");
	is_int(set.v[1].extents ? set.v[1].extents[0].physical : 0, 8192, "inherited extent");
	is_int(set.v[1].seg_length, 5000, "first name carries the data");
	is_int(set.v[4].type, 'h', "later name is 'h'");
	is_str(mb_entry_link(&set.v[4]), "a/y", "'h' points at the first name");
	is_int(set.v[4].n_extents, 0, "'h' has no extents");
	ok(set.v[4].extents == NULL, "'h' extents freed");
	is_int(set.v[4].seg_length, 0, "'h' carries no data");
	is_int(set.v[4].size, 5000, "'h' keeps st_size");
	is_int(set.v[3].type, 'f', "a single remaining name becomes 'f'");
	ok(mb_entry_link(&set.v[3]) == NULL, "and loses its link target");
	is_int(set.v[3].seg_length, 42, "and carries its data");
	mb_set_finalize(&set);
	is_str(mb_entry_link(&set.v[4]), "a/y", "finalize is idempotent");
	is_int(set.v[1].n_extents, 1, "map kept on a second finalize");
	mb_set_free(&set);
}

int main(void)
{
	plan(27);
	test_path_cmp();
	test_finalize();
	return done_testing();
}
