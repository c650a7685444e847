/*
 * `mbackup consolidate --backup ID --media file:PATH [--force]`: the point
 * of incremental backup ID as one whole image (a new backup C, kind
 * consolidated, PATH), and the point of its base as a backward increment
 * on C (a new backup, PATH.back-<base>), so the newest point restores from
 * one image and the older one is one step away.  Production is not
 * touched: both points are restored (through their chains, every checksum
 * checked: damaged inputs are refused before anything is written) into a
 * work directory beside PATH, then written out.  Nothing old is replaced
 * or removed.  The work directory and the images being written are
 * obligations: after a crash `mbackup recover` removes them and marks the
 * runs failed, and every point restores as before.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/range.h"
#include "extentmap/extentmap.h"
#include "image/image.h"
#include "orchestrator/catalog_incr.h"
#include "orchestrator/commands.h"
#include "orchestrator/incr_apply.h"
#include "orchestrator/incremental.h"
#include "orchestrator/lock.h"
#include "orchestrator/obligations.h"
#include "orchestrator/restore_chain.h"
#include "orchestrator/run.h"
#include "orchestrator/signals.h"
#include "plugins/media/media.h"

#define LIVE_BUF (1u << 20)

struct cons {
	const struct mb_options *opt;
	struct mb_catalog *cat;
	int lock_fd;
	struct mb_obligations obl;
	bool obl_ready;
	struct mb_backup_rec rec;	/* the point consolidated */
	int64_t id, base;		/* that point and its base */
	int64_t base_point;		/* the point of the base (a consolidation
					 * holds another backup's) */
	int64_t run, back;		/* the new backups: whole, backward */
	char *spec, *back_spec;		/* file:PATH, file:PATH.back-<base> */
	char *work;			/* the work directory */
	int work_handle;
	uint64_t bytes, back_bytes;
	char *buf;
};

/* ---- the work directory: an obligation of its own ---- */

/* Undo of a "workdir" obligation: the directory and all below it. */
int mb_consolidate_undo(const char *arg, const struct mb_undo_ctx *ctx, struct mb_error *e)
{
	if (mb_rm_tree(AT_FDCWD, arg) < 0)
		return mb_fail(e, MB_ERR_IO, errno, "unable to remove '%s'", arg);
	return 0;
}

static int parse_args(struct cons *c, struct mb_error *e)
{
	const struct mb_options *o = c->opt;
	char *end;

	if (!o->backup || (c->id = strtoll(o->backup, &end, 10)) <= 0 || *end) {
		mb_fail(e, MB_ERR_USAGE, 0, o->backup ? "invalid --backup '%s': expected a backup id"
						      : "missing --backup%s", o->backup ? o->backup : "");
		mb_hint(e, "consolidate --backup ID --media file:PATH (see mbackup list)");
		return -1;
	}
	if (o->media.n != 1 || strncmp(o->media.v[0], "file:", 5) != 0) {
		mb_fail(e, MB_ERR_USAGE, 0, "consolidate writes to one --media file:PATH");
		mb_hint(e, "a consolidation is read back by seeking: give a file");
		return -1;
	}
	c->spec = o->media.v[0];
	return 0;
}

/* The point: a complete incremental; its base is the link before it. */
static int find_point(struct cons *c, struct mb_error *e)
{
	struct mb_backup_rec b;
	char *last;

	if (mb_catalog_backup_get(c->cat, c->id, &c->rec, e) < 0)
		return -1;
	if (strcmp(c->rec.status, "complete") != 0 || strcmp(c->rec.kind, "incremental") != 0 ||
	    c->rec.point_id != c->id) {
		mb_fail(e, MB_ERR_USAGE, 0, "backup %lld is %s %s: only a complete incremental "
			"backup is consolidated", (long long)c->id, c->rec.status, c->rec.kind);
		mb_hint(e, "see mbackup list --output json (kind)");
		return -1;
	}
	last = strrchr(c->rec.chain, ',');
	for (char *p = last ? last - 1 : NULL; p && p >= c->rec.chain && *p != ','; p--)
		c->base = strtoll(p, NULL, 10);
	if (c->base <= 0)
		return mb_fail(e, MB_ERR_CATALOG, 0, "backup %lld has the chain '%s', without a base",
			       (long long)c->id, c->rec.chain);
	if (mb_catalog_backup_get(c->cat, c->base, &b, e) < 0)
		return -1;
	c->base_point = b.point_id;
	mb_backup_rec_free(&b);
	return 0;
}

