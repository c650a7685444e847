/*
 * The snapshot that stood in for a split leg, one row per snapshot of a
 * run (schema 4): what `mbackup list` shows of it.
 */
#include <errno.h>
#include <jansson.h>

#include "orchestrator/catalog.h"
#include "orchestrator/catalog_internal.h"
#include "orchestrator/catalog_snapshot.h"

enum { SNAP_ADD, SNAP_LIST, N_SQL };
static const char *const sql[N_SQL] = {
	[SNAP_ADD] = "INSERT INTO snapshots (run_id, method, origin, snapshot, container_pv,"
		     " chunk_bytes, size_initial, size_final, extensions, peak_pct,"
		     " throttled_ms, throttle_bps, invalidated, outcome)"
		     " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ? / 10.0, ?, ?, ?, ?)",
	[SNAP_LIST] = "SELECT method, origin, snapshot, container_pv, chunk_bytes,"
		      " size_initial, size_final, extensions, peak_pct, throttled_ms,"
		      " throttle_bps, invalidated, outcome FROM snapshots"
		      " WHERE run_id = ? ORDER BY rowid",
};
static const char *const keys[] = {
	"method", "origin", "snapshot", "container_pv", "chunk_bytes", "size_initial",
	"size_final", "extensions", "peak_pct", "throttled_ms", "throttle_bps",
	"invalidated", "outcome", NULL
};

int mb_catalog_snapshot_add(struct mb_catalog *c, int64_t run_id,
			    const struct mb_mirror_stats *s, struct mb_error *e)
{
	return cat_do(c, sql, SNAP_ADD,
		      CAT_ARGS(CAT_I(run_id), CAT_T(s->method), CAT_T(s->origin),
			       CAT_T(s->snapshot), CAT_T(s->container_pv[0] ? s->container_pv : NULL),
			       CAT_I(s->chunk_bytes), CAT_I(s->size_initial), CAT_I(s->size_final),
			       CAT_I(s->extensions), CAT_I((long long)(s->peak_pct * 10 + 0.5)),
			       CAT_I(s->throttled_ms), CAT_I(s->throttle_bps),
			       CAT_I(s->invalidated), CAT_T(s->outcome)),
		      "record the snapshot", e);
}

static int add_row(sqlite3_stmt *st, void *ctx, struct mb_error *e)
{
	json_t *obj = json_object(), *arr = ctx, *v;

	for (int i = 0; obj && keys[i]; i++) {
		switch (sqlite3_column_type(st, i)) {
		case SQLITE_NULL:
			v = json_null();
			break;
		case SQLITE_INTEGER:
			v = i == 11 ? json_boolean(sqlite3_column_int(st, i))
				    : json_integer(sqlite3_column_int64(st, i));
			break;
		case SQLITE_FLOAT:
			v = json_real(sqlite3_column_double(st, i));
			break;
		default:
			v = json_string((const char *)sqlite3_column_text(st, i));
		}
		if (json_object_set_new(obj, keys[i], v) < 0)
			json_decref(obj), obj = NULL;
	}
	if (!obj || json_array_append_new(arr, obj) < 0)
		return mb_fail(e, MB_ERR_CATALOG, ENOMEM, "unable to list the snapshots");
	return 0;
}

json_t *mb_catalog_snapshot_json(struct mb_catalog *c, int64_t run_id, struct mb_error *e)
{
	json_t *arr = json_array();

	if (!arr) {
		mb_fail(e, MB_ERR_CATALOG, ENOMEM, "unable to list the snapshots");
		return NULL;
	}
	if (cat_each(c, sql, SNAP_LIST, CAT_ARGS(CAT_I(run_id)), add_row, arr,
		     "list the snapshots", e) < 0) {
		json_decref(arr);
		return NULL;
	}
	return arr;
}
