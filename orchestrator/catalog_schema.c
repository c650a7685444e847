/*
 * The catalog's schema: one ordered list of migrations, the only DDL in
 * mbackup.  Opening a catalog applies, in one transaction, every migration
 * newer than its version, so a catalog of any earlier version upgrades in
 * place and a crash part way leaves it as it was.
 *
 * The version is PRAGMA user_version.  Catalogs of version 1 and 2 kept it
 * only in the schema_version table, which is still written: mbackups of
 * those versions read it, and so refuse a newer catalog with their own
 * clear message instead of creating their tables again.
 */
#include "orchestrator/catalog.h"
#include "orchestrator/catalog_internal.h"

#include <sqlite3.h>
#include <stdio.h>

/* 1: runs, phases, obligations, the backup set, images. */
static const char *const v1[] = {
	"CREATE TABLE schema_version (version INTEGER NOT NULL)",
	"CREATE TABLE runs ("
	" id INTEGER PRIMARY KEY,"
	" verb TEXT NOT NULL,"
	" status TEXT NOT NULL"
	"  CHECK (status IN ('running', 'complete', 'failed')),"
	" started TEXT NOT NULL, finished TEXT,"
	" pid INTEGER, host TEXT, window_ms INTEGER,"
	" files INTEGER NOT NULL DEFAULT 0, bytes INTEGER NOT NULL DEFAULT 0,"
	" exit_code INTEGER, error TEXT, config TEXT)",
	"CREATE TABLE phases ("
	" run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
	" name TEXT NOT NULL, started TEXT NOT NULL, finished TEXT,"
	" duration_ms INTEGER, status TEXT NOT NULL, detail TEXT)",
	"CREATE INDEX phases_run ON phases (run_id)",
	"CREATE TABLE obligations ("
	" id INTEGER PRIMARY KEY,"
	" run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
	" kind TEXT NOT NULL, driver TEXT NOT NULL, arg TEXT NOT NULL,"
	" state TEXT NOT NULL"
	"  CHECK (state IN ('pending', 'released', 'recovered', 'failed')),"
	" created TEXT NOT NULL, updated TEXT NOT NULL)",
	"CREATE INDEX obligations_run ON obligations (run_id)",
	/* id keeps file rows stable for extents.file_row (VACUUM may
	 * renumber an implicit rowid) */
	"CREATE TABLE files ("
	" id INTEGER PRIMARY KEY,"
	" run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
	" path BLOB NOT NULL, type TEXT NOT NULL, ino INTEGER, size INTEGER,"
	" mode INTEGER, uid INTEGER, gid INTEGER,"
	" mtime_sec INTEGER, mtime_nsec INTEGER,"
	" seg_offset INTEGER, seg_length INTEGER, image_offset INTEGER,"
	" link_target BLOB, rdev INTEGER)",
	"CREATE INDEX files_run ON files (run_id)",
	"CREATE TABLE extents ("
	" run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
	" file_row INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,"
	" logical INTEGER NOT NULL, physical INTEGER NOT NULL,"
	" length INTEGER NOT NULL, flags INTEGER NOT NULL)",
	"CREATE INDEX extents_run_file ON extents (run_id, file_row)",
	"CREATE TABLE images ("
	" run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
	" device INTEGER NOT NULL, media TEXT NOT NULL,"
	" bytes INTEGER NOT NULL, status TEXT NOT NULL)",
	"CREATE INDEX images_run ON images (run_id)",
	NULL
};

/* 2: where an image went on tape, and the volume / record each member
 * starts on (the record counted from the start of the part's tape file). */
static const char *const v2[] = {
	"CREATE TABLE tape_parts ("
	" run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
	" device INTEGER NOT NULL, label TEXT NOT NULL, volume INTEGER NOT NULL,"
	" file_no INTEGER NOT NULL, record_size INTEGER NOT NULL,"
	" first_byte INTEGER NOT NULL)",
	"CREATE INDEX tape_parts_run ON tape_parts (run_id)",
	"CREATE TABLE tape_members ("
	" run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
	" file_row INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,"
	" device INTEGER NOT NULL, volume INTEGER NOT NULL,"
	" record INTEGER NOT NULL)",
	"CREATE INDEX tape_members_run ON tape_members (run_id, file_row)",
	NULL
};

/* 3: where each item of a set written to several devices landed, looked
 * up by run and path.  Catalogs of version 1 and 2 may hold the table
 * already (it was created on first use, same columns), hence IF NOT
 * EXISTS; the index is new. */
static const char *const v3[] = {
	"CREATE TABLE IF NOT EXISTS placements ("
	" run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
	" path BLOB NOT NULL, seg_offset INTEGER NOT NULL, seg_length INTEGER NOT NULL,"
	" image_offset INTEGER NOT NULL, planned INTEGER NOT NULL,"
	" device INTEGER NOT NULL, part INTEGER NOT NULL)",
	"CREATE INDEX placements_run ON placements (run_id, path)",
	NULL
};

