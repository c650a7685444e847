/*
 * The md array under a raid1 LV after its merge: waiting for md to be
 * idle, and the check / repair scrubs that prove or mend the legs.
 *
 * md's state is read from dm-raid's status line (libdevmapper, no fork):
 * under the test VM's emulation an `lvs` costs about a second, and a wait
 * that polled lvs every 500 ms overshot each resync and each scrub by up
 * to one lvs and one interval.  The scrubs are still started by
 * `lvchange --syncaction` (it refuses a scrub while md is busy, in its own
 * words).
 */
#include "plugins/mirror/lvm_md.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/spawn.h"
#include "plugins/mirror/dm.h"
#include "plugins/mirror/lvm_util.h"

#define MD_POLL_MS 50
#define MD_CMD_TIMEOUT_MS 120000

/* What md did while it was waited for: "resync Aa 0 ms, idle AA 420 ms". */
struct md_trail {
	char text[160];
	char last[96];
	long long t0;
};

static void trail_add(struct md_trail *t, const struct mb_dm_raid *r)
{
	char now[96];
	size_t n = strlen(t->text);

	snprintf(now, sizeof(now), "%s %s", r->action, r->health);
	if (strcmp(now, t->last) == 0 || n + 40 >= sizeof(t->text))
		return;
	snprintf(t->last, sizeof(t->last), "%s", now);
	snprintf(t->text + n, sizeof(t->text) - n, "%s%s %lld ms", n ? ", " : "", now,
		 mb_now_ms() - t->t0);
}

int mb_lvm_md_wait(const char *vg, const char *lv, int timeout_s, const struct mb_undo_ctx *ctx,
		   struct mb_dm_raid *r, struct mb_error *e)
{
	char dm[2 * (2 * MB_LVM_NAME_MAX + 2)], what[2 * MB_LVM_NAME_MAX + 40];
	struct md_trail t = { .t0 = mb_now_ms() };
	long long deadline = t.t0 + (long long)timeout_s * 1000;

	mb_lvm_dm_name(vg, lv, dm, sizeof(dm));
	for (;;) {
		if (mb_dm_raid_state(dm, r, e) < 0)
			return -1;
		trail_add(&t, r);
		if (strchr(r->health, 'D'))
			return mb_fail(e, MB_ERR_MIRROR, 0, "logical volume '%s/%s' has a dead leg "
				       "(health '%s')", vg, lv, r->health);
		/* Every leg 'A': a leg md still has to recover shows 'a'. */
		if (r->total && r->insync >= r->total && strcmp(r->action, "idle") == 0 &&
		    !strchr(r->health, 'a'))
			break;
		if (mb_now_ms() > deadline) {
			mb_fail(e, MB_ERR_MIRROR, 0, "logical volume '%s/%s' did not reach 100%% in "
				"sync within %d s (%llu of %llu sectors, %s)", vg, lv, timeout_s,
				(unsigned long long)r->insync, (unsigned long long)r->total, r->action);
			mb_hint(e, "see lvs -a -o +sync_percent,raid_sync_action %s", vg);
			return -1;
		}
		snprintf(what, sizeof(what), "%s/%s %s", vg, lv, r->action);
		mb_mirror_wait_report(ctx, what, r->total ? 100.0 * r->insync / r->total : 0);
		usleep(MD_POLL_MS * 1000);
	}
	/* What md went through, when it went through anything (bench/merge). */
	mb_log(strchr(t.text, ',') ? MB_LOG_INFO : MB_LOG_DEBUG, "lvm: md of '%s/%s': %s", vg, lv,
	       t.text);
	return 0;
}

/* Runs one scrub (check or repair) to its end; *mismatches is what md found. */
static int scrub(const char *vg, const char *lv, const char *action, const struct mb_undo_ctx *ctx,
		 unsigned long long *mismatches, struct mb_error *e)
{
	char target[2 * MB_LVM_NAME_MAX + 2];
	const char *argv[] = { "lvchange", "--syncaction", action, target, NULL };
	long long t0 = mb_now_ms();
	struct mb_dm_raid r;

	snprintf(target, sizeof(target), "%s/%s", vg, lv);
	if (mb_spawn(argv, MD_CMD_TIMEOUT_MS, MB_ERR_MIRROR, NULL, e) < 0 ||
	    mb_lvm_md_wait(vg, lv, MB_LVM_SCRUB_TIMEOUT_S, ctx, &r, e) < 0)
		return -1;
	*mismatches = r.mismatches;
	mb_info("lvm: %s scrub of '%s' done in %lld ms, %llu mismatched sectors", action,
		target, mb_now_ms() - t0, (unsigned long long)r.mismatches);
	return 0;
}

int mb_lvm_md_make_whole(const char *vg, const char *lv, bool differ,
			 const struct mb_undo_ctx *ctx, struct mb_error *e)
{
	unsigned long long found = 0, left = 0;

	if (!differ && scrub(vg, lv, "check", ctx, &found, e) < 0)
		return -1;
	if (!differ && found == 0)
		return 0;
	if (differ)
		mb_warn("lvm: the merge left '%s/%s' out of sync where the split wrote; repairing",
			vg, lv);
	else
		mb_warn("lvm: the merge left %llu sectors of '%s/%s' out of sync; repairing",
			found, vg, lv);
	if (scrub(vg, lv, "repair", ctx, &left, e) < 0 || scrub(vg, lv, "check", ctx, &left, e) < 0)
		return -1;
	if (left == 0)
		return 0;
	mb_fail(e, MB_ERR_MIRROR, 0, "logical volume '%s/%s' still has %llu mismatched sectors "
		"after a repair", vg, lv, left);
	mb_hint(e, "inspect the legs; lvchange --syncaction repair %s/%s", vg, lv);
	return -1;
}
