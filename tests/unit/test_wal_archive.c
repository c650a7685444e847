/* Unit tests for the WAL archive API (orchestrator/wal_archive.h): names,
 * LSN math, segment headers, history files, the scan and the continuity
 * check that wal-check and restore use. */
#include <fcntl.h>
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

static void names(void)
{
	char buf[MB_WAL_NAME_MAX], lsn[MB_WAL_LSN_MAX];
	struct mb_wal_name n;
	uint64_t v;

	ok(mb_wal_lsn_parse("16/B374D848", &v) == 0 && v == 0x16B374D848ull, "lsn parses");
	ok(mb_wal_lsn_parse("0/0", &v) == 0 && v == 0, "lsn 0/0 parses");
	ok(mb_wal_lsn_parse("16/", &v) < 0, "lsn without low part refused");
	ok(mb_wal_lsn_parse("123456789/0", &v) < 0, "lsn with 9 digits refused");
	ok(mb_wal_lsn_parse("1/2x", &v) < 0, "lsn with junk refused");
	mb_wal_lsn_format(0x16B374D848ull, lsn);
	is_str(lsn, "16/B374D848", "lsn formats as PostgreSQL does");
	mb_wal_seg_name(1, mb_wal_segno(0x16B374D848ull, SEG), SEG, buf);
	is_str(buf, "0000000100000016000000B3", "segment of an lsn, 16 MiB");
	mb_wal_seg_name(3, mb_wal_segno(0x16B374D848ull, 64u << 20), 64u << 20, buf);
	is_str(buf, "00000003000000160000002C", "segment of an lsn, 64 MiB");
	mb_wal_seg_name(2, 256, SEG, buf);
	is_str(buf, "000000020000000100000000", "segment 256 starts log 1");
	ok(mb_wal_name_parse("0000000100000016000000B3", &n) == 0 && n.kind == MB_WAL_SEGMENT &&
	   n.tli == 1 && mb_wal_name_segno(&n, SEG) == 0x16B3, "segment name parses");
	ok(mb_wal_name_parse("0000000200000016000000b3.partial", &n) == 0 &&
	   n.kind == MB_WAL_PARTIAL && n.tli == 2, "partial name parses");
	ok(mb_wal_name_parse("000000010000000000000002.00000028.backup", &n) == 0 &&
	   n.kind == MB_WAL_BACKUP, "backup name parses");
	ok(mb_wal_name_parse("0000000A.history", &n) == 0 && n.kind == MB_WAL_HISTORY &&
	   n.tli == 10, "history name parses");
	ok(mb_wal_name_parse("00000000.history", &n) < 0, "timeline 0 refused");
	ok(mb_wal_name_parse("000000010000000000000002.xxh128", &n) < 0, "sidecar is no WAL name");
	ok(mb_wal_name_parse("../00000001000000000000002", &n) < 0, "path is no WAL name");
	ok(mb_wal_name_parse("RECOVERYXLOG", &n) < 0, "other names refused");
	ok(mb_wal_seg_size_valid(1u << 20) && mb_wal_seg_size_valid(1u << 30) &&
	   !mb_wal_seg_size_valid(3u << 20) && !mb_wal_seg_size_valid(1u << 19),
	   "segment sizes: powers of two, 1 MiB..1 GiB");
}

static void header(void)
{
	unsigned char b[MB_WAL_HEADER_LEN] = { 0x10, 0xD1, 0x07, 0x00 };
	uint32_t tli = 2, seg = SEG, blk = 8192;
	uint64_t addr = 5ull * SEG, sysid = 7312345678901234567ull;
	struct mb_wal_header h;

	memcpy(b + 4, &tli, 4);
	memcpy(b + 8, &addr, 8);
	memcpy(b + 24, &sysid, 8);
	memcpy(b + 32, &seg, 4);
	memcpy(b + 36, &blk, 4);
	ok(mb_wal_header_parse(b, &h) == 0 && h.tli == 2 && h.pageaddr == addr &&
	   h.sysid == sysid && h.seg_size == SEG && h.block_size == 8192, "long header parses");
	b[2] = 0x05;
	ok(mb_wal_header_parse(b, &h) < 0, "a short page header is refused");
	b[2] = 0x07;
	b[0] = 0x0D;
	ok(mb_wal_header_parse(b, &h) < 0, "another version's magic is refused");
}

