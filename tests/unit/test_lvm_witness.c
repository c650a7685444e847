/*
 * The dm-stats witness (plugins/mirror/lvm_witness.c): the area size, and
 * the kernel's replies to @stats_list and @stats_print as its
 * statistics.rst prints them.
 */
#include "tests/lib/tap.h"
#include "plugins/mirror/lvm_witness.h"

static void test_area(void)
{
	ok(mb_lvm_witness_area(800ull << 20, 2) == 64u << 10, "800 MiB, 2 CPUs: areas of 64 KiB");
	ok(mb_lvm_witness_area(4ull << 40, 2) == 64ull << 20,
	   "4 TiB: at most 65536 areas (64 MiB each)");
	ok(mb_lvm_witness_area(8ull << 30, 256) == 16u << 20,
	   "8 GiB on 256 CPUs: the kernel's counters stay under 32 MiB (16 MiB areas)");
	ok(mb_lvm_witness_area(4096, 1) == 64u << 10, "a tiny device: one area of 64 KiB");
}

static void test_list(void)
{
	struct mb_lvm_witness_region r[2];
	const char *text = "0: 0+1638400 128 dmstats -\n"
			   "3: 0+1638400 128 mbackup-split -\n"
			   "5: 2048+4096 4096 mbackup-split - precise_timestamps\n"
			   "garbage\n";

	is_int(mb_lvm_witness_parse_list(text, r, 2), 2, "two regions of mbackup's program listed");
	ok(r[0].id == 3 && r[0].start == 0 && r[0].len == 1638400 && r[0].step == 128,
	   "... the first: id, start, length and step");
	ok(r[1].id == 5 && r[1].start == 2048, "... the second, with a feature after its aux data");
	is_int(mb_lvm_witness_parse_list("", r, 2), 0, "an empty reply: none");
	is_int(mb_lvm_witness_parse_list(text, r, 1), 2, "counted past max, stored up to it");
}

static void test_print(void)
{
	const struct mb_lvm_witness_region r = { 3, 0, 512, 128 };
	struct mb_lvm_dirty d;
	struct mb_error e = { 0 };
	/* reads, merged, sectors, ms; writes, merged, sectors, ms; in flight, ... */
	const char *text = "0+128 5 0 40 1 0 0 0 0 0 1 1 1 0\n"
			   "128+128 0 0 0 0 2 0 16 3 0 3 3 0 3\n"
			   "256+128 0 0 0 0 0 0 0 0 1 1 1 0 0\n"
			   "384+128 0 0 0 0 0 0 0 0 0 0 0 0 0\n";

	is_int(mb_lvm_witness_parse_print(text, &r, &d, &e), 0, "a region's print parses");
	ok(d.chunks == 4 && d.chunk_bytes == 65536, "... four areas of 64 KiB");
	is_int((int)d.dirty, 2, "... two written: one with writes done, one with I/O in flight");
	ok(d.bits[0] == 0x6, "... areas 1 and 2 (reads alone mark nothing)");
	mb_lvm_dirty_free(&d);
	is_int(mb_lvm_witness_parse_print("0+128 5 0 40 1 0 0 0 0 0 1 1 1 0\n", &r, &d, &e), -1,
	       "fewer lines than areas: refused");
	is_str(e.msg, "the I/O statistics have 1 areas, not 4", "... saying so");
	memset(&e, 0, sizeof(e));
	is_int(mb_lvm_witness_parse_print("0+128 x\n", &r, &d, &e), -1, "a line that does not parse: refused");
	is_str(e.msg, "unable to parse the I/O statistics line '0+128 x'", "... quoting it");
	memset(&e, 0, sizeof(e));
	is_int(mb_lvm_witness_parse_print("64+128 0 0 0 0 0 0 0 0 0 0 0\n", &r, &d, &e), -1,
	       "an area off the region's step: refused");
}

int main(void)
{
	test_area();
	test_list();
	test_print();
	return done_testing();
}
