/*
 * The s3:// media's HTTP client: settings, the URL, one signed request
 * with its retries, and the messages of a refused one.  See s3.h.
 */
#include "plugins/media/s3.h"

#include <errno.h>
#include <openssl/sha.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "plugins/media/s3_curl.h"

#define S3_TRIES 5		/* a request is sent at most this often */
#define S3_BACKOFF_MS 200	/* before the 2nd try; doubled each time */

static const char *pick(const char *set, const char *env1, const char *env2)
{
	const char *v = set && *set ? set : getenv(env1);

	if ((!v || !*v) && env2)
		v = getenv(env2);
	return v && *v ? v : NULL;
}

char *mbm_s3_encode(const char *s, bool keep_slash)
{
	char *out = malloc(strlen(s) * 3 + 1), *o = out;

	if (!out)
		return NULL;
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
		    ch == '-' || ch == '_' || ch == '.' || ch == '~' || (keep_slash && ch == '/'))
			*o++ = (char)ch;
		else
			o += sprintf(o, "%%%02X", ch);
	}
	*o = '\0';
	return out;
}

static int parse_arg(struct mbm_s3 *c, const char *arg, struct mb_error *e)
{
	const char *b = arg + 2, *slash;

	if (strncmp(arg, "//", 2) != 0 || !(slash = strchr(b, '/')) || slash == b || !slash[1]) {
		mb_fail(e, MB_ERR_USAGE, 0, "invalid media 's3:%s'", arg);
		mb_hint(e, "write it s3://BUCKET/KEY");
		return -1;
	}
	if (!(c->bucket = strndup(b, (size_t)(slash - b))) || !(c->key = strdup(slash + 1)) ||
	    asprintf(&c->spec, "s3:%s", arg) < 0) {
		c->spec = NULL;
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to open media 's3:%s'", arg);
	}
	return 0;
}

static int no_setting(struct mbm_s3 *c, const char *what, const char *key, const char *env,
		      struct mb_error *e)
{
	mb_fail(e, MB_ERR_CONFIG, 0, "unable to open media '%s': no %s", c->spec, what);
	mb_hint(e, "set %s in the config file (mode 0600, owned by root) or %s in the environment",
		key, env);
	return -1;
}

int mbm_s3_init(struct mbm_s3 *c, const char *arg, const struct mb_media_params *p,
		struct mb_error *e)
{
	static const struct mb_s3_settings none;
	const struct mb_s3_settings *set = p && p->s3 ? p->s3 : &none;
	const char *ep, *ak, *sk, *style = set->uri_style, *region;

	memset(c, 0, sizeof(*c));
	if (p)
		c->stop = p->stop;
	if (parse_arg(c, arg, e) < 0)
		return -1;
	ep = pick(set->endpoint, "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL");
	ak = pick(set->access_key, "AWS_ACCESS_KEY_ID", NULL);
	sk = pick(set->secret_key, "AWS_SECRET_ACCESS_KEY", NULL);
	region = pick(set->region, "AWS_DEFAULT_REGION", "AWS_REGION");
	if (!ep)
		return no_setting(c, "endpoint", "s3-endpoint", "AWS_ENDPOINT_URL", e);
	if (!ak || !sk)
		return no_setting(c, "credentials", "s3-access-key and s3-secret-key",
				  "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY", e);
	c->path_style = !style || strcmp(style, "virtual") != 0;
	if (!(c->endpoint = strndup(ep, strlen(ep) - (ep[strlen(ep) - 1] == '/'))) ||
	    !(c->region = strdup(region ? region : "us-east-1")) ||
	    asprintf(&c->userpwd, "%s:%s", ak, sk) < 0) {
		c->userpwd = NULL;
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to open media '%s'", c->spec);
	}
	if (!(c->cu = mbm_curl(c->spec, e)))
		return -1;
	if (!(c->curl = c->cu->easy_init()))
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to open media '%s'", c->spec);
	return 0;
}

void mbm_s3_fini(struct mbm_s3 *c)
{
	if (c->curl)
		c->cu->easy_cleanup(c->curl);
	if (c->userpwd)
		explicit_bzero(c->userpwd, strlen(c->userpwd));
	free(c->userpwd);
	free(c->spec);
	free(c->bucket);
	free(c->key);
	free(c->endpoint);
	free(c->region);
	memset(c, 0, sizeof(*c));
}

