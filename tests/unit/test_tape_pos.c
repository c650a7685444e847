/*
 * The tape head's position as the reader counts it (plugins/media/
 * tape_pos.c): a move forward spaces records inside the tape file or
 * filemarks to a later one, and only a position behind the head (or an
 * unknown one) costs a rewind.  One table, every branch: each row puts
 * the counted head somewhere, makes one call (goto, rewind, read, locate)
 * against a scripted drive, and checks the exact return, the operations
 * the drive was told, where the head is counted afterwards, the counters
 * and the error.
 *
 * The drive is this file's ioctl(): on the drive's descriptors it answers
 * MTIOCTOP (one op of the row may fail with its errno) and MTIOCGET (the
 * row's status bits, or a failure), and logs each op as "REW", "FSF2",
 * "FSR7", "SEEK100"; any other descriptor goes to the kernel.  Reads are
 * real: a record is a read of /dev/zero, a filemark one of /dev/null, an
 * error one of a closed descriptor (tape_dev.c's mbt_read_record tells
 * them apart, with the row's status for the end of data).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mtio.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "plugins/media/tape.h"
#include "tests/lib/tap.h"

#define DEV "/dev/nst7"
#define CAP 4096
#define EOF_ (0x80000000L)	/* GMT_EOF's bit */
#define EOD_ (0x08000000L)	/* GMT_EOD's */
#define EOT_ (0x20000000L)	/* GMT_EOT's */

static int fd_record = -1, fd_mark = -1;

static struct {
	char ops[128];		/* what the drive was told, space-separated */
	short fail_op;		/* this MTIOCTOP op fails (0: none) */
	int fail_errno;
	bool get_fails;		/* MTIOCGET fails */
	long gstat;		/* the status MTIOCGET gives */
} drive;

static void log_op(const struct mtop *o)
{
	const char *name = o->mt_op == MTREW ? "REW" : o->mt_op == MTFSF ? "FSF"
			 : o->mt_op == MTFSR ? "FSR" : o->mt_op == MTSEEK ? "SEEK" : "OP";
	size_t len = strlen(drive.ops);
	char count[16] = "";

	if (o->mt_op != MTREW)
		snprintf(count, sizeof(count), "%d", o->mt_count);
	snprintf(drive.ops + len, sizeof(drive.ops) - len, "%s%s%s", len ? " " : "", name, count);
}

int ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (fd < 0 || (fd != fd_record && fd != fd_mark))
		return (int)syscall(SYS_ioctl, fd, req, arg);
	if (req == MTIOCGET) {
		if (drive.get_fails)
			return errno = EIO, -1;
		memset(arg, 0, sizeof(struct mtget));
		((struct mtget *)arg)->mt_gstat = drive.gstat;
		return 0;
	}
	if (req != MTIOCTOP)
		return errno = ENOTTY, -1;
	log_op(arg);
	if (((struct mtop *)arg)->mt_op == drive.fail_op)
		return errno = drive.fail_errno, -1;
	return 0;
}

enum call { GOTO, REWIND, READ, LOCATE };
enum src { RECORD, MARK, BAD };		/* what a READ reads */

struct row {
	const char *name;
	enum call call;
	long file;		/* the head counted here before */
	uint64_t rec;
	long to_file;		/* GOTO, LOCATE: the target; READ: an enum src */
	uint64_t to_rec;
	long blk;		/* LOCATE */
	short fail_op;
	int fail_errno;
	long gstat;
	bool get_fails;
	long rc;		/* what the call returns */
	const char *ops;	/* what the drive was told */
	long end_file;		/* the head counted here after */
	uint64_t end_rec;
	uint64_t rewinds, files, records;	/* counted by the call */
	const char *msg;	/* the error ("": none set) */
};

