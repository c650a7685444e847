/*
 * The classic snapshot's watch (plugins/mirror/snapshot_watch.c) in a
 * closed loop: a fake container that fills as fast as a writer demands,
 * or as its io.max limit lets it, whichever is less.  Each poll stands
 * for SIM_S seconds of writes, twice the poll's period: a late poll
 * against a fast writer (what a loaded CI guest is) is the normal case.  The container must never
 * reach the safety mark although the writer demands far more than it
 * holds; the limit only falls while it fills, is lifted when the fill
 * falls, and is gone after the stop.  Then the abort: a writer faster
 * than the floor (each small write copies a whole chunk: AMP times its
 * bytes; the watch divides the limit by that ratio, from io.stat, or
 * from the limit when the cgroup has no io.stat: the first case) or not throttled at all must see the snapshot dropped before
 * the container is full, the limit lifted at once; a burst within one
 * poll is an invalidation, not a drop.  The cgroup is a directory with a
 * plain io.max file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plugins/mirror/snapshot.h"
#include "tests/lib/tap.h"

#define MIB (1024.0 * 1024.0)
#define TOTAL (16ull << 11)	/* 16 MiB in sectors */
#define SIM_S 0.5		/* seconds of writes per poll: a late poll */

static struct mb_throttle thr;
static double used;		/* bytes */
static double demand = 8 * MIB;	/* bytes per second, unthrottled */
static long long lowest, rises;	/* the limit's lowest; times it rose */
static double drop_to = -1;	/* the next poll empties the container to this */
static double amp = 1;		/* container bytes per byte the limit lets through */
static int drops;		/* fake_drop's calls */
static bool iostat;		/* the cgroup has an io.stat (its writes counted) */
static double wrote;		/* bytes the writer wrote to the origin */

/* io.stat as the kernel keeps it: the cgroup's bytes written, so far. */
static void write_iostat(void)
{
	char path[700];
	FILE *f;

	snprintf(path, sizeof(path), "%s/io.stat", thr.cgroup);
	if (!iostat) {
		unlink(path);
		return;
	}
	if ((f = fopen(path, "w"))) {
		fprintf(f, "8:0 rbytes=1 wbytes=99 rios=1 wios=1 dbytes=0 dios=0\n"
			"253:0 rbytes=4096 wbytes=%.0f rios=1 wios=1 dbytes=0 dios=0\n", wrote);
		fclose(f);
	}
}

static int fake_fill(const char *dm, struct mb_dm_snap_fill *f, struct mb_error *e)
{
	double rate = demand;

	(void)dm;
	(void)e;
	if (thr.set) {
		if (lowest && thr.bps > lowest)
			rises++;
		if (!lowest || thr.bps < lowest)
			lowest = thr.bps;
		if ((double)thr.bps * amp < rate)
			rate = (double)thr.bps * amp;
	}
	used += rate * SIM_S;
	wrote += rate * SIM_S / amp;
	write_iostat();
	if (drop_to >= 0) {
		used = drop_to;
		drop_to = -1;
	}
	if (used > TOTAL * 512.0)
		used = TOTAL * 512.0;
	f->used = (uint64_t)(used / 512);
	f->total = TOTAL;
	f->invalid = used >= TOTAL * 512.0;
	f->meta = false;
	return 0;
}

static const char *iomax(const char *dir)
{
	static char line[128];
	char path[600];
	FILE *f;

	snprintf(path, sizeof(path), "%s/io.max", dir);
	line[0] = 0;
	if ((f = fopen(path, "r"))) {
		if (!fgets(line, sizeof(line), f))
			line[0] = 0;
		fclose(f);
	}
	line[strcspn(line, "\n")] = 0;
	return line;
}

/* ok() with a printf name. */
#define okf(cond, ...) do {                                                 \
	char name_[256];                                                    \
	snprintf(name_, sizeof(name_), __VA_ARGS__);                        \
	ok(cond, name_);                                                    \
} while (0)