void mbm_s3_req_free(struct mbm_s3_req *r)
{
	free(r->text);
	r->text = NULL;
	r->text_len = 0;
}

/* The request's URL: path style http://host/BUCKET/KEY, or virtual-host
 * style http://BUCKET.host/KEY. */
static char *url_of(const struct mbm_s3 *c, const struct mbm_s3_req *r)
{
	char *key = r->bucket_only ? strdup("") : mbm_s3_encode(c->key, true), *url = NULL;
	const char *host = strstr(c->endpoint, "://");
	const char *q = r->query ? "?" : "", *qs = r->query ? r->query : "";
	int n;

	if (!key)
		return NULL;
	host = host ? host + 3 : c->endpoint;
	if (c->path_style)
		n = asprintf(&url, "%s/%s/%s%s%s", c->endpoint, c->bucket, key, q, qs);
	else
		n = asprintf(&url, "%.*s%s.%s/%s%s%s", (int)(host - c->endpoint), c->endpoint,
			     c->bucket, host, key, q, qs);
	free(key);
	return n < 0 ? NULL : url;
}

struct xfer {
	struct mbm_s3_req *r;
	size_t sent;		/* of the PUT body */
	size_t cap;		/* of r->text */
	int oom;
};

static size_t on_body(char *data, size_t size, size_t n, void *ctx)
{
	struct xfer *x = ctx;
	struct mbm_s3_req *r = x->r;
	size_t len = size * n;

	if (r->dst && r->status / 100 == 2) {
		if (len > r->range_len - r->got)
			return 0;	/* more than asked for: fail the transfer */
		memcpy((char *)r->dst + r->got, data, len);
		r->got += len;
		return len;
	}
	if (r->text_len + len + 1 > x->cap) {
		size_t cap = (r->text_len + len + 1) * 2;
		char *t = cap < (4u << 20) ? realloc(r->text, cap) : NULL;

		if (!t) {
			x->oom = 1;
			return 0;
		}
		r->text = t;
		x->cap = cap;
	}
	memcpy(r->text + r->text_len, data, len);
	r->text_len += len;
	r->text[r->text_len] = '\0';
	return len;
}

static size_t on_read(char *buf, size_t size, size_t n, void *ctx)
{
	struct xfer *x = ctx;
	size_t len = x->r->body_len - x->sent;

	if (len > size * n)
		len = size * n;
	memcpy(buf, (const char *)x->r->body + x->sent, len);
	x->sent += len;
	return len;
}

static size_t on_header(char *data, size_t size, size_t n, void *ctx)
{
	struct xfer *x = ctx;
	size_t len = size * n;

	if (len > 5 && strncasecmp(data, "ETag:", 5) == 0)
		sscanf(data + 5, " %95[^\r\n]", x->r->etag);
	else if (len > 15 && strncasecmp(data, "Content-Length:", 15) == 0)
		x->r->length = strtoull(data + 15, NULL, 10);
	else if (len > 18 && strncasecmp(data, "x-amz-meta-xxh128:", 18) == 0)
		sscanf(data + 18, " %71[^\r\n]", x->r->meta);
	else if (len > 14 && strncasecmp(data, "Last-Modified:", 14) == 0)
		sscanf(data + 14, " %39[^\r\n]", x->r->modified);
	else if (len > 5 && strncasecmp(data, "HTTP/", 5) == 0)
		sscanf(data, "HTTP/%*s %ld", &x->r->status);
	return len;
}

/* The headers: the payload's SHA-256 (curl 7.88 neither sends nor
 * computes it, and signs what this header says), a range. */
