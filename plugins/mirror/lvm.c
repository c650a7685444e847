/*
 * The LVM raid1 mirror driver: lvm:vg/lv.
 *
 * The filesystem lives on a raid1 LV with two or more legs.  Inside the
 * window, `lvconvert --splitmirrors 1 --trackchanges` detaches the last leg
 * as a visible, read-only (in the metadata) LV <lv>_rimage_N while the raid
 * keeps a write-intent bitmap of what changes meanwhile; the split image is
 * then made read-only at the block layer too, because device-mapper leaves
 * it writable and a write there would never be tracked.  FIEMAP offsets on
 * the LV are offsets on every leg (raid1 legs are plain copies), so
 * split_offset is 0.  `lvconvert --merge` joins the leg again and resyncs
 * only the tracked regions.
 *
 * Wholeness.  On lvm2 2.03.16 / kernel 6.1 a merge within about a second of
 * the last write to the origin sometimes takes the leg as in sync and skips
 * the resync, while lvs reports 100%; md's write-intent bitmap then does
 * not even mark all the regions that differ.  So a merge is followed by a
 * proof that the legs are equal.  By default (--mirror-proof auto) it costs
 * what changed: a witness independent of md (lvm_witness.c: device-mapper's
 * I/O counters on the LV's top device, created before the split, read after
 * the merge) names every area written meanwhile, and only those areas of
 * leg 0 and the merged leg are compared (lvm_proof.c).  That needs the
 * catalog's record that the legs were equal before the split, and a full
 * pass not yet due again (lvm_due.h: 7 runs or 7 days).  Otherwise, with
 * --mirror-proof full, and where there is no witness (it could not be
 * made, the device was reactivated, the split image lost its block-layer
 * read-only flag, a run died between its merge and its proof), the proof
 * is a check scrub (`lvchange --syncaction check`: one read of both legs
 * in full).  When
 * either finds a difference, a repair scrub (leg 0, the origin, wins) and
 * another check that must report 0.  From just before the merge until the
 * proof is done, the split leg's PVs are write-mostly for the LV, so md
 * never serves a read from a leg that may be stale.  (A write-mostly
 * setting of the last leg that the user made himself is therefore cleared
 * by a merge.)
 */
#include "plugins/mirror/mirror.h"
#include "common/clock.h"

#include <ctype.h>
#include <signal.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/log.h"
#include "common/spawn.h"
#include "plugins/mirror/dm.h"
#include "plugins/mirror/lvm_due.h"
#include "plugins/mirror/lvm_helper.h"
#include "plugins/mirror/lvm_state.h"
#include "plugins/mirror/lvm_md.h"
#include "plugins/mirror/lvm_proof.h"
#include "plugins/mirror/lvm_util.h"
#include "plugins/mirror/lvm_witness.h"
#include "plugins/mirror/snapshot.h"

#define LVM_NAME_MAX 128
#define LVM_CMD_TIMEOUT_MS 120000	/* lvs, lvchange, lvconvert --merge */
#define LVM_SPLIT_TIMEOUT_MS 60000	/* inside the window: the guard bounds it anyway */
#define LVM_SYNC_TIMEOUT_S 600		/* P1's default wait for a resync (--sync-timeout) */
#define LVM_POLL_MS 500
#define LVM_DEV_MAX (2 * (2 * LVM_NAME_MAX + 24) + 32)	/* a /dev/mapper node */

struct lvm_mirror {
	char vg[LVM_NAME_MAX];
	char lv[LVM_NAME_MAX];
	char split_lv[LVM_NAME_MAX + 24];	/* <lv>_rimage_N, predicted */
	char split_dev[2 * (2 * LVM_NAME_MAX + 16)];	/* its /dev/mapper node */
	struct mb_lvm_helper helper;	/* runs the split (--lvm-split; pid <= 0: none) */
	bool split_chosen;		/* helper_start said which will split */
};

