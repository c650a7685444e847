/* Path helpers; see path.h. */
#include "common/path.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int mb_make_parents(const char *path, int code, struct mb_error *e)
{
	char *dir = strdup(path);
	int rc = -1;

	if (!dir)
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to create the parents of '%s'", path);
	for (char *p = dir + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
			mb_fail(e, code, errno, "unable to create directory '%s'", dir);
			goto out;
		}
		*p = '/';
	}
	rc = 0;
out:
	free(dir);
	return rc;
}
