/* --compress: which compression a medium gets (see media.h). */
#include "plugins/media/media.h"

#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#define DEFAULT_LEVEL 3		/* zstd's own default */

static int bad_compress(const char *text, struct mb_error *e)
{
	mb_fail(e, MB_ERR_USAGE, 0, "invalid --compress '%s'", text);
	mb_hint(e, "use none, zstd or zstd:LEVEL with LEVEL from 1 to %d", ZSTD_maxCLevel());
	return -1;
}

int mb_compress_parse(const char *text, struct mb_compress *c, struct mb_error *e)
{
	char *end;
	long level;

	c->level = 0;
	if (!text || strcmp(text, "none") == 0)
		return 0;
	if (strcmp(text, "zstd") == 0) {
		c->level = DEFAULT_LEVEL;
		return 0;
	}
	if (strncmp(text, "zstd:", 5) != 0 || text[5] < '0' || text[5] > '9')
		return bad_compress(text, e);
	level = strtol(text + 5, &end, 10);
	if (*end || level < 1 || level > ZSTD_maxCLevel())
		return bad_compress(text, e);
	c->level = (int)level;
	return 0;
}
