/*
 * Writes the fuzz targets' seed corpus: small real images made by the
 * project's own writer (mb_image_layout + mb_image_write), and the index
 * and trailer texts they carry, and seek tables of compressed images.
 * `make fuzz-seeds` runs it into tests/fuzz/corpus/{reader,index,trailer,
 * seektable}/; the output is committed.
 *
 *   mkseeds DIR
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "image/internal.h"
#include "plugins/media/zstd_seek.h"

#define MAX_ENTS 16

struct seed {
	const char *name;
	struct mb_image_meta meta;
	struct mb_entry ents[MAX_ENTS];
};

static const struct mb_image_peer peers[] = {
	{ 2, 1, MB_T_FILE, 500, 200, 300, "big" },
	{ 2, 1, MB_T_FILE, 300, 0, 300, "d/on-two" },
	{ 2, 2, MB_T_SYMLINK, 0, 0, 0, "d/link-on-two" },
};

#define META(id) { .backup_id = id, .created = 1700000000, .source = "/srv/data on /dev/loop3 (ext4)", \
		   .record_size = 512, .device_index = 1, .device_count = 1 }
#define F(p, sz, in) { .path = p, .type = MB_T_FILE, .size = sz, .seg_length = sz, \
			.mode = 0100644, .ino = in, .mtime_sec = 1700000001, .mtime_nsec = 5 }
#define S(p, sz, off, len, in) { .path = p, .type = MB_T_FILE, .size = sz, .seg_offset = off, \
			.seg_length = len, .mode = 0100600, .ino = in, .mtime_sec = 1700000004 }
#define D(p, in) { .path = p, .type = MB_T_DIR, .mode = 040755, .ino = in, .mtime_sec = 1700000002 }

static struct seed seeds[] = {
	{ "plain", META("17"), {
		D("d", 2), F("d/a", 700, 3), F("d/empty", 0, 4),
		{ .path = "d/sym", .type = MB_T_SYMLINK, .rare = &(struct mb_entry_rare){ .link_target = "a" }, .mode = 0120777,
		  .ino = 5, .mtime_sec = 1700000003 },
		{ .path = "d/hard", .type = MB_T_HARDLINK, .rare = &(struct mb_entry_rare){ .link_target = "d/a" }, .mode = 0100644,
		  .ino = 3, .mtime_sec = 1700000001, .mtime_nsec = 5 },
		{ .path = "fifo", .type = MB_T_FIFO, .mode = 010600, .ino = 6 },
		{ .path = "null", .type = MB_T_CHR, .mode = 020666, .ino = 7 },
		{ .path = "loop0", .type = MB_T_BLK, .mode = 060660, .ino = 8 },
		F("z", 1, 9) } },
	{ "segments", META("7"), {
		D("d", 100), S("two", 900, 0, 500, 101), S("two", 900, 500, 400, 101),
		S("d/part", 1000, 400, 300, 102),
		F("d/whole", 77, 103) } },
	{ "set", { .backup_id = "42", .created = 1700000000, .source = "set", .record_size = 1024,
		   .device_index = 1, .device_count = 2, .part = 2, .rescues = 2,
		   .peers = peers, .n_peers = 3 }, {
		D("d", 200), F("d/here", 100, 201), S("big", 500, 0, 200, 202) } },
	{ "names", META("x y%z"), {
		D("sp ace%", 300),
		F("sp ace%/\xff\xfe-not-utf8", 10, 301),
		F("sp ace%/ctl\x01\x1b[1m", 10, 302),
		F("long-name-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
		  "0123456789abcdef0123456789abcdef", 3, 303),
		{ .path = "-", .type = MB_T_SYMLINK, .rare = &(struct mb_entry_rare){ .link_target = "/an/absolute/target/of/some"
		  "/length/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" },
		  .mode = 0120777, .ino = 304, .mtime_sec = -2, .mtime_nsec = 500000000 },
		{ .path = "ids", .type = MB_T_FILE, .size = 1, .seg_length = 1, .mode = 0104755,
		  .uid = 4000000000u, .gid = 07777777u + 1, .ino = (UINT64_C(1) << 40) + 3,
		  .mtime_sec = 4102444800 } } },
	{ "empty", META("1"), { { 0 } } },
};

/* Device numbers need makedev(), not a constant. */
static void fix_devices(struct seed *s)
{
	for (struct mb_entry *t = s->ents; t->path; t++)
		if (t->type == MB_T_CHR)
			mb_entry_set_rdev(t, makedev(1, 3));
		else if (t->type == MB_T_BLK)
			mb_entry_set_rdev(t, makedev(7, 0));
}

