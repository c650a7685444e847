/* A WAL archive built by hand for the unit tests of orchestrator/wal_*.c:
 * files in the layout of wal_archive.h, with their sidecars. */
#ifndef TEST_WAL_FIXTURE_H
#define TEST_WAL_FIXTURE_H

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "common/hash.h"
#include "orchestrator/wal_archive.h"

#define SEG (16u << 20)

/* Puts name (holding text) into the archive, with its sidecar: a wrong
 * checksum in it when bad_sum. */
static inline void wal_fx_put(const char *arch, const char *name, const char *text, int bad_sum)
{
	char path[512], dir[256], hex[MB_HASH_HEX_LEN + 1];
	FILE *f;

	snprintf(dir, sizeof(dir), "%s%s%.16s", arch, strlen(name) >= 24 ? "/" : "",
		 strlen(name) >= 24 ? name : "");
	mkdir(dir, 0700);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
	mb_hash_buf_hex(text, strlen(text), hex);
	if (bad_sum)
		hex[0] = hex[0] == '0' ? '1' : '0';
	strcat(path, MB_WAL_SIDECAR);
	f = fopen(path, "w");
	fprintf(f, "%s  %s\n", hex, name);
	fclose(f);
}

static inline void wal_fx_put_seg(const char *arch, uint32_t tli, uint64_t segno)
{
	char name[MB_WAL_NAME_MAX];

	mb_wal_seg_name(tli, segno, SEG, name);
	wal_fx_put(arch, name, "segment", 0);
}

#endif
