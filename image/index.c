/*
 * The index text (first member) and its strict parser.  Line format in
 * image/FORMAT.md.  Offsets are fixed-width hex so the text's length does
 * not depend on them; everything read back is bounded and checked.
 */
#include "image/internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


static bool must_escape(unsigned char c)
{
	return c <= 0x20 || c == '%' || c == 0x7f;
}

int mbi_escape(struct ibuf *b, const char *s, struct mb_error *e)
{
	if (!s || !*s)
		return ibuf_add(b, "-", 1, e);
	if (strcmp(s, "-") == 0)
		return ibuf_add(b, "%2D", 3, e);
	for (const char *p = s; *p; ) {
		size_t run = 0;

		while (p[run] && !must_escape((unsigned char)p[run]))
			run++;
		if (run && ibuf_add(b, p, run, e) < 0)
			return -1;
		p += run;
		if (*p && ibuf_printf(b, e, "%%%02X", (unsigned char)*p++) < 0)
			return -1;
	}
	return 0;
}

char *mbi_printable(const char *s)
{
	struct ibuf b = { 0 };
	struct mb_error e = { 0 };

	if (mbi_escape(&b, s, &e) < 0) {
		ibuf_free(&b);
		return strdup("?");
	}
	return b.p;
}

char *mb_image_printable(const char *s)
{
	return mbi_printable(s);
}

/* ---- rendering ---- */

/* Sorts v[0..n) in place (heapsort).  glibc's qsort is a merge sort with
 * a temporary copy of the array: 8 more bytes a file at the stream's peak,
 * where this runs (bench/files.md). */
static void sort_u64(uint64_t *v, size_t n)
{
	for (size_t end = n, start = n / 2; end > 1;) {
		size_t root, child;
		uint64_t x;

		if (start > 0) {	/* building the heap */
			root = --start;
		} else {		/* the largest to the end */
			x = v[--end];
			v[end] = v[0];
			v[0] = x;
			root = 0;
		}
		x = v[root];
		while ((child = 2 * root + 1) < end) {
			if (child + 1 < end && v[child + 1] > v[child])
				child++;
			if (v[child] <= x)
				break;
			v[root] = v[child];
			root = child;
		}
		v[root] = x;
	}
}

/* Sorted unique non-zero inode numbers of the entries (0 marks an entry
 * that has no source inode, e.g. a generated file). */
static uint64_t *entry_inodes(struct mb_entry *const *v, size_t n, size_t *out_n)
{
	uint64_t *ino = malloc((n ? n : 1) * sizeof(*ino));
	size_t k = 0, u = 0;

	if (!ino)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (v[i]->ino)
			ino[k++] = v[i]->ino;
	sort_u64(ino, k);
	for (size_t i = 0; i < k; i++)
		if (u == 0 || ino[u - 1] != ino[i])
			ino[u++] = ino[i];
	*out_n = u;
	return ino;
}

static int bitmap_line(struct mbi_text *t, uint64_t word, uint64_t bits, struct mb_error *e)
{
	if (ibuf_printf(&t->b, e, "i %016" PRIx64 " %016" PRIx64 "\n", word, bits) < 0)
		return -1;
	return mbi_text_step(t, e);
}

/* The bitmap's lines from a dense copy of it, words 0..max/64. */
static int bitmap_dense(struct mb_entry *const *v, size_t n, uint64_t max, struct mbi_text *t,
			struct mb_error *e)
{
	uint64_t *w = calloc(max / 64 + 1, sizeof(*w));
	int rc = 0;

	if (!w)
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to build the inode bitmap");
	for (size_t i = 0; i < n; i++)
		if (v[i]->ino)
			w[v[i]->ino / 64] |= UINT64_C(1) << (v[i]->ino % 64);
	for (uint64_t word = 0; rc == 0 && word <= max / 64; word++)
		if (w[word])
			rc = bitmap_line(t, word, w[word], e);
	free(w);
	return rc;
}

/* The bitmap's lines from the sorted inode numbers. */
static int bitmap_sorted(struct mb_entry *const *v, size_t n, struct mbi_text *t,
			 struct mb_error *e)
{
	size_t k, i = 0;
	uint64_t *ino = entry_inodes(v, n, &k);
	int rc = 0;

