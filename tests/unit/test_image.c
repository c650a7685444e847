/*
 * The image format end to end: layout, write through a file sink, then
 * check the bytes against the index, extract with GNU tar and bsdtar,
 * verify, damage (data byte, header byte, truncation), seek to one member,
 * and a > 8 GiB file streamed through a FIFO into `tar -tvf -`.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include <ftw.h>

#include "image/image.h"
#include "plugins/media/media.h"
#include "image/internal.h"
#include "tests/lib/tap.h"

#define DIR "/tmp/image-t"
#define IMG DIR "/a.mbi"
/* A segment's numbers ride in a pax "comment" record: GNU tar 1.34 and
 * bsdtar say nothing about it. */
#define GNU_SEG_WARNINGS ""

static struct mb_entry ents[32];
static struct mb_entry *ptrs[32];
static size_t n_ents;
static uint64_t trailer_len;	/* bytes of the trailer member */
static char long_dir[200], long_file[400], long_link[300];

static struct mb_entry *add(const char *path, char type, uint64_t size, uint32_t mode)
{
	struct mb_entry *t = &ents[n_ents];

	memset(t, 0, sizeof(*t));
	t->path = strdup(path);
	t->type = type;
	t->size = size;
	t->mode = mode;
	t->ino = 1000 + n_ents * 70;	/* spans several bitmap words */
	t->mtime_sec = 1700000000 + (int64_t)n_ents;
	t->mtime_nsec = 123456789;
	ptrs[n_ents++] = t;
	return t;
}

static void build_set(void)
{
	struct mb_entry *t;

	memset(long_dir, 'a', 120);
	memcpy(long_dir, "dir/", 4);
	snprintf(long_file, sizeof(long_file), "%s/%0150d", long_dir, 7);
	memset(long_link, 'x', 250);
	for (int i = 1; i < 250; i += 2)
		long_link[i] = '/';
	add("dir", MB_T_DIR, 0, 040755);
	add("dir/file.dat", MB_T_FILE, 5000, 0100644);
	add("dir/empty", MB_T_FILE, 0, 0100600);
	add(long_dir, MB_T_DIR, 0, 040700);
	add(long_file, MB_T_FILE, 100, 0100644);
	add("dir/sp ace%20\nnl", MB_T_FILE, 33, 0100644);
	add("dir/caf\xc3\xa9", MB_T_FILE, 512, 0100644);
	add("dir/bad\xff\xfe", MB_T_FILE, 513, 0100644);
	add("dir/\xe6\x97\xa5\xf0\x9f\x98\x80", MB_T_FILE, 2, 0100644);
	t = add("dir/link", MB_T_SYMLINK, 0, 0120777);
	mb_entry_set_link(t, strdup(long_link));
	t = add("dir/hard", MB_T_HARDLINK, 5000, 0100644);
	mb_entry_set_link(t, strdup("dir/file.dat"));
	t->ino = ents[1].ino;
	t->mtime_sec = ents[1].mtime_sec;	/* one inode, one mtime */
	add("dir/fifo", MB_T_FIFO, 0, 010640);
	t = add("dir/owner", MB_T_FILE, 7, 0104755);
	t->uid = 3000000000u;
	t->gid = 2500000;
	t = add("dir/old", MB_T_FILE, 1, 0100444);
	t->mtime_sec = -31536000 - 1;
	t->mtime_nsec = 5;
	t = add("dir/big.seg", MB_T_FILE, 10000, 0100644);
	t->seg_offset = 4096;
	t->seg_length = 3000;
	t = add("dir/null", MB_T_CHR, 0, 020666);
	mb_entry_set_rdev(t, makedev(1, 3));
}

static unsigned char byte_at(const struct mb_entry *t, uint64_t off)
{
	return (unsigned char)(off * 31 + t->ino * 7 + (off >> 8));
}

struct gen {
	int64_t delta;		/* emit this many bytes more (or fewer) */
};

static int gen_data(void *arg, const struct mb_entry *t, mb_emit_fn emit,
		    void *emit_arg, struct mb_error *e)
{
	struct gen *g = arg;
	unsigned char buf[777];
	uint64_t left = t->seg_length + (uint64_t)(g ? g->delta : 0);
	uint64_t off = t->seg_offset;

	while (left > 0) {
		size_t n = left < sizeof(buf) ? (size_t)left : sizeof(buf);

		for (size_t i = 0; i < n; i++)
			buf[i] = byte_at(t, off + i);
		if (emit(emit_arg, buf, n, e) < 0)
			return -1;
		off += n;
		left -= n;
	}
	return 0;
}

