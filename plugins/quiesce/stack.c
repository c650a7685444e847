/*
 * The quiesce stack: the runner's side of the plugin table (quiesce.h).
 * Optional members are skipped when NULL; leave and close run newest
 * first; every call checks the stack's state.
 */
#include "plugins/quiesce/quiesce.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/log.h"

int mb_quiesce_stack_open(struct mb_quiesce_stack *s, const char *db,
			  const struct mb_quiesce_params *p, struct mb_error *e)
{
	const struct mb_quiesce_ops *const *ops = mb_quiesce_stack_of(db);

	memset(s, 0, sizeof(*s));
	if (!ops)
		return mb_fail(e, MB_ERR_USAGE, 0, "unknown --db '%s'", db ? db : "");
	for (; *ops; ops++) {
		struct mb_quiesce *q;

		if (s->n == MB_QUIESCE_MAX)
			return mb_fail(e, MB_ERR_INTERNAL, 0, "--db '%s' stacks more than %d plugins",
				       db, MB_QUIESCE_MAX);
		if (!(q = calloc(1, sizeof(*q))))
			return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to set up '%s'",
				       (*ops)->name);
		q->ops = *ops;
		s->v[s->n++] = q;
		if (q->ops->open && q->ops->open(q, p, e) < 0)
			return -1;
	}
	return 0;
}

int mb_quiesce_stack_discover(struct mb_quiesce_stack *s, struct mb_error *e)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i]->ops->discover && s->v[i]->ops->discover(s->v[i], e) < 0)
			return -1;
	return 0;
}

const char *mb_quiesce_stack_source(struct mb_quiesce_stack *s, const char *given,
				    struct mb_error *e)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i]->ops->source)
			return s->v[i]->ops->source(s->v[i], given, e);
	if (!given)
		mb_fail(e, MB_ERR_USAGE, 0, "missing --source");
	return given;
}

int mb_quiesce_stack_place(struct mb_quiesce_stack *s, const struct mb_quiesce_leg *legs,
			   size_t n, bool *placed, struct mb_error *e)
{
	*placed = false;
	for (size_t i = 0; i < s->n; i++) {
		if (!s->v[i]->ops->place)
			continue;
		*placed = true;
		if (s->v[i]->ops->place(s->v[i], legs, n, e) < 0)
			return -1;
	}
	return 0;
}

static int set_mounts(struct mb_quiesce *q, char *const *mounts, size_t n,
		      struct mb_error *e)
{
	if (q->mounts)
		return mb_fail(e, MB_ERR_INTERNAL, 0, "'%s' prepared twice", q->ops->name);
	if (!(q->mounts = calloc(n ? n : 1, sizeof(char *))))
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to set up '%s'", q->ops->name);
	for (size_t i = 0; i < n; i++) {
		if (!(q->mounts[i] = strdup(mounts[i])))
			return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to set up '%s'",
				       q->ops->name);
		q->n_mounts++;
	}
	return 0;
}

int mb_quiesce_stack_prepare(struct mb_quiesce_stack *s, char *const *mounts,
			     size_t n_mounts, struct mb_obligations *obl,
			     struct mb_error *e)
{
	for (size_t i = 0; i < s->n; i++) {
		struct mb_quiesce *q = s->v[i];

		q->obl = obl;
		if (set_mounts(q, mounts, n_mounts, e) < 0 ||
		    (q->ops->prepare && q->ops->prepare(q, e) < 0))
			return -1;
	}
	return 0;
}

int mb_quiesce_stack_ready(struct mb_quiesce_stack *s, struct mb_error *e)
{
	for (size_t i = s->entered; i < s->n; i++)
		if (s->v[i]->ops->ready && s->v[i]->ops->ready(s->v[i], e) < 0)
			return -1;
	return 0;
}

const struct mb_quiesce *mb_quiesce_stack_next(const struct mb_quiesce_stack *s)
{
	return s->entered < s->n ? s->v[s->entered] : NULL;
}

int mb_quiesce_stack_enter_next(struct mb_quiesce_stack *s, struct mb_error *e)
{
	struct mb_quiesce *q;

	if (s->entered >= s->n)
		return mb_fail(e, MB_ERR_INTERNAL, 0, "quiesce stack entered past its end");
	q = s->v[s->entered++];
	return q->ops->enter(q, e);
}

