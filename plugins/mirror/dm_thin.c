/*
 * device-mapper calls of the thin snapshot driver (snapshot_thin.c): a
 * thin device's table, the pool's messages and fill, and the snapshot
 * device mbackup loads itself; see dm.h.
 */
#include "plugins/mirror/dm.h"

#include <errno.h>
#include <inttypes.h>
#include <libdevmapper.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A task of `type` on `name`, prepared by the caller's `setup` step. */
static struct dm_task *task_on(int type, const char *name, const char *what,
			       struct mb_error *e)
{
	struct dm_task *t = dm_task_create(type);

	if (!t || !dm_task_set_name(t, name)) {
		mb_fail(e, MB_ERR_MIRROR, ENOMEM, "unable to %s device-mapper device '%s'", what, name);
		if (t)
			dm_task_destroy(t);
		return NULL;
	}
	return t;
}

/* Runs t; on failure the kernel's errno (ENXIO when the device is gone). */
static int task_run(struct dm_task *t, const char *name, const char *what, struct mb_error *e)
{
	int err;

	if (dm_task_run(t))
		return 0;
	err = dm_task_get_errno(t);
	return mb_fail(e, MB_ERR_MIRROR, err ? err : EIO, "unable to %s device-mapper device '%s'",
		       what, name);
}

int mb_dm_thin_table(const char *name, struct mb_dm_thin *th, struct mb_error *e)
{
	struct dm_task *t = task_on(DM_DEVICE_TABLE, name, "read the table of", e);
	uint64_t start, length;
	char *type = NULL, *params = NULL;
	unsigned maj, min, id;
	int rc = -1;

	if (!t)
		return -1;
	if (task_run(t, name, "read the table of", e) < 0)
		goto out;
	if (dm_get_next_target(t, NULL, &start, &length, &type, &params) != NULL ||
	    !type || strcmp(type, "thin") != 0 || !params ||
	    sscanf(params, "%u:%u %u", &maj, &min, &id) != 3) {
		mb_fail(e, MB_ERR_MIRROR, 0, "device-mapper device '%s' is not one thin target (%s %s)",
			name, type ? type : "no table", params ? params : "");
		goto out;
	}
	snprintf(th->pool_devno, sizeof(th->pool_devno), "%u:%u", maj, min);
	th->dev_id = id;
	th->sectors = length;
	rc = 0;
out:
	dm_task_destroy(t);
	return rc;
}

/* libdevmapper's own report of a failed ioctl, kept off stderr: the
 * caller's error says the same with the errno, or it was expected. */
static void quiet_log(int level, const char *file, int line, int dm_errno, const char *f, ...)
{
}

int mb_dm_message(const char *name, const char *msg, struct mb_error *e)
{
	struct dm_task *t = task_on(DM_DEVICE_TARGET_MSG, name, "send a message to", e);
	int rc = -1;

	if (!t)
		return -1;
	if (!dm_task_set_sector(t, 0) || !dm_task_set_message(t, msg)) {
		mb_fail(e, MB_ERR_MIRROR, ENOMEM, "unable to send '%s' to '%s'", msg, name);
		goto out;
	}
	dm_log_with_errno_init(quiet_log);
	if (dm_task_run(t))
		rc = 0;
	else
		mb_fail(e, MB_ERR_MIRROR, dm_task_get_errno(t) ? dm_task_get_errno(t) : EIO,
			"unable to send '%s' to thin pool '%s'", msg, name);
	dm_log_with_errno_init(NULL);
out:
	dm_task_destroy(t);
	return rc;
}

int mb_dm_create_thin(const char *name, const struct mb_dm_thin *th, struct mb_error *e)
{
	struct dm_task *t = task_on(DM_DEVICE_CREATE, name, "create", e);
	char params[64];
	int rc = -1;

	if (!t)
		return -1;
	snprintf(params, sizeof(params), "%s %u", th->pool_devno, th->dev_id);
	if (!dm_task_set_ro(t) || !dm_task_add_target(t, 0, th->sectors, "thin", params))
		mb_fail(e, MB_ERR_MIRROR, ENOMEM, "unable to create device-mapper device '%s'", name);
	else if (task_run(t, name, "create", e) == 0)
		rc = 0;
	dm_task_destroy(t);
	dm_task_update_nodes();
	return rc;
}

