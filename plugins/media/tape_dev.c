/*
 * st(4) helpers shared by the tape sink and the tape reader: opening a
 * non-rewinding node with its checks, mt operations, one-record reads that
 * tell a filemark from the end of data, the label / end-of-volume records
 * and the volume-change hook.
 */
#include "plugins/media/tape.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mtio.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/spawn.h"

#define ST_MAJOR 9
#define ST_NOREWIND 0x80	/* minor bit of the /dev/nstN nodes */

int mbt_check_node(const char *dev, struct mb_error *e)
{
	struct stat st;

	if (stat(dev, &st) < 0)
		return mb_fail(e, MB_ERR_MEDIA, errno, "unable to use tape '%s'", dev);
	if (!S_ISCHR(st.st_mode) || major(st.st_rdev) != ST_MAJOR) {
		mb_fail(e, MB_ERR_MEDIA, 0, "'%s' is not a tape device", dev);
		mb_hint(e, "tape: needs a SCSI tape node such as /dev/nst0");
		return -1;
	}
	if (!(minor(st.st_rdev) & ST_NOREWIND)) {
		mb_fail(e, MB_ERR_MEDIA, 0, "'%s' rewinds on close", dev);
		mb_hint(e, "use the non-rewinding node (/dev/nstN) so images can follow each other");
		return -1;
	}
	return 0;
}

