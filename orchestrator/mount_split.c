/* Read-only mount of the split leg; see mount_split.h. */
#include "orchestrator/mount_split.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "common/spawn.h"

#define MOUNT_TIMEOUT_MS 60000

/* Options that keep a read-only mount from writing: no journal replay, and
 * for xfs no UUID clash with the live filesystem it was cloned from. */
static const char *ro_options(const char *fstype)
{
	if (strcmp(fstype, "xfs") == 0)
		return "ro,norecovery,nouuid";
	if (strncmp(fstype, "ext", 3) == 0)
		return "ro,noload";
	return "ro";
}

int mb_split_mount(const char *leg, uint64_t offset, const char *fstype,
		   const char *dir, struct mb_error *e)
{
	struct stat st;
	char opts[256];

	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return mb_fail(e, MB_ERR_MIRROR, errno, "unable to create mount point '%s'", dir);
	if (stat(leg, &st) < 0)
		return mb_fail(e, MB_ERR_MIRROR, errno, "unable to mount split leg '%s'", leg);
	if (S_ISBLK(st.st_mode))
		snprintf(opts, sizeof(opts), "%s", ro_options(fstype));
	else
		snprintf(opts, sizeof(opts), "%s,loop,offset=%" PRIu64, ro_options(fstype), offset);
	const char *argv[] = { "mount", "-t", fstype, "-o", opts, leg, dir, NULL };
	return mb_spawn(argv, MOUNT_TIMEOUT_MS, MB_ERR_MIRROR, NULL, e);
}

int mb_split_unmount(const char *dir, const struct mb_undo_ctx *ctx, struct mb_error *e)
{
	/* umount(8) also detaches the loop device that mount -o loop made. */
	const char *argv[] = { "umount", dir, NULL };
	struct mb_error ignored = { 0 };

	if (access(dir, F_OK) < 0)
		return 0;
	if (mb_spawn(argv, MOUNT_TIMEOUT_MS, MB_ERR_MIRROR, NULL, &ignored) < 0 &&
	    umount2(dir, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
		return mb_fail(e, MB_ERR_MIRROR, errno, "unable to unmount '%s'", dir);
	if (rmdir(dir) < 0 && errno != ENOENT)
		return mb_fail(e, MB_ERR_MIRROR, errno, "unable to remove '%s'", dir);
	return 0;
}
