/*
 * Inside the postgres plugin: the state one handle holds, shared by its
 * files (postgres.c: the session; pgdata.c: the cluster's rules for the
 * set; pg_manifest.c: backup_manifest).  Not for use outside this folder.
 */
#ifndef MB_PG_INTERNAL_H
#define MB_PG_INTERNAL_H

#include <stdbool.h>

#include "common/stop.h"
#include "plugins/quiesce/postgres/pg_lib.h"
#include "plugins/quiesce/postgres/postgres.h"

struct pg {
	char *conninfo;		/* "" : libpq's environment */
	enum mb_pg_mode mode;
	bool fast;		/* --checkpoint fast: an immediate start checkpoint */
	char *label;
	PGconn *conn;
	bool discovered;	/* info is filled in */
	bool prepared;		/* the slot holds the WAL */
	bool in_backup;		/* pg_backup_start succeeded, no stop yet */
	bool stopped;		/* result is filled in */
	struct mb_pg_info info;
	struct mb_pg_backup result;
	char *guard_arg;	/* from prepare on: what the guard's undo needs */
	struct mb_stop stop;	/* every statement waits on it, but leave's */
};

/* pgdata.c */
const char *mb_pg_source(struct mb_quiesce *q, const char *given, struct mb_error *e);
int mb_pg_place(struct mb_quiesce *q, const struct mb_quiesce_leg *legs, size_t n,
		struct mb_error *e);
enum mb_quiesce_keep mb_pg_filter(struct mb_quiesce *q, const char *path);
void mb_pg_filtered(struct mb_quiesce *q, size_t dropped);
int mb_pg_artifacts(struct mb_quiesce *q, struct mb_set *set, struct mb_error *e);

/* pg_deadline.c: the session ended from outside at the guard's deadline */
const char *mb_pg_guard(struct mb_quiesce *q);
int mb_pg_undo(const char *arg, const struct mb_undo_ctx *ctx, struct mb_error *e);

/* pg_recovery.c: what a backup is as a start point, and the restore to a
 * point in time */
int mb_pg_facts(struct mb_quiesce *q, struct mb_fact *out, size_t cap, size_t *n,
		struct mb_error *e);
extern const struct mb_recovery_ops mb_pg_recovery;
/* recovery_target_time's value: the time given, in UTC; -1 if malformed */
int mb_pg_target_time_utc(const char *value, char *out, size_t size);

/* pg_recovery_conf.c: recovery.signal and the settings in
 * postgresql.auto.conf (the recovery op's write) */
int mb_pg_recovery_write(const char *dir, const struct mb_recovery_target *t,
			 const char *const *fetch, struct mb_error *e);

/* pg_manifest.c */
int mb_pg_manifest(struct mb_quiesce *q, struct mb_set *set, struct mb_error *e);

#endif
