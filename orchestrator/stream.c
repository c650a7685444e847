/*
 * P7 stream and the media side of P8: the split leg read by extent into
 * one image per device (image/multi.c plans the items and writes the
 * devices concurrently, each with a reader of its own; a single image is
 * a set of one, written without a thread).  Files whose extents cannot be
 * trusted are read through a read-only mount of the split leg, made only
 * when needed.
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
#include "common/range.h"
#include "image/multi.h"
#include "orchestrator/incremental.h"
#include "orchestrator/mount_split.h"
#include "orchestrator/order_file.h"
#include "orchestrator/progress.h"
#include "orchestrator/publish.h"
#include "orchestrator/pace.h"
#include "orchestrator/signals.h"

#define OTHER_BUF (1u << 20)

/* One reader of the split leg: the data callback's argument. */
struct stream_ctx {
	struct mb_run *run;	/* its leg counts are summed into */
	struct mb_extent_reader *reader;
	struct mb_progress *progress;
	struct mb_incr *incr;	/* block maps and increments (incremental.h) */
	uint64_t files;
	char *buf;		/* for files not on the split leg */
	struct mb_pace *pace;	/* the run's, shared by every reader */
	int saved_ioprio;	/* this thread's before the stream, -1: kept */
	struct mb_mirror *discard;	/* told of each file streamed, NULL: none */
};

/* The entries of the image, in the set's (logical) order. */
static struct mb_entry **set_pointers(struct mb_set *set)
{
	struct mb_entry **v = calloc(set->n ? set->n : 1, sizeof(*v));

	for (size_t i = 0; v && i < set->n; i++)
		v[i] = &set->v[i];
	return v;
}

/* --order-file: v in its order (an incremental keeps its own: the
 * manifest first, and it reads the leg twice, so no discard-behind). */
static int apply_order_file(const struct mb_run *r, struct mb_entry **v, struct mb_error *e)
{
	struct mb_order_file of;
	size_t moved;
	int rc;

	if (!r->opt->order_file || r->opt->incremental)
		return 0;
	if (mb_order_file_load(r->opt->order_file, &of, e) < 0)
		return -1;
	rc = mb_order_file_apply(&of, v, r->set.n, &moved, e);
	if (rc == 0)
		mb_info("order file '%s': %zu file(s) streamed first, in its order", of.path, moved);
	mb_order_file_free(&of);
	return rc;
}