	if (!ino)
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to build the inode bitmap");
	while (rc == 0 && i < k) {
		uint64_t word = ino[i] / 64, bits = 0;

		for (; i < k && ino[i] / 64 == word; i++)
			bits |= UINT64_C(1) << (ino[i] % 64);
		rc = bitmap_line(t, word, bits, e);
	}
	free(ino);
	return rc;
}

/* The same lines either way (the words in order, each with its bits):
 * from a dense bitmap when it is no larger than the sorted list of 8
 * bytes an entry, as where inodes are numbered densely from 1 (ext4: a
 * set of 200,000 files in a 2,000,000-inode filesystem costs 250 KB at
 * most, not 1.6 MB, at the stream's peak, where this runs); from the
 * sorted list where they are sparse (xfs's numbers carry the AG). */
static int render_bitmap(struct mb_entry *const *v, size_t n, struct mbi_text *t,
			 struct mb_error *e)
{
	uint64_t max = 0;

	for (size_t i = 0; i < n; i++)
		if (v[i]->ino > max)
			max = v[i]->ino;
	if (max / 64 < n)
		return bitmap_dense(v, n, max, t, e);
	return bitmap_sorted(v, n, t, e);
}

static int render_entry(const struct mb_entry *t, struct ibuf *b,
			struct mb_error *e)
{
	char tm[48];

	mbi_fmt_time(tm, sizeof(tm), t->mtime_sec, t->mtime_nsec);
	if (ibuf_printf(b, e, "e %016" PRIx64 " %c %" PRIu64 " %" PRIu64 " %" PRIu64
			" %" PRIu64 " %o %" PRIu32 " %" PRIu32 " %" PRIu64 " %s ",
			t->image_offset, t->type, t->ino, t->size, t->seg_offset,
			t->seg_length, t->mode, t->uid, t->gid, mb_entry_rdev(t), tm) < 0 ||
	    mbi_escape(b, t->path, e) < 0 || ibuf_add(b, " ", 1, e) < 0 ||
	    mbi_escape(b, mb_entry_link(t), e) < 0 || ibuf_add(b, "\n", 1, e) < 0)
		return -1;
	return 0;
}

/* Several devices: "set <part> <rescues>" then one "p" line per item
 * another image of the set holds (nothing for a lone image). */
static int render_set(const struct mb_image_meta *m, struct mbi_text *t,
		      struct mb_error *e)
{
	uint32_t part = m->part ? m->part : 1;
	struct ibuf *b = &t->b;

	if (m->device_count <= 1 && part == 1 && m->n_peers == 0)
		return 0;
	if (ibuf_printf(b, e, "set %" PRIu32 " %016" PRIx64 "\n", part, m->rescues) < 0)
		return -1;
	for (size_t i = 0; i < m->n_peers; i++) {
		const struct mb_image_peer *p = &m->peers[i];

		if (ibuf_printf(b, e, "p %" PRIu32 " %" PRIu32 " %c %" PRIu64 " %" PRIu64
				" %" PRIu64 " ", p->device, p->part, p->type, p->size,
				p->seg_offset, p->seg_length) < 0 ||
		    mbi_escape(b, p->path, e) < 0 || ibuf_add(b, "\n", 1, e) < 0 ||
		    mbi_text_step(t, e) < 0)
			return -1;
	}
	return 0;
}

int mbi_index_render(const struct mb_image_layout *lay, struct mbi_text *t,
		     struct mb_error *e)
{
	const struct mb_image_meta *m = &lay->meta;
	struct ibuf *b = &t->b;

