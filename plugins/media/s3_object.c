/* One object at a time on an S3 store; see s3_object.h. */
#include "plugins/media/s3_object.h"
#include "plugins/media/s3.h"
#include "plugins/media/s3_delete.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FIRST_WINDOW ((16u << 20) + (64u << 10))

struct mb_s3_obj {
	struct mbm_s3 c;
};

int mb_s3_obj_open(struct mb_s3_obj **o, const char *url, const struct mb_s3_settings *s3,
		   struct mb_error *e)
{
	if (strncmp(url, "s3:", 3) != 0) {
		*o = NULL;
		return mb_fail(e, MB_ERR_USAGE, 0, "invalid object store URL '%s'", url);
	}
	if (!(*o = calloc(1, sizeof(**o))))
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to open '%s'", url);
	if (mbm_s3_init(&(*o)->c, url + 3, &(struct mb_media_params){ .s3 = s3 }, e) < 0) {
		mb_s3_obj_close(*o);
		*o = NULL;
		return -1;
	}
	return 0;
}

void mb_s3_obj_close(struct mb_s3_obj *o)
{
	if (!o)
		return;
	mbm_s3_fini(&o->c);
	free(o);
}

const char *mb_s3_obj_bucket(const struct mb_s3_obj *o)
{
	return o->c.bucket;
}

/* The client's key (and the spec its messages name) set to key. */
static int aim(struct mb_s3_obj *o, const char *key, struct mb_error *e)
{
	char *k = strdup(key), *spec = NULL;

	if (!k || asprintf(&spec, "s3://%s/%s", o->c.bucket, key) < 0) {
		free(k);
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to reach 's3://%s/%s'",
			       o->c.bucket, key);
	}
	free(o->c.key);
	free(o->c.spec);
	o->c.key = k;
	o->c.spec = spec;
	return 0;
}

/* "Wed, 02 Dec 2026 00:51:00 GMT" or "2026-12-02T00:51:00.000Z" -> time. */
static time_t parse_time(const char *s)
{
	struct tm tm = { 0 };

	if (strptime(s, "%a, %d %b %Y %H:%M:%S", &tm) || strptime(s, "%Y-%m-%dT%H:%M:%S", &tm))
		return timegm(&tm);
	return 0;
}

int mb_s3_obj_put(struct mb_s3_obj *o, const char *key, const void *buf, size_t len,
		  const char *meta, bool if_absent, struct mb_error *e)
{
	struct mbm_s3_req r = { .method = "PUT", .body = len ? buf : "", .body_len = len };
	char mh[100];
	int rc = -1, h = 0;

	if (aim(o, key, e) < 0)
		return -1;
	if (if_absent)
		r.hdr[h++] = "If-None-Match: *";
	if (meta) {
		snprintf(mh, sizeof(mh), "x-amz-meta-xxh128: %s", meta);
		r.hdr[h++] = mh;
	}
	if (mbm_s3_do(&o->c, &r, "store", e) < 0)
		goto out;
	if (if_absent && (r.status == 412 || r.status == 409)) {
		rc = 1;
		goto out;
	}
	if (r.status / 100 != 2) {
		mbm_s3_fail(&o->c, &r, "store", e);
		goto out;
	}
	rc = 0;
out:
	mbm_s3_req_free(&r);
	return rc;
}

static void info_of(const struct mbm_s3_req *r, uint64_t size, struct mb_s3_info *info)
{
	info->size = size;
	info->mtime = r->modified[0] ? parse_time(r->modified) : 0;
	snprintf(info->meta, sizeof(info->meta), "%s", r->meta);
	memcpy(info->etag, r->etag, sizeof(info->etag));
}

int mbm_s3_head(struct mbm_s3 *c, const char *what, struct mb_s3_info *info,
		struct mb_error *e)
{
	struct mbm_s3_req r = { .method = "HEAD" };
	int rc = mbm_s3_call(c, &r, what, MBM_S3_200 | MBM_S3_404, e, NULL);

	if (rc == 0)
		info_of(&r, r.length, info);
	mbm_s3_req_free(&r);
	return rc;
}

