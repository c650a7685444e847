/* What the stream's pace did, said once: the stream phase's detail (in
 * the catalog's phases, with what its readers read from the leg, how
 * much with O_DIRECT and how much they copied), one log line and the
 * run's pace row. */
#include "orchestrator/pace.h"

#include <stdio.h>

#include "common/log.h"
#include "orchestrator/run.h"

int mb_pace_record(struct mb_run *r, const struct mb_pace *pc, const struct mb_pace_stats *st,
		   struct mb_error *e)
{
	double mibs = st->stream_ms > 0 ? (double)st->bytes / (1 << 20) * 1000.0 /
					  (double)st->stream_ms : 0;
	char pace[200] = "";

	if (mb_pace_active(pc))
		snprintf(pace, sizeof(pace), ", paced: %.1f MiB/s, readers waited %lld ms, "
			 "yielded %lld ms (lowest rate %llu bytes/s)", mibs, st->waited_ms,
			 st->yielded_ms, (unsigned long long)st->rate_min);
	snprintf(r->detail, sizeof(r->detail),
		 "%d image(s), %llu bytes of image, %llu file bytes, %llu via the filesystem, "
		 "%llu read from the leg, %llu with O_DIRECT, %llu copied%s",
		 r->n_sinks, (unsigned long long)r->image.bytes,
		 (unsigned long long)r->image.file_bytes, (unsigned long long)r->via_fs_files,
		 (unsigned long long)r->leg.read, (unsigned long long)r->leg.direct,
		 (unsigned long long)r->leg.copied, pace);
	if (mb_pace_active(pc))
		mb_info("stream: %llu bytes read in %lld ms (%.1f MiB/s); readers waited %lld ms for "
			"the rate, yielded %lld ms", (unsigned long long)st->bytes, st->stream_ms,
			mibs, st->waited_ms, st->yielded_ms);
	return mb_catalog_run_pace(r->catalog, r->id, &(struct mb_catalog_pace){
		.max_rate = pc->p.max_rate, .yield = pc->p.yield == MB_YIELD_AUTO,
		.bytes = st->bytes, .stream_ms = st->stream_ms, .waited_ms = st->waited_ms,
		.yielded_ms = st->yielded_ms, .rate_min = st->rate_min, .downs = st->downs }, e);
}
