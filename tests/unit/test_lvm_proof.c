/*
 * The targeted proof of a merged raid1 leg (plugins/mirror/lvm_proof.c):
 * the change map, and the compare of two "legs" (files) on its written
 * regions only.
 */
#include "tests/lib/tap.h"
#include "plugins/mirror/lvm_proof.h"

#include <unistd.h>

#define CHUNK (64u << 10)

static char dir[] = "/tmp/test_lvm_proof.XXXXXX";

static void write_file(const char *path, const void *buf, size_t len, off_t off)
{
	int fd = open(path, O_WRONLY | O_CREAT, 0600);

	if (fd < 0 || pwrite(fd, buf, len, off) != (ssize_t)len)
		abort();
	close(fd);
}

static char *in_dir(const char *name)
{
	static char paths[4][256];
	static int next;
	char *p = paths[next++ % 4];

	snprintf(p, 256, "%s/%s", dir, name);
	return p;
}

static void test_map(void)
{
	struct mb_lvm_dirty d;
	struct mb_error e = { 0 };

	/* 15.5 chunks: the last one is short. */
	is_int(mb_lvm_dirty_init(&d, CHUNK, 15 * CHUNK + CHUNK / 2, &e), 0, "a map initialises");
	is_int((int)d.chunks, 16, "... 16 chunks (the last one short)");
	mb_lvm_dirty_mark(&d, 0);
	mb_lvm_dirty_mark(&d, 9);
	mb_lvm_dirty_mark(&d, 9);
	mb_lvm_dirty_mark(&d, 16);
	is_int((int)d.dirty, 2, "... 2 marked: twice counts once, past the end is ignored");
	mb_lvm_dirty_free(&d);
	is_int(mb_lvm_dirty_init(&d, 1000, CHUNK, &e), -1, "regions not of whole sectors: refused");
	is_str(e.msg, "a change map of 1000-byte regions over 65536 bytes makes no sense",
	       "... saying so");
}

static void test_compare(void)
{
	static unsigned char leg[16 * CHUNK];
	struct mb_lvm_dirty d;
	struct mb_lvm_compare c;
	struct mb_error e = { 0 };

	mb_lvm_dirty_init(&d, CHUNK, sizeof(leg), &e);
	mb_lvm_dirty_mark(&d, 3);
	mb_lvm_dirty_mark(&d, 12);
	for (size_t i = 0; i < sizeof(leg); i++)
		leg[i] = (unsigned char)(i * 7);
	write_file(in_dir("a"), leg, sizeof(leg), 0);
	leg[5 * CHUNK + 100] ^= 1;	/* outside the map: not looked at */
	write_file(in_dir("b"), leg, sizeof(leg), 0);
	is_int(mb_lvm_compare_dirty(in_dir("a"), in_dir("b"), &d, &c, &e), 0,
	       "legs equal on the written chunks: proven");
	is_int((int)c.regions, 2, "... 2 regions compared");
	ok(c.bytes_read == 4 * CHUNK, "... reading 2 chunks of each leg, nothing else");
	leg[12 * CHUNK + 4097] ^= 1;
	write_file(in_dir("b"), leg, sizeof(leg), 0);
	is_int(mb_lvm_compare_dirty(in_dir("a"), in_dir("b"), &d, &c, &e), 1,
	       "a difference inside a written chunk is found");
	ok(c.differ_at == 12 * CHUNK, "... in the piece at the start of chunk 12");
	is_int(mb_lvm_compare_dirty(in_dir("a"), in_dir("nosuch"), &d, &c, &e), -1,
	       "a leg that cannot be opened is an error");
	mb_lvm_dirty_free(&d);
}

/* A merged leg that missed the split's writes, mended from the origin on
 * the written chunks only. */
