/*
 * Quiesce plugins: brackets around the split.  A plugin is a table of
 * functions registered by name in quiesce.c:
 *   prepare  slow work before the window (connect, check, open fds)
 *   enter    fast, inside the window; records each obligation before acting
 *   leave    idempotent, safe to call twice, safe after a partial enter
 * The runner enters plugins in order and leaves them in reverse order.
 *   fsfreeze  FIFREEZE / FITHAW of every filesystem involved (--db none,
 *             and under the postgres plugin in every mode)
 */
#ifndef MB_QUIESCE_H
#define MB_QUIESCE_H

#include <stddef.h>

#include "common/error.h"
#include "orchestrator/obligations.h"

struct mb_quiesce;

struct mb_quiesce_ops {
	const char *name;
	int (*prepare)(struct mb_quiesce *q, struct mb_error *e);
	int (*enter)(struct mb_quiesce *q, struct mb_error *e);
	int (*leave)(struct mb_quiesce *q, struct mb_error *e);
	void (*close)(struct mb_quiesce *q);
};

struct mb_quiesce {
	const struct mb_quiesce_ops *ops;
	struct mb_obligations *obl;	/* where enter records what it does */
	char **mounts;			/* mountpoints of the filesystems involved */
	size_t n_mounts;
	void *priv;
};

/* Finds the plugin by name and sets it up for these mountpoints. */
int mb_quiesce_open(struct mb_quiesce **out, const char *name,
		    char *const *mounts, size_t n_mounts,
		    struct mb_obligations *obl, struct mb_error *e);
void mb_quiesce_close(struct mb_quiesce *q);

/* Thaws one mountpoint (the catalog text of a "freeze" obligation);
 * a filesystem that is not frozen is fine. */
int mb_fsfreeze_undo(const char *mountpoint, struct mb_error *e);

#endif
