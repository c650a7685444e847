/*
 * A library loaded on first use (dlopen), its functions into a table of
 * pointers: libcurl for the object store (plugins/media/s3_curl.c),
 * libpq for the database (plugins/quiesce/postgres/pg_lib.c).  Neither
 * is linked, so a run that needs neither never maps them.
 */
#ifndef MB_COMMON_DLSYMS_H
#define MB_COMMON_DLSYMS_H

#include <stddef.h>

struct mb_dl_sym {
	const char *name;
	size_t at;		/* offset of its pointer in the table */
};

/* Opens `soname` (never closed) and sets each of the n syms' pointers in
 * table: 0, or -1 with why (len bytes) saying what failed: the
 * loader's error or the first symbol missing. */
int mb_dl_table(const char *soname, const struct mb_dl_sym *syms, size_t n, void *table,
		char *why, size_t len);

#endif
