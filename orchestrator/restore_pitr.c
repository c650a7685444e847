/*
 * A restore to a point in time; see restore_pitr.h.  What the database
 * means by a target and by a backup's facts is the plugin's (its recovery
 * op, found through the --db the backup was taken with); what is chosen,
 * refused and in which order is here.
 *
 * The choice without --from: the newest complete backup whose
 * consistency point lies at or before the target.  An xid or a restore
 * point's name cannot be placed in time, so the newest backup is taken
 * (logged, with the hint to give --from for an older one): replaying
 * from it reaches any such target committed after it, and PostgreSQL
 * refuses one before it ("recovery stop point is before consistent
 * recovery point").
 */
#include "orchestrator/restore_pitr.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "orchestrator/catalog_incr.h"
#include "orchestrator/restore_set.h"
#include "orchestrator/wal_archive.h"
#include "orchestrator/wal_store.h"
#include "orchestrator/wal_cmd.h"

struct target_opt {
	const char *option, *kind, *value;
};

bool mb_pitr_wanted(const struct mb_options *o)
{
	return o->target_time || o->target_lsn || o->target_xid || o->target_name || o->target;
}

static int one_of(const char *v, const char *const *allowed)
{
	for (size_t i = 0; allowed[i]; i++)
		if (strcmp(v, allowed[i]) == 0)
			return (int)i;
	return -1;
}

/* The one target given, as the plugin is handed it. */
static int target_of(const struct mb_options *o, struct mb_recovery_target *t,
		     struct mb_error *e)
{
	static const char *const special[] = { "latest", "immediate", NULL };
	static const char *const actions[] = { "promote", "pause", "shutdown", NULL };
	static const char *const bools[] = { "true", "false", NULL };
	const struct target_opt v[] = {
		{ "--target-time", "time", o->target_time }, { "--target-lsn", "lsn", o->target_lsn },
		{ "--target-xid", "xid", o->target_xid }, { "--target-name", "name", o->target_name },
		{ "--target", o->target, o->target },
	};
	const struct target_opt *given = NULL;

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		if (!v[i].value)
			continue;
		if (given) {
			mb_fail(e, MB_ERR_USAGE, 0, "options '%s' and '%s' exclude each other",
				given->option, v[i].option);
			mb_hint(e, "give one target");
			return -1;
		}
		given = &v[i];
	}
	if (o->target && one_of(o->target, special) < 0) {
		mb_fail(e, MB_ERR_USAGE, 0, "invalid --target '%s'", o->target);
		mb_hint(e, "use latest or immediate; a time, an LSN, an xid or a restore point "
			   "go to --target-time, --target-lsn, --target-xid or --target-name");
		return -1;
	}
	if (one_of(o->target_action, actions) < 0) {
		mb_fail(e, MB_ERR_USAGE, 0, "invalid --target-action '%s'", o->target_action);
		mb_hint(e, "use promote, pause or shutdown");
		return -1;
	}
	if (one_of(o->target_inclusive, bools) < 0) {
		mb_fail(e, MB_ERR_USAGE, 0, "invalid --target-inclusive '%s'", o->target_inclusive);
		mb_hint(e, "use true or false");
		return -1;
	}
	*t = (struct mb_recovery_target){
		.kind = given->kind, .value = o->target ? NULL : given->value,
		.action = o->target_action, .inclusive = !strcmp(o->target_inclusive, "true"),
		.timeline = o->target_timeline,
	};
	return 0;
}

/* The --db a backup was taken with, from its stored options; NULL if none. */
static const struct mb_quiesce_ops *plugin_of(const struct mb_catalog_point *pt)
{
	json_t *j = json_loads(pt->config, 0, NULL);
	const char *db = json_string_value(json_object_get(j, "db"));
	const struct mb_quiesce_ops *q = db ? mb_quiesce_recovery(db) : NULL;

	json_decref(j);
	return q;
}

/* "backup 3 (consistent from 2026-..., stop LSN 0/5000100, timeline 1)" */
static void describe(char *out, size_t size, const struct mb_catalog_point *pt)
{
	const char *at = mb_fact_get(pt->facts, pt->n_facts, "consistent_at");
	const char *lsn = mb_fact_get(pt->facts, pt->n_facts, "stop_lsn");
	const char *tl = mb_fact_get(pt->facts, pt->n_facts, "timeline");

	snprintf(out, size, "backup %lld (consistent from %s, stop LSN %s, timeline %s)",
		 (long long)pt->run_id, at ? at : "?", lsn ? lsn : "?", tl ? tl : "?");
}