static int write_image(const char *path, struct mb_image_layout *lay,
		       struct gen *g, struct mb_error *e)
{
	struct mb_sink *s = NULL;
	struct mb_image_output out;
	char spec[300];

	unlink(path);
	snprintf(spec, sizeof(spec), "file:%s", path);
	if (mb_sink_open(&s, spec, &(struct mb_media_params){ 0 }, e) < 0)
		return -1;
	out = mb_sink_output(s);
	if (mb_image_write(&out, lay, gen_data, g, NULL, e) < 0) {
		mb_sink_abort(s);
		return -1;
	}
	return mb_sink_close(s, NULL, e);
}

static unsigned char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *p;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	p = malloc((size_t)n + 1);
	if (fread(p, 1, (size_t)n, f) != (size_t)n)
		n = 0;
	fclose(f);
	p[n] = 0;
	*len = (size_t)n;
	return p;
}

/* Runs argv with stdout and stderr to files; returns the exit status. */
static int run(char *const argv[], const char *out, const char *err)
{
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int r = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		dup2(o, 1);
		dup2(r, 2);
		execvp(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

static bool file_is(const char *path, const struct mb_entry *t, uint64_t from,
		    uint64_t len)
{
	size_t n;
	unsigned char *p = slurp(path, &n);
	bool same = p && n == len;

	for (size_t i = 0; same && i < n; i++)
		same = p[i] == byte_at(t, from + i);
	free(p);
	return same;
}

/* Every entry extracted with the right type, content, mode, owner, mtime.
 * libarchive 3.6 reads a negative pax time "-A.F" as -A + 0.F (POSIX: -(A.F)),
 * so bsdtar sets a pre-1970 mtime with nanoseconds up to a second late. */
static int check_tree(const char *root, bool bsdtar)
{
	char path[1024];
	struct stat st, first;
	int bad = 0;

	for (size_t i = 0; i < n_ents; i++) {
		const struct mb_entry *t = ptrs[i];
		bool seg = mbi_is_segment(t), good;

		snprintf(path, sizeof(path), "%s/%s%s", root, t->path,
			 seg ? ".mbackup-seg-0000000000001000" : "");
		if (lstat(path, &st) < 0) {
			diag("missing %s", path);
			bad++;
			continue;
		}
		good = (st.st_mode & S_IFMT) == (t->mode & S_IFMT) &&
		       (st.st_mode & 07777) == (t->mode & 07777) &&
		       st.st_uid == t->uid && st.st_gid == t->gid;
		if (t->type != MB_T_DIR && t->type != MB_T_SYMLINK && bsdtar &&
		    t->mtime_sec < 0 && t->mtime_nsec)
			good = good && st.st_mtim.tv_sec == t->mtime_sec + 1 &&
			       st.st_mtim.tv_nsec == 1000000000 - t->mtime_nsec;
		else if (t->type != MB_T_DIR && t->type != MB_T_SYMLINK)
			good = good && st.st_mtim.tv_sec == t->mtime_sec &&
			       st.st_mtim.tv_nsec == t->mtime_nsec;
		if (t->type == MB_T_FILE)
			good = good && file_is(path, t, t->seg_offset, t->seg_length);
		if (t->type == MB_T_CHR)
			good = good && st.st_rdev == mb_entry_rdev(t);
		if (t->type == MB_T_SYMLINK) {
			char tgt[400];
			ssize_t k = readlink(path, tgt, sizeof(tgt) - 1);

			good = good && k >= 0 && (tgt[k] = 0, strcmp(tgt, mb_entry_link(t)) == 0);
		}
		if (t->type == MB_T_HARDLINK) {
			snprintf(path, sizeof(path), "%s/%s", root, mb_entry_link(t) ? mb_entry_link(t) : "?");
			good = good && lstat(path, &first) == 0 && first.st_ino == st.st_ino;
		}
		if (!good) {
			diag("wrong %s", path);
			bad++;
		}
	}
	return bad;
}

static bool empty_file(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && st.st_size == 0;
}

static size_t tree_count;

static int count_fn(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	tree_count += f->level > 0;
	return 0;
}

/* What a tool may print on stderr, exactly (see image/FORMAT.md). */
static const char gnu_x_err[] =
	"tar: Ignoring unknown extended header keyword 'hdrcharset'\n"
	"tar: dir/old: implausibly old time stamp 1969-01-01 00:00:00.999999995\n"
	GNU_SEG_WARNINGS;
static const char gnu_t_err[] =
	"tar: Ignoring unknown extended header keyword 'hdrcharset'\n"
	GNU_SEG_WARNINGS;

/* Runs argv (a tar): it exits 0 and says exactly want_err. */
static void run_tar(char **argv, const char *want_err)
{
	char name[300];
	unsigned char *err;
	size_t n;

	snprintf(name, sizeof(name), "%s %s exits 0", argv[0], argv[1]);
	is_int(run(argv, DIR "/out", DIR "/err"), 0, name);
	err = slurp(DIR "/err", &n);
	snprintf(name, sizeof(name), "%s %s stderr", argv[0], argv[1]);
	is_str((char *)err, want_err, name);
	free(err);
}

static void test_extract(const char *tool, const char *x_err, const char *t_err)
{
	char dir[256], name[300];
	char *xargv[] = { (char *)tool, "-xpf", IMG, "-C", dir, NULL };
	char *targv[] = { (char *)tool, "-tvf", IMG, NULL };
	char *rm[] = { "rm", "-rf", dir, NULL };

	snprintf(dir, sizeof(dir), DIR "/x-%s", tool);
	run(rm, DIR "/out", DIR "/err");
	mkdir(dir, 0700);
	run_tar(xargv, x_err);
	snprintf(name, sizeof(name), "%s extracts every entry exactly", tool);
	is_int(check_tree(dir, strcmp(tool, "bsdtar") == 0), 0, name);
	tree_count = 0;
	nftw(dir, count_fn, 16, FTW_PHYS);
	snprintf(name, sizeof(name), "%s extracts nothing else", tool);
	is_int(tree_count, n_ents, name);
	run_tar(targv, t_err);
	run(rm, DIR "/out", DIR "/err");
}

/* Each member's x header and ustar header sit at the indexed offset. */
static void test_offsets(const struct mb_image_layout *lay)
{
	size_t len;
	unsigned char *img = slurp(IMG, &len);
	int bad = 0;

	is_int(len, lay->image_size, "image size equals the layout's");
	is_int(len % MB_IMAGE_DEFAULT_RECORD, 0, "image size is whole records");
	ok(img && memcmp(img + 257, "ustar\0" "00", 8) == 0 && img[156] == 'g' &&
	   strcmp((char *)img, "mbackup-index") == 0, "member 0 is the global index header");
	for (size_t i = 0; img && i < n_ents; i++) {
		const unsigned char *x = img + ptrs[i]->image_offset;
		uint64_t xs;

		if (x[156] != 'x' || !mbi_checksum_ok(x) || mbi_octal(x + 124, 12, &xs) < 0 ||
		    x[MB_IMAGE_BLOCK + mbi_pad(xs) + 156] != mbi_typeflag(ptrs[i]->type) ||
		    !mbi_checksum_ok(x + MB_IMAGE_BLOCK + mbi_pad(xs))) {
			diag("member %zu not at %" PRIu64, i, ptrs[i]->image_offset);
			bad++;
		}
	}
	is_int(bad, 0, "every member's headers sit at its indexed offset");
	ok(img && memcmp(img + lay->trailer_offset, "mbackup-trailer", 16) == 0,
	   "the trailer sits at its offset");
	free(img);
}

static void test_index(void)
{
	struct mb_image_reader *r = NULL;
	struct mb_error e = { 0 };
	int fd = open(IMG, O_RDONLY | O_CLOEXEC);
	const struct mb_index *idx;
	int bad = 0;

	struct mb_image_input in;
	struct mb_image_fd f;

	mb_image_input_fd(&in, &f, fd, "a.mbi");
	is_int(mb_image_open(&r, &in, &e), 0, "open the image");
	idx = mb_image_index(r);
	is_int(idx->n, n_ents, "index has every entry");
	is_str(idx->meta.source, "/srv/data on /dev/loop3 (ext4)", "source round-trips");
	for (size_t i = 0; i < idx->n && i < n_ents; i++) {
		const struct mb_entry *a = &idx->v[i].ent, *b = ptrs[i];

		if (strcmp(a->path, b->path) || a->type != b->type || a->ino != b->ino ||
		    a->size != b->size || a->mode != b->mode || a->uid != b->uid ||
		    a->gid != b->gid || a->mtime_sec != b->mtime_sec ||
		    a->mtime_nsec != b->mtime_nsec || mb_entry_rdev(a) != mb_entry_rdev(b) ||
		    a->seg_offset != b->seg_offset || a->seg_length != b->seg_length ||
		    a->image_offset != b->image_offset || !!mb_entry_link(a) != !!mb_entry_link(b) ||
		    (mb_entry_link(a) && strcmp(mb_entry_link(a), mb_entry_link(b)))) {
			diag("entry %zu differs", i);
			bad++;
		}
	}
	is_int(bad, 0, "every entry round-trips through the index");
	is_int(idx->n_inodes, n_ents - 1, "inode bitmap has each inode once");
	ok(idx->n_inodes > 2 && idx->inodes[0] == 1000 && idx->inodes[1] == 1070,
	   "inode bitmap is sorted");
	mb_image_close(r);
	close(fd);
}

static void test_seek(void)
{
	struct mb_image_reader *r = NULL;
	struct mb_error e = { 0 };
	struct mb_member m;
	unsigned char buf[8192];
	int fd = open(IMG, O_RDONLY | O_CLOEXEC);
	const struct mb_trailer *t;
	uint64_t before, got = 0;
	char h1[MB_HASH_HEX_LEN + 1];
	ssize_t n;
	bool same = true;

	struct mb_image_input in;
	struct mb_image_fd f;

	mb_image_input_fd(&in, &f, fd, "a.mbi");
	mb_image_open(&r, &in, &e);
	before = mb_image_bytes_read(r);
	is_int(before, mb_image_index(r)->data_offset, "open reads exactly the index");
	is_int(mb_image_seek(r, 1, &e), 0, "seek to dir/file.dat");
	is_int(mb_image_next(r, &m, &e), 1, "read its header");
	is_str(m.path, "dir/file.dat", "member path");
	while ((n = mb_image_read(r, buf, sizeof(buf), &e)) > 0) {
		for (ssize_t i = 0; i < n; i++)
			same = same && buf[i] == byte_at(ptrs[1], got + (uint64_t)i);
		got += (uint64_t)n;
	}
	ok(same && got == 5000, "member data is exact");
	is_int(mb_image_bytes_read(r), before + (m.data_offset - m.offset) + 5000,
	       "only index + headers + data were read");
	snprintf(h1, sizeof(h1), "%s", mb_image_data_hash(r) ? mb_image_data_hash(r) : "");
	before = mb_image_bytes_read(r);
	t = mb_image_trailer(r, &e);
	ok(t && t->n == 10 && strcmp(t->v[0].hash, h1) == 0,
	   "trailer read by seeking has the member's hash");
	is_int(mb_image_bytes_read(r) - before, trailer_len,
	       "the trailer read is exactly the trailer member");
	mb_member_free(&m);
	mb_image_seek(r, 4, &e);
	mb_image_next(r, &m, &e);
	while (mb_image_read(r, buf, sizeof(buf), &e) > 0)
		;
	ok(t && strcmp(mb_image_data_hash(r), t->v[2].hash) == 0,
	   "data hash of a member matches the trailer");
	is_str(m.path, long_file, "long path comes from pax");
	mb_member_free(&m);
	mb_image_close(r);
	close(fd);
}

static void test_pipe_seek(void)
{
	struct mb_image_reader *r = NULL;
	struct mb_image_input in;
	struct mb_image_fd f;
	struct mb_error e = { 0 };
	int p[2], fd = open(IMG, O_RDONLY | O_CLOEXEC);
	pid_t pid;

	if (pipe(p) < 0)
		return;
	pid = fork();
	if (pid == 0) {
		char buf[65536];
		ssize_t n;

		close(p[0]);
		while ((n = read(fd, buf, sizeof(buf))) > 0)
			if (write(p[1], buf, (size_t)n) != n)
				break;
		_exit(0);
	}
	close(p[1]);
	mb_image_input_fd(&in, &f, p[0], "pipe");
	is_int(mb_image_open(&r, &in, &e), 0, "open through a pipe");
	is_int(mb_image_seek(r, 1, &e), -1, "seek on a pipe fails");
	is_str(e.msg, "unable to seek in image 'pipe': Illegal seek", "seek error");
	is_int(e.code, MB_ERR_MEDIA, "seek error code");
	mb_image_close(r);
	close(p[0]);
	waitpid(pid, NULL, 0);
	close(fd);
}

static int copy_damaged(const char *dst, int64_t flip_at, int64_t truncate_at)
{
	size_t len;
	unsigned char *p = slurp(IMG, &len);
	FILE *f = fopen(dst, "wb");

	if (!p || !f)
		return -1;
	if (flip_at >= 0)
		p[flip_at] ^= 0x40;
	if (truncate_at >= 0)
		len = (size_t)truncate_at;
	fwrite(p, 1, len, f);
	fclose(f);
	free(p);
	return 0;
}

static int verify_file(const char *path, const char *name, struct mb_error *e)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc;
	struct mb_image_stats st;
	struct mb_image_input in;
	struct mb_image_fd f;

	mb_error_clear(e);
	mb_image_input_fd(&in, &f, fd, name);
	rc = mb_image_verify(&in, &st, e);
	close(fd);
	return rc;
}

static void test_damage(void)
{
	struct mb_error e;
	uint64_t off = ptrs[1]->image_offset, data, hdr;
	char want[300];
	size_t len;
	unsigned char *img = slurp(IMG, &len);
	uint64_t xs;

	mbi_octal(img + off + 124, 12, &xs);
	hdr = off + MB_IMAGE_BLOCK + mbi_pad(xs);	/* ustar header of dir/file.dat */
	data = hdr + MB_IMAGE_BLOCK;
	free(img);

	copy_damaged(DIR "/d.mbi", (int64_t)data + 1234, -1);
	is_int(verify_file(DIR "/d.mbi", "d.mbi", &e), -1, "flipped data byte fails");
	snprintf(want, sizeof(want), "checksum mismatch in 'dir/file.dat' (member at "
		 "offset %" PRIu64 ")", off);
	is_str(e.msg, want, "flipped data byte message");
	is_int(e.code, MB_ERR_CORRUPT, "flipped data byte code");

	copy_damaged(DIR "/d.mbi", (int64_t)hdr + 20, -1);
	is_int(verify_file(DIR "/d.mbi", "d.mbi", &e), -1, "flipped header byte fails");
	snprintf(want, sizeof(want), "header checksum mismatch at offset %" PRIu64
		 " (member of 'dir/file.dat') in image 'd.mbi'", hdr);
	is_str(e.msg, want, "flipped header byte message");
	is_int(e.code, MB_ERR_CORRUPT, "flipped header byte code");

	copy_damaged(DIR "/d.mbi", (int64_t)off + MB_IMAGE_BLOCK + 12, -1);
	is_int(verify_file(DIR "/d.mbi", "d.mbi", &e), -1, "flipped pax path byte fails");
	snprintf(want, sizeof(want), "member at offset %" PRIu64 " does not match the "
		 "index entry 'dir/file.dat' (path differs) in image 'd.mbi'", off);
	is_str(e.msg, want, "flipped pax byte message");

	copy_damaged(DIR "/d.mbi", -1, (int64_t)data + 100);
	is_int(verify_file(DIR "/d.mbi", "d.mbi", &e), -1, "truncated image fails");
	snprintf(want, sizeof(want), "image 'd.mbi' is truncated at offset %" PRIu64
		 " (inside 'dir/file.dat')", data + 100);
	is_str(e.msg, want, "truncation message");
	is_int(e.code, MB_ERR_TRUNCATED, "truncation code");

	copy_damaged(DIR "/d.mbi", -1, 700);
	verify_file(DIR "/d.mbi", "d.mbi", &e);
	is_str(e.msg, "image 'd.mbi' is truncated at offset 700 (inside the index)",
	       "truncated index message");

	copy_damaged(DIR "/d.mbi", -1, (int64_t)ptrs[n_ents - 1]->image_offset + 1024 + 300);
	verify_file(DIR "/d.mbi", "d.mbi", &e);
	is_int(e.code, MB_ERR_TRUNCATED, "image cut inside the trailer is truncated");
}

static void test_not_image(void)
{
	char *tarv[] = { "tar", "-cf", DIR "/plain.tar", "-C", "/etc", "hostname", NULL };
	struct mb_error e;

	run(tarv, DIR "/out", DIR "/err");
	is_int(verify_file(DIR "/plain.tar", "plain.tar", &e), -1, "plain tar refused");
	is_str(e.msg, "'plain.tar' is not an mbackup image (no valid index member at "
	       "its start)", "plain tar message");
	is_int(e.code, MB_ERR_CORRUPT, "plain tar code");
	is_int(verify_file("/dev/null", "empty", &e), -1, "empty file refused");
	is_str(e.msg, "image 'empty' is truncated at offset 0 (inside the index)",
	       "empty file message");
}

static void test_write_errors(struct mb_image_layout *lay)
{
	struct mb_error e = { 0 };
	struct gen shorter = { -1 }, longer = { 1 };
	uint64_t saved;

	is_int(write_image(DIR "/w.mbi", lay, &shorter, &e), -1, "short data fails");
	is_str(e.msg, "data of 'dir/file.dat' is 4999 bytes instead of 5000", "short data message");
	is_int(e.code, MB_ERR_INTERNAL, "short data code");
	mb_error_clear(&e);
	write_image(DIR "/w.mbi", lay, &longer, &e);
	is_str(e.msg, "data of 'dir/file.dat' is longer than 5000 bytes", "long data message");
	mb_error_clear(&e);
	saved = ptrs[2]->image_offset;
	ptrs[2]->image_offset += 512;
	write_image(DIR "/w.mbi", lay, NULL, &e);
	ptrs[2]->image_offset = saved;
	{
		char want[200];

		snprintf(want, sizeof(want), "'dir/empty': member starts at offset %"
			 PRIu64 " instead of %" PRIu64, saved, saved + 512);
		is_str(e.msg, want, "misplaced member message");
	}
	is_int(e.code, MB_ERR_INTERNAL, "misplaced member code");
}

static void test_index_parse(const struct mb_image_layout *lay)
{
	struct mb_index idx;
	struct mb_error e = { 0 };
	struct ibuf text = { 0 };
	char *t, *p;

	is_int(mbi_index_text(lay, &text, &e), 0, "index rendered whole");
	is_int((int)text.len, (int)lay->index_len, "at the length the layout counted");
	t = strdup(text.p);

	p = strstr(t, "entries ");
	memcpy(p + 8, "99", 2);
	is_int(mbi_index_parse(t, lay->index_len, &idx, "x", &e), -1, "bad entry count refused");
	{
		char want[200];

		snprintf(want, sizeof(want), "corrupt index in image 'x' at offset %zu: "
			 "bad entry count", (size_t)(p - t) + 512 +
			 mbi_pax_reclen(strlen("MBACKUP.index"), lay->index_len) -
			 lay->index_len - 1);
		is_str(e.msg, want, "bad entry count message names the offset");
	}
	free(t);
	t = strdup(text.p);
	p = strstr(t, "\ne ");
	p[20] = '%';
	mb_error_clear(&e);
	is_int(mbi_index_parse(t, lay->index_len, &idx, "x", &e), -1, "bad entry line refused");
	is_int(e.code, MB_ERR_CORRUPT, "bad entry line code");
	free(t);
	ibuf_free(&text);
}

static int zero_data(void *arg, const struct mb_entry *t, mb_emit_fn emit,
		     void *emit_arg, struct mb_error *e)
{
	static unsigned char zeros[1 << 20];
	uint64_t left = t->seg_length;

	while (left > 0) {
		size_t n = left < sizeof(zeros) ? (size_t)left : sizeof(zeros);

		if (emit(emit_arg, zeros, n, e) < 0)
			return -1;
		left -= n;
	}
	return 0;
}

/* A 9 GiB file: pax "size" record, streamed through a FIFO into tar. */
static void test_huge(void)
{
	struct mb_entry big = { .path = "huge.bin", .type = MB_T_FILE,
				.size = UINT64_C(9) << 30, .mode = 0100644, .ino = 5 };
	struct mb_entry *bp = &big;
	struct mb_image_meta meta = { .backup_id = "h", .created = 1 };
	struct mb_image_layout lay;
	struct mb_image_stats st;
	struct mb_sink *s = NULL;
	struct mb_error e = { 0 };
	char *tv[] = { "tar", "-tvf", DIR "/fifo", NULL };
	pid_t pid;
	int status = -1;
	size_t n;
	unsigned char *out;

	is_int(mb_image_layout(&bp, 1, &meta, &lay, &e), 0, "layout of a 9 GiB file");
	is_int(lay.image_size % MB_IMAGE_DEFAULT_RECORD, 0, "9 GiB image is whole records");
	unlink(DIR "/fifo");
	mkfifo(DIR "/fifo", 0600);
	pid = fork();
	if (pid == 0)
		_exit(run(tv, DIR "/huge.out", DIR "/huge.err"));
	if (mb_sink_open(&s, "pipe:" DIR "/fifo", &(struct mb_media_params){ 0 }, &e) == 0) {
		struct mb_image_output to = mb_sink_output(s);

		if (mb_image_write(&to, &lay, zero_data, NULL, &st, &e) < 0)
			mb_sink_abort(s);
		else
			mb_sink_close(s, NULL, &e);
	}
	waitpid(pid, &status, 0);
	is_str(e.msg, "", "9 GiB image written through a FIFO");
	is_int(st.bytes, lay.image_size, "9 GiB image size");
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0 && empty_file(DIR "/huge.err"),
	   "tar -tvf - reads it silently");
	out = slurp(DIR "/huge.out", &n);
	ok(out && strstr((char *)out, " 9663676416 1970-01-01") &&
	   strstr((char *)out, " huge.bin\n"), "tar lists the 9 GiB size");
	if (out)
		diag("%s", out);
	free(out);
	mb_image_layout_free(&lay);
}

