/*
 * Several devices: the plan (threshold, segments, balance), concurrent
 * writing to files and pipes, failover (a pipe whose reader dies, a pipe
 * that stalls, a small filesystem that fills), restore and verify of the
 * set from the survivors, a missing device, and one image through GNU tar.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "image/multi.h"
#include "plugins/media/media.h"
#include "orchestrator/restore_set.h"
#include "tests/lib/tap.h"

#define DIR "/tmp/multi-t"
#define MIB (UINT64_C(1) << 20)

static struct mb_entry ents[64];
static struct mb_entry *ptrs[64];
static size_t n_ents;

static void add(const char *path, char type, uint64_t size)
{
	struct mb_entry *t = &ents[n_ents];

	memset(t, 0, sizeof(*t));
	t->path = strdup(path);
	t->type = type;
	t->size = size;
	t->mode = type == MB_T_DIR ? 040755 : 0100644;
	t->ino = 100 + n_ents;
	t->mtime_sec = 1700000000;
	if (type == MB_T_HARDLINK)
		mb_entry_set_link(t, strdup("d/small1"));
	ptrs[n_ents++] = t;
}

static void build_set(void)
{
	add("d", MB_T_DIR, 0);
	add("d/big", MB_T_FILE, 13 * MIB + 123);	/* above every threshold */
	add("d/mid", MB_T_FILE, 3 * MIB);
	add("d/small1", MB_T_FILE, 5000);
	add("d/small2", MB_T_FILE, 1);
	add("d/empty", MB_T_FILE, 0);
	add("d/sub", MB_T_DIR, 0);
	add("d/sub/a", MB_T_FILE, 2 * MIB + 7);
	add("d/sub/b", MB_T_FILE, 700000);
	add("d/link", MB_T_HARDLINK, 5000);
}

static unsigned char pattern(const char *path, uint64_t off)
{
	unsigned h = 0;

	for (const char *p = path; *p; p++)
		h = h * 31 + (unsigned char)*p;
	return (unsigned char)((off * 2654435761u) >> 13 ^ h ^ off / 4093);
}

/* Thread-safe data source: the bytes are a function of path and offset. */
static int gen_data(void *arg, const struct mb_entry *ent, mb_emit_fn emit,
		    void *emit_arg, struct mb_error *e)
{
	static __thread unsigned char buf[65536];
	uint64_t off = ent->seg_offset, left = ent->seg_length;

	while (left > 0) {
		size_t n = left < sizeof(buf) ? (size_t)left : sizeof(buf);

		for (size_t i = 0; i < n; i++)
			buf[i] = pattern(ent->path, off + i);
		if (emit(emit_arg, buf, n, e) < 0)
			return -1;
		off += n;
		left -= n;
	}
	return 0;
}

static int src_open(void *arg, uint32_t device, struct mb_entry *const *entries,
		    size_t n, mb_data_fn *fn, void **fn_arg, struct mb_error *e)
{
	*fn = gen_data;
	*fn_arg = NULL;
	return 0;
}

static void src_close(void *arg, uint32_t device, void *fn_arg)
{
}

static const struct mb_multi_source source = { src_open, src_close, NULL, NULL };

static bool file_ok(const char *path, const char *rel, uint64_t size)
{
	FILE *f = fopen(path, "rb");
	uint64_t i = 0;
	int c;
	bool good = f != NULL;

	while (good && (c = fgetc(f)) != EOF)
		good = i < size && c == pattern(rel, i++);
	if (f)
		fclose(f);
	return good && i == size;
}

/* Every regular file of the set restored byte-exact under dir. */
static bool tree_ok(const char *dir)
{
	char p[512];
	struct stat a, b;

	for (size_t i = 0; i < n_ents; i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, ents[i].path);
		if (ents[i].type == MB_T_FILE && !file_ok(p, ents[i].path, ents[i].size)) {
			diag("wrong: %s", p);
			return false;
		}
	}
	snprintf(p, sizeof(p), "%s/d/link", dir);
	if (stat(p, &a) < 0 || (snprintf(p, sizeof(p), "%s/d/small1", dir), stat(p, &b)) < 0)
		return false;
	return a.st_ino == b.st_ino;
}

static void rm_rf(const char *path)
{
	pid_t pid = fork();

	if (pid == 0) {
		execlp("rm", "rm", "-rf", path, (char *)NULL);
		_exit(127);
	}
	waitpid(pid, NULL, 0);
}