static struct curl_slist *headers_for(const struct mbm_curl *cu, const struct mbm_s3_req *r)
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	char line[128] = "x-amz-content-sha256: ";
	struct curl_slist *h, *t;

	SHA256(r->body ? r->body : (const void *)"",
	       r->body && r->body_len > r->bad_digest ? r->body_len - r->bad_digest : 0, md);
	for (int i = 0; i < SHA256_DIGEST_LENGTH; i++)
		sprintf(line + 22 + 2 * i, "%02x", md[i]);
	/* (no "Expect:" to drop curl's 100-continue: curl 7.88 signs the
	 * empty header and RGW then finds the signature wrong) */
	if (!(h = cu->slist_append(NULL, line)))
		return NULL;
	if (r->range_len) {
		snprintf(line, sizeof(line), "Range: bytes=%llu-%llu", (unsigned long long)r->range_from,
			 (unsigned long long)(r->range_from + r->range_len - 1));
		if (!(t = cu->slist_append(h, line)))
			goto fail;
	}
	for (int i = 0; i < 3 && r->hdr[i]; i++)
		if (!(t = cu->slist_append(h, r->hdr[i])))
			goto fail;
	return h;
fail:
	cu->slist_free_all(h);
	return NULL;
}

static void set_method(const struct mbm_curl *cu, CURL *k, const struct mbm_s3_req *r,
		       struct xfer *x)
{
	if (strcmp(r->method, "HEAD") == 0) {
		cu->easy_setopt(k, CURLOPT_NOBODY, 1L);
	} else if (strcmp(r->method, "PUT") == 0) {
		cu->easy_setopt(k, CURLOPT_UPLOAD, 1L);
		cu->easy_setopt(k, CURLOPT_READFUNCTION, on_read);
		cu->easy_setopt(k, CURLOPT_READDATA, x);
		cu->easy_setopt(k, CURLOPT_INFILESIZE_LARGE, (curl_off_t)r->body_len);
	} else if (strcmp(r->method, "POST") == 0) {
		cu->easy_setopt(k, CURLOPT_POST, 1L);
		cu->easy_setopt(k, CURLOPT_POSTFIELDS, r->body ? r->body : "");
		cu->easy_setopt(k, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
	} else if (strcmp(r->method, "GET") != 0) {
		cu->easy_setopt(k, CURLOPT_CUSTOMREQUEST, r->method);
	}
}

/* One attempt: the curl result (CURLE_OK when an answer came). */
static CURLcode attempt(struct mbm_s3 *c, struct mbm_s3_req *r, const char *url,
			struct curl_slist *h, int *oom)
{
	const struct mbm_curl *cu = c->cu;
	CURL *k = c->curl;
	char sigv4[160];
	struct xfer x = { .r = r };
	CURLcode rc;

