/*
 * Which mount holds a path: /proc/self/mountinfo looked up by st_dev.
 */
#ifndef MB_MOUNTINFO_H
#define MB_MOUNTINFO_H

#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"

struct mb_mount {
	char mountpoint[4096];
	char fstype[64];
	char source[4096];	/* e.g. /dev/loop3 */
	dev_t dev;
};

/* Finds the mount whose device is dev (the last one listed wins, as the
 * kernel shows the topmost mount last).  MB_ERR_NOT_FOUND if none. */
int mb_mount_by_dev(dev_t dev, struct mb_mount *m, struct mb_error *e);

/* st_dev of path (following symlinks), or of its nearest existing parent
 * when it does not exist yet (a file about to be created). */
int mb_path_dev(const char *path, dev_t *dev, struct mb_error *e);

#endif