static int run(const char *prog, char *const argv[], const char *out_path)
{
	int st;
	pid_t pid = fork();

	if (pid == 0) {
		int fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		dup2(fd, 1);
		dup2(fd, 2);
		execvp(prog, argv);
		_exit(127);
	}
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static char *slurp(const char *path)
{
	static char buf[65536];
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;

	if (f)
		fclose(f);
	buf[n] = 0;
	return buf;
}

static void check_plan(uint32_t n)
{
	struct mb_multi_plan p;
	struct mb_error e = { 0 };
	char name[96];
	uint64_t cover[64] = { 0 };

	is_int(mb_multi_plan(ptrs, n_ents, n, 0, MB_ORDER_DESC, &p, &e), 0, "plan");
	snprintf(name, sizeof(name), "N=%u: threshold is total / N, 4 KiB aligned", n);
	is_int(p.threshold, ((p.total + n - 1) / n + 4095) / 4096 * 4096, name);
	snprintf(name, sizeof(name), "N=%u: pieces cover every file, none above the threshold", n);
	{
		bool good = true;

		memset(cover, 0, sizeof(cover));
		for (size_t i = 0; i < p.n_items; i++) {
			good = good && p.items[i].seg_length <= p.threshold;
			cover[p.items[i].entry] += p.items[i].seg_length;
		}
		for (size_t i = 0; i < n_ents; i++)
			good = good && (ents[i].type != MB_T_FILE || cover[i] == ents[i].size);
		ok(good, name);
	}
	snprintf(name, sizeof(name), "N=%u: max/mean %.3f <= 1.05", n, mb_multi_imbalance(&p));
	ok(mb_multi_imbalance(&p) <= 1.05, name);
	mb_multi_plan_free(&p);
}

/* A PostgreSQL-like set: 1 GiB segment files and many small files. */
static void check_pg_plan(uint32_t n, size_t gigs, size_t smalls)
{
	size_t total = 1 + gigs + smalls;
	struct mb_entry *v = calloc(total, sizeof(*v));
	struct mb_entry **pv = calloc(total, sizeof(*pv));
	struct mb_multi_plan p;
	struct mb_error e = { 0 };
	char name[128];

	v[0] = (struct mb_entry){ .path = "base", .type = MB_T_DIR, .mode = 040700 };
	for (size_t i = 1; i < total; i++) {
		char *path;

		asprintf(&path, "base/16384/%zu%s", 16000 + i, i <= gigs ? "" : "_fsm");
		v[i] = (struct mb_entry){ .path = path, .type = MB_T_FILE, .mode = 0100600,
			.ino = i, .size = i <= gigs ? (UINT64_C(1) << 30) : 8192 * (1 + i % 7) };
	}
	for (size_t i = 0; i < total; i++)
		pv[i] = &v[i];
	is_int(mb_multi_plan(pv, total, n, 0, MB_ORDER_DESC, &p, &e), 0, "pg plan");
	snprintf(name, sizeof(name), "pg-like %zu x 1 GiB + %zu small on %u devices: "
		 "max/mean %.4f <= 1.05", gigs, smalls, n, mb_multi_imbalance(&p));
	ok(mb_multi_imbalance(&p) <= 1.05, name);
	mb_multi_plan_free(&p);
	for (size_t i = 1; i < total; i++)
		free(v[i].path);
	free(v);
	free(pv);
}

/* A reader of a FIFO that reads `limit` bytes (all if 0) then exits; with
 * stall it never reads. */
static pid_t fifo_reader(const char *fifo, const char *out, uint64_t limit, bool stall)
{
	pid_t pid = fork();

	if (pid == 0) {
		int in = open(fifo, O_RDONLY), fd = out ? open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644) : -1;
		static char buf[65536];
		uint64_t got = 0;
		ssize_t k;

		if (stall) {
			pause();
			_exit(0);
		}
		while ((!limit || got < limit) && (k = read(in, buf, sizeof(buf))) > 0) {
			if (fd >= 0 && write(fd, buf, (size_t)k) != k)
				_exit(1);
			got += (uint64_t)k;
		}
		_exit(0);
	}
	return pid;
}

/* Reads a FIFO at most `rate` bytes a second into nowhere. */
static pid_t slow_reader(const char *fifo, uint64_t rate)
{
	pid_t pid = fork();

	if (pid == 0) {
		int in = open(fifo, O_RDONLY);
		static char buf[65536];
		struct timespec t0, now;
		uint64_t got = 0;
		ssize_t k;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		while ((k = read(in, buf, sizeof(buf))) > 0) {
			double due, el;

			got += (uint64_t)k;
			due = (double)got / (double)rate;
			clock_gettime(CLOCK_MONOTONIC, &now);
			el = (double)(now.tv_sec - t0.tv_sec) + (now.tv_nsec - t0.tv_nsec) / 1e9;
			if (due > el)
				usleep((useconds_t)((due - el) * 1e6));
		}
		_exit(0);
	}
	return pid;
}

