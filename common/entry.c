/* The backup set container; see entry.h. */
#include "common/entry.h"

#include <stdlib.h>
#include <string.h>

void mb_entry_free(struct mb_entry *ent)
{
	if (!ent->path_pooled)
		free(ent->path);
	free(ent->link_target);
	free(ent->extents);
	free(ent->content);
	free(ent->live_path);
	memset(ent, 0, sizeof(*ent));
}

#define NAMES_BLOCK (256u << 10)

/* One block of names; the newest is the set's, older ones follow next. */
struct mb_names {
	struct mb_names *next;
	size_t used, cap;
	char data[];
};

char *mb_set_name(struct mb_set *set, const char *s, size_t len)
{
	struct mb_names *b = set->names;
	char *p;

	if (!b || b->cap - b->used < len + 1) {
		size_t cap = len + 1 > NAMES_BLOCK ? len + 1 : NAMES_BLOCK;

		if (!(b = malloc(sizeof(*b) + cap)))
			return NULL;
		b->next = set->names;
		b->used = 0;
		b->cap = cap;
		set->names = b;
	}
	p = b->data + b->used;
	memcpy(p, s, len);
	p[len] = '\0';
	b->used += len + 1;
	return p;
}

void mb_set_free(struct mb_set *set)
{
	for (size_t i = 0; i < set->n; i++)
		mb_entry_free(&set->v[i]);
	while (set->names) {
		struct mb_names *b = set->names;

		set->names = b->next;
		free(b);
	}
	free(set->v);
	free(set->root);
	memset(set, 0, sizeof(*set));
}

struct mb_entry *mb_set_add(struct mb_set *set)
{
	if (set->n == set->cap) {
		size_t cap = set->cap ? set->cap * 2 : 256;
		struct mb_entry *v = realloc(set->v, cap * sizeof(*v));

		if (!v)
			return NULL;
		set->v = v;
		set->cap = cap;
	}
	memset(&set->v[set->n], 0, sizeof(set->v[0]));
	return &set->v[set->n++];
}

/* A one-extent file's map is one 32-byte malloc chunk (entry.h). */
_Static_assert(sizeof(struct mb_extent) == 24, "struct mb_extent is 24 bytes");
