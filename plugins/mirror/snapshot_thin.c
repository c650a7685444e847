/*
 * The thin snapshot driver: lvm:VG/LV when the LV is thin (lvm_method.c
 * picks it).  LVM cannot take the snapshot inside the window: lvcreate
 * suspends a thin origin with lockfs, which the filesystem mbackup froze
 * refuses (EBUSY on 6.1), and a thin origin suspended beforehand makes
 * lvcreate fail.  So mbackup drives device-mapper itself, the way LVM
 * does underneath:
 *
 *   check      the origin's table names its pool and thin id; the pool
 *              is not nearly full; no snapshot of an earlier run is left
 *   split      inside the window, the filesystem already frozen: the
 *              origin is suspended without lockfs (a keeper resumes it if
 *              mbackup dies), the pool gets `create_snap ID ORIGIN`, the
 *              origin is resumed; the snapshot is loaded read-only as dm
 *              device VG-LV_mbsnap_RUN (table "thin POOL ID"), outside
 *              LVM's metadata: LVM never sees it, its transaction id is
 *              untouched, and ID is taken from the top of the 24-bit id
 *              space, far above the ids LVM hands out (max + 1)
 *   watch      the pool's data and metadata fill (snapshot_watch.c): at
 *              THIN_EXTEND_AT the pool grows from VG free space (up to
 *              --snapshot-extend-max, the pool's size), at
 *              THIN_THROTTLE_AT the writers are limited when it cannot,
 *              at THIN_ABORT_AT the snapshot is dropped (its blocks given
 *              back) and the run fails: a full pool stops production
 *   undo       "VG/LV/SNAP/POOL/ID[|CGROUP|MAJ:MIN|WBPS]": resumes the
 *              origin, lifts the limit, removes the device, deletes ID
 *              from the pool; each step a no-op when already done
 */
#include "plugins/mirror/snapshot.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/clock.h"
#include "common/log.h"
#include "plugins/mirror/discard.h"
#include "plugins/mirror/dm.h"

#define THIN_EXTEND_AT 70.0
#define THIN_THROTTLE_AT 80.0
#define THIN_ABORT_AT 90.0
#define THIN_ID_TOP 0xffffffu		/* dm-thin ids are 24 bits */
#define DM_NAME_LEN (2 * (2 * MB_LVM_NAME_MAX + 32))

struct thin {
	char vg[MB_LVM_NAME_MAX], lv[MB_LVM_NAME_MAX], pool[MB_LVM_NAME_MAX];
	char snap_lv[MB_LVM_NAME_MAX + 32];
	char origin_dm[DM_NAME_LEN], snap_dm[DM_NAME_LEN], pool_dm[DM_NAME_LEN];
	struct mb_dm_thin origin, snap;
	long long pool_bytes, chunk_bytes, meta_bytes;
	struct mb_throttle throttle;
	struct mb_snap_watch *watch;
	struct mb_discard *discard;	/* discard-behind, from stream_plan */
	struct mb_discard_stats discarded;
};

/* device-mapper's name of VG/POOL's pool target. */
static void pool_dm_name(const char *vg, const char *pool, char *out, size_t len)
{
	size_t n;

	mb_lvm_dm_name(vg, pool, out, len);
	n = strlen(out);
	snprintf(out + n, len - n, "-tpool");
}

static int thin_open(struct mb_mirror *m, const char *arg, struct mb_error *e)
{
	struct thin *t = calloc(1, sizeof(*t));
	struct stat st;

	if (!t)
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to open mirror '%s'", arg);
	m->priv = t;
	if (mb_lvm_parse_vg_lv(arg, t->vg, t->lv, e) < 0)
		return -1;
	mb_lvm_dm_name(t->vg, t->lv, t->origin_dm, sizeof(t->origin_dm));
	if (asprintf(&m->device, "/dev/%s/%s", t->vg, t->lv) < 0) {
		m->device = NULL;
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to open mirror '%s'", arg);
	}
	if (stat(m->device, &st) < 0 || !S_ISBLK(st.st_mode)) {
		mb_fail(e, MB_ERR_MIRROR, errno ? errno : ENOTBLK,
			"unable to use logical volume '%s' ('%s')", arg, m->device);
		mb_hint(e, "the LV must exist and be active: lvs %s; lvchange -ay %s", t->vg, arg);
		return -1;
	}
	m->rdev = st.st_rdev;
	return 0;
}

