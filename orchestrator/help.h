/*
 * What --help, the man pages and the shell completion say about the
 * drivers: their names come from the registries (plugins/mirror/mirror.c,
 * plugins/media/media.c), how each is written from help.c.
 */
#ifndef MB_HELP_H
#define MB_HELP_H

#include <stdbool.h>
#include <stddef.h>

struct mb_driver_doc {
	const char *kind;	/* "mirror" or "media": the option that names it */
	const char *name;	/* the registry's name: "lvm", "file" */
	const char *forms;	/* how a spec is written: "VG/LV", "file:PATH" */
	const char *what;	/* one line; "" for a driver help.c does not know */
};

/* The i-th driver of the mirror registry, then of the media registry;
 * false past the end.  A driver help.c has no line for is written
 * "NAME:ARG". */
bool mb_driver_doc_at(size_t i, struct mb_driver_doc *d);

/* --help's "exit codes:" section: every code of common/error.h, its
 * name and mb_code_text's line. */
void mb_help_exit_codes(void);

#endif
