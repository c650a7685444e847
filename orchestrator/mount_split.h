/*
 * A read-only mount of the split leg, for files whose extents cannot be
 * trusted (ext4 inline data, delalloc, encoded...): they are read through
 * the filesystem instead of by extent.  Mounted only when such a file
 * exists; journal replay is disabled so the leg is never written.
 */
#ifndef MB_MOUNT_SPLIT_H
#define MB_MOUNT_SPLIT_H

#include <stdint.h>

#include "common/error.h"
#include "common/obligation.h"

/* Mounts leg (a block device, or an image file through a read-only loop
 * device at offset) of type fstype (ext4, xfs...) read-only at dir,
 * creating dir.  The caller records dir as a "mount" obligation first. */
int mb_split_mount(const char *leg, uint64_t offset, const char *fstype,
		   const char *dir, struct mb_error *e);
/* Unmounts dir (and frees its loop device) and removes dir; not mounted
 * or missing is fine. */
int mb_split_unmount(const char *dir, const struct mb_undo_ctx *ctx, struct mb_error *e);

#endif
