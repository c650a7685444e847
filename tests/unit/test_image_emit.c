/*
 * The writer's in-place emit (mb_image_emit_space/commit), as the extent
 * reader uses it: the image is byte for byte the one a copying producer
 * gives (data, checksums, padding), across buffer boundaries and odd
 * chunk sizes, and a producer that commits too much gets the exact error.
 * Then the extent reader under a full backup's observers, a count and a
 * block hasher, as taps (common/tap.h): it still reads into the writer's
 * buffer (nothing copied), and the image and the block maps are the bytes
 * the copying path gives.
 */
#include <fcntl.h>
#include <linux/fiemap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/tap.h"
#include "extentmap/extentmap.h"
#include "image/blockmap.h"
#include "image/image.h"
#include "plugins/media/media.h"
#include "tests/lib/tap.h"

#define DIR "/tmp/image-emit-t"

static unsigned char byte_at(const struct mb_entry *t, uint64_t off)
{
	return (unsigned char)(off * 13 + t->ino * 5 + (off >> 9));
}

/* Copies through emit, 777 bytes at a time. */
static int copy_data(void *arg, const struct mb_entry *t, mb_emit_fn emit,
		     void *emit_arg, struct mb_error *e)
{
	unsigned char buf[777];
	uint64_t off = t->seg_offset, end = off + t->seg_length;

	while (off < end) {
		size_t n = end - off < sizeof(buf) ? (size_t)(end - off) : sizeof(buf);

		for (size_t i = 0; i < n; i++)
			buf[i] = byte_at(t, off + i);
		if (emit(emit_arg, buf, n, e) < 0)
			return -1;
		off += n;
	}
	return 0;
}

/* Writes in place, chunk bytes at most per commit; extra: commit that
 * much more than is due at the end of a file. */
struct inplace {
	size_t chunk;
	size_t extra;	/* commit this much more than is due, once */
};

static int inplace_data(void *arg, const struct mb_entry *t, mb_emit_fn emit,
			void *emit_arg, struct mb_error *e)
{
	struct inplace *ip = arg;
	uint64_t off = t->seg_offset, end = off + t->seg_length;

	if (emit != mb_image_emit)
		return -1;
	while (off < end) {
		size_t room, n;
		unsigned char *p = mb_image_emit_space(emit_arg, &room);

		n = room < ip->chunk ? room : ip->chunk;
		if (room == 0 || n > end - off)
			return -1;
		for (size_t i = 0; i < n; i++)
			p[i] = byte_at(t, off + i);
		if (off + n == end)
			n += ip->extra;
		if (mb_image_emit_commit(emit_arg, n, e) < 0)
			return -1;
		off += n;
	}
	return 0;
}

static unsigned char *write_to(const char *path, struct mb_image_layout *lay,
			       mb_data_fn fn, void *arg, size_t *len,
			       struct mb_error *e)
{
	struct mb_sink *s = NULL;
	struct mb_image_output out;
	char spec[300];
	unsigned char *p = NULL;
	FILE *f;

	unlink(path);
	snprintf(spec, sizeof(spec), "file:%s", path);
	if (mb_sink_open(&s, spec, &(struct mb_media_params){ 0 }, e) < 0)
		return NULL;
	out = mb_sink_output(s);
	if (mb_image_write(&out, lay, fn, arg, NULL, e) < 0) {
		mb_sink_abort(s);
		return NULL;
	}
	if (mb_sink_close(s, NULL, e) < 0 || !(f = fopen(path, "rb")))
		return NULL;
	fseek(f, 0, SEEK_END);
	*len = (size_t)ftell(f);
	rewind(f);
	p = malloc(*len ? *len : 1);
	if (p && fread(p, 1, *len, f) != *len) {
		free(p);
		p = NULL;
	}
	fclose(f);
	return p;
}

/* ---- the extent reader under taps ---- */

#define DEV_SIZE (8u << 20)
#define BS 8192

/* A file's observers as a full backup stacks them over the writer's emit:
 * a count (the progress), then the block hasher. */
struct watch {
	struct mb_tap count_tap, hash_tap;
	uint64_t counted;
	struct mb_blockhasher bh;
	const char *fail;	/* the hasher fails with this, NULL: never */
};

static int count_see(void *arg, const void *buf, size_t len, struct mb_error *e)
{
	((struct watch *)arg)->counted += len;
	return 0;
}