/* Enough entries that the index and the trailer are each rendered in
 * several pieces (image/text.c): written, then verified whole. */
static void test_many(void)
{
	enum { MANY = 4000 };
	struct mb_entry *v = calloc(MANY, sizeof(*v));
	struct mb_entry **pv = calloc(MANY, sizeof(*pv));
	struct mb_image_meta meta = { .backup_id = "m", .created = 1 };
	struct mb_image_layout lay;
	struct mb_sink *s = NULL;
	struct mb_error e = { 0 };
	int rc = -1;

	for (size_t i = 0; i < MANY; i++) {
		v[i] = (struct mb_entry){ .type = MB_T_FILE, .size = i % 700, .ino = i + 2,
					  .mode = 0100600 };
		asprintf(&v[i].path, "many/dir%02zu/file%05zu", i / 100, i);
		pv[i] = &v[i];
	}
	is_int(mb_image_layout(pv, MANY, &meta, &lay, &e), 0, "layout of 4000 files");
	ok(lay.index_len > 3 * 65536 && lay.trailer_len > 2 * 65536,
	   "index and trailer span several pieces");
	unlink(DIR "/many.mbi");
	if (mb_sink_open(&s, "file:" DIR "/many.mbi", &(struct mb_media_params){ 0 }, &e) == 0) {
		struct mb_image_output to = mb_sink_output(s);

		if ((rc = mb_image_write(&to, &lay, zero_data, NULL, NULL, &e)) < 0)
			mb_sink_abort(s);
		else
			rc = mb_sink_close(s, NULL, &e);
	}
	is_int(rc, 0, "4000 files written");
	is_int(verify_file(DIR "/many.mbi", "many.mbi", &e), 0, "4000 files verify");
	is_str(e.msg, "", "4000 files: no error");
	mb_image_layout_free(&lay);
	for (size_t i = 0; i < MANY; i++)
		free(v[i].path);
	free(v);
	free(pv);
}

