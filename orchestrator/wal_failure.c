/* The latest failed wal-push, for wal-check; see wal_file.h. */
#include "orchestrator/wal_file.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "orchestrator/catalog.h"

#define FAILED "push.failed"

void mb_wal_failure_record(struct mb_wal_store *s, const char *name, const char *msg)
{
	struct mb_error ignored = { 0 };
	char now[32], *line = NULL;
	int n;

	mb_catalog_now(now, sizeof(now));
	if ((n = asprintf(&line, "%s %s: %s\n", now, name, msg)) < 0)
		return;
	s->ops->write(s, FAILED, line, (size_t)n, NULL, true, &ignored);
	free(line);
}

void mb_wal_failure_clear(struct mb_wal_store *s)
{
	s->ops->remove(s, FAILED, &(struct mb_error){ 0 });
}

int mb_wal_failure_read(struct mb_wal_store *s, char *line, size_t cap)
{
	struct mb_error ignored = { 0 };
	char *text = NULL;
	size_t len;

	if (mb_wal_store_load(s, FAILED, 8192, false, &text, &len, &ignored) < 0)
		return 1;
	snprintf(line, cap, "%.*s", (int)strcspn(text, "\n"), text);
	free(text);
	return line[0] ? 0 : 1;
}