/* A snapshot an earlier run left (dm device VG-LV_mbsnap_*) is refused. */
static int refuse_leftover(struct thin *t, struct mb_error *e)
{
	char prefix[DM_NAME_LEN], lvp[MB_LVM_NAME_MAX + 16], found[DM_NAME_LEN];
	int rc;

	snprintf(lvp, sizeof(lvp), "%s_mbsnap_", t->lv);
	mb_lvm_dm_name(t->vg, lvp, prefix, sizeof(prefix));
	if ((rc = mb_dm_find_prefix(prefix, found, sizeof(found), e)) <= 0)
		return rc;
	mb_fail(e, MB_ERR_MIRROR, 0, "logical volume '%s/%s' has a thin snapshot '%s' left by an "
		"mbackup run", t->vg, t->lv, found);
	mb_hint(e, "run mbackup recover");
	return -1;
}

/* The pool behind the origin, its size and chunk, and its fill now. */
static int find_pool(struct thin *t, struct mb_dm_snap_fill *f, struct mb_error *e)
{
	static const char *const pool_names[] = { "lv_size", "chunk_size", "lv_metadata_size" };
	char target[2 * MB_LVM_NAME_MAX + 2], v[3][MB_LVM_FIELD_LEN];

	snprintf(target, sizeof(target), "%s/%s", t->vg, t->lv);
	if (mb_lvm_report_field("lvs", "pool_lv", target, "pool_lv", t->pool, sizeof(t->pool), e) < 0)
		return -1;
	if (!t->pool[0])
		return mb_fail(e, MB_ERR_MIRROR, 0, "unable to find the thin pool of '%s'", target);
	pool_dm_name(t->vg, t->pool, t->pool_dm, sizeof(t->pool_dm));
	snprintf(target, sizeof(target), "%s/%s", t->vg, t->pool);
	if (mb_lvm_report_fields("lvs", "lv_size,chunk_size,lv_metadata_size", target, pool_names,
				 v, 3, e) < 0)
		return -1;
	t->pool_bytes = strtoll(v[0], NULL, 10);
	t->chunk_bytes = strtoll(v[1], NULL, 10);
	t->meta_bytes = strtoll(v[2], NULL, 10);
	if (mb_dm_thin_table(t->origin_dm, &t->origin, e) < 0 || mb_dm_pool_fill(t->pool_dm, f, e) < 0)
		return -1;
	return 0;
}

static int thin_check(struct mb_mirror *m, struct mb_error *e)
{
	struct thin *t = m->priv;
	struct mb_dm_snap_fill f = { 0 };
	char v[64] = "";
	double pct;
	bool off = m->snap.throttle && strcmp(m->snap.throttle, "off") == 0;

	if (refuse_leftover(t, e) < 0 || find_pool(t, &f, e) < 0)
		return -1;
	pct = f.total ? 100.0 * (double)f.used / (double)f.total : 100.0;
	if (f.invalid && pct < THIN_THROTTLE_AT) {
		mb_fail(e, MB_ERR_MIRROR, 0, "thin pool '%s/%s' is out of space, read-only or failed",
			t->vg, t->pool);
		mb_hint(e, "see lvs -a %s and dmsetup status %s", t->vg, t->pool_dm);
		return -1;
	}
	if (pct >= THIN_THROTTLE_AT) {
		mb_fail(e, MB_ERR_MIRROR, 0, "thin pool '%s/%s' is %.1f%% full%s: a snapshot could "
			"fill it and stop every thin volume in it", t->vg, t->pool, pct,
			f.meta ? " (metadata)" : "");
		mb_hint(e, "extend it first: lvextend -L+SIZE %s/%s%s", t->vg, t->pool,
			f.meta ? " --poolmetadatasize +SIZE" : "");
		return -1;
	}
	mb_lvm_report_field("vgs", "vg_free", t->vg, "vg_free", v, sizeof(v), e);
	mb_info("lvm: '%s/%s' is thin, not raid1: a thin snapshot stands in: pool '%s/%s' %.1f%% "
		"full%s (%lld MiB, chunk %lld KiB), grown at %.0f%% from %lld MiB free%s, writers "
		"throttled %s, the snapshot dropped at %.0f%%, %s", t->vg, t->lv, t->vg, t->pool, pct,
		f.meta ? " (metadata)" : "", t->pool_bytes >> 20, t->chunk_bytes >> 10,
		THIN_EXTEND_AT, strtoll(v, NULL, 10) >> 20,
		m->snap.extend_max ? " up to --snapshot-extend-max" : "",
		off ? "never (--throttle-writers off)"
		    : "when it cannot grow and its fill outruns the room (at 80% at the latest)",
		THIN_ABORT_AT,
		m->snap.discard_behind && strcmp(m->snap.discard_behind, "off") == 0
			? "no discard-behind (--discard-behind off)"
			: "its blocks given back outside the set and behind the stream");
	if (!off) {
		/* what the run would throttle, and whether io.max reaches it */
		struct mb_throttle th;

		mb_throttle_find(&th, m->rdev);
	}
	return 0;
}