/* Reads member i of r whole; true if its data matches the trailer. */
static bool member_matches(struct mb_image_reader *r, size_t i)
{
	struct mb_error e = { 0 };
	struct mb_member m = { 0 };
	const struct mb_trailer *t = mb_image_trailer(r, &e);
	char buf[65536];
	bool good;

	if (!t || mb_image_seek(r, i, &e) < 0 || mb_image_next(r, &m, &e) != 1)
		return false;
	while (mb_image_read(r, buf, sizeof(buf), &e) > 0)
		;
	good = mb_image_data_hash(r) &&
	       strcmp(mb_image_data_hash(r), mb_trailer_hash_at(t, m.offset) ?
		      mb_trailer_hash_at(t, m.offset) : "") == 0;
	mb_member_free(&m);
	return good;
}

/* IMG twice in one file, the second copy with a byte of member 1's data
 * flipped (so the two images can be told apart). */
static void write_two(void)
{
	struct mb_image_reader *r = NULL;
	struct mb_image_input in;
	struct mb_image_fd f;
	struct mb_member m = { 0 };
	struct mb_error e = { 0 };
	int fd = open(IMG, O_RDONLY | O_CLOEXEC);

	mb_image_input_fd(&in, &f, fd, "a.mbi");
	if (mb_image_open(&r, &in, &e) < 0 || mb_image_seek(r, 1, &e) < 0 ||
	    mb_image_next(r, &m, &e) != 1 || copy_damaged(DIR "/b.mbi", (int64_t)m.data_offset, -1) < 0 ||
	    system("cat " IMG " " DIR "/b.mbi > " DIR "/two.mbi") != 0)
		diag("unable to make two.mbi");
	mb_member_free(&m);
	mb_image_close(r);
	close(fd);
}

