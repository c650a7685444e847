/*
 * Reading an image from tape: the reader's input (image.h) serves bytes out
 * of whole records read one by one (variable-block reads, so any record
 * size works), follows an image onto the next volume when its part ends
 * with an end-of-volume record, and positions by record for single-file
 * restores: MTSEEK where the drive has it, else rewind + MTFSF to the
 * image's file + MTFSR to the record.  The end of an image is the format's
 * business (the index gives its size): a filemark or the end of data only
 * ever means "look for an end-of-volume record" here.
 */
#include "plugins/media/tape.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mtio.h>
#include <unistd.h>

#include "common/log.h"
#include "image/image.h"
#include "plugins/media/drivers.h"

struct tape_in {
	char *dev;
	int fd;
	uint32_t bs;
	char label[64];
	uint32_t loaded;		/* volume in the drive */
	char image_id[96];		/* "label:volume:file" where it starts */
	struct mb_media_part part[MB_TAPE_MAX_VOLUMES];
	size_t n_parts;
	bool last_known;		/* part[n_parts-1] is the image's last */
	size_t cur;			/* part being read */
	unsigned char *buf;
	size_t len, off;
	uint64_t next_pos;		/* image byte of the next record on tape */
	uint64_t records;
	long base_blk;			/* MTIOCPOS at the image's start, -1 */
	bool scanning;			/* no volume changes while looking */
	struct mb_media_params params;	/* as given at open (strings borrowed) */
};

/* Reads the label at BOT into text. */
static int read_label(struct tape_in *t, char *text, size_t cap, struct mb_error *e)
{
	ssize_t n;

	if (mbt_op(t->fd, t->dev, MTREW, 1, e) < 0 || mbt_set_block(t->fd, t->dev, 0, e) < 0)
		return -1;
	n = mbt_read_record(t->fd, t->dev, t->buf, MB_TAPE_MAX_BLOCK, e);
	if (n == -1)
		return -1;
	if (n == -2)
		return mb_fail(e, MB_ERR_MEDIA, 0, "tape in '%s' is blank", t->dev);
	if (!mbt_parse_record(t->buf, (size_t)n, MBT_LABEL_NAME, text, cap)) {
		mb_fail(e, MB_ERR_MEDIA, 0, "tape in '%s' is not an mbackup volume", t->dev);
		mb_hint(e, "load the tape the backup was written to");
		return -1;
	}
	return 0;
}

/* Loads volume vol of the image's set (the hook) and checks its label. */
static int load_volume(struct tape_in *t, uint32_t vol, struct mb_error *e)
{
	char text[512], label[64] = "", v[32] = "0";

	if (t->loaded == vol)
		return 0;
	close(t->fd);
	t->fd = -1;
	if (mbt_volume_change(t->params.volume_change, t->dev, vol, e) < 0 ||
	    mbt_open_dev(t->dev, false, &t->fd, e) < 0 || read_label(t, text, sizeof(text), e) < 0)
		return -1;
	mbt_kv(text, "label", label, sizeof(label));
	mbt_kv(text, "volume", v, sizeof(v));
	if (strcmp(label, t->label) != 0 || strtoul(v, NULL, 10) != vol) {
		mb_fail(e, MB_ERR_MEDIA, 0, "tape in '%s' is volume %s of '%s', not volume %u "
			"of '%s'", t->dev, v, label, vol, t->label);
		mb_hint(e, "load volume %u of '%s'", vol, t->label);
		return -1;
	}
	t->loaded = vol;
	return 0;
}

/* After the image's part on this volume: an end-of-volume record of this
 * image adds the next part.  Returns 1 if it did, 0 if the part is the
 * last, -1 on error.  The tape is just past the part's filemark. */