	if (ibuf_printf(b, e, "mbackup-index 1\nbackup-id ") < 0 ||
	    mbi_escape(b, m->backup_id, e) < 0 ||
	    ibuf_printf(b, e, "\ncreated %" PRId64 "\nsource ", m->created) < 0 ||
	    mbi_escape(b, m->source, e) < 0 ||
	    ibuf_printf(b, e, "\nrecord-size %" PRIu32 "\ndevice %" PRIu32 "/%" PRIu32
			"\nentries %zu\ndata-offset %016" PRIx64
			"\ntrailer-offset %016" PRIx64 "\nimage-size %016" PRIx64 "\n",
			m->record_size, m->device_index, m->device_count,
			lay->n_entries, lay->data_offset, lay->trailer_offset,
			lay->image_size) < 0)
		return -1;
	for (size_t i = 0; i < lay->n_entries; i++)
		if (render_entry(lay->entries[i], b, e) < 0 || mbi_text_step(t, e) < 0)
			return -1;
	if (render_bitmap(lay->entries, lay->n_entries, t, e) < 0 ||
	    render_set(m, t, e) < 0 || ibuf_printf(b, e, "end\n") < 0)
		return -1;
	return mbi_text_flush(t, e);
}

int mbi_index_text(const struct mb_image_layout *lay, struct ibuf *b, struct mb_error *e)
{
	struct mbi_text t;
	int rc;

	mbi_text_init(&t, mbi_text_to_ibuf, b);
	rc = mbi_index_render(lay, &t, e);
	mbi_text_free(&t);
	return rc;
}

/* ---- parsing ---- */

struct cursor {
	const char *text, *p, *end;
	uint64_t base;		/* image offset of text[0] */
	const char *name;	/* image name */
	const char *what;	/* "index" or "trailer" */
	struct mbi_fields l;	/* the current line's */
	const char *line;	/* start of the current line */
};

static int bad(struct cursor *c, struct mb_error *e, const char *why)
{
	const char *at = c->line ? c->line : c->p;

	return mb_fail(e, MB_ERR_CORRUPT, 0, "corrupt %s in image '%s' at offset %" PRIu64
		       ": %s", c->what, c->name, c->base + (uint64_t)(at - c->text), why);
}

const char *mbi_split_line(const char **p, const char *end, int max, struct mbi_fields *l)
{
	const char *nl = memchr(*p, '\n', (size_t)(end - *p)), *q;

	if (!nl)
		return "unterminated line";
	l->n = 0;
	for (q = *p; ; ) {
		const char *sp = memchr(q, ' ', (size_t)(nl - q)), *fe = sp ? sp : nl;

		if (fe == q || l->n == max)
			return fe == q ? "empty field" : "too many fields";
		l->f[l->n] = q;
		l->fl[l->n++] = (size_t)(fe - q);
		if (!sp)
			break;
		q = sp + 1;
	}
	*p = nl + 1;
	return NULL;
}

bool mbi_field_is(const struct mbi_fields *l, int i, const char *s)
{
	return i < l->n && l->fl[i] == strlen(s) && memcmp(l->f[i], s, l->fl[i]) == 0;
}

/* Splits the next line into fields separated by single spaces. */
static int next_line(struct cursor *c, struct mb_error *e)
{
	const char *why;

	c->line = c->p;
	why = mbi_split_line(&c->p, c->end, MBI_MAX_FIELDS, &c->l);
	return why ? bad(c, e, why) : 0;
}

static bool field_is(const struct cursor *c, int i, const char *s)
{
	return mbi_field_is(&c->l, i, s);
}

/* A line "key value" with exactly two fields. */
static int key_line(struct cursor *c, const char *key, struct mb_error *e)
{
	if (next_line(c, e) < 0)
		return -1;
	if (c->l.n != 2 || !field_is(c, 0, key)) {
		char why[64];

		snprintf(why, sizeof(why), "expected '%s'", key);
		return bad(c, e, why);
	}
	return 0;
}

static int hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

int mbi_unescape(const char *f, size_t len, enum mbi_dash dash, char **out)
{
	char *s, *d;

	*out = NULL;
	if (len == 1 && f[0] == '-' && dash != MBI_DASH_ITSELF)
		return dash == MBI_DASH_EMPTY ? ((*out = strdup("")) ? 0 : -1) : 0;
	s = d = malloc(len + 1);
	if (!s)
		return -1;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)f[i];

		if (ch != '%') {
			if (must_escape(ch))
				goto fail;
			*d++ = (char)ch;
			continue;
		}
		if (i + 2 >= len)
			goto fail;
		if (hexval(f[i + 1]) < 0 || hexval(f[i + 2]) < 0 ||
		    (f[i + 1] == '0' && f[i + 2] == '0'))
			goto fail;
		*d++ = (char)(hexval(f[i + 1]) * 16 + hexval(f[i + 2]));
		i += 2;
	}
	*d = 0;
	*out = s;
	return 0;
