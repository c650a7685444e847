/*
 * The zstd filter: the seek table's bytes both ways (zstd_seek.c), and
 * the write filter over a sink (zstd_write.c) read back by the read
 * filter (zstd_read.c): frames cut at hinted member boundaries and every
 * 4 MiB, whole records on a medium that has them (padded by a skippable
 * frame), one stream per image, reads that seek, damage found.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "plugins/media/drivers.h"
#include "plugins/media/zstd_seek.h"
#include "tests/lib/tap.h"

/* per process: several checkouts run their tests on one machine */
static char img_path[64];
#define MiB (1u << 20)

static unsigned char *data;	/* the "image": text-like, compressible */
static size_t data_len;

static void make_data(size_t len)
{
	data = malloc(len);
	for (size_t i = 0; i < len; i++)
		data[i] = (unsigned char)("0123456789abcdef\n"[(i * 7 + i / 4096) % 17]);
	data_len = len;
}

static const char *why_of(const unsigned char *p, size_t len)
{
	struct mbz_table t;
	const char *why = NULL;

	if (mbz_table_parse(p, len, &t, &why) == 0) {
		mbz_table_free(&t);
		return "accepted";
	}
	return why;
}

static void test_table(void)
{
	struct mbz_table t = { 0 }, back;
	struct mb_error e = { 0 };
	unsigned char buf[256];
	const char *why = NULL;
	size_t len;
	uint32_t n;

	mbz_table_add(&t, 100, 1000, 0xdeadbeef, &e);
	mbz_table_add(&t, 50, 0, 7, &e);		/* a skippable frame */
	mbz_table_add(&t, 30, 24, 9, &e);
	len = mbz_table_len(t.n);
	is_int(len, 8 + 3 * 12 + 9, "table length: header, 12 bytes an entry, footer");
	mbz_table_render(&t, buf);
	ok(memcmp(buf, "\x5e\x2a\x4d\x18", 4) == 0, "skippable magic 0x184D2A5E, little-endian");
	is_int(buf[4] | buf[5] << 8, len - 8, "frame size excludes magic and size");
	ok(memcmp(buf + len - 4, "\xb1\xea\x92\x8f", 4) == 0, "ends with the seekable magic");
	is_int(buf[len - 5], 0x80, "descriptor: checksums");
	ok(mbz_footer_parse(buf + len - MBZ_FOOTER, &n, &len, &why) == 0 && n == 3 &&
	   len == mbz_table_len(3), "footer: 3 frames, the table's length");
	ok(mbz_table_parse(buf, len, &back, &why) == 0, "parses back");
	ok(back.n == 3 && back.v[0].c_size == 100 && back.v[0].d_size == 1000 &&
	   back.v[0].check == 0xdeadbeef && back.v[2].check == 9, "entries as written");
	is_int(back.c_off[3], 180, "compressed total");
	is_int(back.d_off[3], 1024, "decompressed total");
	is_int(mbz_table_find(&back, 0), 0, "byte 0 in frame 0");
	is_int(mbz_table_find(&back, 999), 0, "byte 999 in frame 0");
	is_int(mbz_table_find(&back, 1000), 2, "byte 1000 skips the empty frame");
	is_int(mbz_table_find(&back, 1024), 3, "the end: n");
	mbz_table_free(&back);

	buf[len - 1] ^= 1;
	is_str(why_of(buf, len), "no seek table footer at its end", "bad magic");
	buf[len - 1] ^= 1;
	buf[len - 5] |= 0x04;
	is_str(why_of(buf, len), "reserved bits set in the seek table descriptor", "reserved bits");
	buf[len - 5] = 0x80;
	buf[len - 9] = 4;
	is_str(why_of(buf, len), "the seek table's length does not match its frame count",
	       "frame count off");
	buf[len - 9] = 3;
	buf[4]++;
	is_str(why_of(buf, len), "the seek table's frame header is wrong", "frame size field");
	buf[4]--;
	memset(buf + 8 + 24, 0, 4);		/* frame 2: no compressed bytes, 24 of data */
	is_str(why_of(buf, len), "a frame of no compressed bytes holds data", "empty frame with data");
	is_str(why_of(buf, 10), "the seek table is too short", "too short");
	mbz_table_free(&t);
}

/* Writes data through the zstd filter over file:img_path, hinting boundaries. */
static int write_file(const struct mb_compress *c, const uint64_t *hints, size_t n_hints,
		      bool two_images, struct mb_error *e)
{
	struct mb_media_params p = { .force = true, .compress = *c };
	struct mb_sink *s;
	size_t h = 0;
	char spec[80];

	snprintf(spec, sizeof(spec), "file:%s", img_path);
	unlink(img_path);
	if (mb_sink_open(&s, spec, &p, e) < 0)
		return -1;
	for (int img = 0; img < (two_images ? 2 : 1); img++) {
		if (img && mb_sink_mark(s, e) < 0)
			goto fail;
		for (size_t off = 0, k = 0; off < data_len; off += k) {
			k = data_len - off < 64 * 1024 ? data_len - off : 64 * 1024;
			for (h = 0; h < n_hints; h++)
				if (hints[h] >= off && hints[h] < off + k)
					mb_sink_boundary(s, hints[h]);
			if (mb_sink_write(s, data + off, k, e) < 0)
				goto fail;
		}
	}
	return mb_sink_close(s, NULL, e);
fail:
	mb_sink_abort(s);
	return -1;
}

