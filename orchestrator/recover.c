/*
 * `mbackup recover`: heals what a dead run left.  With the run lock held
 * (so no live run is touched), every open obligation of a run still marked
 * "running" is undone newest-first through the same undo functions the run
 * itself uses, and those runs are marked failed.  Then what a run that
 * ended left undone (its own undo failed: an upload's abort while the
 * store was down) is tried again; while it still fails it stays for the
 * next recover: `mbackup recover` then fails with its error, a backup's
 * preflight only warns (a store that is down must not stop a backup to
 * a file).  Safe to run any time: every undo is idempotent.
 */
#include "orchestrator/run.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/log.h"
#include "orchestrator/catalog_proof.h"
#include "orchestrator/lock.h"
#include "orchestrator/mirror_proof.h"
#include "orchestrator/progress.h"
#include "plugins/mirror/mirror.h"

static int undo_one(struct mb_catalog *c, const struct mb_undo_ctx *ctx,
		    const struct mb_obligation *ob, struct mb_error *e)
{
	mb_undo_fn undo = mb_obl_undo_for(ob->kind, ob->driver);
	struct mb_error one = { 0 };

	if (!undo) {
		mb_fail(&one, MB_ERR_INTERNAL, 0, "no undo known for %s %s", ob->driver, ob->kind);
	} else if (undo(ob->arg, ctx, &one) == 0) {
		mb_info("run %lld: undone %s '%s'", (long long)ob->run_id, ob->kind, ob->arg);
		return mb_catalog_obligation_set(c, ob->id, "recovered", e);
	}
	mb_error_log("run %lld: unable to undo %s '%s': %s", (long long)ob->run_id,
		     ob->kind, ob->arg, one.msg);
	mb_catalog_obligation_set(c, ob->id, "failed", NULL);
	if (e->code == MB_OK)
		*e = one;
	return -1;
}

/* Undoes v (and frees it), carrying on past failures: -1 if one failed. */
static int undo_all(struct mb_catalog *c, const struct mb_undo_ctx *ctx, struct mb_obligation *v,
		    size_t n, int *undone, struct mb_error *e)
{
	int rc = 0;

	for (size_t i = 0; i < n; i++) {
		if (undo_one(c, ctx, &v[i], e) < 0)
			rc = -1;
		else
			(*undone)++;
	}
	mb_obligations_free(v, n);
	return rc;
}

/* The obligations of runs still marked running, and those runs failed. */
static int recover_running(struct mb_catalog *c, const struct mb_undo_ctx *ctx, int *undone,
			   struct mb_error *e)
{
	struct mb_obligation *v = NULL;
	int64_t *runs = NULL;
	size_t n = 0, n_runs = 0;
	int rc = 0;

	*undone = 0;
	if (mb_catalog_obligations_open(c, &v, &n, e) < 0)
		return -1;
	rc = undo_all(c, ctx, v, n, undone, e);
	if (rc < 0)
		return -1;	/* runs stay "running" so the next recover retries */
	if (mb_catalog_runs_running(c, &runs, &n_runs, e) < 0)
		return -1;
	for (size_t i = 0; i < n_runs && rc == 0; i++) {
		mb_warn("run %lld died; marking it failed", (long long)runs[i]);
		rc = mb_catalog_run_end(c, runs[i], "failed", MB_ERR_GENERAL,
					"the run died; recovered by mbackup recover", e);
	}
	free(runs);
	return rc;
}

/* The obligations of runs that ended, tried again: -1 (e: the first
 * failure) if one is still left. */
static int retry_left(struct mb_catalog *c, const struct mb_undo_ctx *ctx, int *undone,
		      struct mb_error *e)
{
	struct mb_obligation *v = NULL;
	size_t n = 0;

	if (mb_catalog_obligations_left(c, &v, &n, e) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		mb_info("run %lld ended with %s '%s' not undone: trying again",
			(long long)v[i].run_id, v[i].kind, v[i].arg);
	return undo_all(c, ctx, v, n, undone, e);
}

/* strict: what a run that ended left undone fails the call too. */
static int recover_all(struct mb_catalog *c, const struct mb_undo_ctx *ctx, int *undone, bool strict,
		       struct mb_error *e)
{
	struct mb_error left = { 0 };
	struct mb_undo_ctx with = *ctx;

	mb_catalog_proof_ctx(c, &with);
	ctx = &with;
	if (recover_running(c, ctx, undone, e) < 0)
		return -1;
	if (retry_left(c, ctx, undone, &left) == 0)
		return 0;
	if (strict) {
		*e = left;
		return -1;
	}
	mb_warn("%s (left for the next recover)", left.msg);
	return 0;
}

int mb_recover_locked(struct mb_catalog *c, const struct mb_undo_ctx *ctx, int *undone,
		      struct mb_error *e)
{
	return recover_all(c, ctx, undone, false, e);
}

/* The undos' waits (a leg's re-merge and resync, a scrub: minutes on a
 * big LV) report through the undo context, whose percentage is the
 * progress of the phase "recover"; nothing shows when nothing waits. */
static int recover_shown(struct mb_catalog *c, const struct mb_options *o, int *undone,
			 bool strict, struct mb_error *e)
{
	struct mb_undo_ctx ctx = { .s3 = &o->s3 };
	struct mb_progress *p;
	int rc;

	*undone = 0;
	if (mb_mirror_proof_ctx(o, &ctx, e) < 0 ||
	    mb_progress_start_percent(&p, o, "recover", e) < 0)
		return -1;
	ctx.on_wait = p ? mb_progress_on_sync : NULL;
	ctx.on_wait_arg = p;
	rc = recover_all(c, &ctx, undone, strict, e);
	mb_progress_end(p, rc == 0);
	return rc;
}

int mb_recover_shown(struct mb_catalog *c, const struct mb_options *o, int *undone,
		     struct mb_error *e)
{
	return recover_shown(c, o, undone, false, e);
}

/* recover heals a catalog, it never makes one: a mistyped --catalog must
 * not succeed on a new empty file (the same refusal as list). */
static int catalog_exists(const char *path, struct mb_error *e)
{
	if (access(path, F_OK) == 0)
		return 0;
	mb_fail(e, MB_ERR_CATALOG, errno, "no catalog at '%s'", path);
	mb_hint(e, "no backup has run with this catalog yet (see --catalog)");
	return -1;
}

int mb_recover(const struct mb_options *opt, struct mb_error *e)
{
	struct mb_catalog *c = NULL;
	int fd = -1, undone = 0, rc = -1;

	/* The lock before the catalog: no live run's catalog is opened. */
	if (catalog_exists(opt->catalog, e) < 0 ||
	    mb_lock_catalog(opt->catalog, &fd, e) < 0 ||
	    mb_catalog_open(&c, opt->catalog, e) < 0)
		goto out;
	if (recover_shown(c, opt, &undone, true, e) < 0)
		goto out;
	printf("recover: %d obligation(s) undone\n", undone);
	rc = 0;
out:
	mb_catalog_close(c);
	if (fd >= 0)
		mb_lock_release(fd);
	return rc;
}