int mb_s3_obj_head(struct mb_s3_obj *o, const char *key, struct mb_s3_info *info,
		   struct mb_error *e)
{
	if (aim(o, key, e) < 0)
		return -1;
	return mbm_s3_head(&o->c, "look up", info, e);
}

/* A GET of the range [0, win]: one request, an answer of the object's
 * own size when it is smaller (206), and a 404's body says whether the key
 * or the bucket is missing (a HEAD's cannot).  *buf holds win + 1 bytes;
 * info->size > win: the object is larger. */
static int get_window(struct mb_s3_obj *o, size_t win, void **buf, struct mb_s3_info *info,
		      struct mb_error *e)
{
	struct mbm_s3_req r = { .method = "GET", .range_len = win + 1 };
	char *code = NULL;
	int rc = -1;

	if (!(r.dst = malloc(win + 1))) {
		mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to fetch '%s'", o->c.spec);
		goto out;
	}
	if (mbm_s3_do(&o->c, &r, "fetch", e) < 0)
		goto out;
	code = r.status == 404 ? mbm_s3_xml(r.text, "Code") : NULL;
	if (r.status == 404 && (!code || strcmp(code, "NoSuchKey") == 0)) {
		rc = 1;
		goto out;
	}
	if (r.status == 416)	/* an empty object */
		r.got = 0;
	else if (r.status / 100 != 2) {
		mbm_s3_fail(&o->c, &r, "fetch", e);
		goto out;
	}
	info_of(&r, r.got, info);
	*buf = r.dst;
	r.dst = NULL;
	rc = 0;
out:
	free(code);
	free(r.dst);
	mbm_s3_req_free(&r);
	return rc;
}

/* The first window holds a 16 MiB segment (compressed or not); a larger
 * object costs a HEAD for its size and a second GET. */
int mb_s3_obj_get(struct mb_s3_obj *o, const char *key, size_t max, void **buf,
		  struct mb_s3_info *info, struct mb_error *e)
{
	size_t win = max < FIRST_WINDOW ? max : FIRST_WINDOW;
	int rc;

	*buf = NULL;
	if (aim(o, key, e) < 0 || (rc = get_window(o, win, buf, info, e)) != 0)
		return e->code ? -1 : 1;
	if (info->size <= win)
		return 0;
	free(*buf);
	*buf = NULL;
	if ((rc = mb_s3_obj_head(o, key, info, e)) != 0)
		return rc;
	if (info->size > max)
		return mb_fail(e, MB_ERR_MEDIA, EFBIG, "unable to fetch '%s'", o->c.spec);
	if ((rc = get_window(o, (size_t)info->size, buf, info, e)) == 0 &&
	    info->size > max) {
		free(*buf);
		*buf = NULL;
		return mb_fail(e, MB_ERR_MEDIA, EFBIG, "unable to fetch '%s'", o->c.spec);
	}
	return rc;
}

