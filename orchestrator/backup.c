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
#include "orchestrator/lock.h"
#include "orchestrator/mount_split.h"
#include "orchestrator/signals.h"
#include "plugins/media/tape.h"

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

/* P1: every mirror healthy and in sync. */
static int step_sync(struct mb_run *r, struct mb_error *e)
{
	for (int i = 0; i < r->n_legs; i++)
		if (r->legs[i].mirror->ops->sync(r->legs[i].mirror, e) < 0)
			return -1;
	return 0;
}

/* P2: walk + FIEMAP on the live filesystem, then converge. */
static int step_premap(struct mb_run *r, struct mb_error *e)
{
	r->premap_started = time(NULL);
	if (mb_walk(&r->set, r->source, e) < 0 || mb_premap(&r->set, &r->premap, e) < 0 ||
	    mb_converge(&r->set, 32, 4, &r->premap, e) < 0)
		return -1;
	snprintf(r->detail, sizeof(r->detail),
		 "%llu entries, %llu files, %llu bytes, %llu extents, %d converge rounds",
		 (unsigned long long)r->set.n, (unsigned long long)r->premap.files,
		 (unsigned long long)r->premap.bytes, (unsigned long long)r->premap.extents,
		 r->premap.rounds);
	return 0;
}

/* The mountpoints of every leg: what is frozen, and what the guard thaws. */
static size_t leg_mounts(struct mb_run *r, char *mounts[MB_MAX_LEGS])
{
	for (int i = 0; i < r->n_legs; i++)
		mounts[i] = r->legs[i].mount.mountpoint;
	return (size_t)r->n_legs;
}

/* Slow preparations of the window, all before the first freeze: open the
 * filesystems, record every obligation. */
