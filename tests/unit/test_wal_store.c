/* The WAL archive's store table (orchestrator/wal_store.h): the directory
 * backend through the table, the names of compressed files, zstd frames
 * both ways, and the s3:// backend's checks that need no store. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "orchestrator/wal_archive.h"
#include "orchestrator/wal_file.h"
#include "orchestrator/wal_store.h"
#include "tests/lib/tap.h"

static char ARCH[128];

static int count(void *ctx, const struct mb_wal_entry *en, struct mb_error *e)
{
	char *seen = ctx;

	strcat(seen, en->rel);
	strcat(seen, ";");
	return 0;
}

static void names(void)
{
	char rel[MB_WAL_REL_MAX], name[MB_WAL_NAME_MAX];
	struct mb_wal_name n;
	bool zst;

	mb_wal_name_parse("000000010000000A00000005", &n);
	mb_wal_rel(&n, "000000010000000A00000005", true, rel);
	is_str(rel, "000000010000000A/000000010000000A00000005.zst", "a compressed segment's name");
	mb_wal_name_parse("00000002.history", &n);
	mb_wal_rel(&n, "00000002.history", false, rel);
	is_str(rel, "00000002.history", "a history file at the top");
	ok(mb_wal_stored_parse("000000010000000A00000005.zst", &n, name, &zst) == 0 && zst &&
	   n.kind == MB_WAL_SEGMENT && !strcmp(name, "000000010000000A00000005"),
	   "NAME.zst is the segment NAME, compressed");
	ok(mb_wal_stored_parse("000000010000000A00000005.partial.zst", &n, name, &zst) == 0 &&
	   zst && n.kind == MB_WAL_PARTIAL, "a compressed .partial");
	ok(mb_wal_stored_parse("00000002.history.zst", &n, name, &zst) < 0,
	   "a history file is never compressed");
	ok(mb_wal_stored_parse("000000010000000A00000005.xxh128", &n, name, &zst) < 0,
	   "a sidecar is no WAL file");
	ok(mb_wal_stored_parse("000000010000000A00000005", &n, name, &zst) == 0 && !zst,
	   "a plain segment");
}

static void frames(void)
{
	struct mb_error e = { 0 };
	size_t len = 1 << 20, zlen, back;
	char *in = malloc(len);
	void *z = NULL, *out = NULL;

	for (size_t i = 0; i < len; i++)
		in[i] = (char)(i % 251 < 200 ? 0 : i);
	ok(mb_wal_zstd_pack(in, len, 3, &z, &zlen, &e) == 0 && zlen < len / 4, "packed");
	ok(mb_wal_zstd_unpack(z, zlen, len, "x", &out, &back, &e) == 0 && back == len &&
	   memcmp(out, in, len) == 0, "and back, byte for byte");
	free(out);
	ok(mb_wal_zstd_unpack(z, zlen, len - 1, "x.zst", &out, &back, &e) < 0 &&
	   e.code == MB_ERR_CORRUPT, "more than the largest segment: refused");
	is_str(e.msg, "archived 'x.zst' is damaged: no zstd frame of at most 1048575 bytes",
	       "  saying so");
	mb_error_clear(&e);
	((char *)z)[zlen / 2] ^= 0x55;
	ok(mb_wal_zstd_unpack(z, zlen, len, "x.zst", &out, &back, &e) < 0 &&
	   e.code == MB_ERR_CORRUPT && !strncmp(e.msg, "archived 'x.zst' is damaged: ", 29),
	   "a flipped byte in the frame: damaged");
	free(z);
	free(in);
}

static void directory(void)
{
	struct mb_error e = { 0 };
	struct mb_wal_store *s;
	struct mb_wal_entry en;
	char seen[1024] = "", path[256], *text;
	void *buf;
	size_t len;
	const char sum[] = "0123456789abcdef0123456789abcdef";

	ok(mb_wal_store_open(ARCH, NULL, &s, &e) == 0 && !strcmp(s->ops->kind, "directory"),
	   "a path is the directory backend");
	ok(mb_wal_store_local(ARCH) == ARCH && !mb_wal_store_local("s3://b/p"),
	   "a directory is local, s3:// is not");
	ok(s->ops->write(s, "0000000100000000/A", "abc", 3, sum, false, &e) == 0, "write");
	ok(s->ops->write(s, "0000000100000000/A", "xyz", 3, "ffffffffffffffffffffffffffffffff",
			 false, &e) == 1, "an existing name is refused");
	ok(s->ops->read(s, "0000000100000000/A", 100, &buf, &en, &e) == 0 && en.size == 3 &&
	   !memcmp(buf, "abc", 3) && !strcmp(en.sum, sum), "and kept, with its checksum");
	free(buf);
	snprintf(path, sizeof(path), "%s/0000000100000000/A.xxh128", ARCH);
	ok(access(path, F_OK) == 0, "the checksum is a sidecar");
	ok(s->ops->stat(s, "0000000100000000/B", &en, &e) == 1, "stat of a missing file: 1");
	ok(s->ops->write(s, "info", "hello\n", 6, NULL, true, &e) == 0, "a file without checksum");
	ok(mb_wal_store_load(s, "info", 100, false, &text, &len, &e) == 0 && !strcmp(text, "hello\n"),
	   "loaded");
	free(text);
	ok(mb_wal_store_load(s, "info", 100, true, &text, &len, &e) < 0 && e.code == MB_ERR_CORRUPT,
	   "a WAL file must have its checksum");
	mb_error_clear(&e);
	ok(mb_wal_store_load(s, "0000000100000000/A", 100, true, &text, &len, &e) < 0 &&
	   e.code == MB_ERR_CORRUPT && strstr(e.msg, "is damaged: checksum "),
	   "a checksum that does not match: damaged");
	mb_error_clear(&e);
	ok(s->ops->list(s, count, seen, &e) == 0 && strstr(seen, "0000000100000000/A;") &&
	   strstr(seen, "info;") && !strstr(seen, "xxh128"), "list: files, no sidecars");
	ok(s->ops->remove(s, "0000000100000000/A", &e) == 0 && access(path, F_OK) < 0,
	   "remove takes the sidecar too");
	ok(s->ops->tidy(s, &e) == 0, "tidy");
	snprintf(path, sizeof(path), "%s/0000000100000000", ARCH);
	ok(access(path, F_OK) < 0, "  an empty timeline directory is removed");
	mb_wal_store_close(s);
	ok(mb_wal_store_open("/nonexistent/wal", NULL, &s, &e) < 0 && e.code == MB_ERR_CONFIG,
	   "a missing directory cannot be used");
	mb_error_clear(&e);
}

static void object_store(void)
{
	struct mb_error e = { 0 };
	struct mb_wal_store *s;

	ok(mb_wal_store_open("s3://bucket", NULL, &s, &e) < 0 && e.code == MB_ERR_CONFIG,
	   "s3:// without a prefix is refused");
	is_str(e.msg, "invalid WAL archive 's3://bucket'", "  saying so");
	is_str(e.hint, "write it s3://BUCKET/PREFIX", "  with the form");
	mb_error_clear(&e);
	ok(mb_wal_store_open("s3://bucket/", NULL, &s, &e) < 0 && e.code == MB_ERR_CONFIG,
	   "nor an empty one");
	mb_error_clear(&e);
}

int main(void)
{
	char cmd[256];

	snprintf(ARCH, sizeof(ARCH), "/tmp/test_wal_store.%d", (int)getpid());
	mkdir(ARCH, 0700);
	names();
	frames();
	directory();
	object_store();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", ARCH);
	if (system(cmd) != 0)
		diag("unable to remove %s", ARCH);
	return done_testing();
}
