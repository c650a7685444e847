/*
 * Discard-behind's block accounting (plugins/mirror/discard.c) on a real
 * loop device, whose discards punch holes in its backing file (so a
 * discarded block reads back as zeros): the blocks outside the plan go
 * at once, a block shared by two ranges stays until both are streamed.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "plugins/mirror/discard.h"
#include "tests/lib/tap.h"

#define BLK (64u << 10)
#define NBLK 16u

static char loopdev[64], backing[] = "/var/tmp/mbackup-test-discard.XXXXXX";
static int loopfd = -1;

static int loop_up(void)
{
	int ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC), n, fd;
	char *buf = malloc(BLK);

	if (ctl < 0 || !buf || (fd = mkstemp(backing)) < 0)
		return -1;
	memset(buf, 0xaa, BLK);
	for (unsigned i = 0; i < NBLK; i++)
		if (write(fd, buf, BLK) != (ssize_t)BLK)
			return -1;
	free(buf);
	if ((n = ioctl(ctl, LOOP_CTL_GET_FREE)) < 0)
		return -1;
	close(ctl);
	snprintf(loopdev, sizeof(loopdev), "/dev/loop%d", n);
	if ((loopfd = open(loopdev, O_RDWR | O_CLOEXEC)) < 0 || ioctl(loopfd, LOOP_SET_FD, fd) < 0)
		return -1;
	close(fd);
	return 0;
}

static void loop_down(void)
{
	if (loopfd >= 0) {
		ioctl(loopfd, LOOP_CLR_FD, 0);
		close(loopfd);
	}
	unlink(backing);
}

/* "k" for a block that holds its bytes, "0" for one discarded. */
static const char *blocks(void)
{
	static char s[NBLK + 1];
	int fd = open(loopdev, O_RDONLY | O_DIRECT | O_CLOEXEC);
	void *al = NULL;

	if (fd < 0 || posix_memalign(&al, 4096, BLK) != 0)
		return "unreadable";
	for (unsigned i = 0; i < NBLK; i++) {
		if (pread(fd, al, BLK, (off_t)i * BLK) != (ssize_t)BLK)
			return "short read";
		s[i] = ((unsigned char *)al)[BLK / 2] == 0xaa ? 'k' : ((char *)al)[BLK / 2] == 0 ? '0' : '?';
	}
	s[NBLK] = '\0';
	close(fd);
	free(al);
	return s;
}

int main(void)
{
	/* a: blocks 0-1; b: block 1; c: block 4 (and a zero length) */
	const struct mb_mirror_range a = { 10 << 10, 60 << 10 }, b = { 70 << 10, 5 << 10 },
				     c = { 4 * BLK + 100, 8 << 10 }, z = { 9 * BLK, 0 };
	const struct mb_mirror_range plan_v[] = { a, b, c, z };
	struct mb_discard *d = NULL;
	struct mb_discard_stats st = { 0 };
	struct mb_error e = { 0 };

	if (geteuid() != 0)
		skip_all("needs root for a loop device");
	if (loop_up() < 0) {
		printf("1..1\nnot ok 1 - loop device: %s\n", strerror(errno));
		loop_down();
		return 1;
	}
	plan(13);
	is_str(blocks(), "kkkkkkkkkkkkkkkk", "every block holds its bytes before");
	is_int(mb_discard_open(&d, loopdev, BLK, plan_v, 4, &e), 0, "open plans and discards");
	is_str(blocks(), "kk00k00000000000", "blocks outside the plan are discarded at once");
	mb_discard_get(d, &st);
	is_int((long long)st.outside, 13LL * BLK, "13 blocks given back outside the plan");
	is_int(mb_discard_done(d, &a, 1, &e), 0, "a streamed");
	is_str(blocks(), "0k00k00000000000", "block 0 goes, block 1 stays for b");
	is_int(mb_discard_done(d, &b, 1, &e), 0, "b streamed");
	is_str(blocks(), "0000k00000000000", "block 1 goes once b is streamed too");
	is_int(mb_discard_done(d, &c, 1, &e), 0, "c streamed");
	mb_discard_close(d, &st);
	is_str(blocks(), "0000000000000000", "block 4 goes once c is streamed: nothing is left");
	is_int((long long)st.behind, 3LL * BLK, "3 blocks given back behind the stream");
	d = NULL;
	is_int(mb_discard_open(&d, "/nonexistent-discard", BLK, plan_v, 4, &e), -1,
	       "a missing device fails");
	is_str(e.msg, "unable to open '/nonexistent-discard' to discard: No such file or directory",
	       "with the device and the cause");
	loop_down();
	return done_testing();
}
