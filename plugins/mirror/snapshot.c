/*
 * The classic snapshot driver: lvm:VG/LV when the LV is linear or striped
 * (lvm_method.c picks it).  A COW snapshot stands in for the split leg:
 *
 *   check      the container's size (--snapshot-size, default 10 % of the
 *              origin: dattobd's guess for a day's writes, and the watch
 *              grows it anyway) fits the free space of --snapshot-pv or of
 *              the VG; no snapshot of an earlier run is left
 *   split      inside the window, the filesystem already frozen: the origin
 *              is suspended without lockfs (LVM's own lockfs would fail on a
 *              frozen filesystem with EBUSY), then `lvcreate -s -pr` takes
 *              the read-only snapshot and resumes the origin; the watch
 *              starts (snapshot_watch.c)
 *   stream     reads the snapshot device: FIEMAP offsets of the origin are
 *              offsets of the snapshot; a snapshot that would overflow is
 *              dropped first (drop_snapshot), the run fails
 *   undo       resumes the origin if it is still suspended, lifts a writers'
 *              limit, removes the snapshot: from the obligation's text alone
 *              "VG/LV/SNAP[|CGROUP|MAJ:MIN|WBPS]", idempotent
 */
#include "plugins/mirror/snapshot.h"

#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/spawn.h"
#include "plugins/mirror/dm.h"
#include "plugins/mirror/keeper.h"

#define LVM_TIMEOUT_MS 120000
#define SNAP_CREATE_TIMEOUT_MS 30000	/* inside the window: the guard bounds it too */
#define SNAP_DEFAULT_SIZE "10%"
#define SNAP_DEFAULT_CHUNK (8 << 10)	/* one PostgreSQL page */
#define DM_NAME_LEN (2 * (2 * MB_LVM_NAME_MAX + 32))

struct snap {
	char vg[MB_LVM_NAME_MAX], lv[MB_LVM_NAME_MAX], snap_lv[MB_LVM_NAME_MAX + 32];
	char origin_dm[DM_NAME_LEN], snap_dm[DM_NAME_LEN];
	long long origin_bytes, size_bytes, free_bytes;
	int size_pct;			/* --snapshot-size N%: N, else 0 */
	struct mb_throttle throttle;
	struct mb_snap_watch *watch;
};

/* One lvs/vgs/pvs report of fields (comma-separated) for target: the
 * first row's value of each of names[0..n) into out[i] ("" if none). */
int mb_lvm_report_fields(const char *cmd, const char *fields, const char *target,
			 const char *const *names, char (*out)[MB_LVM_FIELD_LEN], size_t n,
			 struct mb_error *e)
{
	const char *argv[] = { cmd, "--reportformat", "json", "--units", "b", "--nosuffix",
			       "-o", fields, target, NULL };
	struct mb_spawn_result res = { 0 };
	json_t *root = NULL, *rep, *row;
	int rc = -1;

	for (size_t i = 0; i < n; i++)
		out[i][0] = '\0';
	if (mb_spawn(argv, LVM_TIMEOUT_MS, MB_ERR_MIRROR, &res, e) < 0)
		goto out;
	root = json_loads(res.out ? res.out : "", 0, NULL);
	rep = json_array_get(json_object_get(root, "report"), 0);
	rep = json_object_get(rep, strcmp(cmd, "lvs") == 0 ? "lv" : strcmp(cmd, "vgs") == 0 ? "vg" : "pv");
	row = json_array_get(rep, 0);
	for (size_t i = 0; i < n; i++) {
		const char *v = json_string_value(json_object_get(row, names[i]));

		snprintf(out[i], MB_LVM_FIELD_LEN, "%s", v ? v : "");
	}
	rc = 0;
out:
	json_decref(root);
	mb_spawn_result_free(&res);
	return rc;
}

