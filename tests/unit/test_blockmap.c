/* Block-hash maps, their difference, the delta header and the increment
 * manifest (image/blockmap.h). */
#include <stdlib.h>
#include <string.h>

#include "image/blockmap.h"
#include "tests/lib/tap.h"

#define BS 4096

static void map_of(struct mb_blockmap *m, const unsigned char *p, size_t len, size_t chunk)
{
	struct mb_blockhasher bh;
	struct mb_error e = { 0 };

	if (mb_blockhasher_init(&bh, m, BS, len, &e) < 0)
		abort();
	for (size_t off = 0; off < len; off += chunk)
		mb_blockhasher_update(&bh, p + off, len - off < chunk ? len - off : chunk, &e);
	if (mb_blockhasher_final(&bh, &e) < 0)
		diag("final: %s", e.msg);
}

static void test_hasher(unsigned char *a, size_t len)
{
	struct mb_blockmap m1, m2;
	struct mb_error e = { 0 };
	struct mb_blockhasher bh;
	char whole[MB_HASH_HEX_LEN + 1];

	map_of(&m1, a, len, len);
	map_of(&m2, a, len, 777);
	is_int(m1.n, 10, "10 blocks for 9.5 blocks of bytes");
	ok(memcmp(m1.h, m2.h, m1.n * sizeof(uint64_t)) == 0, "chunking does not change the map");
	mb_hash_buf_hex(a, len, whole);
	is_str(m2.file_hash, whole, "the file hash is XXH3-128 of the whole file");
	ok(m1.h[9] == XXH3_64bits(a + 9 * BS, len - 9 * BS), "the short last block hashes its bytes");
	mb_blockmap_free(&m1);
	mb_blockmap_free(&m2);
	mb_blockhasher_init(&bh, &m1, BS, len, &e);
	mb_blockhasher_update(&bh, a, len - 1, &e);
	is_int(mb_blockhasher_final(&bh, &e), -1, "a byte short is refused");
	is_str(e.msg, "hashed 38911 bytes of a file of 38912", "with the counts");
	mb_blockmap_free(&m1);
}

/* Piece [off, off + n) of a into m, in chunks; its edges merged into v. */
static int piece(struct mb_blockmap *m, struct mb_blockedges *v, const unsigned char *a,
		 size_t off, size_t n, size_t chunk)
{
	struct mb_blockrange r;
	struct mb_error e = { 0 };
	int rc = 0;

	if (mb_blockrange_init(&r, m, off, n, &e) < 0)
		return -1;
	for (size_t k = 0; k < n && rc == 0; k += chunk)
		rc = mb_blockrange_update(&r, a + off + k, n - k < chunk ? n - k : chunk, &e);
	rc = rc < 0 || mb_blockrange_final(&r, &e) < 0 ? -1 : 0;
	for (size_t k = 0; k < r.n_edges && rc == 0; k++)
		rc = mb_blockedge_merge(m, v, &r.edges[k], &e);
	r.n_edges = rc == 0 ? 0 : r.n_edges;
	mb_blockrange_abort(&r);
	return rc;
}

/* 8 KiB blocks cut by 4 KiB-aligned segments, hashed out of order. */
static void test_pieces(unsigned char *a, size_t len)
{
	struct mb_blockmap whole, m;
	struct mb_blockhasher bh;
	struct mb_blockedges v = { 0 };
	struct mb_error e = { 0 };

	mb_blockhasher_init(&bh, &whole, 2 * BS, len, &e);
	mb_blockhasher_update(&bh, a, len, &e);
	mb_blockhasher_final(&bh, &e);
	is_int(mb_blockmap_alloc(&m, 2 * BS, len, &e), 0, "a map for pieces");
	is_str(m.file_hash, MB_NO_FILE_HASH, "it has no whole-file hash");
	is_int(piece(&m, &v, a, 7 * BS, len - 7 * BS, len) | piece(&m, &v, a, 0, 3 * BS, 1000), 0,
	       "the last and the first piece");
	is_int(v.n, 2, "two blocks wait for their other part");
	is_int(piece(&m, &v, a, 3 * BS, 4 * BS, 777), 0, "the middle piece, in odd chunks");
	is_int(v.n, 0, "no block waits");
	ok(memcmp(m.h, whole.h, whole.n * sizeof(uint64_t)) == 0,
	   "the map of the pieces is the map of the whole file");
	is_int(piece(&m, &v, a, 0, 3 * BS, 3 * BS), 0, "a piece streamed again (a rescue image)");
	is_int(v.n, 1, "its edge waits alone");
	ok(memcmp(m.h, whole.h, whole.n * sizeof(uint64_t)) == 0, "and the map is unchanged");
	mb_blockedges_free(&v);
	mb_blockmap_free(&m);
	mb_blockmap_free(&whole);
}