static int lvm_open(struct mb_mirror *m, const char *arg, struct mb_error *e)
{
	struct lvm_mirror *lm = calloc(1, sizeof(*lm));
	struct stat st;
	int err;

	if (!lm)
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to open mirror '%s'", arg);
	m->priv = lm;
	if (mb_lvm_parse_vg_lv(arg, lm->vg, lm->lv, e) < 0)
		return -1;
	if (asprintf(&m->device, "/dev/%s/%s", lm->vg, lm->lv) < 0) {
		m->device = NULL;
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to open mirror '%s'", arg);
	}
	err = stat(m->device, &st) < 0 ? errno : S_ISBLK(st.st_mode) ? 0 : ENOTBLK;
	if (err) {
		mb_fail(e, MB_ERR_MIRROR, err, "unable to use logical volume '%s' ('%s')",
			arg, m->device);
		mb_hint(e, "the LV must exist and be active: lvs %s; lvchange -ay %s", lm->vg, arg);
		return -1;
	}
	m->rdev = st.st_rdev;
	m->split_offset = 0;
	return 0;
}

/* Everything that makes a raid LV unfit to split; changes nothing. */
static int refuse_unfit(const char *vg, const char *lv, const struct mb_lv_state *st,
			struct mb_error *e)
{
	if (!st->found)
		return mb_fail(e, MB_ERR_MIRROR, 0, "logical volume '%s/%s' not found", vg, lv);
	if (strcmp(st->segtype, "raid1") != 0) {
		mb_fail(e, MB_ERR_MIRROR, 0, "logical volume '%s/%s' is not a raid1 mirror "
			"(segment type '%s')", vg, lv, st->segtype);
		mb_hint(e, "convert it first: lvconvert --type raid1 -m 1 %s/%s", vg, lv);
		return -1;
	}
	if (st->split_lv[0]) {
		mb_fail(e, MB_ERR_MIRROR, 0, "logical volume '%s/%s' already has a split image "
			"'%s/%s' tracking changes", vg, lv, vg, st->split_lv);
		mb_hint(e, "if a dead mbackup run left it, run mbackup recover; "
			"otherwise merge it: lvconvert --merge %s/%s", vg, st->split_lv);
		return -1;
	}
	if (st->legs < 2) {
		mb_fail(e, MB_ERR_MIRROR, 0, "logical volume '%s/%s' has %d leg(s); "
			"a split needs at least 2", vg, lv, st->legs);
		mb_hint(e, "add a leg: lvconvert -m 1 %s/%s", vg, lv);
		return -1;
	}
	if (st->health[0] || (strlen(st->attr) >= 9 && strchr("prm", st->attr[8]))) {
		mb_fail(e, MB_ERR_MIRROR, 0, "logical volume '%s/%s' is not healthy (%s, attr %s)",
			vg, lv, st->health[0] ? st->health : "see lvs", st->attr);
		mb_hint(e, "repair it first: lvconvert --repair or lvchange --syncaction repair %s/%s",
			vg, lv);
		return -1;
	}
	return 0;
}

static int lvm_check(struct mb_mirror *m, struct mb_error *e)
{
	struct lvm_mirror *lm = m->priv;
	struct mb_lv_state st;

	if (mb_lv_state_read(lm->vg, lm->lv, &st, e) < 0 || refuse_unfit(lm->vg, lm->lv, &st, e) < 0)
		return -1;
	mb_info("lvm: '%s/%s' is raid1 with %d legs, %.2f%% in sync%s%s", lm->vg, lm->lv,
		st.legs, st.sync_percent, strcmp(st.sync_action, "idle") ? ", running " : "",
		strcmp(st.sync_action, "idle") ? st.sync_action : "");
	return 0;
}

/* The percentage of a wait to sync's callback (m) or an undo's report
 * (ctx); false when neither is set. */
static bool report_wait(const struct mb_mirror *m, const struct mb_undo_ctx *ctx, const char *what,
			double percent)
{
	percent = percent < 0 ? 0 : percent;
	if (m && m->on_sync) {
		m->on_sync(m->on_sync_arg, what, percent);
		return true;
	}
	return !m && mb_mirror_wait_report(ctx, what, percent);
}

/* Polls until the raid is 100% in sync with no resync, recovery or scrub
 * running, for at most timeout_s, or until stop (may be NULL) says so.
 * Fills *st with the last report. */
