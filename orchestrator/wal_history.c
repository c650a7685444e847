/* Timeline history files; see wal_archive.h. */
#include "orchestrator/wal_archive.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#define HISTORY_MAX (1 << 20)

static int add_tl(struct mb_wal_history *h, uint32_t tli, uint64_t begin, uint64_t end,
		  struct mb_error *e)
{
	struct mb_wal_tl *v = realloc(h->v, (h->n + 1) * sizeof(*v));

	if (!v)
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to read a timeline history");
	h->v = v;
	h->v[h->n++] = (struct mb_wal_tl){ .tli = tli, .begin = begin, .end = end };
	return 0;
}

/* One "parent<TAB>X/Y<TAB>reason" line -> parent, switchpoint. */
static int parse_line(const char *line, uint32_t *parent, uint64_t *sw)
{
	char num[16], lsn[MB_WAL_LSN_MAX];
	unsigned long p;
	char *end;
	int used = 0;

	if (sscanf(line, "%15s %23s%n", num, lsn, &used) != 2 || used == 0)
		return -1;
	errno = 0;
	p = strtoul(num, &end, 10);
	if (errno || *end || p == 0 || p > UINT32_MAX || mb_wal_lsn_parse(lsn, sw) < 0)
		return -1;
	*parent = (uint32_t)p;
	return 0;
}

int mb_wal_history_parse(const char *text, uint32_t tli, struct mb_wal_history *h,
			 struct mb_error *e)
{
	uint64_t begin = 0;
	int lineno = 0;

	*h = (struct mb_wal_history){ 0 };
	for (const char *s = text; *s;) {
		size_t len = strcspn(s, "\n");
		char line[512];
		uint32_t parent;
		uint64_t sw;

		lineno++;
		snprintf(line, sizeof(line), "%.*s", (int)(len < 511 ? len : 511), s);
		s += len + (s[len] == '\n');
		if (line[strspn(line, " \t\r")] == '\0' || line[strspn(line, " \t")] == '#')
			continue;
		if (parse_line(line, &parent, &sw) < 0 ||
		    (h->n && parent <= h->v[h->n - 1].tli) || parent >= tli || sw < begin) {
			mb_wal_history_free(h);
			return mb_fail(e, MB_ERR_CORRUPT, 0, "timeline %u history line %d is "
				       "malformed or out of order", tli, lineno);
		}
		if (add_tl(h, parent, begin, sw, e) < 0)
			goto fail;
		begin = sw;
	}
	if (add_tl(h, tli, begin, UINT64_MAX, e) == 0)
		return 0;
fail:
	mb_wal_history_free(h);
	return -1;
}

int mb_wal_history_load(struct mb_wal_store *s, uint32_t tli, struct mb_wal_history *h,
			struct mb_error *e)
{
	char name[MB_WAL_NAME_MAX], where[4200], *text = NULL;
	size_t len = 0;
	int rc = -1;

	*h = (struct mb_wal_history){ 0 };
	if (tli == 1)
		return add_tl(h, 1, 0, UINT64_MAX, e);
	snprintf(name, sizeof(name), "%08X.history", tli);
	mb_wal_store_where(s, name, where, sizeof(where));
	if (mb_wal_store_load(s, name, HISTORY_MAX, true, &text, &len, e) < 0)
		goto out;
	if (memchr(text, '\0', len)) {
		mb_fail(e, MB_ERR_CORRUPT, 0, "timeline history '%s' holds a NUL byte", where);
		goto out;
	}
	rc = mb_wal_history_parse(text, tli, h, e);
	if (rc < 0)
		mb_error_prefix(e, "'%s': ", where);
out:
	free(text);
	return rc;
}

int mb_wal_history_read(const char *archive, const struct mb_s3_settings *s3, uint32_t tli,
			struct mb_wal_history *h, struct mb_error *e)
{
	struct mb_wal_store *s;
	int rc;

	*h = (struct mb_wal_history){ 0 };
	if (mb_wal_store_open(archive, s3, &s, e) < 0)
		return -1;
	rc = mb_wal_history_load(s, tli, h, e);
	mb_wal_store_close(s);
	return rc;
}

void mb_wal_history_free(struct mb_wal_history *h)
{
	free(h->v);
	h->v = NULL;
	h->n = 0;
}

const struct mb_wal_tl *mb_wal_history_find(const struct mb_wal_history *h, uint32_t tli)
{
	for (size_t i = 0; i < h->n; i++)
		if (h->v[i].tli == tli)
			return &h->v[i];
	return NULL;
}