static int gen(void *arg, const struct mb_entry *t, mb_emit_fn emit, void *emit_arg,
	       struct mb_error *e)
{
	unsigned char buf[16384];

	for (uint64_t i = 0; i < t->seg_length; i++)
		buf[i] = (unsigned char)((t->seg_offset + i) * 13 + t->ino);
	return emit(emit_arg, buf, (size_t)t->seg_length, e);
}

static int mem_write(void *ctx, const void *buf, size_t len, struct mb_error *e)
{
	return ibuf_add(ctx, buf, len, e);
}

static int put(const char *dir, const char *sub, const char *name, const void *p,
	       size_t len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, sub);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/%s/%s", dir, sub, name);
	f = fopen(path, "wb");
	if (!f || fwrite(p, 1, len, f) != len || fclose(f) != 0) {
		fprintf(stderr, "mkseeds: unable to write '%s': %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* The text of the 'g' member at off (its one record's value). */
static const char *global_text(const struct ibuf *img, uint64_t off, size_t *len)
{
	const char *p = img->p + off + MB_IMAGE_BLOCK, *eq = strchr(p, '=');
	size_t rec = strtoul(p, NULL, 10);

	*len = rec - (size_t)(eq + 1 - p) - 1;
	return eq + 1;
}

static int one(const char *dir, struct seed *s)
{
	struct mb_entry *ptrs[MAX_ENTS];
	struct mb_image_layout lay;
	struct ibuf img = { 0 };
	struct mb_image_output out = { .write = mem_write, .ctx = &img, .fd = -1 };
	struct mb_error e = { 0 };
	size_t n = 0, tlen, ilen;
	const char *tt, *it;
	int rc = -1;

	fix_devices(s);
	while (n < MAX_ENTS && s->ents[n].path)
		ptrs[n] = &s->ents[n], n++;
	if (mb_image_layout(ptrs, n, &s->meta, &lay, &e) < 0)
		goto out;
	out.record_size = lay.meta.record_size;
	if (mb_image_write(&out, &lay, gen, NULL, NULL, &e) < 0)
		goto out;
	tt = global_text(&img, lay.trailer_offset, &tlen);
	it = global_text(&img, 0, &ilen);
	rc = put(dir, "reader", s->name, img.p, img.len) < 0 ||
	     put(dir, "index", s->name, it, ilen) < 0 ||
	     put(dir, "trailer", s->name, tt, tlen) < 0 ? -1 : 0;
	mb_image_layout_free(&lay);
out:
	if (e.code)
		fprintf(stderr, "mkseeds: %s: %s\n", s->name, e.msg);
	ibuf_free(&img);
	return rc;
}

/* Seek tables as the zstd filter writes them: one frame, a few with a
 * padding frame last (tape), none. */
static int seek_seeds(const char *dir)
{
	static const struct mbz_frame f[] = { { 4131, 4194304, 0x1234abcd },
		{ 3000, 1048576, 7 }, { 10240, 0, 0x02cc5d05 } };
	static const size_t counts[] = { 0, 1, 3 };
	struct mb_error e = { 0 };
	unsigned char buf[256];
	char name[32];

	for (size_t k = 0; k < sizeof(counts) / sizeof(counts[0]); k++) {
		struct mbz_table t = { 0 };

		for (size_t i = 0; i < counts[k]; i++)
			mbz_table_add(&t, f[i].c_size, f[i].d_size, f[i].check, &e);
		mbz_table_render(&t, buf);
		snprintf(name, sizeof(name), "frames-%zu", counts[k]);
		if (put(dir, "seektable", name, buf, mbz_table_len(t.n)) < 0)
			return -1;
		mbz_table_free(&t);
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: mkseeds DIR\n");
		return 2;
	}
	mkdir(argv[1], 0755);
	for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++)
		if (one(argv[1], &seeds[i]) < 0)
			return 1;
	return seek_seeds(argv[1]) < 0 ? 1 : 0;
}
