/*
 * The writer's in-place emit (mb_image_emit_space/commit), as the extent
 * reader uses it: the image is byte for byte the one a copying producer
 * gives (data, checksums, padding), across buffer boundaries and odd
 * chunk sizes, and a producer that commits too much gets the exact error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

	plan(7);
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
	unlink(DIR "/copy.mbi");
	unlink(DIR "/inplace.mbi");
	rmdir(DIR);
	return done_testing();
}
