/* The run_pace rows (see catalog.h). */
#include "orchestrator/catalog.h"
#include "orchestrator/catalog_internal.h"

enum { PACE_ADD, N_SQL };
static const char *const sql[N_SQL] = {
	[PACE_ADD] = "INSERT OR REPLACE INTO run_pace (run_id, max_rate, yield, bytes,"
		     " stream_ms, waited_ms, yielded_ms, rate_min, downs)"
		     " VALUES (?, ?, ?, ?, ?, ?, ?, nullif(?, 0), ?)",
};

int mb_catalog_run_pace(struct mb_catalog *c, int64_t run_id, const struct mb_catalog_pace *p,
			struct mb_error *e)
{
	return cat_do(c, sql, PACE_ADD,
		      CAT_ARGS(CAT_I(run_id), CAT_I(p->max_rate), CAT_T(p->yield ? "auto" : "off"),
			       CAT_I(p->bytes), CAT_I(p->stream_ms), CAT_I(p->waited_ms),
			       CAT_I(p->yielded_ms), CAT_I(p->rate_min), CAT_I(p->downs)),
		      "record the stream's pace", e);
}
