/*
 * Reading an image from tape: the reader's input (image.h) serves bytes out
 * of whole records read one by one (variable-block reads, so any record
 * size works), follows an image onto the next volume when its part ends
 * with an end-of-volume record, and positions by record for single-file
 * restores: MTSEEK where the drive has it, else by filemarks and records
 * from where the head is (tape_pos.c).  The end of an image is the format's
 * business (the index gives its size): a filemark or the end of data only
 * ever means "look for an end-of-volume record" here.
 *
 * One drive, several images (a set member's rescue images are the tape
 * files after its first): each image has its own input and state, the
 * drive is shared, and an image whose read finds the head moved by
 * another puts it back under its next record first.
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

struct tape_in;

/* The drive and the volume in it, shared by the images read from it. */
struct tape_drv {
	struct mbt_drive pos;		/* fd and where the head is */
	char *dev;
	uint32_t bs;
	char label[64];
	uint32_t loaded;		/* volume in the drive */
	const struct tape_in *owner;	/* the image that moved the head last */
	uint64_t records;
	struct tape_in *images;		/* newest first */
	struct mb_media_params params;	/* as given at open (strings borrowed) */
};

/* One image on the drive. */
struct tape_in {
	struct tape_drv *d;
	struct tape_in *prev;
	char *name;			/* "tape:DEV@fileN" after the first; NULL */
	char image_id[96];		/* "label:volume:file" where it starts */
	struct mb_media_part part[MB_TAPE_MAX_VOLUMES];
	size_t n_parts;
	bool last_known;		/* part[n_parts-1] is the image's last */
	size_t cur;			/* part being read */
	unsigned char *buf;
	size_t len, off;
	uint64_t next_pos;		/* image byte of the next record on tape */
	long base_blk;			/* MTIOCPOS at the image's start, -1 */
	bool scanning;			/* no volume changes while looking */
};

/* Reads the label at BOT into text (buf: MB_TAPE_MAX_BLOCK bytes). */
static int read_label(struct tape_drv *d, unsigned char *buf, char *text, size_t cap,
		      struct mb_error *e)
{
	ssize_t n;

	if (mbt_rewind(&d->pos, e) < 0 || mbt_set_block(d->pos.fd, d->dev, 0, e) < 0)
		return -1;
	n = mbt_drive_read(&d->pos, buf, MB_TAPE_MAX_BLOCK, e);
	if (n == -1)
		return -1;
	if (n == -2)
		return mb_fail(e, MB_ERR_MEDIA, 0, "tape in '%s' is blank", d->dev);
	if (!mbt_parse_record(buf, (size_t)n, MBT_LABEL_NAME, text, cap)) {
		mb_fail(e, MB_ERR_MEDIA, 0, "tape in '%s' is not an mbackup volume", d->dev);
		mb_hint(e, "load the tape the backup was written to");
		return -1;
	}
	return 0;
}

/* Loads volume vol of the image's set (the hook) and checks its label. */
static int load_volume(struct tape_in *t, uint32_t vol, struct mb_error *e)
{
	struct tape_drv *d = t->d;
	char text[512], label[64] = "", v[32] = "0";

	if (d->loaded == vol)
		return 0;
	close(d->pos.fd);
	d->pos.fd = -1;
	d->pos.file = -1;
	d->loaded = 0;
	if (mbt_volume_change(d->params.volume_change, d->dev, vol, e) < 0 ||
	    mbt_open_dev(d->dev, false, &d->pos.fd, e) < 0 ||
	    read_label(d, t->buf, text, sizeof(text), e) < 0)
		return -1;
	t->len = t->off = 0;
	mbt_kv(text, "label", label, sizeof(label));
	mbt_kv(text, "volume", v, sizeof(v));
	if (strcmp(label, d->label) != 0 || strtoul(v, NULL, 10) != vol) {
		mb_fail(e, MB_ERR_MEDIA, 0, "tape in '%s' is volume %s of '%s', not volume %u "
			"of '%s'", d->dev, v, label, vol, d->label);
		mb_hint(e, "load volume %u of '%s'", vol, d->label);
		return -1;
	}
	d->loaded = vol;
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
	n = mbt_drive_read(&t->d->pos, t->buf, MB_TAPE_MAX_BLOCK, e);
	if (n == -1)
		return -1;
	if (n <= 0 || !mbt_parse_record(t->buf, (size_t)n, MBT_EOV_NAME, text, sizeof(text)) ||
	    !mbt_kv(text, "image", img, sizeof(img)) || strcmp(img, t->image_id) != 0 ||
	    !mbt_kv(text, "image_byte", at, sizeof(at))) {
		t->last_known = true;
		return 0;
	}
	if (t->n_parts == MB_TAPE_MAX_VOLUMES)
		return mb_fail(e, MB_ERR_CORRUPT, 0, "image on '%s' spans too many volumes", t->d->dev);
	p = &t->part[t->n_parts++];
	*p = (struct mb_media_part){ .volume = t->part[t->n_parts - 2].volume + 1, .file_no = 1,
				    .first_byte = strtoull(at, NULL, 10) };
	snprintf(p->label, sizeof(p->label), "%s", t->d->label);
	return 1;
}

