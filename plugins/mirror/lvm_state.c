/*
 * A raid1 LV's state from one `lvs -a --reportformat json` of its VG: the
 * LV's own row, and its rimage sub-LVs (hidden "[lv_rimage_N]" or, once
 * split off, visible "lv_rimage_N").
 */
#include "plugins/mirror/lvm_state.h"

#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/spawn.h"

#define LVM_LVS_TIMEOUT_MS 120000	/* as lvm.c's other LVM commands */

/* The N of "<lv>_rimage_N" (visible) or "[<lv>_rimage_N]" (hidden); -1 if
 * the name is neither.  *hidden tells which. */
static int rimage_index(const char *name, const char *lv, bool *hidden)
{
	size_t lvlen = strlen(lv);
	const char *p = name;
	char *end;
	long n;

	*hidden = *p == '[';
	p += *hidden;
	if (strncmp(p, lv, lvlen) != 0 || strncmp(p + lvlen, "_rimage_", 8) != 0)
		return -1;
	p += lvlen + 8;
	if (!isdigit((unsigned char)*p))
		return -1;
	n = strtol(p, &end, 10);
	if (strcmp(end, *hidden ? "]" : "") != 0)
		return -1;
	return (int)n;
}

static const char *field(json_t *row, const char *name)
{
	const char *s = json_string_value(json_object_get(row, name));

	return s ? s : "";
}

static void state_from_row(struct mb_lv_state *st, json_t *row, const char *lv)
{
	const char *name = field(row, "lv_name");
	bool hidden;
	int index;

	if (strcmp(name, lv) == 0) {
		const char *sync = field(row, "sync_percent");

		st->found = true;
		snprintf(st->uuid, sizeof(st->uuid), "%s", field(row, "lv_uuid"));
		snprintf(st->segtype, sizeof(st->segtype), "%s", field(row, "segtype"));
		snprintf(st->attr, sizeof(st->attr), "%s", field(row, "lv_attr"));
		snprintf(st->health, sizeof(st->health), "%s", field(row, "lv_health_status"));
		snprintf(st->sync_action, sizeof(st->sync_action), "%s",
			 field(row, "raid_sync_action"));
		st->sync_percent = *sync ? strtod(sync, NULL) : -1;
		st->mismatches = strtoull(field(row, "raid_mismatch_count"), NULL, 10);
		return;
	}
	index = rimage_index(name, lv, &hidden);
	if (index < 0)
		return;
	st->legs++;
	if (!hidden)
		snprintf(st->split_lv, sizeof(st->split_lv), "%s", name);
	if (index >= st->last) {
		const char *attr = field(row, "lv_attr");

		st->last = index;
		snprintf(st->last_devices, sizeof(st->last_devices), "%s", field(row, "devices"));
		st->last_writemostly = strlen(attr) >= 9 && attr[8] == 'w';
	}
}

/* One `lvs` of the VG (all LVs, hidden ones too) folded into *st. */
int mb_lv_state_read(const char *vg, const char *lv, struct mb_lv_state *st,
		     struct mb_error *e)
{
	const char *argv[] = { "lvs", "-a", "--reportformat", "json", "-o",
			       "lv_name,lv_uuid,segtype,lv_attr,lv_health_status,sync_percent,"
			       "raid_sync_action,raid_mismatch_count,devices", vg, NULL };
	struct mb_spawn_result res = { 0 };
	json_t *root = NULL, *rows;
	json_error_t jerr;
	size_t i;
	json_t *row;
	int rc = -1;

	memset(st, 0, sizeof(*st));
	if (mb_spawn(argv, LVM_LVS_TIMEOUT_MS, MB_ERR_MIRROR, &res, e) < 0)
		goto out;
	root = json_loads(res.out ? res.out : "", 0, &jerr);
	rows = json_object_get(json_array_get(json_object_get(root, "report"), 0), "lv");
	if (!json_is_array(rows)) {
		mb_fail(e, MB_ERR_MIRROR, 0, "unable to parse the lvs report of volume group '%s'", vg);
		goto out;
	}
	json_array_foreach(rows, i, row)
		state_from_row(st, row, lv);
	rc = 0;
out:
	json_decref(root);
	mb_spawn_result_free(&res);
	return rc;
}
