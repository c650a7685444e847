/*
 * Full sequential check of an image: every header, every member at its
 * indexed offset, every file's data against the trailer, the end blocks.
 * File checksums are compared once the trailer (at the end) is read, in
 * image order.  Like pg_verifybackup it goes on past a damaged file and
 * reports each one (a damaged header too, where the image can seek to the
 * next member); the first damaged file is the one the error names.
 */
#include "image/internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define VBUF_SIZE (1u << 20)

struct vstate {
	char (*hash)[MB_HASH_HEX_LEN + 1];	/* per file member */
	size_t *entry;				/* its index entry */
	struct mb_error **bad;			/* its header's damage, or NULL */
	size_t n;
	unsigned char *buf;
	mb_verify_damage_fn fn;
	void *arg;
	size_t damaged;
	struct mb_error first;			/* the first damaged file's error */
};

/* One damaged file: reported; the first is the error in the end. */
static void damage(struct vstate *v, const struct mb_entry *ent, const struct mb_error *why)
{
	if (v->fn)
		v->fn(v->arg, ent->path, ent->image_offset, why);
	if (v->damaged++ == 0)
		v->first = *why;
}

static int read_member_data(struct mb_image_reader *r, struct vstate *v,
			    size_t i, struct mb_error *e)
{
	ssize_t got;

	while ((got = mb_image_read(r, v->buf, VBUF_SIZE, e)) > 0)
		;
	if (got < 0)
		return -1;
	memcpy(v->hash[v->n], mb_image_data_hash(r), MB_HASH_HEX_LEN + 1);
	v->bad[v->n] = NULL;
	v->entry[v->n++] = i;
	return 0;
}

/* Damaged headers alone, when no trailer tells the files' checksums. */
static void report_headers(const struct mb_index *idx, struct vstate *v)
{
	for (size_t k = 0; k < v->n; k++)
		if (v->bad[k])
			damage(v, &idx->v[v->entry[k]].ent, v->bad[k]);
}

static int compare_hashes(struct mb_image_reader *r, struct vstate *v,
			  struct mb_error *e)
{
	const struct mb_index *idx = mb_image_index(r);
	const struct mb_trailer *t;
	struct mb_error why;

	if (!(t = mb_image_trailer(r, e)))
		return report_headers(idx, v), -1;
	for (size_t k = 0; k < v->n; k++) {	/* in image order */
		const struct mb_entry *ent = &idx->v[v->entry[k]].ent;
		const char *want = mb_trailer_hash_at(t, ent->image_offset);
		char *p;

		if (v->bad[k]) {
			damage(v, ent, v->bad[k]);
			continue;
		}
		if (want && strcmp(v->hash[k], want) == 0)
			continue;
		p = mbi_printable(ent->path);
		memset(&why, 0, sizeof(why));
		mb_fail(&why, MB_ERR_CORRUPT, 0, "checksum mismatch in '%s' (member at "
			"offset %" PRIu64 ")", p ? p : "?", ent->image_offset);
		mb_hint(&why, "the image changed after it was written: restore from another copy");
		free(p);
		damage(v, ent, &why);
	}
	return 0;
}

/* A member whose header is damaged: reported, and the walk goes on at the
 * next member where the image can seek there (else the error stands). */
static int skip_damaged(struct mb_image_reader *r, struct vstate *v, size_t i,
			struct mb_error *e)
{
	const struct mb_index *idx = mb_image_index(r);
	struct mb_error ignore = { 0 }, *why;

	if (e->code != MB_ERR_CORRUPT || i >= idx->n)
		return -1;
	if (i + 1 < idx->n ? mb_image_seek(r, i + 1, &ignore) < 0 :
	    !mb_image_trailer(r, &ignore))
		return -1;
	if (!(why = malloc(sizeof(*why))))
		return -1;
	*why = *e;	/* e holds this one only: the first damage is kept apart */
	mb_error_clear(e);
	v->bad[v->n] = why;	/* reported in image order with the checksums */
	v->entry[v->n++] = i;
	return 0;
}

/* The walk ends at entry i with e (a cut, say): the damaged headers met
 * before are reported, and so is this one when something was damaged
 * before it (the first damage is the error, this one is listed). */
static int stop(const struct mb_index *idx, struct vstate *v, size_t i,
		const struct mb_error *e)
{
	report_headers(idx, v);
	if (v->damaged && i < idx->n)
		damage(v, &idx->v[i].ent, e);
	return -1;
}

static int walk(struct mb_image_reader *r, struct vstate *v,
		struct mb_image_stats *st, struct mb_error *e)
{
	const struct mb_index *idx = mb_image_index(r);
	struct mb_member m;
	size_t i = 0;
	int rc;

	for (;;) {
		if ((rc = mb_image_next(r, &m, e)) < 0) {
			if (skip_damaged(r, v, i, e) < 0)
				return stop(idx, v, i, e);
			if (++i == idx->n)
				return 0;	/* the trailer is read by seeking to it */
			continue;
		}
		if (rc == 0)
			return 0;
		if (idx->v[i].ent.type == MB_T_FILE &&
		    read_member_data(r, v, i, e) < 0) {
			mb_member_free(&m);
			return stop(idx, v, i, e);
		}
		st->file_bytes += m.size;
		st->files += idx->v[i].ent.type == MB_T_FILE;
		st->members++;
		mb_member_free(&m);
		i++;
	}
}

int mb_image_verify_all(struct mb_image_reader *r, bool followed,
			mb_verify_damage_fn fn, void *arg, struct mb_image_stats *st,
			struct mb_error *e)
{
	struct mb_image_stats local = { 0 };
	struct vstate v = { .fn = fn, .arg = arg };
	size_t n = mb_image_index(r)->n;
	int rc = -1;

	v.hash = malloc((n + 1) * sizeof(*v.hash));
	v.entry = malloc((n + 1) * sizeof(*v.entry));
	v.bad = calloc(n + 1, sizeof(*v.bad));
	v.buf = malloc(VBUF_SIZE);
	if (!v.hash || !v.entry || !v.bad || !v.buf) {
		mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to verify image '%s'",
			mbi_reader_name(r));
		goto out;
	}
	if (walk(r, &v, &local, e) < 0 ||
	    compare_hashes(r, &v, e) < 0 || mbi_check_end(r, followed, e) < 0 ||
	    v.damaged)
		goto out;
	local.bytes = mb_image_index(r)->image_size;
	if (st)
		*st = local;
	rc = 0;
out:
	if (v.damaged) {	/* the first damaged file is the error */
		mb_error_clear(e);
		*e = v.first;
	}
	if (v.damaged > 1)
		mb_hint(e, "%zu damaged files in image '%s'%s", v.damaged, mbi_reader_name(r),
			fn ? ", each listed" : "");
	free(v.hash);
	free(v.entry);
	for (size_t k = 0; v.bad && k < v.n; k++)
		free(v.bad[k]);
	free(v.bad);
	free(v.buf);
	return rc;
}

int mb_image_verify_reader(struct mb_image_reader *r, bool followed,
			   struct mb_image_stats *st, struct mb_error *e)
{
	return mb_image_verify_all(r, followed, NULL, NULL, st, e);
}

int mb_image_verify(const struct mb_image_input *in, struct mb_image_stats *st,
		    struct mb_error *e)
{
	struct mb_image_reader *r = NULL;
	int rc = -1;

	if (mb_image_open(&r, in, e) == 0)
		rc = mb_image_verify_reader(r, false, st, e);
	mb_image_close(r);
	return rc;
}
