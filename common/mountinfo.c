/* Mount lookups; see mountinfo.h. */
#include "common/mountinfo.h"

#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape(char *s)
{
	char *w = s;

	for (char *r = s; *r; r++) {
		if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] && r[3]) {
			*w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
			r += 3;
		} else {
			*w++ = *r;
		}
	}
	*w = '\0';
}

/* Parses one mountinfo line; returns 0 if it is well formed. */
static int parse_line(char *line, struct mb_mount *m)
{
	unsigned maj, min;
	char *save = NULL, *tok, *sep;
	int field = 0;

	sep = strstr(line, " - ");
	if (!sep)
		return -1;
	*sep = '\0';
	for (tok = strtok_r(line, " ", &save); tok; tok = strtok_r(NULL, " ", &save), field++) {
		if (field == 2 && sscanf(tok, "%u:%u", &maj, &min) != 2)
			return -1;
		if (field == 4) {
			unescape(tok);
			snprintf(m->mountpoint, sizeof(m->mountpoint), "%s", tok);
		}
	}
	if (field < 5 || sscanf(sep + 3, "%63s %4095s", m->fstype, m->source) != 2)
		return -1;
	unescape(m->source);
	m->dev = makedev(maj, min);
	return 0;
}

int mb_mount_by_dev(dev_t dev, struct mb_mount *m, struct mb_error *e)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	struct mb_mount cur;
	char *line = NULL;
	size_t cap = 0;
	int found = 0;

	if (!f)
		return mb_fail(e, MB_ERR_GENERAL, errno, "unable to read '/proc/self/mountinfo'");
	while (getline(&line, &cap, f) > 0) {
		if (parse_line(line, &cur) == 0 && cur.dev == dev) {
			*m = cur;
			found = 1;
		}
	}
	free(line);
	fclose(f);
	if (!found)
		return mb_fail(e, MB_ERR_NOT_FOUND, 0, "no mount found for device %u:%u",
			       major(dev), minor(dev));
	return 0;
}

int mb_path_dev(const char *path, dev_t *dev, struct mb_error *e)
{
	char *copy = strdup(path), *p = copy;
	struct stat st;
	int rc = -1;

	if (!copy)
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to stat '%s'", path);
	for (;;) {
		if (stat(p, &st) == 0) {
			*dev = st.st_dev;
			rc = 0;
			break;
		}
		if (errno != ENOENT || strcmp(p, "/") == 0 || strcmp(p, ".") == 0) {
			mb_fail(e, MB_ERR_CONFIG, errno, "unable to stat '%s'", p);
			break;
		}
		p = dirname(p);
	}
	free(copy);
	return rc;
}