/* Lock, catalog, leftovers, the point, then the two runs. */
static int begin(struct cons *c, struct mb_error *e)
{
	char *config;
	int undone = 0, rc;

	if (mb_lock_catalog(c->opt->catalog, &c->lock_fd, e) < 0 ||
	    mb_catalog_open(&c->cat, c->opt->catalog, e) < 0 ||
	    mb_recover_locked(c->cat, &(struct mb_undo_ctx){ .s3 = &c->opt->s3 }, &undone, e) < 0 ||
	    find_point(c, e) < 0)
		return -1;
	if (undone)
		mb_warn("recovered %d leftover obligation(s) of a run that died", undone);
	config = mb_options_json(c->opt);
	rc = mb_catalog_run_begin(c->cat, "consolidate", config ? config : "{}", &c->run, e) < 0 ||
	     mb_catalog_run_begin(c->cat, "consolidate", config ? config : "{}", &c->back, e) < 0 ? -1 : 0;
	free(config);
	if (rc < 0)
		return -1;
	mb_obl_init(&c->obl, c->cat, c->run, &(struct mb_undo_ctx){ .s3 = &c->opt->s3 });
	c->obl_ready = true;
	if (asprintf(&c->back_spec, "%s.back-%lld", c->spec, (long long)c->base_point) < 0) {
		c->back_spec = NULL;
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to name the backward increment");
	}
	return 0;
}

/* <dir of PATH>/.mbackup-consolidate-<run>, recorded before it is made. */
static int make_work(struct cons *c, struct mb_error *e)
{
	char *copy = strdup(c->spec + 5);

	if (!copy || asprintf(&c->work, "%s/.mbackup-consolidate-%lld", dirname(copy),
			      (long long)c->run) < 0) {
		free(copy);
		c->work = NULL;
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to name the work directory");
	}
	free(copy);
	if (mb_obl_take(&c->obl, "workdir", "consolidate", c->work, mb_consolidate_undo,
			&c->work_handle, e) < 0)
		return -1;
	if (mkdir(c->work, 0700) < 0)
		return mb_fail(e, MB_ERR_IO, errno, "unable to make '%s'", c->work);
	return 0;
}

/* Point id restored whole into <work>/<name>. */
static int materialise(struct cons *c, int64_t id, const char *name, char **dir,
		       struct mb_error *e)
{
	if (asprintf(dir, "%s/%s", c->work, name) < 0) {
		*dir = NULL;
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to name '%s'", name);
	}
	mb_info("consolidate: restoring backup %lld into '%s'", (long long)id, *dir);
	return mb_restore_chain_to(c->opt, id, *dir, e);
}

/* A file's bytes (its segment) read from the materialised tree (or
 * the manifest's, in memory). */
static int read_live(void *arg, const struct mb_entry *ent, mb_emit_fn emit, void *emit_arg,
		     struct mb_error *e)
{
	struct cons *c = arg;
	uint64_t pos = ent->seg_offset, left = ent->seg_length;

	if (mb_signal_check(e) < 0)
		return -1;
	if (mb_entry_content(ent))	/* the manifest */
		return emit(emit_arg, mb_entry_content(ent) + pos, left, e);
	if (!c->buf && !(c->buf = malloc(LIVE_BUF)))
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to read '%s'", mb_entry_live_path(ent));
	return mb_read_range(mb_entry_live_path(ent), pos, left, c->buf, LIVE_BUF, emit, emit_arg, e);
}

/* The tree at dir as a set whose files are read from it. */
static int tree_set(const char *dir, struct mb_set *set, struct mb_error *e)
{
	if (mb_walk(set, dir, NULL, e) < 0)
		return -1;
	for (size_t i = 0; i < set->n; i++) {
		char *live;

		if (set->v[i].type != MB_T_FILE)
			continue;
		if (asprintf(&live, "%s/%s", set->root, set->v[i].path) < 0 ||
		    mb_entry_set_live_path(&set->v[i], live) < 0)
			return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to read '%s'", dir);
	}
	return 0;
}

