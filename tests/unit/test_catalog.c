/* Unit tests for orchestrator/catalog*.c: schema and version check, the
 * run / phase / obligation lifecycle, list output, the backup set and the
 * tape tables (the upgrades are in test_catalog_upgrade.c); with
 * timings for obligation inserts and a 100k-file set. */
#include <jansson.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "orchestrator/catalog.h"
#include "tests/lib/tap.h"
#include "tests/unit/test_catalog_sql.h"

static char dir[64], path[128];

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void test_open(void)
{
	struct mb_error e = { 0 };
	struct mb_catalog *c = NULL;
	struct stat st;

	is_int(mb_catalog_open(&c, path, &e), 0, "open creates the catalog");
	ok(stat(dir, &st) == 0 && (st.st_mode & 07777) == 0700,
	   "missing directory created 0700");
	ok(stat(path, &st) == 0 && (st.st_mode & 07777) == 0600,
	   "catalog file is 0600");
	mb_catalog_close(c);
	/* The version every migration brings a new catalog to: taken from
	 * the header, so that a new migration need not renumber this test. */
	is_int(sql1("PRAGMA user_version"), MB_CATALOG_SCHEMA_VERSION, "schema version");
	is_int(sql1("SELECT version FROM schema_version"), MB_CATALOG_SCHEMA_VERSION,
	       "schema_version says the same");
	is_int(sql1("SELECT count(*) FROM sqlite_master WHERE type = 'table'"),
	       17, "seventeen tables");
	is_str(sqlt("PRAGMA journal_mode"), "wal", "journal_mode is WAL");
	is_int(mb_catalog_open(&c, path, &e), 0, "reopen");
	mb_catalog_close(c);
	is_int(sql1("SELECT count(*) FROM schema_version"), 1,
	       "reopen does not add a version row");

	/* a newer catalog refused: test_catalog_upgrade.c */
	mb_error_clear(&e);
	FILE *junk = fopen("/tmp/catalog-test/junk", "w");
	fputs("this is not an SQLite database, not at all, no no no no\n", junk);
	fclose(junk);
	is_int(mb_catalog_open(&c, "/tmp/catalog-test/junk", &e), -1,
	       "not a database");
	is_str(e.msg, "unable to open catalog '/tmp/catalog-test/junk': "
	       "file is not a database", "not a database: message");
}

