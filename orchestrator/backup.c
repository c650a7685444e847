/*
 * The phase runner: `mbackup backup` reads like the runbook of DESIGN.md.
 * Each phase is a named step; its start and end go into the catalog (the
 * window's phases after the thaw).  Any failure unwinds: thaw first if
 * frozen, then every obligation newest-first, then the run is marked
 * failed.
 */
#include "orchestrator/run.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "orchestrator/backup_wal.h"
#include "orchestrator/incremental.h"
#include "orchestrator/catalog_snapshot.h"
#include "orchestrator/lock.h"
#include "orchestrator/mount_split.h"
#include "orchestrator/pace.h"
#include "orchestrator/progress.h"
#include "orchestrator/publish.h"
#include "orchestrator/signals.h"

typedef int (*step_fn)(struct mb_run *r, struct mb_error *e);

static bool window_phase(const char *name)
{
	return strcmp(name, "quiesce") == 0 || strcmp(name, "split") == 0 ||
	       strcmp(name, "recheck") == 0 || strcmp(name, "unquiesce") == 0;
}

/* Writes the window's phase notes, now that nothing is frozen. */
static int flush_notes(struct mb_run *r, struct mb_error *e)
{
	for (int i = 0; i < r->n_notes; i++) {
		struct mb_phase_note *n = &r->notes[i];

		if (mb_catalog_phase_record(r->catalog, r->id, n->name, n->started,
					    n->finished, n->duration_ms, n->ok ? "ok" : "failed",
					    n->detail, e) < 0)
			return -1;
	}
	r->n_notes = 0;
	return 0;
}

/* Records a phase's end: directly if its start is in the catalog,
 * otherwise as a note with its own times (the window's phases, and the
 * preflight, which opens the catalog). */
static int phase_end(struct mb_run *r, const char *name, bool begun,
		     const char *started, long long ms, int rc, struct mb_error *e)
{
	struct mb_phase_note *n;

	if (!r->catalog)
		return 0;
	if (begun)
		return mb_catalog_phase_end(r->catalog, r->id, name, rc ? "failed" : "ok",
					    r->detail, rc ? NULL : e);
	n = &r->notes[r->n_notes++];
	n->name = name;
	snprintf(n->started, sizeof(n->started), "%s", started);
	mb_catalog_now(n->finished, sizeof(n->finished));
	n->duration_ms = ms;
	n->ok = rc == 0;
	snprintf(n->detail, sizeof(n->detail), "%s", r->detail);
	if (r->in_window)
		return 0;
	return flush_notes(r, rc ? NULL : e);
}

static int run_phase(struct mb_run *r, const char *name, const char *fault_point,
		     step_fn fn, struct mb_error *e)
{
	bool begun = r->catalog && !window_phase(name);
	long long t0 = mb_now_ms();
	char started[32];
	int rc;

	mb_catalog_now(started, sizeof(started));
	r->detail[0] = '\0';
	if (begun && mb_catalog_phase_begin(r->catalog, r->id, name, e) < 0)
		return -1;
	rc = fn(r, e);
	if (phase_end(r, name, begun, started, mb_now_ms() - t0, rc, e) < 0)
		rc = -1;
	if (rc == 0)
		mb_info("phase %s: done in %lld ms%s%s%s", name, mb_now_ms() - t0,
			r->detail[0] ? " (" : "", r->detail, r->detail[0] ? ")" : "");
	else
		mb_info("phase %s: failed after %lld ms", name, mb_now_ms() - t0);
	if (rc == 0 && fault_point)
		rc = mb_fault(fault_point, e);
	if (rc == 0 && !r->in_window)
		rc = mb_signal_check(e);
	return rc;
}

/* P1: every mirror healthy and in sync; a signal ends a resync wait,
 * whose percentage is the progress of the phase (before the window). */
static int step_sync(struct mb_run *r, struct mb_error *e)
{
	struct mb_progress *p;
	int rc = 0;

	if (mb_progress_start_percent(&p, r->opt, "sync", e) < 0)
		return -1;
	for (int i = 0; i < r->n_legs && rc == 0; i++) {
		struct mb_mirror *m = r->legs[i].mirror;

		m->stop = mb_signal_stop();
		m->on_sync = p ? mb_progress_on_sync : NULL;
		m->on_sync_arg = p;
		rc = m->ops->sync(m, e);
		m->on_sync = NULL;
	}
	mb_progress_end(p, rc == 0);
	return rc;
}