static void history(void)
{
	struct mb_wal_history h;
	struct mb_error e = { 0 };

	ok(mb_wal_history_parse("1\t0/3000158\tno recovery target specified\n\n"
				"# comment\n2\t0/5000000\tat restore point \"x\"\n", 3, &h, &e) == 0 &&
	   h.n == 3, "history of timeline 3 parses");
	ok(h.v[0].tli == 1 && h.v[0].begin == 0 && h.v[0].end == 0x3000158 &&
	   h.v[1].tli == 2 && h.v[1].begin == 0x3000158 && h.v[1].end == 0x5000000 &&
	   h.v[2].tli == 3 && h.v[2].begin == 0x5000000 && h.v[2].end == UINT64_MAX,
	   "each timeline's range");
	ok(mb_wal_history_find(&h, 2) == &h.v[1] && !mb_wal_history_find(&h, 4), "find");
	mb_wal_history_free(&h);
	ok(mb_wal_history_parse("1\t0/3000158\treason\n", 4, &h, &e) == 0 && h.n == 2 &&
	   h.v[1].tli == 4, "a timeline may skip its siblings");
	mb_wal_history_free(&h);
	ok(mb_wal_history_parse("2\t0/3000158\tr\n1\t0/4000000\tr\n", 3, &h, &e) < 0 &&
	   e.code == MB_ERR_CORRUPT, "parents out of order refused");
	is_str(e.msg, "timeline 3 history line 2 is malformed or out of order", "its message");
	mb_error_clear(&e);
	ok(mb_wal_history_parse("1\t0/5000000\tr\n2\t0/4000000\tr\n", 3, &h, &e) < 0,
	   "switchpoints going back refused");
	mb_error_clear(&e);
	ok(mb_wal_history_parse("1\tnot-an-lsn\tr\n", 2, &h, &e) < 0, "bad lsn refused");
	mb_error_clear(&e);
	ok(mb_wal_history_parse("2\t0/1\tr\n", 2, &h, &e) < 0, "own timeline as parent refused");
}

static void put(const char *name, const char *text, int bad_sum)
{
	wal_fx_put(ARCH, name, text, bad_sum);
}

static void put_seg(uint32_t tli, uint64_t segno)
{
	wal_fx_put_seg(ARCH, tli, segno);
}

static void drop_seg(uint32_t tli, uint64_t segno)
{
	char name[MB_WAL_NAME_MAX], path[512];

	mb_wal_seg_name(tli, segno, SEG, name);
	snprintf(path, sizeof(path), "%s/%.16s/%s", ARCH, name, name);
	unlink(path);
}

/* mb_wal_scan of the directory store of archive. */
static int scan_in(const char *archive, struct mb_wal_scan *s, struct mb_error *e)
{
	struct mb_wal_store *st;
	int rc;

	if (mb_wal_store_open(archive, NULL, &st, e) < 0)
		return -1;
	rc = mb_wal_scan(st, s, e);
	mb_wal_store_close(st);
	return rc;
}

static void scan(void)
{
	struct mb_error e = { 0 };
	struct mb_wal_scan s;
	char path[256];
	FILE *f;

	ok(scan_in("/nonexistent/mbackup-wal", &s, &e) < 0 && e.code == MB_ERR_CONFIG,
	   "a missing archive cannot be used");
	mb_error_clear(&e);
	snprintf(path, sizeof(path), "%s/archive.info", ARCH);
	f = fopen(path, "w");
	fprintf(f, "# mbackup WAL archive\nsystem-identifier = 42\nsegment-size = %u\n", SEG);
	fclose(f);
	for (uint64_t i = 2; i <= 9; i++)
		put_seg(1, i);
	put_seg(1, 0x100);	/* another directory (log 1) */
	put("000000010000000000000005.00000028.backup", "START WAL LOCATION", 0);
	put("00000002.history", "1\t0/7000100\tno recovery target specified\n", 0);
	put("000000010000000000000007.partial", "p", 0);
	for (uint64_t i = 7; i <= 12; i++)
		put_seg(2, i);
	snprintf(path, sizeof(path), "%s/0000000100000000/.000000010000000000000003.1.tmp", ARCH);
	close(open(path, O_CREAT | O_WRONLY, 0600));
	ok(scan_in(ARCH, &s, &e) == 0, "scan");
	is_int((int)s.n_segs, 15, "its segments");
	ok(s.sysid == 42 && s.seg_size == SEG, "archive.info read");
	ok(s.n_hist == 1 && s.hist[0] == 2 && s.n_partial == 1 && s.n_backup == 1 &&
	   s.n_tmp == 1, "history, partial, backup and temporary files counted");
	ok(mb_wal_scan_has(&s, 1, 0x100) && mb_wal_scan_has(&s, 2, 12) &&
	   !mb_wal_scan_has(&s, 2, 13), "lookup");
	is_str(s.newest, "00000002000000000000000C", "newest by (timeline, segment)");
	ok(s.newest_mtime > 0, "its time");
	mb_wal_scan_free(&s);
}

