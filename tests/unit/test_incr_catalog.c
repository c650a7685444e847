/* The chain logic of the catalog (orchestrator/catalog_incr.c): which
 * backup an incremental takes as its base, the routes to a point cheapest
 * first, and the block maps (entries without a map, types, copies). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "orchestrator/catalog.h"
#include "orchestrator/catalog_incr.h"
#include "tests/lib/tap.h"

static char path[] = "/tmp/incr-catalog-XXXXXX";

static int64_t run(struct mb_catalog *c, const char *status)
{
	struct mb_error e = { 0 };
	int64_t id = 0;

	mb_catalog_run_begin(c, "backup", NULL, &id, &e);
	mb_catalog_run_end(c, id, status, 0, NULL, &e);
	return id;
}

static void add(struct mb_catalog *c, int64_t id, const char *kind, int64_t base, const char *chain,
		uint64_t bytes, int64_t point)
{
	struct mb_backup_rec b = { .run_id = id, .base_id = base, .chain = (char *)chain,
				   .block_size = 4096, .bytes = bytes, .point_id = point };
	struct mb_error e = { 0 };

	snprintf(b.kind, sizeof(b.kind), "%s", kind);
	if (mb_catalog_backup_add(c, &b, &e) < 0)
		diag("backup_add: %s", e.msg);
}

static void test_routes(struct mb_catalog *c)
{
	struct mb_error e = { 0 };
	struct mb_backup_rec b;
	int64_t newest, *ids = NULL;
	size_t n = 0;
	char want[128];

	is_int(mb_catalog_backup_newest(c, &newest, &e), -1, "no backup: no base");
	is_int(e.code, MB_ERR_NOT_FOUND, "not found");
	mb_error_clear(&e);
	run(c, "complete");				/* 1 full */
	run(c, "complete");				/* 2 on 1 */
	run(c, "failed");				/* 3 failed */
	add(c, 1, "full", 0, "1", 1000, 0);
	add(c, 2, "incremental", 1, "1,2", 30, 0);
	add(c, 3, "incremental", 2, "1,2,3", 20, 0);
	mb_catalog_backup_newest(c, &newest, &e);
	is_int(newest, 2, "the newest complete backup is the base (a failed one is not)");
	run(c, "complete");				/* 4 consolidates 2 */
	run(c, "complete");				/* 5 backward to 1 */
	add(c, 4, "consolidated", 2, "4", 1010, 2);
	add(c, 5, "incremental", 4, "4,5", 40, 1);
	mb_catalog_backup_newest(c, &newest, &e);
	is_int(newest, 4, "after a consolidation: the whole image, not the backward increment");
	mb_catalog_backup_routes(c, 2, &ids, &n, &e);
	ok(n == 2 && ids[0] == 4 && ids[1] == 2,
	   "point 2: the consolidation (1010 bytes) before its own chain (1030)");
	free(ids);
	mb_catalog_backup_routes(c, 1, &ids, &n, &e);
	ok(n == 2 && ids[0] == 1 && ids[1] == 5,
	   "point 1: the full (1000) before the consolidation and backward step (1050)");
	free(ids);
	mb_catalog_backup_routes(c, 3, &ids, &n, &e);
	is_int(n, 0, "a failed backup has no route");
	free(ids);
	is_int(mb_catalog_backup_get(c, 5, &b, &e), 0, "get");
	ok(b.point_id == 1 && b.base_id == 4 && strcmp(b.chain, "4,5") == 0 &&
	   strcmp(b.kind, "incremental") == 0 && strcmp(b.status, "complete") == 0, "its fields");
	mb_backup_rec_free(&b);
	is_int(mb_catalog_backup_get(c, 9, &b, &e), -1, "no such backup");
	snprintf(want, sizeof(want), "no backup 9 in catalog '%s/c.db'", path);
	is_str(e.msg, want, "named");
}

static void test_maps(struct mb_catalog *c)
{
	uint64_t h[3] = { 1, 0xfedcba9876543210u, 3 };
	struct mb_blockmap m = { .size = 9000, .block_size = 4096, .h = h, .n = 3,
				 .file_hash = "0123456789abcdef0123456789abcdef" };
	const struct mb_blockmap *maps[] = { &m, NULL, NULL };
	const char *paths[] = { "b/file", "a", "b/seg" };
	struct mb_blockmaps got = { 0 };
	struct mb_error e = { 0 };
	long k;

	is_int(mb_catalog_blockmaps_save(c, 2, paths, "fdf", maps, 3, &e), 0, "save maps");
	is_int(mb_catalog_blockmaps_load(c, 2, &got, &e), 0, "load maps");
	ok(got.n == 3 && strcmp(got.paths[0], "a") == 0 && strcmp(got.paths[2], "b/seg") == 0,
	   "sorted by path");
	k = mb_blockmaps_find(&got, "b/file");
	ok(k == 1 && got.types[k] == 'f' && got.maps[k].n == 3 && got.maps[k].h[1] == h[1] &&
	   got.maps[k].size == 9000 && strcmp(got.maps[k].file_hash, m.file_hash) == 0,
	   "a file's map, every hash bit kept");
	k = mb_blockmaps_find(&got, "b/seg");
	ok(k == 2 && got.maps[k].block_size == 0 && got.maps[k].n == 0, "a file without a map");
	ok(mb_blockmaps_find(&got, "a") == 0 && got.types[0] == 'd', "a directory, by type");
	is_int(mb_blockmaps_find(&got, "c"), -1, "not there");
	mb_blockmaps_free(&got);
	is_int(mb_catalog_blockmaps_copy(c, 2, 4, &e), 0, "copy to a consolidation");
	mb_catalog_blockmaps_load(c, 4, &got, &e);
	is_int(got.n, 3, "the copy has them all");
	mb_blockmaps_free(&got);
}

int main(void)
{
	struct mb_catalog *c = NULL;
	struct mb_error e = { 0 };
	char db[64];

	plan(20);
	if (!mkdtemp(path))
		return 1;
	snprintf(db, sizeof(db), "%s/c.db", path);
	if (mb_catalog_open(&c, db, &e) < 0)
		return 1;
	test_routes(c);
	test_maps(c);
	mb_catalog_close(c);
	unlink(db);
	rmdir(path);
	return done_testing();
}
