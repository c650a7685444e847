/*
 * s3://BUCKET/KEY: the requests around a multipart upload: the check for
 * an existing object, the completion and its check, and recover's undos
 * (every upload a dead run left under the key, aborted; the object a
 * failed run completed, deleted).  See s3.h.
 */
#include "plugins/media/s3.h"
#include "plugins/media/s3_object.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "common/log.h"

int mbm_s3_refuse_existing(struct mbm_s3 *c, bool force, struct mb_error *e)
{
	struct mb_s3_info info;
	/* 1 (a 404): no object, or no bucket (the upload's start says which) */
	int rc = mbm_s3_head(c, "look up", &info, e);

	if (rc == 0 && !force) {
		mb_fail(e, MB_ERR_MEDIA, 0, "media object '%s' already exists", c->spec);
		mb_hint(e, "choose a new name, or pass --force to overwrite it");
		return -1;
	}
	return rc < 0 ? -1 : 0;
}

/* <CompleteMultipartUpload> naming every part and its ETag. */
static char *complete_body(const char (*etag)[96], uint32_t n, size_t *len)
{
	size_t cap = 64 + (size_t)n * 160, off;
	char *b = malloc(cap);

	if (!b)
		return NULL;
	off = (size_t)snprintf(b, cap, "<CompleteMultipartUpload>");
	for (uint32_t i = 0; i < n; i++)
		off += (size_t)snprintf(b + off, cap - off,
					"<Part><PartNumber>%" PRIu32 "</PartNumber><ETag>%s</ETag></Part>",
					i + 1, etag[i]);
	off += (size_t)snprintf(b + off, cap - off, "</CompleteMultipartUpload>");
	*len = off;
	return b;
}

/* The object as the store now has it: size bytes. */
static int check_size(struct mbm_s3 *c, uint64_t size, struct mb_error *e)
{
	struct mb_s3_info info;
	int rc = mbm_s3_head(c, "check", &info, e);

	if (rc == 1)
		return mb_fail(e, MB_ERR_MEDIA, 0, "unable to complete '%s': the store holds no"
			       " object under its name", c->spec);
	if (rc == 0 && info.size != size)
		return mb_fail(e, MB_ERR_MEDIA, 0, "unable to complete '%s': the store holds %"
			       PRIu64 " bytes, %" PRIu64 " were written", c->spec, info.size, size);
	return rc;
}

int mbm_s3_complete(struct mbm_s3 *c, const char *upload_id, const char (*etag)[96],
		    uint32_t n, uint64_t size, struct mb_error *e)
{
	struct mbm_s3_req r = { .method = "POST" };
	char *body = complete_body(etag, n, &r.body_len);
	int rc = -1;

	if (!(r.body = body)) {
		mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to complete '%s'", c->spec);
		goto out;
	}
	if (mbm_s3_call(c, &r, "complete", MBM_S3_200, e, "uploadId=%s", upload_id) < 0)
		goto out;
	/* a 200 may still carry an <Error> (S3 sends it once the body started) */
	if (r.text && strstr(r.text, "<Error>")) {
		mbm_s3_fail(c, &r, "complete", e);
		goto out;
	}
	rc = check_size(c, size, e);
out:
	mbm_s3_req_free(&r);
	free(body);
	return rc;
}

/* Aborts each <Upload> of list whose <Key> is c->key exactly. */
static int abort_listed(struct mbm_s3 *c, const char *list, int *n, struct mb_error *e)
{
	const char *u = list;
	int rc = 0;

	while (rc == 0 && (u = strstr(u, "<Upload>"))) {
		const char *end = strstr(u, "</Upload>");
		char *one = end ? strndup(u, (size_t)(end - u)) : NULL;
		char *key = one ? mbm_s3_xml(one, "Key") : NULL;
		char *id = one ? mbm_s3_xml(one, "UploadId") : NULL;

		if (!end)
			break;
		if (key && id && strcmp(key, c->key) == 0) {
			rc = mbm_s3_abort_upload(c, id, e);
			(*n)++;
		}
		free(one);
		free(key);
		free(id);
		u = end;
	}
	return rc;
}