static int wait_idle(const char *vg, const char *lv, int timeout_s, const struct mb_mirror *m,
		     const struct mb_undo_ctx *ctx, struct mb_lv_state *st, struct mb_error *e)
{
	long long deadline = mb_now_ms() + (long long)timeout_s * 1000;
	const struct mb_stop *stop = m ? &m->stop : NULL;
	bool tty = isatty(STDERR_FILENO);
	char what[2 * LVM_NAME_MAX + 40];

	for (;;) {
		if (mb_lv_state_read(vg, lv, st, e) < 0)
			return -1;
		if (!st->found)
			return mb_fail(e, MB_ERR_MIRROR, 0, "logical volume '%s/%s' not found", vg, lv);
		if (st->sync_percent >= 100.0 && strcmp(st->sync_action, "idle") == 0) {
			if (tty)
				fputs("\r\033[K", stderr);
			return 0;
		}
		if (mb_now_ms() > deadline)
			break;
		/* A person at a terminal sees the resync move, a scheduler too
		 * (--progress: the sync's callback, or an undo's report). */
		snprintf(what, sizeof(what), "%s/%s %s", vg, lv, st->sync_action);
		if (report_wait(m, ctx, what, st->sync_percent))
			tty = false;
		else if (tty)
			fprintf(stderr, "\r\033[Kwaiting for %s/%s: %.1f%% in sync (%s)", vg, lv,
				st->sync_percent, st->sync_action);
		if (mb_stop_sleep(stop, LVM_POLL_MS, e) < 0) {
			if (tty)
				fputs("\r\033[K", stderr);
			mb_info("lvm: stopped waiting for '%s/%s' at %.2f%% in sync (%s)", vg, lv,
				st->sync_percent, st->sync_action);
			return -1;
		}
	}
	mb_fail(e, MB_ERR_MIRROR, 0, "logical volume '%s/%s' did not reach 100%% in sync within "
		"%d s (%.2f%%, %s)", vg, lv, timeout_s, st->sync_percent, st->sync_action);
	mb_hint(e, "see lvs -a -o +sync_percent,raid_sync_action %s", vg);
	return -1;
}

/* --lvm-split auto (the default) or helper: the split is run by LVM's
 * command library, loaded at P1 (sync) in a helper (lvm_helper.c),
 * not by an lvconvert started inside it (bench/files.md: the window at
 * 0.45-0.83 of lvconvert's in session 10's KVM boot, its split 0.67-0.77
 * in session 9's quiet one; no gain in two loaded boots); lvconvert:
 * that lvconvert.  Without the library the split runs
 * lvconvert, and the log says so (a warning when helper was asked for).
 * The line says which will run; the split's own line says which ran. */
static void helper_start(const struct mb_mirror *m, struct lvm_mirror *lm)
{
	const char *with = m->split_with ? m->split_with : "auto";
	struct mb_error e = { 0 };

	if (lm->split_chosen)
		return;
	lm->split_chosen = true;
	if (strcmp(with, "lvconvert") == 0) {
		mb_info("lvm: the split of '%s/%s' will run lvconvert (--lvm-split lvconvert)",
			lm->vg, lm->lv);
		return;
	}
	if (mb_lvm_helper_start(&lm->helper, &e) == 0) {
		mb_info("lvm: the split of '%s/%s' will run in the LVM helper (pid %d, liblvm2cmd "
			"loaded)", lm->vg, lm->lv, lm->helper.co.pid);
		return;
	}
	if (strcmp(with, "helper") == 0)
		mb_warn("lvm: %s: the split runs lvconvert (install liblvm2cmd2.03, or say "
			"--lvm-split lvconvert)", e.msg);
	else
		mb_info("lvm: %s: the split runs lvconvert", e.msg);
}

