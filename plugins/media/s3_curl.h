/*
 * libcurl, loaded the first time the object store is used (s3_curl.c):
 * the functions s3_http.c calls, through this table.  Not part of the
 * public contract.
 */
#ifndef MB_MEDIA_S3_CURL_H
#define MB_MEDIA_S3_CURL_H

#include <curl/curl.h>

struct mb_error;

struct mbm_curl {
	CURL *(*easy_init)(void);
	void (*easy_cleanup)(CURL *k);
	void (*easy_reset)(CURL *k);
	CURLcode (*easy_setopt)(CURL *k, CURLoption opt, ...);
	CURLcode (*easy_perform)(CURL *k);
	CURLcode (*easy_getinfo)(CURL *k, CURLINFO info, ...);
	const char *(*easy_strerror)(CURLcode rc);
	struct curl_slist *(*slist_append)(struct curl_slist *l, const char *s);
	void (*slist_free_all)(struct curl_slist *l);
};

/* The table, libcurl being loaded at the first call (once, whichever
 * thread calls); NULL and e filled (naming spec) when it cannot be. */
const struct mbm_curl *mbm_curl(const char *spec, struct mb_error *e);

#endif
