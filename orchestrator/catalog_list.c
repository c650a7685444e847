/*
 * `mbackup list`: the catalog's runs as JSON (stable keys, read by
 * schedulers and monitoring) or as a text table.
 */
#include <errno.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "orchestrator/catalog.h"
#include "orchestrator/catalog_incr.h"
#include "orchestrator/catalog_internal.h"
#include "orchestrator/catalog_json.h"
#include "orchestrator/catalog_snapshot.h"

enum { LIST_RUNS, LIST_IMAGES, LIST_PHASES, LIST_FACTS, N_SQL };
static const char *const sql[N_SQL] = {
	[LIST_RUNS] = "SELECT id, status, verb, started, finished, window_ms,"
		      " bytes, files, exit_code, error,"
		      " CASE status WHEN 'complete' THEN finished END"
		      " FROM runs WHERE started >= ? ORDER BY id DESC LIMIT ?",
	[LIST_IMAGES] = "SELECT device, media, bytes, status, compressed_bytes FROM images"
			" WHERE run_id = ? ORDER BY device, rowid",
	[LIST_PHASES] = "SELECT name, started, finished, duration_ms, status,"
			" detail FROM phases WHERE run_id = ? ORDER BY rowid",
	[LIST_FACTS] = "SELECT key, value FROM run_facts WHERE run_id = ?"
		       " ORDER BY key",
};
static const char *const run_keys[] = {
	"id", "status", "verb", "started", "finished", "window_ms", "bytes",
	"files", "exit_code", "error", "end_time", NULL
};
/* Facts every run shows, null when its plugins reported none (a backup
 * of --db none); any other fact a plugin reports is shown too. */
static const char *const fact_keys[] = {
	"start_lsn", "stop_lsn", "timeline", "consistent_at", NULL
};
static const char *const media_keys[] = {
	"device", "media", "bytes", "status", "compressed_bytes", NULL
};
static const char *const phase_keys[] = {
	"name", "started", "finished", "duration_ms", "status", "detail", NULL
};

/* sql[i] for run `id` as a JSON array. */
static json_t *rows_json(struct mb_catalog *c, int i, int64_t id,
			 const char *const keys[], struct mb_error *e)
{
	return cat_rows_json(c, sql, i, CAT_ARGS(CAT_I(id)), keys, "list the runs", e);
}

/* A fact's value as JSON: digits alone are a number (a timeline). */
static json_t *fact_json(const char *value)
{
	size_t len = strlen(value);

	if (len && len < 16 && strspn(value, "0123456789") == len)
		return json_integer(strtoll(value, NULL, 10));
	return json_string(value);
}

static int add_fact(sqlite3_stmt *st, void *ctx, struct mb_error *e)
{
	json_t *run = ctx, *v;
	const char *key = (const char *)sqlite3_column_text(st, 0);
	bool known = false;

	for (int i = 0; key && fact_keys[i]; i++)
		known |= strcmp(key, fact_keys[i]) == 0;
	/* a key of the run itself ("id", "media") stays the run's */
	if (!key || (!known && json_object_get(run, key)) || !strcmp(key, "media") ||
	    !strcmp(key, "phases"))
		return 0;
	v = fact_json((const char *)sqlite3_column_text(st, 1));
	if (!v || json_object_set_new(run, key, v) < 0)
		return mb_fail(e, MB_ERR_CATALOG, ENOMEM, "unable to list the runs");
	return 0;
}

/* The facts of one run as keys of its object. */
static int run_facts(struct mb_catalog *c, json_t *run, int64_t id, struct mb_error *e)
{
	for (int i = 0; fact_keys[i]; i++)
		if (json_object_set_new(run, fact_keys[i], json_null()) < 0)
			return mb_fail(e, MB_ERR_CATALOG, ENOMEM, "unable to list the runs");
	return cat_each(c, sql, LIST_FACTS, CAT_ARGS(CAT_I(id)), add_fact, run,
			"list the runs", e);
}

/* Adds the facts, "media" and "phases" to one run object. */
static int run_details(struct mb_catalog *c, json_t *run, struct mb_error *e)
{
	int64_t id = json_integer_value(json_object_get(run, "id"));
	json_t *v;

	if (run_facts(c, run, id, e) < 0)
		return -1;
	if (!(v = rows_json(c, LIST_IMAGES, id, media_keys, e)) ||
	    json_object_set_new(run, "media", v) < 0 ||
	    !(v = rows_json(c, LIST_PHASES, id, phase_keys, e)) ||
	    json_object_set_new(run, "phases", v) < 0 ||
	    mb_catalog_backup_json(c, id, run, e) < 0 ||
	    !(v = mb_catalog_snapshot_json(c, id, e)) ||
	    json_object_set_new(run, "snapshots", v) < 0)
		return mb_fail(e, MB_ERR_CATALOG, ENOMEM,
			       "unable to list the runs");
	return 0;
}

/* The runs of f (NULL: all), newest first, as the array `mbackup list
 * --output json` shows.  (LIMIT -1: no limit.) */
