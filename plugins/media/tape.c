/*
 * tape:DEVICE — the tape sink.  Records reach it through a RAM ring (the
 * ring filter, ring.c, stacked over it because the table says the tape
 * streams), so the drive keeps streaming while the reader stalls; every
 * write() to the drive is exactly one record.  The first ENOSPC (early
 * warning) ends the volume: filemark, end-of-volume record, filemark, the
 * volume-change hook, a label on the next volume, and the record that did
 * not fit goes there.
 */
#include "plugins/media/tape.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mtio.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "plugins/media/drivers.h"

enum bot_kind { BOT_BLANK, BOT_OURS, BOT_FOREIGN };

struct tape_sink {
	struct mb_media_params params;	/* as given at open (strings borrowed) */
	char *dev;
	int fd;
	uint32_t bs;
	char label[64];
	uint32_t volume;
	uint32_t file_no;		/* tape file being written on the volume */
	uint64_t written;		/* bytes of the current image on tape */
	struct mb_tape_info info;
	unsigned char *scratch;		/* MB_TAPE_MAX_BLOCK, for reads at BOT */
	struct timespec t_first, t_last;	/* the drive's first and last record */
};

static uint64_t ns_between(const struct timespec *a, const struct timespec *b)
{
	return (uint64_t)(b->tv_sec - a->tv_sec) * 1000000000u + (uint64_t)b->tv_nsec -
	       (uint64_t)a->tv_nsec;
}

/* Rewinds and reads the first record: blank, one of ours (text filled)
 * or anything else. */
static int look_at_bot(struct tape_sink *t, enum bot_kind *kind, char *text,
		       size_t cap, struct mb_error *e)
{
	ssize_t n;

	if (mbt_op(t->fd, t->dev, MTREW, 1, e) < 0 || mbt_set_block(t->fd, t->dev, 0, e) < 0)
		return -1;
	n = mbt_read_record(t->fd, t->dev, t->scratch, MB_TAPE_MAX_BLOCK, e);
	if (n == -1 && e->code == MB_ERR_CORRUPT) {
		mb_error_clear(e);
		n = 1;		/* a record we cannot even hold: foreign */
	}
	if (n == -1)
		return -1;
	if (n == -2 || n == 0)		/* nothing, or only a filemark */
		*kind = BOT_BLANK;
	else if (n > 0 && mbt_parse_record(t->scratch, (size_t)n, MBT_LABEL_NAME, text, cap))
		*kind = BOT_OURS;
	else
		*kind = BOT_FOREIGN;
	/* After a read at the end of data the emulated drive refuses writes
	 * until rewound. */
	return mbt_op(t->fd, t->dev, MTREW, 1, e);
}

static int write_one(struct tape_sink *t, const void *rec, struct mb_error *e)
{
	ssize_t n;

	do
		n = write(t->fd, rec, t->bs);
	while (n < 0 && errno == EINTR);
	if (n == (ssize_t)t->bs)
		return 0;
	if (n < 0 && errno == ENOSPC)
		return 1;
	if (n < 0)
		return mb_fail(e, MB_ERR_MEDIA, errno, "unable to write to tape '%s' on "
			       "volume %u", t->dev, t->volume);
	return mb_fail(e, MB_ERR_MEDIA, 0, "short write to tape '%s': %zd of %u bytes",
		       t->dev, n, t->bs);
}

/* A record of our own (label, end of volume); one ENOSPC is retried, as st
 * lets every other write through past early warning. */
static int write_meta(struct tape_sink *t, const char *name, const char *text,
		      struct mb_error *e)
{
	int rc;

	mbt_make_record(t->scratch, t->bs, name, text);
	rc = write_one(t, t->scratch, e);
	if (rc == 1)
		rc = write_one(t, t->scratch, e);
	if (rc == 1)
		return mb_fail(e, MB_ERR_MEDIA, ENOSPC, "unable to write to tape '%s'", t->dev);
	return rc < 0 ? -1 : mbt_op(t->fd, t->dev, MTWEOF, 1, e);
}

static int write_label(struct tape_sink *t, const char *extra, struct mb_error *e)
{
	char text[512];

	snprintf(text, sizeof(text), "format=mbackup-tape 1\nlabel=%s\nvolume=%u\n"
		 "record_size=%u\n%s", t->label, t->volume, t->bs, extra);
	if (mbt_set_block(t->fd, t->dev, t->bs, e) < 0)
		return -1;
	return write_meta(t, MBT_LABEL_NAME, text, e);
}

