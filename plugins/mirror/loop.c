/*
 * The loop mirror driver: for hosts without device-mapper.
 *
 * The filesystem lives on /dev/loopN; the loop device's backing file lives
 * on a filesystem that can reflink (xfs with reflink=1, btrfs).  The split
 * is a FICLONE of the whole backing file, taken inside the window while the
 * filesystem on the loop device is frozen: a point-in-time copy that costs
 * metadata only.  FIEMAP offsets on the loop device are offsets into the
 * backing file (plus the loop offset), so the clone is read by extent just
 * like a raw split leg.  Merging back means dropping the clone.
 */
#include "plugins/mirror/mirror.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <unistd.h>

#define LOOP_MAJOR_NUMBER 7

struct loop_mirror {
	char *backing;		/* the backing file */
	int backing_fd;		/* open from prepare_split to split */
};

/* Reads one line of /sys/dev/block/MAJ:MIN/loop/<name>; NULL if absent
 * (errno ENOMEM: out of memory). */
static char *loop_sysfs(dev_t rdev, const char *name)
{
	char path[128], buf[4096];
	FILE *f;

	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/loop/%s",
		 major(rdev), minor(rdev), name);
	f = fopen(path, "re");
	if (!f)
		return NULL;
	if (!fgets(buf, sizeof(buf), f)) {
		fclose(f);
		return NULL;
	}
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	return strdup(buf);
}

static int loop_open(struct mb_mirror *m, const char *arg, struct mb_error *e)
{
	struct loop_mirror *lm;
	struct stat st;
	char *offset;

	if (stat(arg, &st) < 0)
		return mb_fail(e, MB_ERR_MIRROR, errno, "unable to use mirror device '%s'", arg);
	if (!S_ISBLK(st.st_mode) || major(st.st_rdev) != LOOP_MAJOR_NUMBER) {
		mb_fail(e, MB_ERR_MIRROR, 0, "mirror device '%s' is not a loop device", arg);
		mb_hint(e, "the loop: driver needs the /dev/loopN the filesystem is mounted from");
		return -1;
	}
	lm = calloc(1, sizeof(*lm));
	if (!lm)
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to open mirror '%s'", arg);
	lm->backing_fd = -1;
	m->priv = lm;
	if (!(m->device = strdup(arg)))
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to open mirror '%s'", arg);
	m->rdev = st.st_rdev;
	errno = 0;
	lm->backing = loop_sysfs(st.st_rdev, "backing_file");
	if (!lm->backing && errno == ENOMEM)
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to open mirror '%s'", arg);
	if (!lm->backing) {
		mb_fail(e, MB_ERR_MIRROR, 0, "loop device '%s' has no backing file", arg);
		mb_hint(e, "attach it first, e.g. losetup %s FILE", arg);
		return -1;
	}
	offset = loop_sysfs(st.st_rdev, "offset");
	m->split_offset = offset ? strtoull(offset, NULL, 10) : 0;
	free(offset);
	return 0;
}

/* Clones a small probe file beside the backing file: the only reliable way
 * to learn whether that filesystem can reflink.  Leaves nothing behind. */