/* The change journal, started before the walk so that it sees every
 * change the premap might miss; without it (--full-recheck, or fanotify
 * refused) the window re-checks every entry, as it always did. */
static void start_journal(struct mb_run *r)
{
	struct mb_error je = { 0 };

	if (r->opt->full_recheck)
		return;
	if (mb_journal_open(&r->journal, r->source, &je) < 0)
		mb_warn("%s; the window re-checks every file", je.msg);
}

/* P2: walk + FIEMAP on the live filesystem, then converge; a signal
 * ends each pass within a few entries. */
static int step_premap(struct mb_run *r, struct mb_error *e)
{
	struct mb_stop stop = mb_signal_stop();

	start_journal(r);
	r->premap_started = time(NULL);
	if (mb_walk(&r->set, r->source, &stop, e) < 0 ||
	    mb_progress_premap(r->opt, &r->set, &stop, &r->premap, e) < 0 ||
	    (r->journal ? mb_converge_journal(&r->set, r->journal, 32, 4, &stop, &r->premap, e)
			: mb_converge(&r->set, 32, 4, &stop, &r->premap, e)) < 0)
		return -1;
	snprintf(r->detail, sizeof(r->detail),
		 "%llu entries, %llu files, %llu bytes, %llu extents, %d converge rounds%s",
		 (unsigned long long)r->set.n, (unsigned long long)r->premap.files,
		 (unsigned long long)r->premap.bytes, (unsigned long long)r->premap.extents,
		 r->premap.rounds, r->journal ? " by the change journal" : "");
	return 0;
}

/* The mountpoints of every leg: what is frozen, and what the guard thaws. */
static size_t leg_mounts(struct mb_run *r, char *mounts[MB_MAX_LEGS])
{
	for (int i = 0; i < r->n_legs; i++)
		mounts[i] = r->legs[i].mount.mountpoint;
	return (size_t)r->n_legs;
}

/* Slow preparations of the window, all before the first freeze: every
 * plugin of the stack prepares (and records its obligations); the
 * mirrors' splits are readied later (prepare_splits). */
static int prepare_window(struct mb_run *r, struct mb_error *e)
{
	char *mounts[MB_MAX_LEGS];
	size_t n = leg_mounts(r, mounts);

	return mb_quiesce_stack_prepare(&r->quiesce, mounts, n, &r->obl, e);
}

/* The plugins still to enter ready themselves (a freeze writes back the
 * filesystem), then each mirror readies its split (the loop mirror
 * flushes its backing file here).  Called after the plugins outside the
 * window entered, just before it opens: the start checkpoint of a
 * database's backup mode is then written back here, not inside the
 * window by the freeze or the split. */
static int prepare_splits(struct mb_run *r, struct mb_error *e)
{
	/* the filesystems first: what they write back lands in the mirrors'
	 * backing, which the splits then flush */
	if (mb_quiesce_stack_ready(&r->quiesce, e) < 0)
		return -1;
	for (int i = 0; i < r->n_legs; i++) {
		struct mb_mirror *m = r->legs[i].mirror;

		if (m->ops->prepare_split(m, r->id, e) < 0 ||
		    mb_obl_take(&r->obl, "split", m->ops->name, m->obligation_arg, m->ops->undo,
				&r->legs[i].split_handle, e) < 0)
			return -1;
	}
	return 0;
}

/* The last converge rounds by the change journal, right before the window
 * opens: what moved during the slow preparations since the premap (the
 * mirrors' lvs, the syncfs, a start checkpoint) is re-mapped here, so the
 * window's re-check is left only what the freeze's lead-in touched.
 * Under a writer of 1 % of the files that lead-in otherwise named a
 * number of files that grows with the tree (the writer's working set). */
static int settle(struct mb_run *r, struct mb_error *e)
{
	struct mb_stop stop = mb_signal_stop();
	struct mb_map_stats st;
	long long t0 = mb_now_ms();

	if (!r->journal)
		return 0;
	/* Up to 3 rounds, until one names at most 32 inodes: the window
	 * stats what the writer touched during the last one. */
	if (mb_settle_journal(&r->set, r->journal, 32, 3, &stop, &st, e) < 0)
		return -1;
	mb_info("the last rounds of the change journal before the window: %d rounds, "
		"%llu named, %llu re-mapped in %lld ms", st.rounds, (unsigned long long)st.named,
		(unsigned long long)st.mapped, mb_now_ms() - t0);
	return 0;
}