fail:
	free(s);
	return -1;
}

int mbi_unescape_link(const char *f, size_t len, struct mb_entry *t)
{
	char *s;

	if (mbi_unescape(f, len, MBI_DASH_NULL, &s) < 0)
		return -1;
	return mb_entry_set_link(t, s);
}

static int parse_hex16(const char *f, size_t len, uint64_t *out)
{
	uint64_t v = 0;

	if (len != 16)
		return -1;
	for (size_t i = 0; i < 16; i++) {
		int d = (f[i] >= '0' && f[i] <= '9') ? f[i] - '0' :
			(f[i] >= 'a' && f[i] <= 'f') ? f[i] - 'a' + 10 : -1;

		if (d < 0)
			return -1;
		v = v << 4 | (uint64_t)d;
	}
	*out = v;
	return 0;
}

static int parse_u32(const char *f, size_t len, uint32_t *out)
{
	uint64_t v;

	if (mbi_parse_u64(f, len, &v) < 0 || v > UINT32_MAX)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static int parse_mode(const char *f, size_t len, uint32_t *out)
{
	uint32_t v = 0;

	if (len == 0 || len > 6)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (f[i] < '0' || f[i] > '7')
			return -1;
		v = v * 8 + (uint32_t)(f[i] - '0');
	}
	*out = v;
	return 0;
}

static int parse_i64(const char *f, size_t len, int64_t *out)
{
	uint64_t v;
	bool neg = len > 0 && f[0] == '-';

	if (mbi_parse_u64(f + neg, len - neg, &v) < 0 || v > (uint64_t)INT64_MAX + neg)
		return -1;
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return 0;
}


static int parse_text_field(struct cursor *c, char *dst, size_t cap,
			    struct mb_error *e)
{
	char *s;

	if (mbi_unescape(c->l.f[1], c->l.fl[1], MBI_DASH_EMPTY, &s) < 0 || strlen(s) >= cap) {
		free(s);
		return bad(c, e, "bad text value");
	}
	memcpy(dst, s, strlen(s) + 1);
	free(s);
	return 0;
}

static int parse_device(struct cursor *c, struct mb_image_meta *m,
			struct mb_error *e)
{
	const char *sl = memchr(c->l.f[1], '/', c->l.fl[1]);

	if (!sl || parse_u32(c->l.f[1], (size_t)(sl - c->l.f[1]), &m->device_index) < 0 ||
	    parse_u32(sl + 1, c->l.fl[1] - (size_t)(sl - c->l.f[1]) - 1, &m->device_count) < 0 ||
	    m->device_index < 1 || m->device_index > m->device_count)
		return bad(c, e, "bad device k/n");
	return 0;
}

/* The key lines before the entries. */
static int parse_head(struct cursor *c, struct mb_index *idx, uint64_t *n,
		      struct mb_error *e)
{
	struct mb_image_meta *m = &idx->meta;