/* The file's last seek table. */
static int read_table(struct mbz_table *t)
{
	struct stat st;
	unsigned char *p;
	const char *why;
	int fd = open(img_path, O_RDONLY), rc = -1;

	if (fd < 0 || fstat(fd, &st) < 0 || !(p = malloc((size_t)st.st_size)))
		return -1;
	if (pread(fd, p, (size_t)st.st_size, 0) == st.st_size) {
		uint32_t n;
		size_t len;

		if (mbz_footer_parse(p + st.st_size - MBZ_FOOTER, &n, &len, &why) == 0)
			rc = mbz_table_parse(p + st.st_size - len, len, t, &why);
	}
	free(p);
	close(fd);
	return rc;
}

/* The whole file as `zstd -dc` reads it: every frame, skippable ones skipped. */
static bool decompresses_to(const unsigned char *c, size_t clen, const unsigned char *want,
			    size_t wlen, size_t times)
{
	ZSTD_DStream *ds = ZSTD_createDStream();
	unsigned char *out = malloc(wlen * times + 1);
	ZSTD_inBuffer ib = { c, clen, 0 };
	ZSTD_outBuffer ob = { out, wlen * times + 1, 0 };
	bool good = true;

	while (ib.pos < ib.size && good)
		good = !ZSTD_isError(ZSTD_decompressStream(ds, &ob, &ib));
	for (size_t i = 0; good && i < times; i++)
		good = memcmp(out + i * wlen, want, wlen) == 0;
	good = good && ob.pos == wlen * times;
	ZSTD_freeDStream(ds);
	free(out);
	return good;
}

static unsigned char *slurp(const char *path, size_t *len)
{
	struct stat st;
	unsigned char *p = NULL;
	int fd = open(path, O_RDONLY);

	if (fd >= 0 && fstat(fd, &st) == 0 && (p = malloc((size_t)st.st_size + 1)) &&
	    pread(fd, p, (size_t)st.st_size, 0) == st.st_size)
		*len = (size_t)st.st_size;
	close(fd);
	return p;
}

static bool reads_at(const struct mb_image_input *in, uint64_t off, size_t len)
{
	unsigned char *buf = malloc(len);
	struct mb_error e = { 0 };
	size_t got = 0;
	ssize_t n = 0;

	if (in->seek(in->ctx, off, &e) < 0)
		return false;
	while (got < len && (n = in->read(in->ctx, buf + got, len - got, &e)) > 0)
		got += (size_t)n;
	n = got == len && memcmp(buf, data + off, len) == 0;
	free(buf);
	return n;
}

static void test_cuts_and_seeks(void)
{
	const uint64_t hints[] = { 0, 100, 1536 * 1024, 1600 * 1024, 9 * MiB };
	struct mb_compress c = { .level = 1, .threads = 2 };
	struct mb_error e = { 0 };
	struct mbz_table t;
	struct mb_media_in *m = NULL;
	unsigned char *file;
	size_t flen = 0;

	ok(write_file(&c, hints, 5, false, &e) == 0, "11 MiB through the filter");
	if (e.code)
		diag("%s", e.msg);
	ok(read_table(&t) == 0, "the file ends in a seek table");
	is_int(t.n, 4, "four frames");
	if (t.n == 4) {
		is_int(t.v[0].d_size, 1536 * 1024, "cut at the first hint past 1 MiB");
		is_int(t.v[1].d_size, 4 * MiB, "cut inside a member at 4 MiB");
		is_int(t.v[2].d_size, 3584 * 1024, "cut at the next hint (1.6 MiB was too close)");
		is_int(t.v[3].d_size, 2 * MiB, "the rest");
	}
	mbz_table_free(&t);
	file = slurp(img_path, &flen);
	ok(file && decompresses_to(file, flen, data, data_len, 1), "zstd reads it back whole");
	ok(flen < data_len / 4, "and it is compressed");
	free(file);

	ok(mb_media_open_read(&m, img_path, &(struct mb_media_params){ 0 }, &e) == 0, "opens for reading");
	if (!m)
		return;
	ok(!m->sequential && m->in.seek, "a file with a table seeks");
	ok(reads_at(&m->in, 5 * MiB + 17, 4096), "a read in frame 2");
	ok(reads_at(&m->in, 1536 * 1024 - 10, 20), "a read across a cut");
	ok(reads_at(&m->in, 0, data_len), "all of it");
	ok(reads_at(&m->in, data_len - 1, 1), "its last byte");
	is_int(mb_media_next_image(m, data_len, &e), 0, "one image: none follows");
	mb_media_close(m);
}