static void test_lifecycle(void)
{
	struct mb_error e = { 0 };
	struct mb_catalog *c = NULL;
	struct mb_obligation *ov;
	int64_t run, run2, o1, o2, o3, *ids;
	size_t n;

	mb_catalog_open(&c, path, &e);
	is_int(mb_catalog_run_begin(c, "backup", "{\"a\":1}", &run, &e), 0,
	       "run begin");
	is_int(mb_catalog_run_begin(c, "backup", "{}", &run2, &e), 0,
	       "second run begin");
	is_int(mb_catalog_phase_begin(c, run, "premap", &e), 0, "phase begin");
	usleep(20000);
	is_int(mb_catalog_phase_end(c, run, "premap", "ok", "3 files", &e), 0,
	       "phase end");
	is_int(mb_catalog_phase_end(c, run, "split", "ok", NULL, &e), -1,
	       "ending a phase never begun fails");
	is_int(e.code, MB_ERR_NOT_FOUND, "  with MB_ERR_NOT_FOUND");
	mb_error_clear(&e);
	ok(sql1("SELECT duration_ms FROM phases WHERE name = 'premap'") >= 20,
	   "phase duration measured");
	is_int(mb_catalog_phase_record(c, run, "split", "2026-01-01T00:00:00.000Z",
				       "2026-01-01T00:00:00.012Z", 12, "ok",
				       "1 leg", &e), 0, "phase recorded after the fact");
	is_int(sql1("SELECT duration_ms FROM phases WHERE name = 'split'"), 12,
	       "recorded phase keeps its duration");

	mb_catalog_obligation_add(c, run, "freeze", "fsfreeze", "/srv/pg", &o1, &e);
	mb_catalog_obligation_add(c, run, "split", "loop", "/dev/loop0", &o2, &e);
	mb_catalog_obligation_add(c, run2, "mount", "loop", "/mnt/x", &o3, &e);
	is_int(mb_catalog_obligation_set(c, o1, "released", &e), 0, "release");
	is_int(mb_catalog_obligation_set(c, o2, "failed", &e), 0, "failed undo");
	is_int(mb_catalog_obligation_set(c, o2, "bogus", &e), -1, "bad state");
	mb_error_clear(&e);
	is_int(mb_catalog_obligation_set(c, 9999, "released", &e), -1,
	       "unknown obligation");
	is_str(e.msg, "unable to update the obligation in catalog "
	       "'/tmp/catalog-test/sub/catalog.db': no obligation 9999",
	       "unknown obligation: message");
	mb_error_clear(&e);

	is_int(mb_catalog_obligations_open(c, &ov, &n, &e), 0, "open obligations");
	is_int(n, 2, "two open (failed and pending, not released)");
	if (n == 2) {
		is_int(ov[0].id, o3, "newest first");
		is_str(ov[0].kind, "mount", "kind");
		is_str(ov[0].driver, "loop", "driver");
		is_str(ov[0].arg, "/mnt/x", "arg");
		is_str(ov[0].state, "pending", "state pending");
		is_int(ov[1].id, o2, "then the failed one");
		is_str(ov[1].state, "failed", "state failed");
	}
	mb_obligations_free(ov, n);

	is_int(mb_catalog_runs_running(c, &ids, &n, &e), 0, "runs running");
	ok(n == 2 && ids[0] == run && ids[1] == run2, "both running");
	free(ids);

	mb_catalog_run_set_window(c, run, 42, &e);
	mb_catalog_run_set_totals(c, run, 3, 3 << 20, &e);
	mb_catalog_image_add(c, run, 0, "file:/b/x.img", 3 << 20, "complete", &e);
	mb_catalog_image_add(c, run, 1, "tape:/dev/nst0", 1 << 20, "failed", &e);
	is_int(mb_catalog_run_end(c, run, "complete", 0, NULL, &e), 0, "run end");
	is_int(mb_catalog_run_end(c, run, "done", 0, NULL, &e), -1, "bad status");
	mb_error_clear(&e);
	is_int(mb_catalog_run_end(c, 777, "failed", 1, "x", &e), -1, "no run");
	is_int(e.code, MB_ERR_NOT_FOUND, "no run: MB_ERR_NOT_FOUND");
	mb_error_clear(&e);
	mb_catalog_obligations_open(c, &ov, &n, &e);
	is_int(n, 1, "a finished run's obligations are not open");
	mb_obligations_free(ov, n);
	is_int(mb_catalog_run_end(c, run2, "failed", 7, "boom \xff", &e), 0,
	       "second run failed");
	mb_catalog_close(c);
}

