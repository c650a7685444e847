/*
 * The postgres quiesce plugin (registered as "postgres" in quiesce.c,
 * first of the --db postgres stack), libpq, PostgreSQL 15 or later.
 * Everything mbackup knows about PostgreSQL lives in this folder.  One
 * session is held from discover to close; backup start and stop run on
 * that same session.
 *
 *   open      options "mode" (hot | freeze) and "pg-conn" (a conninfo;
 *             unset: libpq's environment); the label from the params
 *   discover  connect, check the version and the rights, discover the
 *             data directory, tablespaces, the real pg_wal,
 *             wal_segment_size and the timeline (postgres.c)
 *   source    the data directory; a --source given must name it
 *   place     the data directory on legs[0], tablespaces there too, pg_wal
 *             on any leg in hot mode but on legs[0] in freeze mode, and no
 *             leg that holds none of it (pgdata.c)
 *   prepare   create a TEMPORARY physical replication slot (WAL from here
 *             on is kept until the session ends); freeze: CHECKPOINT,
 *             so the one in enter is quick
 *   enter     hot: pg_backup_start(label, fast => --checkpoint fast) ->
 *             start LSN, its checkpoint the only one
 *             freeze: CHECKPOINT (fsfreeze does the rest)
 *   leave     hot: pg_backup_stop(wait_for_archive => false) -> stop LSN,
 *             backup_label, tablespace_map; idempotent; nothing after a
 *             failed enter.  freeze: nothing
 *   filter    drop what a restored cluster must not inherit; pg_wal as a
 *             directory of its own (pgdata.c)
 *   artifacts backup_label, tablespace_map, the WAL start..stop from the
 *             live pg_wal (pgdata.c)
 *   manifest  backup_manifest for pg_verifybackup (pg_manifest.c)
 *   facts     hot: start and stop LSN, timeline, segment size and the
 *             time the copy is consistent from (pg_recovery.c)
 *   recovery  restore to a point in time: the target checked, a backup
 *             placed against it, recovery.signal and the recovery
 *             settings in postgresql.auto.conf (pg_recovery.c)
 *   close     disconnect: the slot goes away with the session.  The
 *             runner closes after streaming, so the WAL is still there.
 *
 *   guard     "<backend pid> <backend_start epoch> <conninfo>", read in
 *             prepare; undo, run by the guard at its deadline, connects
 *             on its own and terminates that session (pg_deadline.c)
 *
 * A non-exclusive backup and a temporary slot belong to the session, and
 * the server ends both by itself when the session dies (even if mbackup
 * is SIGKILLed), so no catalog obligation is recorded.  A hung mbackup
 * keeps its session alive: the guard ends it at the --freeze-timeout
 * deadline, so backup mode and the slot last no longer than the freeze.
 */
#ifndef MB_POSTGRES_H
#define MB_POSTGRES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"
#include "plugins/quiesce/quiesce.h"

extern const struct mb_quiesce_ops mb_quiesce_postgres;

enum mb_pg_mode {
	MB_PG_HOT = 0,		/* pg_backup_start / pg_backup_stop */
	MB_PG_FREEZE = 1,	/* CHECKPOINT, then the filesystem freeze */
};

struct mb_pg_tablespace {
	unsigned oid;
	char *name;
	char *location;		/* pg_tablespace_location(), as the server says */
};

/* What discover found; valid until close. */
struct mb_pg_info {
	int server_version_num;		/* e.g. 150004 */
	bool in_recovery;		/* the server is a standby */
	char *data_directory;		/* SHOW data_directory */
	char *wal_directory;		/* realpath of data_directory/pg_wal */
	struct mb_pg_tablespace *tablespaces;	/* user tablespaces, by oid */
	size_t n_tablespaces;
	uint64_t wal_segment_size;	/* bytes */
	uint32_t timeline;		/* of the last checkpoint, at discover */
	char slot_name[64];		/* the temporary slot, from prepare on */
	int backend_pid;		/* the held session */
};

/* What the hot backup produced; valid after a successful leave. */
struct mb_pg_backup {
	uint64_t start_lsn, stop_lsn;
	uint32_t timeline;		/* START TIMELINE of backup_label */
	char *backup_label;		/* goes into the image as backup_label */
	char *tablespace_map;		/* "" if no user tablespace */
	char consistent_at[40];		/* the server's clock just after the
					 * stop, UTC "YYYY-MM-DDTHH:MM:SS.ffffffZ" */
};

#define MB_PG_WALNAME_LEN 25	/* 24 hex digits + NUL */

/* NULL until discover has succeeded. */
const struct mb_pg_info *mb_pg_info(const struct mb_quiesce *q);

/* NULL until a hot leave has returned the stop LSN and the artifacts. */
const struct mb_pg_backup *mb_pg_backup_result(const struct mb_quiesce *q);

/* The WAL file names the image needs, from the segment of start_lsn to
 * the segment holding the last byte before stop_lsn (never before the
 * start segment), e.g. "000000010000000000000003".  seg_size must be a
 * power of two from 1 MiB to 1 GiB.  Free with mb_pg_wal_segments_free. */
int mb_pg_wal_segments(uint32_t tli, uint64_t start_lsn, uint64_t stop_lsn,
		       uint64_t seg_size, char ***names, size_t *n,
		       struct mb_error *e);
void mb_pg_wal_segments_free(char **names, size_t n);

/* One WAL file name for segment number segno. */
void mb_pg_wal_file_name(char out[MB_PG_WALNAME_LEN], uint32_t tli,
			 uint64_t segno, uint64_t seg_size);

/* "16/B374D848" -> 0x16B374D848; -1 if malformed. */
int mb_pg_parse_lsn(const char *text, uint64_t *lsn);

/* The conninfo for logs, without any password: "host=/x port=5 user=u". */
void mb_pg_conninfo_redact(const char *conninfo, char *out, size_t size);

#endif
