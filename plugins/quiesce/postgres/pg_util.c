/*
 * Pieces of the postgres plugin that need no server: LSN text, WAL file
 * names, the conninfo for logs.
 */
#include "plugins/quiesce/postgres/postgres.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugins/quiesce/postgres/pg_lib.h"

#define MB_PG_MIN_SEG (1ULL << 20)
#define MB_PG_MAX_SEG (1ULL << 30)

int mb_pg_parse_lsn(const char *text, uint64_t *lsn)
{
	unsigned int hi, lo;
	int used = 0;

	if (!text || sscanf(text, "%8X/%8X%n", &hi, &lo, &used) != 2 || text[used] != '\0')
		return -1;
	*lsn = ((uint64_t)hi << 32) | lo;
	return 0;
}

/* As PostgreSQL names them: timeline, then the segment number split into
 * "log" (the high 32 bits of the LSN) and the segment within that log. */
void mb_pg_wal_file_name(char out[MB_PG_WALNAME_LEN], uint32_t tli, uint64_t segno,
			 uint64_t seg_size)
{
	uint64_t per_log = 0x100000000ULL / seg_size;

	snprintf(out, MB_PG_WALNAME_LEN, "%08" PRIX32 "%08" PRIX32 "%08" PRIX32, tli,
		 (uint32_t)(segno / per_log), (uint32_t)(segno % per_log));
}

void mb_pg_wal_segments_free(char **names, size_t n)
{
	for (size_t i = 0; names && i < n; i++)
		free(names[i]);
	free(names);
}

/* The stop LSN is the end of the backup's last record: when it falls on a
 * segment boundary the last byte needed is in the segment before it
 * (PostgreSQL's XLByteToPrevSeg). */
int mb_pg_wal_segments(uint32_t tli, uint64_t start_lsn, uint64_t stop_lsn,
		       uint64_t seg_size, char ***names, size_t *n, struct mb_error *e)
{
	uint64_t first, last;
	char **v;

	*names = NULL;
	*n = 0;
	if (seg_size < MB_PG_MIN_SEG || seg_size > MB_PG_MAX_SEG || (seg_size & (seg_size - 1)))
		return mb_fail(e, MB_ERR_INTERNAL, 0, "invalid WAL segment size %" PRIu64, seg_size);
	if (tli == 0 || stop_lsn < start_lsn)
		return mb_fail(e, MB_ERR_INTERNAL, 0,
			       "invalid WAL range %" PRIX64 "..%" PRIX64 " on timeline %" PRIu32,
			       start_lsn, stop_lsn, tli);
	first = start_lsn / seg_size;
	last = stop_lsn ? (stop_lsn - 1) / seg_size : 0;
	if (last < first)
		last = first;
	v = calloc(last - first + 1, sizeof(*v));
	if (!v)
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to list the WAL segments");
	for (uint64_t s = first; s <= last; s++) {
		v[s - first] = malloc(MB_PG_WALNAME_LEN);
		if (!v[s - first]) {
			mb_pg_wal_segments_free(v, s - first);
			return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to list the WAL segments");
		}
		mb_pg_wal_file_name(v[s - first], tli, s, seg_size);
	}
	*names = v;
	*n = last - first + 1;
	return 0;
}

/* Appends " key=value", quoting the value the way conninfo parsing expects. */
static void append_option(char *out, size_t size, const char *key, const char *val)
{
	size_t len = strlen(out);
	bool quote = !*val || strpbrk(val, " \t\n'\\") != NULL;

	len += snprintf(out + len, len < size ? size - len : 0, "%s%s=%s", len ? " " : "",
			key, quote ? "'" : "");
	for (const char *c = val; *c && len + 3 < size; c++) {
		if (*c == '\'' || *c == '\\')
			out[len++] = '\\';
		out[len++] = *c;
	}
	if (len < size)
		out[len] = '\0';
	if (quote && len + 1 < size)
		snprintf(out + len, size - len, "'");
}

/* Rebuilt from the parsed options (key=value or URI alike), so a password
 * never reaches a log, whatever form the conninfo had. */
void mb_pg_conninfo_redact(const char *conninfo, char *out, size_t size)
{
	PQconninfoOption *opts;
	char *err = NULL;

	if (size == 0)
		return;
	out[0] = '\0';
	if (!conninfo || !*conninfo) {
		snprintf(out, size, "(libpq environment)");
		return;
	}
	if (mb_pq_load(NULL) < 0) {	/* never shown unparsed: it may hold a password */
		snprintf(out, size, "(conninfo not shown: libpq is not loaded)");
		return;
	}
	opts = mb_pq.conninfoParse(conninfo, &err);
	mb_pq.freemem(err);
	if (!opts) {
		snprintf(out, size, "(unparsable conninfo)");
		return;
	}
	for (PQconninfoOption *o = opts; o->keyword; o++)
		if (o->val && strcmp(o->keyword, "password") != 0)
			append_option(out, size, o->keyword, o->val);
	mb_pq.conninfoFree(opts);
}
