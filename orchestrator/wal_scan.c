/* The archive's contents, from its store's listing; see wal_archive.h. */
#include "orchestrator/wal_archive.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* One "name = value" line of archive.info. */
static int info_line(const char *line, uint64_t *sysid, uint32_t *seg_size)
{
	unsigned long long v;
	char key[32];

	if (line[0] == '#' || line[0] == '\0')
		return 0;
	if (sscanf(line, "%31s = %llu", key, &v) != 2)
		return -1;
	if (strcmp(key, "system-identifier") == 0)
		*sysid = v;
	else if (strcmp(key, "segment-size") == 0 && mb_wal_seg_size_valid(v))
		*seg_size = (uint32_t)v;
	else
		return -1;
	return 0;
}

int mb_wal_info_read(struct mb_wal_store *st, uint64_t *sysid, uint32_t *seg_size,
		     struct mb_error *e)
{
	char where[4200], *text = NULL, *save = NULL;
	size_t len;
	int rc = 0, lineno = 0;

	*sysid = 0;
	*seg_size = MB_WAL_DEFAULT_SEG_SIZE;
	mb_wal_store_where(st, "archive.info", where, sizeof(where));
	if (mb_wal_store_load(st, "archive.info", 4096, false, &text, &len, e) < 0) {
		if (e->code != MB_ERR_NOT_FOUND)
			return -1;
		mb_error_clear(e);
		return 0;
	}
	for (char *line = strtok_r(text, "\n", &save); rc == 0 && line;
	     line = strtok_r(NULL, "\n", &save)) {
		lineno++;
		if (info_line(line, sysid, seg_size) < 0)
			rc = mb_fail(e, MB_ERR_CORRUPT, 0, "'%s' line %d is malformed", where, lineno);
	}
	free(text);
	if (rc == 0 && *sysid == 0)
		rc = mb_fail(e, MB_ERR_CORRUPT, 0, "'%s' names no system-identifier", where);
	return rc;
}

static int cmp_seg(const void *a, const void *b)
{
	const struct mb_wal_seg *x = a, *y = b;

	if (x->tli != y->tli)
		return x->tli < y->tli ? -1 : 1;
	return x->segno < y->segno ? -1 : x->segno > y->segno;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static int push_seg(struct mb_wal_scan *s, size_t *cap, uint32_t tli, uint64_t segno, bool zst)
{
	if (s->n_segs == *cap) {
		size_t ncap = *cap ? *cap * 2 : 256;
		struct mb_wal_seg *v = realloc(s->segs, ncap * sizeof(*v));

		if (!v)
			return -1;
		s->segs = v;
		*cap = ncap;
	}
	s->segs[s->n_segs++] = (struct mb_wal_seg){ tli, segno, zst };
	return 0;
}

static int push_hist(struct mb_wal_scan *s, uint32_t tli)
{
	uint32_t *v = realloc(s->hist, (s->n_hist + 1) * sizeof(*v));

	if (!v)
		return -1;
	s->hist = v;
	s->hist[s->n_hist++] = tli;
	return 0;
}

struct lister {
	struct mb_wal_scan *s;
	size_t cap;
};

/* One file of the archive: counted, or ignored (foreign files). */
static int scan_entry(void *ctx, const struct mb_wal_entry *en, struct mb_error *e)
{
	struct lister *l = ctx;
	struct mb_wal_scan *s = l->s;
	const char *slash = strchr(en->rel, '/'), *base = slash ? slash + 1 : en->rel;
	size_t len = strlen(base);
	char name[MB_WAL_NAME_MAX];
	struct mb_wal_name n;
	bool zst;
	int rc = 0;

	if (base[0] == '.') {
		s->n_tmp += len > 4 && strcmp(base + len - 4, ".tmp") == 0;
		return 0;
	}
	if (mb_wal_stored_parse(base, &n, name, &zst) < 0 || !slash != (n.kind == MB_WAL_HISTORY))
		return 0;
	if (n.kind == MB_WAL_SEGMENT) {
		rc = push_seg(s, &l->cap, n.tli, mb_wal_name_segno(&n, s->seg_size), zst);
		s->n_zst += zst;
	} else if (n.kind == MB_WAL_HISTORY) {
		rc = push_hist(s, n.tli);
	} else {
		s->n_partial += n.kind == MB_WAL_PARTIAL;
		s->n_backup += n.kind == MB_WAL_BACKUP;
	}
	/* (segment names sort as (timeline, segment) do) */
	if (rc == 0 && n.kind == MB_WAL_SEGMENT && strcmp(name, s->newest) > 0) {
		snprintf(s->newest, sizeof(s->newest), "%s", name);
		s->newest_mtime = en->mtime;
	}
	return rc < 0 ? mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to list the WAL archive") : 0;
}

int mb_wal_scan(struct mb_wal_store *st, struct mb_wal_scan *s, struct mb_error *e)
{
	struct lister l = { .s = s };

	*s = (struct mb_wal_scan){ 0 };
	if (mb_wal_info_read(st, &s->sysid, &s->seg_size, e) < 0 ||
	    st->ops->list(st, scan_entry, &l, e) < 0) {
		mb_wal_scan_free(s);
		return -1;
	}
	if (s->n_segs)
		qsort(s->segs, s->n_segs, sizeof(*s->segs), cmp_seg);
	if (s->n_hist)
		qsort(s->hist, s->n_hist, sizeof(*s->hist), cmp_u32);
	return 0;
}

void mb_wal_scan_free(struct mb_wal_scan *s)
{
	free(s->segs);
	free(s->hist);
	s->segs = NULL;
	s->hist = NULL;
	s->n_segs = s->n_hist = 0;
}

bool mb_wal_scan_has(const struct mb_wal_scan *s, uint32_t tli, uint64_t segno)
{
	const struct mb_wal_seg key = { tli, segno, false };

	return s->n_segs && bsearch(&key, s->segs, s->n_segs, sizeof(key), cmp_seg);
}

bool mb_wal_scan_has_history(const struct mb_wal_scan *s, uint32_t tli)
{
	return s->n_hist && bsearch(&tli, s->hist, s->n_hist, sizeof(tli), cmp_u32);
}
