/*
 * The catalog's snapshots table (schema 4): the snapshot a run read
 * instead of a split leg, its container and the watch's record.
 */
#ifndef MB_CATALOG_SNAPSHOT_H
#define MB_CATALOG_SNAPSHOT_H

#include <jansson.h>
#include <stdint.h>

#include "common/error.h"
#include "plugins/mirror/mirror.h"

struct mb_catalog;

int mb_catalog_snapshot_add(struct mb_catalog *c, int64_t run_id,
			    const struct mb_mirror_stats *s, struct mb_error *e);
/* The run's snapshots as an array of objects keyed by the column names
 * (method, origin, snapshot, container_pv, chunk_bytes, size_initial,
 * size_final, extensions, peak_pct, throttled_ms, throttle_bps,
 * invalidated, outcome); NULL on failure. */
json_t *mb_catalog_snapshot_json(struct mb_catalog *c, int64_t run_id, struct mb_error *e);

#endif
