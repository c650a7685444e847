/* Premap + the extent reader on real ext4 (plain and inline_data) and xfs:
 * every file read from the loop's backing file must match the live file
 * byte for byte (holes, unwritten and beyond-EOF extents included). */
#include <fcntl.h>
#include <linux/fiemap.h>

#include "tests/lib/tap.h"
#include "tests/unit/test_extentmap_fixture.h"

#define MiB (1u << 20)
#define FRAGMENTS 1200	/* more than one FIEMAP batch of 512 */

struct variant {
	const char *name;
	const char *fstype;
	const char *const *mkfs;
	uint64_t size;
	bool inline_data;
	struct fx fs;
};

static const char *const mkfs_ext4[] = { "mkfs.ext4", "-q", "-F", "-b", "4096", NULL };
static const char *const mkfs_inline[] = { "mkfs.ext4", "-q", "-F", "-b", "4096",
					   "-I", "256", "-O", "inline_data", NULL };
static const char *const mkfs_xfs[] = { "mkfs.xfs", "-q", "-f", NULL };

static struct variant variants[] = {
	{ "ext4", "ext4", mkfs_ext4, 256 * MiB, false, { .loop_fd = -1 } },
	{ "ext4 inline_data", "ext4", mkfs_inline, 256 * MiB, true, { .loop_fd = -1 } },
	{ "xfs", "xfs", mkfs_xfs, 512 * MiB, false, { .loop_fd = -1 } },
};

