/*
 * Small path helpers shared by the catalog, the lock and the media.
 */
#ifndef MB_PATH_H
#define MB_PATH_H

#include "common/error.h"

/* Creates the missing parent directories of path (mode 0700); a failure
 * is reported with code. */
int mb_make_parents(const char *path, int code, struct mb_error *e);

#endif
