/* The quiesce plugin registry; see quiesce.h. */
#include "plugins/quiesce/quiesce.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

extern const struct mb_quiesce_ops mb_quiesce_fsfreeze;
extern const struct mb_quiesce_ops mb_quiesce_postgres;

static const struct mb_quiesce_ops *const quiesce_plugins[] = {
	&mb_quiesce_fsfreeze,
	&mb_quiesce_postgres,
};

int mb_quiesce_open(struct mb_quiesce **out, const char *name,
		    char *const *mounts, size_t n_mounts,
		    struct mb_obligations *obl, struct mb_error *e)
{
	const struct mb_quiesce_ops *ops = NULL;
	struct mb_quiesce *q;

	*out = NULL;
	for (size_t i = 0; i < sizeof(quiesce_plugins) / sizeof(quiesce_plugins[0]); i++)
		if (strcmp(quiesce_plugins[i]->name, name) == 0)
			ops = quiesce_plugins[i];
	if (!ops)
		return mb_fail(e, MB_ERR_USAGE, 0, "unknown quiesce plugin '%s'", name);
	q = calloc(1, sizeof(*q));
	if (!q || !(q->mounts = calloc(n_mounts ? n_mounts : 1, sizeof(char *)))) {
		free(q);
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to set up '%s'", name);
	}
	q->ops = ops;
	q->obl = obl;
	for (size_t i = 0; i < n_mounts; i++)
		q->mounts[q->n_mounts++] = strdup(mounts[i]);
	*out = q;
	return 0;
}

void mb_quiesce_close(struct mb_quiesce *q)
{
	if (!q)
		return;
	if (q->ops->close)
		q->ops->close(q);
	for (size_t i = 0; i < q->n_mounts; i++)
		free(q->mounts[i]);
	free(q->mounts);
	free(q);
}
