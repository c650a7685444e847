/*
 * The tar side of the image: ustar header blocks, pax records, and the
 * headers of one member.  The writer and the layout both call
 * mbi_member_headers(), so the offsets the layout computes are the lengths
 * of the very bytes the writer emits.  See image/FORMAT.md.
 */
#include "image/internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

/* ustar field offsets and lengths (POSIX.1-2001). */
#define U_NAME 0
#define U_MODE 100
#define U_UID 108
#define U_GID 116
#define U_SIZE 124
#define U_MTIME 136
#define U_CHKSUM 148
#define U_TYPE 156
#define U_LINK 157
#define U_MAGIC 257
#define U_VERSION 263
#define U_DEVMAJOR 329
#define U_DEVMINOR 337

#define USTAR_MAX_SIZE UINT64_C(077777777777)	/* 11 octal digits */
#define USTAR_MAX_ID 07777777u			/* 7 octal digits */

/* ---- growable buffer ---- */

void ibuf_free(struct ibuf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

int ibuf_reserve(struct ibuf *b, size_t more, struct mb_error *e)
{
	size_t cap = b->cap ? b->cap : 4096;
	char *p;

	if (more > SIZE_MAX / 2 - b->len)
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to grow a buffer");
	if (b->len + more <= b->cap)
		return 0;
	while (cap < b->len + more)
		cap *= 2;
	p = realloc(b->p, cap);
	if (!p)
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to grow a buffer");
	b->p = p;
	b->cap = cap;
	return 0;
}

int ibuf_add(struct ibuf *b, const void *p, size_t len, struct mb_error *e)
{
	if (ibuf_reserve(b, len + 1, e) < 0)
		return -1;
	memcpy(b->p + b->len, p, len);
	b->len += len;
	b->p[b->len] = 0;	/* text users may rely on a NUL */
	return 0;
}

int ibuf_printf(struct ibuf *b, struct mb_error *e, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || ibuf_reserve(b, (size_t)n + 1, e) < 0)
		return mb_fail(e, MB_ERR_INTERNAL, 0, "unable to format text");
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

int ibuf_pad_block(struct ibuf *b, struct mb_error *e)
{
	size_t pad = mbi_pad(b->len) - b->len;

	if (ibuf_reserve(b, pad + 1, e) < 0)
		return -1;
	memset(b->p + b->len, 0, pad + 1);
	b->len += pad;
	return 0;
}

/* ---- numbers ---- */

int mbi_parse_u64(const char *p, size_t len, uint64_t *out)
{
	uint64_t v = 0;

	if (len == 0 || len > 20 || (len > 1 && p[0] == '0'))
		return -1;
	for (size_t i = 0; i < len; i++) {
		unsigned d = (unsigned char)p[i] - '0';

		if (d > 9 || v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

/* "<sec>.<nsec>" as a pax decimal: -1.5 is 1.5 s before the epoch, so a
 * negative second count with nanoseconds is written as -(sec+1).(1e9-ns). */
int mbi_fmt_time(char *buf, size_t cap, int64_t sec, uint32_t nsec)
{
	if (sec >= 0)
		return snprintf(buf, cap, "%" PRId64 ".%09" PRIu32, sec, nsec);
	if (nsec == 0)
		return snprintf(buf, cap, "-%" PRIu64 ".000000000",
				(uint64_t)0 - (uint64_t)sec);
	return snprintf(buf, cap, "-%" PRIu64 ".%09" PRIu32,
			(uint64_t)0 - (uint64_t)(sec + 1), 1000000000u - nsec);
}

int mbi_parse_time(const char *p, size_t len, int64_t *sec, uint32_t *nsec)
{
	bool neg = len > 0 && p[0] == '-';
	const char *dot = memchr(p, '.', len);
	size_t ilen = dot ? (size_t)(dot - p) : len, flen = dot ? len - ilen - 1 : 0;
	uint64_t whole, frac = 0;

	if (mbi_parse_u64(p + neg, ilen - neg, &whole) < 0 || whole > INT64_MAX)
		return -1;
	if (dot && (flen == 0 || flen > 9))
		return -1;
	for (size_t i = 0; i < flen; i++) {
		unsigned d = (unsigned char)dot[1 + i] - '0';

		if (d > 9)
			return -1;
		frac = frac * 10 + d;
	}
	for (size_t i = flen; i < 9; i++)
		frac *= 10;
	if (!neg) {
		*sec = (int64_t)whole;
		*nsec = (uint32_t)frac;
	} else {
		*sec = -(int64_t)whole - (frac ? 1 : 0);
		*nsec = frac ? (uint32_t)(1000000000u - frac) : 0;
	}
	return 0;
}

/* ---- pax records ---- */

static size_t ndigits(size_t v)
{
	size_t n = 1;

	while (v >= 10) {
		v /= 10;
		n++;
	}
	return n;
}

size_t mbi_pax_reclen(size_t klen, size_t vlen)
{
	size_t base = klen + vlen + 3;	/* ' ', '=', '\n' */
	size_t len = base + ndigits(base);

	if (ndigits(len) != ndigits(base))
		len = base + ndigits(len);
	return len;
}

int mbi_pax_add(struct ibuf *b, const char *key, const char *val, size_t vlen,
		struct mb_error *e)
{
	size_t klen = strlen(key), len = mbi_pax_reclen(klen, vlen);

	if (ibuf_printf(b, e, "%zu %s=", len, key) < 0 ||
	    ibuf_add(b, val, vlen, e) < 0 || ibuf_add(b, "\n", 1, e) < 0)
		return -1;
	return 0;
}

static int pax_num(struct ibuf *b, const char *key, uint64_t v,
		   struct mb_error *e)
{
	char num[24];
	int n = snprintf(num, sizeof(num), "%" PRIu64, v);

	return mbi_pax_add(b, key, num, (size_t)n, e);
}

int mbi_pax_parse(const char *p, size_t len, mbi_rec_fn fn, void *arg,
		  const char **why)
{
	size_t pos = 0;

	while (pos < len) {
		const char *rec = p + pos, *sp, *eq;
		size_t avail = len - pos, dlen = 0;
		uint64_t rlen;

		while (dlen < avail && dlen < 20 && rec[dlen] >= '0' && rec[dlen] <= '9')
			dlen++;
		if (dlen == 0 || dlen >= avail || rec[dlen] != ' ' ||
		    mbi_parse_u64(rec, dlen, &rlen) < 0 || rlen > avail ||
		    rlen < dlen + 4) {
			*why = "bad record length";
			return -1;
		}
		sp = rec + dlen;
		if (rec[rlen - 1] != '\n') {
			*why = "record does not end with a newline";
			return -1;
		}
		eq = memchr(sp + 1, '=', (size_t)(rec + rlen - 1 - (sp + 1)));
		if (!eq || eq == sp + 1) {
			*why = "record has no key";
			return -1;
		}
		if (fn(arg, sp + 1, (size_t)(eq - sp - 1), eq + 1,
		       (size_t)(rec + rlen - 1 - (eq + 1))) < 0) {
			*why = "bad record value";
			return -1;
		}
		pos += rlen;
	}
	return 0;
}

/* ---- ustar blocks ---- */

/* Writes v in octal into a field of len bytes (len-1 digits and a NUL);
 * a value that does not fit is written as the largest one (a pax record
 * carries the real value). */
static void put_octal(unsigned char *f, size_t len, uint64_t v)
{
	uint64_t max = (UINT64_C(1) << (3 * (len - 1))) - 1;

	snprintf((char *)f, len, "%0*" PRIo64, (int)(len - 1), v > max ? max : v);
}

static void put_str(unsigned char *f, size_t len, const char *s)
{
	size_t n = strlen(s);

	memcpy(f, s, n < len ? n : len);	/* NUL-padded, not terminated if full */
}

static void finish_block(unsigned char *blk)
{
	unsigned sum = 0;

	memcpy(blk + U_MAGIC, "ustar", 6);
	memcpy(blk + U_VERSION, "00", 2);
	memset(blk + U_CHKSUM, ' ', 8);
	for (size_t i = 0; i < MB_IMAGE_BLOCK; i++)
		sum += blk[i];
	snprintf((char *)blk + U_CHKSUM, 7, "%06o", sum);
	blk[U_CHKSUM + 7] = ' ';
}

bool mbi_checksum_ok(const unsigned char blk[MB_IMAGE_BLOCK])
{
	unsigned sum = 0;
	uint64_t want;

	for (size_t i = 0; i < MB_IMAGE_BLOCK; i++)
		sum += (i >= U_CHKSUM && i < U_CHKSUM + 8) ? ' ' : blk[i];
	return mbi_octal(blk + U_CHKSUM, 8, &want) == 0 && want == sum;
}

bool mbi_is_zero(const void *p, size_t len)
{
	const unsigned char *c = p;

	return len == 0 || (c[0] == 0 && memcmp(c, c + 1, len - 1) == 0);
}

int mbi_octal(const unsigned char *f, size_t len, uint64_t *out)
{
	size_t i = 0, digits = 0;
	uint64_t v = 0;

	while (i < len && f[i] == ' ')
		i++;
	for (; i < len && f[i] >= '0' && f[i] <= '7'; i++, digits++) {
		if (v >> 61)
			return -1;
		v = v * 8 + (f[i] - '0');
	}
	for (; i < len; i++)
		if (f[i] != 0 && f[i] != ' ')
			return -1;
	if (digits == 0)
		return -1;
	*out = v;
	return 0;
}

static uint64_t clamp_time(int64_t t)
{
	return t < 0 ? 0 : (uint64_t)t;
}

static void header_block(unsigned char *blk, const char *name, uint32_t mode,
			 uint64_t size, int64_t mtime, char type)
{
	memset(blk, 0, MB_IMAGE_BLOCK);
	put_str(blk + U_NAME, 100, name);
	put_octal(blk + U_MODE, 8, mode & 07777);
	put_octal(blk + U_UID, 8, 0);
	put_octal(blk + U_GID, 8, 0);
	put_octal(blk + U_SIZE, 12, size);
	put_octal(blk + U_MTIME, 12, clamp_time(mtime));
	blk[U_TYPE] = type;
}

uint64_t mbi_global_member_len(const char *key, size_t vlen)
{
	return MB_IMAGE_BLOCK + mbi_pad(mbi_pax_reclen(strlen(key), vlen));
}

int mbi_global_head(struct ibuf *b, const char *name, const char *key, size_t vlen,
		    int64_t mtime, struct mb_error *e)
{
	size_t at = b->len, rl = mbi_pax_reclen(strlen(key), vlen);

	if (ibuf_reserve(b, MB_IMAGE_BLOCK + 1, e) < 0)
		return -1;
	header_block((unsigned char *)b->p + at, name, 0644, rl, mtime, 'g');
	finish_block((unsigned char *)b->p + at);
	b->len += MB_IMAGE_BLOCK;
	return ibuf_printf(b, e, "%zu %s=", rl, key);
}

/* ---- one entry's member ---- */

char mbi_typeflag(char type)
{
	switch (type) {
	case MB_T_FILE: return '0';
	case MB_T_DIR: return '5';
	case MB_T_SYMLINK: return '2';
	case MB_T_HARDLINK: return '1';
	case MB_T_FIFO: return '6';
	case MB_T_CHR: return '3';
	case MB_T_BLK: return '4';
	default: return 0;
	}
}

bool mbi_is_segment(const struct mb_entry *ent)
{
	return ent->type == MB_T_FILE &&
	       (ent->seg_offset != 0 || ent->seg_length != ent->size);
}

uint64_t mbi_member_data_len(const struct mb_entry *ent)
{
	return ent->type == MB_T_FILE ? ent->seg_length : 0;
}

char *mbi_member_path(const struct mb_entry *ent)
{
	char *s = NULL;
	int n;

	if (mbi_is_segment(ent))
		n = asprintf(&s, "%s" MBI_SEG_SUFFIX "%016" PRIx64, ent->path,
			     ent->seg_offset);
	else
		n = asprintf(&s, "%s%s", ent->path, ent->type == MB_T_DIR ? "/" : "");
	return n < 0 ? NULL : s;
}

/* Well-formed UTF-8 (shortest forms, no surrogates, <= U+10FFFF)? */
static bool is_utf8(const char *str)
{
	const unsigned char *s = (const unsigned char *)str;

	while (s && *s) {
		unsigned c = *s, need = c < 0x80 ? 0 : c >= 0xc2 && c < 0xe0 ? 1 :
			     c >= 0xe0 && c < 0xf0 ? 2 : c >= 0xf0 && c < 0xf5 ? 3 : 9;
		uint32_t cp = need == 0 ? c : c & (0x3f >> need);

		if (need == 9)
			return false;
		for (unsigned i = 1; i <= need; i++) {
			if ((s[i] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i] & 0x3f);
		}
		if ((need == 2 && (cp < 0x800 || (cp >= 0xd800 && cp < 0xe000))) ||
		    (need == 3 && (cp < 0x10000 || cp > 0x10ffff)))
			return false;
		s += need + 1;
	}
	return true;
}

/* A segment's place in its file rides in POSIX's "comment" record, which
 * every pax reader must accept and GNU tar and bsdtar skip silently
 * (vendor keywords such as MBACKUP.seg.offset make GNU tar warn once per
 * record): "comment=MBACKUP.seg <seg offset> <seg length> <file size>". */
static int seg_record(struct ibuf *b, const struct mb_entry *ent,
		      struct mb_error *e)
{
	char v[96];
	int n = snprintf(v, sizeof(v), MBI_SEG_COMMENT " %" PRIu64 " %" PRIu64
			 " %" PRIu64, ent->seg_offset, ent->seg_length, ent->size);

	return mbi_pax_add(b, "comment", v, (size_t)n, e);
}

int mbi_seg_comment_parse(const char *val, size_t vlen, uint64_t *seg_offset,
			  uint64_t *seg_length, uint64_t *file_size)
{
	size_t plen = strlen(MBI_SEG_COMMENT), i = plen + 1;
	uint64_t *dst[3] = { seg_offset, seg_length, file_size };

	if (vlen <= i || memcmp(val, MBI_SEG_COMMENT " ", i) != 0)
		return 0;
	for (int k = 0; k < 3; k++) {
		const char *sp = memchr(val + i, ' ', vlen - i);
		size_t end = k < 2 ? (sp ? (size_t)(sp - val) : vlen) : vlen;

		if ((k < 2 && !sp) || mbi_parse_u64(val + i, end - i, dst[k]) < 0)
			return -1;
		i = end + 1;
	}
	return 1;
}

/* The pax records of an entry's 'x' header, appended to b.  Names are raw
 * bytes: one that is not UTF-8 gets "hdrcharset=BINARY" so bsdtar takes it
 * as is (it fails to convert it otherwise; GNU tar warns about the keyword
 * but extracts the right name). */
static int entry_records(const struct mb_entry *ent, const char *mpath,
			 struct ibuf *b, struct mb_error *e)
{
	uint64_t dlen = mbi_member_data_len(ent);
	char t[48];
	int tn = mbi_fmt_time(t, sizeof(t), ent->mtime_sec, ent->mtime_nsec);

	if ((!is_utf8(mpath) || !is_utf8(mb_entry_link(ent))) &&
	    mbi_pax_add(b, "hdrcharset", "BINARY", 6, e) < 0)
		return -1;
	if (mbi_pax_add(b, "path", mpath, strlen(mpath), e) < 0)
		return -1;
	if (mb_entry_link(ent) &&
	    mbi_pax_add(b, "linkpath", mb_entry_link(ent), strlen(mb_entry_link(ent)), e) < 0)
		return -1;
	if (mbi_pax_add(b, "mtime", t, (size_t)tn, e) < 0)
		return -1;
	if (dlen > USTAR_MAX_SIZE && pax_num(b, "size", dlen, e) < 0)
		return -1;
	if (ent->uid > USTAR_MAX_ID && pax_num(b, "uid", ent->uid, e) < 0)
		return -1;
	if (ent->gid > USTAR_MAX_ID && pax_num(b, "gid", ent->gid, e) < 0)
		return -1;
	if (!mbi_is_segment(ent))
		return 0;
	return seg_record(b, ent, e);
}

static void ustar_block(unsigned char *blk, const struct mb_entry *ent,
			const char *mpath)
{
	header_block(blk, mpath, ent->mode, mbi_member_data_len(ent),
		     ent->mtime_sec, mbi_typeflag(ent->type));
	put_octal(blk + U_UID, 8, ent->uid);
	put_octal(blk + U_GID, 8, ent->gid);
	if (mb_entry_link(ent))
		put_str(blk + U_LINK, 100, mb_entry_link(ent));
	if (ent->type == MB_T_CHR || ent->type == MB_T_BLK) {
		put_octal(blk + U_DEVMAJOR, 8, major(mb_entry_rdev(ent)));
		put_octal(blk + U_DEVMINOR, 8, minor(mb_entry_rdev(ent)));
	}
	finish_block(blk);
}

/* The 'x' header is always present so every member has the same shape;
 * its ustar name is a placeholder, as pax readers take "path". */
int mbi_member_headers(const struct mb_entry *ent, struct ibuf *b,
		       struct mb_error *e)
{
	char *mpath = mbi_member_path(ent), xname[100];
	const char *base;
	size_t at = b->len, rec;
	int rc = -1;

	if (!mpath) {
		mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to name a member");
		goto out;
	}
	base = strrchr(ent->path, '/');
	snprintf(xname, sizeof(xname), "PaxHeaders/%s", base ? base + 1 : ent->path);
	if (ibuf_reserve(b, MB_IMAGE_BLOCK + 1, e) < 0)
		goto out;
	b->len += MB_IMAGE_BLOCK;
	if (entry_records(ent, mpath, b, e) < 0)
		goto out;
	rec = b->len - at - MB_IMAGE_BLOCK;
	if (ibuf_pad_block(b, e) < 0 || ibuf_reserve(b, MB_IMAGE_BLOCK + 1, e) < 0)
		goto out;
	header_block((unsigned char *)b->p + at, xname, 0644, rec,
		     ent->mtime_sec, 'x');
	finish_block((unsigned char *)b->p + at);
	ustar_block((unsigned char *)b->p + b->len, ent, mpath);
	b->len += MB_IMAGE_BLOCK;
	rc = 0;
out:
	free(mpath);
	return rc;
}