static void continuity(void)
{
	struct mb_error e = { 0 };
	struct mb_wal_gap g;
	uint32_t tli = 0;

	ok(mb_wal_archive_latest_timeline(ARCH, NULL, 1, &tli, &e) == 0 && tli == 2, "latest is 2");
	put("00000004.history", "1\t0/7000100\tr\n2\t0/9000000\tr\n", 0);
	ok(mb_wal_archive_latest_timeline(ARCH, NULL, 1, &tli, &e) == 0 && tli == 2,
	   "  4 without 3 is not found, as PostgreSQL probes one by one");
	ok(mb_wal_archive_latest_timeline(ARCH, NULL, 3, &tli, &e) == 0 && tli == 4, "  from 3 it is 4");
	ok(mb_wal_archive_latest_timeline("/nonexistent/x", NULL, 1, &tli, &e) < 0 &&
	   e.code == MB_ERR_NOT_FOUND, "  no archive: not found");
	mb_error_clear(&e);
	is_int(mb_wal_archive_check(ARCH, NULL, 1, 0x2000028, 1, 0x9FFFFFF, &g, &e), 0,
	       "timeline 1 complete to 0/9FFFFFF");
	is_str(g.last, "000000010000000000000009", "its last segment");
	is_int(mb_wal_archive_check(ARCH, NULL, 1, 0x2000028, 0, 0, &g, &e), 0,
	       "latest: complete through the newest on timeline 2");
	ok(g.target_tli == 2 && g.end_segno == 12, "followed timeline 2 to segment 12");
	is_str(g.last, "00000002000000000000000C", "its last segment");
	is_int(mb_wal_archive_check(ARCH, NULL, 1, 0x2000028, 2, 0x8000000, &g, &e), 0,
	       "the switch segment is asked on the new timeline");
	is_int(mb_wal_archive_check(ARCH, NULL, 1, 0x2000028, 1, 0xA000000, &g, &e), 1,
	       "timeline 1 past its newest: a gap");
	is_str(g.first_missing, "00000001000000000000000A", "named");
	drop_seg(2, 7);
	is_int(mb_wal_archive_check(ARCH, NULL, 1, 0x2000028, 0, 0, &g, &e), 1,
	       "the new timeline's first segment missing: a gap");
	ok(strcmp(g.first_missing, "000000020000000000000007") == 0 && g.tli == 2 &&
	   g.lsn == 0x7000000, "named with its timeline and lsn");
	put_seg(2, 7);
	drop_seg(1, 4);
	is_int(mb_wal_archive_check(ARCH, NULL, 1, 0x2000028, 0, 0x9000000, &g, &e), 1,
	       "a hole on timeline 1");
	is_str(g.first_missing, "000000010000000000000004", "the first missing");
	is_int(mb_wal_archive_check(ARCH, NULL, 1, 0x5000028, 0, 0x9000000, &g, &e), 0,
	       "a backup after the hole needs nothing before it");
	is_int(mb_wal_archive_check(ARCH, NULL, 1, 0x7000200, 2, 0, &g, &e), -1,
	       "a start past the switch point does not lead to timeline 2");
	is_int(e.code, MB_ERR_NOT_FOUND, "not found");
	is_str(e.msg, "timeline 2 does not descend from timeline 1 at 0/7000200", "its message");
	mb_error_clear(&e);
	is_int(mb_wal_archive_check(ARCH, NULL, 1, 0x5000028, 3, 0, &g, &e), 1,
	       "timeline 3 without its history: a gap");
	is_str(g.first_missing, "00000003.history", "the history file named");
	put("00000002.history", "1\t0/7000100\tno recovery target specified\n", 1);
	is_int(mb_wal_archive_check(ARCH, NULL, 1, 0x5000028, 2, 0, &g, &e), -1,
	       "a damaged history file is an error");
	is_int(e.code, MB_ERR_CORRUPT, "corrupt");
	ok(strstr(e.msg, "00000002.history' is damaged: checksum ") != NULL, e.msg);
	mb_error_clear(&e);
}

int main(void)
{
	char cmd[256];

	snprintf(ARCH, sizeof(ARCH), "/tmp/test_wal_archive.%d", (int)getpid());
	mkdir(ARCH, 0700);
	names();
	header();
	history();
	scan();
	continuity();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", ARCH);
	if (system(cmd) != 0)
		diag("unable to remove %s", ARCH);
	return done_testing();
}
