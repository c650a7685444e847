/* Catalogs of every earlier schema version, built here with the DDL those
 * versions really had (copied from the git history, not from the code's
 * migration list, so the test cannot agree with a wrong list), filled with
 * rows, then opened by this mbackup: rows kept, new tables and index there,
 * PRAGMA user_version MB_CATALOG_SCHEMA_VERSION (4: backups + block maps,
 * 5: runs.expired, 6: the run_facts table, 7: run_pace, 8: snapshots,
 * 9: wal_files, 10: images.compressed_bytes, 11: mirror_proofs, 12: their full
 * passes; each later migration adds its own check below).  Also: a version 1 or 2 catalog already holding a
 * placements table made by the old create-on-first-use code, a migration
 * that fails part way leaving the catalog untouched, a newer catalog
 * refused. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "orchestrator/catalog.h"
#include "orchestrator/catalog_proof.h"
#include "plugins/mirror/lvm_due.h"
#include "tests/lib/tap.h"
#include "tests/unit/test_catalog_sql.h"

static const char path[] = "/tmp/catalog-upgrade-test.db";

/* Schema 1, from ff829a0 to 4258f2a (orchestrator/catalog.c schema_v1). */
static const char v1_ddl[] =
	"CREATE TABLE schema_version (version INTEGER NOT NULL);"
	"CREATE TABLE runs ("
	" id INTEGER PRIMARY KEY,"
	" verb TEXT NOT NULL,"
	" status TEXT NOT NULL"
	"  CHECK (status IN ('running', 'complete', 'failed')),"
	" started TEXT NOT NULL, finished TEXT,"
	" pid INTEGER, host TEXT, window_ms INTEGER,"
	" files INTEGER NOT NULL DEFAULT 0, bytes INTEGER NOT NULL DEFAULT 0,"
	" exit_code INTEGER, error TEXT, config TEXT);"
	"CREATE TABLE phases ("
	" run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
	" name TEXT NOT NULL, started TEXT NOT NULL, finished TEXT,"
	" duration_ms INTEGER, status TEXT NOT NULL, detail TEXT);"
	"CREATE INDEX phases_run ON phases (run_id);"
	"CREATE TABLE obligations ("
	" id INTEGER PRIMARY KEY,"
	" run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
	" kind TEXT NOT NULL, driver TEXT NOT NULL, arg TEXT NOT NULL,"
	" state TEXT NOT NULL"
	"  CHECK (state IN ('pending', 'released', 'recovered', 'failed')),"
	" created TEXT NOT NULL, updated TEXT NOT NULL);"
	"CREATE INDEX obligations_run ON obligations (run_id);"
	"CREATE TABLE files ("
	" id INTEGER PRIMARY KEY,"
	" run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
	" path BLOB NOT NULL, type TEXT NOT NULL, ino INTEGER, size INTEGER,"
	" mode INTEGER, uid INTEGER, gid INTEGER,"
	" mtime_sec INTEGER, mtime_nsec INTEGER,"
	" seg_offset INTEGER, seg_length INTEGER, image_offset INTEGER,"
	" link_target BLOB, rdev INTEGER);"
	"CREATE INDEX files_run ON files (run_id);"
	"CREATE TABLE extents ("
	" run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
	" file_row INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,"
	" logical INTEGER NOT NULL, physical INTEGER NOT NULL,"
	" length INTEGER NOT NULL, flags INTEGER NOT NULL);"
	"CREATE INDEX extents_run_file ON extents (run_id, file_row);"
	"CREATE TABLE images ("
	" run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
	" device INTEGER NOT NULL, media TEXT NOT NULL,"
	" bytes INTEGER NOT NULL, status TEXT NOT NULL);"
	"CREATE INDEX images_run ON images (run_id);";

/* Schema 2 adds the tape tables (4258f2a, orchestrator/catalog_tape.c). */
static const char v2_ddl[] =
	"CREATE TABLE tape_parts ("
	" run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
	" device INTEGER NOT NULL, label TEXT NOT NULL, volume INTEGER NOT NULL,"
	" file_no INTEGER NOT NULL, record_size INTEGER NOT NULL,"
	" first_byte INTEGER NOT NULL);"
	"CREATE INDEX tape_parts_run ON tape_parts (run_id);"
	"CREATE TABLE tape_members ("
	" run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
	" file_row INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,"
	" device INTEGER NOT NULL, volume INTEGER NOT NULL,"
	" record INTEGER NOT NULL);"
	"CREATE INDEX tape_members_run ON tape_members (run_id, file_row);";