/* Whether `name` exists; -1 if device-mapper cannot be asked. */
int mb_dm_exists(const char *name, struct mb_error *e)
{
	struct dm_task *t = task_on(DM_DEVICE_INFO, name, "inspect", e);
	struct dm_info info;
	int rc = -1;

	if (!t)
		return -1;
	if (task_run(t, name, "inspect", e) == 0 && dm_task_get_info(t, &info))
		rc = info.exists ? 1 : 0;
	else if (!e->code)
		mb_fail(e, MB_ERR_MIRROR, EIO, "unable to inspect device-mapper device '%s'", name);
	dm_task_destroy(t);
	return rc;
}

int mb_dm_remove(const char *name, struct mb_error *e)
{
	struct dm_task *t;
	int exists = mb_dm_exists(name, e), rc;

	if (exists <= 0)
		return exists;
	if (!(t = task_on(DM_DEVICE_REMOVE, name, "remove", e)))
		return -1;
	dm_task_retry_remove(t);
	rc = task_run(t, name, "remove", e);
	dm_task_destroy(t);
	dm_task_update_nodes();
	return rc;
}

/* Loads one target of `type` in place of name's table (writable) and
 * resumes it. */
static int reload(const char *name, uint64_t sectors, const char *type, const char *params,
		  struct mb_error *e)
{
	struct dm_task *t = task_on(DM_DEVICE_RELOAD, name, "reload", e);
	int rc = -1;

	if (!t)
		return -1;
	if (!dm_task_add_target(t, 0, sectors, type, params))
		mb_fail(e, MB_ERR_MIRROR, ENOMEM, "unable to reload device-mapper device '%s'", name);
	else if (task_run(t, name, "reload", e) == 0)
		rc = 0;
	dm_task_destroy(t);
	if (rc == 0 && (mb_dm_suspend(name, e) < 0 || mb_dm_resume(name, e) < 0))
		rc = -1;
	return rc;
}

/* Swaps name's table for an error target of the same length (its reads
 * fail from now on, its hold on the pool's device ends). */
int mb_dm_load_error(const char *name, uint64_t sectors, struct mb_error *e)
{
	return reload(name, sectors, "error", "", e);
}

int mb_dm_reload_thin_rw(const char *name, const struct mb_dm_thin *th, struct mb_error *e)
{
	char params[64];

	snprintf(params, sizeof(params), "%s %u", th->pool_devno, th->dev_id);
	return reload(name, th->sectors, "thin", params, e);
}

static int pool_of(struct dm_pool *mem, const char *params, uint64_t length, void *out)
{
	struct mb_dm_snap_fill *f = out;
	struct dm_status_thin_pool *s;

	if (!dm_get_status_thin_pool(mem, params, &s))
		return -1;
	mb_dm_pool_fill_of(s->used_data_blocks, s->total_data_blocks, s->used_metadata_blocks,
			   s->total_metadata_blocks, length, f);
	f->invalid = s->fail || s->error || s->out_of_data_space || s->read_only;
	return 0;
}

int mb_dm_pool_fill(const char *name, struct mb_dm_snap_fill *f, struct mb_error *e)
{
	return mb_dm_status_parse(name, "thin-pool", pool_of, f, e);
}

/* The fuller of data and metadata, as sectors of the pool's data. */
void mb_dm_pool_fill_of(uint64_t data_used, uint64_t data_total, uint64_t meta_used,
			uint64_t meta_total, uint64_t sectors, struct mb_dm_snap_fill *f)
{
	double d = data_total ? (double)data_used / (double)data_total : 1.0;
	double m = meta_total ? (double)meta_used / (double)meta_total : 1.0;

	f->total = sectors;
	f->used = (uint64_t)((d > m ? d : m) * (double)sectors);
	f->meta = m > d;
}

/* 1 with the first dm device whose name starts with prefix in out, 0 if
 * none. */
int mb_dm_find_prefix(const char *prefix, char *out, size_t len, struct mb_error *e)
{
	struct dm_task *t = dm_task_create(DM_DEVICE_LIST);
	struct dm_names *n;
	int rc = -1;

	out[0] = '\0';
	if (!t)
		return mb_fail(e, MB_ERR_MIRROR, ENOMEM, "unable to list device-mapper devices");
	if (task_run(t, "*", "list", e) < 0)
		goto out;
	rc = 0;
	n = dm_task_get_names(t);
	for (; n && n->dev && rc == 0; n = n->next ? (struct dm_names *)((char *)n + n->next) : NULL) {
		if (strncmp(n->name, prefix, strlen(prefix)) == 0) {
			snprintf(out, len, "%s", n->name);
			rc = 1;
		}
	}
out:
	dm_task_destroy(t);
	return rc;
}