	mbm_s3_req_free(r);
	r->status = 0;
	r->got = 0;
	r->etag[0] = '\0';
	r->meta[0] = r->modified[0] = '\0';
	r->length = 0;
	snprintf(sigv4, sizeof(sigv4), "aws:amz:%s:s3", c->region);
	cu->easy_reset(k);
	cu->easy_setopt(k, CURLOPT_URL, url);
	cu->easy_setopt(k, CURLOPT_AWS_SIGV4, sigv4);
	cu->easy_setopt(k, CURLOPT_USERPWD, c->userpwd);
	cu->easy_setopt(k, CURLOPT_HTTPHEADER, h);
	cu->easy_setopt(k, CURLOPT_NOSIGNAL, 1L);
	cu->easy_setopt(k, CURLOPT_CONNECTTIMEOUT, 10L);
	cu->easy_setopt(k, CURLOPT_LOW_SPEED_LIMIT, 1L);
	cu->easy_setopt(k, CURLOPT_LOW_SPEED_TIME, 60L);
	cu->easy_setopt(k, CURLOPT_WRITEFUNCTION, on_body);
	cu->easy_setopt(k, CURLOPT_WRITEDATA, &x);
	cu->easy_setopt(k, CURLOPT_HEADERFUNCTION, on_header);
	cu->easy_setopt(k, CURLOPT_HEADERDATA, &x);
	set_method(c->cu, k, r, &x);
	rc = cu->easy_perform(k);
	c->requests++;
	c->fetched += r->got;
	*oom = x.oom;
	if (rc == CURLE_OK)
		cu->easy_getinfo(k, CURLINFO_RESPONSE_CODE, &r->status);
	return rc;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

int mbm_s3_do(struct mbm_s3 *c, struct mbm_s3_req *r, const char *what, struct mb_error *e)
{
	char *url = url_of(c, r);
	struct curl_slist *h = headers_for(c->cu, r);
	CURLcode rc = CURLE_OK;
	int ret = -1, oom = 0;

	if (!url || !h) {
		mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to %s '%s'", what, c->spec);
		goto out;
	}
	for (int i = 0; i < S3_TRIES; i++) {
		if (c->stop.check && c->stop.check(e) < 0)
			goto out;
		if (i)
			sleep_ms(S3_BACKOFF_MS << (i - 1));
		rc = attempt(c, r, url, h, &oom);
		if (oom) {
			mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to %s '%s'", what, c->spec);
			goto out;
		}
		if (rc == CURLE_OK && r->status / 100 != 5)
			break;
		mb_debug("%s '%s': try %d: %s", what, c->spec, i + 1,
			 rc == CURLE_OK ? "server error" : c->cu->easy_strerror(rc));
	}
	if (rc != CURLE_OK) {
		mb_fail(e, MB_ERR_MEDIA, 0, "unable to %s '%s': %s (%s)", what, c->spec,
			c->cu->easy_strerror(rc), c->endpoint);
		mb_hint(e, "check s3-endpoint (or AWS_ENDPOINT_URL) and that the object store is up");
		goto out;
	}
	ret = 0;
out:
	free(url);
	c->cu->slist_free_all(h);
	return ret;
}

char *mbm_s3_xml(const char *xml, const char *tag)
{
	char open[64], close[64];
	const char *a, *b;

	if (!xml)
		return NULL;
	snprintf(open, sizeof(open), "<%s>", tag);
	snprintf(close, sizeof(close), "</%s>", tag);
	if (!(a = strstr(xml, open)) || !(b = strstr(a += strlen(open), close)))
		return NULL;
	return strndup(a, (size_t)(b - a));
}

static const char *hint_for(const char *code, long status)
{
	if (!code && status == 403)
		code = "AccessDenied";
	if (!code)
		return status == 404 ? "check the bucket and the key" : NULL;
	if (!strcmp(code, "InvalidAccessKeyId") || !strcmp(code, "SignatureDoesNotMatch") ||
	    !strcmp(code, "AccessDenied"))
		return "check s3-access-key and s3-secret-key (or AWS_ACCESS_KEY_ID and "
		       "AWS_SECRET_ACCESS_KEY) and the bucket's policy";
	if (!strcmp(code, "NoSuchBucket"))
		return "create the bucket first, or check its name";
	if (!strcmp(code, "NoSuchKey"))
		return "check the key; mbackup list shows the images of the catalog";
	return NULL;
}

int mbm_s3_fail(struct mbm_s3 *c, const struct mbm_s3_req *r, const char *what,
		struct mb_error *e)
{
	char *code = mbm_s3_xml(r->text, "Code");
	const char *hint = hint_for(code, r->status);

	if (!code && (r->status == 403 || r->status == 404))	/* a HEAD's answer has no body */
		code = strdup(r->status == 403 ? "Forbidden" : "Not Found");
	mb_fail(e, MB_ERR_MEDIA, 0, "unable to %s '%s': HTTP %ld%s%s", what, c->spec, r->status,
		code ? " " : "", code ? code : "");
	if (hint)
		mb_hint(e, "%s", hint);
	free(code);
	return -1;
}

static bool accepted(long status, unsigned accept)
{
	return (accept & MBM_S3_2XX) ? status / 100 == 2 : status == 200;
}

int mbm_s3_call(struct mbm_s3 *c, struct mbm_s3_req *r, const char *what, unsigned accept,
		struct mb_error *e, const char *qfmt, ...)
{
	char *query = NULL;
	int rc = -1;

	if (qfmt) {
		va_list ap;

		va_start(ap, qfmt);
		if (vasprintf(&query, qfmt, ap) < 0)
			query = NULL;
		va_end(ap);
		if (!query)
			return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to %s '%s'", what, c->spec);
		r->query = query;
	}
	if (mbm_s3_do(c, r, what, e) < 0)
		goto out;
	if ((accept & MBM_S3_404) && r->status == 404)
		rc = 1;
	else if (accepted(r->status, accept))
		rc = 0;
	else
		mbm_s3_fail(c, r, what, e);
out:
	if (query)
		r->query = NULL;
	free(query);
	return rc;
}