int mb_lvm_report_field(const char *cmd, const char *fields, const char *target,
			const char *name, char *out, size_t len, struct mb_error *e)
{
	char v[1][MB_LVM_FIELD_LEN];
	int rc = mb_lvm_report_fields(cmd, fields, target, &name, v, 1, e);

	size_t k = rc == 0 ? strnlen(v[0], len - 1) : 0;

	memcpy(out, v[0], k);
	out[k] = '\0';
	return rc;
}

/* The container's size from --snapshot-size: "N%" of the origin (1..100)
 * or a size with K/M/G. */
static int parse_size(struct snap *s, const char *v, struct mb_error *e)
{
	char *end;
	long long n;

	errno = 0;
	n = strtoll(v, &end, 10);
	if (!errno && end != v && n > 0 && strcmp(end, "%") == 0 && n <= 100) {
		s->size_pct = (int)n;
		s->size_bytes = s->origin_bytes * n / 100;
		return 0;
	}
	if (!errno && end != v && n > 0 && (!*end || (strchr("KkMmGg", *end) && !end[1]))) {
		int shift = !*end ? 0 : (*end | 0x20) == 'k' ? 10 : (*end | 0x20) == 'm' ? 20 : 30;

		if (n <= (1LL << 50) >> shift) {
			s->size_bytes = n << shift;
			return 0;
		}
	}
	mb_fail(e, MB_ERR_USAGE, 0, "invalid value '%s' for --snapshot-size", v);
	mb_hint(e, "give a percentage of the origin (10%%) or a size (512M, 2G)");
	return -1;
}

static int snap_open(struct mb_mirror *m, const char *arg, struct mb_error *e)
{
	struct snap *s = calloc(1, sizeof(*s));
	struct stat st;

	if (!s)
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to open mirror '%s'", arg);
	m->priv = s;
	if (mb_lvm_parse_vg_lv(arg, s->vg, s->lv, e) < 0)
		return -1;
	mb_lvm_dm_name(s->vg, s->lv, s->origin_dm, sizeof(s->origin_dm));
	if (asprintf(&m->device, "/dev/%s/%s", s->vg, s->lv) < 0) {
		m->device = NULL;
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to open mirror '%s'", arg);
	}
	if (stat(m->device, &st) < 0 || !S_ISBLK(st.st_mode)) {
		mb_fail(e, MB_ERR_MIRROR, errno ? errno : ENOTBLK,
			"unable to use logical volume '%s' ('%s')", arg, m->device);
		mb_hint(e, "the LV must exist and be active: lvs %s; lvchange -ay %s", s->vg, arg);
		return -1;
	}
	m->rdev = st.st_rdev;
	return 0;
}

/* A snapshot an earlier run left ("<lv>_mbsnap_<run>") is refused. */
static int refuse_leftover(struct snap *s, struct mb_error *e)
{
	char target[2 * MB_LVM_NAME_MAX + 2], origin[MB_LVM_NAME_MAX];
	const char *argv[] = { "lvs", "--noheadings", "-o", "lv_name,origin", s->vg, NULL };
	struct mb_spawn_result res = { 0 };
	char name[MB_LVM_NAME_MAX + 32], prefix[MB_LVM_NAME_MAX + 16];
	int rc = 0;

	snprintf(prefix, sizeof(prefix), "%s_mbsnap_", s->lv);
	if (mb_spawn(argv, LVM_TIMEOUT_MS, MB_ERR_MIRROR, &res, e) < 0)
		return -1;
	for (char *line = res.out; line && *line && rc == 0; line = strchr(line, '\n'), line += !!line) {
		origin[0] = '\0';
		if (sscanf(line, " %159s %127s", name, origin) >= 1 &&
		    strncmp(name, prefix, strlen(prefix)) == 0) {
			snprintf(target, sizeof(target), "%s/%s", s->vg, s->lv);
			rc = mb_fail(e, MB_ERR_MIRROR, 0, "logical volume '%s' has a snapshot "
				     "'%s/%s' left by an mbackup run", target, s->vg, name);
			mb_hint(e, "run mbackup recover; or remove it: lvremove %s/%s", s->vg, name);
		}
	}
	mb_spawn_result_free(&res);
	return rc;
}

