/*
 * The WAL archive on an S3 store, wal-archive = s3://BUCKET/PREFIX
 * (wal_store.h): the file REL is the object PREFIX/REL, byte-identical to
 * what the directory would hold, its checksum the object's
 * x-amz-meta-xxh128.  One PUT per file, checked by the store against its
 * SHA-256: no partial object is ever visible under a name, so there are
 * no temporaries.  A new name is a conditional PUT (If-None-Match: *):
 * two pushes of one name cannot both store it, which is what the
 * directory's .push.lock is for; no lock is taken.  Endpoint, region and
 * credentials are the s3:// media's (config file or AWS environment).
 */
#include "orchestrator/wal_store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugins/media/s3_object.h"

struct s3s {
	struct mb_s3_obj *o;
	char *prefix;		/* "db1/wal", no trailing '/' */
	char key[1200];
};

static int s3s_open(struct mb_wal_store *s, struct mb_error *e)
{
	const char *p = strchr(s->spec + 5, '/');
	struct s3s *x = calloc(1, sizeof(*x));
	size_t n;

	if (!x)
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to open WAL archive '%s'", s->spec);
	n = p ? strlen(p + 1) : 0;
	while (n && p[n] == '/')
		n--;
	if (!p || p == s->spec + 5 || !n || !(x->prefix = strndup(p + 1, n))) {
		free(x);
		mb_fail(e, p && n ? MB_ERR_GENERAL : MB_ERR_CONFIG, 0, "invalid WAL archive '%s'",
			s->spec);
		mb_hint(e, "write it s3://BUCKET/PREFIX");
		return -1;
	}
	if (mb_s3_obj_open(&x->o, s->spec, s->s3, e) < 0) {
		free(x->prefix);
		free(x);
		return -1;
	}
	s->priv = x;
	return 0;
}

static void s3s_close(struct mb_wal_store *s)
{
	struct s3s *x = s->priv;

	if (!x)
		return;
	mb_s3_obj_close(x->o);
	free(x->prefix);
	free(x);
	s->priv = NULL;
}

static const char *key_of(struct mb_wal_store *s, const char *rel)
{
	struct s3s *x = s->priv;

	snprintf(x->key, sizeof(x->key), "%s/%s", x->prefix, rel);
	return x->key;
}

static void entry_of(const char *rel, const struct mb_s3_info *in, struct mb_wal_entry *en)
{
	*en = (struct mb_wal_entry){ .size = in->size, .mtime = in->mtime };
	snprintf(en->rel, sizeof(en->rel), "%s", rel);
	if (strlen(in->meta) == MB_HASH_HEX_LEN &&
	    strspn(in->meta, "0123456789abcdef") == MB_HASH_HEX_LEN)
		memcpy(en->sum, in->meta, MB_HASH_HEX_LEN + 1);
}

static int s3s_stat(struct mb_wal_store *s, const char *rel, struct mb_wal_entry *en,
		    struct mb_error *e)
{
	struct s3s *x = s->priv;
	struct mb_s3_info in = { 0 };
	int rc = mb_s3_obj_head(x->o, key_of(s, rel), &in, e);

	if (rc == 0)
		entry_of(rel, &in, en);
	return rc;
}

static int s3s_read(struct mb_wal_store *s, const char *rel, size_t max, void **buf,
		    struct mb_wal_entry *en, struct mb_error *e)
{
	struct s3s *x = s->priv;
	struct mb_s3_info in = { 0 };
	int rc = mb_s3_obj_get(x->o, key_of(s, rel), max, buf, &in, e);

	if (rc == 0)
		entry_of(rel, &in, en);
	return rc;
}

static int s3s_write(struct mb_wal_store *s, const char *rel, const void *buf, size_t len,
		     const char *sum, bool replace, struct mb_error *e)
{
	struct s3s *x = s->priv;

	return mb_s3_obj_put(x->o, key_of(s, rel), buf, len, sum, !replace, e);
}

struct lister {
	size_t skip;
	mb_wal_list_fn fn;
	void *ctx;
};

static int one_key(void *ctx, const char *key, const struct mb_s3_info *in, struct mb_error *e)
{
	struct lister *l = ctx;
	struct mb_wal_entry en;

	if (strlen(key) <= l->skip || strlen(key + l->skip) >= MB_WAL_REL_MAX)
		return 0;	/* (not a file mbackup wrote) */
	entry_of(key + l->skip, in, &en);
	en.sum[0] = '\0';	/* (a listing carries none) */
	return l->fn(l->ctx, &en, e);
}

static int s3s_list(struct mb_wal_store *s, mb_wal_list_fn fn, void *ctx, struct mb_error *e)
{
	struct s3s *x = s->priv;
	struct lister l = { .skip = strlen(x->prefix) + 1, .fn = fn, .ctx = ctx };

	return mb_s3_obj_list(x->o, key_of(s, ""), one_key, &l, e);
}

static int s3s_remove(struct mb_wal_store *s, const char *rel, struct mb_error *e)
{
	struct s3s *x = s->priv;

	return mb_s3_obj_delete(x->o, key_of(s, rel), e);
}

/* One DeleteObjects per 1,000 files, where a DELETE each took as many. */
static int s3s_remove_many(struct mb_wal_store *s, const char *const *rels, size_t n,
			   size_t *requests, struct mb_error *e)
{
	struct s3s *x = s->priv;
	size_t plen = strlen(x->prefix) + 1;
	char **keys = calloc(n ? n : 1, sizeof(*keys));
	int rc = 0;

	for (size_t i = 0; keys && rc == 0 && i < n; i++)
		if (!(keys[i] = malloc(plen + strlen(rels[i]) + 1)))
			rc = -1;
		else
			sprintf(keys[i], "%s/%s", x->prefix, rels[i]);
	if (!keys || rc < 0)
		rc = mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to expire '%s'", s->spec);
	else
		rc = mb_s3_obj_delete_many(x->o, (const char *const *)keys, n, requests, e);
	for (size_t i = 0; keys && i < n; i++)
		free(keys[i]);
	free(keys);
	return rc;
}

const struct mb_wal_store_ops mb_wal_store_s3 = {
	.remove_many = s3s_remove_many,
	.kind = "s3",
	.scheme = "s3://",
	.create_is_atomic = true,
	.open = s3s_open,
	.close = s3s_close,
	.stat = s3s_stat,
	.read = s3s_read,
	.write = s3s_write,
	.list = s3s_list,
	.remove = s3s_remove,
};