static int probe_eov(struct tape_in *t, struct mb_error *e)
{
	char text[512], img[96] = "", at[32] = "";
	struct mb_media_part *p;
	ssize_t n;

	t->len = t->off = 0;		/* the buffer no longer holds a record of the image */
	n = mbt_read_record(t->fd, t->dev, t->buf, MB_TAPE_MAX_BLOCK, e);
	if (n == -1)
		return -1;
	if (n <= 0 || !mbt_parse_record(t->buf, (size_t)n, MBT_EOV_NAME, text, sizeof(text)) ||
	    !mbt_kv(text, "image", img, sizeof(img)) || strcmp(img, t->image_id) != 0 ||
	    !mbt_kv(text, "image_byte", at, sizeof(at))) {
		t->last_known = true;
		return 0;
	}
	if (t->n_parts == MB_TAPE_MAX_VOLUMES)
		return mb_fail(e, MB_ERR_CORRUPT, 0, "image on '%s' spans too many volumes", t->dev);
	p = &t->part[t->n_parts++];
	*p = (struct mb_media_part){ .volume = t->part[t->n_parts - 2].volume + 1, .file_no = 1,
				    .first_byte = strtoull(at, NULL, 10) };
	snprintf(p->label, sizeof(p->label), "%s", t->label);
	return 1;
}

/* Puts the drive at record rec (counted from the part's start) of part i. */
static int position(struct tape_in *t, size_t i, uint64_t rec, struct mb_error *e)
{
	const struct mb_media_part *p = &t->part[i];
	struct mtop seek = { .mt_op = MTSEEK, .mt_count = (int)(t->base_blk + (long)rec) };

	if (load_volume(t, p->volume, e) < 0)
		return -1;
	t->cur = i;
	t->len = t->off = 0;
	t->next_pos = p->first_byte + rec * t->bs;
	if (i == 0 && t->base_blk >= 0 && ioctl(t->fd, MTIOCTOP, &seek) == 0)
		return 0;
	if (mbt_op(t->fd, t->dev, MTREW, 1, e) < 0 ||
	    mbt_op(t->fd, t->dev, MTFSF, (int)p->file_no, e) < 0)
		return -1;
	return rec ? mbt_op(t->fd, t->dev, MTFSR, (int)rec, e) : 0;
}

/* The part after cur, when reading on in order. */
static int next_part(struct tape_in *t, struct mb_error *e)
{
	int rc;

	if (t->cur + 1 < t->n_parts)
		return position(t, t->cur + 1, 0, e) < 0 ? -1 : 1;
	if (t->last_known || t->scanning)
		return 0;
	rc = probe_eov(t, e);
	if (rc <= 0)
		return rc;
	return position(t, t->cur + 1, 0, e) < 0 ? -1 : 1;
}

static ssize_t tin_read(void *ctx, void *buf, size_t n, struct mb_error *e)
{
	struct tape_in *t = ctx;
	ssize_t got;

	while (t->off == t->len) {
		got = mbt_read_record(t->fd, t->dev, t->buf, t->bs, e);
		if (got == -1)
			return -1;
		if (got > 0 && (size_t)got != t->bs)
			return mb_fail(e, MB_ERR_CORRUPT, 0, "record of %zd bytes on tape '%s' "
				       "at image byte %llu, expected %u", got, t->dev,
				       (unsigned long long)t->next_pos, t->bs);
		if (got > 0) {
			t->records++;
			t->len = (size_t)got;
			t->off = 0;
			t->next_pos += t->bs;
			break;
		}
		got = next_part(t, e);
		if (got <= 0)
			return got;
	}
	if (n > t->len - t->off)
		n = t->len - t->off;
	memcpy(buf, t->buf + t->off, n);
	t->off += n;
	return (ssize_t)n;
}

static int tin_seek(void *ctx, uint64_t off, struct mb_error *e)
{
	struct tape_in *t = ctx;
	uint64_t want = off - off % t->bs;
	size_t i = 0;
	ssize_t got;

	if (t->len && off < t->next_pos && off >= t->next_pos - t->len) {
		t->off = (size_t)(off - (t->next_pos - t->len));	/* in the record read */
		return 0;
	}
	for (;;) {
		while (i + 1 < t->n_parts && t->part[i + 1].first_byte <= want)
			i++;
		if (i + 1 < t->n_parts || t->last_known)
			break;
		/* Where does the last known part end?  Its end-of-volume mark. */
		if (position(t, i, 0, e) < 0 || mbt_op(t->fd, t->dev, MTFSF, 1, e) < 0 ||
		    probe_eov(t, e) < 0)
			return -1;
	}
	if (position(t, i, (want - t->part[i].first_byte) / t->bs, e) < 0 ||
	    (got = tin_read(t, t->buf, 0, e)) < 0)
		return -1;
	if (t->len - t->off < off - want)
		return mb_fail(e, MB_ERR_TRUNCATED, 0, "image on tape '%s' ends before byte %llu",
			       t->dev, (unsigned long long)off);
	t->off += (size_t)(off - want);
	return 0;
}