/* The container's size and where it goes; refused if it does not fit. */
static int size_container(struct mb_mirror *m, struct snap *s, struct mb_error *e)
{
	static const char *const pv_names[] = { "vg_name", "pv_free" };
	char v[MB_LVM_FIELD_LEN], target[2 * MB_LVM_NAME_MAX + 2], pvf[2][MB_LVM_FIELD_LEN];
	const char *pv = m->snap.pv;

	snprintf(target, sizeof(target), "%s/%s", s->vg, s->lv);
	if (mb_lvm_report_field("lvs", "lv_size", target, "lv_size", v, sizeof(v), e) < 0)
		return -1;
	s->origin_bytes = strtoll(v, NULL, 10);
	if (parse_size(s, m->snap.size ? m->snap.size : SNAP_DEFAULT_SIZE, e) < 0)
		return -1;
	if (pv) {
		if (mb_lvm_report_fields("pvs", "vg_name,pv_free", pv, pv_names, pvf, 2, e) < 0 ||
		    strcmp(pvf[0], s->vg) != 0) {
			mb_error_clear(e);
			mb_fail(e, MB_ERR_MIRROR, 0, "--snapshot-pv '%s' is not a physical volume of "
				"volume group '%s'", pv, s->vg);
			mb_hint(e, "add it first: vgextend %s %s", s->vg, pv);
			return -1;
		}
		snprintf(v, sizeof(v), "%s", pvf[1]);
	} else if (mb_lvm_report_field("vgs", "vg_free", s->vg, "vg_free", v, sizeof(v), e) < 0) {
		return -1;
	}
	s->free_bytes = strtoll(v, NULL, 10);
	if (s->size_bytes <= s->free_bytes)
		return 0;
	mb_fail(e, MB_ERR_MIRROR, 0, "no room for the snapshot of '%s': the container needs "
		"%lld MiB, %s '%s' has %lld MiB free", target, s->size_bytes >> 20,
		pv ? "physical volume" : "volume group", pv ? pv : s->vg, s->free_bytes >> 20);
	mb_hint(e, "give --snapshot-size less, --snapshot-pv a PV with room, or vgextend %s", s->vg);
	return -1;
}

static int snap_check(struct mb_mirror *m, struct mb_error *e)
{
	struct snap *s = m->priv;
	long chunk = m->snap.chunk ? m->snap.chunk : SNAP_DEFAULT_CHUNK;
	char pct[32] = "", where[300];
	bool off = m->snap.throttle && strcmp(m->snap.throttle, "off") == 0;

	if (chunk < 4096 || chunk > (512 << 10) || (chunk & (chunk - 1))) {
		mb_fail(e, MB_ERR_USAGE, 0, "invalid value '%ld' for --snapshot-chunk", chunk);
		mb_hint(e, "a power of 2 from 4K to 512K");
		return -1;
	}
	if (refuse_leftover(s, e) < 0 || size_container(m, s, e) < 0)
		return -1;
	if (s->size_pct)
		snprintf(pct, sizeof(pct), " (%d%% of the origin)", s->size_pct);
	snprintf(where, sizeof(where), m->snap.pv ? "'%s'" : "volume group '%s'",
		 m->snap.pv ? m->snap.pv : s->vg);
	mb_info("lvm: '%s/%s' is %s, not raid1: a classic snapshot stands in: container "
		"%lld MiB%s on %s, chunk %ld KiB, grown from %lld MiB free%s, writers throttled %s",
		s->vg, s->lv, "linear or striped", s->size_bytes >> 20, pct, where, chunk >> 10,
		(s->free_bytes - s->size_bytes) >> 20,
		m->snap.extend_max ? " up to --snapshot-extend-max" : "",
		off ? "never (--throttle-writers off)" : "when it cannot grow");
	if (!off) {
		/* what the run would throttle, and whether io.max reaches it */
		struct mb_throttle t;

		mb_throttle_find(&t, m->rdev);
	}
	return 0;
}

