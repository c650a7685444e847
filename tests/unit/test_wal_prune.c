/* Unit tests for mb_wal_prune (orchestrator/wal_archive.h): what expire
 * removes from the WAL archive, and what it must never remove. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/hash.h"
#include "orchestrator/wal_archive.h"
#include "tests/lib/tap.h"
#include "tests/unit/test_wal_fixture.h"

static char ARCH[128];

static void put(const char *name, const char *text, int bad_sum)
{
	wal_fx_put(ARCH, name, text, bad_sum);
}

static void put_seg(uint32_t tli, uint64_t segno)
{
	wal_fx_put_seg(ARCH, tli, segno);
}

static int has(uint32_t tli, uint64_t segno, const char *suffix)
{
	char name[MB_WAL_NAME_MAX], path[512];

	mb_wal_seg_name(tli, segno, SEG, name);
	snprintf(path, sizeof(path), "%s/%.16s/%s%s", ARCH, name, name, suffix);
	return access(path, F_OK) == 0;
}

/* The archive of the test: timeline 1 segments 2..9 and log 1's first
 * (0x100), timeline 2 forked at 0/7000100 with 7..12, timeline 3 forked
 * from 1 at 0/3000100 (a restore that went back before both), with 3..4. */
static void build(void)
{
	char cmd[512];
	FILE *f;

	snprintf(cmd, sizeof(cmd), "rm -rf %s && mkdir -p %s", ARCH, ARCH);
	if (system(cmd) != 0)
		diag("unable to reset %s", ARCH);
	snprintf(cmd, sizeof(cmd), "%s/archive.info", ARCH);
	f = fopen(cmd, "w");
	fprintf(f, "system-identifier = 42\nsegment-size = %u\n", SEG);
	fclose(f);
	for (uint64_t i = 2; i <= 9; i++)
		put_seg(1, i);
	put_seg(1, 0x100);
	put("000000010000000000000003.00000028.backup", "label", 0);
	put("00000002.history", "1\t0/7000100\tno recovery target specified\n", 0);
	for (uint64_t i = 7; i <= 12; i++)
		put_seg(2, i);
	put("00000003.history", "1\t0/3000100\tbefore 2\n", 0);
	put_seg(3, 3);
	put_seg(3, 4);
}

/* mb_wal_prune on the directory store of archive. */
static int prune_in(const char *archive, const struct mb_wal_keep *k, size_t n,
		    struct mb_wal_pruned *out, struct mb_error *e)
{
	struct mb_wal_store *s;
	int rc;

	if (mb_wal_store_open(archive, NULL, &s, e) < 0)
		return -1;
	rc = mb_wal_prune(s, k, n, out, e);
	mb_wal_store_close(s);
	return rc;
}

int main(void)
{
	struct mb_error e = { 0 };
	struct mb_wal_pruned out;
	struct mb_wal_keep k1 = { 1, 0x5000028 }, k2[2] = { { 2, 0x9000028 }, { 3, 0x3000200 } };
	char path[256];

	snprintf(ARCH, sizeof(ARCH), "/tmp/test_wal_prune.%d", (int)getpid());
	build();
	ok(prune_in(ARCH, NULL, 0, &out, &e) == 0 && out.files == 0 && has(1, 2, ""),
	   "no kept backup: nothing is removed");

	ok(prune_in(ARCH, &k1, 1, &out, &e) == 0, "prune for a backup at 0/5000028 on 1");
	is_int((int)out.files, 6, "  removed 2..4 of timeline 1, its .backup, timeline 3's two");
	ok(!has(1, 2, "") && !has(1, 4, "") && !has(1, 2, MB_WAL_SIDECAR), "  1: 2..4 gone, sidecars too");
	ok(has(1, 5, "") && has(1, 9, "") && has(1, 0x100, ""), "  1: 5 onwards kept");
	ok(has(2, 7, "") && has(2, 12, ""), "  2 descends from 1 after the start: kept");
	ok(!has(3, 3, "") && !has(3, 4, ""), "  3 forked before the start: removed");
	snprintf(path, sizeof(path), "%s/00000003.history", ARCH);
	ok(access(path, F_OK) == 0, "  history files are kept");
	is_str(out.oldest_kept, "000000010000000000000005", "  oldest kept");
	snprintf(path, sizeof(path), "%s/0000000300000000", ARCH);
	ok(access(path, F_OK) < 0, "  an emptied directory is removed");

	build();
	ok(prune_in(ARCH, k2, 2, &out, &e) == 0, "prune for backups on 2 and on 3");
	ok(!has(1, 9, "") && !has(1, 0x100, "") && !has(2, 8, ""), "  1 and 2 before 9: gone");
	ok(has(2, 9, "") && has(2, 12, "") && has(3, 3, "") && has(3, 4, ""),
	   "  each backup's timeline from its start: kept");

	build();
	snprintf(path, sizeof(path), "%s/00000002.history", ARCH);
	put("00000002.history", "garbage\n", 0);
	ok(prune_in(ARCH, &k1, 1, &out, &e) == 0 && has(2, 7, ""),
	   "a timeline whose history cannot be read is kept whole");

	snprintf(path, sizeof(path), "rm -rf %s", ARCH);
	if (system(path) != 0)
		diag("unable to remove %s", ARCH);
	return done_testing();
}
