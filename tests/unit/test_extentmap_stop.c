/* The passes of P2 end on the run's stop (common/stop.h) within a few
 * entries, and never without it: the walk, the premap, the converge.
 * The recheck (inside the window) takes no stop at all. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "extentmap/extentmap.h"
#include "tests/lib/tap.h"

#define DIRS 20
#define FILES 50		/* per directory: 1020 entries */

static int checks, stop_after;

/* Says "stop" from its stop_after-th look on, as the signals would. */
static int counting_check(struct mb_error *e)
{
	if (++checks < stop_after)
		return 0;
	return mb_fail(e, MB_ERR_INTERRUPTED, 0, "interrupted by SIGTERM");
}

static const struct mb_stop stop = { -1, counting_check };

static void arm(int after)
{
	checks = 0;
	stop_after = after;
}

static void make_tree(const char *root)
{
	char path[512];

	for (int d = 0; d < DIRS; d++) {
		snprintf(path, sizeof(path), "%s/d%02d", root, d);
		if (mkdir(path, 0700) < 0)
			abort();
		for (int f = 0; f < FILES; f++) {
			int fd;

			snprintf(path, sizeof(path), "%s/d%02d/f%03d", root, d, f);
			fd = open(path, O_WRONLY | O_CREAT, 0600);
			if (fd < 0 || write(fd, "data", 4) != 4)
				abort();
			close(fd);
		}
	}
}

static void walk_cases(const char *root)
{
	struct mb_set set = { 0 };
	struct mb_error e = { 0 };

	arm(1000000);
	is_int(mb_walk(&set, root, &stop, &e), 0, "a walk whose stop never comes succeeds");
	is_int((int)set.n, DIRS * (FILES + 1), "... with every entry");
	ok(checks >= (DIRS * (FILES + 1)) / MB_EM_STOP_EVERY, "... looking at the stop as it goes");
	mb_set_free(&set);

	arm(3);
	is_int(mb_walk(&set, root, &stop, &e), -1, "a walk ends on the stop");
	is_int(e.code, MB_ERR_INTERRUPTED, "... as interrupted");
	is_str(e.msg, "interrupted by SIGTERM", "... with the stop's message");
	is_int(checks, 3, "... at the stop's first 'stop'");
	ok(set.n <= 3 * MB_EM_STOP_EVERY, "... within a few entries");
	mb_set_free(&set);
}

static void map_cases(const char *root)
{
	struct mb_set set = { 0 };
	struct mb_error e = { 0 };
	struct mb_map_stats st;

	is_int(mb_walk(&set, root, NULL, &e), 0, "a walk without a stop succeeds");
	arm(2);
	is_int(mb_premap(&set, &stop, &st, &e), -1, "the premap ends on the stop");
	is_str(e.msg, "interrupted by SIGTERM", "... with the stop's message");
	is_int(checks, 2, "... at the stop's first 'stop'");
	mb_error_clear(&e);
	arm(1000000);
	is_int(mb_premap(&set, &stop, &st, &e), 0, "a premap whose stop never comes succeeds");
	is_int((int)st.files, DIRS * FILES, "... mapping every file");
	arm(2);
	is_int(mb_converge(&set, 0, 3, &stop, &st, &e), -1, "the converge ends on the stop");
	is_int(e.code, MB_ERR_INTERRUPTED, "... as interrupted");
	mb_error_clear(&e);
	arm(1);
	is_int(mb_recheck(&set, 0, &st, &e), 0, "the recheck never looks at a stop");
	is_int(checks, 0, "... not once");
	mb_set_free(&set);
}

int main(void)
{
	char root[] = "/var/tmp/test_extentmap_stop.XXXXXX";
	char cmd[600];

	if (!mkdtemp(root))
		return 1;
	make_tree(root);
	walk_cases(root);
	map_cases(root);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	if (system(cmd) != 0)
		diag("unable to remove %s", root);
	return done_testing();
}
