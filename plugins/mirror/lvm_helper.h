/*
 * The LVM helper (lvm_helper.c): LVM's command library loaded in a child
 * of mbackup before the window, so that the window's lvconvert costs no
 * exec.  mb_lvm_helper_main is that child (main() calls it when argv[0]
 * is MB_LVM_HELPER_ARGV0).
 */
#ifndef MB_LVM_HELPER_H
#define MB_LVM_HELPER_H

#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"
#include "common/spawn.h"

#define MB_LVM_HELPER_ARGV0 "mbackup-lvm-helper"

struct mb_lvm_helper {
	struct mb_coproc co;	/* pid -1: not running */
	char buf[2048];		/* what was read and not yet used */
	size_t len;
};

/* --lvm-split's values: "lvconvert" (or NULL), "helper", "auto". */
bool mb_lvm_split_valid(const char *with);
/* Starts the helper and waits until the library is loaded and initialised
 * (a failure says why: no liblvm2cmd, say; the caller falls back). */
int mb_lvm_helper_start(struct mb_lvm_helper *hp, struct mb_error *e);
/* Runs one LVM command line in the helper: 0 when LVM says it is done;
 * -1 with the status and LVM's first error.  On timeout the helper is
 * stopped (SIGKILL after a grace) and the call fails with MB_ERR_TIMEOUT.
 * 1 (e filled): the helper is not running, or gone before it got the
 * line: the command did not run. */
int mb_lvm_helper_run(struct mb_lvm_helper *hp, const char *cmdline, int timeout_ms,
		      struct mb_error *e);
/* Tells it to end (EOF on its stdin) without waiting: no more commands;
 * mb_lvm_helper_stop reaps it.  Idempotent. */
void mb_lvm_helper_release(struct mb_lvm_helper *hp);
/* Ends it (EOF on its stdin; SIGKILL after a grace); idempotent. */
void mb_lvm_helper_stop(struct mb_lvm_helper *hp);
/* The helper process itself; returns its exit status. */
int mb_lvm_helper_main(void);

#endif
