/* WAL file names, LSNs and the segment header; see wal_archive.h. */
#include "orchestrator/wal_archive.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PG15_PAGE_MAGIC 0xD110	/* XLOG_PAGE_MAGIC of PostgreSQL 15 */
#define XLP_LONG_HEADER 0x0002

/* n upper- or lower-case hex digits at s -> *out. */
static bool hex_field(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n; i++) {
		if (!isxdigit((unsigned char)s[i]))
			return false;
		v = v << 4 | (uint64_t)(isdigit((unsigned char)s[i]) ? s[i] - '0'
								  : (s[i] | 0x20) - 'a' + 10);
	}
	*out = v;
	return true;
}

int mb_wal_lsn_parse(const char *s, uint64_t *lsn)
{
	size_t hi = strspn(s, "0123456789abcdefABCDEF"), lo;
	uint64_t h, l;

	if (hi == 0 || hi > 8 || s[hi] != '/')
		return -1;
	lo = strspn(s + hi + 1, "0123456789abcdefABCDEF");
	if (lo == 0 || lo > 8 || s[hi + 1 + lo] != '\0')
		return -1;
	hex_field(s, hi, &h);
	hex_field(s + hi + 1, lo, &l);
	*lsn = h << 32 | l;
	return 0;
}

void mb_wal_lsn_format(uint64_t lsn, char buf[MB_WAL_LSN_MAX])
{
	snprintf(buf, MB_WAL_LSN_MAX, "%X/%X", (unsigned)(lsn >> 32), (unsigned)lsn);
}

bool mb_wal_seg_size_valid(uint64_t seg_size)
{
	return seg_size >= (1u << 20) && seg_size <= (1u << 30) &&
	       (seg_size & (seg_size - 1)) == 0;
}

static uint64_t segs_per_log(uint32_t seg_size)
{
	return UINT64_C(0x100000000) / seg_size;
}

void mb_wal_seg_name(uint32_t tli, uint64_t segno, uint32_t seg_size, char buf[MB_WAL_NAME_MAX])
{
	snprintf(buf, MB_WAL_NAME_MAX, "%08X%08X%08X", tli,
		 (unsigned)(segno / segs_per_log(seg_size)),
		 (unsigned)(segno % segs_per_log(seg_size)));
}

/* "<24 hex>" + suffix: a segment, "<24 hex>.partial", "<24 hex>.<8 hex>.backup". */
static int parse_segment_name(const char *name, struct mb_wal_name *n)
{
	uint64_t t, l, s, off;
	const char *rest = name + 24;

	if (strlen(name) < 24 || !hex_field(name, 8, &t) || !hex_field(name + 8, 8, &l) ||
	    !hex_field(name + 16, 8, &s) || t == 0)
		return -1;
	*n = (struct mb_wal_name){ .tli = (uint32_t)t, .log = (uint32_t)l, .seg = (uint32_t)s };
	if (*rest == '\0')
		n->kind = MB_WAL_SEGMENT;
	else if (strcmp(rest, ".partial") == 0)
		n->kind = MB_WAL_PARTIAL;
	else if (rest[0] == '.' && strlen(rest) == 16 && hex_field(rest + 1, 8, &off) &&
		 strcmp(rest + 9, ".backup") == 0)
		n->kind = MB_WAL_BACKUP;
	else
		return -1;
	return 0;
}

int mb_wal_name_parse(const char *name, struct mb_wal_name *n)
{
	uint64_t t;

	if (strlen(name) == 16 && strcmp(name + 8, ".history") == 0) {
		if (!hex_field(name, 8, &t) || t == 0)
			return -1;
		*n = (struct mb_wal_name){ .kind = MB_WAL_HISTORY, .tli = (uint32_t)t };
		return 0;
	}
	return parse_segment_name(name, n);
}

uint64_t mb_wal_name_segno(const struct mb_wal_name *n, uint32_t seg_size)
{
	return (uint64_t)n->log * segs_per_log(seg_size) + n->seg;
}

void mb_wal_subdir(const struct mb_wal_name *n, const char *name, char buf[MB_WAL_NAME_MAX])
{
	if (n->kind == MB_WAL_HISTORY)
		buf[0] = '\0';
	else
		snprintf(buf, MB_WAL_NAME_MAX, "%.16s", name);
}

int mb_wal_header_parse(const unsigned char *buf, struct mb_wal_header *h)
{
	uint16_t magic, info;

	memcpy(&magic, buf, 2);
	memcpy(&info, buf + 2, 2);
	if (magic != PG15_PAGE_MAGIC || !(info & XLP_LONG_HEADER))
		return -1;
	memcpy(&h->tli, buf + 4, 4);
	memcpy(&h->pageaddr, buf + 8, 8);
	memcpy(&h->sysid, buf + 24, 8);
	memcpy(&h->seg_size, buf + 32, 4);
	memcpy(&h->block_size, buf + 36, 4);
	if (!mb_wal_seg_size_valid(h->seg_size) || h->block_size < 1024 ||
	    h->block_size > 65536 || h->pageaddr % h->seg_size != 0 || h->tli == 0)
		return -1;
	return 0;
}

void mb_wal_rel(const struct mb_wal_name *n, const char *name, bool zst,
		char buf[MB_WAL_REL_MAX])
{
	if (n->kind == MB_WAL_HISTORY)
		snprintf(buf, MB_WAL_REL_MAX, "%s", name);
	else
		snprintf(buf, MB_WAL_REL_MAX, "%.16s/%s%s", name, name, zst ? MB_WAL_ZST : "");
}

int mb_wal_stored_parse(const char *base, struct mb_wal_name *n, char name[MB_WAL_NAME_MAX],
			bool *zst)
{
	size_t len = strlen(base), k = strlen(MB_WAL_ZST);

	*zst = len > k && len - k < MB_WAL_NAME_MAX && strcmp(base + len - k, MB_WAL_ZST) == 0;
	if (len >= MB_WAL_NAME_MAX + (*zst ? k : 0))
		return -1;
	snprintf(name, MB_WAL_NAME_MAX, "%.*s", (int)(*zst ? len - k : len), base);
	if (mb_wal_name_parse(name, n) < 0)
		return -1;
	if (*zst && n->kind != MB_WAL_SEGMENT && n->kind != MB_WAL_PARTIAL)
		return -1;
	return 0;
}
