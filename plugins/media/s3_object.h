/*
 * One object at a time on an S3 store (s3_object.c): what the WAL archive
 * on s3:// and expire use, where the media's streaming reader and
 * multipart writer (s3_read.c, s3_write.c) do not fit.  Built on the
 * media's client (s3_http.c): the same settings (config file or AWS
 * environment), the same SigV4 signing by libcurl, the same retries of
 * connection errors and 5xx with backoff, the same one-line messages.
 *
 * Keys are full keys in the bucket ("db1/wal/0000000100000000/NAME").
 * A PUT sends the body's SHA-256 (x-amz-content-sha256), which the store
 * checks before it makes the object visible: an object is whole or absent.
 * meta, when given, is kept as the object's x-amz-meta-xxh128 header.
 */
#ifndef MB_MEDIA_S3_OBJECT_H
#define MB_MEDIA_S3_OBJECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "common/error.h"

struct mb_s3_obj;

struct mb_s3_info {
	uint64_t size;
	time_t mtime;		/* Last-Modified; 0 if the store gave none */
	char meta[72];		/* x-amz-meta-xxh128, "" if none */
	char etag[96];		/* the ETag, quotes included ("" if none; HEAD only) */
};

/* A client on the bucket of url, "s3://BUCKET/KEY" (the KEY part is only
 * checked to be there), with the store's settings s3 (media.h; NULL: the
 * environment's); no request is made. */
struct mb_s3_settings;
int mb_s3_obj_open(struct mb_s3_obj **o, const char *url, const struct mb_s3_settings *s3,
		   struct mb_error *e);
void mb_s3_obj_close(struct mb_s3_obj *o);
const char *mb_s3_obj_bucket(const struct mb_s3_obj *o);

/* Stores buf[0..len) under key.  if_absent: a conditional PUT
 * (If-None-Match: *), 1 when an object is there already. */
int mb_s3_obj_put(struct mb_s3_obj *o, const char *key, const void *buf, size_t len,
		  const char *meta, bool if_absent, struct mb_error *e);
/* HEAD: 0 with *info, 1 when there is no such object. */
int mb_s3_obj_head(struct mb_s3_obj *o, const char *key, struct mb_s3_info *info,
		   struct mb_error *e);
/* The whole object into *buf (malloc'ed, *info filled); 1 when there is
 * no such object, MB_ERR_MEDIA when it is larger than max. */
int mb_s3_obj_get(struct mb_s3_obj *o, const char *key, size_t max, void **buf,
		  struct mb_s3_info *info, struct mb_error *e);
/* The whole object written to fd (name for messages); 1 when absent. */
int mb_s3_obj_get_file(struct mb_s3_obj *o, const char *key, int fd, const char *name,
		       size_t max, struct mb_s3_info *info, struct mb_error *e);
/* Every key under prefix (ListObjectsV2, page after page), in the store's
 * order (UTF-8 binary); fn's -1 stops the listing and is returned. */
typedef int (*mb_s3_list_fn)(void *ctx, const char *key, const struct mb_s3_info *info,
			     struct mb_error *e);
int mb_s3_obj_list(struct mb_s3_obj *o, const char *prefix, mb_s3_list_fn fn, void *ctx,
		   struct mb_error *e);
/* DELETE; an absent object is success. */
int mb_s3_obj_delete(struct mb_s3_obj *o, const char *key, struct mb_error *e);
/* Many keys removed, 1,000 a request (DeleteObjects, s3_delete.c); an
 * absent key is success, a key the store refuses fails naming it. */
int mb_s3_obj_delete_many(struct mb_s3_obj *o, const char *const *keys, size_t n,
			  size_t *requests, struct mb_error *e);
/* The object a media spec "s3://BUCKET/KEY" names, deleted (expire). */
int mb_s3_obj_remove_url(const char *url, const struct mb_s3_settings *s3, struct mb_error *e);

#endif