static void test_list(void)
{
	struct mb_error e = { 0 };
	struct mb_catalog *c = NULL;
	static const char *const want_keys[] = { "id", "status", "verb",
		"started", "finished", "window_ms", "bytes", "files",
		"exit_code", "error", "end_time", "start_lsn", "stop_lsn",
		"timeline", "consistent_at", "media", "phases", "kind",
		"snapshots" };
	char *buf = NULL;
	size_t len = 0, i;
	FILE *f = open_memstream(&buf, &len);
	json_error_t je;
	json_t *root, *r0, *r1, *v;
	const char *key;
	int64_t run3;

	mb_catalog_open(&c, path, &e);
	mb_catalog_run_begin(c, "backup", NULL, &run3, &e);
	is_int(mb_catalog_run_set_fact(c, 1, "timeline", "2", &e) +
	       mb_catalog_run_set_fact(c, 1, "stop_lsn", "0/5000100", &e) +
	       mb_catalog_run_set_fact(c, 1, "system_id", "7441", &e) +
	       mb_catalog_run_set_fact(c, 1, "id", "99", &e), 0, "facts recorded");
	is_int(mb_catalog_list_json(c, f, &e), 0, "list json");
	fclose(f);
	root = json_loads(buf, 0, &je);
	ok(json_is_array(root) && json_array_size(root) == 3, "three runs");
	r0 = json_array_get(root, 0);
	r1 = json_array_get(root, 2);
	is_int(json_object_size(r0), 19, "exactly 19 keys (kind null: no backups row)");
	i = 0;
	json_object_foreach(r0, key, v)
		ok(i < 19 && !strcmp(key, want_keys[i++]), key);
	is_int(json_object_size(r1), 20, "a run with facts: one key more");
	is_int(json_integer_value(json_object_get(r1, "timeline")), 2, "timeline a number");
	is_str(json_string_value(json_object_get(r1, "stop_lsn")), "0/5000100", "stop_lsn");
	is_int(json_integer_value(json_object_get(r1, "system_id")), 7441, "other facts shown");
	is_int(json_integer_value(json_object_get(r1, "id")), 1, "a fact named id: the run's stays");
	ok(json_is_null(json_object_get(r0, "stop_lsn")), "no facts: null");
	ok(json_is_string(json_object_get(r1, "end_time")) &&
	   json_equal(json_object_get(r1, "end_time"), json_object_get(r1, "finished")),
	   "complete: end_time is when it finished");
	ok(json_is_null(json_object_get(json_array_get(root, 1), "end_time")),
	   "failed: no end_time");
	is_int(json_integer_value(json_object_get(r0, "id")), run3, "newest first");
	ok(json_is_null(json_object_get(r0, "finished")), "running: finished null");
	ok(json_is_null(json_object_get(r0, "exit_code")), "running: exit null");
	ok(json_is_null(json_object_get(r0, "window_ms")), "window unknown: null");
	ok(json_is_null(json_object_get(r1, "error")), "no error: null");
	is_int(json_integer_value(json_object_get(r1, "window_ms")), 42, "window");
	is_int(json_integer_value(json_object_get(r1, "bytes")), 3 << 20, "bytes");
	is_str(json_string_value(json_object_get(r1, "status")), "complete",
	       "status");
	v = json_object_get(r1, "media");
	ok(json_array_size(v) == 2 && json_object_size(json_array_get(v, 0)) == 5,
	   "two media with five keys");
	ok(json_is_null(json_object_get(json_array_get(v, 0), "compressed_bytes")),
	   "not compressed: compressed_bytes null");
	is_str(json_string_value(json_object_get(json_array_get(v, 1), "media")),
	       "tape:/dev/nst0", "media spec");
	v = json_array_get(json_object_get(r1, "phases"), 0);
	ok(json_object_size(v) == 6, "phase with six keys");
	is_str(json_string_value(json_object_get(v, "detail")), "3 files",
	       "phase detail");
	is_str(json_string_value(json_object_get(json_array_get(root, 1),
						 "error")), "boom ?",
	       "invalid UTF-8 made safe");
	json_decref(root);
	free(buf);

	buf = NULL;
	f = open_memstream(&buf, &len);
	is_int(mb_catalog_list_text(c, f, &e), 0, "list text");
	fclose(f);
	ok(strstr(buf, "    ID  STATUS    STARTED") == buf, "text header");
	ok(strstr(buf, "complete") && strstr(buf, "42 ms") &&
	   strstr(buf, "3.0 MiB") &&
	   strstr(buf, "file:/b/x.img, tape:/dev/nst0 (failed)"), "text row");
	diag("%s", buf);
	free(buf);
	mb_catalog_close(c);
}

