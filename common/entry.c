/* The backup set container; see entry.h. */
#include "common/entry.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

static void rare_free(struct mb_entry_rare *r)
{
	if (!r)
		return;
	free(r->link_target);
	free(r->content);
	free(r->live_path);
	free(r);
}

void mb_entry_free(struct mb_entry *ent)
{
	if (!ent->path_pooled)
		free(ent->path);
	rare_free(ent->rare);
	mb_entry_drop_extents(ent);
	memset(ent, 0, sizeof(*ent));
}

/* The entry's side record, allocated if it has none and set says a value
 * is to be stored; NULL when there is none and none is needed, or (errno
 * ENOMEM) when it cannot be allocated. */
static struct mb_entry_rare *rare_of(struct mb_entry *ent, bool set)
{
	if (!ent->rare && set && !(ent->rare = calloc(1, sizeof(*ent->rare))))
		errno = ENOMEM;
	return ent->rare;
}

/* Stores the string v in the field at offset off of ent's side record. */
static int set_string(struct mb_entry *ent, size_t off, char *v)
{
	struct mb_entry_rare *r = rare_of(ent, v != NULL);
	char **field;

	if (!r) {
		free(v);
		return v ? -1 : 0;
	}
	field = (char **)((char *)r + off);
	free(*field);
	*field = v;
	return 0;
}

int mb_entry_set_link(struct mb_entry *ent, char *target)
{
	return set_string(ent, offsetof(struct mb_entry_rare, link_target), target);
}

int mb_entry_set_content(struct mb_entry *ent, char *content)
{
	return set_string(ent, offsetof(struct mb_entry_rare, content), content);
}

int mb_entry_set_live_path(struct mb_entry *ent, char *live_path)
{
	return set_string(ent, offsetof(struct mb_entry_rare, live_path), live_path);
}

int mb_entry_set_delta(struct mb_entry *ent, const void *delta)
{
	struct mb_entry_rare *r = rare_of(ent, delta != NULL);

	if (r)
		r->delta = delta;
	return r || !delta ? 0 : -1;
}

int mb_entry_set_rdev(struct mb_entry *ent, uint64_t rdev)
{
	struct mb_entry_rare *r = rare_of(ent, rdev != 0);

	if (r)
		r->rdev = rdev;
	return r || !rdev ? 0 : -1;
}

int mb_entry_copy_rare(struct mb_entry *d, const struct mb_entry *s)
{
	const struct mb_entry_rare *r = s->rare;
	struct mb_entry_rare *c;

	d->rare = NULL;
	if (!r)
		return 0;
	if (!(c = calloc(1, sizeof(*c))))
		return -1;
	c->delta = r->delta;
	c->rdev = r->rdev;
	if ((r->link_target && !(c->link_target = strdup(r->link_target))) ||
	    (r->live_path && !(c->live_path = strdup(r->live_path))) ||
	    (r->content && !(c->content = malloc(s->size ? s->size : 1)))) {
		rare_free(c);
		return -1;
	}
	if (r->content)
		memcpy(c->content, r->content, s->size);
	d->rare = c;
	return 0;
}

#define NAMES_BLOCK (256u << 10)

/* One block of names; the newest is the set's, older ones follow next. */
struct mb_names {
	struct mb_names *next;
	size_t used, cap;
	char data[];
};

/* len bytes at an align-byte boundary of the set's newest block. */
static void *pool_take(struct mb_set *set, size_t len, size_t align)
{
	struct mb_names *b = set->names;
	size_t at = b ? (b->used + align - 1) / align * align : 0;

	if (!b || at > b->cap || b->cap - at < len) {
		size_t cap = len > NAMES_BLOCK ? len : NAMES_BLOCK;

		if (!(b = malloc(sizeof(*b) + cap)))
			return NULL;
		b->next = set->names;
		b->cap = cap;
		set->names = b;
		at = 0;
	}
	b->used = at + len;
	return b->data + at;
}

char *mb_set_name(struct mb_set *set, const char *s, size_t len)
{
	char *p = pool_take(set, len + 1, 1);

	if (!p)
		return NULL;
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

void mb_set_pool_extents(struct mb_set *set, struct mb_entry *ent)
{
	size_t len = ent->n_extents * sizeof(*ent->extents);
	struct mb_extent *v;

	if (!ent->extents || ent->extents_pooled ||
	    !(v = pool_take(set, len, _Alignof(struct mb_extent))))
		return;
	memcpy(v, ent->extents, len);
	free(ent->extents);
	ent->extents = v;
	ent->extents_pooled = true;
}

void mb_entry_drop_extents(struct mb_entry *ent)
{
	if (!ent->extents_pooled)
		free(ent->extents);
	ent->extents = NULL;
	ent->n_extents = 0;
	ent->extents_pooled = false;
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

_Static_assert(sizeof(struct mb_entry) == 112, "struct mb_entry does not pad");
/* A one-extent file's map is one 32-byte malloc chunk (entry.h). */
_Static_assert(sizeof(struct mb_extent) == 24, "struct mb_extent is 24 bytes");