/* With --append: counts the files after the label; the tape is left at
 * the start of the first free file. */
static int find_end(struct tape_sink *t, uint32_t *file_no, struct mb_error *e)
{
	char text[512];
	ssize_t n = 1, prev = 1;
	uint32_t f;

	if (mbt_op(t->fd, t->dev, MTFSF, 1, e) < 0)
		return -1;
	for (f = 1; f < 1000000; f++) {
		n = mbt_read_record(t->fd, t->dev, t->scratch, MB_TAPE_MAX_BLOCK, e);
		if (n < 0 || (n == 0 && prev == 0))	/* two filemarks: the end */
			break;
		prev = n;
		if (n > 0 && mbt_parse_record(t->scratch, (size_t)n, MBT_EOV_NAME, text,
						  sizeof(text))) {
			mb_fail(e, MB_ERR_MEDIA, 0, "tape in '%s' is full (volume %u of '%s' "
				"ends with an end-of-volume mark)", t->dev, t->volume, t->label);
			mb_hint(e, "load a new tape");
			return -1;
		}
		if (n > 0 && mbt_op(t->fd, t->dev, MTFSF, 1, e) < 0)
			return -1;
	}
	if (n == -1)
		return -1;
	*file_no = f;
	if (mbt_op(t->fd, t->dev, MTREW, 1, e) < 0 ||
	    mbt_op(t->fd, t->dev, MTFSF, (int)f, e) < 0)
		return -1;
	return mbt_set_block(t->fd, t->dev, t->bs, e);
}

static int adopt_label(struct tape_sink *t, const char *text, struct mb_error *e)
{
	char v[64];

	if (!mbt_kv(text, "label", t->label, sizeof(t->label)) ||
	    !mbt_kv(text, "volume", v, sizeof(v)))
		return mb_fail(e, MB_ERR_MEDIA, 0, "tape in '%s' has a malformed label", t->dev);
	t->volume = (uint32_t)strtoul(v, NULL, 10);
	if (mbt_kv(text, "record_size", v, sizeof(v)) && strtoul(v, NULL, 10) != t->bs) {
		mb_fail(e, MB_ERR_MEDIA, 0, "tape in '%s' is written with %s-byte records, "
			"not %u", t->dev, v, t->bs);
		mb_hint(e, "append with --block-size %s", v);
		return -1;
	}
	return 0;
}

static void new_label_name(struct tape_sink *t)
{
	snprintf(t->label, sizeof(t->label), "MB%llX%04X",
		 (unsigned long long)time(NULL), (unsigned)getpid() & 0xffff);
}

static int refuse_used(struct tape_sink *t, bool ours, const char *text,
		       struct mb_error *e)
{
	char name[64] = "?";

	if (ours) {
		mbt_kv(text, "label", name, sizeof(name));
		mb_fail(e, MB_ERR_MEDIA, 0, "tape in '%s' already holds mbackup volume '%s'",
			t->dev, name);
		mb_hint(e, "--append adds an image after the last one; --overwrite starts it over");
		return -1;
	}
	mb_fail(e, MB_ERR_MEDIA, 0, "tape in '%s' holds data that is not an mbackup volume",
		t->dev);
	mb_hint(e, "load a blank tape, or pass --overwrite to write over it");
	return -1;
}

/* First volume: where the image goes (BOT, or after the last image). */
static int position_first(struct tape_sink *t, struct mb_error *e)
{
	char text[512];
	enum bot_kind kind;
	uint32_t file_no = 1;

	if (look_at_bot(t, &kind, text, sizeof(text), e) < 0)
		return -1;
	if (t->params.append && kind == BOT_OURS && !t->params.overwrite) {
		if (adopt_label(t, text, e) < 0 || find_end(t, &file_no, e) < 0)
			return -1;
	} else if (kind == BOT_BLANK || t->params.overwrite) {
		new_label_name(t);
		t->volume = 1;
		if (write_label(t, "", e) < 0)
			return -1;
	} else {
		return refuse_used(t, kind == BOT_OURS, text, e);
	}
	t->file_no = file_no;
	t->info.pos.part[0] = (struct mb_media_part){ .volume = t->volume, .file_no = file_no };
	snprintf(t->info.pos.part[0].label, sizeof(t->info.pos.part[0].label), "%s", t->label);
	t->info.pos.n_parts = 1;
	return 0;
}