static int thin_sync(struct mb_mirror *m, struct mb_error *e)
{
	return refuse_leftover(m->priv, e);
}

/* Before the window: names, the snapshot's id, the writers' cgroup, and
 * the obligation's text, recorded before anything is taken. */
static int thin_prepare(struct mb_mirror *m, int64_t run_id, struct mb_error *e)
{
	struct thin *t = m->priv;
	struct mb_dm_snap_fill f;
	bool throttle = !m->snap.throttle || strcmp(m->snap.throttle, "off") != 0;
	int n;

	if (find_pool(t, &f, e) < 0)
		return -1;
	snprintf(t->snap_lv, sizeof(t->snap_lv), "%s_mbsnap_%lld", t->lv, (long long)run_id);
	mb_lvm_dm_name(t->vg, t->snap_lv, t->snap_dm, sizeof(t->snap_dm));
	t->snap = t->origin;
	t->snap.dev_id = THIN_ID_TOP - (unsigned)(run_id & 0xffff);
	memset(&t->throttle, 0, sizeof(t->throttle));
	if (throttle)
		mb_throttle_find(&t->throttle, m->rdev);
	free(m->obligation_arg);
	n = asprintf(&m->obligation_arg, "%s/%s/%s/%s/%u%s%s%s%s%s%s", t->vg, t->lv, t->snap_lv,
		     t->pool, t->snap.dev_id, t->throttle.cgroup[0] ? "|" : "", t->throttle.cgroup,
		     t->throttle.cgroup[0] ? "|" : "", t->throttle.devno,
		     t->throttle.cgroup[0] ? "|" : "", t->throttle.previous);
	if (n < 0) {
		m->obligation_arg = NULL;
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to prepare the thin snapshot");
	}
	return 0;
}

/* Inside the window: suspend the origin (no lockfs, kept), create_snap,
 * resume. */
static int take_snapshot(struct thin *t, struct mb_error *e)
{
	struct mb_error ignored = { 0 };
	struct mb_keeper keeper;
	char msg[64];
	int rc;

	snprintf(msg, sizeof(msg), "create_snap %u %u", t->snap.dev_id, t->origin.dev_id);
	if (mb_dm_suspend_guarded(t->origin_dm, &keeper, e) < 0)
		return -1;
	mb_snap_fault_point("thin-suspended");
	rc = mb_dm_message(t->pool_dm, msg, e);
	if (mb_dm_resume(t->origin_dm, rc < 0 ? &ignored : e) < 0)
		rc = -1;
	mb_keeper_done(&keeper);
	return rc;
}

/* The watch's drop at THIN_ABORT_AT: the device errors from now on, its
 * blocks go back to the pool. */
static void drop_snapshot(void *arg)
{
	struct thin *t = arg;
	struct mb_error e = { 0 };
	char msg[32];

	snprintf(msg, sizeof(msg), "delete %u", t->snap.dev_id);
	if (mb_dm_load_error(t->snap_dm, t->snap.sectors, &e) < 0 ||
	    mb_dm_message(t->pool_dm, msg, &e) < 0)
		mb_error_log("%s (the run's undo tries again)", e.msg);
}