static struct mb_multi_opts opts(void)
{
	struct mb_multi_opts o = { 0 };

	snprintf(o.meta.backup_id, sizeof(o.meta.backup_id), "42");
	o.meta.created = 1700000000;
	snprintf(o.meta.source, sizeof(o.meta.source), "test");
	return o;
}

static bool plan_whole;	/* write_entries plans with mb_multi_plan_whole */

/* Writes entries v on n devices given as sink specs; returns
 * mb_multi_write's rc. */
static int write_entries(struct mb_entry **v, size_t nv, uint32_t n, const char *const *specs,
			 struct mb_multi_device *dev, struct mb_multi_plan *p, struct mb_error *e)
{
	struct mb_multi_opts o = opts();
	struct mb_media_params mp = { .force = true, .device_timeout = 2 };
	struct mb_sink *sink[64] = { 0 };
	int rc;

	memset(dev, 0, n * sizeof(*dev));
	if (plan_whole ? mb_multi_plan_whole(v, nv, p) < 0
		       : mb_multi_plan(v, nv, n, 0, MB_ORDER_DESC, p, e) < 0)
		return -1;
	for (uint32_t d = 0; d < n; d++) {
		if (mb_sink_open(&sink[d], specs[d], &mp, e) < 0)
			return -1;
		dev[d].out = mb_sink_output(sink[d]);
		dev[d].name = sink[d]->spec;
	}
	rc = mb_multi_write(p, dev, &o, &source, e);
	for (uint32_t d = 0; d < n; d++) {
		if (dev[d].failed)
			mb_sink_abort(sink[d]);
		else
			mb_sink_close(sink[d], NULL, rc == 0 ? e : NULL);
	}
	return rc;
}

/* The test set on n devices. */
static int write_set(uint32_t n, const char *const *specs, struct mb_multi_device *dev,
		     struct mb_multi_plan *p, struct mb_error *e)
{
	return write_entries(ptrs, n_ents, n, specs, dev, p, e);
}

/* 64 devices, the last of which fails (/dev/full: ENOSPC): its items
 * must move to the others like any device's (bit 63 of the rescue mask). */
static void test_device_64(void)
{
	static struct mb_entry files[70];
	static struct mb_entry *v[70];
	static char specs_buf[64][64];
	const char *specs[64];
	static struct mb_multi_device dev[64];
	struct mb_multi_plan p;
	struct mb_error e = { 0 };
	bool none_on_64 = true, planned_on_64 = false, written = true;
	uint64_t items = 0;

	for (size_t i = 0; i < 70; i++) {
		char name[32];

		snprintf(name, sizeof(name), "f%02zu", i);
		files[i] = (struct mb_entry){ .path = strdup(name), .type = MB_T_FILE,
					      .size = 4096, .mode = 0100644, .ino = 1000 + i,
					      .mtime_sec = 1700000000 };
		v[i] = &files[i];
	}
	for (int d = 0; d < 64; d++) {
		snprintf(specs_buf[d], sizeof(specs_buf[d]), "file:" DIR "/d64-%02d", d + 1);
		specs[d] = specs_buf[d];
	}
	specs[63] = "file:/dev/full";
	is_int(write_entries(v, 70, 64, specs, dev, &p, &e), 0, "64 devices: the run completes");
	if (e.code)
		diag("%s", e.msg);
	ok(dev[63].failed, "64 devices: device 64 failed (/dev/full)");
	for (size_t i = 0; i < p.n_items; i++) {
		planned_on_64 = planned_on_64 || p.items[i].planned == 64;
		none_on_64 = none_on_64 && p.items[i].device != 64;
		written = written && p.items[i].device &&
			  p.items[i].part <= dev[p.items[i].device - 1].parts;
	}
	ok(planned_on_64, "64 devices: the plan put items on device 64");
	ok(none_on_64, "64 devices: every item of device 64 moved to a survivor");
	ok(written, "64 devices: every item is in an image that was written (a rescue image)");
	for (int d = 0; d < 63; d++)
		items += dev[d].items;
	is_int(items, p.n_items, "64 devices: every item is on a survivor");
	mb_multi_plan_free(&p);
	for (size_t i = 0; i < 70; i++)
		free((char *)files[i].path);
}

