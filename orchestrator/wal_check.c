/*
 * wal-check [--output json]: is the WAL archive whole for every complete
 * backup in the catalog?  For each, from its start (timeline and LSN, or
 * its image's first pg_wal segment) along the latest timeline that
 * descends from it (its own when it is past a fork), through the newest
 * archived segment: the first missing file is named.  Then how far behind
 * the archive is: its newest segment and how long ago it was archived, the
 * latest failed wal-push, and with --db postgres the server's own view
 * (pg_stat_archiver: segments written but not archived, failures).
 * Exit MB_ERR_PARTIAL when a backup's WAL has a gap.  Reads only (the
 * catalog without its lock: a running backup does not hold it up).
 */
#include "orchestrator/wal_cmd.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "orchestrator/catalog_wal.h"
#include "orchestrator/wal_archive.h"
#include "orchestrator/wal_file.h"
#include "orchestrator/wal_lag.h"

/* One backup's verdict. */
struct verdict {
	const char *status;	/* complete, gap, error, no-wal */
	uint64_t start_lsn;
	struct mb_wal_gap gap;
	char error[1024];
};

static void judge(struct mb_wal_store *archive, const struct mb_wal_scan *s,
		  const struct mb_wal_backup *b, struct verdict *v)
{
	struct mb_error e = { 0 };
	int rc;

	*v = (struct verdict){ .status = "no-wal" };
	if (!b->tli)
		return;
	v->start_lsn = mb_wal_backup_start(b, s->seg_size);
	rc = mb_wal_scan_check(archive, s, b->tli, v->start_lsn, 0, 0, &v->gap, &e);
	if (rc < 0 && e.code == MB_ERR_NOT_FOUND) {
		/* past the fork of the latest timeline: its own */
		mb_error_clear(&e);
		rc = mb_wal_scan_check(archive, s, b->tli, v->start_lsn, b->tli, 0, &v->gap, &e);
	}
	v->status = rc == 0 ? "complete" : rc == 1 ? "gap" : "error";
	if (rc < 0)
		snprintf(v->error, sizeof(v->error), "%s", e.msg);
}

static json_t *verdict_json(const struct mb_wal_backup *b, const struct verdict *v)
{
	json_t *j = json_object();
	char lsn[MB_WAL_LSN_MAX];

	json_object_set_new(j, "id", json_integer(b->run_id));
	json_object_set_new(j, "finished", json_string(b->finished));
	json_object_set_new(j, "status", json_string(v->status));
	if (!b->tli)
		return j;
	mb_wal_lsn_format(v->start_lsn, lsn);
	json_object_set_new(j, "timeline", json_integer(b->tli));
	json_object_set_new(j, "start_lsn", json_string(lsn));
	json_object_set_new(j, "target_timeline", json_integer(v->gap.target_tli));
	json_object_set_new(j, "first_missing", v->gap.first_missing[0] ?
			    json_string(v->gap.first_missing) : json_null());
	json_object_set_new(j, "last_segment", v->gap.last[0] ? json_string(v->gap.last)
							      : json_null());
	if (v->error[0])
		json_object_set_new(j, "error", json_string(v->error));
	return j;
}

/* What wal-check found about the archive itself. */
struct state {
	const char *archive;
	struct mb_wal_store *st;
	const struct mb_wal_scan *s;
	long age;			/* s since the newest segment was archived; -1 none */
	char failure[1400];		/* push.failed's line, "" if none */
	struct mb_wal_lag lag;		/* the database's view, when asked */
	bool asked;
};

static json_t *lag_json(const struct mb_wal_lag *l)
{
	json_t *j = json_object();

	json_object_set_new(j, "current", l->current[0] ? json_string(l->current) : json_null());
	json_object_set_new(j, "last_archived", l->last_archived[0] ? json_string(l->last_archived)
								     : json_null());
	json_object_set_new(j, "behind_segments", l->behind >= 0 ? json_integer(l->behind)
								  : json_null());
	json_object_set_new(j, "failed_count", json_integer(l->failed_count));
	json_object_set_new(j, "last_failed", l->last_failed[0] ? json_string(l->last_failed)
								 : json_null());
	json_object_set_new(j, "last_failed_time", l->last_failed_time[0] ?
			    json_string(l->last_failed_time) : json_null());
	json_object_set_new(j, "failing", json_boolean(l->failing));
	return j;
}

