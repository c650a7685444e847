/*
 * lvm:VG/LV picks its method by the LV's segment type: a raid1 LV is split
 * (lvm.c), a linear or striped one gets a classic COW snapshot
 * (snapshot.c), a thin one a thin snapshot that mbackup loads through
 * device-mapper itself (snapshot_thin.c: why LVM cannot take it inside
 * the window).
 */
#include "plugins/mirror/lvm_util.h"

#include <jansson.h>
#include <string.h>

#include "common/log.h"
#include "common/spawn.h"

#define LVS_TIMEOUT_MS 60000

/* The segment type lvs reports for vg/lv; "" when lvs cannot tell. */
static void segtype_of(const char *target, char *out, size_t len)
{
	const char *argv[] = { "lvs", "--reportformat", "json", "-o", "segtype", target, NULL };
	struct mb_spawn_result res = { 0 };
	struct mb_error ignored = { 0 };
	json_t *root = NULL, *rows;
	const char *s;

	out[0] = '\0';
	if (mb_spawn(argv, LVS_TIMEOUT_MS, MB_ERR_MIRROR, &res, &ignored) == 0) {
		root = json_loads(res.out ? res.out : "", 0, NULL);
		rows = json_object_get(json_array_get(json_object_get(root, "report"), 0), "lv");
		s = json_string_value(json_object_get(json_array_get(rows, 0), "segtype"));
		snprintf(out, len, "%s", s ? s : "");
	}
	json_decref(root);
	mb_spawn_result_free(&res);
}

int mb_lvm_method(const char *arg, const struct mb_mirror_ops **ops, struct mb_error *e)
{
	char vg[MB_LVM_NAME_MAX], lv[MB_LVM_NAME_MAX], target[2 * MB_LVM_NAME_MAX + 2];
	char segtype[64];

	if (mb_lvm_parse_vg_lv(arg, vg, lv, e) < 0)
		return -1;
	snprintf(target, sizeof(target), "%s/%s", vg, lv);
	segtype_of(target, segtype, sizeof(segtype));
	mb_debug("lvm: '%s' has segment type '%s'", target, segtype);
	if (strcmp(segtype, "linear") == 0 || strcmp(segtype, "striped") == 0) {
		*ops = &mb_mirror_lvm_snapshot;
		return 0;
	}
	if (strcmp(segtype, "thin") == 0)
		*ops = &mb_mirror_lvm_thin;
	return 0;
}
