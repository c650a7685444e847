/*
 * The fsfreeze plugin (the last of every stack): FIFREEZE every
 * filesystem involved inside the window, FITHAW on leave.  prepare opens
 * the mountpoints and records one "freeze" obligation per filesystem in
 * the catalog, so the window itself holds only ioctls: no path lookups,
 * no catalog commits.  undo thaws one mountpoint by its path (recover);
 * a filesystem that is not frozen is fine.
 */
#include "plugins/quiesce/quiesce.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* One per mountpoint, in q->mounts order (priv is the array). */
struct frozen_fs {
	int fd;			/* -1 until opened */
	int handle;		/* obligation handle, -1 if not taken */
	bool frozen;
};

static int fsfreeze_undo(const char *mountpoint, const struct mb_undo_ctx *ctx, struct mb_error *e);

/* Writes back dirty data, so the freeze itself has little left to flush
 * and the window stays short: once in prepare (most of it), and again
 * just before the window, after a database's start checkpoint (with
 * --checkpoint fast, seconds of writes that FIFREEZE would otherwise
 * flush inside the window). */
static int fsfreeze_ready(struct mb_quiesce *q, struct mb_error *e)
{
	struct frozen_fs *v = q->priv;

	for (size_t i = 0; i < q->n_mounts; i++)
		if (syncfs(v[i].fd) < 0)
			return mb_fail(e, MB_ERR_QUIESCE, errno, "unable to sync '%s'", q->mounts[i]);
	return 0;
}

static int fsfreeze_prepare(struct mb_quiesce *q, struct mb_error *e)
{
	struct frozen_fs *v = calloc(q->n_mounts ? q->n_mounts : 1, sizeof(*v));

	if (!v)
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to prepare the freeze");
	q->priv = v;
	for (size_t i = 0; i < q->n_mounts; i++)
		v[i].fd = v[i].handle = -1;
	for (size_t i = 0; i < q->n_mounts; i++) {
		v[i].fd = open(q->mounts[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (v[i].fd < 0)
			return mb_fail(e, MB_ERR_QUIESCE, errno, "unable to open '%s'", q->mounts[i]);
		if (mb_obl_take(q->obl, "freeze", "fsfreeze", q->mounts[i],
				fsfreeze_undo, &v[i].handle, e) < 0)
			return -1;
	}
	return fsfreeze_ready(q, e);
}

static int fsfreeze_enter(struct mb_quiesce *q, struct mb_error *e)
{
	struct frozen_fs *v = q->priv;

	for (size_t i = 0; i < q->n_mounts; i++) {
		if (ioctl(v[i].fd, FIFREEZE, 0) < 0) {
			int err = errno;

			mb_fail(e, MB_ERR_QUIESCE, err, "unable to freeze '%s'", q->mounts[i]);
			if (err == EBUSY)
				mb_hint(e, "it is frozen already (fsfreeze -u %s thaws it)", q->mounts[i]);
			/* We froze nothing here: thawing it would undo someone
			 * else's freeze, so the obligation is void. */
			mb_obl_done(q->obl, v[i].handle, NULL);
			v[i].handle = -1;
			return -1;
		}
		v[i].frozen = true;
	}
	return 0;
}

/* Newest first; EINVAL means "not frozen" (the guard may have thawed it). */
static int fsfreeze_leave(struct mb_quiesce *q, struct mb_error *e)
{
	struct frozen_fs *v = q->priv;
	int rc = 0;

	for (size_t i = v ? q->n_mounts : 0; i-- > 0;) {
		if (!v[i].frozen)
			continue;
		if (ioctl(v[i].fd, FITHAW, 0) < 0 && errno != EINVAL) {
			rc = mb_fail(e, MB_ERR_QUIESCE, errno, "unable to thaw '%s'", q->mounts[i]);
			continue;
		}
		v[i].frozen = false;
		if (v[i].handle >= 0)
			mb_obl_done(q->obl, v[i].handle, NULL);
		v[i].handle = -1;
	}
	return rc;
}

static void fsfreeze_close(struct mb_quiesce *q)
{
	struct frozen_fs *v = q->priv;

	for (size_t i = 0; v && i < q->n_mounts; i++)
		if (v[i].fd >= 0)
			close(v[i].fd);
	free(v);
	q->priv = NULL;
}

static int fsfreeze_undo(const char *mountpoint, const struct mb_undo_ctx *ctx, struct mb_error *e)
{
	int fd = open(mountpoint, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = 0;

	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd < 0)
		return mb_fail(e, MB_ERR_QUIESCE, errno, "unable to open '%s' to thaw it", mountpoint);
	if (ioctl(fd, FITHAW, 0) < 0 && errno != EINVAL)
		rc = mb_fail(e, MB_ERR_QUIESCE, errno, "unable to thaw '%s'", mountpoint);
	close(fd);
	return rc;
}

const struct mb_quiesce_ops mb_quiesce_fsfreeze = {
	.name = "fsfreeze",
	.in_window = true,
	.prepare = fsfreeze_prepare,
	.ready = fsfreeze_ready,
	.enter = fsfreeze_enter,
	.leave = fsfreeze_leave,
	.close = fsfreeze_close,
	.undo = fsfreeze_undo,
};