static int lvm_sync(struct mb_mirror *m, struct mb_error *e)
{
	struct lvm_mirror *lm = m->priv;
	long long t0 = mb_now_ms();
	struct mb_lv_state st;

	/* Unfit first: a linear LV would never report a sync percentage. */
	if (mb_lv_state_read(lm->vg, lm->lv, &st, e) < 0 || refuse_unfit(lm->vg, lm->lv, &st, e) < 0 ||
	    wait_idle(lm->vg, lm->lv, m->sync_timeout_s > 0 ? m->sync_timeout_s : LVM_SYNC_TIMEOUT_S,
		      m, NULL, &st, e) < 0 ||
	    refuse_unfit(lm->vg, lm->lv, &st, e) < 0)
		return -1;
	if (mb_now_ms() - t0 > 2 * LVM_POLL_MS)
		mb_info("lvm: waited %lld ms for '%s/%s' to be in sync", mb_now_ms() - t0,
			lm->vg, lm->lv);
	/* the helper's start (an exec, the library's load: seconds under
	 * TCG) is not left to prepare_split, between the syncfs and the
	 * freeze, where the writers' pages it lets pile up are the freeze's
	 * to write back (bench/files.md, session 9) */
	helper_start(m, lm);
	return 0;
}

/* Before the window: the witness counts every write to the LV from now
 * until the proof after the merge.  Without one the merge is proven by a
 * full scrub, so a failure here only costs time.  Undone by lvm_undo (and
 * replaced by the next split's): a region left by a run that died before
 * its obligation was recorded costs a few counters until then. */
static void witness_start(const char *vg, const char *lv, enum mb_mirror_proof proof)
{
	char top[LVM_DEV_MAX];
	struct mb_error e = { 0 };

	if (proof == MB_PROOF_FULL)
		return;
	mb_lvm_dm_name(vg, lv, top, sizeof(top));
	if (mb_lvm_witness_start(top, &e) < 0)
		mb_warn("lvm: %s: the merge of '%s/%s' will be proven by a full scrub", e.msg, vg, lv);
}

static void witness_stop(const char *vg, const char *lv)
{
	char top[LVM_DEV_MAX];
	struct mb_error e = { 0 };

	mb_lvm_dm_name(vg, lv, top, sizeof(top));
	if (mb_lvm_witness_stop(top, &e) < 0)
		mb_warn("lvm: %s (dmsetup message %s 0 @stats_list)", e.msg, top);
}

/* Before the window: the name the split image will get (lvconvert splits
 * the last leg), and the obligation, "vg/lv": undo finds the split image
 * itself. */
static int lvm_prepare_split(struct mb_mirror *m, int64_t run_id, struct mb_error *e)
{
	struct lvm_mirror *lm = m->priv;
	struct mb_lv_state st;

	if (mb_lv_state_read(lm->vg, lm->lv, &st, e) < 0 || refuse_unfit(lm->vg, lm->lv, &st, e) < 0)
		return -1;
	snprintf(lm->split_lv, sizeof(lm->split_lv), "%s_rimage_%d", lm->lv, st.legs - 1);
	strcpy(lm->split_dev, "/dev/mapper/");
	mb_lvm_dm_name(lm->vg, lm->split_lv, lm->split_dev + strlen(lm->split_dev),
		sizeof(lm->split_dev) - strlen(lm->split_dev));
	free(m->obligation_arg);
	if (asprintf(&m->obligation_arg, "%s/%s", lm->vg, lm->lv) < 0) {
		m->obligation_arg = NULL;
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to prepare the split");
	}
	witness_start(lm->vg, lm->lv, m->proof);
	helper_start(m, lm);	/* started in sync (P1) already, as a rule */
	return 0;
}

/* The split image refuses writes from now on (dm leaves it writable, and
 * such a write would escape the change tracking); the merge clears it. */
static int set_read_only(const char *dev, struct mb_error *e)
{
	int fd = open(dev, O_RDONLY | O_CLOEXEC), one = 1, rc = 0;

	if (fd < 0)
		return mb_fail(e, MB_ERR_MIRROR, errno, "unable to open split image '%s'", dev);
	if (ioctl(fd, BLKROSET, &one) < 0)
		rc = mb_fail(e, MB_ERR_MIRROR, errno, "unable to make '%s' read-only", dev);
	close(fd);
	return rc;
}

/* The split's command, in the helper when it runs.  A helper that is
 * gone before it got the command (it never ran it) is replaced by
 * lvconvert; once it has the command, its failure is the split's. */