/* Where point pt lies against the target; UNUSABLE for a backup of a
 * database without recovery (--db none) or a crash image. */
static int order_of(const struct mb_pitr *p, const struct mb_catalog_point *pt,
		    enum mb_recovery_order *o, struct mb_error *e)
{
	const struct mb_quiesce_ops *q = plugin_of(pt);

	*o = MB_RECOVERY_UNUSABLE;
	if (q != p->plugin)
		return 0;
	return q->recovery->order(pt->facts, pt->n_facts, &p->t, o, e);
}

static const char *target_text(const struct mb_pitr *p, char *buf, size_t size)
{
	snprintf(buf, size, "%s%s%s%s", p->t.kind, p->t.value ? " '" : "",
		 p->t.value ? p->t.value : "", p->t.value ? "'" : "");
	return buf;
}

/* The timeline recovery follows from a backup on sp->timeline. */
static int target_timeline(const struct mb_pitr *p, const struct mb_recovery_span *sp,
			   uint32_t *tli, struct mb_error *e)
{
	const char *t = p->t.timeline ? p->t.timeline : "latest";

	if (!strcmp(t, "latest"))
		return mb_wal_archive_latest_timeline(p->archive, p->s3, sp->timeline, tli, e);
	*tli = strcmp(t, "current") ? (uint32_t)strtoul(t, NULL, 10) : sp->timeline;
	return 0;
}

/* Does the backup's WAL up to its consistency point lie on the path of
 * timeline tli?  A backup of timeline 1 taken after timeline 2 left it
 * cannot reach a point on timeline 2.  A history file missing from the
 * archive counts as on the path: the archive check names it. */
static int on_path(const struct mb_pitr *p, const struct mb_recovery_span *sp, uint32_t tli,
		   bool *yes, struct mb_error *e)
{
	struct mb_wal_history h = { 0 };
	struct mb_error why = { 0 };
	const struct mb_wal_tl *tl;

	*yes = tli == sp->timeline;
	if (tli <= sp->timeline)
		return 0;
	if (mb_wal_history_read(p->archive, p->s3, tli, &h, &why) < 0) {
		*yes = why.code == MB_ERR_NOT_FOUND;
		if (!*yes)
			*e = why;
		return *yes ? 0 : -1;
	}
	tl = mb_wal_history_find(&h, sp->timeline);
	*yes = tl && sp->stop_lsn <= tl->end;
	mb_wal_history_free(&h);
	return 0;
}

/* Can point pt start the recovery: before the target (or not placeable)
 * and on the target timeline's path?  Fills p->span and p->target_tli. */
static int usable(struct mb_pitr *p, const struct mb_catalog_point *pt,
		  enum mb_recovery_order *o, struct mb_error *e)
{
	bool yes;

	if (order_of(p, pt, o, e) < 0)
		return -1;
	if (*o == MB_RECOVERY_UNUSABLE || *o == MB_RECOVERY_AFTER)
		return 0;
	if (p->plugin->recovery->span(pt->facts, pt->n_facts, &p->t, &p->span, e) < 0 ||
	    target_timeline(p, &p->span, &p->target_tli, e) < 0 ||
	    on_path(p, &p->span, p->target_tli, &yes, e) < 0)
		return -1;
	if (!yes) {
		mb_info("restore: backup %lld (timeline %u) is not on the path of timeline %u",
			(long long)pt->run_id, p->span.timeline, p->target_tli);
		*o = MB_RECOVERY_AFTER;
	}
	return 0;
}

/* Without --from: the newest point before the target. */
static int choose(struct mb_pitr *p, const char *catalog, struct mb_error *e)
{
	const struct mb_catalog_point *oldest = NULL;
	char what[160], where[400];

	for (size_t i = 0; i < p->n_points; i++) {
		enum mb_recovery_order o;

		if (usable(p, &p->points[i], &o, e) < 0)
			return -1;
		if (o == MB_RECOVERY_UNUSABLE)
			continue;
		oldest = &p->points[i];
		if (o == MB_RECOVERY_AFTER)
			continue;
		p->point = &p->points[i];
		if (o == MB_RECOVERY_UNKNOWN)
			mb_info("restore: target %s cannot be placed in time: starting from the "
				"newest backup, %lld (give --from for an older one)",
				target_text(p, what, sizeof(what)), (long long)p->point->run_id);
		return 0;
	}
	target_text(p, what, sizeof(what));
	if (!oldest) {
		mb_fail(e, MB_ERR_NOT_FOUND, 0, "no backup in catalog '%s' can start a restore to "
			"target %s", catalog, what);
		mb_hint(e, "a restore to a point in time starts from a complete --db postgres "
			   "--mode hot backup; is --catalog the one the backups went to?");
		return -1;
	}
	describe(where, sizeof(where), oldest);
	mb_fail(e, MB_ERR_NOT_FOUND, 0, "target %s lies before the oldest backup in catalog '%s'",
		what, catalog);
	mb_hint(e, "the oldest is %s; choose a target from then on", where);
	return -1;
}