/* What mb_catalog_save_placements created on first use, under schema 1
 * and 2 alike (d2816a8, orchestrator/catalog_placements.c). */
static const char old_placements_ddl[] =
	"CREATE TABLE IF NOT EXISTS placements ("
	" run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
	" path BLOB NOT NULL, seg_offset INTEGER NOT NULL, seg_length INTEGER NOT NULL,"
	" image_offset INTEGER NOT NULL, planned INTEGER NOT NULL,"
	" device INTEGER NOT NULL, part INTEGER NOT NULL);";

static const char v1_rows[] =
	"INSERT INTO runs (id, verb, status, started, finished, window_ms,"
	" files, bytes, exit_code) VALUES"
	" (1, 'backup', 'complete', '2026-01-01T00:00:00.000Z',"
	"  '2026-01-01T00:01:00.000Z', 42, 2, 8192, 0),"
	" (2, 'backup', 'running', '2026-01-02T00:00:00.000Z', NULL, NULL,"
	"  0, 0, NULL);"
	"INSERT INTO phases VALUES (1, 'premap', '2026-01-01T00:00:00.000Z',"
	" '2026-01-01T00:00:01.000Z', 1000, 'ok', '2 files');"
	"INSERT INTO obligations VALUES (1, 2, 'freeze', 'fsfreeze', '/srv/pg',"
	" 'pending', '2026-01-02T00:00:00.000Z', '2026-01-02T00:00:00.000Z');"
	"INSERT INTO files (id, run_id, path, type, ino, size, image_offset)"
	" VALUES (1, 1, CAST('base/1' AS BLOB), 'f', 11, 4096, 1024),"
	" (2, 1, CAST('base/2' AS BLOB), 'f', 12, 4096, 6144);"
	"INSERT INTO extents VALUES (1, 1, 0, 65536, 4096, 0),"
	" (1, 2, 0, 131072, 4096, 0);"
	"INSERT INTO images VALUES (1, 1, 'file:/b/x.img', 11264, 'complete');";

static const char v2_rows[] =
	"INSERT INTO tape_parts VALUES (1, 1, 'MBVOLSET', 1, 3, 16384, 0);"
	"INSERT INTO tape_members VALUES (1, 1, 1, 1, 0), (1, 2, 1, 1, 0);";

static const char old_placement_rows[] =
	"INSERT INTO placements VALUES"
	" (1, CAST('base/1' AS BLOB), 0, 4096, 1024, 1, 1, 1),"
	" (1, CAST('base/2' AS BLOB), 0, 4096, 1024, 2, 1, 2);";

static void fresh(void)
{
	unlink(path);
	unlink("/tmp/catalog-upgrade-test.db-wal");
	unlink("/tmp/catalog-upgrade-test.db-shm");
}

/* A catalog as version `version` made it, with rows; placements: with the
 * table the old code created on first use, holding two rows. */
static int build(int version, int placements)
{
	char stamp[64];

	fresh();
	snprintf(stamp, sizeof(stamp),
		 "INSERT INTO schema_version VALUES (%d);", version);
	if (sql_exec(v1_ddl) < 0 || sql_exec(stamp) < 0 || sql_exec(v1_rows) < 0)
		return -1;
	if (version >= 2 && (sql_exec(v2_ddl) < 0 || sql_exec(v2_rows) < 0))
		return -1;
	if (placements && (sql_exec(old_placements_ddl) < 0 ||
			   sql_exec(old_placement_rows) < 0))
		return -1;
	return 0;
}

static long long exists(const char *type, const char *name)
{
	char q[160];

	snprintf(q, sizeof(q), "SELECT count(*) FROM sqlite_master"
		 " WHERE type = '%s' AND name = '%s'", type, name);
	return sql1(q);
}

