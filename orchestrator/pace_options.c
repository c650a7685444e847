/* --max-rate, --io-nice, --checkpoint and --yield, checked; see pace.h. */
#include "orchestrator/pace.h"

#include <linux/ioprio.h>
#include <stdlib.h>
#include <string.h>

static int refuse(struct mb_error *e, const char *opt, const char *val, const char *hint)
{
	mb_fail(e, MB_ERR_USAGE, 0, "invalid %s '%s'", opt, val);
	mb_hint(e, "%s", hint);
	return -1;
}

/* "idle" or "best-effort:N" (N 0..7, 0 the highest). */
static int parse_ionice(const char *v, int *out)
{
	char *end;
	long n;

	if (strcmp(v, "idle") == 0) {
		*out = IOPRIO_PRIO_VALUE(IOPRIO_CLASS_IDLE, 0);
		return 0;
	}
	if (strncmp(v, "best-effort:", 12) != 0 || !v[12])
		return -1;
	n = strtol(v + 12, &end, 10);
	if (*end || n < 0 || n > 7)
		return -1;
	*out = IOPRIO_PRIO_VALUE(IOPRIO_CLASS_BE, n);
	return 0;
}

int mb_pace_params(const struct mb_options *o, struct mb_pace_params *p, struct mb_error *e)
{
	*p = (struct mb_pace_params){ .max_rate = o->max_rate > 0 ? (uint64_t)o->max_rate : 0,
				      .ioprio = -1 };
	if (o->io_nice && parse_ionice(o->io_nice, &p->ioprio) < 0)
		return refuse(e, "--io-nice", o->io_nice,
			      "use idle, or best-effort:N with N from 0 (highest) to 7");
	if (o->checkpoint && strcmp(o->checkpoint, "spread") != 0 &&
	    strcmp(o->checkpoint, "fast") != 0)
		return refuse(e, "--checkpoint", o->checkpoint,
			      "use spread (at the database's own pace) or fast (immediate)");
	p->checkpoint_fast = o->checkpoint && strcmp(o->checkpoint, "fast") == 0;
	if (o->yield && strcmp(o->yield, "auto") != 0 && strcmp(o->yield, "off") != 0)
		return refuse(e, "--yield", o->yield,
			      "use auto (slow the stream while production suffers) or off");
	p->yield = o->yield && strcmp(o->yield, "auto") == 0 ? MB_YIELD_AUTO : MB_YIELD_OFF;
	return 0;
}

int mb_pace_check_options(const struct mb_options *o, struct mb_error *e)
{
	struct mb_pace_params p;

	return mb_pace_params(o, &p, e);
}
