/* device-mapper calls of the snapshot drivers; see dm.h. */
#include "plugins/mirror/dm.h"

#include <errno.h>
#include <stdio.h>
#include <libdevmapper.h>
#include <sys/sysmacros.h>
#include <stdlib.h>
#include <string.h>

/* One task on `name`, run; its info in *info if asked.  With exists_only,
 * a missing device is success with info->exists 0. */
static struct dm_task *dm_run(int type, const char *name, bool skip_lockfs,
			      struct dm_info *info, const char *what, struct mb_error *e)
{
	struct dm_task *t = dm_task_create(type);

	if (!t) {
		mb_fail(e, MB_ERR_MIRROR, ENOMEM, "unable to %s '%s'", what, name);
		return NULL;
	}
	if (!dm_task_set_name(t, name) || (skip_lockfs && !dm_task_skip_lockfs(t)) ||
	    !dm_task_run(t) || (info && !dm_task_get_info(t, info))) {
		int err = dm_task_get_errno(t) ? dm_task_get_errno(t) : errno;

		mb_fail(e, MB_ERR_MIRROR, err ? err : EIO, "unable to %s device-mapper device '%s'",
			what, name);
		dm_task_destroy(t);
		return NULL;
	}
	return t;
}

/* Whether `name` exists and is suspended; -1 if it cannot be asked. */
static int dm_state(const char *name, bool *exists, bool *suspended, struct mb_error *e)
{
	struct dm_info info;
	struct dm_task *t = dm_run(DM_DEVICE_INFO, name, false, &info, "inspect", e);

	if (!t)
		return -1;
	*exists = info.exists;
	*suspended = info.exists && info.suspended;
	dm_task_destroy(t);
	return 0;
}

int mb_dm_suspend(const char *name, struct mb_error *e)
{
	struct dm_task *t = dm_run(DM_DEVICE_SUSPEND, name, true, NULL, "suspend", e);

	if (!t)
		return -1;
	dm_task_destroy(t);
	return 0;
}

int mb_dm_resume(const char *name, struct mb_error *e)
{
	bool exists, suspended;
	struct dm_task *t;

	if (dm_state(name, &exists, &suspended, e) < 0)
		return -1;
	if (!suspended)
		return 0;
	if (!(t = dm_run(DM_DEVICE_RESUME, name, false, NULL, "resume", e)))
		return -1;
	dm_task_destroy(t);
	return 0;
}

/* How a message names a target type. */
static const char *target_noun(const char *type)
{
	return strcmp(type, "thin-pool") == 0 ? "thin pool" : type;
}

/* The one target of `name`'s status, of `type`: its params copied
 * (malloc'ed into *params) and its length in sectors. */
int mb_dm_status_target(const char *name, const char *type, char **params, uint64_t *length,
			struct mb_error *e)
{
	struct dm_task *t = dm_run(DM_DEVICE_STATUS, name, false, NULL, "read the status of", e);
	uint64_t start;
	char *ttype = NULL, *tparams = NULL;
	int rc = -1;

	*params = NULL;
	if (!t)
		return -1;
	dm_get_next_target(t, NULL, &start, length, &ttype, &tparams);
	if (!ttype || strcmp(ttype, type) != 0 || !tparams) {
		mb_fail(e, MB_ERR_MIRROR, 0, "device-mapper device '%s' is not a %s (%s)", name,
			target_noun(type), ttype ? ttype : "no table");
		goto out;
	}
	if (!(*params = strdup(tparams))) {
		mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to read the status of '%s'", name);
		goto out;
	}
	rc = 0;
out:
	dm_task_destroy(t);
	return rc;
}

/* The status line of `name`'s one target of `type`, handed to `parse`
 * with a pool for libdevmapper's parsed struct; a parse that fails is
 * reported with the line. */
int mb_dm_status_parse(const char *name, const char *type, mb_dm_parse_fn parse, void *out,
		       struct mb_error *e)
{
	struct dm_pool *mem = NULL;
	uint64_t length;
	char *params;
	int rc = -1;

	if (mb_dm_status_target(name, type, &params, &length, e) < 0)
		return -1;
	if (!(mem = dm_pool_create("mbackup", 1024)) || parse(mem, params, length, out) < 0)
		mb_fail(e, MB_ERR_MIRROR, 0, "unable to parse the status of %s '%s': '%s'",
			target_noun(type), name, params);
	else
		rc = 0;
	if (mem)
		dm_pool_destroy(mem);
	free(params);
	return rc;
}

static int snapshot_of(struct dm_pool *mem, const char *params, uint64_t length, void *out)
{
	struct mb_dm_snap_fill *f = out;
	struct dm_status_snapshot *s;

	if (!dm_get_status_snapshot(mem, params, &s))
		return -1;
	f->used = s->used_sectors + (s->has_metadata_sectors ? s->metadata_sectors : 0);
	f->total = s->total_sectors;
	f->invalid = s->invalid || s->overflow || s->merge_failed;
	return 0;
}

int mb_dm_snapshot_fill(const char *name, struct mb_dm_snap_fill *f, struct mb_error *e)
{
	return mb_dm_status_parse(name, "snapshot", snapshot_of, f, e);
}

static int raid_of(struct dm_pool *mem, const char *params, uint64_t length, void *out)
{
	struct mb_dm_raid *r = out;
	struct dm_status_raid *s;

	if (!dm_get_status_raid(mem, params, &s))
		return -1;
	r->insync = s->insync_regions;
	r->total = s->total_regions;
	r->mismatches = s->mismatch_count;
	snprintf(r->health, sizeof(r->health), "%s", s->dev_health ? s->dev_health : "");
	snprintf(r->action, sizeof(r->action), "%s", s->sync_action ? s->sync_action : "");
	return 0;
}

int mb_dm_raid_state(const char *name, struct mb_dm_raid *r, struct mb_error *e)
{
	return mb_dm_status_parse(name, "raid", raid_of, r, e);
}

/* The device number of the dm device `name` (-1 if it does not exist). */
int mb_dm_devno(const char *name, dev_t *devno, struct mb_error *e)
{
	struct dm_info info;
	struct dm_task *t = dm_run(DM_DEVICE_INFO, name, false, &info, "inspect", e);

	if (!t)
		return -1;
	dm_task_destroy(t);
	if (!info.exists)
		return mb_fail(e, MB_ERR_MIRROR, ENODEV, "no device-mapper device '%s'", name);
	*devno = makedev(info.major, info.minor);
	return 0;
}