static int run_split(struct mb_mirror *m, struct lvm_mirror *lm, const char **by,
		     struct mb_error *e)
{
	const char *argv[] = { "lvconvert", "-y", "--splitmirrors", "1", "--trackchanges",
			       m->obligation_arg, NULL };
	char line[3 * LVM_NAME_MAX];
	int rc;

	snprintf(line, sizeof(line), "lvconvert -y --splitmirrors 1 --trackchanges %s",
		 m->obligation_arg);
	*by = "by the LVM helper";
	if (lm->helper.co.pid > 0) {
		rc = mb_lvm_helper_run(&lm->helper, line, LVM_SPLIT_TIMEOUT_MS, e);
		if (rc <= 0)
			return rc;
		mb_warn("lvm: %s: the split runs lvconvert", e->msg);
		memset(e, 0, sizeof(*e));
	}
	*by = "by lvconvert";
	return mb_spawn(argv, LVM_SPLIT_TIMEOUT_MS, MB_ERR_MIRROR, NULL, e);
}

/* Inside the window: one lvconvert (or the helper's), one ioctl. */
static int lvm_split(struct mb_mirror *m, struct mb_error *e)
{
	struct lvm_mirror *lm = m->priv;
	long long t0 = mb_now_ms();
	const char *by;
	struct stat st;
	int err;

	if (run_split(m, lm, &by, e) < 0)
		return -1;
	err = stat(lm->split_dev, &st) < 0 ? errno : S_ISBLK(st.st_mode) ? 0 : ENOTBLK;
	if (err) {
		mb_fail(e, MB_ERR_MIRROR, err, "split image '%s/%s' did not appear as '%s'", lm->vg, lm->split_lv,
			lm->split_dev);
		return -1;
	}
	if (set_read_only(lm->split_dev, e) < 0)
		return -1;
	m->split_path = strdup(lm->split_dev);
	m->split_offset = 0;
	mb_info("lvm: split '%s/%s' off in %lld ms (%s)", lm->vg, lm->split_lv, mb_now_ms() - t0,
		by);
	return m->split_path ? 0 : mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to split");
}

/* Marks the PVs of the split leg write-mostly for vg/lv (on 'y') or not
 * ('n'): md then reads only the other legs, so a leg the merge failed to
 * resync is never read before the scrub has repaired it. */
static int set_writemostly(const char *vg, const char *lv, const char *devices, char flag,
			   struct mb_error *e)
{
	char target[2 * LVM_NAME_MAX + 2], pvs[8][160];
	const char *argv[2 + 2 * 8 + 2] = { "lvchange" };
	const char *p = devices;
	int argc = 1, n = 0;

	while (*p && n < 8) {
		size_t len = strcspn(p, "(,");

		snprintf(pvs[n], sizeof(pvs[n]), "%.*s:%c", (int)len, p, flag);
		argv[argc++] = "--writemostly";
		argv[argc++] = pvs[n++];
		p += strcspn(p, ",");
		p += *p == ',';
	}
	if (n == 0)
		return mb_fail(e, MB_ERR_MIRROR, 0, "no physical volume known for the split leg "
			       "of '%s/%s'", vg, lv);
	snprintf(target, sizeof(target), "%s/%s", vg, lv);
	argv[argc++] = target;
	argv[argc] = NULL;
	return mb_spawn(argv, LVM_CMD_TIMEOUT_MS, MB_ERR_MIRROR, NULL, e);
}

/* Where lvm_undo's time goes, in ms (logged at its end: bench/merge). */
struct undo_times {
	long long state, writemostly, merge, resync, proof, scrub, unmark;
};

/* ms since *t, and *t := now. */
static long long lap(long long *t)
{
	long long now = mb_now_ms(), d = now - *t;

	*t = now;
	return d;
}

static int merge_image(const char *vg, const char *lv, const struct mb_lv_state *st,
		       struct undo_times *ut, struct mb_error *e)
{
	char image[3 * LVM_NAME_MAX];
	const char *argv[] = { "lvconvert", "-y", "--merge", image, NULL };
	long long t = mb_now_ms();

