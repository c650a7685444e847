/*
 * Many objects removed at once: DeleteObjects (POST ?delete, at most
 * 1,000 keys a request, its body's Content-MD5 required by S3 and RGW),
 * in Quiet mode, so the answer lists only the keys that failed, each
 * with its own code.  expire removes a whole timeline's old WAL this way:
 * one request where one DELETE a segment took a thousand.
 */
#include "plugins/media/s3_delete.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"

/* key written at b with & < > escaped (the caller sized b for it); its length. */
static size_t put_escaped(char *b, const char *key)
{
	size_t n = 0;

	for (; *key; key++) {
		const char *ent = *key == '&' ? "&amp;" : *key == '<' ? "&lt;" :
				  *key == '>' ? "&gt;" : NULL;

		if (ent) {
			memcpy(b + n, ent, strlen(ent));
			n += strlen(ent);
		} else {
			b[n++] = *key;
		}
	}
	return n;
}

char *mbm_s3_delete_body(const char *const *keys, size_t n, size_t *len)
{
	size_t cap = 64, off;
	char *b;

	for (size_t i = 0; i < n; i++)
		cap += strlen(keys[i]) * 5 + 32;
	if (!(b = malloc(cap)))
		return NULL;
	off = (size_t)sprintf(b, "<Delete><Quiet>true</Quiet>");
	for (size_t i = 0; i < n; i++) {
		off += (size_t)sprintf(b + off, "<Object><Key>");
		off += put_escaped(b + off, keys[i]);
		off += (size_t)sprintf(b + off, "</Key></Object>");
	}
	off += (size_t)sprintf(b + off, "</Delete>");
	*len = off;
	return b;
}

int mbm_s3_delete_errors(const char *xml, struct mbm_s3_delete_error *first, size_t *n_failed)
{
	const char *p = xml;

	*n_failed = 0;
	memset(first, 0, sizeof(*first));
	while (p && (p = strstr(p, "<Error>"))) {
		const char *end = strstr(p, "</Error>");
		char *one = end ? strndup(p, (size_t)(end - p)) : NULL;
		char *key = one ? mbm_s3_xml(one, "Key") : NULL, *code = one ? mbm_s3_xml(one, "Code") : NULL;

		if (!end)
			break;
		if (!one) {
			free(key);
			free(code);
			return -1;
		}
		/* gone already is what was asked for */
		if (!code || strcmp(code, "NoSuchKey") != 0) {
			if (!*n_failed) {
				snprintf(first->key, sizeof(first->key), "%s", key ? key : "?");
				snprintf(first->code, sizeof(first->code), "%s", code ? code : "?");
			}
			++*n_failed;
		}
		free(one);
		free(key);
		free(code);
		p = end;
	}
	return 0;
}

/* The body's MD5 in base64, as a header line. */
static void md5_header(const char *body, size_t len, char line[64])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;

	EVP_Digest(body, len, md, &md_len, EVP_md5(), NULL);
	memcpy(line, "Content-MD5: ", 13);
	EVP_EncodeBlock((unsigned char *)line + 13, md, (int)md_len);
}

/* One request of at most MBM_S3_DELETE_MAX keys. */
static int delete_batch(struct mbm_s3 *c, const char *const *keys, size_t n, struct mb_error *e)
{
	struct mbm_s3_req r = { .method = "POST", .query = "delete=", .bucket_only = true };
	struct mbm_s3_delete_error first;
	char md5[64];
	size_t failed = 0;
	char *body = mbm_s3_delete_body(keys, n, &r.body_len);
	int rc = -1;

	if (!(r.body = body)) {
		mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to remove objects of '%s'", c->spec);
		goto out;
	}
	md5_header(body, r.body_len, md5);
	r.hdr[0] = md5;
	if (mbm_s3_call(c, &r, "remove objects of", MBM_S3_200, e, NULL) < 0)
		goto out;
	if (mbm_s3_delete_errors(r.text, &first, &failed) < 0) {
		mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to remove objects of '%s'", c->spec);
		goto out;
	}
	if (failed) {
		mb_fail(e, MB_ERR_MEDIA, 0, "unable to remove 's3://%s/%s': %s (%zu of %zu keys "
			"refused)", c->bucket, first.key, first.code, failed, n);
		mb_hint(e, "check the bucket's policy; expire removes them on its next run");
		goto out;
	}
	mb_debug("s3: %zu objects of '%s' removed in one request", n, c->spec);
	rc = 0;
out:
	mbm_s3_req_free(&r);
	free(body);
	return rc;
}

/* The test seam MBACKUP_S3_DELETE_BATCH=N: N keys a request (the store
 * takes 1,000), so that a test sees several requests on a few objects. */
static size_t batch_size(void)
{
	const char *v = getenv("MBACKUP_S3_DELETE_BATCH");
	unsigned long n = v ? strtoul(v, NULL, 10) : 0;

	return n && n < MBM_S3_DELETE_MAX ? n : MBM_S3_DELETE_MAX;
}

int mbm_s3_delete_many(struct mbm_s3 *c, const char *const *keys, size_t n, size_t *requests,
		       struct mb_error *e)
{
	size_t step = batch_size();

	*requests = 0;
	for (size_t i = 0; i < n; i += step) {
		if (delete_batch(c, keys + i, n - i < step ? n - i : step, e) < 0)
			return -1;
		++*requests;
	}
	return 0;
}
