/*
 * Where a tape drive's head is, counted by the reader (tape.h, struct
 * mbt_drive), and moves that use it: a tape is read forward; an image
 * after the current one is reached by spacing filemarks, a member further
 * on by spacing records inside its tape file, and only a position behind
 * the head costs a rewind and spacing forward again (the emulated drive's
 * MTBSF and READ POSITION cannot be trusted, a real drive's rewind is a
 * fast wind).
 */
#include "plugins/media/tape.h"

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mtio.h>

#include "common/log.h"

int mbt_rewind(struct mbt_drive *d, struct mb_error *e)
{
	d->file = -1;
	if (mbt_op(d->fd, d->dev, MTREW, 1, e) < 0)
		return -1;
	d->rewinds++;
	d->file = 0;
	d->rec = 0;
	return 0;
}

/* A forward space of records inside one tape file stopped early (err):
 * the file holds fewer records than asked.  A drive says so with a
 * filemark or end-of-data status; the emulated one only fails EIO with
 * neither set, and EIO is taken for the same (the records are not there
 * either way). */
static bool ran_out(const struct mbt_drive *d, int err)
{
	struct mtget g;

	if (ioctl(d->fd, MTIOCGET, &g) < 0)
		return false;
	mb_debug("tape: forward space stopped on '%s': %s, status 0x%lx", d->dev,
		 strerror(err), (unsigned long)g.mt_gstat);
	return GMT_EOF(g.mt_gstat) || GMT_EOD(g.mt_gstat) || err == EIO;
}

static int space(struct mbt_drive *d, short op, uint64_t n, struct mb_error *e)
{
	long file = d->file;

	if (n == 0)
		return 0;
	d->file = -1;		/* unknown until the move is done */
	if (op == MTFSR && ioctl(d->fd, MTIOCTOP, &(struct mtop){ MTFSR, (int)n }) < 0) {
		int err = errno;

		if (ran_out(d, err))
			return -2;
		return mb_fail(e, MB_ERR_MEDIA, err, "unable to forward space record (%llu) on "
			       "tape '%s'", (unsigned long long)n, d->dev);
	}
	if (op != MTFSR && mbt_op(d->fd, d->dev, op, (int)n, e) < 0)
		return -1;
	d->file = file;
	if (op == MTFSF) {
		d->file += (long)n;
		d->rec = 0;
		d->files_spaced += n;
	} else {
		d->rec += n;
		d->records_spaced += n;
	}
	return 0;
}

int mbt_goto(struct mbt_drive *d, uint32_t file, uint64_t rec, struct mb_error *e)
{
	if (d->file == (long)file && d->rec <= rec)
		return space(d, MTFSR, rec - d->rec, e);
	if (d->file < 0 || d->file > (long)file || (d->file == (long)file && d->rec > rec)) {
		mb_debug("tape: rewinding '%s' to reach record %llu of file %u", d->dev,
			 (unsigned long long)rec, file);
		if (mbt_rewind(d, e) < 0)
			return -1;
	}
	if (space(d, MTFSF, file - (uint32_t)d->file, e) < 0)
		return -1;
	return space(d, MTFSR, rec, e);	/* -2: the file has fewer records */
}

ssize_t mbt_drive_read(struct mbt_drive *d, void *buf, size_t cap, struct mb_error *e)
{
	ssize_t n = mbt_read_record(d->fd, d->dev, buf, cap, e);

	if (n > 0 && d->file >= 0)
		d->rec++;
	else if (n == 0 && d->file >= 0)
		d->file++, d->rec = 0;
	else if (n == -1)	/* an error: start again from BOT */
		d->file = -1;
	/* the end of data (-2): nothing lies ahead, the head stays counted
	 * where the data ends; any move to data is back, by a rewind */
	return n;
}

int mbt_locate(struct mbt_drive *d, long blk, uint32_t file, uint64_t rec)
{
	struct mtop seek = { .mt_op = MTSEEK, .mt_count = (int)blk };

	if (blk < 0 || ioctl(d->fd, MTIOCTOP, &seek) != 0)
		return -1;
	d->file = (long)file;
	d->rec = rec;
	return 0;
}