	snprintf(image, sizeof(image), "%s/%s", vg, st->split_lv);
	if (!st->last_writemostly && set_writemostly(vg, lv, st->last_devices, 'y', e) < 0)
		return -1;
	ut->writemostly = lap(&t);
	if (mb_spawn(argv, LVM_CMD_TIMEOUT_MS, MB_ERR_MIRROR, NULL, e) < 0)
		return -1;
	ut->merge = lap(&t);
	mb_info("lvm: merged '%s' back into '%s/%s' in %lld ms", image, vg, lv, ut->merge);
	return 0;
}

/* Why the merge must be proven by a full scrub (NULL: the witness may
 * do), perhaps in buf.  The witness sees every write that went through
 * the LV, never one to the split image itself: that needs the image still
 * read-only at the block layer, as the split left it.  And it proves only
 * what changed: the legs must have been proven equal before the split
 * (recorded: the catalog's record rec, taken by this undo), by a full pass
 * not too long ago (lvm_due.h), which --mirror-proof witness waives. */
static const char *full_scrub_reason(const char *vg, const struct mb_lv_state *st, bool recorded,
				     const struct mb_proof_record *rec,
				     const struct mb_undo_ctx *ctx, char *buf, size_t len)
{
	char dev[LVM_DEV_MAX] = "/dev/mapper/";
	int fd, ro = 0;

	if (ctx->proof == MB_PROOF_FULL)
		return "--mirror-proof full";
	if (mb_lvm_full_due(recorded, rec, ctx->check_runs, ctx->check_days, buf, len)) {
		if (!recorded || ctx->proof != MB_PROOF_WITNESS)
			return buf;
		mb_warn("lvm: %s, waived by --mirror-proof witness", buf);
	}
	mb_lvm_dm_name(vg, st->split_lv, dev + strlen(dev), sizeof(dev) - strlen(dev));
	fd = open(dev, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || ioctl(fd, BLKROGET, &ro) < 0)
		ro = 0;
	if (fd >= 0)
		close(fd);
	return ro ? NULL : "the split image is writable at the block layer";
}

/* dev := /dev/mapper node of <lv>_<sub>_<n> ("rmeta", "rimage"), checked
 * against device-mapper's own device number: without udev a node may be
 * left from an earlier activation, and a proof that read the wrong device
 * would prove nothing.  false (saying why) when it does not match. */
static bool sub_dev(const char *vg, const char *lv, const char *sub, int n, char *dev,
		    size_t len)
{
	char name[LVM_NAME_MAX + 24], dm[2 * (LVM_NAME_MAX + 24) + 8];
	struct mb_error e = { 0 };
	struct stat st;
	dev_t devno;

	snprintf(name, sizeof(name), "%s_%s_%d", lv, sub, n);
	mb_lvm_dm_name(vg, name, dm, sizeof(dm));
	snprintf(dev, len, "/dev/mapper/%s", dm);
	if (mb_dm_devno(dm, &devno, &e) < 0) {
		mb_info("lvm: %s: scrubbing '%s/%s' in full", e.msg, vg, lv);
		return false;
	}
	if (stat(dev, &st) < 0 || !S_ISBLK(st.st_mode) || st.st_rdev != devno) {
		mb_info("lvm: '%s' is not device-mapper's %u:%u: scrubbing '%s/%s' in full", dev,
			major(devno), minor(devno), vg, lv);
		return false;
	}
	return true;
}

/* The areas the witness saw written since the split, into *d; false
 * (saying why) when there is no witness to ask. */
static bool witnessed(const char *vg, const char *lv, struct mb_lvm_dirty *d)
{
	char top[LVM_DEV_MAX];
	struct mb_error e = { 0 };
	const char *why = NULL;
	int rc;

	mb_lvm_dm_name(vg, lv, top, sizeof(top));
	rc = mb_lvm_witness_read(top, d, &why, &e);
	if (rc != 0)
		mb_info("lvm: %s: scrubbing '%s/%s' in full", rc < 0 ? e.msg : why, vg, lv);
	return rc == 0;
}