/* The backup id in the index of the image starting at file f (the tape is
 * at the file's start), read through the zstd filter when the image is
 * compressed; "" for a file that is not an image. */
static int image_id_at(struct tape_in *t, uint32_t f, char *id, size_t cap,
		       struct mb_error *e)
{
	struct mb_image_input in = { tin_read, NULL, t, t->dev };
	struct mb_image_reader *r = NULL;
	struct mb_media_in *z = NULL;
	struct mb_error e2 = { 0 };

	*id = 0;
	t->part[0] = (struct mb_media_part){ .volume = t->loaded, .file_no = f };
	t->n_parts = 1;
	t->cur = 0;
	t->len = t->off = 0;
	t->next_pos = 0;
	if (mbm_zstd_open_input(&z, &in, &e2) == 0 && mb_image_open(&r, mb_media_input(z), &e2) == 0)
		snprintf(id, cap, "%s", mb_image_index(r)->meta.backup_id);
	mb_image_close(r);
	mb_media_close(z);
	return 0;
}

/* Goes to the start of tape file f of the loaded volume and reads its
 * first record: 0 if the images end there (blank, or an end-of-volume
 * record), 1 if it may hold one, -1 on error. */
static int peek_file(struct tape_in *t, uint32_t f, struct mb_error *e)
{
	char text[512];
	ssize_t n;

	t->len = t->off = 0;
	if (mbt_op(t->fd, t->dev, MTREW, 1, e) < 0 ||
	    mbt_op(t->fd, t->dev, MTFSF, (int)f, e) < 0)
		return -1;
	n = mbt_read_record(t->fd, t->dev, t->buf, MB_TAPE_MAX_BLOCK, e);
	if (n == -1)
		return -1;
	return n == -2 || (n > 0 && mbt_parse_record(t->buf, (size_t)n, MBT_EOV_NAME, text,
						     sizeof(text))) ? 0 : 1;
}

/* Walks the images of the loaded volume; keeps the file of the one asked
 * for (or the last).  The first file after the label of a continuation
 * volume is the rest of an earlier image, not an image. */
static int find_image(struct tape_in *t, uint32_t first, uint32_t *file,
		      struct mb_error *e)
{
	char id[64], ids[512] = "";
	int rc;

	*file = 0;
	t->scanning = true;
	for (uint32_t f = first; f < 1000000; f++) {
		if ((rc = peek_file(t, f, e)) < 0)
			return -1;
		if (rc == 0)
			break;
		if (mbt_op(t->fd, t->dev, MTREW, 1, e) < 0 ||
		    mbt_op(t->fd, t->dev, MTFSF, (int)f, e) < 0 || image_id_at(t, f, id, sizeof(id), e) < 0)
			return -1;
		if (!*id)
			continue;
		if (strlen(ids) + strlen(id) + 2 < sizeof(ids))
			snprintf(ids + strlen(ids), sizeof(ids) - strlen(ids), "%s%s", *ids ? " " : "", id);
		if (!t->params.backup || strcmp(t->params.backup, id) == 0)
			*file = f;
		if (t->params.backup && *file)
			break;
	}
	t->scanning = false;
	if (*file)
		return 0;
	mb_fail(e, MB_ERR_NOT_FOUND, 0, t->params.backup ? "backup '%s' is not on tape '%s'" :
		"%sno image on tape '%s'", t->params.backup ? t->params.backup : "", t->dev);
	if (*ids)
		mb_hint(e, "this volume holds backup(s) %s", ids);
	return -1;
}

