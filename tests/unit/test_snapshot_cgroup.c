/*
 * The controllers the writers' cgroup needs for io.max to reach their
 * buffered writes (snapshot_throttle.c, mb_cgroup_missing), and the
 * bytes it wrote (mb_throttle_wbytes), over a fake cgroup directory.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plugins/mirror/snapshot.h"
#include "tests/lib/tap.h"

static char dir[] = "/tmp/mbackup-test-cgroup.XXXXXX";

static void put(const char *name, const char *text)
{
	char path[600];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "w"))) {
		fputs(text, f);
		fclose(f);
	}
}

static const char *missing(void)
{
	const char *m = mb_cgroup_missing(dir);

	return m ? m : "none";
}

int main(void)
{
	struct mb_throttle t = { 0 };
	char path[600];

	if (!mkdtemp(dir))
		return diag("mkdtemp"), 1;
	is_str(missing(), "memory and io", "no cgroup.controllers: both are missing");
	put("cgroup.controllers", "cpuset cpu io pids\n");
	is_str(missing(), "memory", "io alone: memory is missing");
	put("cgroup.controllers", "cpu memory pids\n");
	is_str(missing(), "io", "memory alone: io is missing");
	put("cgroup.controllers", "cpuset cpu io memory hugetlb pids\n");
	is_str(missing(), "none", "memory and io: nothing is missing");
	put("cgroup.controllers", "iomem memoryx\n");
	is_str(missing(), "memory and io", "words, not prefixes");

	snprintf(t.cgroup, sizeof(t.cgroup), "%s", dir);
	snprintf(t.devno, sizeof(t.devno), "253:1");
	ok(mb_throttle_wbytes(&t) == -1, "no io.stat: the bytes written are unknown");
	put("io.stat", "253:10 rbytes=1 wbytes=7 rios=1 wios=1 dbytes=0 dios=0\n"
		       "253:1 rbytes=4096 wbytes=123456 rios=2 wios=3 dbytes=0 dios=0\n");
	ok(mb_throttle_wbytes(&t) == 123456, "io.stat: the origin's line, not one it prefixes");
	put("io.stat", "8:0 rbytes=1 wbytes=7 rios=1 wios=1 dbytes=0 dios=0\n");
	ok(mb_throttle_wbytes(&t) == -1, "io.stat without the origin's line: unknown");

	snprintf(path, sizeof(path), "%s/io.stat", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/cgroup.controllers", dir);
	unlink(path);
	rmdir(dir);
	return done_testing();
}