int mbm_s3_undo(const char *what, const struct mb_undo_ctx *ctx, struct mb_error *e)
{
	struct mbm_s3 c;
	struct mbm_s3_req r = { .method = "GET", .bucket_only = true };
	char *prefix = NULL;
	int rc = -1, n = 0;

	if (mbm_s3_init(&c, what, &(struct mb_media_params){ .s3 = ctx->s3 }, e) < 0)
		goto out;
	if (!(prefix = mbm_s3_encode(c.key, false))) {
		mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to list the uploads of '%s'", c.spec);
		goto out;
	}
	rc = mbm_s3_call(&c, &r, "list the uploads of", MBM_S3_200 | MBM_S3_404, e,
			 "prefix=%s&uploads=", prefix);
	if (rc != 0) {		/* a 404: no bucket, no upload either */
		rc = rc < 0 ? -1 : 0;
		goto out;
	}
	rc = abort_listed(&c, r.text ? r.text : "", &n, e);
	if (rc == 0 && n == 0)
		mb_debug("s3: no upload left under '%s'", c.spec);
out:
	mbm_s3_req_free(&r);
	free(prefix);
	mbm_s3_fini(&c);
	return rc;
}

/* 32 hex digits (quotes around them allowed) into 16 bytes. */
static bool md5_of_etag(const char *etag, unsigned char md5[16])
{
	const char *h = etag + (etag[0] == '"');

	if (strspn(h, "0123456789abcdefABCDEF") != 32 || (h[32] && strcmp(h + 32, "\"") != 0))
		return false;
	for (int i = 0; i < 16; i++)
		sscanf(h + 2 * i, "%2hhx", &md5[i]);
	return true;
}

char *mbm_s3_publication(const struct mbm_s3 *c, const char (*etag)[96], uint32_t n)
{
	unsigned char *all = malloc((size_t)n * 16 + 1), sum[EVP_MAX_MD_SIZE];
	char hex[2 * EVP_MAX_MD_SIZE + 1] = "-", *what = NULL;
	unsigned int len = 0;
	bool known = all != NULL;

	for (uint32_t i = 0; known && i < n; i++)
		known = md5_of_etag(etag[i], all + 16 * i);
	if (known && EVP_Digest(all, (size_t)n * 16, sum, &len, EVP_md5(), NULL) == 1) {
		for (unsigned int i = 0; i < len; i++)
			sprintf(hex + 2 * i, "%02x", sum[i]);
		sprintf(hex + 2 * len, "-%" PRIu32, n);
	}
	free(all);
	if (asprintf(&what, "%s %s", hex, c->spec + 3) < 0)
		return NULL;
	return what;
}

/* The ETag the store gave (quotes around it) is want. */
static bool etag_is(const char *etag, const char *want)
{
	size_t n = strlen(want);

	return etag[0] == '"' && strncasecmp(etag + 1, want, n) == 0 && strcmp(etag + 1 + n, "\"") == 0;
}

int mbm_s3_unpublish(const char *what, const struct mb_undo_ctx *ctx, struct mb_error *e)
{
	const char *url = strchr(what, ' '), *key = NULL;
	struct mb_s3_info info;
	struct mb_s3_obj *o = NULL;
	char *obj = NULL, *want = url ? strndup(what, (size_t)(url - what)) : NULL;
	int rc = -1;

	if (url && strncmp(url + 1, "//", 2) == 0)
		key = strchr(url + 3, '/');
	if (!want || !key || !key[1] || asprintf(&obj, "s3:%s", url + 1) < 0) {
		obj = NULL;
		mb_fail(e, MB_ERR_INTERNAL, 0, "invalid image obligation '%s'", what);
		goto out;
	}
	if (mb_s3_obj_open(&o, obj, ctx->s3, e) < 0 || (rc = mb_s3_obj_head(o, key + 1, &info, e)) < 0)
		goto out;
	if (rc == 1) {		/* never completed, or removed already */
		rc = 0;
		goto out;
	}
	if (!etag_is(info.etag, want)) {
		mb_info("leaving '%s': it is not the image of the failed run", obj);
		rc = 0;
		goto out;
	}
	if ((rc = mb_s3_obj_delete(o, key + 1, e)) == 0)
		mb_info("removed the image '%s' of a run that did not complete", obj);
out:
	mb_s3_obj_close(o);
	free(obj);
	free(want);
	return rc;
}