/* The incremental's data path for the backward increment. */
struct back_src {
	struct cons *c;
	struct mb_incr *x;
};

static int read_back(void *arg, const struct mb_entry *ent, mb_emit_fn emit, void *emit_arg,
		     struct mb_error *e)
{
	struct back_src *b = arg;

	return mb_incr_data(b->x, ent, read_live, b->c, emit, emit_arg, e);
}

/* One image of set to spec (an obligation until closed), as backup id. */
static int write_image(struct cons *c, const char *spec, struct mb_set *set, int64_t id,
		       const char *what, mb_data_fn fn, void *arg, uint64_t *bytes,
		       struct mb_error *e)
{
	struct mb_image_meta meta = { .record_size = MB_IMAGE_DEFAULT_RECORD, .device_index = 1,
				      .device_count = 1 };
	struct mb_image_layout lay = { 0 };
	struct mb_image_stats st = { 0 };
	struct mb_entry **v = calloc(set->n ? set->n : 1, sizeof(*v));
	const struct mb_media_ops *ops;
	struct mb_media_params p;
	struct mb_sink *sink = NULL;
	struct mb_image_output out;
	char *obl = NULL;
	int handle = -1, rc = -1;

	if (!v)
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to lay out '%s'", spec);
	for (size_t i = 0; i < set->n; i++)
		v[i] = &set->v[i];
	snprintf(meta.backup_id, sizeof(meta.backup_id), "%lld", (long long)id);
	meta.created = time(NULL);
	snprintf(meta.source, sizeof(meta.source), "%s", what);
	if (mb_options_media_params(c->opt, 1, &p, e) < 0 || mb_media_check(spec, &p, e) < 0 ||
	    mb_media_obligation(spec, &ops, &obl, e) < 0 ||
	    (obl && mb_obl_take(&c->obl, "media", ops->name, obl, ops->undo, &handle, e) < 0) ||
	    mb_sink_open(&sink, spec, &p, e) < 0 || mb_image_layout(v, set->n, &meta, &lay, e) < 0)
		goto out;
	out = mb_sink_output(sink);
	if (mb_image_write(&out, &lay, fn, arg, &st, e) < 0)
		goto out;
	rc = mb_sink_close(sink, NULL, e);	/* durable, renamed into place */
	sink = NULL;
	if (rc == 0 && handle >= 0)
		rc = mb_obl_release(&c->obl, handle, e);
	if (rc == 0)
		rc = mb_catalog_image_add(c->cat, id, 1, spec, st.bytes, "complete", e);
	*bytes = st.bytes;
out:
	mb_image_layout_free(&lay);
	if (sink)
		mb_sink_abort(sink);
	free(obl);
	free(v);
	return rc;
}

/* The point's state as one whole image: backup c->run. */
static int write_whole(struct cons *c, const char *dir, struct mb_error *e)
{
	struct mb_set set = { 0 };
	char what[128];
	int rc;

	snprintf(what, sizeof(what), "consolidation of backup %lld", (long long)c->id);
	rc = tree_set(dir, &set, e) < 0 ||
	     write_image(c, c->spec, &set, c->run, what, read_live, c, &c->bytes, e) < 0 ? -1 : 0;
	mb_set_free(&set);
	return rc;
}

/* The base's state as an increment on the whole image: backup c->back. */
static int write_backward(struct cons *c, const char *dir, struct mb_error *e)
{
	struct mb_set state = { 0 }, inc = { 0 };
	struct mb_blockmaps old = { 0 }, cur = { 0 };
	struct back_src b = { c, NULL };
	char what[128];
	int rc = -1;

	snprintf(what, sizeof(what), "backward increment from backup %lld to backup %lld",
		 (long long)c->id, (long long)c->base_point);
	if (tree_set(dir, &state, e) < 0 || mb_catalog_blockmaps_load(c->cat, c->base, &old, e) < 0 ||
	    mb_catalog_blockmaps_load(c->cat, c->id, &cur, e) < 0 ||
	    mb_incr_plan_tree(&b.x, &state, &old, &cur, c->rec.block_size, c->back, c->run, read_live,
			      &inc, e) < 0)
		goto out;
	rc = write_image(c, c->back_spec, &inc, c->back, what, read_back, &b, &c->back_bytes, e);
out:
	mb_incr_free(b.x);
	mb_set_free(&inc);
	mb_set_free(&state);
	mb_blockmaps_free(&old);
	mb_blockmaps_free(&cur);
	return rc;
}

