/*
 * s3://BUCKET/KEY: is the bucket there?  A HEAD of an absent object
 * answers 404 whether the key or the whole bucket is missing (a HEAD has
 * no body to say which), so `check` and preflight would pass a bucket
 * that does not exist and the run would fail only once it had begun.
 * One listing of at most one key under KEY answers NoSuchBucket for a
 * missing bucket, and takes the same credentials as the writes will.
 */
#include "plugins/media/s3.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

int mbm_s3_probe_bucket(struct mbm_s3 *c, struct mb_error *e)
{
	struct mbm_s3_req r = { .method = "GET", .bucket_only = true };
	char *prefix = mbm_s3_encode(c->key, false);
	int rc;

	/* canonical: the keys sorted */
	if (!prefix)
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to list the bucket of '%s'", c->spec);
	rc = mbm_s3_call(c, &r, "list the bucket of", MBM_S3_200, e,
			 "list-type=2&max-keys=1&prefix=%s", prefix);
	mbm_s3_req_free(&r);
	free(prefix);
	return rc;
}
