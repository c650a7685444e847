/*
 * What the WAL archive's verbs (wal-check, expire) read and change in the
 * catalog: the complete backups and where their WAL starts, and the
 * expiry of old runs.
 */
#ifndef MB_CATALOG_WAL_H
#define MB_CATALOG_WAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "orchestrator/catalog.h"

/* A complete backup that is not expired. */
struct mb_wal_backup {
	int64_t run_id;
	char finished[32];
	uint32_t tli;		/* 0: no WAL (not a PostgreSQL backup) */
	uint64_t start_lsn;	/* exact: from the run's facts (timeline, start_lsn) */
	char start_seg[32];	/* else the first segment of its pg_wal ("": exact) */
	char **media;		/* its images' media specs */
	size_t n_media;
};

/* Every complete, unexpired backup, newest first. */
int mb_catalog_wal_backups(struct mb_catalog *c, struct mb_wal_backup **v, size_t *n,
			   struct mb_error *e);
void mb_catalog_wal_backups_free(struct mb_wal_backup *v, size_t n);
/* The LSN b's WAL starts at (start_seg counted in seg_size segments). */
uint64_t mb_wal_backup_start(const struct mb_wal_backup *b, uint32_t seg_size);

/* The runs older than run_id that are finished (complete or failed) and
 * hold no pending obligation: what expire may remove, oldest first, with
 * their images' media specs. */
int mb_catalog_runs_before(struct mb_catalog *c, int64_t run_id, struct mb_wal_backup **v,
			   size_t *n, struct mb_error *e);
/* Removes a run's rows (keep false) or marks it expired (keep true: its
 * images are on tape, which mbackup does not erase). */
int mb_catalog_run_expire(struct mb_catalog *c, int64_t run_id, bool keep,
			  struct mb_error *e);

/* Brings the catalog's record of the archive (wal_files) up to date from
 * scan s of archive: files not yet recorded added (size, sidecar
 * checksum, mtime as archived_at; the size as stored), files gone from it dropped
 * (wal_record.c).  How many of each in *added, *dropped. */
struct mb_wal_scan;
struct mb_wal_store;
int mb_catalog_wal_record(struct mb_catalog *c, struct mb_wal_store *archive,
			  const struct mb_wal_scan *s, size_t *added, size_t *dropped,
			  struct mb_error *e);

#endif