static int snap_sync(struct mb_mirror *m, struct mb_error *e)
{
	return refuse_leftover(m->priv, e);
}

/* Before the window: the snapshot's name, the writers' cgroup, and the
 * obligation's text, recorded before anything is taken. */
static int snap_prepare(struct mb_mirror *m, int64_t run_id, struct mb_error *e)
{
	struct snap *s = m->priv;
	bool throttle = !m->snap.throttle || strcmp(m->snap.throttle, "off") != 0;
	int n;

	snprintf(s->snap_lv, sizeof(s->snap_lv), "%s_mbsnap_%lld", s->lv, (long long)run_id);
	mb_lvm_dm_name(s->vg, s->snap_lv, s->snap_dm, sizeof(s->snap_dm));
	memset(&s->throttle, 0, sizeof(s->throttle));
	if (throttle)
		mb_throttle_find(&s->throttle, m->rdev);
	free(m->obligation_arg);
	if (s->throttle.cgroup[0])
		n = asprintf(&m->obligation_arg, "%s/%s/%s|%s|%s|%s", s->vg, s->lv, s->snap_lv,
			     s->throttle.cgroup, s->throttle.devno, s->throttle.previous);
	else
		n = asprintf(&m->obligation_arg, "%s/%s/%s", s->vg, s->lv, s->snap_lv);
	if (n < 0) {
		m->obligation_arg = NULL;
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to prepare the snapshot");
	}
	return 0;
}

/* lvcreate's argv for the container: size (N%ORIGIN or KiB), chunk, PV. */
static int create_snapshot(struct mb_mirror *m, struct snap *s, struct mb_error *e)
{
	char size[32], chunk[32], origin[2 * MB_LVM_NAME_MAX + 2];
	const char *argv[] = { "lvcreate", "-q", "-y", "-s", "-p", "r", "-n", s->snap_lv,
			       s->size_pct ? "-l" : "-L", size, "-c", chunk, origin,
			       m->snap.pv, NULL };

	if (s->size_pct)
		snprintf(size, sizeof(size), "%d%%ORIGIN", s->size_pct);
	else
		snprintf(size, sizeof(size), "%lldk", (s->size_bytes + 1023) >> 10);
	snprintf(chunk, sizeof(chunk), "%ldk", (m->snap.chunk ? m->snap.chunk : SNAP_DEFAULT_CHUNK) >> 10);
	snprintf(origin, sizeof(origin), "%s/%s", s->vg, s->lv);
	return mb_spawn(argv, SNAP_CREATE_TIMEOUT_MS, MB_ERR_MIRROR, NULL, e);
}

/* The test seam of the steps inside split (the runner's fault points
 * are between phases): MBACKUP_FAULT=<point>:kill. */
void mb_snap_fault_point(const char *point)
{
	const char *spec = getenv("MBACKUP_FAULT");
	size_t n = strlen(point);

	if (spec && strncmp(spec, point, n) == 0 && strcmp(spec + n, ":kill") == 0) {
		mb_warn("injecting fault 'kill' at %s", point);
		kill(getpid(), SIGKILL);
	}
}

/* The watch's abort, before dm-snapshot would invalidate the snapshot:
 * its table becomes an error target of the same length, so the kernel
 * unregisters it from the origin (no copy-out from now on, the container
 * never fills) and the stream's reads fail; the origin is untouched, and
 * the run's undo removes the LV as after any run. */
static void drop_snapshot(void *arg)
{
	struct snap *s = arg;
	struct mb_error e = { 0 };
	uint64_t sectors;
	char *params = NULL;

	if (mb_dm_status_target(s->snap_dm, "snapshot", &params, &sectors, &e) < 0 ||
	    mb_dm_load_error(s->snap_dm, sectors, &e) < 0)
		mb_error_log("%s (the run's undo removes the snapshot)", e.msg);
	free(params);
}

/* How far the watch may grow the container: --snapshot-extend-max, and
 * never past the free space preflight found (with none left an lvextend
 * bound to fail would keep the watch from its next looks, seconds under
 * load, while the writers run unthrottled). */
