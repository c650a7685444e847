/*
 * libcurl, loaded the first time the object store is used (s3_curl.h).
 * Linked, it and the libraries it pulls in (TLS twice over, Kerberos,
 * LDAP, SSH, RTMP, IDN, HTTP/2...) were mapped and initialised by every
 * run, to a file or a tape as much as to s3://: ~2.9 MB of the resident
 * set before the first file (bench/files.md, "the fixed part").  Loaded
 * once, never unloaded.
 */
#include "plugins/media/s3_curl.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "common/dlsyms.h"
#include "common/error.h"

#define LIBCURL "libcurl.so.4"	/* the soname -lcurl links against */

static const struct mb_dl_sym syms[] = {
	{ "curl_easy_init", offsetof(struct mbm_curl, easy_init) },
	{ "curl_easy_cleanup", offsetof(struct mbm_curl, easy_cleanup) },
	{ "curl_easy_reset", offsetof(struct mbm_curl, easy_reset) },
	{ "curl_easy_setopt", offsetof(struct mbm_curl, easy_setopt) },
	{ "curl_easy_perform", offsetof(struct mbm_curl, easy_perform) },
	{ "curl_easy_getinfo", offsetof(struct mbm_curl, easy_getinfo) },
	{ "curl_easy_strerror", offsetof(struct mbm_curl, easy_strerror) },
	{ "curl_slist_append", offsetof(struct mbm_curl, slist_append) },
	{ "curl_slist_free_all", offsetof(struct mbm_curl, slist_free_all) },
};

static pthread_once_t once = PTHREAD_ONCE_INIT;
static struct mbm_curl api;
static bool loaded;
static char why[256];		/* why it did not load */

static void load(void)
{
	loaded = mb_dl_table(LIBCURL, syms, sizeof(syms) / sizeof(syms[0]), &api, why,
			     sizeof(why)) == 0;
}

const struct mbm_curl *mbm_curl(const char *spec, struct mb_error *e)
{
	pthread_once(&once, load);
	if (loaded)
		return &api;
	mb_fail(e, MB_ERR_MEDIA, 0, "unable to open media '%s': unable to load %s (%s)",
		spec, LIBCURL, why);
	mb_hint(e, "the object store needs libcurl: apt-get install libcurl4");
	return NULL;
}