static void test_files(uint32_t n)
{
	const char *specs[4] = { "file:" DIR "/m1", "file:" DIR "/m2", "file:" DIR "/m3", "file:" DIR "/m4" };
	const char *media[4] = { DIR "/m1", DIR "/m2", DIR "/m3", DIR "/m4" };
	struct mb_multi_device dev[4];
	struct mb_multi_plan p;
	struct mb_error e = { 0 };
	struct mb_set_stats st;
	struct mb_set_restore_opts ro = { .media = media, .n_media = n, .to = DIR "/out" };
	char name[96];
	uint64_t items = 0;

	rm_rf(DIR "/out");
	snprintf(name, sizeof(name), "N=%u: written to %u files concurrently", n, n);
	is_int(write_set(n, specs, dev, &p, &e), 0, name);
	if (e.code)
		diag("%s", e.msg);
	for (uint32_t d = 0; d < n; d++)
		items += dev[d].items;
	is_int(items, p.n_items, "every item landed on a device");
	snprintf(name, sizeof(name), "N=%u: set verifies", n);
	is_int(mb_set_verify(media, n, NULL, &st, &e), 0, name);
	if (e.code)
		diag("%s", e.msg);
	snprintf(name, sizeof(name), "N=%u: restored from all devices", n);
	is_int(mb_set_restore(&ro, &st, &e), 0, name);
	if (e.code)
		diag("%s", e.msg);
	snprintf(name, sizeof(name), "N=%u: restore is byte-exact (segments reassembled)", n);
	ok(tree_ok(DIR "/out"), name);
	mb_multi_plan_free(&p);
}

static bool same_bytes(const char *a, const char *b)
{
	FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
	bool same = fa && fb;
	int ca, cb;

	while (same && (ca = getc(fa)) == (cb = getc(fb)) && ca != EOF)
		;
	same = same && ca == cb;
	if (fa)
		fclose(fa);
	if (fb)
		fclose(fb);
	return same;
}

/* One device without items (mb_multi_plan_whole, what the stream uses):
 * the image is byte for byte the one the planned set of one writes. */
static void test_whole(void)
{
	const char *planned[1] = { "file:" DIR "/w1" }, *whole[1] = { "file:" DIR "/w2" };
	struct mb_multi_device dev[1];
	struct mb_multi_plan p;
	struct mb_error e = { 0 };

	is_int(write_set(1, planned, dev, &p, &e), 0, "N=1 planned: written");
	mb_multi_plan_free(&p);
	plan_whole = true;
	is_int(write_set(1, whole, dev, &p, &e), 0, "N=1 whole: written");
	plan_whole = false;
	if (e.code)
		diag("%s", e.msg);
	is_int(p.n_items, 0, "N=1 whole: no items");
	is_int(dev[0].items, n_ents - 2, "N=1 whole: every entry but the 2 directories counted");
	ok(same_bytes(DIR "/w1", DIR "/w2"), "N=1 whole: the same image bytes as the planned one");
	mb_multi_plan_free(&p);
}

/* One image through GNU tar: silent, and no wrong file under a real name. */
static void test_gnu_tar(void)
{
	char *argv[] = { "tar", "-xf", DIR "/m1", "-C", DIR "/tar", NULL };
	char p[512];
	bool good = true, seg_seen = false;
	struct stat sb;

	rm_rf(DIR "/tar");
	mkdir(DIR "/tar", 0755);
	run("tar", argv, DIR "/tar.log");
	is_str(slurp(DIR "/tar.log"), "", "GNU tar extracts device 1's image silently");
	for (size_t i = 0; i < n_ents; i++) {
		snprintf(p, sizeof(p), DIR "/tar/%s", ents[i].path);
		if (ents[i].type == MB_T_FILE && stat(p, &sb) == 0)
			good = good && file_ok(p, ents[i].path, ents[i].size);
	}
	snprintf(p, sizeof(p), DIR "/tar/d/big.mbackup-seg-0000000000000000");
	seg_seen = stat(p, &sb) == 0;
	ok(good, "every file GNU tar left under its own name is whole and right");
	diag("first segment of d/big %s on device 1", seg_seen ? "is" : "is not");
}

/* Device 2 is a FIFO whose reader dies after 64 KiB: its items move to
 * devices 1 and 3 as rescue images, and the set restores from them. */