/* Both new backups into the catalog, with the block maps of their points. */
static int record(struct cons *c, struct mb_error *e)
{
	char chain[64], back_chain[96];
	struct mb_backup_rec whole = { .run_id = c->run, .base_id = c->id, .chain = chain,
				       .block_size = c->rec.block_size, .bytes = c->bytes,
				       .point_id = c->id };
	struct mb_backup_rec back = { .run_id = c->back, .base_id = c->run, .chain = back_chain,
				      .block_size = c->rec.block_size, .bytes = c->back_bytes,
				      .point_id = c->base_point };

	snprintf(whole.kind, sizeof(whole.kind), "consolidated");
	snprintf(back.kind, sizeof(back.kind), "incremental");
	snprintf(chain, sizeof(chain), "%lld", (long long)c->run);
	snprintf(back_chain, sizeof(back_chain), "%lld,%lld", (long long)c->run, (long long)c->back);
	if (mb_catalog_blockmaps_copy(c->cat, c->id, c->run, e) < 0 ||
	    mb_catalog_blockmaps_copy(c->cat, c->base, c->back, e) < 0 ||
	    mb_catalog_backup_add(c->cat, &whole, e) < 0 || mb_catalog_backup_add(c->cat, &back, e) < 0)
		return -1;
	return mb_catalog_run_set_totals(c->cat, c->run, 0, c->bytes, e);
}

static int consolidate(struct cons *c, struct mb_error *e)
{
	char *cur = NULL, *old = NULL;
	int rc = -1;

	if (make_work(c, e) < 0 || materialise(c, c->id, "point", &cur, e) < 0 ||
	    materialise(c, c->base_point, "base", &old, e) < 0 ||
	    mb_fault("after-consolidate-restore", e) < 0 || write_whole(c, cur, e) < 0 ||
	    mb_fault("after-consolidate-whole", e) < 0 || write_backward(c, old, e) < 0 ||
	    mb_fault("after-consolidate-backward", e) < 0 || record(c, e) < 0 ||
	    mb_obl_release(&c->obl, c->work_handle, e) < 0)
		goto out;
	rc = 0;
out:
	free(cur);
	free(old);
	return rc;
}

static void end(struct cons *c, int rc, struct mb_error *e)
{
	if (rc < 0 && c->obl_ready)
		mb_obl_unwind(&c->obl, NULL);
	for (int k = 0; k < 2 && c->cat; k++) {
		int64_t id = k ? c->back : c->run;

		if (id && mb_catalog_run_end(c->cat, id, rc ? "failed" : "complete", rc ? e->code : 0,
					     rc ? e->msg : NULL, rc ? NULL : e) < 0)
			mb_error_log("unable to mark run %lld: %s", (long long)id, e->msg);
	}
	if (c->obl_ready)
		mb_obl_free(&c->obl);
	mb_catalog_close(c->cat);
	if (c->lock_fd >= 0)
		mb_lock_release(c->lock_fd);
	mb_backup_rec_free(&c->rec);
	free(c->work);
	free(c->buf);
}

int mb_cmd_consolidate(const struct mb_options *opt, struct mb_error *e)
{
	struct cons c = { .opt = opt, .lock_fd = -1, .work_handle = -1 };
	int rc;

	rc = parse_args(&c, e) < 0 || begin(&c, e) < 0 || consolidate(&c, e) < 0 ? -1 : 0;
	end(&c, rc, e);
	if (rc == 0)
		printf("consolidated backup %lld into backup %lld ('%s', %llu bytes); backup %lld is "
		       "one backward increment away (backup %lld, '%s', %llu bytes)\n",
		       (long long)c.id, (long long)c.run, c.spec + 5, (unsigned long long)c.bytes,
		       (long long)c.base_point, (long long)c.back, c.back_spec + 5,
		       (unsigned long long)c.back_bytes);
	free(c.back_spec);
	return rc;
}