static int thin_split(struct mb_mirror *m, struct mb_error *e)
{
	struct thin *t = m->priv;
	struct mb_snap_watch_conf conf = { .pv = m->snap.pv, .limit = m->snap.extend_max,
					   .pool = true, .fill = mb_dm_pool_fill, .extend_at = THIN_EXTEND_AT,
					   .throttle_at = THIN_THROTTLE_AT, .abort_at = THIN_ABORT_AT,
					   .drop = drop_snapshot, .drop_arg = t };
	long long t0 = mb_now_ms();

	if (take_snapshot(t, e) < 0)
		return -1;
	if (mb_dm_create_thin(t->snap_dm, &t->snap, e) < 0)
		return -1;
	mb_snap_fault_point("thin-created");
	free(m->split_path);
	if (asprintf(&m->split_path, "/dev/mapper/%s", t->snap_dm) < 0) {
		m->split_path = NULL;
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to take the thin snapshot");
	}
	m->split_offset = 0;
	snprintf(conf.vg, sizeof(conf.vg), "%s", t->vg);
	snprintf(conf.snap_lv, sizeof(conf.snap_lv), "%s", t->pool);
	snprintf(conf.snap_dm, sizeof(conf.snap_dm), "%s", t->pool_dm);
	conf.size = t->pool_bytes;
	conf.meta_size = t->meta_bytes;
	conf.throttle = t->throttle.cgroup[0] ? &t->throttle : NULL;
	mb_info("lvm: thin snapshot '%s/%s' (id %u in pool '%s/%s') taken in %lld ms", t->vg,
		t->snap_lv, t->snap.dev_id, t->vg, t->pool, mb_now_ms() - t0);
	return mb_snap_watch_start(&t->watch, &conf, e);
}

/* Discard-behind: the snapshot, loaded read-only in the window, is made
 * writable (a discard is a write; it is never mounted, never in LVM's
 * metadata, and mbackup writes nothing else to it), then every pool
 * block outside the stream's ranges is given back (discard.c). */
static int thin_stream_plan(struct mb_mirror *m, const struct mb_mirror_range *v, size_t n,
			    struct mb_error *e)
{
	struct thin *t = m->priv;
	long long t0 = mb_now_ms();
	int rc;

	if (m->snap.discard_behind && strcmp(m->snap.discard_behind, "off") == 0)
		return 0;
	if (mb_snap_watch_tables(t->watch, true))
		mb_info("lvm: the writable reload of '%s/%s' waited %lld ms for an extension of pool "
			"'%s/%s'", t->vg, t->snap_lv, mb_now_ms() - t0, t->vg, t->pool);
	rc = mb_dm_reload_thin_rw(t->snap_dm, &t->snap, e);
	mb_snap_watch_tables(t->watch, false);
	if (rc < 0 ||
	    mb_discard_open(&t->discard, m->split_path, (uint64_t)t->chunk_bytes, v, n, e) < 0)
		return -1;
	mb_snap_fault_point("thin-discarded");
	mb_discard_get(t->discard, &t->discarded);
	mb_info("lvm: discard-behind on '%s/%s': %llu MiB outside the backup set given back to "
		"pool '%s/%s' in %lld ms", t->vg, t->snap_lv,
		(unsigned long long)(t->discarded.outside >> 20), t->vg, t->pool, mb_now_ms() - t0);
	return 0;
}

static int thin_streamed(struct mb_mirror *m, const struct mb_mirror_range *v, size_t n,
			 struct mb_error *e)
{
	struct thin *t = m->priv;

	return mb_discard_done(t->discard, v, n, e);
}

/* The discards' count, once the stream is over. */
static void discard_end(struct thin *t)
{
	if (!t->discard)
		return;
	mb_discard_close(t->discard, &t->discarded);
	t->discard = NULL;
}

static void fill_stats(struct mb_mirror *m, struct thin *t)
{
	struct mb_mirror_stats *st = &m->stats;

	st->method = "thin";
	snprintf(st->origin, sizeof(st->origin), "%s/%s", t->vg, t->lv);
	snprintf(st->snapshot, sizeof(st->snapshot), "%s/%s", t->vg, t->snap_lv);
	snprintf(st->container_pv, sizeof(st->container_pv), "%s/%s", t->vg, t->pool);
	st->chunk_bytes = t->chunk_bytes;
	st->discarded_bytes = (long long)t->discarded.discarded;
	st->discarded_behind = (long long)t->discarded.behind;
	snprintf(st->outcome, sizeof(st->outcome), "%s",
		 st->invalidated ? "dropped before the pool filled" : "valid");
}

/* After the stream: the watch stops (the writers' limit lifted); a
 * snapshot dropped meanwhile is the cause of whatever the stream saw. */
