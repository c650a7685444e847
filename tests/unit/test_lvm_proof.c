/*
 * The targeted proof of a merged raid1 leg (plugins/mirror/lvm_proof.c):
 * md's write-intent bitmap as the kernel lays it out (bitmap_super_t, the
 * bits after its 256 bytes), read from a file standing in for a rmeta
 * sub-LV; the compare of two "legs" (files) on the dirty chunks only.
 */
#include "tests/lib/tap.h"
#include "plugins/mirror/lvm_proof.h"

#include <unistd.h>

#define CHUNK (64u << 10)

static char dir[] = "/tmp/test_lvm_proof.XXXXXX";

static void put32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> 8 * i);
}

/* A bitmap superblock for a sectors-long array, the given chunks dirty. */
static void make_bitmap(unsigned char *b, size_t len, uint64_t sectors, uint32_t state,
			const int *dirty, int n)
{
	memset(b, 0, len);
	put32(b, 0x6d746962);
	put32(b + 4, 4);
	put32(b + 40, (uint32_t)sectors);
	put32(b + 44, (uint32_t)(sectors >> 32));
	put32(b + 48, state);
	put32(b + 52, CHUNK);
	put32(b + 56, 5);
	for (int i = 0; i < n; i++)
		b[256 + dirty[i] / 8] |= (unsigned char)(1u << dirty[i] % 8);
}

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

static void test_parse(void)
{
	unsigned char b[4096];
	struct mb_lvm_dirty d, d2;
	struct mb_error e = { 0 };
	const int one[] = { 0, 9 }, two[] = { 9, 15 };

	/* 15.5 chunks: the last one is short, a padding bit set past it. */
	make_bitmap(b, sizeof(b), 15 * CHUNK / 512 + 64, 0, one, 2);
	b[256 + 2] |= 0x80;
	is_int(mb_lvm_dirty_parse(b, sizeof(b), &d, &e), 0, "a bitmap parses");
	is_int((int)d.chunks, 16, "... 16 chunks (the last one short)");
	is_int((int)d.dirty, 2, "... 2 dirty: the padding bit past the last chunk is ignored");
	make_bitmap(b, sizeof(b), 15 * CHUNK / 512 + 64, 0, two, 2);
	is_int(mb_lvm_dirty_parse(b, sizeof(b), &d2, &e), 0, "a second reading parses");
	is_int(mb_lvm_dirty_union(&d, &d2, &e), 0, "the union of the two");
	is_int((int)d.dirty, 3, "... has 3 dirty chunks (0, 9, 15)");
	mb_lvm_dirty_free(&d2);
	make_bitmap(b, sizeof(b), 31 * CHUNK / 512, 0, two, 2);
	mb_lvm_dirty_parse(b, sizeof(b), &d2, &e);
	is_int(mb_lvm_dirty_union(&d, &d2, &e), -1, "a union across geometries is refused");
	is_str(e.msg, "the write-intent bitmap changed its geometry (16 to 31 chunks)", "... saying so");
	mb_lvm_dirty_free(&d2);
	mb_lvm_dirty_free(&d);

	memset(&e, 0, sizeof(e));
	make_bitmap(b, sizeof(b), 64, 2, one, 2);
	is_int(mb_lvm_dirty_parse(b, sizeof(b), &d, &e), -1, "a stale bitmap is refused");
	is_str(e.msg, "the md write-intent bitmap is stale", "... saying so");
	memset(&e, 0, sizeof(e));
	b[0] = 0;
	is_int(mb_lvm_dirty_parse(b, sizeof(b), &d, &e), -1, "no magic: refused");
	is_str(e.msg, "no md write-intent bitmap found", "... saying so");
	memset(&e, 0, sizeof(e));
	make_bitmap(b, sizeof(b), 8192ull * 64 * CHUNK / 512, 0, one, 2);
	is_int(mb_lvm_dirty_parse(b, sizeof(b), &d, &e), -1, "bits cut short: refused");
	is_str(e.msg, "the md write-intent bitmap is cut short (524288 chunks, 4096 bytes read)",
	       "... saying so");
}

static void test_read_and_compare(void)
{
	static unsigned char leg[16 * CHUNK];
	unsigned char b[4096];
	struct mb_lvm_dirty d;
	struct mb_lvm_compare c;
	struct mb_error e = { 0 };
	const int dirty[] = { 3, 12 };

	make_bitmap(b, sizeof(b), 16 * CHUNK / 512, 0, dirty, 2);
	write_file(in_dir("rmeta"), b, sizeof(b), MB_LVM_BITMAP_OFFSET);
	is_int(mb_lvm_dirty_read(in_dir("rmeta"), &d, &e), 0, "the bitmap reads from the rmeta file");
	is_int((int)d.dirty, 2, "... 2 chunks dirty");

	for (size_t i = 0; i < sizeof(leg); i++)
		leg[i] = (unsigned char)(i * 7);
	write_file(in_dir("a"), leg, sizeof(leg), 0);
	leg[5 * CHUNK + 100] ^= 1;	/* outside the bitmap: not looked at */
	write_file(in_dir("b"), leg, sizeof(leg), 0);
	is_int(mb_lvm_compare_dirty(in_dir("a"), in_dir("b"), &d, &c, &e), 0,
	       "legs equal on the dirty chunks: proven");
	is_int((int)c.regions, 2, "... 2 regions compared");
	ok(c.bytes_read == 4 * CHUNK, "... reading 2 chunks of each leg, nothing else");
	leg[12 * CHUNK + 4097] ^= 1;
	write_file(in_dir("b"), leg, sizeof(leg), 0);
	is_int(mb_lvm_compare_dirty(in_dir("a"), in_dir("b"), &d, &c, &e), 1,
	       "a difference inside a dirty chunk is found");
	ok(c.differ_at == 12 * CHUNK, "... in the piece at the start of chunk 12");
	is_int(mb_lvm_compare_dirty(in_dir("a"), in_dir("nosuch"), &d, &c, &e), -1,
	       "a leg that cannot be opened is an error");
	mb_lvm_dirty_free(&d);
}

int main(void)
{
	if (!mkdtemp(dir))
		return 1;
	test_parse();
	test_read_and_compare();
	unlink(in_dir("rmeta"));
	unlink(in_dir("a"));
	unlink(in_dir("b"));
	rmdir(dir);
	return done_testing();
}
