/*
 * libpq, loaded the first time the database is asked (pg_lib.h).  Loaded
 * once, never unloaded.
 */
#include "plugins/quiesce/postgres/pg_lib.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "common/dlsyms.h"
#include "common/error.h"

#define LIBPQ "libpq.so.5"	/* the soname -lpq links against */
#define SYM(f) { "PQ" #f, offsetof(struct mb_pq_api, f) }

static const struct mb_dl_sym syms[] = {
	SYM(connectdbParams), SYM(status), SYM(errorMessage), SYM(finish),
	SYM(serverVersion), SYM(parameterStatus), SYM(user), SYM(host), SYM(port),
	SYM(backendPID), SYM(socket), SYM(exec), SYM(execParams), SYM(sendQueryParams),
	SYM(consumeInput), SYM(isBusy), SYM(getResult), SYM(resultStatus),
	SYM(resultErrorField), SYM(ntuples), SYM(nfields), SYM(getvalue), SYM(getisnull),
	SYM(clear), SYM(getCancel), SYM(cancel), SYM(freeCancel), SYM(conninfoParse),
	SYM(conninfoFree), SYM(freemem),
};

/* What is freed before the load is NULL: no library needed for that. */
static void no_finish(PGconn *c) { (void)c; }
static void no_clear(PGresult *r) { (void)r; }
static void no_freemem(void *p) { (void)p; }

struct mb_pq_api mb_pq = { .finish = no_finish, .clear = no_clear, .freemem = no_freemem };
static pthread_once_t once = PTHREAD_ONCE_INIT;
static bool loaded;
static char why[256];		/* why it did not load */

static void load(void)
{
	struct mb_pq_api api = mb_pq;

	if (mb_dl_table(LIBPQ, syms, sizeof(syms) / sizeof(syms[0]), &api, why,
			sizeof(why)) == 0) {
		mb_pq = api;	/* whole or not at all */
		loaded = true;
	}
}

int mb_pq_load(struct mb_error *e)
{
	pthread_once(&once, load);
	if (loaded)
		return 0;
	mb_fail(e, MB_ERR_DATABASE, 0, "unable to load %s (%s)", LIBPQ, why);
	mb_hint(e, "the database needs libpq: apt-get install libpq5, or run with --db none");
	return -1;
}
