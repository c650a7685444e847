/*
 * The verbs other than backup/check (orchestrator/backup.c): each takes the
 * parsed options and reports through e; main() turns e into the one-line
 * error and the exit code.
 */
#ifndef MB_COMMANDS_H
#define MB_COMMANDS_H

#include <stdbool.h>
#include <stdio.h>

#include "common/entry.h"
#include "common/error.h"
#include "orchestrator/options.h"

int mb_cmd_ls(const struct mb_options *opt, struct mb_error *e);
int mb_cmd_verify(const struct mb_options *opt, struct mb_error *e);
int mb_cmd_restore(const struct mb_options *opt, struct mb_error *e);
int mb_cmd_list(const struct mb_options *opt, struct mb_error *e);
int mb_recover(const struct mb_options *opt, struct mb_error *e);
/* `info`: one run of the catalog in full (info.c). */
int mb_cmd_info(const struct mb_options *opt, struct mb_error *e);
/* orchestrator/consolidate.c; its work directory's undo (obligation kind
 * "workdir": the directory and all below it removed). */
int mb_cmd_consolidate(const struct mb_options *opt, struct mb_error *e);
int mb_consolidate_undo(const char *arg, const struct mb_undo_ctx *ctx, struct mb_error *e);

/* Opens an image medium as --from takes it: spec, or --from itself when
 * spec is NULL (a path, "-" for standard input, "tape:/dev/nstN"), with
 * the media options of opt (--backup, --volume-change, ...).  The image
 * reader reads it through mb_media_input(*out); mb_media_next_image()
 * moves on to a rescue image after it; mb_media_close() closes it.
 * Messages call it (*out)->name ("standard input" for "-"). */
struct mb_media_in;
int mb_open_image_arg(const struct mb_options *opt, const char *spec,
		      struct mb_media_in **out, struct mb_error *e);

/* One line of `mbackup ls` for en: mode, owner, size, mtime (UTC), its
 * member's offset, the path and a link's target, escaped as the index
 * escapes them (no raw control byte reaches the terminal). */
void mb_ls_entry(FILE *out, const struct mb_entry *en);

#endif
