/*
 * Trust: a file mbackup acts on as root (its config, a command it runs) must
 * be one only root -- or the user mbackup runs as -- could have written, as
 * sudo checks sudoers and sshd its keys (StrictModes).
 */
#ifndef MB_TRUST_H
#define MB_TRUST_H

#include "common/error.h"

/* Refuses (MB_ERR_CONFIG) unless PATH is a regular file owned by root or
 * by the effective user, not writable by group or others, in directories
 * (of its resolved path, up to /) with the same owners and not writable by
 * group or others unless sticky (like /tmp).  fd >= 0: check that open
 * file itself (what is read), else stat PATH.  what names it in messages:
 * "config", "--volume-change command". */
int mb_trust_file(const char *what, const char *path, int fd, struct mb_error *e);

#endif