/* After the merge's resync (the caller waited for it): leg 0 and the
 * merged leg are equal on every area written since the split.  The
 * witness is read after the merge: its counters survive the merge's table
 * reload (merge-diag.sh) and count writes still in flight, so it covers
 * every write up to this moment; a write after it reaches both legs.  A
 * piece where the merge's resync left the legs different is copied from
 * leg 0 and compared again (lvm_proof.c: the merged leg is write-mostly
 * until the end of the undo, so md reads only leg 0 meanwhile), instead of
 * two passes over the whole LV.  0: proven; 1: not (no witness, a read
 * failed: the caller scrubs in full); 2: the legs still differ there (the
 * caller repairs). */
static int prove_witnessed(const char *vg, const char *lv, int leg,
			   const struct mb_undo_ctx *ctx)
{
	char a[LVM_DEV_MAX], b[LVM_DEV_MAX];
	struct mb_lvm_dirty d = { 0 };
	struct mb_lvm_compare c;
	struct mb_error ce = { 0 };
	long long t0 = mb_now_ms();
	int rc = 1;

	if (!witnessed(vg, lv, &d) || !sub_dev(vg, lv, "rimage", 0, a, sizeof(a)) ||
	    !sub_dev(vg, lv, "rimage", leg, b, sizeof(b)))
		goto out;
	mb_snap_fault_point("lvm-proof");
	rc = mb_lvm_mend_dirty_paced(a, b, &d, ctx->pace, ctx->pace_arg, &c, &ce);
	if (c.mended)
		mb_warn("lvm: the merge left '%s/%s' different on its legs in %llu pieces "
			"(%llu KiB, the first at byte %llu) where the split wrote; copied them "
			"from leg 0 and compared again", vg, lv, (unsigned long long)c.mended,
			(unsigned long long)c.bytes_mended >> 10,
			(unsigned long long)c.mended_at);
	if (rc < 0)
		mb_info("lvm: %s: scrubbing '%s/%s' in full", ce.msg, vg, lv);
	else if (rc > 0)
		mb_warn("lvm: the merge left '%s/%s' different on its legs at byte %llu%s%s; "
			"scrubbing in full", vg, lv, (unsigned long long)c.differ_at,
			c.mend_errno ? ", unable to copy it: " : "",
			c.mend_errno ? strerror(c.mend_errno) : "");
	else
		mb_info("lvm: proved '%s/%s' whole where the split wrote: %llu of %llu areas "
			"of %llu KiB written, %llu KiB read, %llu pieces read again, in %lld ms",
			vg, lv, (unsigned long long)c.regions, (unsigned long long)d.chunks,
			(unsigned long long)d.chunk_bytes >> 10,
			(unsigned long long)c.bytes_read >> 10, (unsigned long long)c.retried,
			mb_now_ms() - t0);
	rc = rc == 0 ? 0 : rc > 0 ? 2 : 1;
out:
	mb_lvm_dirty_free(&d);
	return rc;
}

/* Test seam: MBACKUP_FAULT=lvm-merged:stop stops the run (SIGSTOP)
 * between the merge and its proof, so a test can damage the merged leg
 * there and continue it (SIGCONT). */
static void fault_stop(const char *point)
{
	const char *spec = getenv("MBACKUP_FAULT");
	size_t n = strlen(point);

	if (spec && strncmp(spec, point, n) == 0 && strcmp(spec + n, ":stop") == 0) {
		mb_warn("injecting fault 'stop' at %s", point);
		raise(SIGSTOP);
	}
}

/* Whether the witness may prove this merge (the catalog's record taken:
 * recorded, rec), saying why not. */
static bool witness_may(const char *vg, const char *lv, const struct mb_lv_state *st,
			bool recorded, const struct mb_proof_record *rec,
			const struct mb_undo_ctx *ctx)
{
	char buf[256];
	const char *why = full_scrub_reason(vg, st, recorded, rec, ctx, buf, sizeof(buf));

	if (why && ctx->proof == MB_PROOF_WITNESS)
		mb_warn("lvm: --mirror-proof witness cannot be honoured: %s: scrubbing '%s/%s' "
			"in full", why, vg, lv);
	else if (why)
		mb_info("lvm: %s: scrubbing '%s/%s' in full", why, vg, lv);
	return !why;
}