/* The media reader (media.h): a path is a file medium; an image appended
 * after the first (a rescue image) is the next image, named PATH@BYTE,
 * and a reader of the first stays valid beside one of the second;
 * standard input cannot move on to another image. */
static void test_media_read(uint64_t size)
{
	struct mb_media_params p = { 0 };
	struct mb_media_in *m = NULL;
	struct mb_image_reader *r1 = NULL, *r2 = NULL;
	struct mb_error e = { 0 };
	char name[64];

	write_two();
	is_int(mb_media_open_read(&m, DIR "/two.mbi", &p, &e), 0, "media: a path opens as a file");
	is_int(mb_image_open(&r1, mb_media_input(m), &e), 0, "media: first image");
	is_int(mb_image_index(r1)->image_size, size, "media: first image's size");
	is_int(mb_media_next_image(m, size, &e), 1, "media: a second image follows");
	snprintf(name, sizeof(name), DIR "/two.mbi@%llu", (unsigned long long)size);
	is_str(m->name, name, "media: it is named by its byte");
	is_int(mb_image_open(&r2, mb_media_input(m), &e), 0, "media: second image opens");
	ok(!member_matches(r2, 1), "media: the second image reads its own (damaged) bytes");
	ok(member_matches(r1, 1), "media: the first image's reader still reads the first image");
	mb_image_close(r1);
	mb_image_close(r2);
	is_int(mb_media_next_image(m, size, &e), 0, "media: nothing after the second");
	mb_media_close(m);
	is_int(mb_media_open_read(&m, "-", &p, &e), 0, "media: - is standard input");
	is_str(m->name, "standard input", "media: so messages say");
	is_int(mb_media_next_image(m, size, &e), -1, "media: no next image on standard input");
	is_str(e.msg, "unable to read the set from '-': Illegal seek", "media: says why");
	mb_media_close(m);
	mb_error_clear(&e);
	is_int(mb_media_open_read(&m, DIR "/none.mbi", &p, &e), -1, "media: missing file");
	is_int(e.code, MB_ERR_NOT_FOUND, "media: missing file is not found");
	is_str(e.msg, "unable to open image '" DIR "/none.mbi': No such file or directory",
	       "media: missing file message");
}