/* The window opens: the guard is armed, its deadline starting now; at
 * the deadline it also ends the bracket of the plugins entered so far. */
static int open_window(struct mb_run *r, struct mb_error *e)
{
	char *mounts[MB_MAX_LEGS];
	size_t n = leg_mounts(r, mounts);
	struct mb_quiesce_deadline undo[MB_QUIESCE_MAX];
	size_t n_undo = mb_quiesce_stack_deadline(&r->quiesce, undo);

	if (mb_guard_arm(&r->guard, mounts, n, undo, n_undo, (int)r->opt->freeze_timeout, e) < 0)
		return -1;
	r->window_start_ms = mb_now_ms();
	r->in_window = true;
	return 0;
}

/* P3: the plugins enter in order: those outside the window first (a
 * database's backup mode), then the window opens (guard armed) and the
 * rest enter (filesystems frozen).  The guard's deadline starts with the
 * window, not before the plugins outside it. */
static int step_quiesce(struct mb_run *r, struct mb_error *e)
{
	const char *bracket = mb_quiesce_stack_bracket(&r->quiesce);
	const struct mb_quiesce *q;

	if (prepare_window(r, e) < 0)
		return -1;
	r->bracket_start_ms = mb_now_ms();
	while ((q = mb_quiesce_stack_next(&r->quiesce))) {
		if (q->ops->in_window && !r->in_window &&
		    (prepare_splits(r, e) < 0 || settle(r, e) < 0 || open_window(r, e) < 0))
			return -1;
		if (mb_quiesce_stack_enter_next(&r->quiesce, e) < 0)
			return -1;
	}
	if (!r->in_window && prepare_splits(r, e) < 0)
		return -1;
	r->frozen_ms = mb_now_ms() - r->window_start_ms;
	snprintf(r->detail, sizeof(r->detail), "%s%sfroze %d filesystem(s): '%.400s'%s in %lld ms",
		 bracket ? bracket : "", bracket ? " bracket entered, " : "", r->n_legs,
		 r->mount.mountpoint, r->n_legs > 1 ? " and more" : "", r->frozen_ms);
	return 0;
}

/* P4: split one leg of every mirror. */
static int step_split(struct mb_run *r, struct mb_error *e)
{
	for (int i = 0; i < r->n_legs; i++)
		if (r->legs[i].mirror->ops->split(r->legs[i].mirror, e) < 0)
			return -1;
	snprintf(r->detail, sizeof(r->detail), "split %d leg(s), reading '%.400s'", r->n_legs,
		 r->mirror->split_path);
	return 0;
}

/* P5: the map now describes the split leg exactly. */
static int step_recheck(struct mb_run *r, struct mb_error *e)
{
	if (mb_recheck_journal(&r->set, r->journal, r->premap_started, &r->recheck, e) < 0)
		return -1;
	snprintf(r->detail, sizeof(r->detail),
		 "%llu changed, %llu added, %llu removed, %llu dirs re-read, "
		 "%llu of %llu entries stat'ed (%s)",
		 (unsigned long long)r->recheck.changed, (unsigned long long)r->recheck.added,
		 (unsigned long long)r->recheck.removed, (unsigned long long)r->recheck.dirs_reread,
		 (unsigned long long)r->recheck.stated, (unsigned long long)r->recheck.entries,
		 r->recheck.journal ? "change journal" : "full");
	return 0;
}

/* The plugins inside the window leave (thaw), then the guard is
 * disarmed; used by P6 and by every failure inside the window.  A guard
 * that fired first means the split cannot be trusted. */
static int leave_window(struct mb_run *r, struct mb_error *e)
{
	bool fired = false;
	int rc = 0;

	if (!r->in_window)
		return 0;
	r->thaw_ms = mb_now_ms();
	if (mb_quiesce_stack_leave(&r->quiesce, true, e) < 0)
		rc = -1;
	r->window_end_ms = mb_now_ms();
	r->thaw_ms = r->window_end_ms - r->thaw_ms;
	r->in_window = false;
	if (mb_guard_disarm(&r->guard, &fired, e) < 0)
		rc = -1;
	if (fired)
		mb_hint(e, "the window took longer than --freeze-timeout (%ld s)",
			r->opt->freeze_timeout);
	mb_info("window: thawed in %lld ms", r->thaw_ms);
	return rc;
}