static int mount_split_if_needed(struct mb_run *r, struct mb_error *e)
{
	char *copy;

	if (r->split_mount)	/* (an incremental's pre-pass mounted it) */
		return 0;
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

/* A file whose bytes are in memory or on a live filesystem, not on the
 * split leg (backup_label, WAL copied after the backup's end), read in
 * pieces of ~20 ms of the run's pace. */
static int stream_other(struct stream_ctx *s, const struct mb_entry *ent, mb_emit_fn emit,
			void *emit_arg, struct mb_error *e)
{
	uint64_t pos = ent->seg_offset, left = ent->seg_length;

	if (mb_entry_content(ent))
		return emit(emit_arg, mb_entry_content(ent) + pos, left, e);
	if (!s->buf && !(s->buf = malloc(OTHER_BUF)))
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to read '%s'", mb_entry_live_path(ent));
	return mb_read_range_pieces(mb_entry_live_path(ent), pos, left, s->buf, OTHER_BUF, mb_pace_piece,
				    s->pace, emit, emit_arg, e);
}

/* A file off the split leg, in pieces the run's pace allows (--max-rate,
 * --yield): each piece is a segment of the entry read on its own. */
static int stream_paced(struct stream_ctx *s, const struct mb_entry *ent, mb_emit_fn emit,
			void *emit_arg, struct mb_error *e)
{
	struct mb_entry part = *ent;
	uint64_t pos = ent->seg_offset, left = ent->seg_length;

	if (left == 0 && ent->size > 0)	/* an entry never segmented */
		left = ent->size;
	if (!mb_pace_active(s->pace) || ent->type != MB_T_FILE || left == 0)
		return mb_extent_read(s->reader, ent, emit, emit_arg, e);
	while (left > 0) {
		uint64_t n = mb_pace_chunk(s->pace, left);

		if (mb_pace_take(s->pace, n, mb_signal_check, e) < 0)
			return -1;
		part.seg_offset = pos;
		part.seg_length = n;
		if (mb_extent_read(s->reader, &part, emit, emit_arg, e) < 0)
			return -1;
		pos += n;
		left -= n;
	}
	return 0;
}

/* A file's bytes (ent's segment) from wherever they are. */
static int stream_bytes(void *arg, const struct mb_entry *ent, mb_emit_fn emit,
			void *emit_arg, struct mb_error *e)
{
	struct stream_ctx *s = arg;

	if (mb_entry_content(ent) || mb_entry_live_path(ent))
		return stream_other(s, ent, emit, emit_arg, e);
	return stream_paced(s, ent, emit, emit_arg, e);
}

/* Appends the split leg's ranges of ent (none for a file whose bytes
 * come from elsewhere) to *v (n used, cap allocated). */
static int entry_ranges(const struct mb_mirror *m, const struct mb_entry *ent,
			struct mb_mirror_range **v, size_t *n, size_t *cap, struct mb_error *e)
{
	if (ent->type != MB_T_FILE || mb_entry_content(ent) || mb_entry_live_path(ent))
		return 0;
	for (size_t i = 0; i < ent->n_extents; i++) {
		if (*n == *cap) {
			size_t c = *cap ? 2 * *cap : 64;
			struct mb_mirror_range *nv = realloc(*v, c * sizeof(*nv));

			if (!nv)
				return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to plan the discards");
			*v = nv;
			*cap = c;
		}
		(*v)[(*n)++] = (struct mb_mirror_range){ ent->extents[i].physical + m->split_offset,
							 ent->extents[i].length };
	}
	return 0;
}

/* Discard-behind: ent is written to the media, its ranges may go. */
static int streamed(struct mb_mirror *m, const struct mb_entry *ent, struct mb_error *e)
{
	struct mb_mirror_range *v = NULL;
	size_t n = 0, cap = 0;
	int rc = entry_ranges(m, ent, &v, &n, &cap, e);

	if (rc == 0 && n > 0)
		rc = m->ops->streamed(m, v, n, e);
	free(v);
	return rc;
}

/* The data callback; between files is the safe point for signals and
 * the mid-stream fault. */
static int stream_file(void *arg, const struct mb_entry *ent, mb_emit_fn emit,
		       void *emit_arg, struct mb_error *e)
{
	struct stream_ctx *s = arg;
	struct mb_tap counted;

	if (s->files++ == 1 && mb_fault("mid-stream", e) < 0)
		return -1;
	if (mb_signal_check(e) < 0)
		return -1;
	mb_progress_add(s->progress, 0, ent->path);
	if (s->progress) {	/* a tap: the reader still fills the writer's buffer */
		mb_progress_tap(&counted, s->progress, emit, emit_arg);
		emit_arg = &counted;
		emit = mb_tap_emit;
	}
	if ((s->incr ? mb_incr_data(s->incr, ent, stream_bytes, s, emit, emit_arg, e)
		     : stream_bytes(s, ent, emit, emit_arg, e)) < 0)
		return -1;
	return s->discard ? streamed(s->discard, ent, e) : 0;
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

static void ctx_close(struct stream_ctx *s)
{
	if (!s)
		return;
	if (s->reader) {
		__atomic_add_fetch(&s->run->leg.read, mb_extent_reader_bytes(s->reader),
				   __ATOMIC_RELAXED);
		__atomic_add_fetch(&s->run->leg.direct, mb_extent_reader_direct_bytes(s->reader),
				   __ATOMIC_RELAXED);
		__atomic_add_fetch(&s->run->leg.copied, mb_extent_reader_copied_bytes(s->reader),
				   __ATOMIC_RELAXED);
	}
	mb_extent_reader_close(s->reader);
	mb_pace_ioprio_restore(s->saved_ioprio);
	free(s->buf);
	free(s);
}

/* A reader of the split leg that will read entries v in this order. */
static int ctx_open(struct mb_run *r, struct mb_pace *pace, struct mb_entry *const *v,
		    size_t n, struct stream_ctx **out, struct mb_error *e)
{
	struct stream_ctx *s = calloc(1, sizeof(*s));

	*out = NULL;
	if (!s)
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to read the split leg");
	s->run = r;
	s->incr = r->incr;
	s->pace = pace;
	/* before the reader's read-ahead thread starts: it inherits it */
	mb_pace_ioprio_enter(s->pace, &s->saved_ioprio);
	if (mb_extent_reader_open(&s->reader, r->mirror->split_path, r->mirror->split_offset, e) < 0 ||
	    (r->split_mount && set_fs_root(r, s->reader, e) < 0) ||
	    mb_extent_reader_plan(s->reader, v, n, e) < 0) {
		ctx_close(s);
		return -1;
	}
	*out = s;
	return 0;
}

static void image_meta(struct mb_run *r, uint32_t rs, struct mb_image_meta *meta)
{
	memset(meta, 0, sizeof(*meta));
	snprintf(meta->backup_id, sizeof(meta->backup_id), "%lld", (long long)r->id);
	meta->created = time(NULL);
	snprintf(meta->source, sizeof(meta->source), "%.200s on %.100s (%.30s)",
		 r->source, r->mount.source, r->mount.fstype);
	/* A tape writes fixed records: every image of the set is padded to them. */
	meta->record_size = rs ? rs : MB_IMAGE_DEFAULT_RECORD;
	meta->device_index = 1;
	meta->device_count = (uint32_t)r->n_sinks;
}

/* The multi writer's per-device source: a reader of its own. */
struct multi_src {
	struct mb_run *r;
	struct mb_entry **v;	/* the set, in image order (logical or --order-file) */
	struct mb_progress *progress;
	struct mb_pace *pace;
	struct mb_mirror *discard;	/* discard-behind: the leg to tell */
};

static int multi_open(void *arg, uint32_t device, struct mb_entry *const *v, size_t n,
		      mb_data_fn *fn, void **fn_arg, struct mb_error *e)
{
	struct multi_src *m = arg;
	struct stream_ctx *s;

	if (ctx_open(m->r, m->pace, v, n, &s, e) < 0)
		return -1;
	s->progress = m->progress;
	s->discard = m->discard;
	*fn = stream_file;
	*fn_arg = s;
	return 0;
}

static void multi_close(void *arg, uint32_t device, void *fn_arg)
{
	ctx_close(fn_arg);
}

/* Before any byte is written: the set goes to the catalog (on one device
 * with each entry's image offset, as its image holds the set in order),
 * and the split leg is mounted if some file must be read through it. */
static int multi_laid_out(void *arg, uint32_t device, struct mb_entry *const *v, size_t n,
			  struct mb_error *e)
{
	struct multi_src *m = arg;
	struct mb_run *r = m->r;

	if (r->n_sinks == 1) {
		if (n != r->set.n)
			return mb_fail(e, MB_ERR_INTERNAL, 0, "image of %zu entries for a set of %zu",
				       n, r->set.n);
		for (size_t i = 0; i < n; i++)
			m->v[i]->image_offset = v[i]->image_offset;
	}
	if (device > 1)
		return 0;
	if (mb_catalog_save_set(r->catalog, r->id, m->v, r->set.n, e) < 0)
		return -1;
	return mount_split_if_needed(r, e);
}

static int save_placements(struct mb_run *r, const struct mb_multi_plan *plan,
			   struct mb_error *e)
{
	struct mb_placement *v = calloc(plan->n_items ? plan->n_items : 1, sizeof(*v));
	int rc;

	if (!v)
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to record the placements");
	for (size_t i = 0; i < plan->n_items; i++) {
		const struct mb_multi_item *it = &plan->items[i];

		v[i] = (struct mb_placement){ plan->entries[it->entry]->path, it->seg_offset,
					      it->seg_length, it->image_offset, it->planned,
					      it->device, it->part };
	}
	rc = mb_catalog_save_placements(r->catalog, r->id, v, plan->n_items, e);
	free(v);
	return rc;
}

/* The set's record size: a medium of fixed records (a tape) sets it; a
 * file, a pipe or an object takes any, so a tape and a pipe share the
 * tape's.  Two different fixed sizes cannot share the set's layout. */
static int set_record_size(const struct mb_run *r, uint32_t *rs, struct mb_error *e)
{
	int first = -1;

	*rs = 0;
	for (int k = 0; k < r->n_sinks; k++) {
		uint32_t one = r->sinks[k]->record_size;

		if (!one)
			continue;
		if (first >= 0 && one != *rs) {
			mb_fail(e, MB_ERR_USAGE, 0, "media '%s' and '%s' need different record sizes "
				"(%u and %u bytes)", r->sinks[first]->spec, r->sinks[k]->spec, *rs, one);
			mb_hint(e, "several devices must share one record size (--block-size for tapes)");
			return -1;
		}
		first = first < 0 ? k : first;
		*rs = one;
	}
	return 0;
}

int mb_stream_check_media(const struct mb_run *r, struct mb_error *e)
{
	uint32_t rs;

	return set_record_size(r, &rs, e);
}

/* Plan, write (concurrently when several), fail over; record where every
 * item landed (several devices) and which device failed. */
static int stream_set(struct mb_run *r, struct mb_entry **v, const struct mb_image_meta *meta,
		      struct mb_pace *pace, struct mb_mirror *discard, struct mb_error *e)
{
	struct mb_multi_device dev[MB_MAX_MEDIA] = { 0 };
	struct mb_multi_opts mo = { .meta = *meta };
	struct multi_src ms = { r, v, NULL, pace, discard };
	struct mb_multi_source src = { multi_open, multi_close, multi_laid_out, &ms };
	struct mb_multi_plan plan = { 0 };
	enum mb_multi_order order = MB_ORDER_DESC;
	int rc = -1;

	if (r->n_sinks > 1)
		mb_multi_order_parse(r->opt->order, &order);
	for (int k = 0; k < r->n_sinks; k++) {
		dev[k].out = mb_sink_output(r->sinks[k]);
		dev[k].name = r->sinks[k]->spec;
	}
	if (r->n_sinks == 1 ? mb_multi_plan_whole(v, r->set.n, &plan) < 0
			    : mb_multi_plan(v, r->set.n, (uint32_t)r->n_sinks,
					    (uint64_t)r->opt->segment_threshold, order, &plan, e) < 0)
		goto out;
	if (r->n_sinks > 1)
		mb_info("%d devices: %zu items, segments up to %llu bytes, planned imbalance %.3f",
			r->n_sinks, plan.n_items, (unsigned long long)plan.threshold,
			mb_multi_imbalance(&plan));
	if (mb_progress_start(&ms.progress, r->opt, "stream", plan.total, e) < 0)
		goto out;
	rc = mb_multi_write(&plan, dev, &mo, &src, e);
	mb_progress_end(ms.progress, rc == 0);
	if (rc < 0)
		goto out;
	rc = -1;
	for (int k = 0; k < r->n_sinks; k++) {
		r->image_status[k] = dev[k].failed ? "failed" : "complete";
		r->image.bytes += dev[k].bytes;
		r->image.file_bytes += dev[k].file_bytes;
		if (dev[k].failed)	/* (the message names the device) */
			mb_warn("%s; its items went to the others", dev[k].err.msg);
	}
	rc = r->n_sinks > 1 ? save_placements(r, &plan, e) : 0;
out:
	mb_multi_plan_free(&plan);
	return rc;
}

/* Block maps, and with --incremental the pre-pass that puts the
 * increment's entries in r->set (orchestrator/incremental.c).  The
 * pre-pass reads the whole split leg: it takes from the run's pace like
 * the stream (after the window either way). */
static int prepare_increment(struct mb_run *r, struct mb_pace *pace, struct mb_error *e)
{
	struct multi_src ms = { r, NULL, NULL, pace, NULL };
	struct mb_multi_source src = { multi_open, multi_close, NULL, &ms };

	if (r->opt->incremental && mount_split_if_needed(r, e) < 0)
		return -1;
	return mb_incr_prepare(r, &src, e);
}

/* Why the stream cannot let the leg's blocks go behind it, NULL if it
 * can: it must read nothing of the leg but the planned ranges, once. */
static const char *no_discard_behind(const struct mb_run *r)
{
	if (r->n_sinks > 1)
		return "several devices (a failed one's files are read again)";
	if (r->opt->incremental)
		return "an incremental (the leg is read twice)";
	if (r->split_mount)
		return "the split leg is mounted";
	for (size_t i = 0; i < r->set.n; i++)
		if (r->set.v[i].type == MB_T_FILE && r->set.v[i].read_via_fs)
			return "a file is read through a mount of the split leg";
	return NULL;
}

/* Discard-behind, where the leg's driver offers it (a thin snapshot)
 * and --discard-behind is auto: every range the stream will read goes
 * to stream_plan; *out is the leg to tell of each file streamed. */
static int discard_plan(struct mb_run *r, struct mb_mirror **out, struct mb_error *e)
{
	struct mb_mirror *m = r->mirror;
	struct mb_mirror_range *v = NULL;
	size_t n = 0, cap = 0;
	const char *why;
	int rc = 0;

	*out = NULL;
	if (!m->ops->stream_plan || !m->ops->streamed || strcmp(r->opt->discard_behind, "off") == 0)
		return 0;
	if ((why = no_discard_behind(r))) {
		mb_info("no discard-behind on '%s': %s", m->spec, why);
		return 0;
	}
	for (size_t i = 0; rc == 0 && i < r->set.n; i++)
		rc = entry_ranges(m, &r->set.v[i], &v, &n, &cap, e);
	if (rc == 0 && (rc = m->ops->stream_plan(m, v, n, e)) == 0)
		*out = m;
	free(v);
	return rc;
}

int mb_stream(struct mb_run *r, struct mb_error *e)
{
	struct mb_image_meta meta;
	struct mb_entry **v = NULL;
	struct mb_pace pace;
	struct mb_pace_stats ps;
	struct mb_mirror *discard = NULL;
	uint32_t rs;
	int rc;

	if (set_record_size(r, &rs, e) < 0 ||
	    mb_pace_start(&pace, r->opt, r->source_dev, "stream", e) < 0)
		return -1;
	rc = prepare_increment(r, &pace, e);
	if (rc == 0 && !(v = set_pointers(&r->set)))
		rc = mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to lay out the image");
	if (rc == 0)
		rc = apply_order_file(r, v, e);
	if (rc == 0) {
		image_meta(r, rs, &meta);
		rc = discard_plan(r, &discard, e);
		if (rc == 0)
			rc = stream_set(r, v, &meta, &pace, discard, e);
	}
	free(v);
	mb_pace_stop(&pace, &ps);
	if (rc == 0)
		rc = mb_pace_record(r, &pace, &ps, e);
	return rc;
}

/* A medium with positions (a tape) says where the image went (label,
 * volume, file, record size); the catalog keeps it with each member's
 * starting record. */
static int record_position(struct mb_run *r, int k, const struct mb_media_position *pos,
			   struct mb_error *e)
{
	struct mb_catalog_tape_part parts[MB_MEDIA_MAX_VOLUMES];

	/* One tape device a run: the catalog's tape members are computed
	 * from the set's image offsets, which only a single image has. */
	if (pos->n_parts == 0 || r->n_sinks != 1)
		return 0;
	for (size_t i = 0; i < pos->n_parts; i++)
		parts[i] = (struct mb_catalog_tape_part){ pos->part[i].label, pos->part[i].volume,
							  pos->part[i].file_no, pos->part[i].first_byte };
	return mb_catalog_tape_add(r->catalog, r->id, k + 1, pos->record_size, parts,
				   pos->n_parts, e);
}

/* A medium whose close puts the image under its name (s3's completion):
 * that is a publish obligation too, recorded before, from the text the
 * driver gives; none for a medium without names. */
static int take_publication(struct mb_run *r, struct mb_sink *driver, struct mb_error *e)
{
	char *what = NULL;
	int handle, rc;

	if (!driver->ops->publication)
		return 0;
	if (driver->ops->publication(driver, &what, e) < 0)
		return -1;
	rc = mb_obl_take(&r->obl, "publish", driver->ops->name, what, driver->ops->unpublish,
			 &handle, e);
	free(what);
	return rc;
}

/* A good file image goes under its final name: the publish obligation
 * first (publish.h), then the close (fsync, rename), then the directory
 * flushed, so the rename is durable before the run can be marked
 * complete; the .partial obligation is then void. */
static int close_published(struct mb_run *r, int k, struct mb_media_position *pos,
			   struct mb_error *e)
{
	struct mb_sink *s = r->sinks[k], *driver = s;
	int h = r->media_handle[k];
	char *final;
	int rc;

	while (driver->next)		/* under the filters: the driver's sink */
		driver = driver->next;
	final = driver->path ? strdup(driver->path) : NULL;

	if (h < 0)
		return mb_sink_close(s, pos, e);
	if (!driver->ops->dir) {	/* no name to rename to (s3): the close publishes */
		free(final);
		rc = take_publication(r, driver, e);
		if (rc == 0)
			rc = mb_sink_close(s, pos, e);
		else
			mb_sink_abort(s);
		return rc == 0 ? mb_obl_release(&r->obl, h, e) : rc;
	}
	if (!final) {
		mb_sink_abort(s);
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to name the image '%s'",
			       r->obl.v[h].arg);
	}
	rc = mb_publish_take(&r->obl, driver->ops->name, r->obl.v[h].arg, final, e);
	if (rc == 0)
		rc = mb_sink_close(s, pos, e);
	else
		mb_sink_abort(s);
	if (rc == 0)
		rc = mb_publish_sync_dir(final, e);
	if (rc == 0)
		rc = mb_obl_release(&r->obl, h, e);
	free(final);
	return rc;
}

/* P8, the media side, the last act before the run is marked complete:
 * every good image closed (made durable, renamed into place) and
 * recorded; a failed device's image is dropped and recorded as failed. */
int mb_stream_close_media(struct mb_run *r, struct mb_error *e)
{
	struct mb_media_position pos;
	int rc = 0;

	for (int k = 0; k < r->n_sinks; k++) {
		struct mb_sink *s = r->sinks[k];
		const char *status = r->image_status[k] ? r->image_status[k] : "failed";
		char *spec = strdup(s->spec);
		uint64_t bytes = s->bytes;

		pos.n_parts = 0;
		pos.compressed_bytes = 0;
		/* After a failure the rest are dropped: the run fails anyway. */
		if (rc == 0 && strcmp(status, "complete") == 0)
			rc = close_published(r, k, &pos, e);
		else
			mb_sink_abort(s);
		r->sinks[k] = NULL;
		if (rc == 0 && strcmp(status, "complete") != 0 && r->media_handle[k] >= 0)
			rc = mb_obl_release(&r->obl, r->media_handle[k], e);
		if (rc == 0)
			rc = mb_catalog_image_add(r->catalog, r->id, k + 1, spec ? spec : "?",
						  bytes, status, e);
		if (rc == 0 && strcmp(status, "complete") == 0)
			rc = record_position(r, k, &pos, e);
		if (rc == 0 && strcmp(status, "complete") == 0 && pos.compressed_bytes)
			rc = mb_catalog_image_set_compressed(r->catalog, r->id, k + 1,
							     pos.compressed_bytes, e);
		free(spec);
	}
	return rc == 0 ? mb_incr_record(r, e) : rc;
}
