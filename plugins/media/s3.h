/*
 * The s3:// media's client (s3_http.c), shared by its writer (s3_write.c)
 * and its reader (s3_read.c).  Not part of the public contract.
 *
 * A request is signed with AWS Signature V4 by libcurl itself
 * (CURLOPT_AWS_SIGV4).  Debian 12's curl 7.88 needs three things of us
 * to sign what RGW and AWS check (see notes/ceph-rgw): the header
 * x-amz-content-sha256 always sent (the real SHA-256 of the body, which
 * the store then verifies: each part is checksummed end to end), the
 * query string already canonical (keys sorted, each with '=', values
 * percent-encoded), and the key percent-encoded in the path.
 */
#ifndef MB_MEDIA_S3_H
#define MB_MEDIA_S3_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "plugins/media/media.h"

struct mbm_curl;
struct mbm_s3 {
	char *spec;		/* "s3://BUCKET/KEY", for messages */
	char *bucket, *key;
	char *endpoint;		/* "http://host:port", no trailing '/' */
	char *region;
	char *userpwd;		/* "ACCESS:SECRET" for curl; never logged */
	bool path_style;
	const struct mbm_curl *cu;	/* libcurl (s3_curl.h) */
	void *curl;		/* CURL *, reused for keep-alive */
	struct mb_media_stop stop;
	uint64_t fetched;	/* bytes of object data received */
	uint64_t requests;
};

struct mbm_s3_req {
	const char *method;	/* GET, HEAD, PUT, POST, DELETE */
	const char *query;	/* canonical ("partNumber=1&uploadId=X"), or NULL */
	bool bucket_only;	/* the bucket's URL, not the object's */
	const void *body;	/* PUT / POST body */
	size_t body_len;
	uint64_t range_from;	/* with range_len: a ranged GET */
	size_t range_len;
	void *dst;		/* GET: object bytes go here (range_len at most) */
	const char *hdr[3];	/* more request headers ("If-None-Match: *"), or NULL */
	bool bad_digest;	/* the test seam: the body's SHA-256 is sent for
				 * one byte less, and the store refuses the body
				 * as damaged in transit (s3_write.c) */
	/* the answer */
	long status;
	size_t got;		/* bytes put in dst */
	char *text;		/* an XML body (not for dst GETs), malloc'ed */
	size_t text_len;
	char etag[96];		/* the ETag header, quotes included */
	uint64_t length;	/* Content-Length (HEAD) */
	char meta[72];		/* the x-amz-meta-xxh128 header (s3_object.c) */
	char modified[40];	/* the Last-Modified header */
};

/* Parses "//BUCKET/KEY" and takes the settings (p->s3, else the AWS
 * environment variables) and p->stop; no request is made.  p may be NULL. */
int mbm_s3_init(struct mbm_s3 *c, const char *arg, const struct mb_media_params *p,
		struct mb_error *e);
void mbm_s3_fini(struct mbm_s3 *c);
/* Runs r, retrying connection errors and 5xx with backoff; 0 with
 * r->status set for any answer the store gave (the caller judges it),
 * -1 if none came (the endpoint unreachable) or the run was stopped.
 * what: "upload part 3 of" for the messages. */
int mbm_s3_do(struct mbm_s3 *c, struct mbm_s3_req *r, const char *what, struct mb_error *e);
/* Fails for an answer that is not 2xx: "unable to WHAT 's3://b/k': HTTP
 * 403 InvalidAccessKeyId" with a hint for the usual causes. */
int mbm_s3_fail(struct mbm_s3 *c, const struct mbm_s3_req *r, const char *what,
		struct mb_error *e);
/* What mbm_s3_call takes: exactly 200, any 2xx; with MBM_S3_404 a 404
 * too ("no such key", "already gone"), returned as 1. */
enum { MBM_S3_200 = 0, MBM_S3_2XX = 1, MBM_S3_404 = 2 };
/* One request as most callers make it: the query built from qfmt (NULL:
 * r->query as set; a built one is freed before the return), mbm_s3_do,
 * then mbm_s3_fail for an answer accept does not take.  0 or 1 (see
 * MBM_S3_404) with the answer in r (free it with mbm_s3_req_free), -1. */
int mbm_s3_call(struct mbm_s3 *c, struct mbm_s3_req *r, const char *what, unsigned accept,
		struct mb_error *e, const char *qfmt, ...)
	__attribute__((format(printf, 6, 7)));
void mbm_s3_req_free(struct mbm_s3_req *r);
/* The text of the first <tag>...</tag> of xml, malloc'ed, or NULL. */
char *mbm_s3_xml(const char *xml, const char *tag);
/* s percent-encoded as SigV4 wants it (keep_slash: a path), malloc'ed. */
char *mbm_s3_encode(const char *s, bool keep_slash);

/* The object API's HEAD (s3_object.c) on c's key: 0 with *info, 1 when
 * there is no such object (or bucket); what: "look up" for the messages. */
struct mb_s3_info;
int mbm_s3_head(struct mbm_s3 *c, const char *what, struct mb_s3_info *info,
		struct mb_error *e);

/* ---- the driver's pieces (s3_upload.c, s3_read.c, s3_write.c) ---- */

/* mbm_s3_head of the object: refused (MB_ERR_MEDIA) if it exists and !force. */
int mbm_s3_refuse_existing(struct mbm_s3 *c, bool force, struct mb_error *e);
/* A listing of one key of the bucket (s3_probe.c): NoSuchBucket, which
 * a HEAD of the object cannot tell from an absent key, is an error. */
int mbm_s3_probe_bucket(struct mbm_s3 *c, struct mb_error *e);
/* CompleteMultipartUpload of n parts, then a HEAD that must find size
 * bytes (RGW 16's answer to the completion carries no ETag to check). */
int mbm_s3_complete(struct mbm_s3 *c, const char *upload_id, const char (*etag)[96],
		    uint32_t n, uint64_t size, struct mb_error *e);
int mbm_s3_abort_upload(struct mbm_s3 *c, const char *upload_id, struct mb_error *e);
/* The completion puts the object under its name for a run that is not
 * complete yet: the "publish" obligation's text, recorded before it,
 * "ETAG //BUCKET/KEY" with the ETag the store will give the object (the
 * MD5 of the parts' MD5s and "-N", computed from the parts' ETags; "-"
 * when a part's ETag is no MD5, as under SSE-KMS), malloc'ed. */
char *mbm_s3_publication(const struct mbm_s3 *c, const char (*etag)[96], uint32_t n);
/* Its undo: deletes the object while it is the one the run wrote (its
 * ETag); an older object (--force was to replace it) or none is left. */
int mbm_s3_unpublish(const char *what, const struct mb_undo_ctx *ctx, struct mb_error *e);
/* recover: aborts every multipart upload under the obligation's key. */
int mbm_s3_undo(const char *what, const struct mb_undo_ctx *ctx, struct mb_error *e);

int mbm_s3_open_read(struct mb_media_in *m, const char *arg, const struct mb_media_params *p,
		     struct mb_error *e);
ssize_t mbm_s3_read(struct mb_media_in *m, void *buf, size_t n, struct mb_error *e);
int mbm_s3_seek(struct mb_media_in *m, uint64_t off, struct mb_error *e);
int mbm_s3_next_image(struct mb_media_in *m, uint64_t size, struct mb_error *e);
void mbm_s3_close_read(struct mb_media_in *m);

#endif