/* Puts the drive at record rec (counted from the part's start) of part i;
 * -2 (no error set) if the part's tape file has fewer records. */
static int position(struct tape_in *t, size_t i, uint64_t rec, struct mb_error *e)
{
	const struct mb_media_part *p = &t->part[i];
	struct tape_drv *d = t->d;

	if (load_volume(t, p->volume, e) < 0)
		return -1;
	d->owner = t;
	t->cur = i;
	t->len = t->off = 0;
	t->next_pos = p->first_byte + rec * d->bs;
	if (i == 0 && mbt_locate(&d->pos, t->base_blk >= 0 ? t->base_blk + (long)rec : -1,
				 p->file_no, rec) == 0)
		return 0;
	return mbt_goto(&d->pos, p->file_no, rec, e);	/* -2: the file has fewer */
}

static int ends_before(const struct tape_in *t, uint64_t off, struct mb_error *e)
{
	return mb_fail(e, MB_ERR_TRUNCATED, 0, "image on tape '%s' ends before byte %llu",
		       t->d->dev, (unsigned long long)off);
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

/* Another image moved the head: back under this one's next record. */
static int own_head(struct tape_in *t, struct mb_error *e)
{
	const struct mb_media_part *p = &t->part[t->cur];
	uint64_t at = t->next_pos;
	int rc;

	if (t->d->owner == t)
		return 0;
	rc = position(t, t->cur, (at - p->first_byte) / t->d->bs, e);
	return rc == -2 ? ends_before(t, at, e) : rc;
}

static ssize_t tin_read(void *ctx, void *buf, size_t n, struct mb_error *e)
{
	struct tape_in *t = ctx;
	struct tape_drv *d = t->d;
	ssize_t got;

	while (t->off == t->len) {
		if (own_head(t, e) < 0)
			return -1;
		got = mbt_drive_read(&d->pos, t->buf, d->bs, e);
		if (got == -1)
			return -1;
		if (got > 0 && (size_t)got != d->bs)
			return mb_fail(e, MB_ERR_CORRUPT, 0, "record of %zd bytes on tape '%s' "
				       "at image byte %llu, expected %u", got, d->dev,
				       (unsigned long long)t->next_pos, d->bs);
		if (got > 0) {
			d->records++;
			t->len = (size_t)got;
			t->off = 0;
			t->next_pos += d->bs;
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

/* Part i ends before record rec: the next part (its end-of-volume
 * record after the filemark) or the image's end.  1 if a part follows. */
static int part_after(struct tape_in *t, size_t i, struct mb_error *e)
{
	if (i + 1 < t->n_parts || t->last_known)
		return 0;
	if (load_volume(t, t->part[i].volume, e) < 0)
		return -1;
	t->d->owner = t;
	t->len = t->off = 0;
	if (mbt_goto(&t->d->pos, t->part[i].file_no + 1, 0, e) < 0)
		return -1;
	return probe_eov(t, e);
}

/* Every part of the image, each found from the end-of-volume record after
 * the one before (an image of unknown size: a compressed one read in
 * order); 0 once the last is known. */
static int last_part(struct tape_in *t, struct mb_error *e)
{
	int rc;

	while ((rc = part_after(t, t->n_parts - 1, e)) == 1)
		;
	return rc;
}

/* Goes straight to the record holding off in the part it should be in;
 * only when that part ends first is the next one looked for (an image
 * on one volume is never probed past its filemark). */
static int tin_seek(void *ctx, uint64_t off, struct mb_error *e)
{
	struct tape_in *t = ctx;
	uint32_t bs = t->d->bs;
	uint64_t want = off - off % bs;
	size_t i = 0;
	int rc;

	if (t->len && off < t->next_pos && off >= t->next_pos - t->len) {
		t->off = (size_t)(off - (t->next_pos - t->len));	/* in the record read */
		return 0;
	}
	for (;;) {
		while (i + 1 < t->n_parts && t->part[i + 1].first_byte <= want)
			i++;
		rc = position(t, i, (want - t->part[i].first_byte) / bs, e);
		if (rc == 0) {
			if (tin_read(t, t->buf, 0, e) < 0)
				return -1;
			if (t->cur == i)
				break;		/* the record, or the image's end */
			if (t->part[i + 1].first_byte > want)	/* parts that do not meet */
				return ends_before(t, off, e);
			continue;		/* part i ended first: the next is known */
		}
		if (rc == -1 || (rc = part_after(t, i, e)) < 0)
			return -1;
		if (rc == 0)
			return ends_before(t, off, e);
	}
	if (t->len - t->off < off - want)
		return ends_before(t, off, e);
	t->off += (size_t)(off - want);
	return 0;
}

/* The image's state at the start of tape file f of the loaded volume. */
static void at_file(struct tape_in *t, uint32_t f)
{
	t->part[0] = (struct mb_media_part){ .volume = t->d->loaded, .file_no = f };
	snprintf(t->part[0].label, sizeof(t->part[0].label), "%s", t->d->label);
	t->n_parts = 1;
	t->cur = 0;
	t->next_pos = 0;
	t->last_known = false;
}

/* The backup id in the index of the image starting at file f (its first
 * record in t's buffer, the head after it), read through the zstd filter
 * when the image is compressed; "" for a file that is not an image. */
static void image_id_at(struct tape_in *t, char *id, size_t cap)
{
	struct mb_image_input in = { tin_read, NULL, t, t->d->dev };
	struct mb_image_reader *r = NULL;
	struct mb_media_in *z = NULL;
	struct mb_error e2 = { 0 };

	*id = 0;
	if (mbm_zstd_open_input(&z, &in, &e2) == 0 && mb_image_open(&r, mb_media_input(z), &e2) == 0)
		snprintf(id, cap, "%s", mb_image_index(r)->meta.backup_id);
	mb_image_close(r);
	mb_media_close(z);
}

/* Goes to the start of tape file f of the loaded volume and reads its
 * first record: 0 if the images end there (blank, or an end-of-volume
 * record), 1 if it may hold one (then the record is the image's first,
 * in t's buffer, the head after it), -1 on error. */
static int peek_file(struct tape_in *t, uint32_t f, struct mb_error *e)
{
	char text[512];
	ssize_t n;

	t->len = t->off = 0;
	t->d->owner = t;
	if (mbt_goto(&t->d->pos, f, 0, e) < 0)
		return -1;
	n = mbt_drive_read(&t->d->pos, t->buf, MB_TAPE_MAX_BLOCK, e);
	if (n == -1)
		return -1;
	if (n == -2 || (n > 0 && mbt_parse_record(t->buf, (size_t)n, MBT_EOV_NAME, text,
						  sizeof(text))))
		return 0;
	at_file(t, f);
	if (n > 0) {
		t->d->records++;
		t->len = (size_t)n;
		t->next_pos = t->d->bs;
	}
	return 1;
}

/* Adds id to the space-separated list ids (cap bytes) unless it ends it. */
static void note_id(char *ids, size_t cap, const char *id)
{
	const char *last = strrchr(ids, ' ');

	last = last ? last + 1 : ids;
	if (strcmp(last, id) != 0 && strlen(ids) + strlen(id) + 2 < cap)
		snprintf(ids + strlen(ids), cap - strlen(ids), "%s%s", *ids ? " " : "", id);
}

/* Walks the images of the loaded volume; keeps the file of the backup
 * asked for (or the last), its first image: a set member's rescue images
 * follow it with the same backup id.  The first file after the label of a
 * continuation volume is the rest of an earlier image, not an image. */
static int find_image(struct tape_in *t, uint32_t first, uint32_t *file,
		      struct mb_error *e)
{
	const char *want = t->d->params.backup;
	char id[64], prev[64] = "", ids[512] = "";
	int rc;

	*file = 0;
	t->scanning = true;
	for (uint32_t f = first; f < 1000000; f++) {
		if ((rc = peek_file(t, f, e)) < 0)
			return -1;
		if (rc == 0)
			break;
		image_id_at(t, id, sizeof(id));
		if (!*id)
			continue;
		note_id(ids, sizeof(ids), id);
		if (want ? strcmp(want, id) == 0 : strcmp(prev, id) != 0)
			*file = f;
		snprintf(prev, sizeof(prev), "%s", id);
		if (want && *file)
			break;
	}
	t->scanning = false;
	if (*file)
		return 0;
	mb_fail(e, MB_ERR_NOT_FOUND, 0, want ? "backup '%s' is not on tape '%s'" :
		"%sno image on tape '%s'", want ? want : "", t->d->dev);
	if (*ids)
		mb_hint(e, "this volume holds backup(s) %s", ids);
	return -1;
}

static void tin_free(struct tape_in *t)
{
	free(t->buf);
	free(t->name);
	free(t);
}

static void drv_free(struct tape_drv *d)
{
	if (!d)
		return;
	while (d->images) {
		struct tape_in *t = d->images;

		d->images = t->prev;
		tin_free(t);
	}
	if (d->pos.fd >= 0)
		close(d->pos.fd);
	free(d->dev);
	free(d);
}

/* A new image of the drive (its state and buffer), the newest. */
static struct tape_in *tin_new(struct tape_drv *d)
{
	struct tape_in *t = calloc(1, sizeof(*t));

	if (!t || !(t->buf = malloc(MB_TAPE_MAX_BLOCK))) {
		free(t);
		return NULL;
	}
	t->d = d;
	t->base_blk = -1;
	t->prev = d->images;
	d->images = t;
	return t;
}

/* The image starts at tape file `file`; its first record is read already
 * (peeked: the head after it) or the head goes back to it.  Notes the
 * block address there where the drive can tell it (READ POSITION). */
static int start_image(struct tape_in *t, uint32_t file, bool peeked, struct mb_error *e)
{
	struct mtpos pos;

	if (!peeked) {
		at_file(t, file);
		if (position(t, 0, 0, e) < 0)
			return -1;
	}
	snprintf(t->image_id, sizeof(t->image_id), "%s:%u:%u", t->d->label, t->d->loaded, file);
	t->base_blk = -1;
	if (!peeked && ioctl(t->d->pos.fd, MTIOCPOS, &pos) == 0)
		t->base_blk = (long)pos.mt_blkno;
	return 0;
}

/* m's input is image t's own: a reader of an earlier image keeps its. */
static void use_image(struct mb_media_in *m, struct tape_in *t)
{
	if (t->name)
		m->name = t->name;
	m->in = (struct mb_image_input){ tin_read, tin_seek, t, m->name };
}

static int open_drive(struct tape_drv *d, struct tape_in *t, const char *text, struct mb_error *e)
{
	char v[32] = "0";
	uint32_t file;

	mbt_kv(text, "label", d->label, sizeof(d->label));
	mbt_kv(text, "volume", v, sizeof(v));
	d->loaded = (uint32_t)strtoul(v, NULL, 10);
	mbt_kv(text, "record_size", v, sizeof(v));
	d->bs = (uint32_t)strtoul(v, NULL, 10);
	if (d->bs == 0 || d->bs > MB_TAPE_MAX_BLOCK || d->bs % 512)
		return mb_fail(e, MB_ERR_CORRUPT, 0, "label of tape '%s' gives record size %s",
			       d->dev, v);
	if (find_image(t, mbt_kv(text, "continues", v, sizeof(v)) ? 2 : 1, &file, e) < 0 ||
	    start_image(t, file, false, e) < 0)
		return -1;
	d->records = 0;
	mb_info("tape: reading image from file %u of volume %u of '%s' in '%s', %u-byte records",
		file, d->loaded, d->label, d->dev, d->bs);
	return 0;
}

int mbt_open_read(struct mb_media_in *m, const char *dev, const struct mb_media_params *p,
		  struct mb_error *e)
{
	struct tape_drv *d = calloc(1, sizeof(*d));
	struct tape_in *t = NULL;
	char text[512];

	if (!d || !(d->dev = strdup(dev)) || !(t = tin_new(d))) {
		mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to open tape '%s'", dev);
		goto fail;
	}
	d->params = *p;
	d->pos.fd = -1;
	d->pos.file = -1;
	d->pos.dev = d->dev;
	if (mbt_open_dev(dev, false, &d->pos.fd, e) < 0 ||
	    read_label(d, t->buf, text, sizeof(text), e) < 0 || open_drive(d, t, text, e) < 0)
		goto fail;
	m->priv = d;
	m->images = MB_IMAGES_FILES;
	use_image(m, t);
	return 0;
fail:
	drv_free(d);
	return -1;
}

ssize_t mbt_read(struct mb_media_in *m, void *buf, size_t n, struct mb_error *e)
{
	return tin_read(((struct tape_drv *)m->priv)->images, buf, n, e);
}

int mbt_seek(struct mb_media_in *m, uint64_t off, struct mb_error *e)
{
	return tin_seek(((struct tape_drv *)m->priv)->images, off, e);
}

/* The image after the current one (size bytes, or MB_MEDIA_SIZE_UNKNOWN:
 * its end is its last part's filemark) is the next tape file on the
 * volume where the current one ends: the file after it, or file 2 of a
 * continuation volume.  It gets an input of its own; the current one's
 * stays valid (it moves the head back when it reads again). */
int mbt_next_image(struct mb_media_in *m, uint64_t size, struct mb_error *e)
{
	struct tape_drv *d = m->priv;
	struct tape_in *t = d->images, *n;
	bool known = t->last_known && t->part[t->n_parts - 1].volume == d->loaded;
	const struct mb_media_part *last = &t->part[t->n_parts - 1];
	uint32_t file;
	int rc;

	if (!(n = tin_new(d)))
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to read tape '%s'", d->dev);
	/* the part holding its last byte: known once it was read to its end
	 * (its volume in the drive), else found by going there with the new
	 * image's state, so the current one's reader reads on where it was */
	if (!known) {
		memcpy(n->part, t->part, sizeof(t->part));
		n->n_parts = t->n_parts;
		n->base_blk = t->base_blk;
		snprintf(n->image_id, sizeof(n->image_id), "%s", t->image_id);
		if (size == MB_MEDIA_SIZE_UNKNOWN ? last_part(n, e) < 0 :
		    tin_seek(n, size ? size - 1 : 0, e) < 0)
			return -1;
		last = &n->part[size == MB_MEDIA_SIZE_UNKNOWN ? n->n_parts - 1 : n->cur];
	}
	file = (last->first_byte == 0 ? last->file_no : 1) + 1;
	if ((rc = peek_file(n, file, e)) <= 0)
		return rc;
	if (asprintf(&n->name, "%s@file%u", m->spec, file) < 0) {
		n->name = NULL;
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to read tape '%s'", d->dev);
	}
	if (start_image(n, file, true, e) < 0)
		return -1;
	mb_info("tape: next image from file %u of volume %u of '%s'", file, d->loaded, d->label);
	use_image(m, n);
	return 1;
}

void mbt_read_stats(const struct mb_media_in *m, uint64_t *records, uint64_t *record_size)
{
	const struct tape_drv *d = m->priv;

	*records = d ? d->records : 0;
	*record_size = d ? d->bs : 0;
}

void mbt_close_read(struct mb_media_in *m)
{
	struct tape_drv *d = m->priv;

	if (d && d->pos.rewinds)
		mb_info("tape: '%s' rewound %llu time(s), %llu filemark(s) and %llu record(s) "
			"spaced forward", d->dev, (unsigned long long)d->pos.rewinds,
			(unsigned long long)d->pos.files_spaced,
			(unsigned long long)d->pos.records_spaced);
	drv_free(d);
	m->priv = NULL;
}
