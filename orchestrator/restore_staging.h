/*
 * Where a restore keeps a regular file until its checksum has been
 * checked: a hidden directory at the top of the target,
 * MB_STAGING_PREFIX + 6 random characters, mode 0700, holding the files
 * flat under numbers.  A file is published (renamed to its name: atomic,
 * the staging directory is on the target's filesystem) only once the
 * trailer has vouched for it; what is never published is unlinked at
 * close.  A restore killed by SIGKILL leaves only this directory: no
 * file under a final name.  Opening a target with --force removes such
 * leftovers first (they hold nothing but regular files of ours).
 */
#ifndef MB_RESTORE_STAGING_H
#define MB_RESTORE_STAGING_H

#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"

#define MB_STAGING_PREFIX ".mbackup-restore-"

struct mb_staged;

struct mb_staging {
	int top;		/* O_PATH fd of the target (borrowed) */
	const char *target;	/* the target's name, for messages (borrowed) */
	int dirfd;		/* the staging directory, -1 until the first file */
	char name[32];		/* its name beneath top */
	struct mb_staged *v;
	size_t n, cap;
};

/* Binds s to the target top (nothing made yet); with clear, removes what
 * an interrupted restore left (every MB_STAGING_PREFIX directory). */
int mb_staging_init(struct mb_staging *s, int top, const char *target, bool clear,
		    struct mb_error *e);

/* True when name (a top-level entry of the target) is a staging directory. */
bool mb_staging_name(const char *name);

/* Creates a staged file for path (its final name) and opens it for writing
 * (mode 0600); *id names it for the calls below. */
int mb_staging_create(struct mb_staging *s, const char *path, int *fd, size_t *id,
		      struct mb_error *e);

/* The final name of staged file id. */
const char *mb_staging_path(const struct mb_staging *s, size_t id);

/* Renames staged file id to leaf in directory pfd: replacing what is there
 * (replace) or failing with EEXIST. */
int mb_staging_publish(struct mb_staging *s, size_t id, int pfd, const char *leaf,
		       bool replace, struct mb_error *e);

/* Unlinks staged file id (not published: damaged, unchecked). */
void mb_staging_discard(struct mb_staging *s, size_t id);

/* Unlinks every file not published and removes the staging directory. */
int mb_staging_close(struct mb_staging *s, struct mb_error *e);

#endif