/* 4: increments: what each backup is (full, incremental, consolidated),
 * its base and chain from a full, the point (backup) whose state its chain
 * restores (itself, but for a consolidation's images), and every entry of its state with each
 * file's block-hash map (block_size 0: none), which the next incremental
 * compares against (orchestrator/catalog_incr.c). */
static const char *const v4[] = {
	"CREATE TABLE backups ("
	" run_id INTEGER PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,"
	" kind TEXT NOT NULL"
	"  CHECK (kind IN ('full', 'incremental', 'consolidated')),"
	" base_id INTEGER, chain TEXT NOT NULL, block_size INTEGER NOT NULL,"
	" bytes INTEGER NOT NULL, changed_files INTEGER NOT NULL DEFAULT 0,"
	" changed_bytes INTEGER NOT NULL DEFAULT 0, point_id INTEGER NOT NULL)",
	"CREATE INDEX backups_point ON backups (point_id)",
	"CREATE TABLE block_maps ("
	" run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
	" path BLOB NOT NULL, type TEXT NOT NULL, size INTEGER NOT NULL,"
	" block_size INTEGER NOT NULL, file_hash TEXT NOT NULL,"
	" hashes BLOB NOT NULL)",
	"CREATE INDEX block_maps_run ON block_maps (run_id, path)",
	NULL
};

/* 5: expire marks a run whose images it cannot remove (on tape) expired:
 * kept in the catalog, no longer a backup to restore or to keep WAL for. */
static const char *const v5[] = {
	"ALTER TABLE runs ADD COLUMN expired TEXT",
	NULL
};

/* 6: what a backup's plugins reported about it (a database's start and
 * stop LSN, timeline, consistency time), as key / value text: the point
 * a restore to a point in time starts from. */
static const char *const v6[] = {
	"CREATE TABLE run_facts ("
	" run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
	" key TEXT NOT NULL, value TEXT NOT NULL,"
	" PRIMARY KEY (run_id, key))",
	NULL
};

/* 7: how each run's stream yielded to production (--max-rate, --yield):
 * one row a backup, written after the stream. */
static const char *const v7[] = {
	"CREATE TABLE run_pace ("
	" run_id INTEGER PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,"
	" max_rate INTEGER NOT NULL, yield TEXT NOT NULL,"
	" bytes INTEGER NOT NULL, stream_ms INTEGER NOT NULL,"
	" waited_ms INTEGER NOT NULL, yielded_ms INTEGER NOT NULL,"
	" rate_min INTEGER, downs INTEGER NOT NULL)",
	NULL
};

/* 8: the snapshot that stood in for a split leg (plugins/mirror/snapshot.c):
 * method, the container's sizes and peak fill, its extensions and how long
 * the writers were throttled. */
static const char *const v8[] = {
	"CREATE TABLE snapshots ("
	" run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
	" method TEXT NOT NULL, origin TEXT NOT NULL, snapshot TEXT NOT NULL,"
	" container_pv TEXT, chunk_bytes INTEGER, size_initial INTEGER,"
	" size_final INTEGER, extensions INTEGER NOT NULL, peak_pct REAL,"
	" throttled_ms INTEGER NOT NULL, throttle_bps INTEGER,"
	" invalidated INTEGER NOT NULL, outcome TEXT)",
	"CREATE INDEX snapshots_run ON snapshots (run_id)",
	NULL
};

/* 9: the WAL archive as the catalog knows it: each archived file (name,
 * timeline, size, checksum, when), copied from the archive by wal-check and
 * expire (wal_record.c), which is the truth: wal-push does not write here. */
static const char *const v9[] = {
	"CREATE TABLE wal_files ("
	" name TEXT PRIMARY KEY, timeline INTEGER NOT NULL, size INTEGER NOT NULL,"
	" checksum TEXT NOT NULL, archived_at TEXT NOT NULL)",
	NULL
};

/* 10: a compressed image's bytes on its medium (frames, seek tables,
 * padding; NULL: not compressed), beside its image bytes: the ratio. */
static const char *const v10[] = {
	"ALTER TABLE images ADD COLUMN compressed_bytes INTEGER",
	NULL
};

/* 11: the mirrors a full pass over both legs proved whole (catalog_proof.c):
 * a proof of only what a split wrote needs one from before the split. */
static const char *const v11[] = {
	"CREATE TABLE mirror_proofs ("
	" mirror TEXT PRIMARY KEY, id TEXT NOT NULL, proven_at TEXT NOT NULL)",
	NULL
};

/* 12: when each mirror's legs were last read in full (a check scrub) and
 * how many proofs of only what changed followed (catalog_proof.c): a full
 * pass is due again after a bound on either.  A record of 11 has neither:
 * whether it came from a full pass is not known, so one is due at once. */