static int hash_see(void *arg, const void *buf, size_t len, struct mb_error *e)
{
	struct watch *w = arg;

	if (w->fail)
		return mb_fail(e, MB_ERR_GENERAL, 0, "%s", w->fail);
	return mb_blockhasher_update(&w->bh, buf, len, e);
}

/* The old way: one plain emit that counts, hashes and calls the writer's,
 * which the reader cannot see through: it reads into its buffer and copies. */
static int wrapped_emit(void *arg, const void *buf, size_t len, struct mb_error *e)
{
	struct watch *w = arg;

	if (count_see(w, buf, len, e) < 0 || hash_see(w, buf, len, e) < 0)
		return -1;
	return w->hash_tap.next(w->hash_tap.next_arg, buf, len, e);
}

enum how { PLAIN, TAPS, WRAPPED };

struct full {
	struct mb_extent_reader *r;
	enum how how;
	struct mb_blockmap maps[3];	/* by ino */
	uint64_t counted;
	int shared;	/* files whose hash the writer gave (taps) */
	const char *fail;
};

/* The data callback: the reader, through the observers f->how says. */
static int full_data(void *arg, const struct mb_entry *t, mb_emit_fn emit,
		     void *emit_arg, struct mb_error *e)
{
	struct full *f = arg;
	struct watch w = { .fail = f->fail };
	struct mb_blockmap *m = &f->maps[t->ino - 1];

	if (f->how == PLAIN)
		return mb_extent_read(f->r, t, emit, emit_arg, e);
	if (mb_blockhasher_init(&w.bh, m, BS, t->size, e) < 0)
		return -1;
	w.hash_tap = (struct mb_tap){ hash_see, &w, emit, emit_arg };
	w.count_tap = (struct mb_tap){ count_see, &w, mb_tap_emit, &w.hash_tap };
	/* with taps, as a full does: the file's hash is the writer's checksum */
	w.bh.no_whole = f->how == TAPS && mb_image_emit_file_hash(emit_arg, t, NULL);
	if ((f->how == TAPS ? mb_extent_read(f->r, t, mb_tap_emit, &w.count_tap, e)
			    : mb_extent_read(f->r, t, wrapped_emit, &w, e)) < 0 ||
	    mb_blockhasher_final(&w.bh, e) < 0 ||
	    (w.bh.no_whole && !mb_image_emit_file_hash(emit_arg, t, m->file_hash))) {
		mb_blockhasher_abort(&w.bh);
		return -1;
	}
	f->counted += w.counted;
	f->shared += w.bh.no_whole;
	return 0;
}

static bool maps_equal(const struct mb_blockmap *a, const struct mb_blockmap *b, int n)
{
	for (int i = 0; i < n; i++)
		if (a[i].n != b[i].n || a[i].size != b[i].size ||
		    memcmp(a[i].h, b[i].h, a[i].n * sizeof(*a[i].h)) ||
		    strcmp(a[i].file_hash, b[i].file_hash))
			return false;
	return true;
}

/* The device's bytes: a pattern no two nearby blocks share. */
static int make_device(const char *path)
{
	static unsigned char buf[1u << 20];
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600), rc = 0;

	for (uint64_t off = 0; fd >= 0 && rc == 0 && off < DEV_SIZE; off += sizeof(buf)) {
		for (size_t i = 0; i < sizeof(buf); i++)
			buf[i] = (unsigned char)((off + i) * 7 + ((off + i) >> 12));
		rc = write(fd, buf, sizeof(buf)) == (ssize_t)sizeof(buf) ? 0 : -1;
	}
	return fd < 0 || close(fd) < 0 ? -1 : rc;
}

/* One image written by each way, from the same entries and layout. */
struct run {
	unsigned char *img;
	size_t len;
	uint64_t read, direct, copied;
};

static void write_by(struct full *f, enum how how, struct mb_image_layout *lay,
		     struct run *out, struct mb_error *e)
{
	uint64_t r0 = mb_extent_reader_bytes(f->r), d0 = mb_extent_reader_direct_bytes(f->r);
	uint64_t c0 = mb_extent_reader_copied_bytes(f->r);

	for (int i = 0; i < 3; i++)
		mb_blockmap_free(&f->maps[i]);
	f->how = how;
	f->counted = 0;
	f->shared = 0;
	out->img = write_to(DIR "/reader.mbi", lay, full_data, f, &out->len, e);
	out->read = mb_extent_reader_bytes(f->r) - r0;
	out->direct = mb_extent_reader_direct_bytes(f->r) - d0;
	out->copied = mb_extent_reader_copied_bytes(f->r) - c0;
}

