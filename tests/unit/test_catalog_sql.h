/*
 * The catalog tests' side door: SQL run on the catalog file straight
 * through SQLite, to look at (or set up) what mbackup wrote.  Set sql_db
 * to the file first.
 */
#ifndef TEST_CATALOG_SQL_H
#define TEST_CATALOG_SQL_H

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>

#include "tests/lib/tap.h"

static const char *sql_db;

/* Runs sql (any number of statements, no rows); 0 or -1 with a diag. */
static inline int sql_exec(const char *sql)
{
	sqlite3 *db = NULL;
	char *err = NULL;
	int rc = -1;

	if (sqlite3_open(sql_db, &db) == SQLITE_OK &&
	    sqlite3_exec(db, sql, NULL, NULL, &err) == SQLITE_OK)
		rc = 0;
	if (rc < 0)
		diag("sql failed: %s", err ? err : sqlite3_errmsg(db));
	sqlite3_free(err);
	sqlite3_close(db);
	return rc;
}

/* The first column of the first row of sql: as text in buf (empty if no
 * row); returns 0 if there was a row, else -1. */
static inline int sql_row(const char *sql, char *buf, size_t len)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	int rc = -1;

	buf[0] = '\0';
	if (sqlite3_open(sql_db, &db) != SQLITE_OK)
		return -1;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW) {
			const unsigned char *t = sqlite3_column_text(st, 0);

			snprintf(buf, len, "%s", t ? (const char *)t : "");
			rc = 0;
		}
		sqlite3_finalize(st);
	}
	sqlite3_close(db);
	return rc;
}

/* ... as an integer, -1 if no row. */
static inline long long sql1(const char *sql)
{
	char buf[64];

	return sql_row(sql, buf, sizeof(buf)) < 0 ? -1 : strtoll(buf, NULL, 10);
}

/* ... as text (a static buffer). */
static inline const char *sqlt(const char *sql)
{
	static char buf[64];

	sql_row(sql, buf, sizeof(buf));
	return buf;
}

#endif