#define EIO_MSG ": Input/output error"
static const struct row rows[] = {
	/* mbt_goto: forward by records, forward by filemarks, back by a rewind */
	{ "goto: forward in the same file", GOTO, 1, 3, 1, 10, .ops = "FSR7",
	  .end_file = 1, .end_rec = 10, .records = 7, .msg = "" },
	{ "goto: already there", GOTO, 1, 10, 1, 10, .ops = "",
	  .end_file = 1, .end_rec = 10, .msg = "" },
	{ "goto: a record of a later file", GOTO, 1, 3, 3, 4, .ops = "FSF2 FSR4",
	  .end_file = 3, .end_rec = 4, .files = 2, .records = 4, .msg = "" },
	{ "goto: the start of a later file", GOTO, 0, 1, 2, 0, .ops = "FSF2",
	  .end_file = 2, .end_rec = 0, .files = 2, .msg = "" },
	{ "goto: behind in the same file", GOTO, 2, 5, 2, 1, .ops = "REW FSF2 FSR1",
	  .end_file = 2, .end_rec = 1, .rewinds = 1, .files = 2, .records = 1, .msg = "" },
	{ "goto: an earlier file", GOTO, 3, 0, 1, 2, .ops = "REW FSF1 FSR2",
	  .end_file = 1, .end_rec = 2, .rewinds = 1, .files = 1, .records = 2, .msg = "" },
	{ "goto: the label again", GOTO, 0, 1, 0, 0, .ops = "REW",
	  .end_file = 0, .end_rec = 0, .rewinds = 1, .msg = "" },
	{ "goto: from an unknown position", GOTO, -1, 4, 2, 3, .ops = "REW FSF2 FSR3",
	  .end_file = 2, .end_rec = 3, .rewinds = 1, .files = 2, .records = 3, .msg = "" },
	{ "goto: the label from an unknown position", GOTO, -1, 0, 0, 0, .ops = "REW",
	  .end_file = 0, .end_rec = 0, .rewinds = 1, .msg = "" },
	{ "goto: the rewind fails", GOTO, 2, 5, 1, 0, .fail_op = MTREW, .fail_errno = EIO,
	  .rc = -1, .ops = "REW", .end_file = -1, .end_rec = 5,
	  .msg = "unable to rewind (1) on tape '" DEV "'" EIO_MSG },
	{ "goto: the filemark space fails", GOTO, 1, 0, 3, 0, .fail_op = MTFSF, .fail_errno = EIO,
	  .rc = -1, .ops = "FSF2", .end_file = -1, .end_rec = 0,
	  .msg = "unable to forward space file (2) on tape '" DEV "'" EIO_MSG },
	/* a record space that stops early: the file is shorter (-2, no error) */
	{ "goto: the file ends early (filemark status)", GOTO, 1, 3, 1, 10, .fail_op = MTFSR,
	  .fail_errno = EINVAL, .gstat = EOF_, .rc = -2, .ops = "FSR7", .end_file = -1,
	  .end_rec = 3, .msg = "" },
	{ "goto: the file ends early (end-of-data status)", GOTO, 1, 3, 1, 10, .fail_op = MTFSR,
	  .fail_errno = EINVAL, .gstat = EOD_, .rc = -2, .ops = "FSR7", .end_file = -1,
	  .end_rec = 3, .msg = "" },
	{ "goto: the file ends early (EIO, no status: the emulated drive)", GOTO, 1, 3, 1, 10,
	  .fail_op = MTFSR, .fail_errno = EIO, .rc = -2, .ops = "FSR7", .end_file = -1,
	  .end_rec = 3, .msg = "" },
	{ "goto: a later file shorter than the record", GOTO, 1, 3, 3, 4, .fail_op = MTFSR,
	  .fail_errno = EIO, .rc = -2, .ops = "FSF2 FSR4", .end_file = -1, .end_rec = 0,
	  .files = 2, .msg = "" },
	{ "goto: after a rewind, the file shorter", GOTO, 2, 5, 2, 1, .fail_op = MTFSR,
	  .fail_errno = EIO, .rc = -2, .ops = "REW FSF2 FSR1", .end_file = -1, .end_rec = 0,
	  .rewinds = 1, .files = 2, .msg = "" },
	/* a record space that fails otherwise: an error */
	{ "goto: the record space fails (no status)", GOTO, 1, 3, 1, 10, .fail_op = MTFSR,
	  .fail_errno = EINVAL, .rc = -1, .ops = "FSR7", .end_file = -1, .end_rec = 3,
	  .msg = "unable to forward space record (7) on tape '" DEV "': Invalid argument" },
	{ "goto: the record space fails, the status unreadable", GOTO, 1, 3, 1, 10,
	  .fail_op = MTFSR, .fail_errno = EIO, .get_fails = true, .rc = -1, .ops = "FSR7",
	  .end_file = -1, .end_rec = 3,
	  .msg = "unable to forward space record (7) on tape '" DEV "'" EIO_MSG },
	/* mbt_rewind */
	{ "rewind", REWIND, 3, 7, .ops = "REW", .end_file = 0, .end_rec = 0, .rewinds = 1,
	  .msg = "" },
	{ "rewind: refused", REWIND, 3, 7, .fail_op = MTREW, .fail_errno = EIO, .rc = -1,
	  .ops = "REW", .end_file = -1, .end_rec = 7,
	  .msg = "unable to rewind (1) on tape '" DEV "'" EIO_MSG },
	/* mbt_drive_read */
	{ "read: a record", READ, 1, 2, RECORD, .rc = CAP, .ops = "", .end_file = 1,
	  .end_rec = 3, .msg = "" },
	{ "read: a record, the position unknown", READ, -1, 2, RECORD, .rc = CAP, .ops = "",
	  .end_file = -1, .end_rec = 2, .msg = "" },
	{ "read: a filemark", READ, 1, 2, MARK, .rc = 0, .ops = "", .end_file = 2, .end_rec = 0,
	  .msg = "" },
	{ "read: a filemark, the position unknown", READ, -1, 2, MARK, .rc = 0, .ops = "",
	  .end_file = -1, .end_rec = 2, .msg = "" },
	{ "read: an error", READ, 1, 2, BAD, .rc = -1, .ops = "", .end_file = -1, .end_rec = 2,
	  .msg = "unable to read tape '" DEV "': Bad file descriptor" },
	{ "read: stale bytes past the end of data", READ, 2, 5, RECORD, .gstat = EOD_, .rc = -2,
	  .ops = "", .end_file = 2, .end_rec = 5, .msg = "" },
	{ "read: a blank tape (end of medium)", READ, 0, 0, MARK, .gstat = EOT_, .rc = -2,
	  .ops = "", .end_file = 0, .end_rec = 0, .msg = "" },
	/* mbt_locate */
	{ "locate: no block known", LOCATE, 1, 2, 3, 4, .blk = -1, .rc = -1, .ops = "",
	  .end_file = 1, .end_rec = 2, .msg = "" },
	{ "locate: the drive refuses", LOCATE, 1, 2, 3, 4, .blk = 100, .fail_op = MTSEEK,
	  .fail_errno = EIO, .rc = -1, .ops = "SEEK100", .end_file = 1, .end_rec = 2, .msg = "" },
	{ "locate", LOCATE, 1, 2, 3, 4, .blk = 100, .ops = "SEEK100", .end_file = 3, .end_rec = 4,
	  .msg = "" },
	{ "locate: from an unknown position", LOCATE, -1, 0, 1, 0, .blk = 7, .ops = "SEEK7",
	  .end_file = 1, .end_rec = 0, .msg = "" },
};