	if (next_line(c, e) < 0)
		return -1;
	if (c->l.n != 2 || !field_is(c, 0, "mbackup-index"))
		return bad(c, e, "no index header line");
	if (!field_is(c, 1, "1"))
		return bad(c, e, "unsupported index version");
	if (key_line(c, "backup-id", e) < 0 ||
	    parse_text_field(c, m->backup_id, sizeof(m->backup_id), e) < 0)
		return -1;
	if (key_line(c, "created", e) < 0)
		return -1;
	if (parse_i64(c->l.f[1], c->l.fl[1], &m->created) < 0)
		return bad(c, e, "bad creation time");
	if (key_line(c, "source", e) < 0 ||
	    parse_text_field(c, m->source, sizeof(m->source), e) < 0)
		return -1;
	if (key_line(c, "record-size", e) < 0)
		return -1;
	if (parse_u32(c->l.f[1], c->l.fl[1], &m->record_size) < 0 || m->record_size == 0 ||
	    m->record_size % MB_IMAGE_BLOCK || m->record_size > (64u << 20))
		return bad(c, e, "bad record size");
	if (key_line(c, "device", e) < 0 || parse_device(c, m, e) < 0)
		return -1;
	if (key_line(c, "entries", e) < 0)
		return -1;
	/* An entry line has more than 32 bytes: bounds the allocation. */
	if (mbi_parse_u64(c->l.f[1], c->l.fl[1], n) < 0 ||
	    *n > (uint64_t)(c->end - c->text) / 32)
		return bad(c, e, "bad entry count");
	if (key_line(c, "data-offset", e) < 0 ||
	    parse_hex16(c->l.f[1], c->l.fl[1], &idx->data_offset) < 0)
		return bad(c, e, "bad data offset");
	if (key_line(c, "trailer-offset", e) < 0 ||
	    parse_hex16(c->l.f[1], c->l.fl[1], &idx->trailer_offset) < 0)
		return bad(c, e, "bad trailer offset");
	if (key_line(c, "image-size", e) < 0 ||
	    parse_hex16(c->l.f[1], c->l.fl[1], &idx->image_size) < 0)
		return bad(c, e, "bad image size");
	if (idx->data_offset % MB_IMAGE_BLOCK || idx->trailer_offset % MB_IMAGE_BLOCK ||
	    idx->trailer_offset < idx->data_offset ||
	    idx->image_size < idx->trailer_offset + 3 * MB_IMAGE_BLOCK ||
	    idx->image_size % m->record_size)
		return bad(c, e, "inconsistent offsets");
	return 0;
}

static int parse_entry(struct cursor *c, struct mb_entry *t, struct mb_error *e)
{
	uint64_t rdev;

	if (next_line(c, e) < 0)
		return -1;
	if (c->l.n != 14 || !field_is(c, 0, "e") || c->l.fl[2] != 1)
		return bad(c, e, "bad entry line");
	t->type = c->l.f[2][0];
	if (!mbi_typeflag(t->type))
		return bad(c, e, "bad entry type");
	if (parse_hex16(c->l.f[1], c->l.fl[1], &t->image_offset) < 0 ||
	    mbi_parse_u64(c->l.f[3], c->l.fl[3], &t->ino) < 0 ||
	    mbi_parse_u64(c->l.f[4], c->l.fl[4], &t->size) < 0 ||
	    mbi_parse_u64(c->l.f[5], c->l.fl[5], &t->seg_offset) < 0 ||
	    mbi_parse_u64(c->l.f[6], c->l.fl[6], &t->seg_length) < 0 ||
	    parse_mode(c->l.f[7], c->l.fl[7], &t->mode) < 0 ||
	    parse_u32(c->l.f[8], c->l.fl[8], &t->uid) < 0 ||
	    parse_u32(c->l.f[9], c->l.fl[9], &t->gid) < 0 ||
	    mbi_parse_u64(c->l.f[10], c->l.fl[10], &rdev) < 0 ||
	    mbi_parse_time(c->l.f[11], c->l.fl[11], &t->mtime_sec, &t->mtime_nsec) < 0)
		return bad(c, e, "bad number in entry");
	if (mb_entry_set_rdev(t, rdev) < 0)
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to read the index of '%s'", c->name);
	if (mbi_unescape(c->l.f[12], c->l.fl[12], MBI_DASH_NULL, &t->path) < 0 || !t->path)
		return bad(c, e, "bad path in entry");
	if (mbi_unescape_link(c->l.f[13], c->l.fl[13], t) < 0)
		return bad(c, e, "bad link target in entry");
	if ((t->type == MB_T_SYMLINK || t->type == MB_T_HARDLINK) != !!mb_entry_link(t))
		return bad(c, e, "link target does not match the entry type");
	if (t->seg_offset > t->size || t->seg_length > t->size - t->seg_offset ||
	    (t->type != MB_T_FILE && t->seg_length))
		return bad(c, e, "bad segment");
	return 0;
}

/* Offsets strictly increasing, block aligned, between data and trailer. */
static int check_offset(struct cursor *c, const struct mb_index *idx, size_t i,
			struct mb_error *e)
{
	uint64_t off = idx->v[i].ent.image_offset;

