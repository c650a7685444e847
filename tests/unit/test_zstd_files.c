/*
 * The zstd filter read in order over a medium of tape files
 * (zstd_read.c, MB_IMAGES_FILES): each image of a compressed set is its
 * own stream in its own file, the next one is reached through the
 * driver (told MB_MEDIA_SIZE_UNKNOWN: the filter does not know the
 * compressed bytes), and an earlier image reads on from its own input
 * after a later one was opened (a tape's readers go image by image, the
 * head moved back by the driver).  A plain image after them is another
 * backup's: no more images of this set.  The driver here is a fake of
 * three in-memory files.
 */
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "plugins/media/drivers.h"
#include "tests/lib/tap.h"

#define LEN_A (300u << 10)	/* more than the filter reads ahead (128 KiB) */
#define LEN_B (200u << 10)

struct file {
	unsigned char *p;
	size_t len, pos;
};
static struct file files[3];
static size_t n_files, cur;
static uint64_t asked_size;	/* what the filter gave the driver's next_image */
static const char *names[] = { "fake", "fake@file2", "fake@file3" };

static ssize_t f_read(void *ctx, void *buf, size_t n, struct mb_error *e)
{
	struct file *f = ctx;

	(void)e;
	if (n > f->len - f->pos)
		n = f->len - f->pos;
	memcpy(buf, f->p + f->pos, n);
	f->pos += n;
	return (ssize_t)n;
}

static int f_seek(void *ctx, uint64_t off, struct mb_error *e)
{
	(void)e;
	((struct file *)ctx)->pos = off;
	return 0;
}

static void use_file(struct mb_media_in *m, size_t i)
{
	m->name = names[i];
	m->in = (struct mb_image_input){ f_read, f_seek, &files[i], m->name };
}

static int f_next(struct mb_media_in *m, uint64_t size, struct mb_error *e)
{
	(void)e;
	asked_size = size;
	if (cur + 1 >= n_files)
		return 0;
	use_file(m, ++cur);
	return 1;
}

static void f_close(struct mb_media_in *m) { m->priv = NULL; }

static const struct mb_media_ops fake_ops = { .name = "fake", .next_image = f_next,
					      .close_read = f_close };

/* Bytes that do not compress (xorshift): the compressed stream is
 * longer than the filter reads ahead, so an image reads its file again
 * after the next one was opened. */
static unsigned char *pattern(size_t len, uint32_t x)
{
	unsigned char *p = malloc(len);

	for (size_t i = 0; i < len; i++) {
		x ^= x << 13, x ^= x >> 17, x ^= x << 5;
		p[i] = (unsigned char)x;
	}
	return p;
}

/* One zstd frame of len bytes of p as file i. */
static void compressed_file(size_t i, const unsigned char *p, size_t len)
{
	size_t cap = ZSTD_compressBound(len);

	files[i].p = malloc(cap);
	files[i].len = ZSTD_compress(files[i].p, cap, p, len, 1);
	files[i].pos = 0;
}

static struct mb_media_in *open_fake(size_t n, struct mb_error *e)
{
	struct mb_media_in *m = calloc(1, sizeof(*m));

	n_files = n;
	cur = 0;
	m->ops = &fake_ops;
	m->spec = strdup("fake");
	m->fd = -1;
	m->priv = &files;
	m->images = MB_IMAGES_FILES;
	use_file(m, 0);
	if (mbm_zstd_detect(m, e) < 0) {
		mb_media_close(m);
		return NULL;
	}
	return m;
}

/* The next len bytes of in equal want. */
static bool reads_some(const struct mb_image_input *in, const unsigned char *want, size_t len)
{
	unsigned char *buf = malloc(len);
	size_t got = 0;
	ssize_t n = 1;
	struct mb_error e = { 0 };

	while (got < len && (n = in->read(in->ctx, buf + got, len - got, &e)) > 0)
		got += (size_t)n;
	n = got == len && memcmp(buf, want, len) == 0;
	free(buf);
	return n;
}

/* All of len from in equals want, then the image ends. */
static bool reads(const struct mb_image_input *in, const unsigned char *want, size_t len)
{
	unsigned char *buf = malloc(len + 1);
	size_t got = 0;
	ssize_t n = 1;
	struct mb_error e = { 0 };

	while (got <= len && (n = in->read(in->ctx, buf + got, len + 1 - got, &e)) > 0)
		got += (size_t)n;
	n = got == len && n == 0 && memcmp(buf, want, len) == 0;
	free(buf);
	return n;
}

int main(void)
{
	unsigned char *a = pattern(LEN_A, 7), *b = pattern(LEN_B, 5);
	struct mb_image_input in_a;
	struct mb_error e = { 0 };
	struct mb_media_in *m;

	compressed_file(0, a, LEN_A);
	compressed_file(1, b, LEN_B);
	files[2] = (struct file){ (unsigned char *)strdup("plain image bytes"), 17, 0 };

	ok((m = open_fake(3, &e)) != NULL, "a compressed image on tape files opens");
	if (!m)
		return diag("%s", e.msg), done_testing();
	ok(m->sequential && !m->in.seek, "it is read in order");
	is_int(m->images, MB_IMAGES_FILES, "and the images after it are the next files");
	ok(reads_some(&m->in, a, 1000), "its first 1000 bytes");
	in_a = m->in;
	is_int(mb_media_next_image(m, LEN_A, &e), 1, "the next image is the next file");
	is_int((long long)(asked_size == MB_MEDIA_SIZE_UNKNOWN), 1,
	       "the driver is told the image's size on the medium is unknown");
	is_str(m->name, "fake@file2", "named as the driver names the file");
	ok(reads(&m->in, b, LEN_B), "the second image decompresses whole");
	ok(reads(&in_a, a + 1000, LEN_A - 1000), "the first reads on from its own input after it");
	is_int(mb_media_next_image(m, LEN_B, &e), 0, "a plain image after them: no more of this set");
	is_int(e.code, MB_OK, "and no error");
	mb_media_close(m);

	files[0].pos = 0;
	ok((m = open_fake(1, &e)) != NULL, "one file");
	is_int(m ? mb_media_next_image(m, LEN_A, &e) : -9, 0, "nothing follows it");
	mb_media_close(m);
	for (size_t i = 0; i < 3; i++)
		free(files[i].p);
	free(a);
	free(b);
	return done_testing();
}
