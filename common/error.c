/* Errors: first failure wins; see error.h. */
#include "common/error.h"

#include <stdio.h>
#include <string.h>

/* The one table of the codes: the stable short name (JSON, logs) and
 * what the code means (--help and mbackup(8) print it). */
static const struct {
	const char *name, *text;
} codes[] = {
	[MB_OK] = { "ok", "success" },
	[MB_ERR_GENERAL] = { "error", "unexpected failure (see the message)" },
	[MB_ERR_USAGE] = { "usage", "usage: unknown or missing option, bad argument, unknown "
			   "mirror form" },
	[MB_ERR_CONFIG] = { "config", "configuration refused (a config file line, its owner or "
			    "mode; media or catalog on the filesystem to freeze)" },
	[MB_ERR_LOCKED] = { "locked", "another run holds the catalog lock" },
	[MB_ERR_SOURCE] = { "source", "source missing or not on the mirror's filesystem" },
	[MB_ERR_MIRROR] = { "mirror", "mirror unusable (not raid1, not in sync, already split, "
			    "not a loop device, no reflink)" },
	[MB_ERR_QUIESCE] = { "quiesce", "quiesce failed (freeze, backup mode)" },
	[MB_ERR_MEDIA] = { "media", "media cannot be opened or written (exists without --force, "
			   "not a tape, write-protected, foreign tape)" },
	[MB_ERR_CORRUPT] = { "corrupt", "corrupt image (checksum, structure, offset)" },
	[MB_ERR_TRUNCATED] = { "truncated", "truncated image" },
	[MB_ERR_TARGET] = { "target", "restore target refused (not empty, a path escapes it); "
			    "wal-push: the archive holds other content under that name" },
	[MB_ERR_CATALOG] = { "catalog", "catalog unreadable or unwritable, or no catalog yet" },
	[MB_ERR_IO] = { "io", "read or write error on a source or a target" },
	[MB_ERR_TIMEOUT] = { "timeout", "a deadline passed (the window's, a command's, a stalled "
			     "device's)" },
	[MB_ERR_INTERRUPTED] = { "interrupted", "interrupted (SIGINT, SIGTERM, SIGHUP); a signal "
				 "inside the window waits for the thaw; the run is marked failed" },
	[MB_ERR_DATABASE] = { "database", "database unreachable, credentials or rights refused" },
	[MB_ERR_NOT_FOUND] = { "not-found", "a requested file or run does not exist (wal-get: the "
			       "file is not archived, with no message)" },
	[MB_ERR_INTERNAL] = { "internal", "programmer error caught at run time" },
	[MB_ERR_PARTIAL] = { "partial", "some items could not be restored (each is listed); "
			     "wal-check: the WAL a backup needs has a gap" },
};
_Static_assert(sizeof(codes) / sizeof(codes[0]) == MB_CODE_MAX, "a line for every code");

const char *mb_code_name(int code)
{
	if (code < 0 || code >= MB_CODE_MAX || !codes[code].name)
		return "error";
	return codes[code].name;
}

const char *mb_code_text(int code)
{
	if (code < 0 || code >= MB_CODE_MAX || !codes[code].text)
		return "unexpected failure (see the message)";
	return codes[code].text;
}

int mb_fail(struct mb_error *e, int code, int err, const char *fmt, ...)
{
	va_list ap;
	size_t len;

	if (!e)
		return -1;
	if (e->code != MB_OK) {
		e->kept_older = 1;
		return -1;
	}
	e->kept_older = 0;
	e->code = code ? code : MB_ERR_GENERAL;
	e->sys_errno = err;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	len = strlen(e->msg);
	if (err && len < sizeof(e->msg))
		snprintf(e->msg + len, sizeof(e->msg) - len, ": %s", strerror(err));
	return -1;
}

void mb_hint(struct mb_error *e, const char *fmt, ...)
{
	va_list ap;

	if (!e || e->code == MB_OK || e->kept_older || e->hint[0])
		return;
	va_start(ap, fmt);
	vsnprintf(e->hint, sizeof(e->hint), fmt, ap);
	va_end(ap);
}

void mb_error_prefix(struct mb_error *e, const char *fmt, ...)
{
	char prefix[512], old[sizeof(e->msg)];
	size_t plen, olen;
	va_list ap;

	if (!e || e->code == MB_OK)
		return;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, e->msg, sizeof(old));
	plen = strlen(prefix);
	olen = strnlen(old, sizeof(e->msg) - 1 - plen);
	memcpy(e->msg, prefix, plen);
	memcpy(e->msg + plen, old, olen);
	e->msg[plen + olen] = '\0';
}

void mb_error_clear(struct mb_error *e)
{
	memset(e, 0, sizeof(*e));
}
