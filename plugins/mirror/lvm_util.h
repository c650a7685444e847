/*
 * What the LVM drivers share: names (from lvm.c) and the segment type
 * that picks a driver for lvm:VG/LV (lvm_method.c).
 */
#ifndef MB_LVM_UTIL_H
#define MB_LVM_UTIL_H

#include <stddef.h>

#include "common/error.h"
#include "plugins/mirror/mirror.h"

#define MB_LVM_NAME_MAX 128

/* "vg/lv" into its two names (each MB_LVM_NAME_MAX bytes), with LVM's
 * character set; a usage error otherwise. */
int mb_lvm_parse_vg_lv(const char *arg, char *vg, char *lv, struct mb_error *e);
/* device-mapper's name for vg/lv ("vg-lv", each '-' doubled). */
void mb_lvm_dm_name(const char *vg, const char *lv, char *out, size_t len);

/* The driver lvm:ARG stands for, by the LV's segment type: raid1 (and
 * anything lvs cannot tell: the raid1 driver then says what is wrong) the
 * split, linear and striped the classic snapshot, thin the thin snapshot.  *ops is left alone unless another driver is picked. */
int mb_lvm_method(const char *arg, const struct mb_mirror_ops **ops, struct mb_error *e);

extern const struct mb_mirror_ops mb_mirror_lvm;
extern const struct mb_mirror_ops mb_mirror_lvm_snapshot;
extern const struct mb_mirror_ops mb_mirror_lvm_thin;

#endif
