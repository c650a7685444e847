/*
 * Catalog rows as JSON, and their text forms, for the commands that show
 * runs (list: catalog_list.c, info: info.c).  Part of the catalog module.
 */
#ifndef MB_CATALOG_JSON_H
#define MB_CATALOG_JSON_H

#include <jansson.h>
#include <stddef.h>

#include "orchestrator/catalog_internal.h"

/* Column i as JSON: null, integer, or string (invalid UTF-8, e.g. a raw
 * path in an error message, has its non-ASCII bytes replaced by '?'). */
json_t *cat_col_json(sqlite3_stmt *st, int i);
/* The rows of sql[i] with args, as an array of objects keyed by keys[]
 * (NULL-terminated, one per column); NULL with e filled ("unable to
 * <what>" on ENOMEM). */
json_t *cat_rows_json(struct mb_catalog *c, const char *const *sql, int i,
		      const struct cat_val *args, const char *const keys[],
		      const char *what, struct mb_error *e);
/* 1536 -> "1.5 KiB" */
void cat_human_bytes(char *buf, size_t len, double v);
/* 850 -> "850 ms", 83000 -> "1m23s", 7384000 -> "2h03m"; not an integer: "-" */
void cat_human_ms(char *buf, size_t len, json_t *ms);
/* Milliseconds between two catalog timestamps (json null if either is
 * not one); a new reference. */
json_t *cat_elapsed(json_t *from, json_t *to);

#endif
