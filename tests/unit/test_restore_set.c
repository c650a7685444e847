/*
 * Unit tests for orchestrator/restore.c and restore_set.c on one image
 * with segment entries (a set of one): a file in two segments lands at
 * its offsets, whole; a file with only one of its segments is never left
 * under its name, and the restore and verify fail saying so (issue 16,
 * items 3 and 4).  Also reading it from a pipe, in order.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "image/image.h"
#include "orchestrator/commands.h"
#include "orchestrator/restore_set.h"
#include "plugins/media/media.h"
#include "tests/lib/tap.h"

#define DIR "/tmp/restore-set-t"
#define IMG DIR "/seg.mbi"

static struct mb_entry ents[8];
static struct mb_entry *ptrs[8];
static size_t n_ents;

static struct mb_entry *add(const char *path, char type, uint64_t size,
			    uint64_t seg_offset, uint64_t seg_length)
{
	struct mb_entry *t = &ents[n_ents];

	*t = (struct mb_entry){ .path = (char *)path, .type = type, .size = size,
		.mode = type == MB_T_DIR ? 040755 : 0100644, .ino = 100 + n_ents,
		.mtime_sec = 1700000000, .seg_offset = seg_offset,
		.seg_length = seg_length };
	ptrs[n_ents++] = t;
	return t;
}

static unsigned char byte_at(uint64_t ino, uint64_t off)
{
	return (unsigned char)(off * 13 + ino + (off >> 9));
}

/* A piece's bytes, made whole and emitted at once (pieces are small). */
static int gen_data(void *arg, const struct mb_entry *t, mb_emit_fn emit,
		    void *emit_arg, struct mb_error *e)
{
	unsigned char *buf = malloc(t->seg_length + 1);
	int rc;

	if (!buf)
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to make '%s'", t->path);
	for (uint64_t i = 0; i < t->seg_length; i++)
		buf[i] = byte_at(t->ino, t->seg_offset + i);	/* a file's pieces share its ino */
	rc = emit(emit_arg, buf, (size_t)t->seg_length, e);
	free(buf);
	return rc;
}

static int write_image(struct mb_error *e)
{
	struct mb_image_meta meta = { .backup_id = "7", .created = 1700000000,
		.source = "test", .record_size = 10240, .device_index = 1, .device_count = 1 };
	struct mb_image_layout lay;
	struct mb_sink *s = NULL;
	int rc = -1;

	add("d", MB_T_DIR, 0, 0, 0);
	add("two", MB_T_FILE, 9000, 0, 5000);
	add("two", MB_T_FILE, 9000, 5000, 4000)->ino = ents[1].ino;
	add("d/part", MB_T_FILE, 10000, 4096, 3000);
	add("d/whole", MB_T_FILE, 777, 0, 777);
	if (mb_image_layout(ptrs, n_ents, &meta, &lay, e) < 0)
		return -1;
	unlink(IMG);
	if (mb_sink_open(&s, "file:" IMG, &(struct mb_media_params){ 0 }, e) == 0) {
		struct mb_image_output out = mb_sink_output(s);

		if (mb_image_write(&out, &lay, gen_data, NULL, NULL, e) < 0)
			mb_sink_abort(s);
		else
			rc = mb_sink_close(s, NULL, e);
	}
	mb_image_layout_free(&lay);
	return rc;
}

