/*
 * P0 preflight: everything that can be checked without changing anything
 * comes first (options, the source, the mirror, where the catalog, lock,
 * logs, temp files and media live, the media specs themselves), then the
 * catalog, the lock, the leftovers of a dead run, the run row, and the
 * media.  check stops before the catalog: it changes nothing.
 */
#include "orchestrator/wal_store.h"
#include "orchestrator/run.h"
#include "orchestrator/incremental.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/log.h"
#include "image/multi.h"
#include "orchestrator/lock.h"
#include "orchestrator/mirror_proof.h"
#include "orchestrator/order_file.h"
#include "orchestrator/signals.h"
#include "orchestrator/wal_cmd.h"
#include "plugins/mirror/lvm_helper.h"

static int check_options(const struct mb_options *o, struct mb_error *e)
{
	bool dictates_source;

	if (mb_quiesce_stack_check(o->db, &dictates_source, e) < 0)
		return -1;
	if (o->mirrors.n == 0 || o->mirrors.n > MB_MAX_LEGS) {
		mb_fail(e, MB_ERR_USAGE, 0, o->mirrors.n ? "too many --mirror (at most %d)"
							 : "missing --mirror", MB_MAX_LEGS);
		mb_hint(e, "e.g. --mirror vg/pgdata, or --mirror loop:/dev/loop3");
		return -1;
	}
	if (o->sources.n > 1 || (o->sources.n == 0 && !dictates_source)) {
		mb_fail(e, MB_ERR_USAGE, 0, "%s --source", o->sources.n ? "exactly one" : "missing");
		mb_hint(e, "e.g. --source /srv/data");
		return -1;
	}
	if (strcmp(o->throttle_writers, "auto") != 0 && strcmp(o->throttle_writers, "off") != 0) {
		mb_fail(e, MB_ERR_USAGE, 0, "invalid --throttle-writers '%s'", o->throttle_writers);
		mb_hint(e, "use auto (limit the writers when a snapshot's container cannot grow) or off");
		return -1;
	}
	if (strcmp(o->discard_behind, "auto") != 0 && strcmp(o->discard_behind, "off") != 0) {
		mb_fail(e, MB_ERR_USAGE, 0, "invalid --discard-behind '%s'", o->discard_behind);
		mb_hint(e, "use auto (a thin snapshot's blocks given back behind the stream) or off");
		return -1;
	}
	if (!mb_lvm_split_valid(o->lvm_split)) {
		mb_fail(e, MB_ERR_USAGE, 0, "invalid --lvm-split '%s'", o->lvm_split);
		mb_hint(e, "use auto (LVM's library when installed, else lvconvert), helper or lvconvert");
		return -1;
	}
	return 0;
}

static int check_media_options(const struct mb_options *o, bool check_only,
			       struct mb_error *e)
{
	if (o->media.n == 0 && !check_only) {
		mb_fail(e, MB_ERR_USAGE, 0, "missing --media");
		mb_hint(e, "e.g. --media file:/backup/data.mbi, or --media - for standard output");
		return -1;
	}
	if (o->media.n > MB_MAX_MEDIA) {
		mb_fail(e, MB_ERR_USAGE, 0, "too many --media (at most %d)", MB_MAX_MEDIA);
		mb_hint(e, "give one --media per device");
		return -1;
	}
	if (o->media.n > 1 && mb_multi_order_parse(o->order, &(enum mb_multi_order){ 0 }) < 0) {
		mb_fail(e, MB_ERR_USAGE, 0, "invalid --order '%s'", o->order);
		mb_hint(e, "use desc (largest first), asc or logical");
		return -1;
	}
	for (size_t i = 0; i < o->media.n; i++)
		for (size_t k = 0; k < i; k++)
			if (strcmp(o->media.v[i], o->media.v[k]) == 0) {
				mb_fail(e, MB_ERR_USAGE, 0, "media '%s' is given twice", o->media.v[i]);
				mb_hint(e, "give each device once");
				return -1;
			}
	return 0;
}

static const char *run_option(const void *opt, const char *name)
{
	return mb_options_text(opt, name);
}

/* The --db stack: each plugin reads its options, then looks at the world
 * (a database says where its data lives, and that it can be reached). */