static void tin_free(struct tape_in *t)
{
	if (!t)
		return;
	if (t->fd >= 0)
		close(t->fd);
	free(t->buf);
	free(t->dev);
	free(t);
}

/* Rewinds to the image's first record and notes the block address there
 * where the drive can tell it (READ POSITION). */
static int start_image(struct tape_in *t, uint32_t file, struct mb_error *e)
{
	struct mtpos pos;

	t->part[0] = (struct mb_media_part){ .volume = t->loaded, .file_no = file };
	snprintf(t->part[0].label, sizeof(t->part[0].label), "%s", t->label);
	t->n_parts = 1;
	t->last_known = false;
	snprintf(t->image_id, sizeof(t->image_id), "%s:%u:%u", t->label, t->loaded, file);
	t->base_blk = -1;
	if (position(t, 0, 0, e) < 0)
		return -1;
	if (ioctl(t->fd, MTIOCPOS, &pos) == 0)
		t->base_blk = (long)pos.mt_blkno;
	t->records = 0;
	return 0;
}

int mbt_open_read(struct mb_media_in *m, const char *dev, const struct mb_media_params *p,
		  struct mb_error *e)
{
	struct tape_in *t = calloc(1, sizeof(*t));
	char text[512], v[32] = "0";
	uint32_t file;

	if (!t || !(t->dev = strdup(dev)) || !(t->buf = malloc(MB_TAPE_MAX_BLOCK))) {
		mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to open tape '%s'", dev);
		goto fail;
	}
	t->params = *p;
	t->fd = -1;
	if (mbt_open_dev(dev, false, &t->fd, e) < 0 || read_label(t, text, sizeof(text), e) < 0)
		goto fail;
	mbt_kv(text, "label", t->label, sizeof(t->label));
	mbt_kv(text, "volume", v, sizeof(v));
	t->loaded = (uint32_t)strtoul(v, NULL, 10);
	mbt_kv(text, "record_size", v, sizeof(v));
	t->bs = (uint32_t)strtoul(v, NULL, 10);
	if (t->bs == 0 || t->bs > MB_TAPE_MAX_BLOCK || t->bs % 512) {
		mb_fail(e, MB_ERR_CORRUPT, 0, "label of tape '%s' gives record size %s", dev, v);
		goto fail;
	}
	if (find_image(t, mbt_kv(text, "continues", v, sizeof(v)) ? 2 : 1, &file, e) < 0 ||
	    start_image(t, file, e) < 0)
		goto fail;
	mb_info("tape: reading image from file %u of volume %u of '%s' in '%s', %u-byte records",
		file, t->loaded, t->label, dev, t->bs);
	m->priv = t;
	return 0;
fail:
	tin_free(t);
	return -1;
}

ssize_t mbt_read(struct mb_media_in *m, void *buf, size_t n, struct mb_error *e)
{
	return tin_read(m->priv, buf, n, e);
}

int mbt_seek(struct mb_media_in *m, uint64_t off, struct mb_error *e)
{
	return tin_seek(m->priv, off, e);
}

/* The image after the current one (size bytes) is the next tape file on
 * the volume where the current one ends: the file after it, or file 2 of
 * a continuation volume. */
int mbt_next_image(struct mb_media_in *m, uint64_t size, struct mb_error *e)
{
	struct tape_in *t = m->priv;
	const struct mb_media_part *last;
	uint32_t file;
	int rc;

	if (tin_seek(t, size ? size - 1 : 0, e) < 0)
		return -1;
	last = &t->part[t->cur];
	file = (t->cur == 0 ? last->file_no : 1) + 1;
	if ((rc = peek_file(t, file, e)) <= 0)
		return rc;
	return start_image(t, file, e) < 0 ? -1 : 1;
}

void mbt_read_stats(const struct mb_media_in *m, uint64_t *records, uint64_t *record_size)
{
	const struct tape_in *t = m->priv;

	*records = t ? t->records : 0;
	*record_size = t ? t->bs : 0;
}

void mbt_close_read(struct mb_media_in *m)
{
	tin_free(m->priv);
	m->priv = NULL;
}
