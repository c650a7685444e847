/* The archive's contents, from its directories; see wal_archive.h. */
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

int mb_wal_info_read(const char *archive, uint64_t *sysid, uint32_t *seg_size,
		     struct mb_error *e)
{
	char path[4096], line[256];
	FILE *f;
	int rc = 0, lineno = 0;

	*sysid = 0;
	*seg_size = MB_WAL_DEFAULT_SEG_SIZE;
	snprintf(path, sizeof(path), "%s/archive.info", archive);
	if (!(f = fopen(path, "re")))
		return errno == ENOENT ? 0 : mb_fail(e, MB_ERR_IO, errno, "unable to read '%s'", path);
	while (rc == 0 && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		lineno++;
		if (info_line(line, sysid, seg_size) < 0)
			rc = mb_fail(e, MB_ERR_CORRUPT, 0, "'%s' line %d is malformed", path, lineno);
	}
	fclose(f);
	if (rc == 0 && *sysid == 0)
		rc = mb_fail(e, MB_ERR_CORRUPT, 0, "'%s' names no system-identifier", path);
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

static int push_seg(struct mb_wal_scan *s, size_t *cap, uint32_t tli, uint64_t segno)
{
	if (s->n_segs == *cap) {
		size_t ncap = *cap ? *cap * 2 : 256;
		struct mb_wal_seg *v = realloc(s->segs, ncap * sizeof(*v));

		if (!v)
			return -1;
		s->segs = v;
		*cap = ncap;
	}
	s->segs[s->n_segs++] = (struct mb_wal_seg){ tli, segno };
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

/* One name in the archive: counted, or ignored (sidecars, foreign files). */
static int scan_name(struct mb_wal_scan *s, size_t *cap, const char *name, bool top)
{
	size_t len = strlen(name);
	struct mb_wal_name n;

	if (name[0] == '.') {
		s->n_tmp += len > 4 && strcmp(name + len - 4, ".tmp") == 0;
		return 0;
	}
	if (mb_wal_name_parse(name, &n) < 0 || top != (n.kind == MB_WAL_HISTORY))
		return 0;
	switch (n.kind) {
	case MB_WAL_SEGMENT:
		return push_seg(s, cap, n.tli, mb_wal_name_segno(&n, s->seg_size));
	case MB_WAL_HISTORY:
		return push_hist(s, n.tli);
	case MB_WAL_PARTIAL:
		s->n_partial++;
		return 0;
	case MB_WAL_BACKUP:
		s->n_backup++;
		return 0;
	}
	return 0;
}

/* The names of one directory (top: the archive itself, with its subdirs). */
static int scan_dir(struct mb_wal_scan *s, size_t *cap, const char *dir, bool top,
		    struct mb_error *e)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int rc = 0;

	if (!d)
		return mb_fail(e, errno == ENOENT ? MB_ERR_NOT_FOUND : MB_ERR_IO, errno,
			       "unable to read WAL archive '%s'", dir);
	while (rc == 0 && (errno = 0, de = readdir(d))) {
		char sub[4096];

		if (top && strlen(de->d_name) == 16 &&
		    strspn(de->d_name, "0123456789ABCDEF") == 16) {
			snprintf(sub, sizeof(sub), "%s/%s", dir, de->d_name);
			rc = scan_dir(s, cap, sub, false, e);
		} else if (scan_name(s, cap, de->d_name, top) < 0)
			rc = mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to list '%s'", dir);
	}
	if (rc == 0 && errno)
		rc = mb_fail(e, MB_ERR_IO, errno, "unable to read WAL archive '%s'", dir);
	closedir(d);
	return rc;
}

/* The newest segment's name and when it was archived. */
static void find_newest(const char *archive, struct mb_wal_scan *s)
{
	const struct mb_wal_seg *last;
	char path[4096];
	struct stat st;

	if (!s->n_segs)
		return;
	last = &s->segs[s->n_segs - 1];
	mb_wal_seg_name(last->tli, last->segno, s->seg_size, s->newest);
	snprintf(path, sizeof(path), "%s/%.16s/%s", archive, s->newest, s->newest);
	if (stat(path, &st) == 0)
		s->newest_mtime = st.st_mtime;
}

int mb_wal_scan(const char *archive, struct mb_wal_scan *s, struct mb_error *e)
{
	size_t cap = 0;

	*s = (struct mb_wal_scan){ 0 };
	if (mb_wal_info_read(archive, &s->sysid, &s->seg_size, e) < 0 ||
	    scan_dir(s, &cap, archive, true, e) < 0) {
		mb_wal_scan_free(s);
		return -1;
	}
	if (s->n_segs)
		qsort(s->segs, s->n_segs, sizeof(*s->segs), cmp_seg);
	if (s->n_hist)
		qsort(s->hist, s->n_hist, sizeof(*s->hist), cmp_u32);
	find_newest(archive, s);
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
	const struct mb_wal_seg key = { tli, segno };

	return s->n_segs && bsearch(&key, s->segs, s->n_segs, sizeof(key), cmp_seg);
}

bool mb_wal_scan_has_history(const struct mb_wal_scan *s, uint32_t tli)
{
	return s->n_hist && bsearch(&tli, s->hist, s->n_hist, sizeof(tli), cmp_u32);
}