/* The early warning: close this volume cleanly, get the next one. */
static int next_volume(struct tape_sink *t, struct mb_error *e)
{
	const struct mb_media_part *cur = &t->info.pos.part[t->info.pos.n_parts - 1];
	char text[512], extra[256];
	enum bot_kind kind;
	struct mb_media_part *p;

	snprintf(text, sizeof(text), "label=%s\nvolume=%u\nimage=%s:%u:%u\nnext_volume=%u\n"
		 "image_byte=%llu\n", t->label, t->volume, t->info.pos.part[0].label,
		 t->info.pos.part[0].volume, t->info.pos.part[0].file_no, t->volume + 1,
		 (unsigned long long)t->written);
	if (t->info.pos.n_parts == MB_TAPE_MAX_VOLUMES)
		return mb_fail(e, MB_ERR_MEDIA, 0, "image needs more than %d tape volumes",
			       MB_TAPE_MAX_VOLUMES);
	if (mbt_op(t->fd, t->dev, MTWEOF, 1, e) < 0 || write_meta(t, MBT_EOV_NAME, text, e) < 0)
		return -1;
	mb_info("tape: volume %u of '%s' is full after %llu image bytes (file %u)", t->volume,
		t->label, (unsigned long long)(t->written - cur->first_byte), cur->file_no);
	close(t->fd);
	t->fd = -1;
	t->volume++;
	t->info.volume_changes++;
	if (mbt_volume_change(t->params.volume_change, t->dev, t->volume, e) < 0 ||
	    mbt_open_dev(t->dev, true, &t->fd, e) < 0 ||
	    look_at_bot(t, &kind, text, sizeof(text), e) < 0)
		return -1;
	if (kind != BOT_BLANK && !t->params.overwrite)
		return refuse_used(t, kind == BOT_OURS, text, e);
	snprintf(extra, sizeof(extra), "continues=%s:%u:%u\nimage_byte=%llu\n",
		 t->info.pos.part[0].label, t->info.pos.part[0].volume, t->info.pos.part[0].file_no,
		 (unsigned long long)t->written);
	if (write_label(t, extra, e) < 0)
		return -1;
	p = &t->info.pos.part[t->info.pos.n_parts++];
	t->file_no = 1;
	*p = (struct mb_media_part){ .volume = t->volume, .file_no = 1, .first_byte = t->written };
	snprintf(p->label, sizeof(p->label), "%s", t->label);
	return 0;
}

static int drive_record(struct tape_sink *t, const void *rec, struct mb_error *e)
{
	int rc = write_one(t, rec, e);

	if (rc == 1 && next_volume(t, e) == 0)
		rc = write_one(t, rec, e);
	if (rc == 1)
		rc = mb_fail(e, MB_ERR_MEDIA, ENOSPC, "unable to write to tape '%s' on a fresh "
			     "volume %u", t->dev, t->volume);
	if (rc < 0)
		return -1;
	t->written += t->bs;
	t->info.records++;
	return 0;
}

static void tape_free(struct tape_sink *t)
{
	if (t->fd >= 0)
		close(t->fd);
	free(t->scratch);
	free(t->dev);
	free(t);
}

static int check_block_size(uint32_t bs, struct mb_error *e)
{
	if (bs == 0 || bs % 512 || bs > MB_TAPE_MAX_BLOCK) {
		mb_fail(e, MB_ERR_USAGE, 0, "unsupported --block-size %u", bs);
		mb_hint(e, "a multiple of 512 up to %u bytes, e.g. 262144", MB_TAPE_MAX_BLOCK);
		return -1;
	}
	return 0;
}

static int tape_check(const char *arg, const struct mb_media_params *p, struct mb_error *e)
{
	if (check_block_size(p->block_size ? p->block_size : MB_TAPE_DEFAULT_BLOCK, e) < 0)
		return -1;
	return mbt_check_node(arg, e);
}

static int tape_open(struct mb_sink *s, const char *arg, const struct mb_media_params *p,
		     struct mb_error *e)
{
	struct tape_sink *t = calloc(1, sizeof(*t));

