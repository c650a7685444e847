/* Unit tests for the tape helpers that need no drive (plugins/media/
 * tape_dev.c, tape.c): the label / end-of-volume records, key=value
 * lookup, the device checks (not a tape, rewinding node), the
 * --block-size check of the sink and the RAM ring filter (ring.c).  The drive itself is exercised in the
 * VM suite (tests/vm/tape-suite.sh). */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "plugins/media/media.h"
#include "plugins/media/tape.h"
#include "tests/lib/tap.h"

#define DIR "/tmp/tape-unit"

static void test_records(void)
{
	static unsigned char rec[65536];
	char text[512], v[64];

	mbt_make_record(rec, sizeof(rec), MBT_LABEL_NAME, "label=MBX\nvolume=3\n");
	ok(memcmp(rec + 257, "ustar\0" "00", 8) == 0, "label record is a ustar header");
	ok(mbt_parse_record(rec, sizeof(rec), MBT_LABEL_NAME, text, sizeof(text)), "label parses");
	is_str(text, "label=MBX\nvolume=3\n", "label text round-trips");
	ok(!mbt_parse_record(rec, sizeof(rec), MBT_EOV_NAME, text, sizeof(text)),
	   "a label is not an end-of-volume record");
	ok(!mbt_parse_record(rec, 512, MBT_LABEL_NAME, text, sizeof(text)),
	   "a record shorter than header + text is refused");
	rec[0] ^= 1;
	ok(!mbt_parse_record(rec, sizeof(rec), MBT_LABEL_NAME, text, sizeof(text)),
	   "a changed name is refused");
	rec[0] ^= 1;
	rec[100] ^= 1;
	ok(!mbt_parse_record(rec, sizeof(rec), MBT_LABEL_NAME, text, sizeof(text)),
	   "a flipped header byte fails the checksum");
	rec[100] ^= 1;
	ok(!mbt_parse_record(rec, sizeof(rec), MBT_LABEL_NAME, text, 8),
	   "text longer than the caller's buffer is refused");
	memset(rec, 0, sizeof(rec));
	ok(!mbt_parse_record(rec, sizeof(rec), MBT_LABEL_NAME, text, sizeof(text)),
	   "zeros (a blank tape's stale bytes) are not a label");

	ok(mbt_kv("label=A\nvolume=12\nimage_byte=99\n", "volume", v, sizeof(v)), "kv found");
	is_str(v, "12", "kv value");
	ok(mbt_kv("label=A\nimage_byte=99", "image_byte", v, sizeof(v)), "kv on the last line");
	is_str(v, "99", "kv last value");
	ok(!mbt_kv("label=A\nvolumes=2\n", "volume", v, sizeof(v)), "kv needs the whole key");
}

static void test_devices(void)
{
	struct mb_error e = { 0 };
	int fd = 7;

	is_int(mbt_open_dev("/dev/null", true, &fd, &e), -1, "/dev/null refused");
	is_int(e.code, MB_ERR_MEDIA, "not a tape: media error");
	is_str(e.msg, "'/dev/null' is not a tape device", "not a tape: message");
	is_int(fd, -1, "not a tape: no fd");
	mb_error_clear(&e);
	if (mknod(DIR "/st0", S_IFCHR | 0600, makedev(9, 0)) < 0 ||
	    mknod(DIR "/nst0", S_IFCHR | 0600, makedev(9, 128)) < 0) {
		skip(4, "mknod of st nodes failed (not root?)");
		return;
	}
	is_int(mbt_open_dev(DIR "/st0", true, &fd, &e), -1, "rewinding node refused");
	is_str(e.msg, "'" DIR "/st0' rewinds on close", "rewinding node: message");
	is_str(e.hint, "use the non-rewinding node (/dev/nstN) so images can follow each other",
	       "rewinding node: hint");
	mb_error_clear(&e);
	/* the node is right, but no drive is behind it on this machine */
	is_int(mbt_open_dev(DIR "/nst0", true, &fd, &e), -1, "no drive behind nst0");
	mb_error_clear(&e);
}