/* Opens the old catalog with this mbackup and checks what it became. */
static void upgrade(const char *what, int version, int placements)
{
	struct mb_error e = { 0 };
	struct mb_catalog *c = NULL;
	struct mb_placement p = { "base/9", 0, 4096, 1024, 1, 1, 1 };
	char name[160];

	ok(build(version, placements) == 0, what);
	snprintf(name, sizeof(name), "%s: opens", what);
	is_int(mb_catalog_open(&c, path, &e), 0, name);
	if (e.code)
		diag("%s", e.msg);
	snprintf(name, sizeof(name), "%s: new placements recorded", what);
	is_int(c ? mb_catalog_save_placements(c, 1, &p, 1, &e) : -1, 0, name);
	mb_catalog_close(c);
	is_int(sql1("PRAGMA user_version"), MB_CATALOG_SCHEMA_VERSION, "  user_version the newest");
	is_int(sql1("SELECT group_concat(version) FROM schema_version"),
	       MB_CATALOG_SCHEMA_VERSION,
	       "  one schema_version row, the newest (older mbackups refuse the file)");
	is_int(sql1("SELECT count(*) FROM runs WHERE expired IS NULL"), 2,
	       "  runs.expired there, NULL for the old runs");
	is_int(exists("table", "run_pace"), 1, "  the run_pace table (7) is there");
	is_int(exists("table", "wal_files"), 1, "  the wal_files table (9) is there");
	is_int(exists("table", "mirror_proofs"), 1, "  the mirror_proofs table (11) is there");
	is_int(sql1("SELECT count(*) FROM mirror_proofs"), 0,
	       "  ... empty: no mirror of an old catalog counts as proven");
	is_int(sql1("SELECT count(*) FROM pragma_table_info('mirror_proofs')"
		    " WHERE name IN ('full_at', 'runs_since_full')"), 2,
	       "  ... with the last full pass and the runs since (12)");
	is_int(sql1("SELECT count(*) || group_concat(id, '') FROM runs"), 212,
	       "  runs kept");
	is_int(sql1("SELECT count(*) FROM phases WHERE detail = '2 files'"), 1,
	       "  phases kept");
	is_int(sql1("SELECT count(*) FROM obligations WHERE state = 'pending'"
		    " AND arg = '/srv/pg'"), 1, "  obligations kept");
	is_int(sql1("SELECT sum(physical) FROM extents x JOIN files f"
		    " ON f.id = x.file_row AND f.run_id = 1"), 196608,
	       "  files and extents kept");
	is_int(sql1("SELECT bytes FROM images WHERE media = 'file:/b/x.img'"),
	       11264, "  images kept");
	is_int(sql1("SELECT count(*) FROM tape_members m JOIN tape_parts p"
		    " ON p.run_id = m.run_id"), version >= 2 ? 2 : 0,
	       "  tape tables there, rows kept");
	is_int(sql1("SELECT count(*) FROM placements WHERE run_id = 1"),
	       placements ? 3 : 1, "  placements there, rows kept");
	is_int(exists("index", "placements_run"), 1, "  placements index there");
	ok(mb_catalog_open(&c, path, &e) == 0 &&
	   mb_catalog_run_set_fact(c, 1, "stop_lsn", "0/5000100", &e) == 0 &&
	   mb_catalog_run_set_fact(c, 1, "stop_lsn", "0/6000100", &e) == 0,
	   "  a fact recorded for an old run, then replaced");
	mb_catalog_close(c);
	is_int(sql1("SELECT count(*) FROM run_facts WHERE run_id = 1 AND key = 'stop_lsn'"
		    " AND value = '0/6000100'"), 1, "  run_facts there, one row a key");
	is_int(sql1("SELECT count(*) FROM pragma_index_info('placements_run')"
		    " WHERE (seqno = 0 AND name = 'run_id')"
		    " OR (seqno = 1 AND name = 'path')"), 2,
	       "  the index is on (run_id, path)");
	is_int(exists("table", "backups") + exists("table", "block_maps"), 2,
	       "  the increments' tables there");
	is_int(sql1("SELECT count(*) FROM pragma_table_info('snapshots')"
		    " WHERE name IN ('method', 'peak_pct', 'extensions', 'throttled_ms')"), 4,
	       "  snapshots table there (migration 8)");
	is_int(sql1("SELECT count(*) FROM images WHERE compressed_bytes IS NULL"
		    " AND media = 'file:/b/x.img'"), 1,
	       "  images.compressed_bytes there, NULL for the old image (migration 10)");
}

/* A record of schema 11 (made here by taking 12's columns away again)
 * does not say whether a full pass made it: after 12 it has none, so a
 * full check is due at once. */