static json_t *runs_json(struct mb_catalog *c, const struct mb_list_filter *f,
			 struct mb_error *e)
{
	json_t *runs = cat_rows_json(c, sql, LIST_RUNS,
				     CAT_ARGS(CAT_T(f ? f->since : ""),
					      CAT_I(f && f->limit > 0 ? f->limit : -1)),
				     run_keys, "list the runs", e), *run;
	size_t i;

	if (!runs)
		return NULL;
	json_array_foreach(runs, i, run) {
		if (run_details(c, run, e) < 0) {
			json_decref(runs);
			return NULL;
		}
	}
	return runs;
}

int mb_catalog_list_json(struct mb_catalog *c, FILE *out, struct mb_error *e)
{
	return mb_catalog_list_json_filtered(c, out, NULL, e);
}

int mb_catalog_list_json_filtered(struct mb_catalog *c, FILE *out,
				  const struct mb_list_filter *f, struct mb_error *e)
{
	json_t *runs = runs_json(c, f, e);
	int rc = -1;

	if (!runs)
		return -1;
	if (json_dumpf(runs, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER) < 0 ||
	    fputc('\n', out) == EOF || fflush(out) == EOF)
		mb_fail(e, MB_ERR_IO, errno, "unable to write the list");
	else
		rc = 0;
	json_decref(runs);
	return rc;
}

static void media_text(char *buf, size_t len, json_t *media)
{
	size_t i, n = 0;
	json_t *m;

	snprintf(buf, len, "-");
	json_array_foreach(media, i, m) {
		json_int_t z = json_integer_value(json_object_get(m, "compressed_bytes"));

		n += snprintf(buf + n, n < len ? len - n : 0, "%s%s%s",
			      i ? ", " : "",
			      json_string_value(json_object_get(m, "media")) ?: "",
			      strcmp(json_string_value(json_object_get(m, "status")) ?: "",
				     "complete") ? " (failed)" : "");
		if (z > 0)	/* the ratio: image bytes to bytes on the medium */
			n += snprintf(buf + n, n < len ? len - n : 0, " (zstd %.2f:1)",
				      (double)json_integer_value(json_object_get(m, "bytes")) /
				      (double)z);
	}
}

/* One line per snapshot under its run. */
static void snapshots_text(FILE *out, json_t *snaps)
{
	size_t i;
	json_t *s;
	char rate[48];

	json_array_foreach(snaps, i, s) {
		long long bps = json_integer_value(json_object_get(s, "throttle_bps"));

		/* the limit the writers were held to at its lowest */
		rate[0] = '\0';
		if (bps > 0 && json_integer_value(json_object_get(s, "throttled_ms")) > 0)
			snprintf(rate, sizeof(rate), " down to %lld KiB/s", bps >> 10);
		fprintf(out, "%6s  snapshot %s '%s' of '%s': peak %.1f%%, %lld extension(s), "
			"%lld -> %lld MiB, writers throttled %lld ms%s%s\n", "",
			json_string_value(json_object_get(s, "method")) ?: "?",
			json_string_value(json_object_get(s, "snapshot")) ?: "?",
			json_string_value(json_object_get(s, "origin")) ?: "?",
			json_number_value(json_object_get(s, "peak_pct")),
			(long long)json_integer_value(json_object_get(s, "extensions")),
			(long long)json_integer_value(json_object_get(s, "size_initial")) >> 20,
			(long long)json_integer_value(json_object_get(s, "size_final")) >> 20,
			(long long)json_integer_value(json_object_get(s, "throttled_ms")), rate,
			json_is_true(json_object_get(s, "invalidated")) ? ", INVALIDATED" : "");
	}
}

int mb_catalog_list_text(struct mb_catalog *c, FILE *out, struct mb_error *e)
{
	return mb_catalog_list_text_filtered(c, out, NULL, e);
}

int mb_catalog_list_text_filtered(struct mb_catalog *c, FILE *out,
				  const struct mb_list_filter *f, struct mb_error *e)
{
	char dur[32], win[32], bytes[32], media[512];
	json_t *runs = runs_json(c, f, e), *r, *d;
	size_t i;

	if (!runs)
		return -1;
	fprintf(out, "%6s  %-8s  %-24s  %9s  %8s  %10s  %s\n", "ID", "STATUS",
		"STARTED", "DURATION", "WINDOW", "BYTES", "MEDIA");
	json_array_foreach(runs, i, r) {
		d = cat_elapsed(json_object_get(r, "started"),
			    json_object_get(r, "finished"));
		cat_human_ms(dur, sizeof(dur), d);
		json_decref(d);
		cat_human_ms(win, sizeof(win), json_object_get(r, "window_ms"));
		cat_human_bytes(bytes, sizeof(bytes),
			    (double)json_integer_value(json_object_get(r, "bytes")));
		media_text(media, sizeof(media), json_object_get(r, "media"));
		fprintf(out, "%6lld  %-8s  %-24s  %9s  %8s  %10s  %s\n",
			(long long)json_integer_value(json_object_get(r, "id")),
			json_string_value(json_object_get(r, "status")),
			json_string_value(json_object_get(r, "started")), dur,
			win, bytes, media);
		snapshots_text(out, json_object_get(r, "snapshots"));
	}
	json_decref(runs);
	if (fflush(out) == EOF)
		return mb_fail(e, MB_ERR_IO, errno, "unable to write the list");
	return 0;
}
