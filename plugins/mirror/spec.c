/*
 * The --mirror forms a DBA writes, resolved to one canonical "driver:arg"
 * before any driver is opened; see mirror.h.  Purely textual: nothing is
 * looked up on the system, so the unit test needs no LVM.
 *
 *   VG/LV, /dev/VG/LV, /dev/mapper/VG-LV, lvm:<any of these>  ->  lvm:VG/LV
 *   /dev/loopN, loop:/dev/loopN                               ->  loop:/dev/loopN
 *
 * The LVM driver then picks the method (a raid1 split, or a snapshot) by
 * the LV's type.
 */
#include "plugins/mirror/mirror.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NAME_MAX_LVM 127	/* LVM's limit on a VG or LV name */

const char mb_mirror_forms_hint[] =
	"use VG/LV, /dev/VG/LV or /dev/mapper/VG-LV (an LVM volume; lvm:VG/LV also works), "
	"or loop:/dev/loopN (a loop device on a reflink filesystem)";

/* One VG or LV name of [s, s + len), with LVM's character set. */
static bool lvm_name(const char *s, size_t len)
{
	if (len == 0 || len > NAME_MAX_LVM || s[0] == '-')
		return false;
	if ((len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.'))
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("+_.-", s[i]))
			return false;
	return true;
}

/* "vg/lv": both names valid, exactly one slash. */
static bool vg_lv(const char *s)
{
	const char *slash = strchr(s, '/');

	return slash && !strchr(slash + 1, '/') && lvm_name(s, (size_t)(slash - s)) &&
	       lvm_name(slash + 1, strlen(slash + 1));
}

/* device-mapper's "vg-lv" (each '-' of a name doubled) into "vg/lv" in
 * out; false unless exactly one single '-' separates two names. */
static bool dm_to_vg_lv(const char *dm, char *out, size_t cap)
{
	size_t n = 0;
	bool split = false;

	for (const char *p = dm; *p; p++) {
		if (n + 2 >= cap)
			return false;
		if (p[0] == '-' && p[1] == '-') {
			out[n++] = '-';
			p++;
		} else if (p[0] == '-') {
			if (split)
				return false;
			split = true;
			out[n++] = '/';
		} else {
			out[n++] = *p;
		}
	}
	out[n] = '\0';
	return split && vg_lv(out);
}

/* The LVM forms without their "lvm:" into "vg/lv"; false if none fits. */
static bool lvm_arg(const char *s, char *out, size_t cap)
{
	if (strncmp(s, "/dev/mapper/", 12) == 0)
		return dm_to_vg_lv(s + 12, out, cap);
	if (strncmp(s, "/dev/", 5) == 0)
		s += 5;
	if (!vg_lv(s) || strlen(s) >= cap)
		return false;
	strcpy(out, s);
	return true;
}

/* "/dev/loopN" */
static bool loop_dev(const char *s)
{
	return strncmp(s, "/dev/loop", 9) == 0 && s[9] && strspn(s + 9, "0123456789") == strlen(s + 9);
}

static int unknown(const char *spec, const char *driver_end, struct mb_error *e)
{
	if (driver_end)
		mb_fail(e, MB_ERR_USAGE, 0, "unknown mirror driver '%.*s' in '%s'",
			(int)(driver_end - spec), spec, spec);
	else
		mb_fail(e, MB_ERR_USAGE, 0, "unknown mirror '%s'", spec);
	mb_hint(e, "%s", mb_mirror_forms_hint);
	return -1;
}

int mb_mirror_resolve(const char *spec, char **canon, struct mb_error *e)
{
	const char *colon = strchr(spec, ':');
	char vglv[2 * NAME_MAX_LVM + 2];
	int n = -1;

	*canon = NULL;
	if (colon && strncmp(spec, "lvm:", 4) == 0) {
		if (!lvm_arg(spec + 4, vglv, sizeof(vglv))) {
			mb_fail(e, MB_ERR_USAGE, 0, "invalid logical volume '%s'", spec + 4);
			mb_hint(e, "%s", mb_mirror_forms_hint);
			return -1;
		}
		n = asprintf(canon, "lvm:%s", vglv);
	} else if (colon) {
		char name[32];

		if ((size_t)(colon - spec) >= sizeof(name))
			return unknown(spec, colon, e);
		memcpy(name, spec, colon - spec);
		name[colon - spec] = '\0';
		if (!mb_mirror_driver(name))
			return unknown(spec, colon, e);
		n = asprintf(canon, "%s", spec);
	} else if (loop_dev(spec)) {
		n = asprintf(canon, "loop:%s", spec);
	} else if (lvm_arg(spec, vglv, sizeof(vglv))) {
		n = asprintf(canon, "lvm:%s", vglv);
	} else {
		return unknown(spec, NULL, e);
	}
	if (n < 0) {
		*canon = NULL;
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to open mirror '%s'", spec);
	}
	return 0;
}