static void test_block_size(void)
{
	struct mb_media_params p = { .block_size = 1000 };
	struct mb_sink *s = NULL;
	struct mb_error e = { 0 };

	is_int(mb_sink_open(&s, "tape:/dev/null", &p, &e), -1, "block size 1000 refused");
	is_int(e.code, MB_ERR_USAGE, "block size: usage error");
	is_str(e.msg, "unsupported --block-size 1000", "block size: message");
	mb_error_clear(&e);
	p.block_size = 2u << 20;
	is_int(mb_sink_open(&s, "tape:/dev/null", &p, &e), -1, "2 MiB refused");
	is_str(e.msg, "unsupported --block-size 2097152", "2 MiB: message");
	mb_error_clear(&e);
	p.block_size = 0;
	is_int(mb_sink_open(&s, "tape:/dev/null", &p, &e), -1, "default size: /dev/null refused");
	is_str(e.msg, "'/dev/null' is not a tape device", "past the size check to the device");
	ok(s == NULL, "no sink after a failed open");
}

/* The RAM ring over a plain file (any sink with a record size): records
 * arrive whole and in order, a mark waits for the ring to drain, and a
 * failure of the sink below (/dev/full) reaches the producer. */
static void test_ring(void)
{
	static unsigned char data[13 * 512], back[13 * 512 + 1];
	struct mb_media_params p = { .force = true };
	struct mb_sink *s = NULL;
	struct mb_error e = { 0 };
	FILE *f;
	size_t n = 0;
	int rc = 0;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)(i * 7 + i / 512);
	is_int(mb_sink_open(&s, "file:" DIR "/ring", &p, &e), 0, "file sink opened");
	s->record_size = 512;
	is_int(mb_sink_push_ring(&s, 4 * 512, NULL, &e), 0, "ring of 4 records pushed");
	is_str(s->ops->name, "ring", "the ring is the top of the chain");
	rc |= mb_sink_write(s, data, 10 * 512, &e);
	rc |= mb_sink_mark(s, &e);
	is_int(s->next->bytes, 10 * 512, "a mark waits until the ring is written");
	/* One record after the ring ran dry: the thread, waiting for the
	 * ring to fill half way, must still write it when a mark waits
	 * (before, both waited for each other; alarm() ends a deadlock). */
	alarm(30);
	rc |= mb_sink_write(s, data + 10 * 512, 512, &e);
	rc |= mb_sink_mark(s, &e);
	alarm(0);
	is_int(s->next->bytes, 11 * 512, "a mark drains a ring holding less than half its size");
	rc |= mb_sink_write(s, data + 11 * 512, 2 * 512, &e);
	is_int(rc, 0, "13 records through the ring");
	is_int(s->bytes, sizeof(data), "the ring counts what it took");
	is_int(mb_sink_close(s, NULL, &e), 0, "ring and file closed");
	if ((f = fopen(DIR "/ring", "rb"))) {
		n = fread(back, 1, sizeof(back), f);
		fclose(f);
	}
	ok(n == sizeof(data) && memcmp(back, data, n) == 0, "the file holds every record in order");
}

static void test_ring_failure(void)
{
	static unsigned char data[64 * 512];
	struct mb_media_params p = { 0 };
	struct mb_sink *s = NULL;
	struct mb_error e = { 0 };
	int rc = 0;

	is_int(mb_sink_open(&s, "file:/dev/full", &p, &e), 0, "/dev/full opened");
	s->record_size = 512;
	is_int(mb_sink_push_ring(&s, 4 * 512, NULL, &e), 0, "ring over /dev/full");
	for (int i = 0; i < 8 && rc == 0; i++)
		rc = mb_sink_write(s, data, sizeof(data), &e);
	if (rc == 0)
		rc = mb_sink_close(s, NULL, &e);
	else
		mb_sink_abort(s);
	is_int(rc, -1, "the sink's failure reaches the producer");
	is_str(e.msg, "unable to write to 'file:/dev/full' at byte 0: No space left on device",
	       "with the sink's own message");
}

int main(void)
{
	plan(43);
	/* other checkouts run this test too: one at a time in DIR */
	tap_lock_dir(DIR);
	if (system("rm -rf " DIR " && mkdir -p " DIR) != 0)
		diag("unable to make " DIR);
	test_records();
	test_devices();
	test_block_size();
	test_ring();
	test_ring_failure();
	if (system("rm -rf " DIR) != 0)
		diag("cleanup failed");
	return done_testing();
}