static void test_failover(void)
{
	const char *specs[3] = { "file:" DIR "/f1", "pipe:" DIR "/fifo2", "file:" DIR "/f3" };
	const char *media[2] = { DIR "/f1", DIR "/f3" };
	struct mb_multi_device dev[3];
	struct mb_multi_plan p;
	struct mb_error e = { 0 };
	struct mb_set_stats st;
	struct mb_set_restore_opts ro = { .media = media, .n_media = 2, .to = DIR "/fo" };
	pid_t rd;
	bool none_on_2 = true;

	rm_rf(DIR "/fo");
	mkfifo(DIR "/fifo2", 0600);
	rd = fifo_reader(DIR "/fifo2", NULL, 65536, false);
	is_int(write_set(3, specs, dev, &p, &e), 0, "failover: the run completes");
	waitpid(rd, NULL, 0);
	ok(dev[1].failed, "failover: device 2 is reported failed");
	is_str(strstr(dev[1].err.msg, "device 2 ('pipe:" DIR "/fifo2') failed: unable to write to")
	       ? "prefix" : dev[1].err.msg, "prefix", "failover: the failure names the device");
	is_int(dev[0].parts + dev[2].parts, 4, "failover: both survivors appended a rescue image");
	for (size_t i = 0; i < p.n_items; i++)
		none_on_2 = none_on_2 && p.items[i].device != 2 &&
			    (p.items[i].planned != 2 || p.items[i].part == 2);
	ok(none_on_2, "failover: every item of device 2 landed in a rescue image");
	is_int(mb_set_verify(media, 2, NULL, &st, &e), 0, "failover: the survivors verify as a set");
	is_int(st.images, 4, "failover: four images on two media");
	is_int(mb_set_restore(&ro, &st, &e), 0, "failover: restore from the survivors");
	if (e.code)
		diag("%s", e.msg);
	ok(tree_ok(DIR "/fo"), "failover: byte-exact");
	mb_multi_plan_free(&p);
}

static void test_stall_and_none(void)
{
	const char *specs[2] = { "pipe:" DIR "/fifo-a", "pipe:" DIR "/fifo-b" };
	struct mb_multi_device dev[2];
	struct mb_multi_plan p;
	struct mb_error e = { 0 };
	pid_t a, b;

	mkfifo(DIR "/fifo-a", 0600);
	mkfifo(DIR "/fifo-b", 0600);
	a = fifo_reader(DIR "/fifo-a", NULL, 0, true);
	b = fifo_reader(DIR "/fifo-b", NULL, 4096, false);
	is_int(write_set(2, specs, dev, &p, &e), -1, "no survivor: the run fails");
	is_int(e.code, MB_ERR_MEDIA, "no survivor: media error");
	ok(strncmp(e.msg, "no device survived; device ", 27) == 0, "no survivor: says so");
	diag("%s", e.msg);
	ok(dev[0].failed && strstr(dev[0].err.msg, "stalled for 2 s"), "a stalled pipe times out");
	diag("%s", dev[0].err.msg);
	kill(a, SIGKILL);
	waitpid(a, NULL, 0);
	waitpid(b, NULL, 0);
	mb_multi_plan_free(&p);
}

/* Device 2 is a 4 MiB tmpfs that fills (end of medium). */
static void test_full_fs(void)
{
	const char *specs[3] = { "file:" DIR "/g1", "file:" DIR "/small/g2", "file:" DIR "/g3" };
	const char *media[2] = { DIR "/g1", DIR "/g3" };
	struct mb_multi_device dev[3];
	struct mb_multi_plan p;
	struct mb_error e = { 0 };
	struct mb_set_stats st;
	struct mb_set_restore_opts ro = { .media = media, .n_media = 2, .to = DIR "/go" };

	mkdir(DIR "/small", 0755);
	if (mount("tmpfs", DIR "/small", "tmpfs", 0, "size=4m") < 0) {
		skip(4, "no tmpfs mount for the full-filesystem device");
		return;
	}
	rm_rf(DIR "/go");
	is_int(write_set(3, specs, dev, &p, &e), 0, "full fs: the run completes");
	ok(dev[1].failed && strstr(dev[1].err.msg, "No space left on device"),
	   "full fs: device 2 failed with ENOSPC");
	diag("%s", dev[1].err.msg);
	is_int(mb_set_restore(&ro, &st, &e), 0, "full fs: restored from the survivors");
	ok(tree_ok(DIR "/go"), "full fs: byte-exact");
	umount2(DIR "/small", MNT_DETACH);
	mb_multi_plan_free(&p);
}