static json_t *archive_json(const struct state *a)
{
	const struct mb_wal_scan *s = a->s;
	json_t *j = json_object(), *tl = json_array();

	for (size_t i = 0; i < s->n_hist; i++)
		json_array_append_new(tl, json_integer(s->hist[i]));
	json_object_set_new(j, "archive", json_string(a->archive));
	json_object_set_new(j, "segment_size", json_integer(s->seg_size));
	json_object_set_new(j, "store", json_string(a->st->ops->kind));
	json_object_set_new(j, "segments", json_integer((json_int_t)s->n_segs));
	json_object_set_new(j, "compressed", json_integer((json_int_t)s->n_zst));
	json_object_set_new(j, "partial", json_integer((json_int_t)s->n_partial));
	json_object_set_new(j, "temporary", json_integer((json_int_t)s->n_tmp));
	json_object_set_new(j, "history_timelines", tl);
	json_object_set_new(j, "newest", s->n_segs ? json_string(s->newest) : json_null());
	json_object_set_new(j, "newest_age_s", a->age >= 0 ? json_integer(a->age) : json_null());
	json_object_set_new(j, "push_failed", a->failure[0] ? json_string(a->failure) : json_null());
	json_object_set_new(j, "database", a->asked ? lag_json(&a->lag) : json_null());
	return j;
}

static void print_archive(const struct state *a)
{
	const struct mb_wal_lag *l = &a->lag;

	printf("archive '%s': %zu segment(s) of %u bytes, %zu partial, %zu history file(s)\n",
	       a->archive, a->s->n_segs, a->s->seg_size, a->s->n_partial, a->s->n_hist);
	if (a->s->n_zst)
		printf("%zu segment(s) stored compressed (zstd)\n", a->s->n_zst);
	if (a->s->n_segs)
		printf("newest %s, archived %ld s ago\n", a->s->newest, a->age);
	if (a->failure[0])
		printf("the latest wal-push failed: %s\n", a->failure);
	if (a->asked && l->behind >= 0)
		printf("database: writing %s, last archived %s: %ld segment(s) behind\n",
		       l->current, l->last_archived, l->behind);
	else if (a->asked)
		printf("database: writing %s, last archived %s\n", l->current[0] ? l->current : "-",
		       l->last_archived[0] ? l->last_archived : "-");
	if (a->asked && l->failed_count)
		printf("database: %ld archive_command failure(s), the last %s at %s%s\n",
		       l->failed_count, l->last_failed, l->last_failed_time,
		       l->failing ? " (failing now)" : "");
}

static void print_text(const struct state *a, const struct mb_wal_backup *b,
		       const struct verdict *v, size_t n)
{
	char lsn[MB_WAL_LSN_MAX];

	print_archive(a);
	for (size_t i = 0; i < n; i++) {
		mb_wal_lsn_format(v[i].start_lsn, lsn);
		if (!b[i].tli)
			printf("backup %" PRId64 ": no WAL (not a PostgreSQL backup)\n", b[i].run_id);
		else if (strcmp(v[i].status, "complete") == 0)
			printf("backup %" PRId64 ": timeline %u from %s: complete through %s "
			       "(timeline %u)\n", b[i].run_id, b[i].tli, lsn, v[i].gap.last,
			       v[i].gap.target_tli);
		else if (strcmp(v[i].status, "gap") == 0)
			printf("backup %" PRId64 ": timeline %u from %s: gap, %s is missing\n",
			       b[i].run_id, b[i].tli, lsn, v[i].gap.first_missing);
		else
			printf("backup %" PRId64 ": timeline %u from %s: %s\n", b[i].run_id,
			       b[i].tli, lsn, v[i].error);
	}
}

static void report(const struct mb_options *o, const struct state *a,
		   const struct mb_wal_backup *b, const struct verdict *v, size_t n)
{
	json_t *j, *arr;

	if (!o->output || strcmp(o->output, "json") != 0) {
		print_text(a, b, v, n);
		return;
	}
	j = archive_json(a);
	arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, verdict_json(&b[i], &v[i]));
	json_object_set_new(j, "backups", arr);
	json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	printf("\n");
	json_decref(j);
}

