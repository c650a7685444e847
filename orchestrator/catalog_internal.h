/*
 * The catalog's private parts, shared by catalog.c (schema, runs, phases,
 * obligations, sets), catalog_list.c (`mbackup list`) and catalog_tape.c
 * (where an image went on tape).
 */
#ifndef MB_CATALOG_INTERNAL_H
#define MB_CATALOG_INTERNAL_H

#include <sqlite3.h>
#include <stdint.h>

#include "common/error.h"

#define MAX_OPEN_PHASES 16

enum stmt_id {
	S_RUN_BEGIN, S_RUN_END, S_RUN_WINDOW, S_RUN_TOTALS, S_PHASE_BEGIN,
	S_PHASE_END, S_PHASE_RECORD, S_OBL_ADD, S_OBL_SET, S_OBL_OPEN, S_RUNS_RUNNING,
	S_IMAGE_ADD, S_SET_DEL_EXT, S_SET_DEL_FILES, S_SET_FILE, S_SET_EXTENT,
	S_LIST_RUNS, S_LIST_IMAGES, S_LIST_PHASES, S_PLACE, S_TAPE_PART, S_TAPE_MEMBERS,
	N_STMT
};

/* A phase begun by this connection: its monotonic start time. */
struct open_phase {
	int64_t run_id;		/* 0: slot free */
	char name[32];
	int64_t start_ms;
};

struct mb_catalog {
	sqlite3 *db;
	char *path;
	sqlite3_stmt *stmt[N_STMT];	/* prepared on first use, reused */
	struct open_phase phases[MAX_OPEN_PHASES];
};

/* Runs sql (no rows) with no parameters. */
int cat_exec(struct mb_catalog *c, const char *sql, const char *what, struct mb_error *e);
/* Steps a statement that returns no rows. */
int cat_done(struct mb_catalog *c, sqlite3_stmt *st, const char *what, struct mb_error *e);
/* Binds text, or NULL for a NULL pointer. */
void bind_text(sqlite3_stmt *st, int i, const char *s);
/* Schema 2: the tape tables (catalog_tape.c); NULL-terminated. */
extern const char *const mb_catalog_schema_tape[];

/* Fails with "unable to <what> in catalog '<path>': <sqlite message>". */
int cat_fail(struct mb_catalog *c, const char *what, struct mb_error *e);
/* The statement id, prepared on first use from sql, reset for reuse. */
sqlite3_stmt *cat_stmt(struct mb_catalog *c, enum stmt_id id, const char *sql,
		       struct mb_error *e);

#endif
