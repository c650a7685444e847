/* One increment applied to a tree (orchestrator/incr_apply.c): a delta
 * written in place, a whole file renamed in, a link made, a removed file
 * gone, owner/mode/mtime set; a result that does not match its checksum
 * removed and named; a path that escapes refused. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/blockmap.h"
#include "orchestrator/incr_apply.h"
#include "tests/lib/tap.h"

#define BS 4096

static char root[] = "/tmp/incr-apply-XXXXXX";
static char tree[128], stage[128];

static void put(const char *dir, const char *name, const void *p, size_t len)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	fwrite(p, 1, len, f);
	fclose(f);
}

static char *get(const char *dir, const char *name, size_t *len)
{
	char path[256], *buf = malloc(1 << 20);
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (!(f = fopen(path, "r"))) {
		free(buf);
		return NULL;
	}
	*len = fread(buf, 1, 1 << 20, f);
	fclose(f);
	return buf;
}

/* The base file (3 blocks of 'a'), its new state (block 1 'b', 100 more
 * bytes 'c'), and the delta member between them. */
static unsigned char base[3 * BS], cur[3 * BS + 100];

static void make_delta(void)
{
	struct mb_block_run runs[] = { { 1, 1 }, { 3, 1 } };
	struct mb_delta d = { sizeof(cur), BS, runs, 2, 2, BS + 100 };
	struct mb_error e = { 0 };
	char *hdr, *m;
	size_t hl;

	mb_delta_header(&d, &hdr, &hl, &e);
	m = malloc(hl + BS + 100);
	memcpy(m, hdr, hl);
	memcpy(m + hl, cur + BS, BS);
	memcpy(m + hl + BS, cur + 3 * BS, 100);
	put(stage, "a/f" MB_DELTA_SUFFIX, m, hl + BS + 100);
	free(hdr);
	free(m);
}

static int apply(struct mb_incr_manifest *m, struct mb_error *e)
{
	struct mb_incr_apply a = { .tree = open(tree, O_PATH | O_DIRECTORY),
				   .staging = open(stage, O_PATH | O_DIRECTORY), .target = tree };
	int rc = mb_incr_apply(&a, m, e);

	close(a.tree);
	close(a.staging);
	return rc;
}

int main(void)
{
	struct mb_incr_entry v[5] = {
		{ 'm', { .path = "a", .type = 'd', .mode = 040750, .mtime_sec = 1500000000 }, "" },
		{ 'd', { .path = "a/f", .type = 'f', .size = sizeof(cur), .mode = 0100640,
			 .mtime_sec = 1600000000, .mtime_nsec = 5 }, "" },
		{ 'm', { .path = "l", .rare = &(struct mb_entry_rare){ .link_target = "a/f" }, .type = 'l', .mode = 0120777 }, "" },
		{ 'w', { .path = "n", .type = 'f', .size = 3, .mode = 0100600 }, "" },
		{ 'u', { .path = "same", .type = 'f', .size = 4, .mode = 0100644 }, "" },
	};
	char *removed[] = { "gone" };
	struct mb_incr_manifest m = { "7", "5", BS, v, 5, removed, 1, false, NULL };
	struct mb_error e = { 0 };
	struct stat st;
	size_t len;
	char *got, path[256], want[256], msg[512];

	plan(14);
	if (!mkdtemp(root))
		return 1;
	snprintf(tree, sizeof(tree), "%s/tree", root);
	snprintf(stage, sizeof(stage), "%s/stage", root);
	snprintf(path, sizeof(path), "%s/a", tree);
	mkdir(tree, 0700), mkdir(path, 0700), mkdir(stage, 0700);
	snprintf(path, sizeof(path), "%s/a", stage);
	mkdir(path, 0700);
	memset(base, 'a', sizeof(base));
	memcpy(cur, base, sizeof(base));
	memset(cur + BS, 'b', BS);
	memset(cur + 3 * BS, 'c', 100);
	put(tree, "a/f", base, sizeof(base));
	put(tree, "gone", "x", 1);
	put(tree, "same", "same", 4);
	put(stage, "n", "new", 3);
	make_delta();
	mb_hash_buf_hex(cur, sizeof(cur), v[1].hash);
	mb_hash_buf_hex("new", 3, v[3].hash);

	is_int(apply(&m, &e), 0, "apply");
	if (e.code)
		diag("%s", e.msg);
	got = get(tree, "a/f", &len);
	ok(got && len == sizeof(cur) && memcmp(got, cur, len) == 0, "the delta's blocks in place, the new size");
	free(got);
	got = get(tree, "n", &len);
	ok(got && len == 3 && memcmp(got, "new", 3) == 0, "the whole file renamed in");
	free(got);
	snprintf(path, sizeof(path), "%s/n", stage);
	ok(access(path, F_OK) < 0, "... out of staging");
	snprintf(path, sizeof(path), "%s/gone", tree);
	ok(access(path, F_OK) < 0, "the removed file is gone");
	snprintf(path, sizeof(path), "%s/l", tree);
	ok(readlink(path, want, sizeof(want)) == 3 && memcmp(want, "a/f", 3) == 0, "the symlink made");
	snprintf(path, sizeof(path), "%s/a/f", tree);
	stat(path, &st);
	ok((st.st_mode & 07777) == 0640 && st.st_mtim.tv_sec == 1600000000 && st.st_mtim.tv_nsec == 5,
	   "the file's mode and mtime");
	snprintf(path, sizeof(path), "%s/a", tree);
	stat(path, &st);
	ok((st.st_mode & 07777) == 0750 && st.st_mtim.tv_sec == 1500000000,
	   "the directory's mode and mtime, set after its contents");

	/* the same delta again on the new state: the result is not what the
	 * manifest says (its block 1 was already 'b', but the hash is the
	 * old one's) */
	make_delta();
	mb_hash_buf_hex(base, sizeof(base), v[1].hash);
	v[3].kind = 'u';
	is_int(apply(&m, &e), -1, "a result that does not match its checksum");
	is_int(e.code, MB_ERR_CORRUPT, "corrupt");
	mb_hash_buf_hex(cur, sizeof(cur), want);
	snprintf(msg, sizeof(msg), "checksum mismatch in 'a/f' after applying increment 7 (expected %s, got %s)",
		 v[1].hash, want);
	is_str(e.msg, msg, "named, with both checksums");
	snprintf(path, sizeof(path), "%s/a/f", tree);
	ok(access(path, F_OK) < 0, "the file is not left under its name");

	mb_error_clear(&e);
	v[0].ent.path = "../outside";
	is_int(apply(&m, &e), -1, "a path that escapes");
	is_str(e.msg, "unable to restore '../outside': the path escapes the target", "refused");
	mb_rm_tree(AT_FDCWD, root);
	return done_testing();
}