/* The run whose backup the image(s) hold, from the index (the catalog's
 * media paths may have been overwritten by a later backup, or the image
 * copied elsewhere).  opt->backup picks the image on a tape. */
static int image_run(const struct mb_options *opt, const char *const *media, size_t n,
		     int64_t *id, struct mb_error *e)
{
	struct mb_image_set s = { 0 };
	int rc = mb_set_open(&s, opt, media, n, MB_SET_FIRST_ONLY, e);

	if (rc == 0)
		*id = strtoll(s.v[0].idx->meta.backup_id, NULL, 10);
	mb_set_close(&s);
	return rc;
}

/* --from: the backup its image holds, which must lie before the target. */
static int given(struct mb_pitr *p, const struct mb_options *opt, struct mb_error *e)
{
	enum mb_recovery_order o;
	char what[160], where[400];
	int64_t id;

	if (image_run(opt, (const char *const *)opt->froms.v, opt->froms.n, &id, e) < 0)
		return -1;
	for (size_t i = 0; i < p->n_points && !p->point; i++)
		if (p->points[i].run_id == id)
			p->point = &p->points[i];
	if (!p->point) {
		mb_fail(e, MB_ERR_NOT_FOUND, 0, "image '%s' holds backup %lld, which is no complete "
			"backup in catalog '%s': where it starts replaying is unknown", opt->from,
			(long long)id, opt->catalog);
		mb_hint(e, "give the --catalog its backup went to, or leave --from out to let "
			   "mbackup choose");
		return -1;
	}
	if (usable(p, p->point, &o, e) < 0)
		return -1;
	describe(where, sizeof(where), p->point);
	if (o == MB_RECOVERY_UNUSABLE) {
		mb_fail(e, MB_ERR_NOT_FOUND, 0, "image '%s' cannot start a restore to a point in "
			"time: %s has no consistency point", opt->from, where);
		mb_hint(e, "take the backups to roll forward with --db postgres --mode hot");
		return -1;
	}
	if (o == MB_RECOVERY_AFTER) {
		mb_fail(e, MB_ERR_NOT_FOUND, 0, "target %s lies before %s, taken to '%s', "
			"or on a timeline it is not on", target_text(p, what, sizeof(what)), where,
			opt->from);
		mb_hint(e, "give an older backup with --from, or leave --from out to let mbackup "
			   "choose");
		return -1;
	}
	return 0;
}

/* The chosen backup's images as --from takes them. */
static int media_of(struct mb_pitr *p, struct mb_error *e)
{
	const struct mb_catalog_point *pt = p->point;

	if (!pt->n_media)
		return mb_fail(e, MB_ERR_NOT_FOUND, 0, "backup %lld has no complete image",
			       (long long)pt->run_id);
	if (!(p->from = calloc(pt->n_media, sizeof(*p->from))))
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to choose the backup");
	for (size_t k = 0; k < pt->n_media; k++) {
		const char *m = pt->media[k];

		if (!strcmp(m, "-") || !strncmp(m, "pipe:", 5)) {
			mb_fail(e, MB_ERR_NOT_FOUND, 0, "backup %lld went to '%s', which cannot be "
				"read back", (long long)pt->run_id, m);
			mb_hint(e, "give the image with --from");
			return -1;
		}
		if (!strncmp(m, "tape:", 5))	/* the image on it: by run id */
			snprintf(p->backup_id, sizeof(p->backup_id), "%lld", (long long)pt->run_id);
		if (!(p->from[p->n_from++] = strdup(strncmp(m, "file:", 5) ? m : m + 5)))
			return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to choose the backup");
	}
	return 0;
}

/* The chosen backup's images still hold it (not a later backup written
 * over the same file). */