static long long grow_limit(const struct mb_mirror *m, const struct snap *s)
{
	long long max = m->snap.extend_max;

	if (s->free_bytes > 0 && (max <= 0 || max > s->free_bytes))
		max = s->free_bytes;
	return max;
}

/* Inside the window: suspend (no lockfs, guarded), lvcreate (which
 * resumes), watch. */
static int snap_split(struct mb_mirror *m, struct mb_error *e)
{
	struct snap *s = m->priv;
	struct mb_snap_watch_conf conf = { .pv = m->snap.pv, .limit = grow_limit(m, s),
					   .drop = drop_snapshot, .drop_arg = s };
	long long t0 = mb_now_ms();
	struct mb_error ignored = { 0 };
	struct mb_keeper keeper;
	int rc;

	if (mb_dm_suspend_guarded(s->origin_dm, &keeper, e) < 0)
		return -1;
	mb_snap_fault_point("snapshot-suspended");
	rc = create_snapshot(m, s, e);
	if (mb_dm_resume(s->origin_dm, rc < 0 ? &ignored : e) < 0)
		rc = -1;
	mb_keeper_done(&keeper);
	if (rc < 0)
		return -1;
	free(m->split_path);
	if (asprintf(&m->split_path, "/dev/mapper/%s", s->snap_dm) < 0) {
		m->split_path = NULL;
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to take the snapshot");
	}
	m->split_offset = 0;
	snprintf(conf.vg, sizeof(conf.vg), "%s", s->vg);
	snprintf(conf.snap_lv, sizeof(conf.snap_lv), "%s", s->snap_lv);
	snprintf(conf.snap_dm, sizeof(conf.snap_dm), "%s", s->snap_dm);
	conf.size = s->size_bytes;
	conf.throttle = s->throttle.cgroup[0] ? &s->throttle : NULL;
	mb_info("lvm: snapshot '%s/%s' taken in %lld ms", s->vg, s->snap_lv, mb_now_ms() - t0);
	return mb_snap_watch_start(&s->watch, &conf, e);
}

static void fill_stats(struct mb_mirror *m, struct snap *s)
{
	struct mb_mirror_stats *st = &m->stats;

	st->method = "classic";
	snprintf(st->origin, sizeof(st->origin), "%s/%s", s->vg, s->lv);
	snprintf(st->snapshot, sizeof(st->snapshot), "%s/%s", s->vg, s->snap_lv);
	snprintf(st->container_pv, sizeof(st->container_pv), "%s", m->snap.pv ? m->snap.pv : "");
	st->chunk_bytes = m->snap.chunk ? m->snap.chunk : SNAP_DEFAULT_CHUNK;
	if (st->dropped)
		snprintf(st->outcome, sizeof(st->outcome), "dropped at %.1f%% before its container "
			 "could overflow", st->peak_pct);
	else
		snprintf(st->outcome, sizeof(st->outcome), "%s", st->invalidated ? "invalidated" : "valid");
}

/* After the stream: the watch stops (the writers' limit lifted); a
 * snapshot lost meanwhile is the cause of whatever the stream saw. */