	if (off % MB_IMAGE_BLOCK || off >= idx->trailer_offset ||
	    (i == 0 ? off != idx->data_offset : off <= idx->v[i - 1].ent.image_offset))
		return bad(c, e, "entry offset out of order");
	return 0;
}

static int add_inode(struct mb_index *idx, size_t *cap, uint64_t ino)
{
	if (idx->n_inodes == *cap) {
		size_t nc = *cap ? *cap * 2 : 1024;
		uint64_t *v = realloc(idx->inodes, nc * sizeof(*v));

		if (!v)
			return -1;
		idx->inodes = v;
		*cap = nc;
	}
	idx->inodes[idx->n_inodes++] = ino;
	return 0;
}

static int parse_peer(struct cursor *c, struct mb_image_peer *p,
		      const struct mb_image_meta *m, struct mb_error *e)
{
	if (c->l.n != 8 || !field_is(c, 0, "p") || c->l.fl[3] != 1 ||
	    parse_u32(c->l.f[1], c->l.fl[1], &p->device) < 0 ||
	    parse_u32(c->l.f[2], c->l.fl[2], &p->part) < 0 ||
	    mbi_parse_u64(c->l.f[4], c->l.fl[4], &p->size) < 0 ||
	    mbi_parse_u64(c->l.f[5], c->l.fl[5], &p->seg_offset) < 0 ||
	    mbi_parse_u64(c->l.f[6], c->l.fl[6], &p->seg_length) < 0 ||
	    !mbi_typeflag(c->l.f[3][0]) || p->device < 1 || p->device > m->device_count ||
	    p->part < 1 || p->seg_offset > p->size ||
	    p->seg_length > p->size - p->seg_offset ||
	    mbi_unescape(c->l.f[7], c->l.fl[7], MBI_DASH_NULL, &p->path) < 0 || !p->path)
		return bad(c, e, "bad set peer line");
	p->type = c->l.f[3][0];
	return 0;
}

/* "set <part> <rescues>", then "p" lines up to "end". */
static int parse_set(struct cursor *c, struct mb_index *idx, struct mb_error *e)
{
	struct mb_image_meta *m = &idx->meta;
	struct mb_image_peer *v = NULL;
	size_t n = 0, cap = 0;

	if (c->l.n != 3 || parse_u32(c->l.f[1], c->l.fl[1], &m->part) < 0 || m->part < 1 ||
	    parse_hex16(c->l.f[2], c->l.fl[2], &m->rescues) < 0)
		return bad(c, e, "bad set line");
	for (;;) {
		if (next_line(c, e) < 0)
			return -1;
		if (c->l.n == 1 && field_is(c, 0, "end"))
			return 0;
		if (n == cap) {
			struct mb_image_peer *nv = realloc(v, (cap = cap ? 2 * cap : 64) * sizeof(*v));

			if (!nv)
				return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to load the index");
			m->peers = v = nv;
		}
		memset(&v[n], 0, sizeof(v[n]));
		if (parse_peer(c, &v[n], m, e) < 0)
			return -1;
		m->n_peers = ++n;
	}
}

/* "i <word> <bits>" lines up to "end"; the set must be the entries' inodes. */
static int parse_bitmap(struct cursor *c, struct mb_index *idx, struct mb_error *e)
{
	size_t cap = 0, k;
	uint64_t prev = 0, word, bits, *want;
	bool first = true;
	int rc;

	for (;;) {
		if (next_line(c, e) < 0)
			return -1;
		if (c->l.n == 1 && field_is(c, 0, "end"))
			break;
		if (field_is(c, 0, "set")) {
			if (parse_set(c, idx, e) < 0)
				return -1;
			break;
		}
		if (c->l.n != 3 || !field_is(c, 0, "i") ||
		    parse_hex16(c->l.f[1], c->l.fl[1], &word) < 0 ||
		    parse_hex16(c->l.f[2], c->l.fl[2], &bits) < 0 || bits == 0 ||
		    word > UINT64_MAX / 64 || (!first && word <= prev))
			return bad(c, e, "bad inode bitmap line");
		for (int j = 0; j < 64; j++)
			if (bits >> j & 1 && add_inode(idx, &cap, word * 64 + (uint64_t)j) < 0)
				return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to load the index");
		prev = word;
		first = false;
	}
	if (c->p != c->end)
		return bad(c, e, "text after the end line");
	{
		struct mb_entry **ptr = malloc((idx->n ? idx->n : 1) * sizeof(*ptr));

		if (!ptr)
			return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to load the index");
		for (size_t i = 0; i < idx->n; i++)
			ptr[i] = &idx->v[i].ent;
		want = entry_inodes(ptr, idx->n, &k);
		free(ptr);
	}
	/* (no memcmp when k is 0: idx->inodes is NULL then, which memcmp
	 * may not be given even for 0 bytes; found by tests/fuzz/fuzz_index) */
	rc = !want ? mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to load the index") :
	     (k != idx->n_inodes || (k && memcmp(want, idx->inodes, k * sizeof(*want)))) ?
	     bad(c, e, "inode bitmap does not match the entries") : 0;
	free(want);
	return rc;
}

