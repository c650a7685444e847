/*
 * The catalog's private parts: the handle, its statement cache and the one
 * bind / step helper every catalog file goes through.
 *
 * Each catalog file keeps its SQL in a static table of its own, indexed by
 * an enum of its own; the handle caches one prepared statement per (table,
 * index), so no list of every statement couples the files:
 *
 *	enum { RUN_WINDOW, ..., N_SQL };
 *	static const char *const sql[N_SQL] = { [RUN_WINDOW] = "UPDATE ..." };
 *	cat_do(c, sql, RUN_WINDOW, CAT_ARGS(CAT_I(ms), CAT_I(id)), "record
 *	       the window", e);
 */
#ifndef MB_CATALOG_INTERNAL_H
#define MB_CATALOG_INTERNAL_H

#include <sqlite3.h>
#include <stdint.h>

#include "common/error.h"

#define MAX_OPEN_PHASES 16
#define CAT_TABLES 16		/* files with a statement table, at most */
#define CAT_TABLE_STMTS 16	/* statements in one table, at most */

/* A phase begun by this connection: its monotonic start time. */
struct open_phase {
	int64_t run_id;		/* 0: slot free */
	char name[32];
	int64_t start_ms;
};

/* The prepared statements of one file's table. */
struct cat_cache {
	const char *const *sql;		/* the table; NULL: slot free */
	sqlite3_stmt *st[CAT_TABLE_STMTS];
};

struct mb_catalog {
	sqlite3 *db;
	char *path;
	struct cat_cache cache[CAT_TABLES];
	struct open_phase phases[MAX_OPEN_PHASES];
};

/* A value bound to a statement parameter, in parameter order. */
struct cat_val {
	enum { CAT_END, CAT_INT, CAT_TEXT, CAT_BLOB } kind;
	int64_t i;
	const char *s;		/* TEXT / BLOB (strlen bytes); NULL binds NULL */
};
#define CAT_I(v) ((struct cat_val){ CAT_INT, (int64_t)(v), NULL })
#define CAT_T(v) ((struct cat_val){ CAT_TEXT, 0, (v) })
#define CAT_B(v) ((struct cat_val){ CAT_BLOB, 0, (v) })
#define CAT_ARGS(...) ((const struct cat_val[]){ __VA_ARGS__, { CAT_END, 0, NULL } })
#define CAT_NO_ARGS ((const struct cat_val[]){ { CAT_END, 0, NULL } })

/* Fails with "unable to <what> in catalog '<path>': <sqlite message>". */
int cat_fail(struct mb_catalog *c, const char *what, struct mb_error *e);
/* Runs sql (no rows, no parameters: DDL, BEGIN, COMMIT). */
int cat_exec(struct mb_catalog *c, const char *sql, const char *what,
	     struct mb_error *e);
/* Runs sql[i] of a file's table with args bound, to its end; rows, if
 * any, are ignored. */
int cat_do(struct mb_catalog *c, const char *const *sql, int i,
	   const struct cat_val *args, const char *what, struct mb_error *e);
/* The same, calling row(st, ctx, e) for each row; row returns 0, or -1
 * having filled e, which stops the walk. */
typedef int cat_row_fn(sqlite3_stmt *st, void *ctx, struct mb_error *e);
int cat_each(struct mb_catalog *c, const char *const *sql, int i,
	     const struct cat_val *args, cat_row_fn *row, void *ctx,
	     const char *what, struct mb_error *e);
/* Runs body(c, ctx, e) inside BEGIN IMMEDIATE .. COMMIT: one commit, one
 * fsync; rolled back if body or the commit fails. */
typedef int cat_body_fn(struct mb_catalog *c, void *ctx, struct mb_error *e);
int cat_tx(struct mb_catalog *c, cat_body_fn *body, void *ctx,
	   const char *what, struct mb_error *e);
/* After an UPDATE of one row: fails with MB_ERR_NOT_FOUND
 * "unable to <what> in catalog '<path>': no <noun> <id>" if none changed. */
int cat_one_row(struct mb_catalog *c, int64_t id, const char *noun,
		const char *what, struct mb_error *e);
/* Grows a caller's array for one more row: *cap doubles; NULL on ENOMEM
 * (the array is left as it was). */
void *cat_grow(void *v, size_t n, size_t *cap, size_t size);

/* Brings the schema to MB_CATALOG_SCHEMA_VERSION (catalog_schema.c). */
int cat_migrate(struct mb_catalog *c, struct mb_error *e);

#endif