static int open_quiesce(struct mb_run *r, struct mb_error *e)
{
	const struct mb_quiesce_params params = { .option = run_option, .ctx = r->opt,
						  .label = "mbackup", .stop = mb_signal_stop() };

	if (mb_quiesce_stack_open(&r->quiesce, r->opt->db, &params, e) < 0)
		return -1;
	return mb_quiesce_stack_discover(&r->quiesce, e);
}

static int resolve_source(struct mb_run *r, struct mb_error *e)
{
	const char *given = r->opt->sources.n ? r->opt->sources.v[0] : NULL;
	const char *src = mb_quiesce_stack_source(&r->quiesce, given, e);
	struct stat st;

	if (!src)
		return -1;
	r->source = realpath(src, NULL);
	if (!r->source || stat(r->source, &st) < 0)
		return mb_fail(e, MB_ERR_SOURCE, errno, "unable to use source '%s'", src);
	if (!S_ISDIR(st.st_mode))
		return mb_fail(e, MB_ERR_SOURCE, 0, "source '%s' is not a directory", src),
		       mb_hint(e, "--source names the directory whose tree is backed up"), -1;
	r->source_dev = st.st_dev;
	if (mb_mount_by_dev(st.st_dev, &r->mount, e) < 0) {
		mb_error_prefix(e, "source '%s': ", src);
		return -1;
	}
	return 0;
}

/* The leg whose filesystem is dev, or -1. */
static int leg_of_dev(const struct mb_run *r, dev_t dev)
{
	for (int i = 0; i < r->n_legs; i++)
		if (r->legs[i].mirror->rdev == dev)
			return i;
	return -1;
}

/* Opens every mirror and finds the filesystem mounted from it. */
static int open_legs(struct mb_run *r, struct mb_error *e)
{
	for (size_t i = 0; i < r->opt->mirrors.n; i++) {
		struct mb_leg *leg = &r->legs[r->n_legs];

		leg->split_handle = -1;
		if (mb_mirror_open(&leg->mirror, r->opt->mirrors.v[i], e) < 0)
			return -1;
		leg->mirror->sync_timeout_s = (int)r->opt->sync_timeout;
		leg->mirror->proof = r->opt->mirror_proof && strcmp(r->opt->mirror_proof, "full") == 0
				     ? MB_PROOF_FULL : MB_PROOF_AUTO;
		leg->mirror->split_with = r->opt->lvm_split;
		leg->mirror->snap = (struct mb_snapshot_params){
			r->opt->snapshot_size, r->opt->snapshot_pv, r->opt->snapshot_chunk,
			r->opt->snapshot_extend_max, r->opt->throttle_writers,
			r->opt->discard_behind };
		r->n_legs++;
		if (leg_of_dev(r, leg->mirror->rdev) != r->n_legs - 1)
			return mb_fail(e, MB_ERR_USAGE, 0, "mirror '%s' is given twice",
				       leg->mirror->spec), mb_hint(e, "give each --mirror once"), -1;
		if (mb_mount_by_dev(leg->mirror->rdev, &leg->mount, e) < 0) {
			e->code = MB_ERR_MIRROR;
			mb_error_prefix(e, "mirror '%s' holds no mounted filesystem: ",
					leg->mirror->spec);
			return -1;
		}
	}
	return 0;
}

/* The source must live on one of the mirrors' filesystems (its st_dev is
 * that mirror device's number); that leg becomes legs[0]. */
static int check_source_on_mirror(struct mb_run *r, struct mb_error *e)
{
	int i = leg_of_dev(r, r->source_dev);
	struct mb_leg first;

	if (i < 0) {
		mb_fail(e, MB_ERR_SOURCE, 0,
			"source '%s' is on %s (%u:%u, mounted at '%s'), not on %s '%s'",
			r->source, r->mount.source, major(r->source_dev), minor(r->source_dev),
			r->mount.mountpoint, r->n_legs > 1 ? "any given mirror, e.g." : "mirror",
			r->legs[0].mirror->device);
		mb_hint(e, "give the --mirror the source's filesystem is mounted from");
		return -1;
	}
	first = r->legs[0];
	r->legs[0] = r->legs[i];
	r->legs[i] = first;
	r->mirror = r->legs[0].mirror;
	r->mount = r->legs[0].mount;
	return 0;
}

/* Every extra mirror must hold something the run needs: a plugin that
 * places its data accounts for the legs; without one, one leg only. */
