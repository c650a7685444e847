/*
 * Unit tests for the paced read of a live file (a WAL segment copied
 * after the backup's end): common/range.c's mb_read_range_pieces hands
 * every piece to a callback before reading it, and orchestrator/pace.c's
 * mb_pace_piece cuts it to ~20 ms of the rate and takes it from the run's
 * bucket.  Checked by what reached the emitter and by the bucket's own
 * counters, never by the clock.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/range.h"
#include "orchestrator/pace.h"
#include "tests/lib/tap.h"

#define KiB (1ull << 10)
#define MiB (1ull << 20)

struct seen {
	size_t calls, largest;
	uint64_t bytes;
	unsigned sum;		/* of the bytes, to see they are the file's */
};

static int record(void *arg, const void *buf, size_t len, struct mb_error *e)
{
	struct seen *s = arg;

	s->calls++;
	s->bytes += len;
	if (len > s->largest)
		s->largest = len;
	for (size_t i = 0; i < len; i++)
		s->sum += ((const unsigned char *)buf)[i];
	return 0;
}

/* A piece callback that lowers each piece to 1000 bytes, and fails on
 * the fourth call. */
static int small_then_fail(void *arg, size_t *n, struct mb_error *e)
{
	int *calls = arg;

	if (++*calls == 4)
		return mb_fail(e, MB_ERR_INTERRUPTED, 0, "interrupted by SIGTERM");
	if (*n > 1000)
		*n = 1000;
	return 0;
}

/* The seam: this pread stands in for libc's (the test's own symbol wins
 * at link time) and fails with EINTR as often as eintr_left says, as a
 * read does that a signal with a handler cuts short. */
static int eintr_left, eintr_seen;

ssize_t pread(int fd, void *buf, size_t n, off_t off)
{
	if (eintr_left > 0) {
		eintr_left--;
		eintr_seen++;
		errno = EINTR;
		return -1;
	}
	return syscall(SYS_pread64, fd, buf, n, off);
}

static char path[] = "/tmp/test_pace_piece.XXXXXX";
static unsigned file_sum;

static int make_file(uint64_t size)
{
	char *b = malloc(size);
	int fd = mkstemp(path);

	if (!b || fd < 0)
		return -1;
	for (uint64_t i = 0; i < size; i++)
		file_sum += (unsigned char)(b[i] = (char)(i * 7 + 3));
	if (write(fd, b, size) != (ssize_t)size)
		return -1;
	close(fd);
	free(b);
	return 0;
}

static void test_pieces(char *buf)
{
	struct mb_error e = { 0 };
	struct seen s = { 0 };
	int calls = 0;

	is_int(mb_read_range_pieces(path, 0, MiB, buf, MiB, NULL, NULL, record, &s, &e), 0,
	       "no piece callback: the file in one read of the buffer");
	is_int((long long)s.calls, 1, "  one emit");
	s = (struct seen){ 0 };
	is_int(mb_read_range_pieces(path, 100, 2500, buf, MiB, small_then_fail, &calls, record,
				    &s, &e), 0, "pieces lowered to 1000 bytes");
	is_int((long long)s.calls, 3, "  2500 bytes in three reads");
	is_int((long long)s.largest, 1000, "  none longer than the callback allowed");
	calls = 0;
	s = (struct seen){ 0 };
	is_int(mb_read_range_pieces(path, 0, MiB, buf, MiB, small_then_fail, &calls, record, &s,
				    &e), -1, "a failing callback stops the read");
	is_str(e.msg, "interrupted by SIGTERM", "  with its error");
	is_int((long long)s.bytes, 3000, "  after the three pieces it allowed");
}

static void test_eintr(char *buf)
{
	struct mb_error e = { 0 };
	struct seen s = { 0 };
	int calls = 0;

	eintr_left = 2;
	is_int(mb_read_range_pieces(path, 100, 2500, buf, MiB, small_then_fail, &calls, record,
				    &s, &e), 0, "a read interrupted twice (EINTR) is retried");
	is_int(eintr_seen, 2, "  both interruptions were seen");
	is_int((long long)s.bytes, 2500, "  every byte emitted");
	is_int(calls, 3, "  the piece callback asked once a piece, not again for the retries");
}

/* 8 MiB/s: a piece is 20 ms of it (167772 bytes); 1 MiB costs 125 ms. */
static void test_paced(char *buf)
{
	struct mb_pace pc = { .p = { .max_rate = 8 * MiB, .ioprio = -1 } };
	struct mb_error e = { 0 };
	struct seen s = { 0 };

	mb_ratelimit_init(&pc.rl, pc.p.max_rate);
	is_int(mb_read_range_pieces(path, 0, MiB, buf, MiB, mb_pace_piece, &pc, record, &s, &e),
	       0, "a live file read at --max-rate 8M");
	is_int((long long)s.bytes, (long long)MiB, "  every byte emitted");
	ok(s.sum == file_sum, "  and they are the file's");
	is_int((long long)s.largest, (long long)(8 * MiB / 50), "  in pieces of 20 ms of the rate");
	is_int((long long)s.calls, (long long)((MiB + 8 * MiB / 50 - 1) / (8 * MiB / 50)),
	       "  so many of them");
	is_int((long long)pc.rl.bytes, (long long)MiB, "  the bucket took each, the file in all");
	ok(pc.rl.waited_us > 0, "  and made the reader wait");
	mb_ratelimit_destroy(&pc.rl);

	/* a slow rate: the pieces stay at 64 KiB, not 20 ms of 1 MiB/s */
	pc = (struct mb_pace){ .p = { .max_rate = 1 * MiB, .ioprio = -1 } };
	s = (struct seen){ 0 };
	mb_ratelimit_init(&pc.rl, pc.p.max_rate);
	is_int(mb_read_range_pieces(path, 0, 256 * KiB, buf, MiB, mb_pace_piece, &pc, record, &s,
				    &e), 0, "at --max-rate 1M");
	is_int((long long)s.largest, (long long)MB_PACE_LIVE_PIECE, "  pieces of 64 KiB at least");
	mb_ratelimit_destroy(&pc.rl);

	pc = (struct mb_pace){ .p = { .ioprio = -1 } };
	s = (struct seen){ 0 };
	is_int(mb_read_range_pieces(path, 0, MiB, buf, MiB, mb_pace_piece, &pc, record, &s, &e),
	       0, "no pace: the buffer's size");
	is_int((long long)s.calls, 1, "  one piece");
}

int main(void)
{
	char *buf = malloc(MiB);

	if (!buf || make_file(MiB) < 0) {
		printf("Bail out! unable to make '%s': %s\n", path, strerror(errno));
		return 1;
	}
	plan(23);
	test_pieces(buf);
	test_eintr(buf);
	test_paced(buf);
	unlink(path);
	free(buf);
	return done_testing();
}
