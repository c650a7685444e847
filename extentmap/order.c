/* Logical order and hard-link derivation; see extentmap.h. */
#include "extentmap/extentmap.h"

#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "extentmap/internal.h"

/* '/' sorts before every other byte and the end of a path before '/', which
 * is the same as comparing component by component. */
static int order_key(unsigned char c)
{
	if (c == '\0')
		return 0;
	if (c == '/')
		return 1;
	return (int)c + 1;
}

int mb_path_cmp(const char *a, const char *b)
{
	const unsigned char *p = (const unsigned char *)a;
	const unsigned char *q = (const unsigned char *)b;

	while (*p && *p == *q) {
		p++;
		q++;
	}
	return order_key(*p) - order_key(*q);
}

static int entry_cmp(const void *x, const void *y)
{
	const struct mb_entry *a = x, *b = y;

	return mb_path_cmp(a->path, b->path);
}

struct link_ref {
	uint64_t ino;
	size_t idx;
};

static int link_ref_cmp(const void *x, const void *y)
{
	const struct link_ref *a = x, *b = y;

	if (a->ino != b->ino)
		return a->ino < b->ino ? -1 : 1;
	return a->idx < b->idx ? -1 : a->idx > b->idx;
}

static bool has_map(const struct mb_entry *ent)
{
	return ent->n_extents > 0 || ent->read_via_fs;
}

static void make_first(struct mb_entry *ent)
{
	mb_entry_set_link(ent, NULL);
	ent->type = MB_T_FILE;
	ent->seg_offset = 0;
	ent->seg_length = ent->size;
}

/* The first name keeps (or inherits) the extent map; the others carry no
 * data: no extents, seg_length 0, link_target = the first name. */
static void make_link(struct mb_entry *first, struct mb_entry *ent)
{
	if (!has_map(first) && has_map(ent)) {
		mb_entry_drop_extents(first);
		first->extents = ent->extents;
		first->n_extents = ent->n_extents;
		first->extents_pooled = ent->extents_pooled;
		first->read_via_fs = ent->read_via_fs;
		ent->extents = NULL;
	}
	mb_entry_drop_extents(ent);
	ent->read_via_fs = false;
	if (mb_entry_set_link(ent, strdup(first->path)) < 0 || !mb_entry_link(ent)) {
		/* finalize has no error path; a backup without memory is lost */
		mb_error_log("out of memory deriving hard links");
		abort();
	}
	ent->type = MB_T_HARDLINK;
	ent->seg_offset = 0;
	ent->seg_length = 0;
}

static void derive_links(struct mb_set *set)
{
	struct link_ref *refs = NULL;
	size_t n = 0;

	for (size_t i = 0; i < set->n; i++) {
		struct mb_entry *ent = &set->v[i];

		if (ent->type != MB_T_FILE && ent->type != MB_T_HARDLINK)
			continue;
		if (ent->nlink <= 1) {
			make_first(ent);
			continue;
		}
		if (!refs && !(refs = malloc(set->n * sizeof(*refs)))) {
			mb_error_log("out of memory deriving hard links");
			abort();
		}
		refs[n++] = (struct link_ref){ ent->ino, i };
	}
	if (n > 1)	/* refs is NULL without multi-link files */
		qsort(refs, n, sizeof(*refs), link_ref_cmp);
	for (size_t i = 0, first = 0; i < n; i++) {
		struct mb_entry *ent = &set->v[refs[i].idx];

		if (i > 0 && refs[i - 1].ino == refs[i].ino) {
			make_link(&set->v[refs[first].idx], ent);
		} else {
			first = i;
			make_first(ent);
		}
	}
	free(refs);
}

void mb_set_finalize(struct mb_set *set)
{
	if (set->n > 1)
		qsort(set->v, set->n, sizeof(set->v[0]), entry_cmp);
	derive_links(set);
}
