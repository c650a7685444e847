/*
 * The dm-stats witness of the writes during a split (lvm_witness.h),
 * through the kernel's own messages (@stats_create, @stats_list,
 * @stats_print, @stats_delete; Documentation/admin-guide/device-mapper/
 * statistics.rst): their replies are a few lines of text, parsed here.
 */
#include "plugins/mirror/lvm_witness.h"

#include <errno.h>
#include <inttypes.h>
#include <libdevmapper.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plugins/mirror/dm.h"

#define AREA_MIN (64u << 10)
#define AREA_MAX_COUNT (1u << 16)
/* What the kernel keeps per area: a shared part and one set per CPU
 * (struct dm_stat_shared, struct dm_stat_percpu; rounded up). */
#define AREA_SHARED_BYTES 256
#define AREA_CPU_BYTES 128
#define KERNEL_BYTES_MAX (32u << 20)
#define MSG_MAX 256

uint64_t mb_lvm_witness_area(uint64_t size_bytes, long ncpu)
{
	uint64_t area = AREA_MIN;
	uint64_t per = AREA_SHARED_BYTES + AREA_CPU_BYTES * (uint64_t)(ncpu > 0 ? ncpu : 1);

	for (;;) {
		uint64_t areas = (size_bytes + area - 1) / area;

		if (areas <= AREA_MAX_COUNT && areas * per <= KERNEL_BYTES_MAX)
			return area;
		area *= 2;
	}
}

/* Sends msg to sector 0 of dm; its reply (malloc'ed) in *reply. */
static int message(const char *dm, const char *msg, char **reply, struct mb_error *e)
{
	struct dm_task *t = dm_task_create(DM_DEVICE_TARGET_MSG);
	const char *r;
	int rc = -1;

	*reply = NULL;
	if (!t)
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to send '%s' to '%s'", msg, dm);
	if (!dm_task_set_name(t, dm) || !dm_task_set_sector(t, 0) || !dm_task_set_message(t, msg) ||
	    !dm_task_run(t)) {
		mb_fail(e, MB_ERR_MIRROR, dm_task_get_errno(t) ? dm_task_get_errno(t) : EIO,
			"unable to send '%s' to device-mapper device '%s'", msg, dm);
		goto out;
	}
	r = dm_task_get_message_response(t);
	*reply = strdup(r ? r : "");
	rc = *reply ? 0 : mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to read the reply of '%s'", dm);
out:
	dm_task_destroy(t);
	return rc;
}

int mb_lvm_witness_parse_list(const char *text, struct mb_lvm_witness_region *r, int max)
{
	int n = 0;

	for (const char *p = text; p && *p; p = strchr(p, '\n'), p += p != NULL) {
		struct mb_lvm_witness_region one;
		char prog[64];

		if (sscanf(p, "%" SCNu64 ": %" SCNu64 "+%" SCNu64 " %" SCNu64 " %63s", &one.id,
			   &one.start, &one.len, &one.step, prog) != 5 ||
		    strcmp(prog, MB_LVM_WITNESS_PROGRAM) != 0)
			continue;
		if (n < max)
			r[n] = one;
		n++;
	}
	return n;
}

int mb_lvm_witness_parse_print(const char *text, const struct mb_lvm_witness_region *r,
			       struct mb_lvm_dirty *d, struct mb_error *e)
{
	uint64_t lines = 0;