/* A tap the bytes end at (an incremental's pre-pass hashes the leg and
 * writes nothing): read into the reader's buffer, hashed, not copied. */
static void test_hash_only(struct mb_extent_reader *r, const struct mb_entry *ent,
			   const struct mb_blockmap *want)
{
	struct watch w = { .hash_tap = { hash_see, &w, NULL, NULL } };
	struct mb_blockmap m = { 0 };
	struct mb_error e = { 0 };
	uint64_t c0 = mb_extent_reader_copied_bytes(r);

	ok(mb_blockhasher_init(&w.bh, &m, BS, ent->size, &e) == 0 &&
	   mb_extent_read(r, ent, mb_tap_emit, &w.hash_tap, &e) == 0 &&
	   mb_blockhasher_final(&w.bh, &e) == 0 && maps_equal(&m, want, 1),
	   "hashed only (a pre-pass): the same map");
	is_int(mb_extent_reader_copied_bytes(r) - c0, 0, "... and nothing copied");
	mb_blockmap_free(&m);
}

/* One image written plain, through a copying wrapper and through taps:
 * the same bytes, the same maps (the wrapper's kept in copied_maps), and
 * only the wrapper copies; leg_bytes are the files' bytes on the device. */
static void compare_ways(struct full *f, struct mb_image_layout *lay, uint64_t leg_bytes,
			 uint64_t file_bytes, struct mb_blockmap copied_maps[3])
{
	struct mb_error e = { 0 };
	struct run plain, taps, wrapped;

	write_by(f, PLAIN, lay, &plain, &e);
	write_by(f, WRAPPED, lay, &wrapped, &e);
	memcpy(copied_maps, f->maps, 3 * sizeof(*copied_maps));
	memset(f->maps, 0, sizeof(f->maps));
	is_str(e.msg, "", "the reader writes images plain and through a wrapped emit");
	is_int(wrapped.copied, leg_bytes, "a wrapped emit: every byte read is copied");
	write_by(f, TAPS, lay, &taps, &e);
	is_str(e.msg, "", "and through a count and a block hasher as taps");
	is_int(taps.copied, 0, "taps: nothing is copied (the writer's buffer is read into)");
	is_int(taps.read, leg_bytes, "... every byte of the files' extents read once");
	is_int(f->counted, file_bytes, "... and every byte, hole included, seen by the count");
	is_int(taps.direct, wrapped.direct, "... as much with O_DIRECT as the copying path");
	ok(plain.img && taps.img && wrapped.img && plain.len == lay->image_size &&
	   taps.len == plain.len && wrapped.len == plain.len &&
	   !memcmp(taps.img, plain.img, plain.len) && !memcmp(wrapped.img, plain.img, plain.len),
	   "the three images are the same bytes");
	ok(maps_equal(f->maps, copied_maps, 3),
	   "the block maps of taps and of the copying path are equal");
	is_int(f->shared, 3, "... the files' hashes taken from the writer's checksums");
	diag("%llu of %llu bytes read with O_DIRECT", (unsigned long long)taps.direct,
	     (unsigned long long)taps.read);
	free(plain.img);
	free(taps.img);
	free(wrapped.img);
}