static int media_hold(struct mb_pitr *p, const struct mb_options *opt, struct mb_error *e)
{
	struct mb_options o = *opt;	/* shallow: only backup differs */
	int64_t id;

	if (p->backup_id[0])
		o.backup = p->backup_id;
	if (image_run(&o, (const char *const *)p->from, p->n_from, &id, e) < 0)
		return -1;
	if (id == p->point->run_id)
		return 0;
	mb_fail(e, MB_ERR_NOT_FOUND, 0, "image '%s' holds backup %lld, not backup %lld the "
		"catalog says went there", p->from[0], (long long)id,
		(long long)p->point->run_id);
	mb_hint(e, "a later backup was written over it; give --from an image of a backup "
		   "before the target");
	return -1;
}

static int read_points(struct mb_pitr *p, const char *catalog, struct mb_error *e)
{
	struct mb_catalog *c = NULL;
	int rc;

	if (access(catalog, F_OK) < 0) {	/* opening would create one */
		mb_fail(e, MB_ERR_CATALOG, errno, "unable to open catalog '%s'", catalog);
		mb_hint(e, "a restore to a point in time chooses its backup in the catalog the "
			   "backups went to: --catalog PATH");
		return -1;
	}
	if (mb_catalog_open(&c, catalog, e) < 0)
		return -1;
	rc = mb_catalog_points(c, &p->points, &p->n_points, e);
	mb_catalog_close(c);
	return rc;
}

/* An incremental backup's image holds only what changed since its base:
 * its point is restored through its chain, as restore --backup does. */
static int point_kind(struct mb_pitr *p, const char *catalog, struct mb_error *e)
{
	struct mb_catalog *c = NULL;
	struct mb_backup_rec b = { 0 };
	struct mb_error none = { 0 };	/* no record: a backup before increments */

	if (mb_catalog_open(&c, catalog, e) < 0)
		return -1;
	if (mb_catalog_backup_get(c, p->point->run_id, &b, &none) == 0 &&
	    strcmp(b.kind, "incremental") == 0)
		snprintf(p->chain_id, sizeof(p->chain_id), "%lld", (long long)p->point->run_id);
	mb_backup_rec_free(&b);
	mb_catalog_close(c);
	return 0;
}

/* Every segment from the backup's start to the target (to the newest
 * archived on the way for a target that is no LSN), on the timelines the
 * recovery follows, and their history files. */
static int archive_complete(const struct mb_pitr *p, struct mb_error *e)
{
	struct mb_wal_gap gap;
	char what[160], lsn[MB_WAL_LSN_MAX];
	int rc = mb_wal_archive_check(p->archive, p->s3, p->span.timeline, p->span.start_lsn,
				      p->target_tli, p->span.end_lsn, &gap, e);

	if (rc <= 0)
		return rc;
	target_text(p, what, sizeof(what));
	mb_fail(e, MB_ERR_NOT_FOUND, 0, "WAL archive '%s' lacks '%s', which a restore from "
		"backup %lld to target %s replays", p->archive, gap.first_missing,
		(long long)p->point->run_id, what);
	if (gap.lsn) {
		mb_wal_lsn_format(gap.lsn, lsn);
		mb_hint(e, "put the file back into the archive, or give a target before %s "
			"(timeline %u), where it starts", lsn, gap.tli);
	} else {
		mb_hint(e, "put the file back into the archive, or follow another timeline "
			"with --target-timeline");
	}
	return -1;
}

/* The recovery's own wal-get must run: parsed here as it will be. */
static int fetch_argv(const struct mb_options *opt, char *argv[10], struct mb_error *e);

static int fetch_check(const struct mb_options *opt, struct mb_error *e)
{
	char *argv[12] = { 0 };
	struct mb_options o;
	struct mb_error why = { 0 };
	int argc = 0, rc = fetch_argv(opt, argv, e);

	while (argv[argc])
		argc++;
	argv[argc] = "000000010000000000000001";	/* (not freed below) */
	argv[argc + 1] = "/nonexistent";
	if (rc == 0) {
		rc = mb_options_parse(&o, argc + 2, argv, &why);
		mb_options_free(&o);
	}
	if (rc < 0 && why.code) {
		mb_fail(e, MB_ERR_CONFIG, 0, "the restored server's 'mbackup wal-get' could not "
			"run: %s", why.msg);
		mb_hint(e, "its --config is the restore's: give restore a config that wal-get "
			   "reads too (the backup's keys and wal-archive), or --wal-archive only");
	}
	for (int i = 0; i < argc; i++)
		free(argv[i]);
	return rc;
}

