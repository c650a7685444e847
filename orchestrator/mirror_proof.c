/* The proof of a merge, as the options ask it; see mirror_proof.h. */
#include "orchestrator/mirror_proof.h"

#include <string.h>

#include "orchestrator/catalog_proof.h"
#include "orchestrator/run.h"

int mb_mirror_proof_ctx(const struct mb_options *o, struct mb_undo_ctx *ctx, struct mb_error *e)
{
	static const char *const names[] = { [MB_PROOF_AUTO] = "auto",
					     [MB_PROOF_WITNESS] = "witness",
					     [MB_PROOF_FULL] = "full" };
	const char *v = o->mirror_proof ? o->mirror_proof : "auto";
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]) && strcmp(v, names[i]) != 0; i++)
		;
	if (i == sizeof(names) / sizeof(names[0])) {
		mb_fail(e, MB_ERR_USAGE, 0, "invalid --mirror-proof '%s'", v);
		mb_hint(e, "use auto (what the split wrote while a full check is not due), "
			"witness or full");
		return -1;
	}
	ctx->proof = (enum mb_mirror_proof)i;
	ctx->check_runs = (int)o->mirror_check_runs;
	ctx->check_days = (int)o->mirror_check_days;
	return 0;
}

int mb_mirror_proof_refuse(const struct mb_run *r, struct mb_error *e)
{
	if (r->obl.ctx.proof != MB_PROOF_WITNESS)
		return 0;
	for (int i = 0; i < r->n_legs; i++) {
		const struct mb_mirror *m = r->legs[i].mirror;
		bool known;

		if (strcmp(m->ops->name, "lvm") != 0)
			continue;
		if (mb_catalog_proof_get(r->catalog, m->spec, &known, NULL, e) < 0)
			return -1;
		if (known)
			continue;
		mb_fail(e, MB_ERR_MIRROR, 0, "--mirror-proof witness: the catalog has no proof "
			"that the legs of '%s' are equal, and the witness proves only what changed",
			m->spec);
		mb_hint(e, "run once with --mirror-proof auto or full: its full check scrub is "
			"recorded");
		return -1;
	}
	return 0;
}