/* The archive's own state, and the database's view when --db postgres. */
static void look(const struct mb_options *o, struct state *a)
{
	char err[512];

	a->age = a->s->newest_mtime ? (long)(time(NULL) - a->s->newest_mtime) : -1;
	if (mb_wal_failure_read(a->st, a->failure, sizeof(a->failure)) != 0)
		a->failure[0] = '\0';
	if (!o->db || strcmp(o->db, "postgres") != 0)
		return;
	if (mb_wal_lag_query(o->pg_conn, a->s->seg_size, &a->lag, err, sizeof(err)) == 0)
		a->asked = true;
	else
		mb_warn("wal-check: unable to ask PostgreSQL how far behind the archive is: %s", err);
}

void mb_wal_archive_summary(const struct mb_options *o)
{
	struct state a = { .archive = o->wal_archive };
	struct mb_wal_scan s;
	struct mb_error e = { 0 };

	if (mb_wal_archive_open(o, &a.st, NULL, &e) < 0 || mb_wal_scan(a.st, &s, &e) < 0) {
		printf("archive '%s': %s\n", o->wal_archive, e.msg);
		mb_wal_store_close(a.st);
		return;
	}
	a.s = &s;
	look(&(struct mb_options){ 0 }, &a);
	print_archive(&a);
	mb_wal_scan_free(&s);
	mb_wal_store_close(a.st);
}

/* The catalog's complete backups (none when there is no catalog yet);
 * the catalog's record of the archive brought up to date on the way (a
 * record that fails is only a warning: the check goes on). */
static int backups(const struct mb_options *o, const struct state *a, struct mb_wal_backup **b,
		   size_t *n, struct mb_error *e)
{
	struct mb_catalog *c = NULL;
	struct mb_error lost = { 0 };
	size_t added, dropped;
	int rc;

	*b = NULL;
	*n = 0;
	if (access(o->catalog, F_OK) < 0) {
		mb_warn("no catalog at '%s': no backup to check the archive for", o->catalog);
		return 0;
	}
	if (mb_catalog_open(&c, o->catalog, e) < 0)
		return -1;
	rc = mb_catalog_wal_backups(c, b, n, e);
	if (rc == 0 && mb_catalog_wal_record(c, a->st, a->s, &added, &dropped, &lost) < 0)
		mb_warn("%s", lost.msg);
	else if (rc == 0)
		mb_debug("wal-check: the catalog's record of the archive: %zu file(s) added, "
			"%zu dropped", added, dropped);
	mb_catalog_close(c);
	return rc;
}

/* The first backup (newest first) whose WAL is not whole fails the check. */
static int verdict_error(const char *archive, const char *failure,
			 const struct mb_wal_backup *b, const struct verdict *v, size_t n,
			 struct mb_error *e)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(v[i].status, "gap") == 0) {
			mb_fail(e, MB_ERR_PARTIAL, 0, "WAL archive '%s' has a gap: '%s' is missing "
				"(backup %" PRId64 " needs it)", archive, v[i].gap.first_missing,
				b[i].run_id);
			mb_hint(e, "a restore of that backup cannot replay past it; take a new backup");
			return -1;
		}
		if (strcmp(v[i].status, "error") == 0)
			return mb_fail(e, MB_ERR_PARTIAL, 0, "WAL archive '%s' for backup %" PRId64
				       ": %s", archive, b[i].run_id, v[i].error);
	}
	if (failure[0]) {
		mb_fail(e, MB_ERR_PARTIAL, 0, "WAL archive '%s' is behind: the latest wal-push "
			"failed: %s", archive, failure);
		mb_hint(e, "PostgreSQL retries it; its log and pg_stat_archiver say more");
		return -1;
	}
	return 0;
}

int mb_cmd_wal_check(const struct mb_options *o, struct mb_error *e)
{
	struct state a = { .archive = o->wal_archive };
	struct mb_wal_backup *b = NULL;
	struct verdict *v = NULL;
	struct mb_wal_scan s = { 0 };
	size_t n = 0;
	int rc = -1;

	if (mb_wal_archive_open(o, &a.st, NULL, e) < 0)
		return -1;
	if (mb_wal_scan(a.st, &s, e) < 0)
		goto out;
	a.s = &s;
	if (backups(o, &a, &b, &n, e) < 0)
		goto out;
	if (n && !(v = calloc(n, sizeof(*v)))) {
		mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to check '%s'", a.archive);
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		judge(a.st, &s, &b[i], &v[i]);
	look(o, &a);
	report(o, &a, b, v, n);
	rc = verdict_error(a.archive, a.failure, b, v, n, e);
out:
	free(v);
	mb_catalog_wal_backups_free(b, n);
	mb_wal_scan_free(&s);
	mb_wal_store_close(a.st);
	return rc;
}