static void make_files(const char *m)
{
	char p[600];
	int fd;

#define P(...) (snprintf(p, sizeof(p), __VA_ARGS__), p)
	fx_write_at(P("%s/small", m), 0, 6, 11);
	fx_write_at(P("%s/odd", m), 0, 12345, 12);
	fx_write_at(P("%s/empty", m), 0, 0, 13);
	mkdir(P("%s/dir", m), 0755);
	mkdir(P("%s/dir/sub", m), 0755);
	for (int i = 0; i < 20; i++)
		fx_write_at(P("%s/dir/sub/large", m), (uint64_t)i * MiB, MiB, 14);
	fx_write_at(P("%s/sparse_mid", m), 0, MiB, 15);
	fx_write_at(P("%s/sparse_mid", m), 4 * MiB, MiB, 15);
	fx_write_at(P("%s/sparse_end", m), 0, MiB, 16);
	truncate(P("%s/sparse_end", m), 8 * MiB);
	fx_write_at(P("%s/all_hole", m), 0, 0, 17);
	truncate(P("%s/all_hole", m), 2 * MiB);
	fd = open(P("%s/unwritten", m), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	fallocate(fd, 0, 0, 4 * MiB);
	close(fd);
	fx_write_at(P("%s/unwritten", m), MiB + 4096, 65536, 18);
	fx_write_at(P("%s/keep_size", m), 0, 100000, 19);
	fd = open(P("%s/keep_size", m), O_RDWR | O_CLOEXEC);
	fallocate(fd, FALLOC_FL_KEEP_SIZE, 100000, MiB);
	close(fd);
	for (int i = 0; i < FRAGMENTS; i++)
		fx_write_at(P("%s/frag", m), (uint64_t)i * 8192, 4096, 20);
	fx_write_at(P("%s/\xc3\xa9t\xc3\xa9", m), 0, 3000, 21);
	link(P("%s/odd", m), (snprintf(p + 300, 300, "%s/odd2", m), p + 300));
#undef P
}

static struct mb_entry slice(const struct mb_entry *ent, uint64_t off, uint64_t len)
{
	struct mb_entry s = *ent;

	s.seg_offset = off;
	s.seg_length = len;
	return s;
}

static int fail_emit(void *arg, const void *buf, size_t len, struct mb_error *e)
{
	return mb_fail(e, MB_ERR_MEDIA, 0, "sink full");
}

/* Segments, error paths. */
static void test_edges(struct variant *v, struct mb_extent_reader *r, struct mb_set *set)
{
	struct fx_buf got = { 0 }, want = { 0 };
	struct mb_error e = { 0 };
	struct mb_entry *large = fx_find(set, "dir/sub/large");
	struct mb_entry *mid = fx_find(set, "sparse_mid");
	struct mb_entry s, *h = fx_find(set, "odd2");
	struct mb_extent bogus = { 0, 1ull << 40, 4096, FIEMAP_EXTENT_LAST };
	char path[300], msg[600];
	uint64_t before;

	/* a wrapped emit (the block hasher's) still reads big segments direct */
	before = mb_extent_reader_direct_bytes(r);
	ok(mb_extent_read(r, large, fx_collect, &got, &e) == 0 && got.n == 20 * MiB,
	   "a large file through a plain emit");
	is_int(mb_extent_reader_direct_bytes(r) - before, 20 * MiB,
	       "its 20 MiB are read with O_DIRECT");
	got.n = 0;
	s = slice(large, MiB + 123, 2 * MiB + 7);
	snprintf(path, sizeof(path), "%s/dir/sub/large", v->fs.mnt);
	fx_read_live(path, MiB + 123, 2 * MiB + 7, &want);
	ok(mb_extent_read(r, &s, fx_collect, &got, &e) == 0 && got.n == want.n &&
	   !memcmp(got.p, want.p, got.n), "segment of a large file");
	s = slice(mid, MiB - 100, 3 * MiB + 200);	/* data, hole, data */
	snprintf(path, sizeof(path), "%s/sparse_mid", v->fs.mnt);
	fx_read_live(path, MiB - 100, 3 * MiB + 200, &want);
	got.n = 0;
	ok(mb_extent_read(r, &s, fx_collect, &got, &e) == 0 && got.n == want.n &&
	   !memcmp(got.p, want.p, got.n), "segment across a hole");
	got.n = 0;
	is_int(mb_extent_read(r, h, fx_collect, &got, &e), 0, "'h' entry reads");
	is_int(got.n, 0, "'h' entry emits nothing");

	s = slice(mid, 4 * MiB, 2 * MiB);
	is_int(mb_extent_read(r, &s, fx_collect, &got, &e), -1, "segment past EOF refused");
	is_str(e.msg, "segment 4194304+2097152 of 'sparse_mid' is past its end (5242880 bytes)",
	       "segment past EOF message");
	mb_error_clear(&e);
	is_int(mb_extent_read(r, large, fail_emit, NULL, &e), -1, "emit failure propagates");
	is_str(e.msg, "sink full", "the callback's error wins");
	is_int(e.code, MB_ERR_MEDIA, "the callback's code");

	mb_error_clear(&e);
	s = slice(large, 0, 4096);
	s.extents = &bogus;
	s.n_extents = 1;
	s.read_via_fs = false;
	is_int(mb_extent_read(r, &s, fx_collect, &got, &e), -1, "extent past the device end fails");
	snprintf(msg, sizeof(msg), "short read from '%s' at offset 1099511627776 for 'dir/sub/large'",
		 v->fs.img);
	is_str(e.msg, msg, "short read message names device and offset");
	free(got.p);
	free(want.p);
}

static void test_via_fs(struct variant *v, struct mb_set *set)
{
	struct mb_entry *small = fx_find(set, "small"), s;
	struct mb_extent_reader *r = NULL;
	struct fx_buf got = { 0 };
	struct mb_error e = { 0 };
	char msg[600];

	ok(small && small->read_via_fs, "tiny inline file is read through the fs");
	mb_extent_reader_open(&r, v->fs.img, 0, &e);
	is_int(mb_extent_read(r, small, fx_collect, &got, &e), -1, "no fs root: refused");
	snprintf(msg, sizeof(msg), "'small' must be read through the filesystem but no mount of '%s' was given",
		 v->fs.img);
	is_str(e.msg, msg, "no fs root message");
	mb_error_clear(&e);
	mb_extent_reader_set_fs_root(r, v->fs.mnt);
	s = slice(small, 0, 100);
	s.size = 100;
	is_int(mb_extent_read(r, &s, fx_collect, &got, &e), -1, "file shorter than mapped fails");
	snprintf(msg, sizeof(msg), "'%s/small' is shorter than expected: 6 bytes, wanted 100", v->fs.mnt);
	is_str(e.msg, msg, "shorter file message");
	mb_extent_reader_close(r);
	free(got.p);
}

static void run_variant(struct variant *v)
{
	struct mb_set set = { 0 };
	struct mb_map_stats st;
	struct mb_error e = { 0 };
	struct mb_extent_reader *r = NULL;
	struct mb_entry *ent;

	diag("---- %s ----", v->name);
	make_files(v->fs.mnt);
	is_int(mb_walk(&set, v->fs.mnt, NULL, &e), 0, "walk");
	is_int(mb_premap(&set, NULL, &st, &e), 0, "premap");
	is_str(e.msg, "", "premap: no error");
	is_int(st.files, 11, "11 regular files (odd2 is 'h')");
	is_int(st.mapped, 11, "all FIEMAPped");
	ent = fx_find(&set, "dir/sub/large");
	ok(ent && ent->n_extents > 0 && !ent->read_via_fs, "written file has extents");
	ent = fx_find(&set, "frag");
	/* xfs adds unwritten preallocations between the written blocks */
	ok(ent && ent->n_extents >= FRAGMENTS, "fragmented file: extents past one FIEMAP batch");
	if (ent && strcmp(v->fstype, "xfs"))
		is_int(ent->n_extents, FRAGMENTS, "ext4: one extent per written block");
	ent = fx_find(&set, "all_hole");
	is_int(ent ? ent->n_extents : 1, 0, "fully sparse file has no extents");
	ent = fx_find(&set, "empty");
	is_int(ent ? ent->n_extents : 1, 0, "empty file has no extents");
	ent = fx_find(&set, "unwritten");
	ok(ent && ent->n_extents >= 2, "fallocated file has unwritten and written extents");
	is_int(st.via_fs, v->inline_data ? 1 : 0, "files read via the fs");
	if (!v->inline_data) {
		ent = fx_find(&set, "small");
		ok(ent && !ent->read_via_fs && ent->n_extents == 1, "small file is one plain extent");
	} else {
		test_via_fs(v, &set);
	}
	is_int(mb_extent_reader_open(&r, v->fs.img, 0, &e), 0, "reader opens the backing file");
	mb_extent_reader_set_fs_root(r, v->fs.mnt);
	is_int(fx_compare_all(r, &set, v->fs.mnt), 0, "every file byte-exact from the backing file");
	ok(mb_extent_reader_bytes(r) > 20 * MiB, "reader counted its bytes");
	test_edges(v, r, &set);
	mb_extent_reader_close(r);
	mb_set_free(&set);
}

static int body(void *arg)
{
	struct mb_error e = { 0 };
	struct mb_extent_reader *r = NULL;

	for (size_t i = 0; i < sizeof(variants) / sizeof(variants[0]); i++)
		run_variant(&variants[i]);
	is_int(mb_extent_reader_open(&r, "/nonexistent-extentmap.img", 0, &e), -1,
	       "missing device fails");
	is_str(e.msg, "unable to open '/nonexistent-extentmap.img': No such file or directory",
	       "missing device message");
	return done_testing();
}

int main(void)
{
	int rc = 1;
	size_t n = sizeof(variants) / sizeof(variants[0]), i;

	if (geteuid() != 0)
		skip_all("needs root for loop devices");
	for (i = 0; i < n; i++) {
		struct variant *v = &variants[i];

		if (fx_setup(&v->fs, v->fstype, v->mkfs, v->size) < 0) {
			printf("1..1\nnot ok 1 - %s scratch filesystem: %s\n", v->name,
			       strerror(errno));
			goto out;
		}
	}
	rc = fx_run_child(body, NULL);
out:
	for (i = 0; i < n; i++)
		fx_teardown(&variants[i].fs);
	return rc;
}