static void make_entries(struct mb_set *set, size_t n)
{
	char name[64];

	for (size_t i = 0; i < n; i++) {
		struct mb_entry *x = mb_set_add(set);

		snprintf(name, sizeof(name), "base/16384/%zu", 10000 + i);
		x->path = strdup(name);
		x->type = 'f';
		x->ino = 1000 + i;
		x->size = x->seg_length = 16384;
		x->mode = 0100600;
		x->image_offset = i * 17408;
		x->extents = calloc(2, sizeof(*x->extents));
		x->n_extents = 2;
		x->extents[0] = (struct mb_extent){ 0, i * 65536, 8192, 0 };
		x->extents[1] = (struct mb_extent){ 8192, i * 65536 + 32768,
						    8192, 1 };
	}
}

static void test_save_set(void)
{
	struct mb_error e = { 0 };
	struct mb_catalog *c = NULL;
	struct mb_set set = { 0 };
	struct mb_entry **pv;
	int64_t run, id;
	size_t n = 100000;
	double t0, t;

	mb_catalog_open(&c, path, &e);
	mb_catalog_run_begin(c, "backup", NULL, &run, &e);
	make_entries(&set, n);
	set.v[1].path[4] = '\xfe';	/* a non-UTF-8 name survives as a BLOB */
	pv = calloc(n, sizeof(*pv));
	for (size_t i = 0; i < n; i++)
		pv[i] = &set.v[i];
	is_int(mb_catalog_save_set(c, run, pv, 3, &e), 0, "save a few entries");
	is_int(mb_catalog_save_set(c, run, pv, 3, &e), 0, "save again replaces");
	mb_catalog_close(c);
	is_int(sql1("SELECT count(*) FROM files"), 3, "three files");
	is_int(sql1("SELECT count(*) FROM extents"), 6, "six extents");
	is_int(sql1("SELECT length(path) FROM files WHERE ino = 1001"), 16,
	       "path stored as raw bytes");
	is_int(sql1("SELECT physical FROM extents x JOIN files f"
		    " ON f.id = x.file_row WHERE f.ino = 1002 AND x.flags = 1"),
	       2 * 65536 + 32768, "extent tied to its file");

	mb_catalog_open(&c, path, &e);
	mb_catalog_run_begin(c, "backup", NULL, &run, &e);
	t0 = now_s();
	is_int(mb_catalog_save_set(c, run, pv, n, &e), 0, "save 100k entries");
	t = now_s() - t0;
	/* (its time is shown, never asserted: the machine is shared) */
	diag("save_set: 100000 files, 200000 extents in %.3f s", t);
	is_int(sql1("SELECT count(*) FROM files"), 100003, "100k files saved (and the first 3)");
	is_int(sql1("SELECT count(*) FROM extents"), 200006, "200k extents saved (and the first 6)");

	t0 = now_s();
	for (int i = 0; i < 100; i++)
		mb_catalog_obligation_add(c, run, "freeze", "fsfreeze", "/x", &id,
					  &e);
	t = now_s() - t0;
	is_int(e.code, 0, "100 obligations added");
	diag("obligation_add (synchronous=FULL): %.3f ms each", t * 10);
	mb_catalog_close(c);
	free(pv);
	mb_set_free(&set);
}

/* Image over two volumes: members before byte 32768 on volume 1 (tape
 * file 3), the rest on volume 2 (file 1), records of 16384 bytes. */