int mbi_index_parse(const char *text, size_t len, struct mb_index *idx,
		    const char *name, struct mb_error *e)
{
	struct cursor c = { .text = text, .p = text, .end = text + len,
			    .base = MB_IMAGE_BLOCK + (mbi_pax_reclen(strlen(MBI_INDEX_KEY), len) - len - 1),
			    .name = name, .what = "index" };
	uint64_t n;

	memset(idx, 0, sizeof(*idx));
	mb_hash_buf_hex(text, len, idx->index_hash);
	if (parse_head(&c, idx, &n, e) < 0)
		goto fail;
	idx->v = calloc(n ? n : 1, sizeof(*idx->v));
	if (!idx->v) {
		mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to load the index of '%s'", name);
		goto fail;
	}
	for (idx->n = 0; idx->n < n; idx->n++) {
		if (parse_entry(&c, &idx->v[idx->n].ent, e) < 0) {
			mb_entry_free(&idx->v[idx->n].ent);
			goto fail;
		}
		if (check_offset(&c, idx, idx->n, e) < 0) {
			idx->n++;
			goto fail;
		}
	}
	if (parse_bitmap(&c, idx, e) < 0)
		goto fail;
	return 0;
fail:
	mbi_index_free(idx);
	return -1;
}

void mbi_index_free(struct mb_index *idx)
{
	struct mb_image_peer *peers = (struct mb_image_peer *)idx->meta.peers;

	for (size_t i = 0; i < idx->meta.n_peers; i++)
		free(peers[i].path);
	free(peers);
	for (size_t i = 0; i < idx->n; i++)
		mb_entry_free(&idx->v[i].ent);
	free(idx->v);
	free(idx->inodes);
	memset(idx, 0, sizeof(*idx));
}

/* ---- trailer ---- */

int mbi_trailer_render(const struct mb_image_layout *lay, const char *index_hash,
		       const mb_hash_raw *hashes, struct mbi_text *t,
		       struct mb_error *e)
{
	static const char zero[MB_HASH_HEX_LEN + 1] = "00000000000000000000000000000000";
	char self[MB_HASH_HEX_LEN + 1], fh[MB_HASH_HEX_LEN + 1];
	uint64_t files = 0, bytes = 0;
	struct ibuf *b = &t->b;

	if (ibuf_printf(b, e, "mbackup-trailer 1\nbackup-id ") < 0 ||
	    mbi_escape(b, lay->meta.backup_id, e) < 0 ||
	    ibuf_printf(b, e, "\nindex-hash %s\n", index_hash ? index_hash : zero) < 0)
		return -1;
	for (size_t i = 0; i < lay->n_entries; i++) {
		const struct mb_entry *ent = lay->entries[i];

		if (ent->type != MB_T_FILE)
			continue;
		if (hashes)
			mb_hash_raw_hex(hashes[files], fh);
		if (ibuf_printf(b, e, "f %016" PRIx64 " %s\n", ent->image_offset,
				hashes ? fh : zero) < 0 || mbi_text_step(t, e) < 0)
			return -1;
		files++;
		bytes += ent->seg_length;
	}
	if (ibuf_printf(b, e, "files %" PRIu64 "\nfile-bytes %" PRIu64 "\n", files, bytes) < 0 ||
	    mbi_text_flush(t, e) < 0)
		return -1;
	mb_hash_final_hex(&t->h, self);	/* of all the bytes before "self" */
	if (ibuf_printf(b, e, "self %s\n", self) < 0)
		return -1;
	return mbi_text_flush(t, e);
}