static int prepare_window(struct mb_run *r, struct mb_error *e)
{
	char *mounts[MB_MAX_LEGS];
	size_t n = leg_mounts(r, mounts);

	if (mb_quiesce_open(&r->quiesce, "fsfreeze", mounts, n, &r->obl, e) < 0 ||
	    r->quiesce->ops->prepare(r->quiesce, e) < 0)
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

/* P3: the database enters backup mode (or checkpoints), then the window
 * opens: guard armed, filesystems frozen.  The guard's deadline starts at
 * the freeze, not before the database's checkpoint. */
static int step_quiesce(struct mb_run *r, struct mb_error *e)
{
	char *mounts[MB_MAX_LEGS];
	size_t n = leg_mounts(r, mounts);

	if (prepare_window(r, e) < 0)
		return -1;
	if (r->db) {
		r->db_start_ms = mb_now_ms();
		r->db_entered = true;
		if (r->db->ops->enter(r->db, e) < 0)
			return -1;
	}
	if (mb_guard_arm(&r->guard, mounts, n, (int)r->opt->freeze_timeout, e) < 0)
		return -1;
	r->window_start_ms = mb_now_ms();
	r->in_window = true;
	if (r->quiesce->ops->enter(r->quiesce, e) < 0)
		return -1;
	snprintf(r->detail, sizeof(r->detail), "%sfroze %zu filesystem(s): '%.400s'%s",
		 r->db ? "database bracket entered, " : "", n, r->mount.mountpoint,
		 n > 1 ? " and more" : "");
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
	if (mb_recheck(&r->set, r->premap_started, &r->recheck, e) < 0)
		return -1;
	snprintf(r->detail, sizeof(r->detail),
		 "%llu changed, %llu added, %llu removed, %llu dirs re-read",
		 (unsigned long long)r->recheck.changed, (unsigned long long)r->recheck.added,
		 (unsigned long long)r->recheck.removed, (unsigned long long)r->recheck.dirs_reread);
	return 0;
}

/* Thaws and disarms the guard; used by P6 and by every failure inside the
 * window.  A guard that fired first means the split cannot be trusted. */
static int leave_window(struct mb_run *r, struct mb_error *e)
{
	bool fired = false;
	int rc = 0;

	if (!r->in_window)
		return 0;
	if (r->quiesce && r->quiesce->ops->leave(r->quiesce, e) < 0)
		rc = -1;
	r->window_end_ms = mb_now_ms();
	r->in_window = false;
	if (mb_guard_disarm(&r->guard, &fired, e) < 0) {
		mb_hint(e, "the window took longer than --freeze-timeout (%ld s)",
			r->opt->freeze_timeout);
		rc = -1;
	}
	return rc;
}

/* Ends the database's bracket (pg_backup_stop on the session that
 * started it); on every path once entered, idempotent. */
static int leave_db(struct mb_run *r, struct mb_error *e)
{
	if (!r->db_entered)
		return 0;
	r->db_entered = false;
	r->db_end_ms = mb_now_ms();
	return r->db->ops->leave(r->db, e);
}

/* P6: the window closes, then the database leaves backup mode. */
static int step_unquiesce(struct mb_run *r, struct mb_error *e)
{
	long long window;

	if (leave_window(r, e) < 0 || leave_db(r, e) < 0)
		return -1;
	window = r->window_end_ms - r->window_start_ms;
	if (r->db)
		snprintf(r->detail, sizeof(r->detail), "window %lld ms, database bracket %lld ms",
			 window, r->db_end_ms - r->db_start_ms);
	else
		snprintf(r->detail, sizeof(r->detail), "window %lld ms", window);
	return mb_catalog_run_set_window(r->catalog, r->id, window, e);
}

/* The entries of the image, in logical order (the set's order). */
static struct mb_entry **set_pointers(struct mb_set *set)
{
	struct mb_entry **v = calloc(set->n ? set->n : 1, sizeof(*v));

	for (size_t i = 0; v && i < set->n; i++)
		v[i] = &set->v[i];
	return v;
}

/* Files whose extents cannot be trusted are read through a read-only
 * mount of the split leg, made only when there is such a file. */
static int mount_split_if_needed(struct mb_run *r, struct mb_error *e)
{
	char *copy;

	r->via_fs_files = 0;
	for (size_t i = 0; i < r->set.n; i++)
		r->via_fs_files += r->set.v[i].type == MB_T_FILE && r->set.v[i].read_via_fs;
	if (r->via_fs_files == 0)
		return 0;
	copy = strdup(r->opt->catalog);
	if (!copy || asprintf(&r->split_mount, "%s/split-%lld", dirname(copy),
			      (long long)r->id) < 0) {
		free(copy);
		r->split_mount = NULL;
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to name the split mount");
	}
	free(copy);
	if (mb_obl_take(&r->obl, "mount", "mount", r->split_mount, mb_split_unmount,
			&r->mount_handle, e) < 0)
		return -1;
	mb_info("mounting the split leg read-only at '%s' for %llu file(s) read through the filesystem",
		r->split_mount, (unsigned long long)r->via_fs_files);
	return mb_split_mount(r->mirror->split_path, r->mirror->split_offset, r->mount.fstype,
			      r->split_mount, e);
}

/* Between files while streaming: the safe point for signals and the
 * mid-stream fault. */
struct stream_ctx {
	struct mb_extent_reader *reader;
	uint64_t files;
};

/* A file whose bytes are in memory or on a live filesystem, not on the
 * split leg (backup_label, WAL copied after the backup's end). */
static int stream_other(const struct mb_entry *ent, mb_emit_fn emit, void *emit_arg,
			struct mb_error *e)
{
	static char buf[1 << 20];
	uint64_t pos = ent->seg_offset, left = ent->seg_length;
	int fd, rc = 0;

	if (ent->content)
		return emit(emit_arg, ent->content + pos, left, e);
	fd = open(ent->live_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return mb_fail(e, MB_ERR_IO, errno, "unable to open '%s'", ent->live_path);
	while (rc == 0 && left > 0) {
		ssize_t n = pread(fd, buf, left < sizeof(buf) ? left : sizeof(buf), (off_t)pos);

		if (n <= 0)
			rc = mb_fail(e, MB_ERR_IO, n < 0 ? errno : 0, "unable to read '%s' at %llu",
				     ent->live_path, (unsigned long long)pos);
		else
			rc = emit(emit_arg, buf, (size_t)n, e);
		pos += n > 0 ? (uint64_t)n : 0;
		left -= n > 0 ? (uint64_t)n : 0;
	}
	close(fd);
	return rc;
}

static int stream_file(void *arg, const struct mb_entry *ent, mb_emit_fn emit,
		       void *emit_arg, struct mb_error *e)
{
	struct stream_ctx *s = arg;

	if (s->files++ == 1 && mb_fault("mid-stream", e) < 0)
		return -1;
	if (mb_signal_check(e) < 0)
		return -1;
	if (ent->content || ent->live_path)
		return stream_other(ent, emit, emit_arg, e);
	return mb_extent_read(s->reader, ent, emit, emit_arg, e);
}

/* Paths in the set are relative to the source, which sits somewhere below
 * the mountpoint: the same place below the split leg's mount. */
static int set_fs_root(struct mb_run *r, struct mb_extent_reader *reader,
		       struct mb_error *e)
{
	const char *below = r->source + strlen(r->mount.mountpoint);
	char *root;

	if (strcmp(r->mount.mountpoint, "/") == 0)
		below = r->source;
	if (asprintf(&root, "%s%s", r->split_mount, below) < 0)
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to name the split mount");
	mb_extent_reader_set_fs_root(reader, root);
	free(root);
	return 0;
}

static void image_meta(struct mb_run *r, struct mb_image_meta *meta)
{
	memset(meta, 0, sizeof(*meta));
	snprintf(meta->backup_id, sizeof(meta->backup_id), "%lld", (long long)r->id);
	meta->created = time(NULL);
	snprintf(meta->source, sizeof(meta->source), "%.200s on %.100s (%.30s)",
		 r->source, r->mount.source, r->mount.fstype);
	meta->record_size = r->sink && r->sink->record_size ? r->sink->record_size
						       : MB_IMAGE_DEFAULT_RECORD;
	meta->device_index = 1;
	meta->device_count = 1;
}

/* P7: lay the image out (offsets exact before any byte is written), store
 * the final map, stream every file from the split leg. */
static int step_stream(struct mb_run *r, struct mb_error *e)
{
	struct stream_ctx s = { 0 };
	struct mb_image_meta meta;
	struct mb_entry **v;
	int rc = -1;

	/* The cluster's own rules: what to leave out, what to add. */
	if (r->db) {
		mb_pg_run_filter(r);
		if (mb_pg_run_artifacts(r, e) < 0 || mb_pg_run_manifest(r, e) < 0)
			return -1;
	}
	v = set_pointers(&r->set);
	if (!v)
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to lay out the image");
	image_meta(r, &meta);
	if (mb_image_layout(v, r->set.n, &meta, &r->layout, e) < 0 ||
	    mb_catalog_save_set(r->catalog, r->id, v, r->set.n, e) < 0 ||
	    mount_split_if_needed(r, e) < 0 ||
	    mb_extent_reader_open(&s.reader, r->mirror->split_path, r->mirror->split_offset, e) < 0)
		goto out;
	if ((r->split_mount && set_fs_root(r, s.reader, e) < 0) ||
	    mb_extent_reader_plan(s.reader, v, r->set.n, e) < 0)
		goto out;
	if (mb_image_write(r->sink, &r->layout, stream_file, &s, &r->image, e) < 0)
		goto out;
	snprintf(r->detail, sizeof(r->detail), "%llu bytes of image, %llu file bytes, %llu via the filesystem",
		 (unsigned long long)r->image.bytes, (unsigned long long)r->image.file_bytes,
		 (unsigned long long)r->via_fs_files);
	rc = 0;
out:
	mb_extent_reader_close(s.reader);
	free(v);
	return rc;
}

/* A tape sink says where the image went (tape label, volume, file,
 * record size); the catalog keeps it with each member's starting record. */
static int record_tape(struct mb_run *r, const char *spec, struct mb_error *e)
{
	struct mb_catalog_tape_part parts[MB_TAPE_MAX_VOLUMES];
	struct mb_tape_info ti;

	if (!spec || strncmp(spec, "tape:", 5) != 0 || !mb_tape_last_info(&ti))
		return 0;
	for (size_t i = 0; i < ti.n_parts; i++)
		parts[i] = (struct mb_catalog_tape_part){ ti.part[i].label, ti.part[i].volume,
							  ti.part[i].file_no, ti.part[i].first_byte };
	return mb_catalog_tape_add(r->catalog, r->id, 1, ti.record_size, parts, ti.n_parts, e);
}

/* P8: the image is complete and durable before the run is marked good;
 * then the split leg goes back (or stays, with --keep-split). */
static int step_finish(struct mb_run *r, struct mb_error *e)
{
	const char *media = r->sink->spec;
	char *spec = strdup(media);
	uint64_t bytes = r->sink->bytes;
	int rc;

	rc = mb_sink_close(r->sink, e);
	r->sink = NULL;
	if (rc == 0 && r->media_handle >= 0)
		rc = mb_obl_done(&r->obl, r->media_handle, e);
	if (rc == 0)
		rc = mb_catalog_image_add(r->catalog, r->id, 1, spec, bytes, "complete", e);
	if (rc == 0)
		rc = record_tape(r, spec, e);
	free(spec);
	if (rc == 0 && r->split_mount)
		rc = mb_obl_release(&r->obl, r->mount_handle, e);
	for (int i = 0; rc == 0 && i < r->n_legs; i++)
		rc = r->opt->keep_split ? mb_obl_keep(&r->obl, r->legs[i].split_handle, e)
					: mb_obl_release(&r->obl, r->legs[i].split_handle, e);
	if (rc == 0)
		rc = mb_catalog_run_set_totals(r->catalog, r->id, r->premap.files + r->recheck.added,
					       r->image.file_bytes, e);
	return rc;
}

/* Every failure path: thaw first, then undo the rest newest-first. */
static void abort_run(struct mb_run *r, struct mb_error *e)
{
	if (r->in_window && leave_window(r, e) < 0)
		mb_error_log("unable to leave the window cleanly; the guard thaws at its deadline");
	if (r->db_entered && leave_db(r, NULL) < 0)
		mb_error_log("unable to end the database's backup mode; closing its session ends it");
	if (r->catalog && r->n_notes)
		flush_notes(r, NULL);
	if (r->guard.sock >= 0 && r->guard.pid > 0) {
		bool fired;

		mb_guard_disarm(&r->guard, &fired, NULL);
	}
	mb_sink_abort(r->sink);
	r->sink = NULL;
	if (r->obl_ready)
		mb_obl_unwind(&r->obl, NULL);
}

static void end_run(struct mb_run *r, int rc, struct mb_error *e)
{
	if (!r->catalog)
		return;
	if (mb_catalog_run_end(r->catalog, r->id, rc ? "failed" : "complete",
			       rc ? e->code : 0, rc ? e->msg : NULL, rc ? NULL : e) < 0 && rc == 0)
		mb_error_log("unable to mark run %lld complete: %s", (long long)r->id, e->msg);
}

static void free_run(struct mb_run *r)
{
	mb_quiesce_close(r->quiesce);
	mb_quiesce_close(r->db);	/* drops the session and its temporary slot */
	for (int i = 0; i < r->n_legs; i++)
		mb_mirror_close(r->legs[i].mirror);
	mb_image_layout_free(&r->layout);
	mb_set_free(&r->set);
	if (r->obl_ready)
		mb_obl_free(&r->obl);
	mb_catalog_close(r->catalog);
	if (r->lock_fd >= 0)
		mb_lock_release(r->lock_fd);
	free(r->split_mount);
	free(r->source);
}

static void report(struct mb_run *r)
{
	if (r->check_only) {
		printf("check: ok: %s\n", r->detail);
		return;
	}
	mb_info("backup %lld complete: %llu files, %llu bytes, window %lld ms, image %s",
		(long long)r->id, (unsigned long long)(r->premap.files + r->recheck.added),
		(unsigned long long)r->image.file_bytes, r->window_end_ms - r->window_start_ms,
		r->opt->media.v[0]);
}

int mb_backup(const struct mb_options *opt, bool check_only, struct mb_error *e)
{
	struct mb_run r = { .opt = opt, .check_only = check_only, .lock_fd = -1,
			    .mount_handle = -1, .media_handle = -1,
			    .guard = { .pid = -1, .sock = -1 } };
	int rc;

	/* P0: options, the source on its mirror, locations, catalog, lock,
	 * leftovers of a dead run, the media. */
	rc = run_phase(&r, "preflight", "after-preflight", mb_preflight, e);
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
	/* P8: image complete and durable, leg merged back. */
	if (rc == 0)
		rc = run_phase(&r, "finish", NULL, step_finish, e);
out:
	if (rc < 0)
		abort_run(&r, e);
	end_run(&r, rc, e);
	if (rc == 0)
		report(&r);
	free_run(&r);
	return rc;
}