static void test_damage(void)
{
	struct mb_compress c = { .level = 1, .threads = 1 };
	struct mb_error e = { 0 };
	struct mbz_table t;
	struct mb_media_in *m = NULL;
	unsigned char buf[4096];
	char want[256];
	int fd;

	write_file(&c, NULL, 0, false, &e);
	if (read_table(&t) < 0)
		return;
	fd = open(img_path, O_RDWR);
	if (pwrite(fd, "\xff\xff\xff\xff", 4, (off_t)(t.c_off[1] + t.v[1].c_size / 2)) != 4)
		diag("pwrite: %s", strerror(errno));
	close(fd);
	ok(mb_media_open_read(&m, img_path, &(struct mb_media_params){ 0 }, &e) == 0, "damaged: opens");
	ok(m && m->in.seek(m->in.ctx, 4 * MiB + 10, &e) == 0 &&
	   m->in.read(m->in.ctx, buf, sizeof(buf), &e) < 0, "a read in the damaged frame fails");
	is_int(e.code, MB_ERR_CORRUPT, "corrupt");
	snprintf(want, sizeof(want), "damaged compressed frame in image '%s' at offset %u "
		 "(compressed byte %llu): ", img_path, 4 * MiB, (unsigned long long)t.c_off[1]);
	ok(strncmp(e.msg, want, strlen(want)) == 0, "the message names the image and the offset");
	diag("%s", e.msg);
	mb_media_close(m);
	mbz_table_free(&t);
}

static void test_two_images(void)
{
	struct mb_compress c = { .level = 1, .threads = 3 };
	struct mb_error e = { 0 };
	struct mb_media_in *m = NULL;
	char name[256];

	ok(write_file(&c, NULL, 0, true, &e) == 0, "two images, one stream each");
	ok(mb_media_open_read(&m, img_path, &(struct mb_media_params){ 0 }, &e) == 0, "opens");
	if (!m)
		return;
	ok(reads_at(&m->in, 0, data_len), "the first image");
	is_int(mb_media_next_image(m, data_len, &e), 1, "a second follows");
	snprintf(name, sizeof(name), "%s@%llu", img_path, (unsigned long long)m->base);
	is_str(m->name, name, "named PATH@BYTE");
	ok(m->base > 0, "at a byte past the first stream");
	ok(reads_at(&m->in, 3 * MiB, 4096) && reads_at(&m->in, 0, data_len), "the second image");
	is_int(mb_media_next_image(m, data_len, &e), 0, "then none");
	mb_media_close(m);
}

/* A medium of fixed records in memory: every write must be whole records. */
static unsigned char *mem;
static size_t mem_len, mem_writes, mem_bad_writes;

static int mem_write(struct mb_sink *s, const void *buf, size_t len, struct mb_error *e)
{
	mem_writes++;
	mem_bad_writes += len % s->record_size != 0;
	mem = realloc(mem, mem_len + len);
	memcpy(mem + mem_len, buf, len);
	mem_len += len;
	return 0;
}

static int mem_close(struct mb_sink *s, struct mb_media_position *w, struct mb_error *e)
{
	return 0;
}

static void mem_abort(struct mb_sink *s)
{
}

static const struct mb_media_ops mem_ops = {
	.name = "mem", .write = mem_write, .close = mem_close, .abort = mem_abort,
};

static void test_records(uint32_t rs, size_t len)
{
	struct mb_compress c = { .level = 1, .threads = 2 };
	struct mb_error e = { 0 };
	struct mb_sink *s = mbm_sink_new(&mem_ops, "mem");
	struct mbz_table t;
	const char *why;
	uint32_t n;
	size_t tlen;

	mem_len = mem_writes = mem_bad_writes = 0;
	s->record_size = rs;
	ok(mb_sink_push_zstd(&s, &c, &e) == 0 && mb_sink_write(s, data, len, &e) == 0 &&
	   mb_sink_close(s, NULL, &e) == 0, "written to a medium of records");
	ok(mem_writes > 0 && mem_bad_writes == 0, "every write whole records");
	is_int(mem_len % rs, 0, "the stream ends on a record");
	ok(mbz_footer_parse(mem + mem_len - MBZ_FOOTER, &n, &tlen, &why) == 0 &&
	   mbz_table_parse(mem + mem_len - tlen, tlen, &t, &why) == 0, "its seek table is last");
	is_int(t.c_off[t.n] + tlen, mem_len, "the table covers every byte before it");
	ok(t.n && t.v[t.n - 1].d_size == 0, "the padding is a skippable frame in the table");
	ok(decompresses_to(mem, mem_len, data, len, 1), "zstd reads through the padding");
	mbz_table_free(&t);
}

int main(void)
{
	snprintf(img_path, sizeof(img_path), "/tmp/mbackup-test-zstd-%d.zst", (int)getpid());
	make_data(11 * MiB);
	test_table();
	test_cuts_and_seeks();
	test_damage();
	test_two_images();
	test_records(10240, data_len);
	test_records(262144, 1000);
	unlink(img_path);
	free(data);
	free(mem);
	return done_testing();
}