static void test_reader_taps(void)
{
	/* a big file (read with O_DIRECT where the filesystem allows), a small
	 * one with a 64 KiB hole, and a tiny one */
	struct mb_extent xb[] = { { 0, 1u << 20, (3u << 20) + 4096, 0 } };
	struct mb_extent xh[] = { { 0, 5u << 20, 65536, 0 },
				  { 131072, 6u << 20, 69632, FIEMAP_EXTENT_LAST } };
	struct mb_extent xt[] = { { 0, 7u << 20, 8192, FIEMAP_EXTENT_LAST } };
	struct mb_entry ents[3] = {
		{ .path = "big", .type = MB_T_FILE, .size = (3u << 20) + 123, .ino = 1,
		  .extents = xb, .n_extents = 1 },
		{ .path = "holey", .type = MB_T_FILE, .size = 200000, .ino = 2,
		  .extents = xh, .n_extents = 2 },
		{ .path = "tiny", .type = MB_T_FILE, .size = 5000, .ino = 3,
		  .extents = xt, .n_extents = 1 },
	};
	struct mb_entry *v[3] = { &ents[0], &ents[1], &ents[2] };
	uint64_t file_bytes = (3u << 20) + 123 + 200000 + 5000;
	struct mb_image_meta meta = { .backup_id = "8", .created = 1700000000 };
	struct mb_blockmap copied_maps[3];
	struct mb_image_layout lay;
	struct mb_error e = { 0 };
	struct full f = { 0 };
	struct run taps;

	for (int i = 0; i < 3; i++) {
		ents[i].mode = 0100644;
		ents[i].seg_length = ents[i].size;
	}
	if (make_device(DIR "/dev") < 0 || mb_image_layout(v, 3, &meta, &lay, &e) < 0 ||
	    mb_extent_reader_open(&f.r, DIR "/dev", 0, &e) < 0) {
		printf("Bail out! no device or layout: %s\n", e.msg);
		exit(1);
	}
	compare_ways(&f, &lay, file_bytes - 65536, file_bytes, copied_maps);	/* (the hole) */
	f.fail = "the hasher ran out of memory";
	write_by(&f, TAPS, &lay, &taps, &e);
	ok(!taps.img, "a tap that fails stops the image");
	is_str(e.msg, "the hasher ran out of memory", "and its error wins");
	mb_error_clear(&e);
	test_hash_only(f.r, &ents[0], &copied_maps[0]);
	for (int i = 0; i < 3; i++) {
		mb_blockmap_free(&f.maps[i]);
		mb_blockmap_free(&copied_maps[i]);
	}
	mb_extent_reader_close(f.r);
	mb_image_layout_free(&lay);
	unlink(DIR "/reader.mbi");
	unlink(DIR "/dev");
}

int main(void)
{
	struct mb_entry ents[5] = {
		{ .path = "a", .type = MB_T_FILE, .size = 1, .mode = 0100644, .ino = 1 },
		{ .path = "b", .type = MB_T_FILE, .size = (3u << 20) + 123, .mode = 0100644, .ino = 2 },
		{ .path = "c", .type = MB_T_FILE, .size = 0, .mode = 0100644, .ino = 3 },
		{ .path = "d", .type = MB_T_FILE, .size = 700000, .mode = 0100644, .ino = 4 },
		{ .path = "e", .type = MB_T_FILE, .size = 5000000, .mode = 0100644, .ino = 5,
		  .seg_offset = 4096, .seg_length = 2100000 },
	};
	struct mb_entry *v[5] = { &ents[0], &ents[1], &ents[2], &ents[3], &ents[4] };
	struct mb_image_meta meta = { .backup_id = "7", .created = 1700000000 };
	struct mb_image_layout lay;
	struct mb_error e = { 0 };
	struct inplace ip = { .chunk = 4096 };
	unsigned char *a, *b;
	size_t alen = 0, blen = 0;

	plan(21);
	tap_lock_dir(DIR);
	mkdir(DIR, 0700);
	for (int i = 0; i < 4; i++)
		ents[i].seg_length = ents[i].size;
	is_int(mb_image_layout(v, 5, &meta, &lay, &e), 0, "layout");
	a = write_to(DIR "/copy.mbi", &lay, copy_data, NULL, &alen, &e);
	is_str(e.msg, "", "image written by copying");
	b = write_to(DIR "/inplace.mbi", &lay, inplace_data, &ip, &blen, &e);
	is_str(e.msg, "", "image written in place, 4 KiB chunks");
	ok(a && b && alen == blen && alen == lay.image_size && memcmp(a, b, alen) == 0,
	   "the same bytes, checksums included");
	free(b);
	ip.chunk = 1u << 30;	/* whatever room there is */
	b = write_to(DIR "/inplace.mbi", &lay, inplace_data, &ip, &blen, &e);
	ok(a && b && alen == blen && memcmp(a, b, alen) == 0,
	   "the same bytes with whole-room chunks");
	free(b);
	ip.extra = 1;
	b = write_to(DIR "/inplace.mbi", &lay, inplace_data, &ip, &blen, &e);
	ok(!b, "committing more than is due fails");
	is_str(e.msg, "data of 'a' is longer than 1 bytes", "and says so");
	free(a);
	free(b);
	mb_image_layout_free(&lay);
	mb_error_clear(&e);
	test_reader_taps();
	unlink(DIR "/copy.mbi");
	unlink(DIR "/inplace.mbi");
	rmdir(DIR);
	return done_testing();
}