static void test_tape(void)
{
	struct mb_error e = { 0 };
	struct mb_catalog *c = NULL;
	struct mb_set set = { 0 };
	struct mb_entry *pv[3];
	const struct mb_catalog_tape_part parts[] = {
		{ "MBVOLSET", 1, 3, 0 }, { "MBVOLSET", 2, 1, 32768 },
	};
	int64_t run;
	char q[256];

	mb_catalog_open(&c, path, &e);
	mb_catalog_run_begin(c, "backup", NULL, &run, &e);
	make_entries(&set, 3);	/* headers at 0, 17408, 34816 */
	for (size_t i = 0; i < 3; i++)
		pv[i] = &set.v[i];
	mb_catalog_save_set(c, run, pv, 3, &e);
	is_int(mb_catalog_tape_add(c, run, 1, 16384, parts, 0, &e), -1, "no parts refused");
	is_int(e.code, MB_ERR_INTERNAL, "no parts: internal error");
	mb_error_clear(&e);
	is_int(mb_catalog_tape_add(c, run, 1, 16384, parts, 2, &e), 0, "tape parts recorded");
	mb_catalog_close(c);
	snprintf(q, sizeof(q), "SELECT count(*) FROM tape_parts WHERE run_id = %lld", (long long)run);
	is_int(sql1(q), 2, "two parts");
	snprintf(q, sizeof(q), "SELECT file_no * 100000 + record_size FROM tape_parts"
		 " WHERE run_id = %lld AND volume = 2", (long long)run);
	is_int(sql1(q), 116384, "volume 2: file 1, 16384-byte records");
	snprintf(q, sizeof(q), "SELECT label FROM tape_parts WHERE run_id = %lld AND volume = 1",
		 (long long)run);
	is_str(sqlt(q), "MBVOLSET", "label stored");
	snprintf(q, sizeof(q), "SELECT group_concat(f.ino || ':' || m.volume || ':' || m.record)"
		 " FROM (SELECT * FROM tape_members ORDER BY file_row) m"
		 " JOIN files f ON f.id = m.file_row WHERE m.run_id = %lld", (long long)run);
	is_str(sqlt(q), "1000:1:0,1001:1:1,1002:2:0", "each member's volume and record");
	mb_set_free(&set);
}

/* Placements go in one transaction: a row that cannot be stored (no
 * path) takes the rows before it back too. */
static void test_placements(void)
{
	struct mb_error e = { 0 };
	struct mb_catalog *c = NULL;
	const struct mb_placement good[] = {
		{ "base/1", 0, 8192, 512, 1, 1, 1 },
		{ "base/1", 8192, 8192, 512, 2, 1, 2 },
	};
	struct mb_placement bad[2] = { good[0], good[1] };
	int64_t run2;
	int64_t run;
	char q[160], msg[256];

	mb_catalog_open(&c, path, &e);
	mb_catalog_run_begin(c, "backup", NULL, &run, &e);
	mb_catalog_run_begin(c, "backup", NULL, &run2, &e);
	bad[1].path = NULL;
	is_int(mb_catalog_save_placements(c, run, good, 2, &e), 0,
	       "placements recorded");
	is_int(mb_catalog_save_placements(c, run2, bad, 2, &e), -1,
	       "a placement without a path refused");
	snprintf(msg, sizeof(msg), "unable to record where an item landed in "
		 "catalog '%s': NOT NULL constraint failed: placements.path", path);
	is_str(e.msg, msg, "  message");
	mb_catalog_close(c);
	snprintf(q, sizeof(q), "SELECT count(*) || sum(part) FROM placements"
		 " WHERE run_id = %lld AND path = CAST('base/1' AS BLOB)",
		 (long long)run);
	is_int(sql1(q), 23, "two rows, parts 1 and 2");
	snprintf(q, sizeof(q), "SELECT count(*) FROM placements WHERE run_id = %lld",
		 (long long)run2);
	is_int(sql1(q), 0, "nothing of the refused call kept");
}

int main(void)
{
	char cmd[128];

	plan(95 + 6 + 8 + 1 + 1 + 1);
	tap_lock_dir("/tmp/catalog-test");
	snprintf(dir, sizeof(dir), "/tmp/catalog-test/sub");
	snprintf(path, sizeof(path), "%s/catalog.db", dir);
	sql_db = path;
	if (system("rm -rf /tmp/catalog-test") != 0)
		diag("cleanup failed");
	test_open();
	test_lifecycle();
	test_list();
	test_save_set();
	test_tape();
	test_placements();
	snprintf(cmd, sizeof(cmd), "rm -rf /tmp/catalog-test");
	if (system(cmd) != 0)
		diag("cleanup failed");
	return done_testing();
}