static void from_11(void)
{
	struct mb_error e = { 0 };
	struct mb_catalog *c = NULL;
	struct mb_proof_record rec;
	bool known = false;
	char why[200];

	fresh();
	ok(mb_catalog_open(&c, path, &e) == 0, "a schema 11 catalog with a proof on record");
	mb_catalog_close(c);
	c = NULL;
	sql_exec("ALTER TABLE mirror_proofs DROP COLUMN full_at;"
		 "ALTER TABLE mirror_proofs DROP COLUMN runs_since_full;"
		 "INSERT INTO mirror_proofs VALUES ('lvm:vg/pg', 'U1', '2026-11-30T00:00:00.000Z');"
		 "PRAGMA user_version = 11; UPDATE schema_version SET version = 11;");
	is_int(mb_catalog_open(&c, path, &e), 0, "  opens");
	ok(c && mb_catalog_proof_get(c, "lvm:vg/pg", &known, &rec, &e) == 0 && known,
	   "  the record kept");
	ok(!rec.full_at[0] && rec.full_age_s == -1 && rec.runs_since == 0, "  ... with no full pass");
	ok(mb_lvm_full_due(true, &rec, 0, 0, why, sizeof(why)), "  ... so a full check is due");
	is_str(why, "full check due: the catalog's record has no full check (it predates schema 12)",
	       "  ... saying why");
	mb_catalog_close(c);
}

/* Migration 3 cannot create its index (an old table holds the name): the
 * open fails and nothing of the migration stays, not even its table. */
static void failed_migration(void)
{
	struct mb_error e = { 0 };
	struct mb_catalog *c = NULL;
	char msg[256];

	ok(build(2, 0) == 0 && sql_exec("CREATE TABLE placements_run (x);") == 0,
	   "a schema 2 catalog where the index name is taken");
	is_int(mb_catalog_open(&c, path, &e), -1, "  open fails");
	snprintf(msg, sizeof(msg), "unable to upgrade the schema to version %d in"
		 " catalog '%s': there is already a table named placements_run",
		 MB_CATALOG_SCHEMA_VERSION, path);
	is_str(e.msg, msg, "  message");
	is_int(e.code, MB_ERR_CATALOG, "  MB_ERR_CATALOG");
	is_int(exists("table", "placements"), 0, "  no placements table left");
	is_int(sql1("PRAGMA user_version"), 0, "  user_version untouched");
	is_int(sql1("SELECT version FROM schema_version"), 2,
	       "  schema_version untouched");
}

/* A catalog written by a newer mbackup is refused, whichever marker says
 * so, and left as it is. */
static void newer(const char *how)
{
	struct mb_error e = { 0 };
	struct mb_catalog *c = NULL;
	char msg[256];

	fresh();
	is_int(mb_catalog_open(&c, path, &e), 0, "a new catalog");
	mb_catalog_close(c);
	is_int(sql1("PRAGMA user_version"), MB_CATALOG_SCHEMA_VERSION,
	       "  starts at the newest user_version");
	is_int(exists("index", "placements_run"), 1, "  with the placements index");
	sql_exec(how);
	is_int(mb_catalog_open(&c, path, &e), -1, how);
	snprintf(msg, sizeof(msg), "catalog '%s' has schema version %d, newer than"
		 " this mbackup supports (%d)", path, MB_CATALOG_SCHEMA_VERSION + 1,
		 MB_CATALOG_SCHEMA_VERSION);
	is_str(e.msg, msg, "  message");
	is_str(e.hint, "run a newer mbackup, or point --catalog at another file",
	       "  hint");
	ok(c == NULL, "  no handle");
}

int main(void)
{
	char sql[80];

	sql_db = path;
	tap_lock_dir(path);
	plan(4 * 25 + 6 + 7 + 2 * 7);
	upgrade("a schema 1 catalog", 1, 0);
	upgrade("a schema 1 catalog with the old placements table", 1, 1);
	upgrade("a schema 2 catalog", 2, 0);
	upgrade("a schema 2 catalog with the old placements table", 2, 1);
	from_11();
	failed_migration();
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", MB_CATALOG_SCHEMA_VERSION + 1);
	newer(sql);
	snprintf(sql, sizeof(sql), "UPDATE schema_version SET version = %d",
		 MB_CATALOG_SCHEMA_VERSION + 1);
	newer(sql);
	fresh();
	return done_testing();
}