/* From the obligation's text alone ("vg/lv"), idempotent: merge the split
 * image if it is still split, prove the mirror whole (the witness's areas,
 * or a check scrub: see the top of this file), repair it if it is not,
 * then let md read the merged leg again and drop the witness.  A
 * write-mostly last leg without a split image means a run died between
 * its merge and the end of its proof: scrub in full. */
static int lvm_undo(const char *arg, const struct mb_undo_ctx *ctx, struct mb_error *e)
{
	char vg[LVM_NAME_MAX], lv[LVM_NAME_MAX];
	struct mb_proof_record rec = { .full_age_s = -1 };
	struct mb_lv_state st;
	struct mb_dm_raid md;
	struct undo_times ut = { 0 };
	long long t0 = mb_now_ms(), t = t0;
	bool witness = false, recorded;
	char key[2 * LVM_NAME_MAX + 8];
	int proof = 1;

	if (mb_lvm_parse_vg_lv(arg, vg, lv, e) < 0 || mb_lv_state_read(vg, lv, &st, e) < 0)
		return -1;
	if (!st.found)
		return mb_fail(e, MB_ERR_MIRROR, 0, "logical volume '%s' not found", arg);
	/* Taken whatever follows: only a proof below records it again. */
	snprintf(key, sizeof(key), "lvm:%s", arg);
	recorded = ctx->whole_take && ctx->whole_take(ctx->whole_arg, key, st.uuid, &rec);
	if (!st.split_lv[0] && !st.last_writemostly) {
		witness_stop(vg, lv);
		return wait_idle(vg, lv, MB_LVM_SCRUB_TIMEOUT_S, NULL, ctx, &st, e);
	}
	ut.state = lap(&t);
	if (st.split_lv[0]) {
		witness = witness_may(vg, lv, &st, recorded, &rec, ctx);
		if (merge_image(vg, lv, &st, &ut, e) < 0)
			return -1;
		mb_snap_fault_point("lvm-merged");
		fault_stop("lvm-merged");
		t = mb_now_ms();
	}
	if (mb_lvm_md_wait(vg, lv, MB_LVM_SCRUB_TIMEOUT_S, ctx, &md, e) < 0)
		return -1;
	ut.resync = lap(&t);
	if (witness)
		proof = prove_witnessed(vg, lv, st.last, ctx);
	ut.proof = lap(&t);
	if (proof != 0 && mb_lvm_md_make_whole(vg, lv, proof == 2, ctx, e) < 0)
		return -1;
	ut.scrub = lap(&t);
	witness_stop(vg, lv);
	if (set_writemostly(vg, lv, st.last_devices, 'n', e) < 0)
		return -1;
	ut.unmark = lap(&t);
	mb_lvm_record_proof(ctx, key, st.uuid, proof != 0, &rec);
	mb_info("lvm: '%s/%s' back in %lld ms: lvs %lld, write-mostly %lld, merge %lld, "
		"resync wait %lld, proof %lld, scrubs %lld, write-mostly off %lld ms", vg, lv,
		t - t0, ut.state, ut.writemostly, ut.merge, ut.resync, ut.proof, ut.scrub, ut.unmark);
	return 0;
}

/* The helper served the split: it goes now, not at the run's end (its
 * LVM holds ~47 MB resident after a split, bench/files.md); it exits by
 * itself in the background, close() reaps it. */
static void lvm_after_window(struct mb_mirror *m)
{
	struct lvm_mirror *lm = m->priv;

	if (lm)
		mb_lvm_helper_release(&lm->helper);
}

static void lvm_close(struct mb_mirror *m)
{
	struct lvm_mirror *lm = m->priv;

	if (lm)
		mb_lvm_helper_stop(&lm->helper);
	free(m->priv);
	m->priv = NULL;
}

const struct mb_mirror_ops mb_mirror_lvm = {
	.name = "lvm",
	.open = lvm_open,
	.check = lvm_check,
	.sync = lvm_sync,
	.prepare_split = lvm_prepare_split,
	.split = lvm_split,
	.undo = lvm_undo,
	.close = lvm_close,
	.after_window = lvm_after_window,
};
