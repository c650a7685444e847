/*
 * An image under its final name, and the way back (roll-back).
 *
 * A file image is written as PATH.partial; P8 renames it to PATH as the
 * last act of the run, and the run is marked complete right after.
 * Between the two the image is under its final name for a run that is
 * not complete: that is a "publish" obligation, recorded before the
 * rename, whose undo removes PATH again.  So whatever ends the run there
 * (an error, SIGTERM, kill -9, power loss) leaves no image under its
 * final name once the run has unwound or `mbackup recover` has run: a
 * run is complete exactly when its images are in place.  Once the run is
 * complete the obligation is released (recover never undoes an
 * obligation of a complete run, so a death between the two is safe).
 *
 * The undo removes PATH only while it is still the inode the run wrote:
 * an older image that --force was about to replace is never removed.
 */
#ifndef MB_PUBLISH_H
#define MB_PUBLISH_H

#include "common/error.h"
#include "orchestrator/obligations.h"

/* Records that partial (written, about to be renamed) becomes final;
 * the obligation's text is "<inode of partial> <final>". */
int mb_publish_take(struct mb_obligations *o, const char *driver, const char *partial,
		    const char *final, struct mb_error *e);
/* The rename durable: fsync of the directory holding path. */
int mb_publish_sync_dir(const char *path, struct mb_error *e);
/* After the run is marked complete: every publish obligation released
 * (without undo); failures only logged, the run is complete anyway. */
void mb_publish_done(struct mb_obligations *o);
/* The undo, from the obligation's text alone; idempotent. */
int mb_publish_undo(const char *arg, const struct mb_undo_ctx *ctx, struct mb_error *e);

#endif
