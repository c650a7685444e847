/*
 * DeleteObjects on an S3 store (s3_delete.c): for the object store's
 * client (s3_object.c) and its unit test; not part of the public contract.
 */
#ifndef MB_MEDIA_S3_DELETE_H
#define MB_MEDIA_S3_DELETE_H

#include <stddef.h>

#include "plugins/media/s3.h"

#define MBM_S3_DELETE_MAX 1000	/* keys a request may name */

struct mbm_s3_delete_error {
	char key[1100];
	char code[64];
};

/* <Delete><Quiet>true</Quiet><Object><Key>...</Key></Object>...</Delete>,
 * keys XML-escaped; malloc'ed, *len its length. */
char *mbm_s3_delete_body(const char *const *keys, size_t n, size_t *len);
/* The answer's <Error> entries other than NoSuchKey (an object gone
 * already is removed): how many, and the first of them; -1 out of memory. */
int mbm_s3_delete_errors(const char *xml, struct mbm_s3_delete_error *first, size_t *n_failed);
/* Removes keys (full keys in c's bucket), MBM_S3_DELETE_MAX a request;
 * an absent key is success, any other key refused fails (MB_ERR_MEDIA,
 * naming the first and how many).  *requests: how many were sent. */
int mbm_s3_delete_many(struct mbm_s3 *c, const char *const *keys, size_t n, size_t *requests,
		       struct mb_error *e);

#endif
