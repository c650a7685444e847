/* Errors: first failure wins; see error.h. */
#include "common/error.h"

#include <stdio.h>
#include <string.h>

static const char *const code_names[MB_CODE_MAX] = {
	[MB_OK] = "ok",
	[MB_ERR_GENERAL] = "error",
	[MB_ERR_USAGE] = "usage",
	[MB_ERR_CONFIG] = "config",
	[MB_ERR_LOCKED] = "locked",
	[MB_ERR_SOURCE] = "source",
	[MB_ERR_MIRROR] = "mirror",
	[MB_ERR_QUIESCE] = "quiesce",
	[MB_ERR_MEDIA] = "media",
	[MB_ERR_CORRUPT] = "corrupt",
	[MB_ERR_TRUNCATED] = "truncated",
	[MB_ERR_TARGET] = "target",
	[MB_ERR_CATALOG] = "catalog",
	[MB_ERR_IO] = "io",
	[MB_ERR_TIMEOUT] = "timeout",
	[MB_ERR_INTERRUPTED] = "interrupted",
	[MB_ERR_DATABASE] = "database",
	[MB_ERR_NOT_FOUND] = "not-found",
	[MB_ERR_INTERNAL] = "internal",
	[MB_ERR_PARTIAL] = "partial",
};

const char *mb_code_name(int code)
{
	if (code < 0 || code >= MB_CODE_MAX || !code_names[code])
		return "error";
	return code_names[code];
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
