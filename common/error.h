/*
 * Errors: one caller-owned struct per operation, filled by the first failure.
 *
 * Every fallible function returns 0 on success and -1 on failure, after
 * calling mb_fail().  The first failure wins: later calls (typically from
 * cleanup paths) are ignored, so the root cause is what the user sees.
 * Codes are stable numbers and double as the process exit code.
 */
#ifndef MB_ERROR_H
#define MB_ERROR_H

#include <stdarg.h>

enum mb_code {
	MB_OK = 0,
	MB_ERR_GENERAL = 1,	/* unexpected failure, see the message */
	MB_ERR_USAGE = 2,	/* unknown/missing option, bad argument */
	MB_ERR_CONFIG = 3,	/* configuration refused (e.g. catalog on frozen fs) */
	MB_ERR_LOCKED = 4,	/* another run holds the lock */
	MB_ERR_SOURCE = 5,	/* source missing / not on the mirror */
	MB_ERR_MIRROR = 6,	/* mirror not usable (not in sync, no reflink...) */
	MB_ERR_QUIESCE = 7,	/* freeze / backup mode failed */
	MB_ERR_MEDIA = 8,	/* media cannot be opened or written */
	MB_ERR_CORRUPT = 9,	/* image damaged: checksum, structure, offset */
	MB_ERR_TRUNCATED = 10,	/* image ends early */
	MB_ERR_TARGET = 11,	/* restore target refused (not empty, escapes) */
	MB_ERR_CATALOG = 12,	/* catalog unreadable / unwritable */
	MB_ERR_IO = 13,		/* read/write error on a source or target */
	MB_ERR_TIMEOUT = 14,	/* a deadline passed (window, command) */
	MB_ERR_INTERRUPTED = 15,/* SIGINT / SIGTERM */
	MB_ERR_DATABASE = 16,	/* database unreachable / refused */
	MB_ERR_NOT_FOUND = 17,	/* a requested file / run does not exist */
	MB_ERR_INTERNAL = 18,	/* programmer error caught at run time */
	MB_ERR_PARTIAL = 19,	/* some items could not be restored */
	MB_CODE_MAX
};

struct mb_error {
	int code;		/* enum mb_code, 0 while no error */
	int sys_errno;		/* errno at the failure, 0 if none */
	char msg[1024];		/* "unable to freeze '/srv/pg': Device or resource busy" */
	char hint[512];		/* optional "HINT:" text, empty if none */
	int kept_older;		/* the latest mb_fail found an error already
				 * recorded and left it: a hint given now is
				 * about a failure that was dropped */
};

/* Record a failure unless one is already recorded; always returns -1.
 * If err != 0, ": strerror(err)" is appended to the message. */
int mb_fail(struct mb_error *e, int code, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Attach a hint to the failure the latest mb_fail recorded (only if it
 * has none yet).  When that mb_fail was dropped because an older error
 * was kept, the hint is dropped too: it would explain the wrong failure. */
void mb_hint(struct mb_error *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Prefix the recorded message with context: "reading 'x': " + msg. */
void mb_error_prefix(struct mb_error *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

void mb_error_clear(struct mb_error *e);

/* Stable short name of a code ("corrupt", "usage", ...), for JSON and logs. */
const char *mb_code_name(int code);
/* What a code means, one line: the exit-code table of --help and of
 * mbackup(8) (error.c holds both in one table, so they cannot drift). */
const char *mb_code_text(int code);

#endif