static int check_legs_used(struct mb_run *r, struct mb_error *e)
{
	struct mb_quiesce_leg legs[MB_MAX_LEGS];
	bool placed;

	for (int i = 0; i < r->n_legs; i++)
		legs[i] = (struct mb_quiesce_leg){ .dev = r->legs[i].mirror->rdev,
						   .mirror = r->legs[i].mirror->spec };
	if (mb_quiesce_stack_place(&r->quiesce, legs, (size_t)r->n_legs, &placed, e) < 0)
		return -1;
	if (placed || r->n_legs == 1)
		return 0;
	mb_fail(e, MB_ERR_USAGE, 0, "mirror '%s' holds nothing of source '%s'",
		r->legs[1].mirror->spec, r->source);
	mb_hint(e, "give only the mirror the source lives on");
	return -1;
}

/* Invariant 3: nothing mbackup writes may sit on a filesystem it freezes. */
static int refuse_on_frozen(struct mb_run *r, const char *what, const char *path,
			    struct mb_error *e)
{
	dev_t dev;
	int leg;

	if (!path)
		return 0;
	if (mb_path_dev(path, &dev, e) < 0)
		return -1;
	if ((leg = leg_of_dev(r, dev)) < 0)
		return 0;
	mb_fail(e, MB_ERR_CONFIG, 0, "%s '%s' is on a filesystem that will be frozen ('%s')",
		what, path, r->legs[leg].mount.mountpoint);
	mb_hint(e, "put it on another filesystem");
	return -1;
}

static int refuse_fd_on_frozen(struct mb_run *r, int fd, const char *what,
			       struct mb_error *e)
{
	struct stat st;

	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || leg_of_dev(r, st.st_dev) < 0)
		return 0;
	mb_fail(e, MB_ERR_CONFIG, 0, "%s is a file on a filesystem that will be frozen ('%s')",
		what, r->legs[leg_of_dev(r, st.st_dev)].mount.mountpoint);
	mb_hint(e, "redirect it to another filesystem");
	return -1;
}

static int check_locations(struct mb_run *r, struct mb_error *e)
{
	const struct mb_options *o = r->opt;
	if (refuse_on_frozen(r, "catalog", o->catalog, e) < 0 ||
	    refuse_on_frozen(r, "log file", o->log_file, e) < 0 ||
	    refuse_on_frozen(r, "WAL archive", mb_wal_store_local(o->wal_archive), e) < 0 ||
	    refuse_fd_on_frozen(r, STDERR_FILENO, "standard error", e) < 0 ||
	    refuse_fd_on_frozen(r, STDOUT_FILENO, "standard output", e) < 0)
		return -1;
	for (size_t i = 0; i < o->media.n; i++) {
		char *media_dir = mb_media_dir(o->media.v[i]);
		int rc = refuse_on_frozen(r, "media", media_dir, e);

		free(media_dir);
		if (rc < 0)
			return -1;
	}
	return 0;
}

static int open_catalog(struct mb_run *r, struct mb_error *e)
{
	int undone = 0;
	char *config;

	/* The lock first: a run that loses it must not touch the catalog. */
	if (mb_lock_catalog(r->opt->catalog, &r->lock_fd, e) < 0 ||
	    mb_catalog_open(&r->catalog, r->opt->catalog, e) < 0)
		return -1;
	if (mb_recover_shown(r->catalog, r->opt, &undone, e) < 0)
		return -1;
	if (undone)
		mb_warn("recovered %d leftover obligation(s) of a run that died", undone);
	config = mb_options_json(r->opt);
	if (mb_catalog_run_begin(r->catalog, r->opt->verb_name, config ? config : "{}",
				 &r->id, e) < 0) {
		free(config);
		return -1;
	}
	free(config);
	mb_obl_init(&r->obl, r->catalog, r->id, &(struct mb_undo_ctx){ .s3 = &r->opt->s3 });
	r->obl_ready = true;
	/* checked by mb_options_parse */
	mb_mirror_proof_ctx(r->opt, &r->obl.ctx, &(struct mb_error){ 0 });
	return mb_mirror_proof_refuse(r, e);
}

/* What the driver leaves behind if the run dies (file: PATH.partial) is
 * recorded first, so recover has something to undo. */