int mb_quiesce_stack_leave(struct mb_quiesce_stack *s, bool window_only,
			   struct mb_error *e)
{
	int rc = 0;

	while (s->entered > 0) {
		struct mb_quiesce *q = s->v[s->entered - 1];

		if (window_only && !q->ops->in_window)
			break;
		s->entered--;
		if (q->ops->leave(q, e) < 0)
			rc = -1;
	}
	return rc;
}

size_t mb_quiesce_stack_deadline(struct mb_quiesce_stack *s,
				 struct mb_quiesce_deadline out[MB_QUIESCE_MAX])
{
	size_t n = 0;

	for (size_t i = 0; i < s->entered; i++) {
		struct mb_quiesce *q = s->v[i];
		const char *arg = q->ops->guard && q->ops->undo ? q->ops->guard(q) : NULL;

		if (arg)
			out[n++] = (struct mb_quiesce_deadline){ q->ops->name, q->ops->undo, arg };
	}
	return n;
}

const char *mb_quiesce_stack_bracket(const struct mb_quiesce_stack *s)
{
	for (size_t i = 0; i < s->n; i++)
		if (!s->v[i]->ops->in_window)
			return s->v[i]->ops->bracket ? s->v[i]->ops->bracket : s->v[i]->ops->name;
	return NULL;
}

/* One entry through one plugin's filter: false if it is dropped. */
static bool filter_one(struct mb_quiesce *q, struct mb_entry *ent)
{
	switch (q->ops->filter(q, ent->path)) {
	case MB_QUIESCE_DROP:
		return false;
	case MB_QUIESCE_AS_DIR:
		/* A symlink would point the restored copy at production. */
		if (ent->type == MB_T_SYMLINK) {
			mb_entry_set_link(ent, NULL);
			ent->type = MB_T_DIR;
			ent->mode = S_IFDIR | 0700;
		}
		return true;
	default:
		return true;
	}
}

bool mb_quiesce_stack_filter(struct mb_quiesce_stack *s, struct mb_set *set)
{
	bool changed = false;

	for (size_t i = 0; i < s->n; i++) {
		struct mb_quiesce *q = s->v[i];
		size_t kept = 0;

		if (!q->ops->filter)
			continue;
		changed = true;
		for (size_t k = 0; k < set->n; k++) {
			if (filter_one(q, &set->v[k]))
				set->v[kept++] = set->v[k];
			else
				mb_entry_free(&set->v[k]);
		}
		if (q->ops->filtered)
			q->ops->filtered(q, set->n - kept);
		set->n = kept;
	}
	return changed;
}

int mb_quiesce_stack_artifacts(struct mb_quiesce_stack *s, struct mb_set *set,
			       bool manifest, struct mb_error *e)
{
	for (size_t i = 0; i < s->n; i++) {
		struct mb_quiesce *q = s->v[i];
		int (*fn)(struct mb_quiesce *, struct mb_set *, struct mb_error *) =
			manifest ? q->ops->manifest : q->ops->artifacts;

		if (fn && fn(q, set, e) < 0)
			return -1;
	}
	return 0;
}

int mb_quiesce_stack_facts(struct mb_quiesce_stack *s, struct mb_fact *out, size_t cap,
			   size_t *n, struct mb_error *e)
{
	*n = 0;
	for (size_t i = 0; i < s->n; i++) {
		struct mb_quiesce *q = s->v[i];
		size_t got = 0;

		if (q->ops->facts && q->ops->facts(q, out + *n, cap - *n, &got, e) < 0)
			return -1;
		*n += got;
	}
	return 0;
}

void mb_quiesce_stack_close(struct mb_quiesce_stack *s)
{
	while (s->n > 0) {
		struct mb_quiesce *q = s->v[--s->n];

		if (q->ops->close)
			q->ops->close(q);
		for (size_t i = 0; i < q->n_mounts; i++)
			free(q->mounts[i]);
		free(q->mounts);
		free(q);
	}
	s->entered = 0;
}
