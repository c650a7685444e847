/*
 * When a raid1 LV's merge must be proven by a full pass again (lvm.c,
 * info): the proof of only what a split wrote (the witness) leans on a
 * record that the legs were equal before the split, and that record
 * leans on the last full pass.  Damage to a leg outside what the splits
 * wrote (a misdirected write, a bad sector read by nobody: md reads one
 * leg) is found only by a full pass, so the record must not age for
 * ever: a full pass is due again after MB_LVM_CHECK_RUNS proofs by the
 * witness or MB_LVM_CHECK_DAYS days, whichever comes first.
 *
 * Why 7 and 7.  Days bound how long silent damage may live unseen,
 * whatever the schedule: a week is the cadence of a routine scrub
 * (Debian's mdadm checks every array monthly; a week is four times as
 * watchful), and on a nightly schedule it costs one full pass a week
 * instead of seven.  Runs bound how many merges lean on one full pass:
 * each merge may race (the known lvm race) and the witness has been
 * shown against its shapes only so often; seven merges between passes
 * keep a miss of it, should one exist, to one week of nightly runs.  A
 * schedule of many runs a day hits the run bound first: raise
 * --mirror-check-runs there, the day bound still holds.
 */
#ifndef MB_LVM_DUE_H
#define MB_LVM_DUE_H

#include <stdbool.h>
#include <stddef.h>

#include "common/obligation.h"

#define MB_LVM_CHECK_RUNS 7
#define MB_LVM_CHECK_DAYS 7

/* Whether a full pass is due, given the record (rec; recorded false: none)
 * and the bounds (0: the defaults); why in buf ("full check due: 7 runs
 * since the last one at 2026-12-03T20:00:00.000Z"). */
bool mb_lvm_full_due(bool recorded, const struct mb_proof_record *rec, int runs, int days,
		     char *buf, size_t len);
/* When the next full pass falls due after rec, in words, into buf: "after
 * 5 more runs or at 2026-12-10T20:00:00Z, whichever comes first", or "at
 * the next run (...)". */
void mb_lvm_next_due(const struct mb_proof_record *rec, int runs, int days, char *buf,
		     size_t len);
/* The same as numbers: runs left (0: due now) and the UTC time it falls
 * due by age into at ("" when the record has no full pass). */
void mb_lvm_due_at(const struct mb_proof_record *rec, int runs, int days, int *runs_left,
		   char *at, size_t len);
/* After a proof of key ("lvm:vg/lv") as id: the catalog's record (ctx's
 * whole_proven; none: nothing) and a line saying when the next full pass
 * is due.  full: a full pass starts the count again; else a proof by the
 * witness counts one more run since rec's full pass. */
void mb_lvm_record_proof(const struct mb_undo_ctx *ctx, const char *key, const char *id,
			 bool full, const struct mb_proof_record *rec);

#endif