	if (mb_lvm_dirty_init(d, r->step * 512, r->len * 512, e) < 0)
		return -1;
	for (const char *p = text; p && *p; p = strchr(p, '\n'), p += p != NULL) {
		uint64_t start, len, c[9];

		if (sscanf(p, "%" SCNu64 "+%" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64
			   " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64, &start, &len,
			   &c[0], &c[1], &c[2], &c[3], &c[4], &c[5], &c[6], &c[7], &c[8]) != 11 ||
		    start < r->start || (start - r->start) % r->step) {
			mb_lvm_dirty_free(d);
			return mb_fail(e, MB_ERR_MIRROR, 0, "unable to parse the I/O statistics line "
				       "'%.*s'", (int)strcspn(p, "\n"), p);
		}
		lines++;
		/* c[4]: writes completed, c[8]: I/O in flight (reads too: a
		 * few more areas compared, never one fewer). */
		if (c[4] || c[8])
			mb_lvm_dirty_mark(d, (start - r->start) / r->step);
	}
	if (lines != d->chunks) {
		mb_fail(e, MB_ERR_MIRROR, 0, "the I/O statistics have %" PRIu64 " areas, not %" PRIu64,
			lines, d->chunks);
		mb_lvm_dirty_free(d);
		return -1;
	}
	return 0;
}

/* dm's regions of our program: how many (up to max in r), -1 on error. */
static int regions(const char *dm, struct mb_lvm_witness_region *r, int max, struct mb_error *e)
{
	char *reply;
	int n;

	if (message(dm, "@stats_list " MB_LVM_WITNESS_PROGRAM, &reply, e) < 0)
		return -1;
	n = mb_lvm_witness_parse_list(reply, r, max);
	free(reply);
	return n;
}

int mb_lvm_witness_stop(const char *dm, struct mb_error *e)
{
	struct mb_lvm_witness_region r[8];
	struct mb_error ignored = { 0 };
	char msg[MSG_MAX], *reply;
	int n;

	if (mb_dm_exists(dm, &ignored) != 1)
		return 0;
	if ((n = regions(dm, r, 8, e)) < 0)
		return -1;
	for (int i = 0; i < n && i < 8; i++) {
		snprintf(msg, sizeof(msg), "@stats_delete %" PRIu64, r[i].id);
		if (message(dm, msg, &reply, e) < 0)
			return -1;
		free(reply);
	}
	return 0;
}

int mb_lvm_witness_start(const char *dm, struct mb_error *e)
{
	char msg[MSG_MAX], *params = NULL, *reply = NULL;
	uint64_t sectors, area;

	if (mb_lvm_witness_stop(dm, e) < 0 ||
	    mb_dm_status_target(dm, "raid", &params, &sectors, e) < 0)
		return -1;
	free(params);
	area = mb_lvm_witness_area(sectors * 512, sysconf(_SC_NPROCESSORS_CONF));
	snprintf(msg, sizeof(msg), "@stats_create 0+%" PRIu64 " %" PRIu64 " %s -", sectors,
		 area / 512, MB_LVM_WITNESS_PROGRAM);
	if (message(dm, msg, &reply, e) < 0)
		return -1;
	free(reply);
	return 0;
}

int mb_lvm_witness_read(const char *dm, struct mb_lvm_dirty *d, const char **why,
			struct mb_error *e)
{
	struct mb_lvm_witness_region r[2];
	char msg[MSG_MAX], *params = NULL, *reply = NULL;
	uint64_t sectors;
	int n, rc;

	memset(d, 0, sizeof(*d));
	*why = NULL;
	if (mb_dm_status_target(dm, "raid", &params, &sectors, e) < 0)
		return -1;
	free(params);
	if ((n = regions(dm, r, 2, e)) < 0)
		return -1;
	if (n != 1) {
		*why = n ? "there is more than one I/O statistics region of mbackup on the LV"
			 : "no I/O statistics region counted the writes since the split";
		return 1;
	}
	if (r[0].start != 0 || r[0].len != sectors || r[0].step == 0) {
		*why = "the I/O statistics region does not cover the whole LV";
		return 1;
	}
	snprintf(msg, sizeof(msg), "@stats_print %" PRIu64, r[0].id);
	if (message(dm, msg, &reply, e) < 0)
		return -1;
	rc = mb_lvm_witness_parse_print(reply, &r[0], d, e);
	free(reply);
	return rc;
}
