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
#include "orchestrator/catalog_internal.h"

/* A column as JSON: null, integer, or string (invalid UTF-8, e.g. a raw
 * path in an error message, has its non-ASCII bytes replaced by '?'). */
static json_t *col_json(sqlite3_stmt *st, int i)
{
	const char *text;
	json_t *j;
	char *copy;

	switch (sqlite3_column_type(st, i)) {
	case SQLITE_NULL:
		return json_null();
	case SQLITE_INTEGER:
		return json_integer(sqlite3_column_int64(st, i));
	}
	text = (const char *)sqlite3_column_text(st, i);
	if (!text)
		return json_null();
	if ((j = json_string(text)))
		return j;
	if (!(copy = strdup(text)))
		return NULL;
	for (char *q = copy; *q; q++)
		if ((unsigned char)*q >= 0x80)
			*q = '?';
	j = json_string(copy);
	free(copy);
	return j;
}

/* The rows of one query, as an array of objects keyed by keys[]. */
struct rows {
	const char *const *keys;
	json_t *arr;
};

static int add_row(sqlite3_stmt *st, void *ctx, struct mb_error *e)
{
	struct rows *r = ctx;
	json_t *obj = json_object();

	for (int i = 0; obj && r->keys[i]; i++)
		if (json_object_set_new(obj, r->keys[i], col_json(st, i)) < 0)
			json_decref(obj), obj = NULL;
	if (!obj || json_array_append_new(r->arr, obj) < 0)
		return mb_fail(e, MB_ERR_CATALOG, ENOMEM, "unable to list the runs");
	return 0;
}

enum { LIST_RUNS, LIST_IMAGES, LIST_PHASES, LIST_FACTS, N_SQL };
static const char *const sql[N_SQL] = {
	[LIST_RUNS] = "SELECT id, status, verb, started, finished, window_ms,"
		      " bytes, files, exit_code, error,"
		      " CASE status WHEN 'complete' THEN finished END"
		      " FROM runs ORDER BY id DESC",
	[LIST_IMAGES] = "SELECT device, media, bytes, status FROM images"
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
	"device", "media", "bytes", "status", NULL
};
static const char *const phase_keys[] = {
	"name", "started", "finished", "duration_ms", "status", "detail", NULL
};

/* sql[i] (for run `id`, if i is not LIST_RUNS) as a JSON array. */
static json_t *rows_json(struct mb_catalog *c, int i, int64_t id,
			 const char *const keys[], struct mb_error *e)
{
	struct rows r = { keys, json_array() };

	if (!r.arr) {
		mb_fail(e, MB_ERR_CATALOG, ENOMEM, "unable to list the runs");
		return NULL;
	}
	if (cat_each(c, sql, i, i == LIST_RUNS ? CAT_NO_ARGS :
		     CAT_ARGS(CAT_I(id)), add_row, &r, "list the runs", e) < 0) {
		json_decref(r.arr);
		return NULL;
	}
	return r.arr;
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
	    json_object_set_new(run, "phases", v) < 0)
		return mb_fail(e, MB_ERR_CATALOG, ENOMEM,
			       "unable to list the runs");
	return 0;
}

/* All runs, newest first, as the array `mbackup list --output json` shows. */
static json_t *runs_json(struct mb_catalog *c, struct mb_error *e)
{
	json_t *runs = rows_json(c, LIST_RUNS, 0, run_keys, e), *run;
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
	json_t *runs = runs_json(c, e);
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

/* 1536 -> "1.5 KiB" */
static void human_bytes(char *buf, size_t len, double v)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB",
					    "PiB" };
	int u = 0;

	while (v >= 1024 && u < 5)
		v /= 1024, u++;
	if (u == 0)
		snprintf(buf, len, "%.0f B", v);
	else
		snprintf(buf, len, "%.1f %s", v, unit[u]);
}

/* 850 -> "850 ms", 83000 -> "1m23s", 7384000 -> "2h03m" */
static void human_ms(char *buf, size_t len, json_t *ms)
{
	long long v = json_integer_value(ms), s = v / 1000;

	if (!json_is_integer(ms))
		snprintf(buf, len, "-");
	else if (v < 10000)
		snprintf(buf, len, "%lld ms", v);
	else if (s < 60)
		snprintf(buf, len, "%llds", s);
	else if (s < 3600)
		snprintf(buf, len, "%lldm%02llds", s / 60, s % 60);
	else
		snprintf(buf, len, "%lldh%02lldm", s / 3600, s / 60 % 60);
}

/* Milliseconds between two catalog timestamps (whole seconds + ms). */
static json_t *elapsed(json_t *from, json_t *to)
{
	struct tm a = { 0 }, b = { 0 };
	int ams = 0, bms = 0;

	if (!json_is_string(from) || !json_is_string(to) ||
	    !strptime(json_string_value(from), "%Y-%m-%dT%H:%M:%S", &a) ||
	    !strptime(json_string_value(to), "%Y-%m-%dT%H:%M:%S", &b))
		return json_null();
	sscanf(json_string_value(from) + 19, ".%3d", &ams);
	sscanf(json_string_value(to) + 19, ".%3d", &bms);
	return json_integer((long long)(timegm(&b) - timegm(&a)) * 1000 +
			    bms - ams);
}

static void media_text(char *buf, size_t len, json_t *media)
{
	size_t i, n = 0;
	json_t *m;

	snprintf(buf, len, "-");
	json_array_foreach(media, i, m)
		n += snprintf(buf + n, n < len ? len - n : 0, "%s%s%s",
			      i ? ", " : "",
			      json_string_value(json_object_get(m, "media")) ?: "",
			      strcmp(json_string_value(json_object_get(m, "status")) ?: "",
				     "complete") ? " (failed)" : "");
}

int mb_catalog_list_text(struct mb_catalog *c, FILE *out, struct mb_error *e)
{
	char dur[32], win[32], bytes[32], media[512];
	json_t *runs = runs_json(c, e), *r, *d;
	size_t i;

	if (!runs)
		return -1;
	fprintf(out, "%6s  %-8s  %-24s  %9s  %8s  %10s  %s\n", "ID", "STATUS",
		"STARTED", "DURATION", "WINDOW", "BYTES", "MEDIA");
	json_array_foreach(runs, i, r) {
		d = elapsed(json_object_get(r, "started"),
			    json_object_get(r, "finished"));
		human_ms(dur, sizeof(dur), d);
		json_decref(d);
		human_ms(win, sizeof(win), json_object_get(r, "window_ms"));
		human_bytes(bytes, sizeof(bytes),
			    (double)json_integer_value(json_object_get(r, "bytes")));
		media_text(media, sizeof(media), json_object_get(r, "media"));
		fprintf(out, "%6lld  %-8s  %-24s  %9s  %8s  %10s  %s\n",
			(long long)json_integer_value(json_object_get(r, "id")),
			json_string_value(json_object_get(r, "status")),
			json_string_value(json_object_get(r, "started")), dur,
			win, bytes, media);
	}
	json_decref(runs);
	if (fflush(out) == EOF)
		return mb_fail(e, MB_ERR_IO, errno, "unable to write the list");
	return 0;
}
