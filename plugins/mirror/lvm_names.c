/*
 * LVM's names: "vg/lv" parsed with LVM's character set, and
 * device-mapper's name for an LV (lvm_util.h), for every LVM driver.
 */
#include "plugins/mirror/lvm_util.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* "vg/lv" into its two names, with LVM's character set. */
int mb_lvm_parse_vg_lv(const char *arg, char *vg, char *lv, struct mb_error *e)
{
	const char *slash = strchr(arg, '/');
	size_t vlen = slash ? (size_t)(slash - arg) : 0;
	bool ok = slash && vlen > 0 && vlen < MB_LVM_NAME_MAX && slash[1] &&
		  strlen(slash + 1) < MB_LVM_NAME_MAX && arg[0] != '-' && slash[1] != '-';

	for (const char *p = arg; ok && *p; p++)
		ok = p == slash || isalnum((unsigned char)*p) || strchr("+_.-", *p);
	if (!ok) {
		mb_fail(e, MB_ERR_USAGE, 0, "invalid logical volume '%s'", arg);
		mb_hint(e, "use lvm:VG/LV, e.g. lvm:vg0/pgdata");
		return -1;
	}
	memcpy(vg, arg, vlen);
	vg[vlen] = '\0';
	snprintf(lv, MB_LVM_NAME_MAX, "%s", slash + 1);
	return 0;
}

/* device-mapper's name for vg/lv: each '-' doubled, then "vg-lv". */
void mb_lvm_dm_name(const char *vg, const char *lv, char *out, size_t len)
{
	size_t n = 0;

	for (const char *s = vg; ; s = lv) {
		for (const char *p = s; *p && n + 3 < len; p++) {
			if (*p == '-')
				out[n++] = '-';
			out[n++] = *p;
		}
		if (s == lv)
			break;
		out[n++] = '-';
	}
	out[n] = '\0';
}
