/*
 * Unit tests for plugins/media/writebehind.c: the write-behind of a file
 * image hands each 8 MiB to the disk, waits for the oldest once 4 are in
 * flight, and drops what it waited for from the page cache (mincore shows
 * those pages gone, the newest still there); a pipe turns it off without
 * an error.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "plugins/media/writebehind.h"
#include "tests/lib/tap.h"

#define MiB (1ull << 20)

/* Pages of [off, off + len) of fd in the page cache. */
static long resident(int fd, uint64_t off, uint64_t len)
{
	long page = sysconf(_SC_PAGESIZE), n = (long)(len / page), in = 0;
	unsigned char *vec = calloc((size_t)n, 1);
	void *p = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, (off_t)off);

	if (p == MAP_FAILED || !vec || mincore(p, len, vec) < 0)
		in = -1;
	for (long i = 0; in >= 0 && i < n; i++)
		in += vec[i] & 1;
	if (p != MAP_FAILED)
		munmap(p, len);
	free(vec);
	return in;
}

static void test_file(void)
{
	char path[] = "/var/tmp/test-writebehind.XXXXXX";
	int fd = mkstemp(path);
	char *buf = malloc(MiB);
	struct mbm_writebehind wb = { 0 };
	struct mb_error e = { 0 };
	uint64_t written = 0;
	int rc = 0;

	memset(buf, 'x', MiB);
	for (int i = 0; i < 64 && rc == 0; i++) {
		rc = write(fd, buf, MiB) == (ssize_t)MiB ? 0 : -1;
		written += MiB;
		if (rc == 0)
			rc = mbm_wb_advance(&wb, fd, written, path, &e);
	}
	is_int(rc, 0, "64 MiB written with write-behind");
	is_int(wb.started, 64 * MiB, "every whole 8 MiB handed to the disk");
	is_int(wb.done, 32 * MiB, "all but the newest 4 chunks waited for");
	is_int(resident(fd, 0, 32 * MiB), 0, "what was waited for left the page cache");
	ok(resident(fd, 56 * MiB, 8 * MiB) > 0, "the newest chunk is still cached");
	mbm_wb_advance(&wb, fd, written + MiB / 2, path, &e);
	is_int(wb.started, 64 * MiB, "a part of a chunk waits for the rest");
	close(fd);
	unlink(path);
	free(buf);
}

static void test_pipe(void)
{
	int p[2];
	struct mbm_writebehind wb = { 0 };
	struct mb_error e = { 0 };

	if (pipe(p) < 0) {
		ok(0, "pipe");
		return;
	}
	is_int(mbm_wb_advance(&wb, p[1], 16 * MiB, "pipe", &e), 0, "a pipe: no error");
	ok(wb.off, "  write-behind off for it");
	is_int(e.code, 0, "  nothing reported");
	close(p[0]);
	close(p[1]);
}

int main(void)
{
	plan(9);
	test_file();
	test_pipe();
	return done_testing();
}