static int snap_stream_done(struct mb_mirror *m, int stream_rc, struct mb_error *e)
{
	struct snap *s = m->priv;
	struct mb_dm_snap_fill f = { 0 };

	mb_snap_watch_stop(s->watch, &m->stats);
	s->watch = NULL;
	if (!m->stats.invalidated && mb_dm_snapshot_fill(s->snap_dm, &f, e) == 0 && f.invalid)
		m->stats.invalidated = true;
	fill_stats(m, s);
	mb_info("lvm: snapshot '%s/%s': peak %.1f%% of the container, %d extension(s), "
		"%lld -> %lld MiB, writers throttled %lld ms", s->vg, s->snap_lv, m->stats.peak_pct,
		m->stats.extensions, m->stats.size_initial >> 20, m->stats.size_final >> 20,
		m->stats.throttled_ms);
	if (!m->stats.invalidated)
		return stream_rc;
	mb_error_clear(e);
	if (m->stats.dropped)
		mb_fail(e, MB_ERR_MIRROR, 0, "snapshot '%s/%s' was dropped at %.1f%% of its container "
			"(%lld MiB after %d extension(s)) before it could overflow: the image is "
			"incomplete", s->vg, s->snap_lv, m->stats.peak_pct, m->stats.size_final >> 20,
			m->stats.extensions);
	else
		mb_fail(e, MB_ERR_MIRROR, 0, "snapshot '%s/%s' overflowed its container (%lld MiB "
			"after %d extension(s)) and was invalidated: the image is incomplete", s->vg,
			s->snap_lv, m->stats.size_final >> 20, m->stats.extensions);
	mb_hint(e, "give --snapshot-size or --snapshot-extend-max more, free space in volume "
		"group '%s', or --throttle-writers auto with the writers in a cgroup of their own", s->vg);
	return -1;
}

/* 1 if vg holds an LV named name, 0 if not, -1 if lvs fails. */
static int lv_exists(const char *vg, const char *name, struct mb_error *e)
{
	const char *argv[] = { "lvs", "--noheadings", "-o", "lv_name", vg, NULL };
	struct mb_spawn_result res = { 0 };
	size_t n = strlen(name);
	int found = 0;

	if (mb_spawn(argv, LVM_TIMEOUT_MS, MB_ERR_MIRROR, &res, e) < 0)
		return -1;
	for (const char *p = res.out ? res.out : ""; *p && !found; p += strcspn(p, "\n"), p += *p == '\n') {
		p += strspn(p, " ");
		found = strncmp(p, name, n) == 0 && strchr(" \n", p[n] ? p[n] : ' ');
	}
	mb_spawn_result_free(&res);
	return found;
}

/* "VG/LV/SNAP[|CGROUP|MAJ:MIN|WBPS]": resume the origin, lift the limit,
 * remove the snapshot; each step a no-op when there is nothing to do. */
static int snap_undo(const char *arg, const struct mb_undo_ctx *ctx, struct mb_error *e)
{
	char vg[MB_LVM_NAME_MAX], lv[MB_LVM_NAME_MAX], snap_lv[MB_LVM_NAME_MAX + 32];
	char origin_dm[DM_NAME_LEN], target[2 * MB_LVM_NAME_MAX + 40];
	int exists;
	const char *bar = strchr(arg, '|');
	const char *rm[] = { "lvremove", "-q", "-f", target, NULL };

	if (sscanf(arg, "%127[^/]/%127[^/]/%159[^|]", vg, lv, snap_lv) != 3)
		return mb_fail(e, MB_ERR_INTERNAL, 0, "invalid snapshot record '%s'", arg);
	mb_lvm_dm_name(vg, lv, origin_dm, sizeof(origin_dm));
	snprintf(target, sizeof(target), "%s/%s", vg, snap_lv);
	if (mb_dm_resume(origin_dm, e) < 0 || (bar && mb_throttle_undo(bar + 1, e) < 0))
		return -1;
	if ((exists = lv_exists(vg, snap_lv, e)) <= 0)
		return exists;
	if (mb_spawn(rm, LVM_TIMEOUT_MS, MB_ERR_MIRROR, NULL, e) < 0)
		return -1;
	mb_info("lvm: removed snapshot '%s'", target);
	return 0;
}

static void snap_close(struct mb_mirror *m)
{
	struct snap *s = m->priv;

	if (s)
		mb_snap_watch_stop(s->watch, NULL);
	free(s);
	m->priv = NULL;
}

const struct mb_mirror_ops mb_mirror_lvm_snapshot = {
	.name = "lvm-snapshot",
	.open = snap_open,
	.check = snap_check,
	.sync = snap_sync,
	.prepare_split = snap_prepare,
	.split = snap_split,
	.undo = snap_undo,
	.close = snap_close,
	.stream_done = snap_stream_done,
};
