/*
 * The run lock: an flock()ed file (default: the catalog path + ".lock").
 * Held for the whole run; a second run fails at once with MB_ERR_LOCKED
 * naming the holder's pid.  The kernel drops it when the process dies.
 */
#ifndef MB_LOCK_H
#define MB_LOCK_H

#include "common/error.h"

/* Creates the file if needed, takes LOCK_EX|LOCK_NB, writes our pid into
 * it; *fd is the lock (O_CLOEXEC).  Children that must not hold it (the
 * guard) close it. */
int mb_lock_acquire(const char *path, int *fd, struct mb_error *e);
void mb_lock_release(int fd);

/* The run lock of a catalog, CATALOG.lock.  Taken before the catalog is
 * opened: a run that loses must fail here (MB_ERR_LOCKED), never on the
 * catalog the winner is creating or writing. */
int mb_lock_catalog(const char *catalog, int *fd, struct mb_error *e);

#endif
