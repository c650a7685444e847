/*
 * How far behind the database the WAL archive is, from the server itself
 * (pg_stat_archiver): wal-check asks when --db postgres is configured.
 */
#ifndef MB_WAL_LAG_H
#define MB_WAL_LAG_H

#include <stdbool.h>
#include <stdint.h>

#include "orchestrator/wal_archive.h"

struct mb_wal_lag {
	char current[MB_WAL_NAME_MAX];		/* the segment being written ("": a standby) */
	char last_archived[MB_WAL_NAME_MAX];	/* "" if none yet */
	char last_failed[MB_WAL_NAME_MAX];	/* "" if none */
	char last_failed_time[48];
	bool failing;		/* the last failure is newer than the last success */
	long failed_count;
	long behind;		/* segments written but not archived; -1 unknown */
};

/* Asks the server conninfo (NULL: the libpq environment) points at;
 * seg_size counts the segments behind.  -1 with err set (one line) when
 * it cannot be asked. */
int mb_wal_lag_query(const char *conninfo, uint32_t seg_size, struct mb_wal_lag *lag,
		     char *err, size_t cap);

#endif