/* The classic driver's drop: from now on nothing more is copied. */
static void fake_drop(void *arg)
{
	(void)arg;
	drops++;
	demand = 0;
}

/* A classic watch as snapshot.c starts it: 16 MiB that cannot grow, the
 * drop; throttled unless off. */
static struct mb_snap_watch *start(const char *dir, bool off)
{
	struct mb_snap_watch_conf conf = { .size = 16 << 20, .limit = 16 << 20,
					   .throttle = off ? NULL : &thr, .fill = fake_fill,
					   .drop = fake_drop };
	struct mb_snap_watch *w = NULL;
	struct mb_error e = { 0 };

	snprintf(conf.vg, sizeof(conf.vg), "vg");
	snprintf(conf.snap_lv, sizeof(conf.snap_lv), "lin_mbsnap_1");
	snprintf(conf.snap_dm, sizeof(conf.snap_dm), "vg-lin_mbsnap_1");
	if (mb_snap_watch_start(&w, &conf, &e) < 0)
		diag("%s", e.msg);
	return w;
}

/* Until the watch drops the snapshot or gives up (about 30 s of polls),
 * then one poll more: the watch has done all it does after a drop. */
static void wait_drop(void)
{
	for (int i = 0; i < 120 && !drops; i++)
		usleep(MB_SNAP_POLL_MS * 1000);
	usleep(MB_SNAP_POLL_MS * 1000);
}

/* A fresh container and writer for the next case. */
static void reset(double bps, double a)
{
	used = wrote = 0;
	iostat = true;
	demand = bps;
	amp = a;
	drops = 0;
}

/* The abort cases, each on a fresh watch; the cases' names say which. */
static void aborts(const char *dir)
{
	struct mb_mirror_stats st;
	struct mb_snap_watch *w;

	/* 4 KiB writes into 64 KiB chunks, counted in io.stat: 16 bytes
	 * copied a byte written; the limit divides the room by that, so at
	 * 32 KiB/s of writes (the old floor: 512 KiB/s of fill) it is held. */
	reset(8 * MIB, 16);
	lowest = 0;
	w = start(dir, false);
	usleep(40 * MB_SNAP_POLL_MS * 1000);
	okf(thr.set && !drops && used < TOTAL * 512.0 * 0.92,
	    "amp16: a 16x writer is held under the mark, not dropped (%.1f%%)",
	    100.0 * used / (TOTAL * 512.0));
	memset(&st, 0, sizeof(st));
	mb_snap_watch_stop(w, &st);
	okf(!st.invalidated && st.peak_pct < 92.0 && lowest < (32 << 10) && lowest >= (2 << 10),
	    "amp16: the limit went under 32 KiB/s of writes (%lld B/s), peak %.1f%%", lowest,
	    st.peak_pct);
	okf(st.throttle_bps <= lowest && st.throttle_bps >= (4 << 10) && st.throttled_ms > 0,
	    "amp16: the stats hold the rate (%lld B/s) and the time (%lld ms)", st.throttle_bps,
	    st.throttled_ms);

	/* 1 KiB direct writes into 512 KiB chunks: at the floor of writes
	 * (4 KiB/s) the container still fills at 2 MiB/s. */
	reset(8 * MIB, 512);
	w = start(dir, false);
	wait_drop();
	is_str(iomax(dir), "253:0 wbps=max", "floor: the limit is lifted with the drop, before the stop");
	memset(&st, 0, sizeof(st));
	mb_snap_watch_stop(w, &st);
	okf(drops == 1 && st.dropped && st.invalidated, "floor: a writer faster than the floor "
	    "gets the snapshot dropped (%d drop(s))", drops);
	okf(st.peak_pct >= 80.0 && st.peak_pct < 100.0 && used < TOTAL * 512.0,
	    "floor: dropped before the container was full (peak %.1f%%)", st.peak_pct);
	okf(st.throttle_bps == (4 << 10) && st.throttled_ms > 0,
	    "floor: the writers were at the floor (%lld B/s) for %lld ms", st.throttle_bps, st.throttled_ms);

	/* --throttle-writers off, 2 MiB/s: a poll sees it coming. */
	reset(2 * MIB, 1);
	w = start(dir, true);
	wait_drop();
	memset(&st, 0, sizeof(st));
	mb_snap_watch_stop(w, &st);
	okf(drops == 1 && st.dropped && st.peak_pct < 100.0 && st.throttled_ms == 0,
	    "off: an unthrottled writer gets the snapshot dropped first (peak %.1f%%)", st.peak_pct);

	/* A burst that fills the container within one poll. */
	reset(64 * MIB, 1);
	w = start(dir, true);
	usleep(4 * MB_SNAP_POLL_MS * 1000);
	memset(&st, 0, sizeof(st));
	mb_snap_watch_stop(w, &st);
	okf(drops == 0 && st.invalidated && !st.dropped,
	    "burst: faster than a poll it is an invalidation, not a drop (%d drop(s))", drops);
}