static int thin_stream_done(struct mb_mirror *m, int stream_rc, struct mb_error *e)
{
	struct thin *t = m->priv;

	mb_snap_watch_stop(t->watch, &m->stats);
	t->watch = NULL;
	discard_end(t);
	fill_stats(m, t);
	mb_info("lvm: thin snapshot '%s/%s': pool '%s/%s' peak %.1f%%, %d extension(s), %lld -> "
		"%lld MiB, metadata %d extension(s), %lld -> %lld MiB, writers throttled %lld ms, "
		"%lld MiB discarded (%lld MiB behind the stream)",
		t->vg, t->snap_lv, t->vg, t->pool, m->stats.peak_pct, m->stats.extensions,
		m->stats.size_initial >> 20, m->stats.size_final >> 20, m->stats.meta_extensions,
		m->stats.meta_initial >> 20, m->stats.meta_final >> 20, m->stats.throttled_ms,
		m->stats.discarded_bytes >> 20, m->stats.discarded_behind >> 20);
	if (!m->stats.invalidated)
		return stream_rc;
	mb_error_clear(e);
	mb_fail(e, MB_ERR_MIRROR, 0, "thin pool '%s/%s' reached %.1f%% (%lld MiB after %d "
		"extension(s)): the snapshot was dropped before the pool could fill: the image is "
		"incomplete", t->vg, t->pool, m->stats.peak_pct, m->stats.size_final >> 20,
		m->stats.extensions);
	mb_hint(e, "extend the pool (lvextend -L+SIZE %s/%s), give --snapshot-extend-max more or "
		"free space in volume group '%s', or --throttle-writers auto", t->vg, t->pool, t->vg);
	return -1;
}

/* Deletes thin id from VG/POOL; an id the pool no longer has is done. */
static int delete_id(const char *vg, const char *pool, unsigned id, struct mb_error *e)
{
	char pool_dm[DM_NAME_LEN], msg[32];
	struct mb_error err = { 0 };
	int exists;

	pool_dm_name(vg, pool, pool_dm, sizeof(pool_dm));
	if ((exists = mb_dm_exists(pool_dm, e)) < 0)
		return -1;
	if (!exists) {
		mb_fail(e, MB_ERR_MIRROR, 0, "unable to delete thin snapshot id %u: pool '%s/%s' is "
			"not active", id, vg, pool);
		mb_hint(e, "activate it (lvchange -ay %s/%s), then run mbackup recover", vg, pool);
		return -1;
	}
	snprintf(msg, sizeof(msg), "delete %u", id);
	if (mb_dm_message(pool_dm, msg, &err) == 0) {
		mb_info("lvm: deleted thin snapshot id %u from pool '%s/%s'", id, vg, pool);
		return 0;
	}
	if (err.sys_errno == ENODATA)
		return 0;
	*e = err;
	return -1;
}

static int thin_undo(const char *arg, const struct mb_undo_ctx *ctx, struct mb_error *e)
{
	char vg[MB_LVM_NAME_MAX], lv[MB_LVM_NAME_MAX], snap_lv[MB_LVM_NAME_MAX + 32];
	char pool[MB_LVM_NAME_MAX], origin_dm[DM_NAME_LEN], snap_dm[DM_NAME_LEN];
	const char *bar = strchr(arg, '|');
	unsigned id;
	int exists;

	if (sscanf(arg, "%127[^/]/%127[^/]/%159[^/]/%127[^/]/%u", vg, lv, snap_lv, pool, &id) != 5)
		return mb_fail(e, MB_ERR_INTERNAL, 0, "invalid thin snapshot record '%s'", arg);
	mb_lvm_dm_name(vg, lv, origin_dm, sizeof(origin_dm));
	mb_lvm_dm_name(vg, snap_lv, snap_dm, sizeof(snap_dm));
	if (mb_dm_resume(origin_dm, e) < 0 || (bar && mb_throttle_undo(bar + 1, e) < 0))
		return -1;
	if ((exists = mb_dm_exists(snap_dm, e)) < 0 || mb_dm_remove(snap_dm, e) < 0)
		return -1;
	if (exists)
		mb_info("lvm: removed thin snapshot '%s/%s'", vg, snap_lv);
	return delete_id(vg, pool, id, e);
}

static void thin_close(struct mb_mirror *m)
{
	struct thin *t = m->priv;

	if (t) {
		mb_snap_watch_stop(t->watch, NULL);
		discard_end(t);
	}
	free(t);
	m->priv = NULL;
}

const struct mb_mirror_ops mb_mirror_lvm_thin = {
	.name = "lvm-thin",
	.open = thin_open,
	.check = thin_check,
	.sync = thin_sync,
	.prepare_split = thin_prepare,
	.split = thin_split,
	.undo = thin_undo,
	.close = thin_close,
	.stream_done = thin_stream_done,
	.stream_plan = thin_stream_plan,
	.streamed = thin_streamed,
};
