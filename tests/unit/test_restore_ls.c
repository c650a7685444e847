/* Unit tests for the lines of `mbackup ls` (orchestrator/inspect.c): names
 * that carry control bytes are escaped as the index escapes them, and an
 * mtime no calendar date can hold is printed as its number of seconds. */
#include <stdint.h>
#include <stdlib.h>

#include "orchestrator/commands.h"
#include "tests/lib/tap.h"

static char line[4096];

static const char *ls_line(const struct mb_entry *en)
{
	FILE *f = fmemopen(line, sizeof(line), "w");

	memset(line, 0, sizeof(line));
	if (!f)
		return "(fmemopen failed)";
	mb_ls_entry(f, en);
	fclose(f);
	return line;
}

int main(void)
{
	struct mb_entry en = { .path = "base/1/1259", .type = MB_T_FILE, .mode = 0100600,
		.uid = 26, .gid = 26, .size = 8192, .mtime_sec = 1600000000,
		.image_offset = 4096 };

	plan(6);
	is_str(ls_line(&en), "-rw------- 26/26         8192 2020-09-13 12:26 @4096 base/1/1259\n",
	       "a plain file");
	en.path = "evil\n-rw-r--r-- 0/0 1 2020-01-01 00:00 @1 fake";
	is_str(ls_line(&en), "-rw------- 26/26         8192 2020-09-13 12:26 @4096 "
	       "evil%0A-rw-r--r--%200/0%201%202020-01-01%2000:00%20@1%20fake\n",
	       "a newline and spaces in a name are escaped: no fake listing line");
	en.path = "\x1b]0;owned\x07\x1b[2J%x";
	is_str(ls_line(&en), "-rw------- 26/26         8192 2020-09-13 12:26 @4096 "
	       "%1B]0;owned%07%1B[2J%25x\n", "terminal escapes in a name are escaped");
	en.path = "pg_tblspc/16385";
	en.type = MB_T_SYMLINK;
	en.mode = 0120777;
	en.size = 0;
	mb_entry_set_link(&en, strdup("/srv/ts\r\x7f"));
	is_str(ls_line(&en), "lrwxrwxrwx 26/26            0 2020-09-13 12:26 @4096 "
	       "pg_tblspc/16385 -> /srv/ts%0D%7F\n", "a symlink's target is escaped too");
	mb_entry_set_link(&en, NULL);
	en.type = MB_T_FILE;
	en.mode = 0100644;
	en.path = "far";
	en.mtime_sec = INT64_MAX;
	is_str(ls_line(&en), "-rw-r--r-- 26/26            0 @9223372036854775807 @4096 far\n",
	       "an mtime gmtime cannot convert: its seconds, no uninitialised date");
	en.mtime_sec = INT64_MIN;
	is_str(ls_line(&en), "-rw-r--r-- 26/26            0 @-9223372036854775808 @4096 far\n",
	       "the most negative mtime too");
	return done_testing();
}