/* Devices 1..3 of test_files(3) with device 2 left out. */
static void test_missing(void)
{
	const char *media[2] = { DIR "/m1", DIR "/m3" };
	struct mb_error e = { 0 };
	struct mb_set_stats st;
	char buf[8192] = "";
	FILE *rep = fmemopen(buf, sizeof(buf), "w");
	struct mb_set_restore_opts ro = { .media = media, .n_media = 2, .to = DIR "/mo",
					  .report = rep };

	rm_rf(DIR "/mo");
	is_int(mb_set_restore(&ro, &st, &e), -1, "missing device: restore fails");
	fclose(rep);
	is_int(e.code, MB_ERR_PARTIAL, "missing device: exit 19 (partial)");
	diag("%s", e.msg);
	diag("%s", buf);
	ok(st.missing > 0 && strstr(buf, "is not given\n"), "missing device: listed exactly");
	{
		/* every file either restored right or absent, and absent ones listed */
		bool good = true;
		char p[512];
		struct stat sb;

		for (size_t i = 0; i < n_ents; i++) {
			char want[600];

			if (ents[i].type != MB_T_FILE)
				continue;
			snprintf(p, sizeof(p), DIR "/mo/%s", ents[i].path);
			snprintf(want, sizeof(want), "cannot restore '%s'", ents[i].path);
			if (stat(p, &sb) == 0)
				good = good && file_ok(p, ents[i].path, ents[i].size) && !strstr(buf, want);
			else
				good = good && strstr(buf, want);
		}
		ok(good, "missing device: what is restored is right, what is not is listed");
	}
}

static double write_rate_limited(uint32_t n, uint64_t rate, uint64_t *bytes, double *fill)
{
	const char *specs[4] = { "pipe:" DIR "/r1", "pipe:" DIR "/r2", "pipe:" DIR "/r3", "pipe:" DIR "/r4" };
	struct mb_multi_device dev[4];
	struct mb_multi_plan p;
	struct mb_error e = { 0 };
	struct timespec t0, t1;
	pid_t rd[4];
	uint64_t max = 0, sum = 0;

	for (uint32_t d = 0; d < n; d++) {
		mkfifo(specs[d] + 5, 0600);
		rd[d] = slow_reader(specs[d] + 5, rate);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (write_set(n, specs, dev, &p, &e) < 0)
		diag("%s", e.msg);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	for (uint32_t d = 0; d < n; d++) {
		waitpid(rd[d], NULL, 0);
		sum += dev[d].bytes;
		max = dev[d].bytes > max ? dev[d].bytes : max;
	}
	*bytes = sum;
	*fill = (double)max * n / (double)sum;
	mb_multi_plan_free(&p);
	return (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
}

/* MULTI_MEASURE=1: four rate-limited pipes against one. */
static void measure(void)
{
	uint64_t rate = 8 * MIB, b1, b4;
	double f1, f4, t1 = write_rate_limited(1, rate, &b1, &f1);
	double t4 = write_rate_limited(4, rate, &b4, &f4);

	diag("1 device  at %llu MiB/s: %.2f s for %llu bytes (ideal %.2f s)",
	     (unsigned long long)(rate / MIB), t1, (unsigned long long)b1, (double)b1 / rate);
	diag("4 devices at %llu MiB/s each: %.2f s for %llu bytes (ideal total/(4 x rate) %.2f s), "
	     "fill max/mean %.4f, speed-up %.2f", (unsigned long long)(rate / MIB), t4,
	     (unsigned long long)b4, (double)b4 / (4.0 * rate), f4, t1 / t4);
	ok(t4 < t1 / 2.5, "four rate-limited devices are faster than one by more than 2.5x");
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	if (geteuid() != 0)
		skip_all("needs root (tmpfs mount)");
	/* other checkouts run this test too: one at a time in DIR */
	tap_lock_dir(DIR);
	rm_rf(DIR);
	mkdir(DIR, 0755);
	build_set();
	for (uint32_t n = 2; n <= 4; n++)
		check_plan(n);
	check_pg_plan(3, 40, 3000);
	check_pg_plan(4, 97, 5000);
	for (uint32_t n = 2; n <= 4; n++)
		test_files(n);
	test_gnu_tar();
	test_whole();
	test_files(3);
	test_missing();
	test_failover();
	test_stall_and_none();
	test_full_fs();
	test_device_64();
	if (getenv("MULTI_MEASURE"))
		measure();
	rm_rf(DIR);
	return done_testing();
}
