/* The WAL archive's backends, found by scheme; see wal_store.h. */
#include "orchestrator/wal_store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct mb_wal_store_ops *const backends[] = {
	&mb_wal_store_s3,
	&mb_wal_store_dir,	/* (no scheme: the last) */
};

static const struct mb_wal_store_ops *backend_of(const char *spec)
{
	size_t n = sizeof(backends) / sizeof(backends[0]);

	for (size_t i = 0; i < n; i++)
		if (!backends[i]->scheme ||
		    strncmp(spec, backends[i]->scheme, strlen(backends[i]->scheme)) == 0)
			return backends[i];
	return NULL;
}

int mb_wal_store_open(const char *spec, const struct mb_s3_settings *s3, struct mb_wal_store **s,
		      struct mb_error *e)
{
	*s = calloc(1, sizeof(**s));
	if (!*s)
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to open WAL archive '%s'", spec);
	(*s)->ops = backend_of(spec);
	(*s)->spec = spec;
	(*s)->s3 = s3;
	if ((*s)->ops->open(*s, e) < 0) {
		free(*s);
		*s = NULL;
		return -1;
	}
	return 0;
}

void mb_wal_store_close(struct mb_wal_store *s)
{
	if (!s)
		return;
	s->ops->close(s);
	free(s);
}

const char *mb_wal_store_local(const char *spec)
{
	return spec && backend_of(spec)->scheme == NULL ? spec : NULL;
}

void mb_wal_store_where(const struct mb_wal_store *s, const char *rel, char *buf, size_t cap)
{
	size_t n = strlen(s->spec);

	while (n > 1 && s->spec[n - 1] == '/')
		n--;
	snprintf(buf, cap, "%.*s/%s", (int)n, s->spec, rel);
}

int mb_wal_store_lock(struct mb_wal_store *s, int *fd, struct mb_error *e)
{
	*fd = -1;
	return s->ops->lock ? s->ops->lock(s, fd, e) : 0;
}

int mb_wal_store_load(struct mb_wal_store *s, const char *rel, size_t max, bool need_sum,
		      char **text, size_t *len, struct mb_error *e)
{
	char where[4200], got[MB_HASH_HEX_LEN + 1];
	struct mb_wal_entry en;
	void *buf = NULL;
	int rc = s->ops->read(s, rel, max, &buf, &en, e);

	*text = NULL;
	mb_wal_store_where(s, rel, where, sizeof(where));
	if (rc == 1)
		return mb_fail(e, MB_ERR_NOT_FOUND, ENOENT, "unable to open '%s'", where);
	if (rc < 0)
		return -1;
	((char *)buf)[en.size] = '\0';
	mb_hash_buf_hex(buf, en.size, got);
	if (need_sum && !en.sum[0]) {
		rc = mb_fail(e, MB_ERR_CORRUPT, ENOENT, "unable to read the checksum of '%s'", where);
	} else if (en.sum[0] && strcmp(en.sum, got) != 0) {
		rc = mb_fail(e, MB_ERR_CORRUPT, 0, "archived '%s' is damaged: checksum %s, "
			     "expected %s", where, got, en.sum);
	}
	if (rc < 0) {
		free(buf);
		return -1;
	}
	*text = buf;
	*len = en.size;
	return 0;
}