int main(void)
{
	struct mb_image_meta meta = { .backup_id = "17", .created = 1700000000,
				      .source = "/srv/data on /dev/loop3 (ext4)" };
	struct mb_image_layout lay;
	struct mb_error e = { 0 };
	char *rm[] = { "rm", "-rf", DIR, NULL };

	if (geteuid() != 0)
		skip_all("extracting owners and devices needs root");
	/* other checkouts run this test too: one at a time in DIR */
	tap_lock_dir(DIR);
	run(rm, "/dev/null", "/dev/null");
	mkdir(DIR, 0700);
	build_set();
	is_int(mb_image_layout(ptrs, n_ents, &meta, &lay, &e), 0, "layout");
	is_int(ptrs[0]->image_offset, lay.data_offset, "entry 0 starts at the data offset");
	is_int(ptrs[n_ents - 3]->seg_length, 1, "whole file gets seg_length = size");
	is_int(write_image(IMG, &lay, NULL, &e), 0, "write through a file sink");
	is_str(e.msg, "", "no error");
	{
		size_t len;
		unsigned char *img = slurp(IMG, &len);
		uint64_t ts = 0;

		mbi_octal(img + lay.trailer_offset + 124, 12, &ts);
		trailer_len = MB_IMAGE_BLOCK + mbi_pad(ts);
		free(img);
	}
	test_offsets(&lay);
	test_index();
	is_int(verify_file(IMG, "a.mbi", &e), 0, "verify passes");
	is_str(e.msg, "", "verify: no error");
	test_extract("tar", gnu_x_err, gnu_t_err);
	test_extract("bsdtar", "", "");
	test_seek();
	test_pipe_seek();
	test_media_read(lay.image_size);
	test_damage();
	test_not_image();
	test_write_errors(&lay);
	test_index_parse(&lay);
	test_huge();
	test_many();
	mb_image_layout_free(&lay);
	for (size_t i = 0; i < n_ents; i++)
		mb_entry_free(&ents[i]);
	if (!tap_failed)
		run(rm, "/dev/null", "/dev/null");
	return done_testing();
}