static bool file_is(const char *path, uint64_t ino, uint64_t size)
{
	FILE *f = fopen(path, "rb");
	uint64_t off = 0;
	int c;

	if (!f)
		return false;
	while ((c = fgetc(f)) != EOF && off < size && c == byte_at(ino, off))
		off++;
	fclose(f);
	return off == size && c == EOF;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

static void rm_rf(const char *path)
{
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Restores IMG (from = "-": from a pipe) into DIR/to, report in rep. */
static int restore(const char *from, const char *to, const char *file,
		   char *rep, size_t cap, struct mb_error *e)
{
	const char *media[1] = { from }, *files[1] = { file };
	FILE *f = fmemopen(rep, cap, "w");
	struct mb_set_restore_opts o = { .media = media, .n_media = 1, .to = to,
		.files = files, .n_files = file ? 1 : 0, .report = f };
	struct mb_set_stats st;
	int rc, in = -1, saved = -1;

	rm_rf(to);
	if (strcmp(from, "-") == 0) {	/* stdin from a pipe fed by cat */
		int p[2];

		if (pipe(p) < 0)
			return -1;
		if (fork() == 0) {
			dup2(p[1], STDOUT_FILENO);
			close(p[0]);
			execlp("cat", "cat", IMG, (char *)NULL);
			_exit(127);
		}
		close(p[1]);
		in = p[0];
		saved = dup(STDIN_FILENO);
		dup2(in, STDIN_FILENO);
	}
	rc = mb_set_restore(&o, &st, e);
	if (in >= 0) {
		dup2(saved, STDIN_FILENO);
		close(saved);
		close(in);
		wait(NULL);
	}
	fclose(f);
	return rc;
}

static void test_restore(const char *from)
{
	char rep[4096] = "", name[200];
	struct mb_error e = { 0 };
	int rc = restore(from, DIR "/r", NULL, rep, sizeof(rep), &e);

	snprintf(name, sizeof(name), "%s: a file with a piece short fails as corrupt", from);
	is_int(rc == -1 ? e.code : 0, MB_ERR_CORRUPT, name);
	is_str(e.msg, "'d/part' cannot be restored whole: the images of backup 7 hold 3000 "
	       "of its 10000 bytes", "... and says why");
	is_str(rep, "cannot restore 'd/part': its pieces hold 3000 of its 10000 bytes\n",
	       "... and lists it");
	ok(access(DIR "/r/d/part", F_OK) < 0, "nothing under the short file's name");
	ok(file_is(DIR "/r/two", ents[1].ino, 9000), "two segments land at their offsets");
	ok(file_is(DIR "/r/d/whole", ents[4].ino, 777), "a whole file is whole");
}

static void test_file(void)
{
	char rep[4096] = "";
	struct mb_error e = { 0 };

	is_int(restore(IMG, DIR "/f", "two", rep, sizeof(rep), &e), 0, "--file of a segmented file");
	ok(file_is(DIR "/f/two", ents[1].ino, 9000), "... is whole");
	is_int(restore("-", DIR "/fp", "d/whole", rep, sizeof(rep), &e), 0,
	       "--file from a pipe, read in order");
	ok(file_is(DIR "/fp/d/whole", ents[4].ino, 777), "... is whole");
}

/* mbackup restore --from IMG --to to [--file file]: the command. */
static int cmd_restore(const char *to, char *file, struct mb_error *e)
{
	char *from[1] = { IMG }, *files[1] = { file };
	struct mb_options opt = { .froms = { from, 1 }, .from = IMG, .to = (char *)to,
				  .files = { files, file ? 1 : 0 } };
	int out = dup(STDOUT_FILENO), null = open("/dev/null", O_WRONLY);
	int rc;

	rm_rf(to);
	fflush(stdout);
	dup2(null, STDOUT_FILENO);	/* its report is not TAP */
	rc = mb_cmd_restore(&opt, e);
	fflush(stdout);
	dup2(out, STDOUT_FILENO);
	close(out);
	close(null);
	return rc == -1 ? e->code : 0;
}

static void test_cmd(void)
{
	struct mb_error e = { 0 }, e2 = { 0 };

	is_int(cmd_restore(DIR "/c", NULL, &e), MB_ERR_CORRUPT,
	       "restore command: the short file is corrupt");
	ok(access(DIR "/c/d/part", F_OK) < 0, "... not left under its name");
	ok(file_is(DIR "/c/two", ents[1].ino, 9000), "... and the segmented file is whole");
	is_int(cmd_restore(DIR "/c1", "d/part", &e2), MB_ERR_CORRUPT,
	       "restore command --file of the short file: corrupt");
	ok(access(DIR "/c1/d/part", F_OK) < 0, "... not written at offset 0 under its name");
}

static void test_verify(void)
{
	const char *media[1] = { IMG };
	struct mb_set_stats st;
	struct mb_error e = { 0 };

	is_int(mb_set_verify(media, 1, NULL, &st, &e) == -1 ? e.code : 0, MB_ERR_CORRUPT,
	       "verify fails on the short file as restore does");
	mb_set_stats_free(&st);
}

int main(void)
{
	struct mb_error e = { 0 };

	tap_lock_dir(DIR);
	rm_rf(DIR);
	mkdir(DIR, 0700);
	if (!ok(write_image(&e) == 0, "a one-device image with segment entries")) {
		diag("%s", e.msg);
		return done_testing();
	}
	test_restore(IMG);
	test_restore("-");
	test_file();
	test_cmd();
	test_verify();
	rm_rf(DIR);
	return done_testing();
}