static int parse_hash(const char *f, size_t len, char out[MB_HASH_HEX_LEN + 1])
{
	if (len != MB_HASH_HEX_LEN)
		return -1;
	for (size_t i = 0; i < len; i++)
		if (!((f[i] >= '0' && f[i] <= '9') || (f[i] >= 'a' && f[i] <= 'f')))
			return -1;
	memcpy(out, f, len);
	out[len] = 0;
	return 0;
}

static int parse_trailer_files(struct cursor *c, struct mb_trailer *t,
			       struct mb_error *e)
{
	size_t cap = 0;

	for (;;) {
		struct mb_trailer_entry *te;

		if (next_line(c, e) < 0)
			return -1;
		if (!field_is(c, 0, "f"))
			return 0;
		if (t->n == cap) {
			size_t nc = cap ? cap * 2 : 256;
			struct mb_trailer_entry *v = realloc(t->v, nc * sizeof(*v));

			if (!v)
				return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to load the trailer");
			t->v = v;
			cap = nc;
		}
		te = &t->v[t->n];
		if (c->l.n != 3 || parse_hex16(c->l.f[1], c->l.fl[1], &te->offset) < 0 ||
		    parse_hash(c->l.f[2], c->l.fl[2], te->hash) < 0 ||
		    (t->n && te->offset <= t->v[t->n - 1].offset))
			return bad(c, e, "bad file checksum line");
		t->n++;
	}
}

/* at: image offset of text[0]. */
int mbi_trailer_parse(const char *text, size_t len, struct mb_trailer *t,
		      uint64_t at, const char *name, struct mb_error *e)
{
	struct cursor c = { .text = text, .p = text, .end = text + len, .base = at,
			    .name = name, .what = "trailer" };
	char self[MB_HASH_HEX_LEN + 1], got[MB_HASH_HEX_LEN + 1];
	uint64_t files;

	memset(t, 0, sizeof(*t));
	if (key_line(&c, "mbackup-trailer", e) < 0 || !field_is(&c, 1, "1") ||
	    key_line(&c, "backup-id", e) < 0 ||
	    parse_text_field(&c, t->backup_id, sizeof(t->backup_id), e) < 0 ||
	    key_line(&c, "index-hash", e) < 0 ||
	    parse_hash(c.l.f[1], c.l.fl[1], t->index_hash) < 0 ||
	    parse_trailer_files(&c, t, e) < 0)
		goto fail;
	if (c.l.n != 2 || !field_is(&c, 0, "files") ||
	    mbi_parse_u64(c.l.f[1], c.l.fl[1], &files) < 0 || files != t->n ||
	    key_line(&c, "file-bytes", e) < 0 ||
	    mbi_parse_u64(c.l.f[1], c.l.fl[1], &t->file_bytes) < 0) {
		bad(&c, e, "bad totals");
		goto fail;
	}
	mb_hash_buf_hex(text, (size_t)(c.p - text), got);
	if (key_line(&c, "self", e) < 0 || parse_hash(c.l.f[1], c.l.fl[1], self) < 0 ||
	    c.p != c.end) {
		bad(&c, e, "bad self checksum line");
		goto fail;
	}
	if (strcmp(self, got) != 0) {
		mb_fail(e, MB_ERR_CORRUPT, 0, "trailer checksum mismatch in image '%s' "
			"(trailer at offset %" PRIu64 ")", name,
			at - (MB_IMAGE_BLOCK + mbi_pax_reclen(strlen(MBI_TRAILER_KEY), len) - len - 1));
		goto fail;
	}
	return 0;
fail:
	bad(&c, e, "malformed");
	mbi_trailer_free(t);
	return -1;
}

void mbi_trailer_free(struct mb_trailer *t)
{
	free(t->v);
	memset(t, 0, sizeof(*t));
}