static void test_mend(void)
{
	static unsigned char leg[16 * CHUNK], got[16 * CHUNK];
	struct mb_lvm_dirty d;
	struct mb_lvm_compare c;
	struct mb_error e = { 0 };
	int fd;

	mb_lvm_dirty_init(&d, CHUNK, sizeof(leg), &e);
	mb_lvm_dirty_mark(&d, 3);
	mb_lvm_dirty_mark(&d, 12);
	for (size_t i = 0; i < sizeof(leg); i++)
		leg[i] = (unsigned char)(i * 7);
	write_file(in_dir("a"), leg, sizeof(leg), 0);
	leg[5 * CHUNK + 100] ^= 1;	/* outside the map: left as it is */
	leg[12 * CHUNK + 4097] ^= 1;
	leg[12 * CHUNK + 5 * 4096] ^= 1;	/* the same piece */
	write_file(in_dir("b"), leg, sizeof(leg), 0);
	is_int(mb_lvm_mend_dirty(in_dir("a"), in_dir("b"), &d, &c, &e), 0,
	       "a merged leg different in a written chunk: mended, then equal");
	is_int((int)c.mended, 1, "... one piece copied");
	ok(c.bytes_mended == CHUNK, "... of one chunk");
	ok(c.mended_at == 12 * CHUNK, "... the one at the start of chunk 12");
	is_int(mb_lvm_compare_dirty(in_dir("a"), in_dir("b"), &d, &c, &e), 0,
	       "... a compare afterwards agrees");
	fd = open(in_dir("b"), O_RDONLY);
	ok(fd >= 0 && pread(fd, got, sizeof(got), 0) == (ssize_t)sizeof(got) &&
	   got[5 * CHUNK + 100] == leg[5 * CHUNK + 100], "... nothing outside the map written");
	if (fd >= 0)
		close(fd);
	is_int(mb_lvm_mend_dirty(in_dir("a"), in_dir("b"), &d, &c, &e), 0,
	       "equal legs: nothing to mend");
	is_int((int)c.mended, 0, "... nothing copied");
	mb_lvm_dirty_mark(&d, 6);
	mb_lvm_dirty_mark(&d, 7);
	leg[12 * CHUNK + 4097] ^= 1;	/* as mended */
	leg[12 * CHUNK + 5 * 4096] ^= 1;
	leg[7 * CHUNK + 9] ^= 1;
	write_file(in_dir("b"), leg, sizeof(leg), 0);
	is_int(mb_lvm_mend_dirty(in_dir("a"), in_dir("b"), &d, &c, &e), 0,
	       "written chunks side by side are one piece: mended");
	ok(c.regions == 4 && c.mended == 1 && c.mended_at == 6 * CHUNK &&
	   c.bytes_mended == 2 * CHUNK, "... the piece of chunks 6 and 7, in one copy");
	is_int(mb_lvm_mend_dirty(in_dir("a"), in_dir("nosuch"), &d, &c, &e), -1,
	       "a merged leg that cannot be opened is an error");
	mb_lvm_dirty_free(&d);
}

/* The run's pace, counted: what the proof asks of it before its reads. */
static uint64_t paced, paced_calls;

static void count_pace(void *arg, uint64_t n)
{
	(void)arg;
	paced += n;
	paced_calls++;
}

/* Under --max-rate or --yield auto the proof's reads take from the run's
 * pace (mb_undo_ctx.pace): both legs' bytes of each piece, before it is
 * read; a mend's reads again after a copy are not asked for. */
static void test_paced(void)
{
	static unsigned char leg[16 * CHUNK];
	struct mb_lvm_dirty d;
	struct mb_lvm_compare c;
	struct mb_error e = { 0 };

	mb_lvm_dirty_init(&d, CHUNK, sizeof(leg), &e);
	mb_lvm_dirty_mark(&d, 2);
	mb_lvm_dirty_mark(&d, 3);
	mb_lvm_dirty_mark(&d, 9);
	write_file(in_dir("a"), leg, sizeof(leg), 0);
	write_file(in_dir("b"), leg, sizeof(leg), 0);
	is_int(mb_lvm_mend_dirty_paced(in_dir("a"), in_dir("b"), &d, count_pace, NULL, &c, &e), 0,
	       "a paced proof of equal legs: equal");
	ok(paced == 2 * 3 * CHUNK, "... the pace asked for both legs' bytes of the 3 chunks");
	is_int((int)paced_calls, 2, "... once a piece (chunks 2-3, chunk 9)");
	ok(c.bytes_read == paced, "... as many as it read");
	paced = paced_calls = 0;
	is_int(mb_lvm_mend_dirty_paced(in_dir("a"), in_dir("b"), &d, NULL, NULL, &c, &e), 0,
	       "no pace: the same proof, at once");
	mb_lvm_dirty_free(&d);
}

int main(void)
{
	if (!mkdtemp(dir))
		return 1;
	test_map();
	test_compare();
	test_mend();
	test_paced();
	unlink(in_dir("a"));
	unlink(in_dir("b"));
	rmdir(dir);
	return done_testing();
}
