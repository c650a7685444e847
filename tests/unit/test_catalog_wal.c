/* Unit tests for orchestrator/catalog_wal.c: which backups wal-check and
 * expire see and where their WAL starts (the run's facts first, else the
 * first pg_wal segment its image carries), which runs expire may take,
 * and expiry by removal or by mark (tape). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "orchestrator/catalog_wal.h"
#include "tests/lib/tap.h"
#include "tests/unit/test_catalog_sql.h"

static char path[64];

/* A finished backup run with one image and, when first_wal, that segment
 * and a later one of its timeline in its file list. */
static int64_t add_run(struct mb_catalog *c, const char *status, const char *media,
		       const char *first_wal)
{
	struct mb_error e = { 0 };
	int64_t id = 0;
	char sql[512];

	mb_catalog_run_begin(c, "backup", "{}", &id, &e);
	mb_catalog_image_add(c, id, 0, media, 1, status, &e);
	mb_catalog_run_end(c, id, status, 0, NULL, &e);
	if (first_wal) {
		snprintf(sql, sizeof(sql), "INSERT INTO files (run_id, path, type) VALUES"
			 " (%lld, CAST('pg_wal/%s' AS BLOB), 'file'),"
			 " (%lld, CAST('pg_wal/%.23sF' AS BLOB), 'file'),"
			 " (%lld, CAST('pg_wal/archive_status' AS BLOB), 'dir')",
			 (long long)id, first_wal, (long long)id, first_wal, (long long)id);
		sql_exec(sql);
	}
	if (e.code)
		diag("%s", e.msg);
	return id;
}

int main(void)
{
	struct mb_error e = { 0 };
	struct mb_catalog *c = NULL;
	struct mb_wal_backup *b = NULL;
	size_t n = 0;
	int64_t r1, r2, r3, r4;

	snprintf(path, sizeof(path), "/tmp/test_catalog_wal.%d.db", (int)getpid());
	sql_db = path;
	ok(mb_catalog_open(&c, path, &e) == 0, "a new catalog");
	r1 = add_run(c, "complete", "tape:/dev/nst0", "000000010000000000000003");
	r2 = add_run(c, "failed", "file:/b/2.mbi", NULL);
	r3 = add_run(c, "complete", "file:/b/3.mbi", "000000020000000000000005");
	r4 = add_run(c, "complete", "file:/b/4.mbi", NULL);

	ok(mb_catalog_wal_backups(c, &b, &n, &e) == 0 && n == 3, "three complete backups");
	ok(b[0].run_id == r4 && b[1].run_id == r3 && b[2].run_id == r1, "newest first");
	ok(b[0].tli == 0, "one without pg_wal has no WAL");
	ok(b[1].tli == 2 && strcmp(b[1].start_seg, "000000020000000000000005") == 0,
	   "the first pg_wal segment is the start");
	is_int((long long)mb_wal_backup_start(&b[1], 16u << 20), 0x5000000, "  as an LSN");
	ok(b[2].n_media == 1 && strcmp(b[2].media[0], "tape:/dev/nst0") == 0, "its media");
	mb_catalog_wal_backups_free(b, n);

	sql_exec("CREATE TABLE run_facts (run_id INTEGER, key TEXT, value TEXT)");
	{
		char sql[256];

		snprintf(sql, sizeof(sql), "INSERT INTO run_facts VALUES (%lld, 'timeline', '2'),"
			 " (%lld, 'start_lsn', '0/5000028')", (long long)r3, (long long)r3);
		sql_exec(sql);
	}
	ok(mb_catalog_wal_backups(c, &b, &n, &e) == 0 && b[1].tli == 2 && !b[1].start_seg[0] &&
	   mb_wal_backup_start(&b[1], 16u << 20) == 0x5000028, "the run's facts win: exact start");
	mb_catalog_wal_backups_free(b, n);

	sql_exec("INSERT INTO obligations (run_id, kind, driver, arg, state, created, updated)"
		 " VALUES (2, 'split', 'loop', '/x', 'pending', 'now', 'now')");
	ok(mb_catalog_runs_before(c, r3, &b, &n, &e) == 0 && n == 1 && b[0].run_id == r1,
	   "runs before: finished, without a pending obligation (the failed one is left)");
	mb_catalog_wal_backups_free(b, n);
	ok(mb_catalog_run_expire(c, r1, true, &e) == 0, "a run on tape is marked expired");
	is_int(sql1("SELECT count(*) FROM runs WHERE expired IS NOT NULL"), 1, "  kept, marked");
	ok(mb_catalog_wal_backups(c, &b, &n, &e) == 0 && n == 2, "  no longer a backup");
	mb_catalog_wal_backups_free(b, n);
	ok(mb_catalog_runs_before(c, r3, &b, &n, &e) == 0 && n == 0, "  nor a run to expire again");
	mb_catalog_wal_backups_free(b, n);
	ok(mb_catalog_run_expire(c, r2, false, &e) == 0, "a run removed");
	is_int(sql1("SELECT count(*) FROM runs WHERE id = 2"), 0, "  its row is gone");
	is_int(sql1("SELECT count(*) FROM images WHERE run_id = 2"), 0, "  and its images'");
	mb_catalog_close(c);
	unlink(path);
	return done_testing();
}