int main(void)
{
	char dir[] = "/tmp/mbackup-test-watch.XXXXXX", path[600];
	struct mb_mirror_stats st;
	struct mb_snap_watch *w;
	FILE *f;

	if (!mkdtemp(dir))
		return diag("mkdtemp"), 1;
	snprintf(path, sizeof(path), "%s/io.max", dir);
	if (!(f = fopen(path, "w")))
		return diag("io.max"), 1;
	fclose(f);
	snprintf(thr.cgroup, sizeof(thr.cgroup), "%s", dir);
	snprintf(thr.devno, sizeof(thr.devno), "253:0");
	snprintf(thr.previous, sizeof(thr.previous), "max");

	/* A writer demanding 8 MiB/s of a 16 MiB container that cannot
	 * grow (a quarter of it between two polls), for 8 s of writes. */
	ok(w = start(dir, false), "the watch starts");
	usleep(16 * MB_SNAP_POLL_MS * 1000);
	ok(thr.set, "the writers are limited");
	okf(strncmp(iomax(dir), "253:0 wbps=", 11) == 0 && strcmp(iomax(dir), "253:0 wbps=max") != 0,
	   "io.max holds a limit during the run (%s)", iomax(dir));
	okf(used < TOTAL * 512.0 * 0.92 && !drops,
	    "the container stays under the 92 %% mark, never dropped (%.1f%%)",
	    100.0 * used / (TOTAL * 512.0));
	okf(rises == 0 && lowest < (1 << 20), "the limit only fell (%lld B/s at its lowest, %lld rises)",
	   lowest, rises);

	/* The fill falls (a thin pool drained): the limit is lifted. */
	drop_to = 0.3 * TOTAL * 512.0;
	demand = 0;
	usleep(3 * MB_SNAP_POLL_MS * 1000);
	okf(!thr.set && strcmp(iomax(dir), "253:0 wbps=max") == 0,
	   "lifted when the fill falls under the mark (%s)", iomax(dir));
	demand = 8 * MIB;
	lowest = 0;
	usleep(6 * MB_SNAP_POLL_MS * 1000);
	ok(thr.set, "limited again when it fills again");

	memset(&st, 0, sizeof(st));
	mb_snap_watch_stop(w, &st);
	is_str(iomax(dir), "253:0 wbps=max", "the stop puts the previous line back");
	okf(!st.invalidated && !st.dropped && st.peak_pct < 92.0, "never invalidated (peak %.1f%%)",
	    st.peak_pct);
	okf(st.throttled_ms > 0 && st.throttle_bps >= (32 << 10),
	   "the stats hold the time (%lld ms) and the rate (%lld B/s)", st.throttled_ms,
	   st.throttle_bps);
	aborts(dir);
	unlink(path);
	rmdir(dir);
	return done_testing();
}
