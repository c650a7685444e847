/*
 * The layout: every member's byte offset, computed before any data is
 * written, from the lengths of the very header bytes the writer will emit
 * (mbi_member_headers) and the data sizes.  The index carries the offsets
 * as fixed-width hex, so it is counted once with zeros to learn its
 * length; the writer renders it with the real offsets (image/text.c: the
 * text is never held whole) and checks that length.
 */
#include "image/internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* Checks an entry and makes a whole file's segment explicit. */
static int check_entry(struct mb_entry *t, size_t i, struct mb_error *e)
{
	bool needs_link = t->type == MB_T_SYMLINK || t->type == MB_T_HARDLINK;

	if (!t->path || !t->path[0])
		return mb_fail(e, MB_ERR_INTERNAL, 0, "entry %zu has no path", i);
	if (!mbi_typeflag(t->type))
		return mb_fail(e, MB_ERR_INTERNAL, 0, "entry '%s' has unknown type %d",
			       t->path, t->type);
	if (needs_link != (mb_entry_link(t) != NULL) ||
	    (mb_entry_link(t) && !mb_entry_link(t)[0]))
		return mb_fail(e, MB_ERR_INTERNAL, 0, "entry '%s' has a bad link target",
			       t->path);
	if (t->type != MB_T_FILE) {
		if (t->seg_offset || t->seg_length)
			return mb_fail(e, MB_ERR_INTERNAL, 0,
				       "entry '%s' is not a file but has a segment", t->path);
		return 0;
	}
	if (t->seg_offset == 0 && t->seg_length == 0)
		t->seg_length = t->size;
	if (t->seg_offset > t->size || t->seg_length > t->size - t->seg_offset)
		return mb_fail(e, MB_ERR_INTERNAL, 0, "segment %" PRIu64 "+%" PRIu64
			       " lies outside '%s' (%" PRIu64 " bytes)", t->seg_offset,
			       t->seg_length, t->path, t->size);
	return 0;
}

static int add_off(uint64_t *cur, uint64_t n, struct mb_error *e)
{
	if (n > UINT64_MAX / 2 || *cur > UINT64_MAX / 2)
		return mb_fail(e, MB_ERR_INTERNAL, 0, "image offsets overflow");
	*cur += n;
	return 0;
}

/* Assigns each entry's image_offset from data_offset on; returns the
 * trailer offset in *end. */
static int place_members(struct mb_image_layout *lay, uint64_t *end,
			 struct mb_error *e)
{
	struct ibuf hb = { 0 };
	uint64_t cur = lay->data_offset;
	int rc = -1;

	for (size_t i = 0; i < lay->n_entries; i++) {
		struct mb_entry *t = lay->entries[i];

		t->image_offset = cur;
		hb.len = 0;
		if (mbi_member_headers(t, &hb, e) < 0 ||
		    add_off(&cur, hb.len, e) < 0 ||
		    add_off(&cur, mbi_pad(mbi_member_data_len(t)), e) < 0)
			goto out;
	}
	*end = cur;
	rc = 0;
out:
	ibuf_free(&hb);
	return rc;
}

static int size_image(struct mb_image_layout *lay, struct mb_error *e)
{
	struct mbi_text tt;
	uint64_t end, rs = lay->meta.record_size;
	int rc = -1;

	mbi_text_init(&tt, NULL, NULL);
	if (mbi_trailer_render(lay, NULL, NULL, &tt, e) < 0)
		goto out;
	lay->trailer_len = tt.len;
	end = lay->trailer_offset;
	if (add_off(&end, mbi_global_member_len(MBI_TRAILER_KEY, tt.len), e) < 0 ||
	    add_off(&end, 2 * MB_IMAGE_BLOCK + rs - 1, e) < 0)
		goto out;
	lay->image_size = end / rs * rs;
	rc = 0;
out:
	mbi_text_free(&tt);
	return rc;
}

int mb_image_layout(struct mb_entry **entries, size_t n,
		    const struct mb_image_meta *meta,
		    struct mb_image_layout *out, struct mb_error *e)
{
	struct mbi_text it;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	out->meta = *meta;
	if (!out->meta.record_size)
		out->meta.record_size = MB_IMAGE_DEFAULT_RECORD;
	if (!out->meta.device_count)
		out->meta.device_index = out->meta.device_count = 1;
	if (out->meta.record_size % MB_IMAGE_BLOCK)
		return mb_fail(e, MB_ERR_INTERNAL, 0, "record size %" PRIu32
			       " is not a multiple of %d", out->meta.record_size,
			       MB_IMAGE_BLOCK);
	out->entries = entries;
	out->n_entries = n;
	for (size_t i = 0; i < n; i++) {
		entries[i]->image_offset = 0;
		if (check_entry(entries[i], i, e) < 0)
			return -1;
	}
	/* Offsets are fixed width: the zero rendering has the final length. */
	mbi_text_init(&it, NULL, NULL);
	if (mbi_index_render(out, &it, e) < 0)
		goto out;
	out->index_len = it.len;
	out->data_offset = mbi_global_member_len(MBI_INDEX_KEY, out->index_len);
	if (place_members(out, &out->trailer_offset, e) < 0 || size_image(out, e) < 0)
		goto out;
	rc = 0;
out:
	mbi_text_free(&it);
	if (rc < 0)
		out->image_size = 0;	/* not laid out */
	return rc;
}

void mb_image_layout_free(struct mb_image_layout *lay)
{
	memset(lay, 0, sizeof(*lay));
}
