/*
 * --order-file: the order the image streams the backup set in, given from
 * outside the run (for example the relations the database writes most,
 * hottest first: on a thin snapshot with discard-behind a file streamed
 * early costs no copy when it is overwritten later).
 *
 * The file: one entry a line, a path relative to the source as `mbackup
 * ls` prints it (base/16384/16397), or a glob of fnmatch(3) with '*', '?'
 * and '[...]' that do not cross '/' (base/16384/16397[._]*).  Blank lines
 * and lines whose first non-blank is '#' are ignored; blanks around a
 * line are dropped (so a path cannot begin or end with one).  A line
 * naming a directory names every file below it; a line naming a hard
 * link names its first name (the data must come before its links).  An
 * absolute path or a '..' component is an error (usage); a line that
 * matches nothing in the set is counted in one warning (relations come
 * and go between the hint and the run).
 *
 * The image then holds: every directory (logical order, headers only),
 * the files the lines name, line by line (a glob's in logical order, each
 * file once, at its first line), then everything else in logical order.
 */
#ifndef MB_ORDER_FILE_H
#define MB_ORDER_FILE_H

#include <stddef.h>

#include "common/entry.h"
#include "common/error.h"

struct mb_order_line {
	char *text;		/* the path or glob, blanks and "./" dropped */
	unsigned lineno;
	int glob;		/* has '*', '?' or '[' */
};

struct mb_order_file {
	char *path;
	struct mb_order_line *v;
	size_t n;
};

/* Reads and checks path (usage errors name the file and the line). */
int mb_order_file_load(const char *path, struct mb_order_file *of, struct mb_error *e);
void mb_order_file_free(struct mb_order_file *of);

/* Reorders v (n entries of a set, in logical order) as of says; warns
 * of lines that match nothing.  *moved: the files placed by a line. */
int mb_order_file_apply(const struct mb_order_file *of, struct mb_entry **v, size_t n,
			size_t *moved, struct mb_error *e);

#endif
