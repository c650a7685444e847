/* The mirror driver registry; see mirror.h. */
#include "plugins/mirror/mirror.h"
#include "plugins/mirror/lvm_util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

extern const struct mb_mirror_ops mb_mirror_loop;

/* The drivers a user writes (--mirror DRIVER:ARG, --help, completion),
 * then the methods a driver picks by itself (lvm: a linear LV gets the
 * snapshot), which recover still finds by the name in an obligation. */
static const struct mb_mirror_ops *const mirror_drivers[] = {
	&mb_mirror_loop,
	&mb_mirror_lvm,
	&mb_mirror_lvm_snapshot,	/* picked for lvm: by the LV's type */
	&mb_mirror_lvm_thin,		/* likewise */
};
enum { N_WRITTEN = 2 };	/* the first N_WRITTEN are written by users */

const struct mb_mirror_ops *mb_mirror_driver(const char *name)
{
	for (size_t i = 0; i < sizeof(mirror_drivers) / sizeof(mirror_drivers[0]); i++)
		if (strcmp(mirror_drivers[i]->name, name) == 0)
			return mirror_drivers[i];
	return NULL;
}

const struct mb_mirror_ops *mb_mirror_driver_at(size_t i)
{
	return i < N_WRITTEN ? mirror_drivers[i] : NULL;
}

/* The spec resolved (spec.c) to "driver:arg", which m->spec keeps: the
 * catalog and the messages name the one canonical form. */
int mb_mirror_open(struct mb_mirror **out, const char *spec, struct mb_error *e)
{
	struct mb_mirror *m;
	char *canon, *colon;

	*out = NULL;
	if (mb_mirror_resolve(spec, &canon, e) < 0)
		return -1;
	if (!(m = calloc(1, sizeof(*m)))) {
		free(canon);
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to open mirror '%s'", spec);
	}
	m->spec = canon;
	colon = strchr(canon, ':');
	*colon = '\0';
	m->ops = mb_mirror_driver(canon);
	*colon = ':';
	/* lvm:VG/LV: the LV's type picks the method (lvm_method.c) */
	if (m->ops == &mb_mirror_lvm && mb_lvm_method(colon + 1, &m->ops, e) < 0) {
		m->ops = NULL;
		mb_mirror_close(m);
		return -1;
	}
	if (m->ops->open(m, colon + 1, e) < 0) {
		mb_mirror_close(m);
		return -1;
	}
	*out = m;
	return 0;
}

void mb_mirror_close(struct mb_mirror *m)
{
	if (!m)
		return;
	if (m->ops && m->ops->close)
		m->ops->close(m);
	free(m->spec);
	free(m->device);
	free(m->split_path);
	free(m->obligation_arg);
	free(m);
}

bool mb_mirror_wait_report(const struct mb_undo_ctx *ctx, const char *what, double percent)
{
	if (ctx && ctx->on_wait)
		ctx->on_wait(ctx->on_wait_arg, what, percent);
	return ctx && ctx->on_wait;
}