int mbt_open_dev(const char *dev, bool write, int *fd, struct mb_error *e)
{
	struct mtget g;

	*fd = -1;
	if (mbt_check_node(dev, e) < 0)
		return -1;
	*fd = open(dev, (write ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	if (*fd < 0 && (errno == EROFS || errno == EACCES)) {
		mb_fail(e, MB_ERR_MEDIA, 0, "tape in '%s' is write-protected", dev);
		mb_hint(e, "slide the write-protect tab or load another tape");
		return -1;
	}
	if (*fd < 0 && errno == ENOMEDIUM) {
		mb_fail(e, MB_ERR_MEDIA, 0, "no tape in '%s'", dev);
		mb_hint(e, "load a tape and run again");
		return -1;
	}
	if (*fd < 0)
		return mb_fail(e, MB_ERR_MEDIA, errno, "unable to open tape '%s'", dev);
	if (ioctl(*fd, MTIOCGET, &g) < 0) {
		mb_fail(e, MB_ERR_MEDIA, errno, "'%s' is not a tape device", dev);
		goto fail;
	}
	if (write && GMT_WR_PROT(g.mt_gstat)) {
		mb_fail(e, MB_ERR_MEDIA, 0, "tape in '%s' is write-protected", dev);
		mb_hint(e, "slide the write-protect tab or load another tape");
		goto fail;
	}
	return 0;
fail:
	close(*fd);
	*fd = -1;
	return -1;
}

static const char *op_name(short op)
{
	switch (op) {
	case MTREW: return "rewind";
	case MTFSF: return "forward space file";
	case MTFSR: return "forward space record";
	case MTWEOF: return "write filemark";
	case MTSETBLK: return "set block size";
	case MTSEEK: return "seek";
	default: return "operate";
	}
}

int mbt_op(int fd, const char *dev, short op, int count, struct mb_error *e)
{
	struct mtop o = { .mt_op = op, .mt_count = count };

	if (ioctl(fd, MTIOCTOP, &o) < 0)
		return mb_fail(e, MB_ERR_MEDIA, errno, "unable to %s (%d) on tape '%s'",
			       op_name(op), count, dev);
	return 0;
}

int mbt_set_block(int fd, const char *dev, uint32_t bs, struct mb_error *e)
{
	struct mtop o = { .mt_op = MTSETBLK, .mt_count = (int)bs };

	if (ioctl(fd, MTIOCTOP, &o) < 0) {
		mb_fail(e, MB_ERR_MEDIA, errno, "tape drive '%s' refuses record size %u",
			dev, bs);
		mb_hint(e, "choose another --block-size (a multiple of 512 the drive supports)");
		return -1;
	}
	return 0;
}

/* Whether the read just done ran into the end of the recorded data.  A
 * real drive answers a read there with blank check (st: EIO or ENOSPC,
 * GMT_EOD).  The emulated one hands back a full buffer of stale bytes:
 * after the last filemark with GMT_EOD, on a never-written tape with its
 * end-of-medium sense (GMT_EOT, seen at BOT of a blank tape). */
static bool at_end_of_data(int fd)
{
	struct mtget g;

	return ioctl(fd, MTIOCGET, &g) == 0 && (GMT_EOD(g.mt_gstat) || GMT_EOT(g.mt_gstat));
}

ssize_t mbt_read_record(int fd, const char *dev, void *buf, size_t cap,
			struct mb_error *e)
{
	ssize_t n;
	int err;

	do
		n = read(fd, buf, cap);
	while (n < 0 && errno == EINTR);
	err = errno;
	if ((n >= 0 || err == EIO || err == ENOSPC) && at_end_of_data(fd))
		return -2;
	if (n < 0 && err == ENOMEM)
		return mb_fail(e, MB_ERR_CORRUPT, 0, "record on tape '%s' is larger than %zu bytes",
			       dev, cap);
	if (n < 0)	/* a real read error, not the end: never taken for one */
		return mb_fail(e, MB_ERR_MEDIA, err, "unable to read tape '%s'", dev);
	return n;
}

/* A ustar header for one member "name" of len bytes, then its data. */
void mbt_make_record(void *rec, size_t bs, const char *name, const char *text)
{
	unsigned char *h = rec;
	size_t len = strlen(text);
	unsigned sum = 0;

	if (len > bs - 1024)
		len = bs - 1024;	/* our texts are a few hundred bytes */

	memset(rec, 0, bs);
	snprintf((char *)h, 100, "%s", name);
	memcpy(h + 100, "0000644", 7);
	memcpy(h + 108, "0000000", 7);
	memcpy(h + 116, "0000000", 7);
	snprintf((char *)h + 124, 12, "%011o", (unsigned)len & 07777777777u);
	snprintf((char *)h + 136, 12, "%011o", 0);
	h[156] = '0';
	memcpy(h + 257, "ustar\0" "00", 8);
	memset(h + 148, ' ', 8);
	for (int i = 0; i < 512; i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
	memcpy(h + 512, text, len);
}

bool mbt_parse_record(const void *rec, size_t len, const char *name,
		      char *text, size_t cap)
{
	const unsigned char *h = rec;
	unsigned long size;
	unsigned sum = 0, want;
	char f[13];

	if (len < 1024 || strncmp((const char *)h, name, 100) != 0 ||
	    memcmp(h + 257, "ustar\0" "00", 8) != 0)
		return false;
	for (int i = 0; i < 512; i++)
		sum += i >= 148 && i < 156 ? ' ' : h[i];
	memcpy(f, h + 148, 8);
	f[8] = 0;
	if (sscanf(f, "%o", &want) != 1 || want != sum)
		return false;
	memcpy(f, h + 124, 12);
	f[12] = 0;
	size = strtoul(f, NULL, 8);
	if (size >= cap || size > len - 512)
		return false;
	memcpy(text, h + 512, size);
	text[size] = 0;
	return true;
}

bool mbt_kv(const char *text, const char *key, char *out, size_t cap)
{
	size_t kl = strlen(key);

	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		const char *nl;

		if (strncmp(p, key, kl) != 0 || p[kl] != '=')
			continue;
		p += kl + 1;
		nl = strchr(p, '\n');
		snprintf(out, cap, "%.*s", (int)(nl ? (size_t)(nl - p) : strlen(p)), p);
		return true;
	}
	return false;
}

/* The command split on spaces (no shell, no quoting). */
int mbt_volume_change(const char *cmd, const char *dev, uint32_t volume,
		      struct mb_error *e)
{
	char *copy = NULL, *argv[64], *save = NULL, num[16];
	size_t n = 0;
	int rc;

	if (!cmd || !*cmd) {
		mb_fail(e, MB_ERR_MEDIA, 0, "volume %u is needed in tape drive '%s'", volume, dev);
		mb_hint(e, "load it and give --volume-change 'COMMAND' to be asked for volumes");
		return -1;
	}
	if (!(copy = strdup(cmd)))
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to run the volume change");
	for (char *t = strtok_r(copy, " ", &save); t && n < 63; t = strtok_r(NULL, " ", &save))
		argv[n++] = t;
	argv[n] = NULL;
	snprintf(num, sizeof(num), "%u", volume);
	setenv("MBACKUP_DEVICE", dev, 1);
	setenv("MBACKUP_VOLUME", num, 1);
	rc = n ? mb_spawn((const char *const *)argv, 3600 * 1000, MB_ERR_MEDIA, NULL, e)
	       : mb_fail(e, MB_ERR_USAGE, 0, "empty --volume-change command");
	unsetenv("MBACKUP_DEVICE");
	unsetenv("MBACKUP_VOLUME");
	free(copy);
	return rc;
}