static int probe_reflink(const char *backing, struct mb_error *e)
{
	char src[4096], dst[4200], block[4096] = "mbackup reflink probe";
	int sfd = -1, dfd = -1, rc = -1, err;
	struct statfs sfs;

	snprintf(src, sizeof(src), "%s.mbackup-probe-%d", backing, (int)getpid());
	snprintf(dst, sizeof(dst), "%s.clone", src);
	sfd = open(src, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (sfd < 0) {
		mb_fail(e, MB_ERR_MIRROR, errno, "unable to probe reflink beside '%s'", backing);
		goto out;
	}
	dfd = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (dfd < 0 || write(sfd, block, sizeof(block)) != sizeof(block) || fsync(sfd) < 0) {
		mb_fail(e, MB_ERR_MIRROR, errno, "unable to probe reflink beside '%s'", backing);
		goto out;
	}
	if (ioctl(dfd, FICLONE, sfd) < 0) {
		err = errno;
		statfs(backing, &sfs);
		mb_fail(e, MB_ERR_MIRROR, err,
			"backing file '%s' is on a filesystem that cannot reflink (type 0x%lx)",
			backing, (unsigned long)sfs.f_type);
		mb_hint(e, "put the loop backing file on xfs made with -m reflink=1, or on btrfs");
		goto out;
	}
	rc = 0;
out:
	if (sfd >= 0) {
		close(sfd);
		unlink(src);
	}
	if (dfd >= 0) {
		close(dfd);
		unlink(dst);
	}
	return rc;
}

static int loop_check(struct mb_mirror *m, struct mb_error *e)
{
	struct loop_mirror *lm = m->priv;
	struct stat st;

	if (stat(lm->backing, &st) < 0)
		return mb_fail(e, MB_ERR_MIRROR, errno, "unable to use backing file '%s' of '%s'",
			       lm->backing, m->device);
	return probe_reflink(lm->backing, e);
}

/* A loop device is always "in sync": its backing file is the one copy. */
static int loop_sync(struct mb_mirror *m, struct mb_error *e)
{
	return 0;
}

static int loop_prepare_split(struct mb_mirror *m, int64_t run_id, struct mb_error *e)
{
	struct loop_mirror *lm = m->priv;

	free(m->obligation_arg);
	if (asprintf(&m->obligation_arg, "%s.mbackup-split-%" PRId64, lm->backing, run_id) < 0) {
		m->obligation_arg = NULL;
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to prepare the split");
	}
	if (access(m->obligation_arg, F_OK) == 0) {
		mb_fail(e, MB_ERR_MIRROR, 0, "split leg '%s' already exists", m->obligation_arg);
		mb_hint(e, "a previous run left it: run mbackup recover, or remove it");
		return -1;
	}
	lm->backing_fd = open(lm->backing, O_RDONLY | O_CLOEXEC);
	if (lm->backing_fd < 0)
		return mb_fail(e, MB_ERR_MIRROR, errno, "unable to open backing file '%s'", lm->backing);
	/* FICLONE writes back the source's dirty pages first: do most of that
	 * now, outside the window. */
	if (fdatasync(lm->backing_fd) < 0)
		return mb_fail(e, MB_ERR_MIRROR, errno, "unable to flush backing file '%s'", lm->backing);
	return 0;
}

/* Inside the window: one create and one FICLONE, both on the (unfrozen)
 * backing filesystem. */
static int loop_split(struct mb_mirror *m, struct mb_error *e)
{
	struct loop_mirror *lm = m->priv;
	int fd = open(m->obligation_arg, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0400);

	if (fd < 0)
		return mb_fail(e, MB_ERR_MIRROR, errno, "unable to create split leg '%s'",
			       m->obligation_arg);
	if (ioctl(fd, FICLONE, lm->backing_fd) < 0) {
		mb_fail(e, MB_ERR_MIRROR, errno, "unable to clone '%s' to '%s'",
			lm->backing, m->obligation_arg);
		close(fd);
		return -1;
	}
	close(fd);
	m->split_path = strdup(m->obligation_arg);
	return m->split_path ? 0 : mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to split");
}

static int loop_undo(const char *clone, const struct mb_undo_ctx *ctx, struct mb_error *e)
{
	if (unlink(clone) < 0 && errno != ENOENT)
		return mb_fail(e, MB_ERR_MIRROR, errno, "unable to remove split leg '%s'", clone);
	return 0;
}

static void loop_close(struct mb_mirror *m)
{
	struct loop_mirror *lm = m->priv;

	if (!lm)
		return;
	if (lm->backing_fd >= 0)
		close(lm->backing_fd);
	free(lm->backing);
	free(lm);
	m->priv = NULL;
}

const struct mb_mirror_ops mb_mirror_loop = {
	.name = "loop",
	.open = loop_open,
	.check = loop_check,
	.sync = loop_sync,
	.prepare_split = loop_prepare_split,
	.split = loop_split,
	.undo = loop_undo,
	.close = loop_close,
};