static const char *const v12[] = {
	"ALTER TABLE mirror_proofs ADD COLUMN full_at TEXT",
	"ALTER TABLE mirror_proofs ADD COLUMN runs_since_full INTEGER NOT NULL DEFAULT 0",
	NULL
};

/* migrations[k] brings version k to version k + 1. */
static const char *const *const migrations[] = { v1, v2, v3, v4, v5, v6, v7, v8, v9, v10,
						 v11, v12 };

_Static_assert(sizeof(migrations) / sizeof(migrations[0]) ==
	       MB_CATALOG_SCHEMA_VERSION,
	       "one migration per schema version");

enum { USER_VERSION, HAS_VERSION_TABLE, TABLE_VERSION, CLEAR_VERSION,
       SET_VERSION, N_SQL };
static const char *const sql[N_SQL] = {
	[USER_VERSION] = "PRAGMA user_version",
	[HAS_VERSION_TABLE] = "SELECT count(*) FROM sqlite_master"
			      " WHERE name = 'schema_version'",
	[TABLE_VERSION] = "SELECT coalesce(max(version), 0) FROM schema_version",
	[CLEAR_VERSION] = "DELETE FROM schema_version",
	[SET_VERSION] = "INSERT INTO schema_version (version) VALUES (?)",
};

static int max_int(sqlite3_stmt *st, void *ctx, struct mb_error *e)
{
	int *v = ctx, got = sqlite3_column_int(st, 0);

	if (got > *v)
		*v = got;
	return 0;
}

/* The newer of user_version and the schema_version table; 0: empty. */
static int read_version(struct mb_catalog *c, int *version,
			struct mb_error *e)
{
	const char *what = "read the schema version";
	int has_table = 0;

	*version = 0;
	if (cat_each(c, sql, USER_VERSION, CAT_NO_ARGS, max_int, version,
		     what, e) < 0 ||
	    cat_each(c, sql, HAS_VERSION_TABLE, CAT_NO_ARGS, max_int,
		     &has_table, what, e) < 0)
		return -1;
	if (has_table && cat_each(c, sql, TABLE_VERSION, CAT_NO_ARGS, max_int,
				  version, what, e) < 0)
		return -1;
	return 0;
}

/* The migrations after `from`, then both version marks. */
static int upgrade(struct mb_catalog *c, int from, struct mb_error *e)
{
	char what[64], mark[40];

	if (from == 0)
		snprintf(what, sizeof(what), "create the schema");
	else
		snprintf(what, sizeof(what), "upgrade the schema to version %d",
			 MB_CATALOG_SCHEMA_VERSION);
	for (int k = from; k < MB_CATALOG_SCHEMA_VERSION; k++)
		for (const char *const *ddl = migrations[k]; *ddl; ddl++)
			if (cat_exec(c, *ddl, what, e) < 0)
				return -1;
	snprintf(mark, sizeof(mark), "PRAGMA user_version = %d",
		 MB_CATALOG_SCHEMA_VERSION);
	if (cat_exec(c, mark, what, e) < 0 ||
	    cat_do(c, sql, CLEAR_VERSION, CAT_NO_ARGS, what, e) < 0 ||
	    cat_do(c, sql, SET_VERSION,
		   CAT_ARGS(CAT_I(MB_CATALOG_SCHEMA_VERSION)), what, e) < 0)
		return -1;
	return 0;
}

/* Reads the version and upgrades, refusing a newer catalog.  Inside BEGIN
 * IMMEDIATE, so two first opens cannot both create the schema. */
static int check(struct mb_catalog *c, void *ctx, struct mb_error *e)
{
	int version;

	if (read_version(c, &version, e) < 0)
		return -1;
	if (version > MB_CATALOG_SCHEMA_VERSION) {
		mb_fail(e, MB_ERR_CATALOG, 0,
			"catalog '%s' has schema version %d, newer than this "
			"mbackup supports (%d)", c->path, version,
			MB_CATALOG_SCHEMA_VERSION);
		mb_hint(e, "run a newer mbackup, or point --catalog at another "
			"file");
		return -1;
	}
	if (version < MB_CATALOG_SCHEMA_VERSION)
		return upgrade(c, version, e);
	return 0;
}

/* BEGIN failing (the catalog busy past the timeout) reads as the open
 * failing, as it always has; the rest goes through cat_tx's COMMIT. */
int cat_migrate(struct mb_catalog *c, struct mb_error *e)
{
	if (sqlite3_exec(c->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return mb_fail(e, MB_ERR_CATALOG, 0,
			       "unable to open catalog '%s': %s", c->path,
			       sqlite3_errmsg(c->db));
	if (check(c, NULL, e) < 0 ||
	    cat_exec(c, "COMMIT", "create the schema", e) < 0) {
		sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	return 0;
}
