/*
 * The quiesce registry; see quiesce.h.  The one place that maps a --db
 * value to its stack and a plugin name to its table: a new plugin is added
 * here (and to a stack).
 */
#include "plugins/quiesce/quiesce.h"

#include <string.h>

extern const struct mb_quiesce_ops mb_quiesce_fsfreeze;
extern const struct mb_quiesce_ops mb_quiesce_postgres;

static const struct mb_quiesce_ops *const quiesce_plugins[] = {
	&mb_quiesce_fsfreeze,
	&mb_quiesce_postgres,
};

/* --db value -> the plugins it stacks, entered in this order: the ones
 * outside the window first, the filesystem freeze last. */
static const struct {
	const char *db;
	const struct mb_quiesce_ops *stack[MB_QUIESCE_MAX + 1];	/* NULL-terminated */
} quiesce_stacks[] = {
	{ "none", { &mb_quiesce_fsfreeze } },
	{ "postgres", { &mb_quiesce_postgres, &mb_quiesce_fsfreeze } },
};

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

static int stack_of(const char *db)
{
	for (size_t i = 0; db && i < N_OF(quiesce_stacks); i++)
		if (strcmp(quiesce_stacks[i].db, db) == 0)
			return (int)i;
	return -1;
}

int mb_quiesce_stack_check(const char *db, bool *dictates_source, struct mb_error *e)
{
	int k = stack_of(db);

	*dictates_source = false;
	if (!db) {
		mb_fail(e, MB_ERR_USAGE, 0, "missing --db");
		mb_hint(e, "--db none freezes the source filesystem around the split");
		return -1;
	}
	if (k < 0) {
		mb_fail(e, MB_ERR_USAGE, 0, "unknown --db '%s'", db);
		mb_hint(e, "use postgres, or none to freeze the source filesystem only");
		return -1;
	}
	for (size_t i = 0; quiesce_stacks[k].stack[i]; i++)
		if (quiesce_stacks[k].stack[i]->source)
			*dictates_source = true;
	return 0;
}

const struct mb_quiesce_ops *const *mb_quiesce_stack_of(const char *db)
{
	int k = stack_of(db);

	return k < 0 ? NULL : quiesce_stacks[k].stack;
}

const struct mb_quiesce_ops *mb_quiesce_driver(const char *name)
{
	for (size_t i = 0; i < N_OF(quiesce_plugins); i++)
		if (strcmp(quiesce_plugins[i]->name, name) == 0)
			return quiesce_plugins[i];
	return NULL;
}

const struct mb_quiesce_ops *mb_quiesce_recovery(const char *db)
{
	const struct mb_quiesce_ops *const *v = db ? mb_quiesce_stack_of(db) : quiesce_plugins;
	size_t n = db ? MB_QUIESCE_MAX : N_OF(quiesce_plugins);

	for (size_t i = 0; v && i < n && v[i]; i++)
		if (v[i]->recovery)
			return v[i];
	return NULL;
}
