/*
 * External commands: the only way mbackup runs another program.
 * argv arrays (never a shell), LC_ALL=C, every fd but 0/1/2 closed in the
 * child (stdin from /dev/null), a timeout after which the child gets
 * SIGTERM then SIGKILL, stdout captured (optional), stderr captured and
 * folded into the error message.  "killed by signal N" is reported apart
 * from "exited with status N".  Each argv is logged at debug level.
 */
#ifndef MB_SPAWN_H
#define MB_SPAWN_H

#include <stddef.h>

#include "common/error.h"

struct mb_spawn_result {
	int status;		/* raw wait status */
	char *out;		/* captured stdout (NUL-terminated), or NULL */
	size_t out_len;
	char *err;		/* captured stderr, last 4 KiB, NUL-terminated */
};

/* Runs argv[0] (searched in PATH) with the given timeout (ms, 0 = none).
 * Returns 0 only if it exited with status 0; otherwise fails with code
 * (MB_ERR_TIMEOUT on timeout) and a message like
 *   "'lvconvert --merge vg/lv' exited with status 5: <first stderr line>".
 * res may be NULL; if not, the caller frees it with mb_spawn_result_free. */
int mb_spawn(const char *const argv[], int timeout_ms, int code,
	     struct mb_spawn_result *res, struct mb_error *e);
void mb_spawn_result_free(struct mb_spawn_result *res);

/* A child that lives on: path (NULL: argv[0], searched in PATH) started
 * the same way (its own process
 * group, fds from 3 closed, LC_ALL=C) with a pipe each way, for a helper
 * that serves requests (the LVM helper, plugins/mirror/lvm_helper.c).
 * The caller writes to `to` (its stdin) and reads `from` (its stdout) and
 * `err` (its stderr); mb_coproc_end closes them, waits grace_ms for the
 * child to exit, then kills it (SIGKILL) and reaps it. */
struct mb_coproc {
	int pid;
	int to, from, err;
};
int mb_spawn_coproc(const char *path, const char *const argv[], struct mb_coproc *c,
		    int code, struct mb_error *e);
void mb_coproc_end(struct mb_coproc *c, int grace_ms);

#endif
