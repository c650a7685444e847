/*
 * Applying one increment to a restored tree (orchestrator/incr_apply.c):
 * the tree holds the state of the increment's base; the increment's
 * members were restored (checksums checked) into a staging directory; the
 * manifest turns the tree into the increment's state.  Every path is
 * resolved below the tree without following a symlink.
 */
#ifndef MB_INCR_APPLY_H
#define MB_INCR_APPLY_H

#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"
#include "image/blockmap.h"

/* wanted(arg, path): whether path is restored (NULL: everything). */
typedef bool (*mb_incr_wanted_fn)(void *arg, const char *path);

struct mb_incr_apply {
	int tree;		/* fd of the target directory */
	int staging;		/* fd of the staging directory */
	const char *target;	/* the target's name, for messages */
	mb_incr_wanted_fn wanted;
	void *wanted_arg;
	/* which files to check against the manifest's checksum once all is
	 * applied (NULL: those this increment wrote); a chain checks only
	 * at its last increment, every file any increment of it wrote */
	mb_incr_wanted_fn verify;
	void *verify_arg;
	uint64_t files, bytes;	/* files changed and bytes written */
	uint64_t checked;	/* files checked */
};

/* Removes what the manifest lists as gone, makes every entry (whole
 * files renamed from staging, delta members' blocks written in place),
 * checks the files a->verify names against the manifest's checksum (a
 * file that does not match is removed: MB_ERR_CORRUPT naming it) and sets
 * owner, mode and mtime of every entry. */
int mb_incr_apply(struct mb_incr_apply *a, const struct mb_incr_manifest *m,
		  struct mb_error *e);

/* The parent directory of path below dir (no symlink followed, no ".."),
 * and its last component; -1 with MB_ERR_TARGET if it escapes. */
int mb_incr_parent(int dir, const char *path, const char **leaf, struct mb_error *e);

/* Removes name below dirfd (AT_FDCWD: a path) and everything it holds,
 * never following a symlink; 0 if it is gone (or was never there). */
int mb_rm_tree(int dirfd, const char *name);

#endif
