/*
 * The verbs other than backup/check (orchestrator/backup.c): each takes the
 * parsed options and reports through e; main() turns e into the one-line
 * error and the exit code.
 */
#ifndef MB_COMMANDS_H
#define MB_COMMANDS_H

#include <stdbool.h>

#include "common/error.h"
#include "orchestrator/options.h"

int mb_cmd_ls(const struct mb_options *opt, struct mb_error *e);
int mb_cmd_verify(const struct mb_options *opt, struct mb_error *e);
int mb_cmd_restore(const struct mb_options *opt, struct mb_error *e);
int mb_cmd_list(const struct mb_options *opt, struct mb_error *e);
int mb_recover(const struct mb_options *opt, struct mb_error *e);

/* Opens --from (a path, or - for stdin); *name is what messages call it. */
int mb_open_image_arg(const struct mb_options *opt, int *fd, const char **name,
		      struct mb_error *e);

#endif
