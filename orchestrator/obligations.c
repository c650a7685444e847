/* Obligations: recorded before, undone newest-first; see obligations.h. */
#include "orchestrator/obligations.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "orchestrator/commands.h"
#include "orchestrator/mount_split.h"
#include "orchestrator/publish.h"
#include "plugins/media/media.h"
#include "plugins/mirror/mirror.h"
#include "orchestrator/catalog_proof.h"
#include "plugins/quiesce/quiesce.h"

void mb_obl_init(struct mb_obligations *o, struct mb_catalog *c, int64_t run_id,
		 const struct mb_undo_ctx *ctx)
{
	memset(o, 0, sizeof(*o));
	o->catalog = c;
	o->run_id = run_id;
	o->ctx = *ctx;
	mb_catalog_proof_ctx(c, &o->ctx);
}

int mb_obl_take(struct mb_obligations *o, const char *kind, const char *driver,
		const char *arg, mb_undo_fn undo, int *handle, struct mb_error *e)
{
	struct mb_obligation_slot *s;

	if (o->n == MB_OBL_MAX)
		return mb_fail(e, MB_ERR_INTERNAL, 0, "too many obligations in one run");
	s = &o->v[o->n];
	memset(s, 0, sizeof(*s));
	snprintf(s->kind, sizeof(s->kind), "%s", kind);
	snprintf(s->driver, sizeof(s->driver), "%s", driver);
	s->arg = strdup(arg);
	s->undo = undo;
	if (!s->arg)
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to record %s of '%s'", kind, arg);
	if (mb_catalog_obligation_add(o->catalog, o->run_id, kind, driver, arg, &s->id, e) < 0) {
		free(s->arg);
		return -1;
	}
	s->open = 1;
	*handle = o->n++;
	mb_debug("obligation %s %s '%s' recorded", driver, kind, arg);
	return 0;
}

static int mark(struct mb_obligations *o, int handle, const char *state,
		struct mb_error *e)
{
	struct mb_obligation_slot *s = &o->v[handle];

	s->open = 0;
	return mb_catalog_obligation_set(o->catalog, s->id, state, e);
}

int mb_obl_done(struct mb_obligations *o, int handle, struct mb_error *e)
{
	return mark(o, handle, "released", e);
}

int mb_obl_keep(struct mb_obligations *o, int handle, struct mb_error *e)
{
	struct mb_obligation_slot *s = &o->v[handle];
	char mirror[160];

	mb_info("keeping %s '%s' as asked", s->kind, s->arg);
	/* A kept split is merged by someone else, never proven by us. */
	snprintf(mirror, sizeof(mirror), "%s:%s", s->driver, s->arg);
	if (strcmp(s->kind, "split") == 0 && mb_catalog_proof_forget(o->catalog, mirror, e) < 0)
		return -1;
	return mark(o, handle, "released", e);
}

int mb_obl_release(struct mb_obligations *o, int handle, struct mb_error *e)
{
	struct mb_obligation_slot *s = &o->v[handle];

	if (!s->open)
		return 0;
	if (s->undo(s->arg, &o->ctx, e) < 0) {
		mark(o, handle, "failed", NULL);
		return -1;
	}
	return mark(o, handle, "released", e);
}

int mb_obl_unwind(struct mb_obligations *o, struct mb_error *e)
{
	int rc = 0;

	for (int i = o->n - 1; i >= 0; i--) {
		struct mb_error one = { 0 };

		if (!o->v[i].open)
			continue;
		if (mb_obl_release(o, i, &one) < 0) {
			mb_error_log("unable to undo %s '%s': %s", o->v[i].kind,
				     o->v[i].arg, one.msg);
			if (e && e->code == MB_OK)
				*e = one;
			rc = -1;
		} else {
			mb_info("undone: %s '%s'", o->v[i].kind, o->v[i].arg);
		}
	}
	return rc;
}

void mb_obl_free(struct mb_obligations *o)
{
	for (int i = 0; i < o->n; i++)
		free(o->v[i].arg);
	o->n = 0;
}

/* Each kind of obligation belongs to one registry; it knows the undo of
 * each of its drivers by the driver's name. */
static mb_undo_fn quiesce_undo(const char *driver)
{
	const struct mb_quiesce_ops *q = mb_quiesce_driver(driver);

	return q ? q->undo : NULL;
}

static mb_undo_fn mirror_undo(const char *driver)
{
	const struct mb_mirror_ops *m = mb_mirror_driver(driver);

	return m ? m->undo : NULL;
}

static mb_undo_fn media_undo(const char *driver)
{
	const struct mb_media_ops *m = mb_media_driver(driver);

	return m ? m->undo : NULL;
}

/* The orchestrator's own: the read-only mount of a split leg. */
static mb_undo_fn mount_undo(const char *driver)
{
	return mb_split_unmount;
}

/* An image under its final name before the run is complete: the
 * orchestrator's rename (publish.h), or the driver's own (s3's completion). */
static mb_undo_fn publish_undo(const char *driver)
{
	const struct mb_media_ops *m = mb_media_driver(driver);

	return m && m->unpublish ? m->unpublish : mb_publish_undo;
}

/* consolidate's work directory (orchestrator/consolidate.c). */
static mb_undo_fn workdir_undo(const char *driver)
{
	return strcmp(driver, "consolidate") == 0 ? mb_consolidate_undo : NULL;
}

static const struct {
	const char *kind;
	mb_undo_fn (*lookup)(const char *driver);
} undo_registries[] = {
	{ "freeze", quiesce_undo },
	{ "split", mirror_undo },
	{ "media", media_undo },
	{ "mount", mount_undo },
	{ "publish", publish_undo },
	{ "workdir", workdir_undo },
};

mb_undo_fn mb_obl_undo_for(const char *kind, const char *driver)
{
	for (size_t i = 0; i < sizeof(undo_registries) / sizeof(undo_registries[0]); i++)
		if (strcmp(undo_registries[i].kind, kind) == 0)
			return undo_registries[i].lookup(driver);
	return NULL;
}
