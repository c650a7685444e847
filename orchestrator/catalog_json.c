/* Catalog rows as JSON, and their text forms; see catalog_json.h. */
#include "orchestrator/catalog_json.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A column as JSON: null, integer, or string (invalid UTF-8, e.g. a raw
 * path in an error message, has its non-ASCII bytes replaced by '?'). */
json_t *cat_col_json(sqlite3_stmt *st, int i)
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

struct rows {
	const char *const *keys;
	const char *what;
	json_t *arr;
};

static int add_row(sqlite3_stmt *st, void *ctx, struct mb_error *e)
{
	struct rows *r = ctx;
	json_t *obj = json_object();

	for (int i = 0; obj && r->keys[i]; i++)
		if (json_object_set_new(obj, r->keys[i], cat_col_json(st, i)) < 0)
			json_decref(obj), obj = NULL;
	if (!obj || json_array_append_new(r->arr, obj) < 0)
		return mb_fail(e, MB_ERR_CATALOG, ENOMEM, "unable to %s", r->what);
	return 0;
}

json_t *cat_rows_json(struct mb_catalog *c, const char *const *sql, int i,
		      const struct cat_val *args, const char *const keys[],
		      const char *what, struct mb_error *e)
{
	struct rows r = { keys, what, json_array() };

	if (!r.arr) {
		mb_fail(e, MB_ERR_CATALOG, ENOMEM, "unable to %s", what);
		return NULL;
	}
	if (cat_each(c, sql, i, args, add_row, &r, what, e) < 0) {
		json_decref(r.arr);
		return NULL;
	}
	return r.arr;
}

void cat_human_bytes(char *buf, size_t len, double v)
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

void cat_human_ms(char *buf, size_t len, json_t *ms)
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

json_t *cat_elapsed(json_t *from, json_t *to)
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
