/*
 * The restore target: creates files, directories and links strictly
 * beneath one directory.  Paths come from an image and are untrusted:
 * absolute paths, "..", empty components and anything that would pass
 * through a symlink are refused (every component is opened with
 * O_NOFOLLOW relative to the parent's fd).  Directory metadata (mode,
 * owner, mtime) is applied at close, deepest first, so restoring the
 * contents does not disturb it.
 */
#ifndef MB_RESTORE_TARGET_H
#define MB_RESTORE_TARGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/entry.h"
#include "common/error.h"

struct mb_target;

/* Opens dir (creating it, mode 0700, if missing).  A non-empty dir is
 * refused (MB_ERR_TARGET) unless force, in which case existing entries are
 * replaced as they are restored and the staging directories an
 * interrupted restore left are removed first. */
int mb_target_open(struct mb_target **out, const char *dir, bool force,
		   struct mb_error *e);

/* Checks an image path: relative, no "." / ".." / empty components, not
 * beneath a name of the staging directory (MB_STAGING_PREFIX). */
int mb_target_check_path(const char *path, struct mb_error *e);

/* Regular file: creates its missing parent directories and the file
 * itself in the target's staging directory (restore_staging.h), never
 * under its name, and returns an open fd and the id that publishes it.
 * Data is then written with mb_target_write(), which leaves holes
 * where whole 4 KiB blocks are zero (it skips zero runs, so each byte range
 * of the new file must be written at most once); mb_target_finish_file()
 * sets the size (ftruncate to ent->size), owner (if root), mode and mtime
 * and closes.  mb_target_publish() then renames it to its name (once its
 * checksum is known good; with force it replaces a file there, else an
 * existing name fails); mb_target_discard() drops it; mb_target_close()
 * drops every file not published. */
int mb_target_create_file(struct mb_target *t, const struct mb_entry *ent,
			  int *fd, size_t *id, struct mb_error *e);
int mb_target_publish(struct mb_target *t, size_t id, struct mb_error *e);
void mb_target_discard(struct mb_target *t, size_t id);
int mb_target_write(struct mb_target *t, int fd, const void *buf, size_t len,
		    struct mb_error *e);
/* The failure of a write of path under the restore target dir (err: the
 * write's errno, ENOSPC for a write of 0): the message names both, and a
 * full filesystem gets a hint.  Also the increments' (incr_apply.c). */
int mb_target_write_failed(int err, const char *path, const char *dir, struct mb_error *e);
/* Moves the write position of fd (a segment of a larger file starts at its
 * seg_offset); skipped ranges stay holes. */
int mb_target_seek(struct mb_target *t, int fd, uint64_t offset,
		   struct mb_error *e);
int mb_target_finish_file(struct mb_target *t, int fd,
			  const struct mb_entry *ent, struct mb_error *e);

/* Directory, symlink, hard link (link_target is the image path of the first
 * name, already restored), fifo / device node. */
int mb_target_make(struct mb_target *t, const struct mb_entry *ent,
		   struct mb_error *e);

/* Removes a restored file again (e.g. its checksum did not match). */
int mb_target_remove(struct mb_target *t, const char *path,
		     struct mb_error *e);

/* Drops the files not published, removes the staging directory, applies
 * the deferred directory metadata and frees t. */
int mb_target_close(struct mb_target *t, struct mb_error *e);

#endif
