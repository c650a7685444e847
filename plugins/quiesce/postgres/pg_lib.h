/*
 * libpq, loaded the first time the database is asked (pg_lib.c), as
 * libcurl is for the object store: a run with --db none, to a file or a
 * tape, never maps it and what it pulls in (LDAP, GnuTLS, Kerberos:
 * ~3.5 MB of the resident set).  Every call goes through mb_pq, which is
 * filled once mb_pq_load() succeeded: every function that holds a
 * PGconn got it through a connect made after that load.  The guard
 * process is forked after the plugin connected, so it inherits the table
 * and never loads a library itself.
 */
#ifndef MB_PG_LIB_H
#define MB_PG_LIB_H

#include <libpq-fe.h>

struct mb_error;

struct mb_pq_api {
	PGconn *(*connectdbParams)(const char *const *keys, const char *const *vals, int expand);
	ConnStatusType (*status)(const PGconn *c);
	char *(*errorMessage)(const PGconn *c);
	void (*finish)(PGconn *c);
	int (*serverVersion)(const PGconn *c);
	const char *(*parameterStatus)(const PGconn *c, const char *name);
	char *(*user)(const PGconn *c);
	char *(*host)(const PGconn *c);
	char *(*port)(const PGconn *c);
	int (*backendPID)(const PGconn *c);
	int (*socket)(const PGconn *c);
	PGresult *(*exec)(PGconn *c, const char *sql);
	PGresult *(*execParams)(PGconn *c, const char *sql, int n, const Oid *types,
				const char *const *vals, const int *lens, const int *fmts,
				int result_fmt);
	int (*sendQueryParams)(PGconn *c, const char *sql, int n, const Oid *types,
			       const char *const *vals, const int *lens, const int *fmts,
			       int result_fmt);
	int (*consumeInput)(PGconn *c);
	int (*isBusy)(PGconn *c);
	PGresult *(*getResult)(PGconn *c);
	ExecStatusType (*resultStatus)(const PGresult *r);
	char *(*resultErrorField)(const PGresult *r, int field);
	int (*ntuples)(const PGresult *r);
	int (*nfields)(const PGresult *r);
	char *(*getvalue)(const PGresult *r, int row, int col);
	int (*getisnull)(const PGresult *r, int row, int col);
	void (*clear)(PGresult *r);
	PGcancel *(*getCancel)(PGconn *c);
	int (*cancel)(PGcancel *k, char *err, int len);
	void (*freeCancel)(PGcancel *k);
	PQconninfoOption *(*conninfoParse)(const char *conninfo, char **err);
	void (*conninfoFree)(PQconninfoOption *o);
	void (*freemem)(void *p);
};

/* The table; until mb_pq_load() succeeded its pointers are NULL, but for
 * finish, clear and freemem, which take the NULL a failed load leaves. */
extern struct mb_pq_api mb_pq;

/* Loads libpq (once, whichever thread calls first): 0, or -1 with e
 * filled (MB_ERR_DATABASE and a HINT to install it) when it cannot be;
 * e NULL: just -1. */
int mb_pq_load(struct mb_error *e);

#endif
