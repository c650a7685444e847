/*
 * Unit tests for orchestrator/progress.c's percent mode (the sync wait):
 * the JSON objects and the rewritten line it writes for the percentages a
 * driver reports, nothing at all when none came, and a percentage past
 * 100 held at 100, and an undo's waits reaching it through the mirror
 * plugins' report (mb_mirror_wait_report, through an undo's context); the files mode of the
 * premap (its counts, its end at the totals).  The byte mode is run end
 * to end by 57-progress.t.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "orchestrator/progress.h"
#include "plugins/mirror/mirror.h"
#include "tests/lib/tap.h"

static char dir[] = "/tmp/mb-test-progress.XXXXXX";

/* The file's text (static buffer), "" when it is missing. */
static const char *slurp(const char *path)
{
	static char buf[4096];
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;

	if (f)
		fclose(f);
	buf[n] = '\0';
	return buf;
}

static struct mb_progress *start(const char *mode, const char *to)
{
	struct mb_options o = { .progress = (char *)mode, .progress_to = (char *)to };
	struct mb_error e = { 0 };
	struct mb_progress *p = NULL;

	is_int(mb_progress_start_percent(&p, &o, "sync", &e), 0, "start");
	ok(p != NULL, "  a progress");
	return p;
}

static void test_json(void)
{
	char path[128];
	struct mb_progress *p;

	snprintf(path, sizeof(path), "%s/sync.json", dir);
	p = start("json", path);
	mb_progress_on_sync(p, "vg/pgdata", 12.5);
	mb_progress_on_sync(p, "vg/pgdata", 140.0);
	mb_progress_end(p, true);
	is_str(slurp(path), "{\"phase\":\"sync\",\"percent\":12.5,\"eta_s\":null,\"file\":\"vg/pgdata\"}\n"
	       "{\"phase\":\"sync\",\"percent\":100.0,\"eta_s\":0,\"file\":\"vg/pgdata\"}\n"
	       "{\"phase\":\"sync\",\"percent\":100.0,\"eta_s\":0,\"file\":\"vg/pgdata\"}\n",
	       "json: one object per report (interval 0), past 100 held at 100, the last at 100");
	snprintf(path, sizeof(path), "%s/none.json", dir);
	p = start("json", path);
	mb_progress_end(p, true);
	is_str(slurp(path), "", "json: no percentage, nothing written (nothing was waited for)");
}

static void test_line(void)
{
	char path[128];
	struct mb_progress *p;
	int fd, saved = dup(STDERR_FILENO);

	snprintf(path, sizeof(path), "%s/line", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	dup2(fd, STDERR_FILENO);
	close(fd);
	p = start("line", NULL);
	mb_progress_on_sync(p, "vg/pgdata", 45.25);
	mb_progress_end(p, true);
	dup2(saved, STDERR_FILENO);
	close(saved);
	is_str(slurp(path), "\rsync vg/pgdata  45.2% ETA --:--\rsync vg/pgdata 100.0% ETA 0:00 \n",
	       "line: rewritten in place (the shorter line padded), ends at 100 % with a newline");
}

static void test_wait_report(void)
{
	char path[128];
	struct mb_progress *p;
	struct mb_undo_ctx ctx = { 0 };

	ok(!mb_mirror_wait_report(&ctx, "vg/pgdata check", 10.0), "no report set: the driver's own line");
	ok(!mb_mirror_wait_report(NULL, "vg/pgdata check", 10.0), "  nor without a context");
	snprintf(path, sizeof(path), "%s/merge.json", dir);
	p = start("json", path);
	ctx = (struct mb_undo_ctx){ .on_wait = mb_progress_on_sync, .on_wait_arg = p };
	ok(mb_mirror_wait_report(&ctx, "vg/pgdata resync", 30.0), "a report set: taken");
	ok(mb_mirror_wait_report(&ctx, "vg/pgdata check", 5.0), "  another action of the wait");
	ctx = (struct mb_undo_ctx){ 0 };
	ok(!mb_mirror_wait_report(&ctx, "vg/pgdata check", 60.0), "  unset again");
	mb_progress_end(p, true);
	is_str(slurp(path),
	       "{\"phase\":\"sync\",\"percent\":30.0,\"eta_s\":null,\"file\":\"vg/pgdata resync\"}\n"
	       "{\"phase\":\"sync\",\"percent\":5.0,\"eta_s\":null,\"file\":\"vg/pgdata check\"}\n"
	       "{\"phase\":\"sync\",\"percent\":100.0,\"eta_s\":0,\"file\":\"vg/pgdata check\"}\n",
	       "each action its own percentage, the last at 100");
}

/* The values of "rate" and "eta_s" made R and E (they depend on the
 * clock); the last object's eta_s is 0 whatever the clock. */
static const char *norm_clock(const char *s)
{
	static char buf[4096];
	size_t k = 0;

	while (*s && k < sizeof(buf) - 16) {
		const char *key = strncmp(s, "\"rate\":", 7) == 0 ? "\"rate\":R" :
				  strncmp(s, "\"eta_s\":", 8) == 0 ? "\"eta_s\":E" : NULL;

		if (!key) {
			buf[k++] = *s++;
			continue;
		}
		memcpy(buf + k, key, strlen(key));
		k += strlen(key);
		s = strchr(s, ':') + 1;
		while (*s && *s != ',' && *s != '}')
			s++;
	}
	buf[k] = '\0';
	return buf;
}

static void test_files(void)
{
	struct mb_options o = { .progress = "json" };
	struct mb_error e = { 0 };
	struct mb_progress *p = NULL;
	char path[128];

	snprintf(path, sizeof(path), "%s/premap.json", dir);
	o.progress_to = path;
	is_int(mb_progress_start_files(&p, &o, "premap", 3, 3000, &e), 0, "files: start");
	mb_progress_add_file(p, 1000, "a");
	mb_progress_add_file(p, 0, "b");
	mb_progress_end(p, true);
	ok(strstr(slurp(path), "\"eta_s\":0,\"file\":\"\",\"files\":3,\"files_total\":3}\n") != NULL,
	   "files: the last object has nothing left (eta_s 0)");
	is_str(norm_clock(slurp(path)),
	       "{\"phase\":\"premap\",\"bytes\":1000,\"total\":3000,\"rate\":R,\"eta_s\":E,"
	       "\"file\":\"a\",\"files\":1,\"files_total\":3}\n"
	       "{\"phase\":\"premap\",\"bytes\":1000,\"total\":3000,\"rate\":R,\"eta_s\":E,"
	       "\"file\":\"b\",\"files\":2,\"files_total\":3}\n"
	       "{\"phase\":\"premap\",\"bytes\":3000,\"total\":3000,\"rate\":R,\"eta_s\":E,"
	       "\"file\":\"\",\"files\":3,\"files_total\":3}\n",
	       "files: one object per file (interval 0) with its counts, the last at the totals");
}

int main(void)
{
	if (!mkdtemp(dir))
		return 1;
	test_json();
	test_line();
	test_wait_report();
	test_files();
	if (fork() == 0)
		execlp("rm", "rm", "-rf", dir, (char *)NULL);
	return done_testing();
}
