/* The set's pool (common/entry.c): names and extent maps packed in blocks
 * freed with the set; entries that hold them never free them alone. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "extentmap/extentmap.h"
#include "tests/lib/tap.h"

/* A file entry with a malloc'd map of n extents, as fiemap.c leaves it. */
static struct mb_entry *add_file(struct mb_set *set, const char *path, uint64_t ino,
				 uint32_t nlink, uint32_t n)
{
	struct mb_entry *ent = mb_set_add(set);

	ent->path = mb_set_name(set, path, strlen(path));
	ent->path_pooled = true;
	ent->type = MB_T_FILE;
	ent->ino = ino;
	ent->nlink = nlink;
	ent->size = 4096u * n;
	ent->seg_length = ent->size;
	ent->extents = calloc(n, sizeof(*ent->extents));
	ent->n_extents = n;
	for (uint32_t k = 0; k < n; k++) {
		ent->extents[k].logical = 4096u * k;
		ent->extents[k].physical = 1000000u * ino + 4096u * k;
		ent->extents[k].length = 4096;
	}
	return ent;
}

static void test_names_and_extents(void)
{
	struct mb_set set = { 0 };
	char *odd = mb_set_name(&set, "abc", 3);	/* leaves the pool unaligned */
	struct mb_entry *a = add_file(&set, "d/f1", 1, 1, 1);

	is_str(odd, "abc", "a name is copied with its NUL");
	mb_set_pool_extents(&set, a);
	ok(a->extents_pooled, "the map moved into the pool");
	is_int((uintptr_t)a->extents % _Alignof(struct mb_extent), 0, "at its alignment");
	is_int(a->extents[0].physical, 1000000, "with its extents");
	mb_set_pool_extents(&set, a);
	ok(a->extents_pooled && a->extents[0].physical == 1000000, "a second call changes nothing");

	/* more than a block of maps: the pool grows, older maps stay put */
	struct mb_extent *first = a->extents;

	for (uint64_t i = 2; i < 2000; i++)
		mb_set_pool_extents(&set, add_file(&set, "d/fN", i, 1, 8));
	a = &set.v[0];	/* (the array moved) */
	ok(set.v[1998].extents_pooled && set.v[1998].extents[7].physical ==
	   1000000u * 1999 + 7 * 4096, "the last map, in a later block");
	ok(a->extents == first && a->extents[0].physical == 1000000, "the first map kept its place");

	mb_entry_drop_extents(a);	/* a remap: fiemap.c drops, then mallocs */
	ok(!a->extents && a->n_extents == 0 && !a->extents_pooled, "dropped, not freed");
	mb_set_free(&set);	/* (ASan: no double free, no leak) */
	ok(!set.v && !set.names, "the set and its pool are freed");
}

/* The second name of a hard link hands its map to the first (order.c). */
static void test_hard_link_moves_the_flag(void)
{
	struct mb_set set = { 0 };
	struct mb_entry *a = add_file(&set, "a", 7, 2, 1);

	mb_entry_drop_extents(a);	/* the first name has no map of its own */
	mb_set_pool_extents(&set, add_file(&set, "b", 7, 2, 2));
	mb_set_finalize(&set);
	ok(set.v[0].extents_pooled && set.v[0].n_extents == 2, "'a' took b's pooled map");
	is_int(set.v[1].type, MB_T_HARDLINK, "'b' is a hard link");
	ok(!set.v[1].extents && !set.v[1].extents_pooled, "without a map");
	mb_set_free(&set);
}

int main(void)
{
	test_names_and_extents();
	test_hard_link_moves_the_flag();
	return done_testing();
}
