/* Trust checks on files mbackup acts on as root; see trust.h. */
#include "common/trust.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static bool owner_ok(uid_t uid)
{
	return uid == 0 || uid == geteuid();
}

/* "not by root" or, for a user other than root, "not by root or uid N". */
static int owner_fail(const char *what, const char *path, const char *dir, uid_t uid,
		      struct mb_error *e)
{
	char also[32] = "";

	if (geteuid() != 0)
		snprintf(also, sizeof(also), " or uid %u", (unsigned)geteuid());
	if (dir)
		mb_fail(e, MB_ERR_CONFIG, 0, "%s '%s' is in directory '%s', owned by uid %u, "
			"not by root%s", what, path, dir, (unsigned)uid, also);
	else
		mb_fail(e, MB_ERR_CONFIG, 0, "%s '%s' is owned by uid %u, not by root%s",
			what, path, (unsigned)uid, also);
	mb_hint(e, "chown root '%s'", dir ? dir : path);
	return -1;
}

/* Each directory of the resolved path, from its parent up to /. */
static int check_dirs(const char *what, const char *path, struct mb_error *e)
{
	char *real = realpath(path, NULL), *slash;
	struct stat st;
	int rc = 0;

	if (!real)
		return mb_fail(e, MB_ERR_CONFIG, errno, "unable to use %s '%s'", what, path);
	while (rc == 0 && (slash = strrchr(real, '/'))) {
		slash[slash == real] = '\0';
		if (stat(real, &st) < 0)
			rc = mb_fail(e, MB_ERR_CONFIG, errno, "unable to use %s '%s'", what, path);
		else if (!owner_ok(st.st_uid))
			rc = owner_fail(what, path, real, st.st_uid, e);
		else if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX)) {
			rc = mb_fail(e, MB_ERR_CONFIG, 0, "%s '%s' is in directory '%s', which is "
				     "writable by group or others (mode %04o)", what, path, real,
				     (unsigned)(st.st_mode & 07777));
			mb_hint(e, "chmod go-w '%s'", real);
		}
		if (strcmp(real, "/") == 0)
			break;
	}
	free(real);
	return rc;
}

int mb_trust_file(const char *what, const char *path, int fd, struct mb_error *e)
{
	bool is_config = strcmp(what, "config") == 0;
	struct stat st;

	if ((fd >= 0 ? fstat(fd, &st) : stat(path, &st)) < 0)
		return mb_fail(e, MB_ERR_CONFIG, errno, "unable to use %s '%s'", what, path);
	if (!S_ISREG(st.st_mode))
		return mb_fail(e, MB_ERR_CONFIG, 0, "%s '%s' is not a regular file", what, path);
	if (!owner_ok(st.st_uid))
		return owner_fail(what, path, NULL, st.st_uid, e);
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		mb_fail(e, MB_ERR_CONFIG, 0, "%s '%s' is writable by group or others (mode %04o)",
			what, path, (unsigned)(st.st_mode & 07777));
		mb_hint(e, "chmod go-w '%s': %s", path,
			is_config ? "it can name a command mbackup runs as root" : "it is run as root");
		return -1;
	}
	return check_dirs(what, path, e);
}