	if (!t)
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to open tape '%s'", arg);
	t->params = *p;
	t->fd = -1;
	t->bs = t->params.block_size ? t->params.block_size : MB_TAPE_DEFAULT_BLOCK;
	if (check_block_size(t->bs, e) < 0)
		goto fail;
	if (!(t->dev = strdup(arg)) || !(t->scratch = malloc(MB_TAPE_MAX_BLOCK)) ||
	    !(s->path = strdup(arg))) {
		mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to open tape '%s'", arg);
		goto fail;
	}
	t->info.pos.record_size = t->bs;
	if (mbt_open_dev(arg, true, &t->fd, e) < 0 || mbt_set_block(t->fd, arg, t->bs, e) < 0 ||
	    position_first(t, e) < 0)
		goto fail;
	mb_info("tape: writing image as file %u of volume %u of '%s' in '%s', %u-byte records",
		t->info.pos.part[0].file_no, t->volume, t->label, arg, t->bs);
	s->priv = t;
	s->record_size = t->bs;
	return 0;
fail:
	tape_free(t);
	return -1;
}

/* Writes whole records, each one write() to the drive. */
static int tape_write(struct mb_sink *s, const void *buf, size_t len, struct mb_error *e)
{
	struct tape_sink *t = s->priv;
	const unsigned char *p = buf;

	if (len % t->bs)
		return mb_fail(e, MB_ERR_INTERNAL, 0, "%zu bytes for tape '%s' are not whole "
			       "%u-byte records", len, t->dev, t->bs);
	for (; len > 0; len -= t->bs, p += t->bs) {
		if (t->info.records == 0)
			clock_gettime(CLOCK_MONOTONIC, &t->t_first);
		if (drive_record(t, p, e) < 0)
			return -1;
		clock_gettime(CLOCK_MONOTONIC, &t->t_last);
		s->bytes += t->bs;
	}
	return 0;
}

/* The ring above says how often it ran dry (s->ran_dry). */
static void report(struct tape_sink *t, const struct mb_sink *s)
{
	uint64_t ns = t->info.records ? ns_between(&t->t_first, &t->t_last) : 0;
	double mbs = ns ? (double)t->info.records * t->bs / 1e6 / ((double)ns / 1e9) : 0;

	t->info.underruns = s->ran_dry;
	t->info.drive_ns = ns;
	mb_info("tape: %llu records of %u bytes on %zu volume(s), drive rate %.1f MB/s, "
		"buffer ran dry %llu time(s)", (unsigned long long)t->info.records, t->bs,
		t->info.pos.n_parts, mbs, (unsigned long long)t->info.underruns);
}

static int tape_close(struct mb_sink *s, struct mb_media_position *where, struct mb_error *e)
{
	struct tape_sink *t = s->priv;
	int rc = mbt_op(t->fd, t->dev, MTWEOF, 1, e);
	if (rc == 0)
		report(t, s);
	if (rc == 0 && where)
		*where = t->info.pos;
	if (rc == 0 && close(t->fd) < 0)
		rc = mb_fail(e, MB_ERR_MEDIA, errno, "unable to close tape '%s'", t->dev);
	else if (rc < 0)
		close(t->fd);
	t->fd = -1;
	tape_free(t);
	s->priv = NULL;
	s->fd = -1;
	return rc;
}

/* Another image follows (a rescue image): it gets a tape file of its own,
 * and the parts from now on are its parts. */
static int tape_mark(struct mb_sink *s, struct mb_error *e)
{
	struct tape_sink *t = s->priv;

	if (mbt_op(t->fd, t->dev, MTWEOF, 1, e) < 0)
		return -1;
	t->file_no++;
	t->written = 0;
	t->info.pos.part[0] = (struct mb_media_part){ .volume = t->volume, .file_no = t->file_no };
	snprintf(t->info.pos.part[0].label, sizeof(t->info.pos.part[0].label), "%s", t->label);
	t->info.pos.n_parts = 1;
	mb_info("tape: writing image as file %u of volume %u of '%s' in '%s', %u-byte records",
		t->file_no, t->volume, t->label, t->dev, t->bs);
	return 0;
}

static void tape_abort(struct mb_sink *s)
{
	struct tape_sink *t = s->priv;

	if (!t)
		return;
	tape_free(t);
	s->priv = NULL;
	s->fd = -1;
}

const struct mb_media_ops mbm_tape_ops = {
	.name = "tape", .check = tape_check, .open_write = tape_open, .write = tape_write, .close = tape_close,
	.abort = tape_abort, .mark = tape_mark, .has_position = true, .streams = true,
	.open_read = mbt_open_read, .read = mbt_read, .seek = mbt_seek,
	.next_image = mbt_next_image, .close_read = mbt_close_read,
	.read_stats = mbt_read_stats,
};