static void test_diff(unsigned char *a, size_t len)
{
	struct mb_blockmap old, cur;
	struct mb_delta d;
	struct mb_error e = { 0 };
	uint64_t off, n;
	unsigned char *b = malloc(len + 3 * BS);

	memcpy(b, a, len);
	b[2 * BS + 5] ^= 1;
	b[3 * BS] ^= 1;
	b[7 * BS + 100] ^= 1;
	memset(b + len, 7, 3 * BS);
	map_of(&old, a, len, len);
	map_of(&cur, b, len + 3 * BS, 4096);
	is_int(mb_blockmap_diff(&old, &cur, &d, &e), 0, "diff");
	is_int(d.n_runs, 3, "three runs: 2-3, 7, and 9.. (the short block grew)");
	ok(d.runs[0].first == 2 && d.runs[0].count == 2, "run 2+2");
	ok(d.runs[1].first == 7 && d.runs[1].count == 1, "run 7+1");
	ok(d.runs[2].first == 9 && d.runs[2].count == 4, "run 9+4 (13 blocks now, of which the last short)");
	mb_delta_run_range(&d, 2, &off, &n);
	ok(off == 9 * BS && n == len + 3 * BS - 9 * BS, "the last run ends at the new size");
	is_int(d.data_bytes, 2 * BS + BS + n, "data bytes");
	mb_delta_free(&d);
	mb_blockmap_free(&cur);
	/* shrink: a shorter file whose kept blocks are unchanged carries only
	 * its new short last block */
	map_of(&cur, a, 5 * BS + 10, BS);
	mb_blockmap_diff(&old, &cur, &d, &e);
	ok(d.n_runs == 1 && d.runs[0].first == 5 && d.runs[0].count == 1, "shrunk: only block 5");
	mb_delta_free(&d);
	mb_blockmap_free(&cur);
	map_of(&cur, a, len, 1000);
	mb_blockmap_diff(&old, &cur, &d, &e);
	is_int(d.n_runs, 0, "the same bytes: nothing changed");
	mb_delta_free(&d);
	mb_blockmap_free(&cur);
	mb_blockmap_free(&old);
	free(b);
}

static void test_delta_header(void)
{
	struct mb_block_run runs[] = { { 0, 1 }, { 5, 4 } };
	struct mb_delta d = { 9 * BS - 1, BS, runs, 2, 5, 0 }, p;
	struct mb_error e = { 0 };
	char *text;
	size_t len, hl;

	mb_delta_header(&d, &text, &len, &e);
	is_str(text, "mbackup-delta 1\nsize 36863\nblock-size 4096\nruns 2\nr 0 1\nr 5 4\nend\n",
	       "delta header text");
	is_int(mb_delta_parse(text, len, &p, &hl, "x", &e), 0, "parses");
	ok(hl == len && p.n_runs == 2 && p.runs[1].first == 5 && p.data_bytes == 5 * BS - 1,
	   "same runs, data bytes cut at the size");
	mb_delta_free(&p);
	text[len - 9] = '9';	/* r 5 4 -> r 5 9: past the end */
	is_int(mb_delta_parse(text, len, &p, &hl, "base/1/2.mbackup-incr", &e), -1, "run past the end");
	is_str(e.msg, "corrupt increment member 'base/1/2.mbackup-incr': bad delta header at byte 56",
	       "named with the byte");
	is_int(e.code, MB_ERR_CORRUPT, "corrupt");
	free(text);
}

static void test_manifest(void)
{
	struct mb_incr_entry v[3] = {
		{ 'm', { .path = "dir with space", .type = 'd', .mode = 040700 }, "" },
		{ 'd', { .path = "dir with space/f", .type = 'f', .size = 99, .mode = 0100600,
			 .uid = 26, .gid = 26, .mtime_sec = -2, .mtime_nsec = 500000000 },
		  "0123456789abcdef0123456789abcdef" },
		{ 'm', { .path = "l", .rare = &(struct mb_entry_rare){ .link_target = "-" }, .type = 'l', .mode = 0120777 }, "" },
	};
	char *removed[] = { "gone%" };
	struct mb_incr_manifest m = { "7", "5", 8192, v, 3, removed, 1, false, NULL }, p;
	struct mb_error e = { 0 };
	char *text;
	size_t len;

	mb_incr_manifest_render(&m, &text, &len, &e);
	ok(strstr(text, "e d f 99 100600 26 26 0 -1.500000000 0123456789abcdef0123456789abcdef "
		  "dir%20with%20space/f -\n") != NULL, "a file line");
	ok(strstr(text, "e m l 0 120777 0 0 0 0.000000000 - l %2D\n") != NULL, "a literal '-' target");
	is_int(mb_incr_manifest_parse(text, len, &p, "i", &e), 0, "parses");
	ok(p.n == 3 && p.n_removed == 1 && strcmp(p.removed[0], "gone%") == 0 &&
	   strcmp(p.base_id, "5") == 0 && p.block_size == 8192, "same header and lists");
	ok(p.v[1].ent.mtime_sec == -2 && p.v[1].ent.mtime_nsec == 500000000 && p.v[1].ent.uid == 26 &&
	   strcmp(p.v[1].ent.path, "dir with space/f") == 0, "same file entry");
	ok(strcmp(mb_entry_link(&p.v[2].ent), "-") == 0, "same link target");
	ok(mb_incr_manifest_find(&p, "l") == &p.v[2], "find");
	mb_incr_manifest_free(&p);
	free(text);
	v[2].ent.path = "dir with space/f";	/* a path twice */
	mb_incr_manifest_render(&m, &text, &len, &e);
	is_int(mb_incr_manifest_parse(text, len, &p, "img", &e), -1, "a path given twice is refused");
	mb_error_clear(&e);
	free(text);
	v[2].ent.path = "l";
	mb_incr_manifest_render(&m, &text, &len, &e);
	text[len - 2] = 'x';
	is_int(mb_incr_manifest_parse(text, len, &p, "img", &e), -1, "a damaged end is refused");
	ok(strncmp(e.msg, "corrupt increment manifest in 'img' at byte ", 44) == 0, "with its byte");
	free(text);
}

int main(void)
{
	size_t len = 9 * BS + BS / 2;
	unsigned char *a = malloc(len);

	plan(41);
	srand(7);
	for (size_t i = 0; i < len; i++)
		a[i] = (unsigned char)rand();
	test_hasher(a, len);
	test_pieces(a, len);
	test_diff(a, len);
	test_delta_header();
	test_manifest();
	free(a);
	return done_testing();
}
