/* The set by inode number, for the change journal; see internal.h. */
#include "extentmap/extentmap.h"

#include <stdlib.h>

#include "extentmap/internal.h"

static int ref_cmp(const void *x, const void *y)
{
	const struct mb_em_ino_ref *a = x, *b = y;

	if (a->ino != b->ino)
		return a->ino < b->ino ? -1 : 1;
	return a->idx < b->idx ? -1 : a->idx > b->idx;
}

int mb_em_index_build(struct mb_em_ino_index *x, const struct mb_set *set)
{
	struct mb_em_ino_ref *v = NULL;

	if (set->n && !(v = malloc(set->n * sizeof(*v))))
		return -1;
	for (size_t i = 0; i < set->n; i++)
		v[i] = (struct mb_em_ino_ref){ set->v[i].ino, i };
	if (set->n > 1)
		qsort(v, set->n, sizeof(*v), ref_cmp);
	free(x->v);
	*x = (struct mb_em_ino_index){ .v = v, .n = set->n, .base = set->v,
				       .set_n = set->n };
	return 0;
}

bool mb_em_index_fresh(const struct mb_em_ino_index *x, const struct mb_set *set)
{
	return x->base == set->v && x->set_n == set->n && x->n == set->n;
}

size_t mb_em_index_find(const struct mb_em_ino_index *x, uint64_t ino)
{
	size_t lo = 0, hi = x->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (x->v[mid].ino < ino)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}