/* The plugins outside the window leave (a database's backup mode ends);
 * on every path once entered, idempotent. */
static int leave_bracket(struct mb_run *r, struct mb_error *e)
{
	if (r->quiesce.entered == 0)
		return 0;
	r->bracket_end_ms = mb_now_ms();
	return mb_quiesce_stack_leave(&r->quiesce, false, e);
}

/* What the plugins know of the backup now that it is taken (a
 * database's stop LSN and consistency time), into the catalog as they
 * report it: what a restore to a point in time starts from. */
static int record_facts(struct mb_run *r, struct mb_error *e)
{
	struct mb_fact f[MB_FACTS_MAX];
	size_t n;

	if (mb_quiesce_stack_facts(&r->quiesce, f, MB_FACTS_MAX, &n, e) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (mb_catalog_run_set_fact(r->catalog, r->id, f[i].key, f[i].value, e) < 0)
			return -1;
	return 0;
}

/* P6: the window closes, then the bracket around it. */
static int step_unquiesce(struct mb_run *r, struct mb_error *e)
{
	const char *bracket = mb_quiesce_stack_bracket(&r->quiesce);
	long long window;

	if (leave_window(r, e) < 0 || leave_bracket(r, e) < 0)
		return -1;
	for (int i = 0; i < r->n_legs; i++)
		if (r->legs[i].mirror->ops->after_window)
			r->legs[i].mirror->ops->after_window(r->legs[i].mirror);
	window = r->window_end_ms - r->window_start_ms;
	if (bracket)
		snprintf(r->detail, sizeof(r->detail), "window %lld ms, %s bracket %lld ms",
			 window, bracket, r->bracket_end_ms - r->bracket_start_ms);
	else
		snprintf(r->detail, sizeof(r->detail), "window %lld ms", window);
	if (mb_catalog_run_set_window(r->catalog, r->id, window, e) < 0)
		return -1;
	return record_facts(r, e);
}

/* After the stream, whatever its result: each mirror says whether its
 * split leg stayed whole (a snapshot's container may have overflowed:
 * that cause replaces the read error it gave the stream). */
static int legs_streamed(struct mb_run *r, int rc, struct mb_error *e)
{
	for (int i = 0; i < r->n_legs; i++) {
		struct mb_mirror *m = r->legs[i].mirror;

		if (m->ops->stream_done && m->ops->stream_done(m, rc, e) < 0)
			rc = -1;
	}
	return rc;
}

/* P7: the plugins' rules first (what to leave out, what to add, then
 * what describes the whole set), then the image(s), laid out before any
 * byte is written, streamed from the split leg (orchestrator/stream.c). */
static int step_stream(struct mb_run *r, struct mb_error *e)
{
	if (mb_quiesce_stack_filter(&r->quiesce, &r->set))
		mb_set_finalize(&r->set);
	for (int manifest = 0; manifest < 2; manifest++) {
		size_t n = r->set.n;

		if (mb_quiesce_stack_artifacts(&r->quiesce, &r->set, manifest, e) < 0)
			return -1;
		if (r->set.n != n)
			mb_set_finalize(&r->set);
	}
	return legs_streamed(r, mb_stream(r, e), e);
}

/* The split legs go back (or stay, with --keep-split); the merge's and
 * scrub's waits are the progress of the phase "merge" (after the window).
 * A merge's proof reads the legs where the split wrote, one of them
 * production's: under --max-rate or --yield auto it takes from a pace of
 * its own, as the stream did (the governor watching the same device), not
 * at the disks' full rate.  In the guest's raid1 the proof was 8.6-20.7 s
 * of every pass, as long as the stream itself (bench/compare.md, session
 * 10).  The catalog's pace row stays the stream's. */
static int release_splits(struct mb_run *r, struct mb_error *e)
{
	struct mb_progress *p;
	struct mb_pace pace;
	struct mb_pace_stats ps;
	int rc = 0;

	if (mb_progress_start_percent(&p, r->opt, "merge", e) < 0)
		return -1;
	if (!r->opt->keep_split && mb_pace_start(&pace, r->opt, r->source_dev, "proof", e) < 0) {
		mb_progress_end(p, false);
		return -1;
	}
	if (!r->opt->keep_split && mb_pace_active(&pace)) {
		r->obl.ctx.pace = mb_pace_take_all;
		r->obl.ctx.pace_arg = &pace;
	}
	r->obl.ctx.on_wait = p ? mb_progress_on_sync : NULL;
	r->obl.ctx.on_wait_arg = p;
	for (int i = 0; rc == 0 && i < r->n_legs; i++)
		rc = r->opt->keep_split ? mb_obl_keep(&r->obl, r->legs[i].split_handle, e)
					: mb_obl_release(&r->obl, r->legs[i].split_handle, e);
	r->obl.ctx.on_wait = NULL;
	r->obl.ctx.on_wait_arg = NULL;
	r->obl.ctx.pace = NULL;
	if (!r->opt->keep_split) {
		mb_pace_stop(&pace, &ps);
		if (ps.bytes)
			mb_info("proof: %llu bytes read in %lld ms, waited %lld ms for the rate, "
				"yielded %lld ms", (unsigned long long)ps.bytes, ps.stream_ms,
				ps.waited_ms, ps.yielded_ms);
	}
	mb_progress_end(p, rc == 0);
	return rc;
}

/* P8: the split leg goes back (or stays, with --keep-split), then, as
 * the last act, the images go under their final names, durably; the run
 * is marked complete right after (commit_run).  Until then an image
 * under its final name is a publish obligation: any end of the run
 * before the commit removes it again (orchestrator/publish.h). */
static int step_finish(struct mb_run *r, struct mb_error *e)
{
	long long t0 = mb_now_ms(), t[4] = { 0 };
	int rc = 0;

	if (r->split_mount)
		rc = mb_obl_release(&r->obl, r->mount_handle, e);
	t[0] = mb_now_ms();
	if (rc == 0)
		rc = release_splits(r, e);
	t[1] = mb_now_ms();
	if (rc == 0)
		rc = mb_catalog_run_set_totals(r->catalog, r->id, r->premap.files + r->recheck.added,
					       r->image.file_bytes, e);
	t[2] = mb_now_ms();
	if (rc == 0)
		rc = mb_stream_close_media(r, e);
	t[3] = mb_now_ms();
	/* Where the phase went (bench/merge reads it). */
	mb_info("finish: split unmounted in %lld ms, mirrors back in %lld ms, totals in %lld ms, "
		"media closed in %lld ms", t[0] - t0, t[1] - t[0], t[2] - t[1], t[3] - t[2]);
	return rc;
}

/* What each snapshot that stood in for a mirror went through (its peak
 * fill, extensions, writers slowed), for complete and failed runs alike;
 * a record lost is only logged. */
static void record_snapshots(struct mb_run *r)
{
	for (int i = 0; i < r->n_legs; i++) {
		struct mb_error lost = { 0 };

		if (r->legs[i].mirror->stats.method &&
		    mb_catalog_snapshot_add(r->catalog, r->id, &r->legs[i].mirror->stats, &lost) < 0)
			mb_error_log("%s", lost.msg);
	}
}

/* The commit point: the run is complete exactly when this succeeds, and
 * its images stay; then their publish obligations are void. */
static int commit_run(struct mb_run *r, struct mb_error *e)
{
	record_snapshots(r);
	if (mb_catalog_run_end(r->catalog, r->id, "complete", 0, NULL, e) < 0)
		return -1;
	mb_publish_done(&r->obl);
	return 0;
}

/* Every failure path: thaw first, then undo the rest newest-first. */
static void abort_run(struct mb_run *r, struct mb_error *e)
{
	if (r->in_window && leave_window(r, e) < 0)
		mb_error_log("unable to leave the window cleanly; the guard thaws at its deadline");
	if (r->quiesce.entered && leave_bracket(r, NULL) < 0)
		mb_error_log("unable to end the %s bracket cleanly; closing it ends it",
			     mb_quiesce_stack_bracket(&r->quiesce) ?: "quiesce");
	if (r->catalog && r->n_notes)
		flush_notes(r, NULL);
	if (r->guard.sock >= 0 && r->guard.pid > 0) {
		bool fired;

		mb_guard_disarm(&r->guard, &fired, NULL);
	}
	for (int i = 0; i < r->n_sinks; i++) {
		mb_sink_abort(r->sinks[i]);
		r->sinks[i] = NULL;
	}
	if (r->obl_ready)
		mb_obl_unwind(&r->obl, NULL);
}

/* A failed run: marked so (a complete one was marked by commit_run). */
static void end_run(struct mb_run *r, int rc, struct mb_error *e)
{
	struct mb_error ignored = { 0 };

	if (!r->catalog || rc == 0)
		return;
	record_snapshots(r);
	if (mb_catalog_run_end(r->catalog, r->id, "failed", e->code, e->msg, &ignored) < 0)
		mb_error_log("unable to mark run %lld failed: %s; recover marks it",
			     (long long)r->id, ignored.msg);
}

static void free_run(struct mb_run *r)
{
	mb_quiesce_stack_close(&r->quiesce);	/* newest first */
	for (int i = 0; i < r->n_legs; i++)
		mb_mirror_close(r->legs[i].mirror);
	mb_image_layout_free(&r->layout);
	for (int i = 0; i < r->n_sinks; i++)
		mb_sink_abort(r->sinks[i]);
	mb_incr_free(r->incr);	/* (before the set it may borrow) */
	mb_set_free(&r->set);
	mb_journal_close(r->journal);
	if (r->obl_ready)
		mb_obl_free(&r->obl);
	mb_catalog_close(r->catalog);
	if (r->lock_fd >= 0)
		mb_lock_release(r->lock_fd);
	free(r->split_mount);
	free(r->source);
}

static void report(struct mb_run *r, const char *checked)
{
	char failed[512] = "";
	size_t len = 0;

	if (r->check_only) {
		printf("check: ok: %s\n", checked);
		return;
	}
	for (int k = 0; k < r->n_sinks && len < sizeof(failed); k++)
		if (r->image_status[k] && strcmp(r->image_status[k], "failed") == 0)
			len += snprintf(failed + len, sizeof(failed) - len, "%s device %d '%s'",
					len ? "," : "; failed:", k + 1, r->opt->media.v[k]);
	mb_info("backup %lld complete: %llu files, %llu bytes, window %lld ms, image %s%s%s",
		(long long)r->id, (unsigned long long)(r->premap.files + r->recheck.added),
		(unsigned long long)r->image.file_bytes, r->window_end_ms - r->window_start_ms,
		r->opt->media.v[0], r->opt->media.n > 1 ? " and more" : "", failed);
}

int mb_backup(const struct mb_options *opt, bool check_only, struct mb_error *e)
{
	struct mb_run r = { .opt = opt, .check_only = check_only, .lock_fd = -1,
			    .mount_handle = -1,
			    .guard = { .pid = -1, .sock = -1 } };
	char checked[sizeof(r.detail)] = "";
	int rc;

	/* P0: options, the source on its mirror, locations, the media specs,
	 * catalog, lock, leftovers of a dead run, the media (check: no
	 * catalog). */
	rc = run_phase(&r, "preflight", "after-preflight", mb_preflight, e);
	snprintf(checked, sizeof(checked), "%s", r.detail);	/* what check says */
	/* P1: the mirror is healthy and in sync. */
	if (rc == 0)
		rc = run_phase(&r, "sync", "after-sync", step_sync, e);
	if (check_only)
		goto out;
	/* P2: extent map of every file, on the live filesystem. */
	if (rc == 0)
		rc = run_phase(&r, "premap", "after-premap", step_premap, e);
	/* P3: the window opens: guard armed, filesystems frozen. */
	if (rc == 0)
		rc = run_phase(&r, "quiesce", "in-window", step_quiesce, e);
	/* P4: split one leg. */
	if (rc == 0)
		rc = run_phase(&r, "split", "after-split", step_split, e);
	/* P5: the map now describes the split leg exactly. */
	if (rc == 0)
		rc = run_phase(&r, "recheck", "after-recheck", step_recheck, e);
	/* P6: the window closes: thawed, guard disarmed. */
	if (rc == 0)
		rc = run_phase(&r, "unquiesce", "after-unquiesce", step_unquiesce, e);
	/* P7: stream the split leg into the image. */
	if (rc == 0)
		rc = run_phase(&r, "stream", "after-stream", step_stream, e);
	/* P8: leg merged back, then the image under its final name. */
	if (rc == 0)
		rc = run_phase(&r, "finish", "after-finish", step_finish, e);
	/* What of the WAL archive it needs, looked for (never fails it). */
	if (rc == 0)
		mb_backup_wal_note(&r);
	/* The run is complete: the commit point. */
	if (rc == 0)
		rc = commit_run(&r, e);
out:
	if (rc < 0)
		abort_run(&r, e);
	end_run(&r, rc, e);
	if (rc == 0)
		report(&r, checked);
	free_run(&r);
	return rc;
}