int mb_s3_obj_get_file(struct mb_s3_obj *o, const char *key, int fd, const char *name,
		       size_t max, struct mb_s3_info *info, struct mb_error *e)
{
	void *buf;
	size_t off = 0;
	int rc = mb_s3_obj_get(o, key, max, &buf, info, e);

	while (rc == 0 && off < info->size) {
		ssize_t n = write(fd, (char *)buf + off, info->size - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			rc = mb_fail(e, MB_ERR_IO, errno, "unable to write '%s'", name);
		else
			off += (size_t)n;
	}
	free(buf);
	return rc;
}

/* &amp; and friends in a key of a listing, decoded in place. */
static void xml_unescape(char *s)
{
	static const char *const ent[][2] = { { "&amp;", "&" }, { "&lt;", "<" }, { "&gt;", ">" },
					      { "&quot;", "\"" }, { "&apos;", "'" } };
	char *w = s;

	while (*s) {
		size_t i;

		for (i = 0; i < 5 && strncmp(s, ent[i][0], strlen(ent[i][0])) != 0; i++)
			;
		if (i < 5) {
			*w++ = ent[i][1][0];
			s += strlen(ent[i][0]);
		} else {
			*w++ = *s++;
		}
	}
	*w = '\0';
}

/* The <Contents> of one page, each given to fn. */
static int list_page(const char *xml, mb_s3_list_fn fn, void *ctx, struct mb_error *e)
{
	const char *p = xml;
	int rc = 0;

	while (rc == 0 && p && (p = strstr(p, "<Contents>"))) {
		const char *end = strstr(p, "</Contents>");
		char *one = end ? strndup(p, (size_t)(end - p)) : NULL, *key, *size, *mod;
		struct mb_s3_info info = { 0 };

		if (!end)
			break;
		key = mbm_s3_xml(one, "Key");
		size = mbm_s3_xml(one, "Size");
		mod = mbm_s3_xml(one, "LastModified");
		if (!one || !key)
			rc = mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to read a listing");
		if (rc == 0) {
			xml_unescape(key);
			info.size = size ? strtoull(size, NULL, 10) : 0;
			info.mtime = mod ? parse_time(mod) : 0;
			rc = fn(ctx, key, &info, e);
		}
		free(one);
		free(key);
		free(size);
		free(mod);
		p = end;
	}
	return rc;
}

/* The canonical query of one page: keys sorted, values encoded.  The
 * test seam MBACKUP_S3_LIST_PAGE=N asks for pages of N keys (the store's
 * default is 1,000), so that a test sees pagination on a few objects. */
static char *list_query(const char *prefix, const char *token)
{
	char *p = mbm_s3_encode(prefix, false), *t = token ? mbm_s3_encode(token, false) : NULL;
	const char *page = getenv("MBACKUP_S3_LIST_PAGE");
	char *q = NULL, keys[40] = "";

	if (page && strspn(page, "0123456789") == strlen(page) && strlen(page) < 8 && *page)
		snprintf(keys, sizeof(keys), "max-keys=%s&", page);
	if (p && (!token || t) &&
	    asprintf(&q, "%s%s%slist-type=2&%sprefix=%s", token ? "continuation-token=" : "",
		     token ? t : "", token ? "&" : "", keys, p) < 0)
		q = NULL;
	free(p);
	free(t);
	return q;
}

int mb_s3_obj_list(struct mb_s3_obj *o, const char *prefix, mb_s3_list_fn fn, void *ctx,
		   struct mb_error *e)
{
	char *token = NULL, *more = NULL;
	int rc = aim(o, prefix, e);

	while (rc == 0) {
		struct mbm_s3_req r = { .method = "GET", .bucket_only = true };
		char *q = list_query(prefix, token);

		if (!(r.query = q))
			rc = mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to list '%s'", o->c.spec);
		else
			rc = mbm_s3_call(&o->c, &r, "list", MBM_S3_200, e, NULL);
		if (rc == 0)
			rc = list_page(r.text, fn, ctx, e);
		more = rc == 0 ? mbm_s3_xml(r.text, "IsTruncated") : NULL;
		free(token);
		token = more && strcmp(more, "true") == 0 ? mbm_s3_xml(r.text, "NextContinuationToken")
							  : NULL;
		free(more);
		free(q);
		mbm_s3_req_free(&r);
		if (!token)
			break;
	}
	free(token);
	return rc;
}

int mb_s3_obj_delete(struct mb_s3_obj *o, const char *key, struct mb_error *e)
{
	struct mbm_s3_req r = { .method = "DELETE" };
	int rc = aim(o, key, e);

	if (rc == 0)
		rc = mbm_s3_call(&o->c, &r, "remove", MBM_S3_2XX | MBM_S3_404, e, NULL);
	mbm_s3_req_free(&r);
	return rc < 0 ? -1 : 0;
}

int mb_s3_obj_remove_url(const char *url, const struct mb_s3_settings *s3, struct mb_error *e)
{
	struct mb_s3_obj *o;
	int rc;

	if (mb_s3_obj_open(&o, url, s3, e) < 0)
		return -1;
	rc = mb_s3_obj_delete(o, strchr(url + 5, '/') + 1, e);
	mb_s3_obj_close(o);
	return rc;
}

int mb_s3_obj_delete_many(struct mb_s3_obj *o, const char *const *keys, size_t n,
			  size_t *requests, struct mb_error *e)
{
	return mbm_s3_delete_many(&o->c, keys, n, requests, e);
}
