/* Unit tests for orchestrator/catalog_snapshot.c: a snapshot's record
 * (schema 4) as `mbackup list` shows it, in JSON and as text. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "orchestrator/catalog.h"
#include "orchestrator/catalog_snapshot.h"
#include "tests/lib/tap.h"

static char dir[64], path[128];

static char *list(struct mb_catalog *c, bool json)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct mb_error e = { 0 };

	if (!f)
		return NULL;
	if ((json ? mb_catalog_list_json(c, f, &e) : mb_catalog_list_text(c, f, &e)) < 0)
		diag("%s", e.msg);
	fclose(f);
	return buf;
}

int main(void)
{
	struct mb_mirror_stats s = { .method = "classic", .origin = "vg/lin",
				     .snapshot = "vg/lin_mbsnap_1", .container_pv = "/dev/vdb",
				     .chunk_bytes = 8192, .size_initial = 16 << 20,
				     .size_final = 48 << 20, .extensions = 2, .peak_pct = 61.25,
				     .throttled_ms = 1500, .throttle_bps = 1 << 20,
				     .invalidated = false, .outcome = "valid" };
	struct mb_error e = { 0 };
	struct mb_catalog *c = NULL;
	json_t *root, *snap;
	int64_t run, other;
	char *out;

	plan(12);
	snprintf(dir, sizeof(dir), "/tmp/mbtest-snap-%d", getpid());
	snprintf(path, sizeof(path), "%s/catalog.db", dir);
	is_int(mb_catalog_open(&c, path, &e), 0, "catalog opens");
	mb_catalog_run_begin(c, "backup", NULL, &other, &e);
	mb_catalog_run_begin(c, "backup", NULL, &run, &e);
	is_int(mb_catalog_snapshot_add(c, run, &s, &e), 0, "snapshot recorded");
	out = list(c, true);
	root = json_loads(out ? out : "", 0, NULL);
	snap = json_array_get(json_object_get(json_array_get(root, 0), "snapshots"), 0);
	is_str(json_string_value(json_object_get(snap, "method")), "classic", "json: method");
	is_str(json_string_value(json_object_get(snap, "snapshot")), "vg/lin_mbsnap_1", "json: snapshot");
	is_int(json_integer_value(json_object_get(snap, "extensions")), 2, "json: extensions");
	ok(json_real_value(json_object_get(snap, "peak_pct")) > 61.2 &&
	   json_real_value(json_object_get(snap, "peak_pct")) < 61.4, "json: peak_pct 61.3");
	is_int(json_integer_value(json_object_get(snap, "throttled_ms")), 1500, "json: throttled_ms");
	ok(json_is_false(json_object_get(snap, "invalidated")), "json: invalidated false");
	is_int(json_array_size(json_object_get(json_array_get(root, 1), "snapshots")), 0,
	       "json: a run without a snapshot has an empty list");
	json_decref(root);
	free(out);
	out = list(c, false);
	ok(out && strstr(out, "snapshot classic 'vg/lin_mbsnap_1' of 'vg/lin': peak 61.3%, "
			 "2 extension(s), 16 -> 48 MiB, writers throttled 1500 ms down to 1024 KiB/s\n"),
	   "text: one line under the run");
	s.invalidated = true;
	is_int(mb_catalog_snapshot_add(c, other, &s, &e), 0, "an invalidated one recorded");
	free(out);
	out = list(c, false);
	ok(out && strstr(out, "writers throttled 1500 ms down to 1024 KiB/s, INVALIDATED\n"), "text: it says INVALIDATED");
	free(out);
	mb_catalog_close(c);
	for (const char *suffix = ""; suffix; suffix = !*suffix ? "-wal" : strcmp(suffix, "-wal") == 0 ? "-shm" : NULL) {
		char p[160];

		snprintf(p, sizeof(p), "%s%s", path, suffix);
		unlink(p);
	}
	rmdir(dir);
	return done_testing();
}