static int open_one_media(struct mb_run *r, const char *spec,
			  const struct mb_media_params *p, struct mb_error *e)
{
	const struct mb_media_ops *ops;
	int k = r->n_sinks;
	char *what = NULL;
	int rc;

	r->media_handle[k] = -1;
	if (mb_media_obligation(spec, &ops, &what, e) < 0)
		return -1;
	if (what) {
		rc = mb_obl_take(&r->obl, "media", ops->name, what, ops->undo,
				 &r->media_handle[k], e);
		free(what);
		if (rc < 0)
			return -1;
	}
	if (mb_sink_open(&r->sinks[k], spec, p, e) < 0)
		return -1;
	r->n_sinks++;
	return 0;
}

/* The media mistakes that can be seen without opening anything (an
 * unknown spec, an existing file without --force, a FIFO that is not
 * one, a node that is not a tape): found before the catalog is opened,
 * so a mistake leaves no run row behind. */
static int check_media(struct mb_run *r, struct mb_error *e)
{
	struct mb_media_params p;

	if (mb_options_media_params(r->opt, r->opt->media.n, &p, e) < 0)
		return -1;
	for (size_t i = 0; i < r->opt->media.n; i++)
		if (mb_media_check(r->opt->media.v[i], &p, e) < 0)
			return -1;
	return 0;
}

/* What was checked: the source, its mirror, how it is quiesced. */
static void describe(struct mb_run *r)
{
	char how[128] = "";
	size_t len = 0;

	for (size_t i = 0; i < r->quiesce.n && len < sizeof(how); i++)
		len += (size_t)snprintf(how + len, sizeof(how) - len, "%s%s", i ? "+" : "",
					r->quiesce.v[i]->ops->name);
	snprintf(r->detail, sizeof(r->detail),
		 "source '%.200s' on %.100s (%s), mirror %.100s%s, quiesce %s",
		 r->source, r->mount.source, r->mount.fstype, r->mirror->spec,
		 r->n_legs > 1 ? " and more" : "", how[0] ? how : "none");
}

static int check_archive(struct mb_run *r, struct mb_error *e)
{
	size_t len = strlen(r->detail);

	if (!r->opt->wal_archive || !r->opt->wal_archive[0])
		return 0;
	if (mb_wal_archive_probe(r->opt, e) < 0)
		return -1;
	snprintf(r->detail + len, sizeof(r->detail) - len, ", WAL archive '%.200s' reachable",
		 r->opt->wal_archive);
	return 0;
}

static int open_media(struct mb_run *r, struct mb_error *e)
{
	struct mb_media_params p;

	if (mb_options_media_params(r->opt, r->opt->media.n, &p, e) < 0)
		return -1;
	for (size_t i = 0; i < r->opt->media.n; i++)
		if (open_one_media(r, r->opt->media.v[i], &p, e) < 0)
			return -1;
	return mb_stream_check_media(r, e);
}

/* --order-file is read again by the stream; a bad one fails here, before
 * anything is taken. */
static int check_order_file(const struct mb_options *o, struct mb_error *e)
{
	struct mb_order_file of;

	if (!o->order_file)
		return 0;
	if (mb_order_file_load(o->order_file, &of, e) < 0)
		return -1;
	mb_info("order file '%s': %zu line(s)%s", o->order_file, of.n,
		o->incremental ? "; an incremental keeps its own order" : "");
	mb_order_file_free(&of);
	return 0;
}

int mb_preflight(struct mb_run *r, struct mb_error *e)
{
	const struct mb_options *o = r->opt;

	if (check_options(o, e) < 0 || check_media_options(o, r->check_only, e) < 0 ||
	    check_order_file(o, e) < 0)
		return -1;
	if (open_quiesce(r, e) < 0 || resolve_source(r, e) < 0 || open_legs(r, e) < 0 ||
	    check_source_on_mirror(r, e) < 0 || check_legs_used(r, e) < 0 ||
	    check_locations(r, e) < 0)
		return -1;
	for (int i = 0; i < r->n_legs; i++)
		if (r->legs[i].mirror->ops->check(r->legs[i].mirror, e) < 0)
			return -1;
	if (check_media(r, e) < 0)
		return -1;
	describe(r);
	/* check: the WAL archive is reachable too (a backup does not need it
	 * to take its image: it only records whether its WAL got there) */
	if (r->check_only && check_archive(r, e) < 0)
		return -1;
	/* check is read-only: no catalog, no lock, no run row. */
	if (r->check_only)
		return 0;
	if (open_catalog(r, e) < 0 || mb_incr_check_base(r->catalog, o, e) < 0)
		return -1;
	return open_media(r, e);
}
