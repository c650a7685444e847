/*
 * The --yield auto governor's decisions; see pace.h.
 *
 * The signal is the average latency of one I/O on the source device, the
 * device production's own reads and writes go through (the filesystem's
 * LV, or the loop device): ms spent on the reads and writes completed in
 * an interval / their number, from /sys/dev/block/MAJ:MIN/stat.  Chosen
 * over the database's commit rate because
 *   - it is what the copy takes from production: the split leg's reads
 *     queue on the same disks, controller and array, and the production
 *     device's service time is where that shows first;
 *   - a commit rate also falls when the clients just ask for less (a quiet
 *     night), and the governor would then crawl for nothing; latency per
 *     I/O does not depend on the demand;
 *   - it works for --db none and any database, with no connection.
 * The stream's own reads never pass through that device (they read the
 * split leg), so the signal is production's alone.  Flushes count too
 * (fields 16-17 of the stat file, Linux 5.5+): a commit's wait is mostly
 * its flush.
 *
 * An interval with I/Os in flight at both ends and none completed is a
 * stall, not a rest: production waited the whole interval (seen under
 * bench/compare: 6 s of it, during which the old rule "no completion:
 * healthy" raised the rate from 10 to 372 MB/s).  Its latency is the
 * interval's length.
 *
 * AIMD-like: healthy -> the rate x 1.25 (never more than twice what the
 * readers actually took, so an unused rate does not float away); the
 * smoothed latency above 2 x the best seen + 1 ms -> the rate x 0.5,
 * never below the floor (the backup always finishes); in between: hold.
 * An interval with no I/O completed and none in flight is production at
 * rest: healthy; the
 * best latency is learnt from intervals of MIN_IOS I/Os or more, and
 * creeps towards the current one by 1/64 a step (~16 s): a latency that
 * stays high while the stream crawls at the floor is not the stream's
 * doing (another load on the disks), and after ~13 s of it the governor
 * climbs again instead of crawling for nothing.
 */
#include "orchestrator/pace.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <sys/sysmacros.h>

#define MIN_IOS 4
#define DRIFT 64	/* the best latency creeps 1/64 a step towards the current */
#define UP_NUM 5	/* x 5/4 */
#define UP_DEN 4

void mb_governor_init(struct mb_governor *g, uint64_t floor, uint64_t ceiling)
{
	*g = (struct mb_governor){ .floor = floor, .ceiling = ceiling, .rate = 4 * floor };
	if (ceiling && g->rate > ceiling)
		g->rate = ceiling;
	g->peak_rate = g->min_rate = g->rate;
}

static void set_rate(struct mb_governor *g, uint64_t rate)
{
	if (rate < g->floor)
		rate = g->floor;
	if (g->ceiling && rate > g->ceiling)
		rate = g->ceiling;
	g->rate = rate;
	if (rate > g->peak_rate)
		g->peak_rate = rate;
	if (rate < g->min_rate)
		g->min_rate = rate;
}

/* The smoothed latency and the best seen (from intervals of MIN_IOS I/Os
 * or more); false: no I/O completed, production at rest. */
static bool measure(struct mb_governor *g, const struct mb_gov_sample *s)
{
	uint64_t ios = s->ios - g->last.ios, ticks = s->ticks_ms - g->last.ticks_ms;
	double lat;

	if (s->ios < g->last.ios || s->ticks_ms < g->last.ticks_ms)
		return false;
	if (ios == 0 && !(s->in_flight && g->last.in_flight && s->now_ms > g->last.now_ms))
		return false;
	if (ios == 0) {		/* stalled: a latency of the whole interval, nothing learnt */
		lat = (double)(s->now_ms - g->last.now_ms);
		g->ewma_ms = g->ewma_ms > 0 ? (g->ewma_ms + lat) / 2 : lat;
		return true;
	}
	lat = (double)ticks / (double)ios;
	g->ewma_ms = g->ewma_ms > 0 ? (g->ewma_ms + lat) / 2 : lat;
	if (ios >= MIN_IOS && (g->base_ms == 0 || g->ewma_ms < g->base_ms))
		g->base_ms = g->ewma_ms;
	else if (ios >= MIN_IOS)	/* a latency that lasts becomes the norm */
		g->base_ms += (g->ewma_ms - g->base_ms) / DRIFT;
	return g->base_ms > 0;
}

static enum mb_gov_decision raise(struct mb_governor *g, const struct mb_gov_sample *s,
				  long long dt_ms)
{
	uint64_t took = s->bytes >= g->last.bytes ? s->bytes - g->last.bytes : 0;
	uint64_t used = dt_ms > 0 ? took * 1000 / (uint64_t)dt_ms : 0;

	/* the readers do not use what they have: more would change nothing */
	if (used * 2 < g->rate || (g->ceiling && g->rate >= g->ceiling))
		return MB_GOV_HOLD;
	set_rate(g, g->rate / UP_DEN * UP_NUM);
	return MB_GOV_UP;
}

enum mb_gov_decision mb_governor_step(struct mb_governor *g, const struct mb_gov_sample *s)
{
	enum mb_gov_decision d;
	long long dt = s->now_ms - g->last.now_ms;

	if (!g->primed) {
		g->primed = true;
		g->last = *s;
		return MB_GOV_PRIME;
	}
	if (g->rate < g->peak_rate && dt > 0)
		g->yielded_ms += dt;	/* the interval just gone ran held back */
	if (!measure(g, s))
		d = raise(g, s, dt);
	else if (g->ewma_ms > 2 * g->base_ms + 1.0) {
		set_rate(g, g->rate / 2);
		g->downs++;
		d = MB_GOV_DOWN;
	} else if (g->ewma_ms <= 1.5 * g->base_ms + 0.5)
		d = raise(g, s, dt);
	else
		d = MB_GOV_HOLD;
	g->last = *s;
	return d;
}

int mb_governor_read_dev(dev_t dev, struct mb_gov_sample *s, struct mb_error *e)
{
	char path[64];
	uint64_t f[17] = { 0 };
	FILE *fp;
	int n;

	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/stat", major(dev), minor(dev));
	if (!(fp = fopen(path, "re")))
		return mb_fail(e, MB_ERR_IO, errno, "unable to read '%s'", path);
	for (n = 0; n < 17 && fscanf(fp, "%" SCNu64, &f[n]) == 1; n++)
		;
	fclose(fp);
	if (n < 9)
		return mb_fail(e, MB_ERR_IO, 0, "unable to read '%s': unexpected format", path);
	/* reads, writes and (17 fields: Linux 5.5+) flushes, and their ticks */
	s->ios = f[0] + f[4] + f[15];
	s->ticks_ms = f[3] + f[7] + f[16];
	s->in_flight = f[8];
	return 0;
}
