/*
 * Full sequential check of an image: every header, every member at its
 * indexed offset, every file's data against the trailer, the end blocks.
 * File checksums are compared once the trailer (at the end) is read, in
 * image order, so the first damaged file is the one named.
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
	size_t n;
	unsigned char *buf;
};

static int read_member_data(struct mb_image_reader *r, struct vstate *v,
			    size_t i, struct mb_error *e)
{
	ssize_t got;

	while ((got = mb_image_read(r, v->buf, VBUF_SIZE, e)) > 0)
		;
	if (got < 0)
		return -1;
	memcpy(v->hash[v->n], mb_image_data_hash(r), MB_HASH_HEX_LEN + 1);
	v->entry[v->n++] = i;
	return 0;
}

static int compare_hashes(struct mb_image_reader *r, const struct vstate *v,
			  struct mb_error *e)
{
	const struct mb_trailer *t = mb_image_trailer(r, e);
	const struct mb_index *idx = mb_image_index(r);

	if (!t)
		return -1;
	for (size_t k = 0; k < v->n; k++) {
		const struct mb_entry *ent = &idx->v[v->entry[k]].ent;
		char *p;

		if (strcmp(v->hash[k], t->v[k].hash) == 0)
			continue;
		p = mbi_printable(ent->path);
		mb_fail(e, MB_ERR_CORRUPT, 0, "checksum mismatch in '%s' (member at "
			"offset %" PRIu64 ")", p ? p : "?", ent->image_offset);
		free(p);
		return -1;
	}
	return 0;
}

static int walk(struct mb_image_reader *r, struct vstate *v,
		struct mb_image_stats *st, struct mb_error *e)
{
	const struct mb_index *idx = mb_image_index(r);
	struct mb_member m;
	size_t i = 0;
	int rc;

	while ((rc = mb_image_next(r, &m, e)) == 1) {
		if (idx->v[i].ent.type == MB_T_FILE &&
		    read_member_data(r, v, i, e) < 0) {
			mb_member_free(&m);
			return -1;
		}
		st->file_bytes += m.size;
		st->files += idx->v[i].ent.type == MB_T_FILE;
		st->members++;
		mb_member_free(&m);
		i++;
	}
	return rc;
}

int mb_image_verify_reader(struct mb_image_reader *r, bool followed,
			   struct mb_image_stats *st, struct mb_error *e)
{
	struct mb_image_stats local = { 0 };
	struct vstate v = { 0 };
	size_t n = mb_image_index(r)->n;
	int rc = -1;

	v.hash = malloc((n + 1) * sizeof(*v.hash));
	v.entry = malloc((n + 1) * sizeof(*v.entry));
	v.buf = malloc(VBUF_SIZE);
	if (!v.hash || !v.entry || !v.buf) {
		mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to verify image '%s'",
			mbi_reader_name(r));
		goto out;
	}
	if (walk(r, &v, &local, e) < 0 || compare_hashes(r, &v, e) < 0 ||
	    mbi_check_end(r, followed, e) < 0)
		goto out;
	local.bytes = mb_image_index(r)->image_size;
	if (st)
		*st = local;
	rc = 0;
out:
	free(v.hash);
	free(v.entry);
	free(v.buf);
	return rc;
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
