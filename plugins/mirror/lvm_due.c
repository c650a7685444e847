/* When a full pass is due again; see lvm_due.h. */
#include "plugins/mirror/lvm_due.h"

#include "common/log.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static int runs_bound(int runs)
{
	return runs > 0 ? runs : MB_LVM_CHECK_RUNS;
}

static long long age_bound(int days)
{
	return (long long)(days > 0 ? days : MB_LVM_CHECK_DAYS) * 86400;
}

bool mb_lvm_full_due(bool recorded, const struct mb_proof_record *rec, int runs, int days,
		     char *buf, size_t len)
{
	if (!recorded) {
		snprintf(buf, len, "the catalog has no proof that the legs were equal before the "
			 "split");
		return true;
	}
	if (!rec->full_at[0] || rec->full_age_s < 0) {
		snprintf(buf, len, "full check due: the catalog's record has no full check "
			 "(it predates schema 12)");
		return true;
	}
	if (rec->runs_since >= runs_bound(runs)) {
		snprintf(buf, len, "full check due: %d run%s since the last one at %s",
			 rec->runs_since, rec->runs_since == 1 ? "" : "s", rec->full_at);
		return true;
	}
	if (rec->full_age_s >= age_bound(days)) {
		snprintf(buf, len, "full check due: %.1f days since the last one at %s",
			 (double)rec->full_age_s / 86400, rec->full_at);
		return true;
	}
	buf[0] = '\0';
	return false;
}

void mb_lvm_due_at(const struct mb_proof_record *rec, int runs, int days, int *runs_left,
		   char *at, size_t len)
{
	struct tm tm = { 0 };
	time_t t;

	*runs_left = runs_bound(runs) - rec->runs_since;
	*runs_left = *runs_left < 0 || !rec->full_at[0] ? 0 : *runs_left;
	at[0] = '\0';
	if (!rec->full_at[0] || !strptime(rec->full_at, "%Y-%m-%dT%H:%M:%S", &tm))
		return;
	t = timegm(&tm) + (time_t)age_bound(days);
	gmtime_r(&t, &tm);
	strftime(at, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void mb_lvm_next_due(const struct mb_proof_record *rec, int runs, int days, char *buf,
		     size_t len)
{
	char at[32], why[160];
	int left;

	if (mb_lvm_full_due(true, rec, runs, days, why, sizeof(why))) {
		snprintf(buf, len, "at the next run (%s)", why);
		return;
	}
	mb_lvm_due_at(rec, runs, days, &left, at, sizeof(at));
	snprintf(buf, len, "after %d more run%s or at %s, whichever comes first", left,
		 left == 1 ? "" : "s", at);
}

void mb_lvm_record_proof(const struct mb_undo_ctx *ctx, const char *key, const char *id,
			 bool full, const struct mb_proof_record *rec)
{
	struct mb_proof_record next = *rec;
	char due[256];
	time_t now = time(NULL);
	struct tm tm;

	if (!ctx->whole_proven)
		return;
	next.runs_since = full ? 0 : rec->runs_since + 1;
	ctx->whole_proven(ctx->whole_arg, key, id, full ? NULL : &next);
	if (full) {
		gmtime_r(&now, &tm);
		strftime(next.full_at, sizeof(next.full_at), "%Y-%m-%dT%H:%M:%SZ", &tm);
		next.full_age_s = 0;
	}
	mb_lvm_next_due(&next, ctx->check_runs, ctx->check_days, due, sizeof(due));
	mb_info("lvm: recorded '%s' proven whole %s; next full check due %s", key,
		full ? "by a full check" : "by the witness", due);
}