int mb_pitr_prepare(struct mb_pitr *p, const struct mb_options *opt, struct mb_error *e)
{
	char where[400];

	memset(p, 0, sizeof(*p));
	if (opt->files.n) {
		mb_fail(e, MB_ERR_USAGE, 0, "options '--file' and '--target-...' exclude each other");
		mb_hint(e, "a restore to a point in time restores the whole data directory");
		return -1;
	}
	if (target_of(opt, &p->t, e) < 0)
		return -1;
	if (!(p->plugin = mb_quiesce_recovery(NULL)))
		return mb_fail(e, MB_ERR_INTERNAL, 0, "no plugin can restore to a point in time");
	p->s3 = &opt->s3;
	if (p->plugin->recovery->check(&p->t, e) < 0 || !(p->archive = mb_wal_archive_dir(opt, e)) ||
	    read_points(p, opt->catalog, e) < 0)
		return -1;
	if (opt->from && !strcmp(opt->from, "-")) {
		mb_fail(e, MB_ERR_USAGE, 0, "a restore to a point in time cannot read its image "
			"from standard input");
		mb_hint(e, "it reads the image's index first: give a file or a tape");
		return -1;
	}
	if ((opt->from ? given(p, opt, e) : choose(p, opt->catalog, e)) < 0)
		return -1;
	if (!opt->from && point_kind(p, opt->catalog, e) < 0)
		return -1;
	if (!opt->from && !p->chain_id[0] && (media_of(p, e) < 0 || media_hold(p, opt, e) < 0))
		return -1;
	describe(where, sizeof(where), p->point);
	mb_info("restore: starting from %s, following timeline %u", where, p->target_tli);
	if (archive_complete(p, e) < 0 || fetch_check(opt, e) < 0)
		return -1;
	return 0;
}

void mb_pitr_json(const struct mb_pitr *p, json_t *report)
{
	json_object_set_new(report, "backup", json_integer(p->point->run_id));
	json_object_set_new(report, "target", json_string(p->t.kind));
	json_object_set_new(report, "target_value", p->t.value ? json_string(p->t.value)
								: json_null());
	json_object_set_new(report, "timeline", json_integer(p->target_tli));
}

void mb_pitr_free(struct mb_pitr *p)
{
	for (size_t i = 0; i < p->n_from; i++)
		free(p->from[i]);
	free(p->from);
	mb_catalog_points_free(p->points, p->n_points);
	memset(p, 0, sizeof(*p));
}

/* An absolute path for the restored server, which runs elsewhere. */
static char *absolute(const char *path, const char *what, struct mb_error *e)
{
	char *abs = realpath(path, NULL);

	if (!abs)
		mb_fail(e, errno == ENOMEM ? MB_ERR_GENERAL : MB_ERR_CONFIG, errno,
			"unable to find the %s '%s'", what, path);
	return abs;
}

/* `mbackup wal-get` as this restore runs: this very binary, the same
 * archive and config. */
static int fetch_argv(const struct mb_options *opt, char *argv[10], struct mb_error *e)
{
	size_t n = 0;

	memset(argv, 0, 10 * sizeof(*argv));
	if (!(argv[n++] = absolute("/proc/self/exe", "mbackup binary", e)) ||
	    !(argv[n++] = strdup("wal-get")))
		return e->code ? -1 : mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to write the "
					      "recovery settings");
	if (opt->wal_archive && (!(argv[n++] = strdup("--wal-archive")) ||
				 !(argv[n++] = mb_wal_store_local(opt->wal_archive) ?
				   absolute(opt->wal_archive, "WAL archive", e) :
				   strdup(opt->wal_archive))))
		return e->code ? -1 : mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to write the "
					      "recovery settings");
	if (opt->config && (!(argv[n++] = strdup("--config")) ||
			    !(argv[n++] = absolute(opt->config, "config file", e))))
		return e->code ? -1 : mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to write the "
					      "recovery settings");
	return 0;
}

int mb_pitr_finish(struct mb_pitr *p, const struct mb_options *opt, struct mb_error *e)
{
	char *argv[10];
	char what[160];
	int rc = fetch_argv(opt, argv, e);

	if (rc == 0)
		rc = p->plugin->recovery->write(opt->to, &p->t, (const char *const *)argv, e);
	for (size_t i = 0; i < 10; i++)
		free(argv[i]);
	if (rc == 0)
		mb_info("restore: recovery settings written: the server started on '%s' replays "
			"the WAL archive to target %s, then does %s", opt->to,
			target_text(p, what, sizeof(what)),
			strcmp(p->t.kind, "latest") ? p->t.action : "promote");
	return rc;
}