/* The counters start off zero: a call adds to them, never sets them. */
#define R0 3
#define F0 30
#define S0 300

static long call(const struct row *r, struct mbt_drive *d, struct mb_error *e)
{
	static char buf[CAP];

	switch (r->call) {
	case GOTO:
		return mbt_goto(d, (uint32_t)r->to_file, r->to_rec, e);
	case REWIND:
		return mbt_rewind(d, e);
	case READ:
		d->fd = r->to_file == RECORD ? fd_record : r->to_file == MARK ? fd_mark : -1;
		return (long)mbt_drive_read(d, buf, sizeof(buf), e);
	case LOCATE:
		return mbt_locate(d, r->blk, (uint32_t)r->to_file, r->to_rec);
	}
	return -99;
}

static void run_row(const struct row *r)
{
	struct mbt_drive d = { .fd = fd_record, .dev = DEV, .file = r->file, .rec = r->rec,
			       .rewinds = R0, .files_spaced = F0, .records_spaced = S0 };
	struct mb_error e = { 0 };
	char got[1400], want[1400];
	long rc;

	memset(&drive, 0, sizeof(drive));
	drive.fail_op = r->fail_op;
	drive.fail_errno = r->fail_errno;
	drive.gstat = r->gstat;
	drive.get_fails = r->get_fails;
	rc = call(r, &d, &e);
	snprintf(got, sizeof(got), "rc %ld, ops '%s', at %ld/%llu, +%llu rewinds, +%llu files, "
		 "+%llu records, error '%s'", rc, drive.ops, d.file, (unsigned long long)d.rec,
		 (unsigned long long)(d.rewinds - R0), (unsigned long long)(d.files_spaced - F0),
		 (unsigned long long)(d.records_spaced - S0), e.msg);
	snprintf(want, sizeof(want), "rc %ld, ops '%s', at %ld/%llu, +%llu rewinds, +%llu files, "
		 "+%llu records, error '%s'", r->rc, r->ops, r->end_file,
		 (unsigned long long)r->end_rec, (unsigned long long)r->rewinds,
		 (unsigned long long)r->files, (unsigned long long)r->records, r->msg);
	is_str(got, want, r->name);
	is_int(e.code, r->msg[0] ? MB_ERR_MEDIA : MB_OK,
	       r->msg[0] ? "  its error is a media error" : "  and no error is set");
}

int main(void)
{
	fd_record = open("/dev/zero", O_RDONLY | O_CLOEXEC);
	fd_mark = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd_record < 0 || fd_mark < 0)
		return diag("unable to open /dev/zero or /dev/null"), 1;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		run_row(&rows[i]);
	close(fd_record);
	close(fd_mark);
	return done_testing();
}
