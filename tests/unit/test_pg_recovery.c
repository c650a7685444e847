/* The postgres recovery op: targets checked with their exact messages, a
 * backup's facts placed against a target, and the settings written into
 * a data directory (a DBA's lines kept, an earlier restore's recovery
 * lines commented out, quoting for the shell and for the file). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plugins/quiesce/postgres/pg_internal.h"
#include "tests/lib/tap.h"

static const struct mb_recovery_ops *ops = &mb_pg_recovery;

static struct mb_recovery_target target(const char *kind, const char *value)
{
	return (struct mb_recovery_target){ kind, value, "promote", true, "latest" };
}

/* A bad target: exit code 2 and exactly this message. */
static void refused(const char *kind, const char *value, const char *msg)
{
	struct mb_recovery_target t = target(kind, value);
	struct mb_error e = { 0 };
	char name[160];

	snprintf(name, sizeof(name), "%s '%s' refused", kind, value ? value : "");
	is_int(ops->check(&t, &e), -1, name);
	is_int(e.code, MB_ERR_USAGE, "  a usage error");
	is_str(e.msg, msg, "  message");
}

static void accepted(const char *kind, const char *value)
{
	struct mb_recovery_target t = target(kind, value);
	struct mb_error e = { 0 };
	char name[160];

	snprintf(name, sizeof(name), "%s '%s' accepted", kind, value ? value : "");
	is_int(ops->check(&t, &e), 0, name);
	if (e.code)
		diag("%s", e.msg);
}

static void checks(void)
{
	accepted("time", "2026-11-29 14:02:59+00");
	accepted("time", "2026-11-29T14:02:59.123456Z");
	accepted("time", "2026-11-29 14:02:59.5 +01:00");
	accepted("time", "2026-11-29 14:02-0530");
	accepted("lsn", "0/5A000028");
	accepted("lsn", "16/b374d848");
	accepted("xid", "7741");
	accepted("name", "before_upgrade");
	accepted("latest", NULL);
	refused("time", "2026-11-29 14:02:59",
		"invalid --target-time '2026-11-29 14:02:59': it has no time zone");
	refused("time", "2026-02-30 10:00:00+00", "invalid --target-time '2026-02-30 10:00:00+00':"
		" expected YYYY-MM-DD HH:MM:SS and a zone");
	refused("time", "yesterday", "invalid --target-time 'yesterday': expected YYYY-MM-DD"
		" HH:MM:SS and a zone");
	refused("time", "2026-11-29 25:00:00+00", "invalid --target-time '2026-11-29 25:00:00+00':"
		" expected YYYY-MM-DD HH:MM:SS and a zone");
	refused("lsn", "5A000028", "invalid --target-lsn '5A000028': expected X/Y in hex");
	refused("lsn", "0/0x5A", "invalid --target-lsn '0/0x5A': expected X/Y in hex");
	refused("lsn", "0/123456789", "invalid --target-lsn '0/123456789': expected X/Y in hex");
	refused("xid", "12a", "invalid --target-xid '12a': expected a transaction id");
	refused("xid", "2", "invalid --target-xid '2': expected a transaction id");
	refused("name", "", "invalid --target-name '': empty");
	refused("name", "0123456789012345678901234567890123456789012345678901234567890123",
		"invalid --target-name '0123456789012345678901234567890123456789012345678901234567890123'"
		": longer than 63 bytes");
}

static void check_other(void)
{
	struct mb_recovery_target t = target("lsn", "0/1");
	struct mb_error e = { 0 };

	t.timeline = "two";
	is_int(ops->check(&t, &e), -1, "a bad --target-timeline refused");
	is_str(e.msg, "invalid --target-timeline 'two'", "  message");
	t = target("latest", NULL);
	t.action = "pause";
	e = (struct mb_error){ 0 };
	is_int(ops->check(&t, &e), -1, "--target latest with --target-action pause refused");
	is_str(e.msg, "--target-action pause needs a target to stop at", "  message");
}

static const struct mb_fact hot[] = {
	{ "mode", "hot" }, { "timeline", "2" }, { "start_lsn", "0/3000028" },
	{ "stop_lsn", "0/3000100" }, { "consistent_at", "2026-11-29T14:00:00.250000Z" },
	{ "wal_segment_size", "16777216" },
};
#define N_HOT (sizeof(hot) / sizeof(hot[0]))

static void order_is(const char *kind, const char *value, enum mb_recovery_order want,
		     const char *name)
{
	struct mb_recovery_target t = target(kind, value);
	struct mb_error e = { 0 };
	enum mb_recovery_order o = 99;

	is_int(ops->order(hot, N_HOT, &t, &o, &e), 0, name);
	is_int(o, want, "  where it lies");
}

static void orders(void)
{
	static const struct mb_fact freeze[] = { { "mode", "freeze" }, { "timeline", "1" } };
	struct mb_recovery_target t = target("latest", NULL);
	struct mb_recovery_span sp;
	struct mb_error e = { 0 };
	enum mb_recovery_order o;

	order_is("time", "2026-11-29 14:00:00.25+00", MB_RECOVERY_BEFORE, "at the consistency point");
	order_is("time", "2026-11-29 15:00:00.2+01", MB_RECOVERY_AFTER, "before it (another zone)");
	order_is("time", "2026-11-29 13:00:01-01:00", MB_RECOVERY_BEFORE, "after it (another zone)");
	order_is("lsn", "0/3000100", MB_RECOVERY_BEFORE, "an LSN at the stop");
	order_is("lsn", "0/30000FF", MB_RECOVERY_AFTER, "an LSN before the stop");
	order_is("xid", "800", MB_RECOVERY_UNKNOWN, "an xid cannot be placed");
	order_is("name", "x", MB_RECOVERY_UNKNOWN, "a name cannot be placed");
	is_int(ops->order(freeze, 2, &t, &o, &e), 0, "a freeze-mode backup");
	is_int(o, MB_RECOVERY_UNUSABLE, "  cannot start a recovery");
	t = target("lsn", "0/9000000");
	is_int(ops->span(hot, N_HOT, &t, &sp, &e), 0, "the WAL span to an LSN");
	ok(sp.timeline == 2 && sp.start_lsn == 0x3000028 && sp.stop_lsn == 0x3000100 &&
	   sp.end_lsn == 0x9000000 && sp.segment_size == 16777216,
	   "  timeline, start, stop, end and segment size");
	t = target("time", "2026-11-29 15:00:00+00");
	is_int(ops->span(hot, N_HOT, &t, &sp, &e), 0, "the WAL span to a time");
	ok(sp.end_lsn == 0, "  to the end of the archive");
}

static char *slurp(const char *path)
{
	static char buf[8192];
	int fd = open(path, O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);

	if (fd >= 0)
		close(fd);
	if (n < 0)
		return NULL;
	buf[n] = '\0';
	return buf;
}

static void writes(void)
{
	char dir[] = "/tmp/pg-recovery-test.XXXXXX", path[128];
	const char *fetch[] = { "/usr/bin/mb backup", "wal-get", "--config", "/etc/it's.conf", NULL };
	struct mb_recovery_target t = target("time", "2026-11-29 15:00:00.5+01");
	struct mb_error e = { 0 };
	struct stat st;
	char *text;
	FILE *f;

	ok(mkdtemp(dir) != NULL, "a data directory");
	snprintf(path, sizeof(path), "%s/postgresql.auto.conf", dir);
	f = fopen(path, "w");
	fputs("# Do not edit this file manually!\nwork_mem = '64MB'\n"
	      "restore_command = 'cp /old/%f %p'\nRecovery_Target_Name = 'old'", f);
	fclose(f);
	is_int(ops->write(dir, &t, fetch, &e), 0, "settings written");
	if (e.code)
		diag("%s", e.msg);
	text = slurp(path);
	ok(text && strstr(text, "# Do not edit this file manually!\nwork_mem = '64MB'\n"
			  "# (replaced by mbackup restore) restore_command = 'cp /old/%f %p'\n"
			  "# (replaced by mbackup restore) Recovery_Target_Name = 'old'\n"
			  "# mbackup restore, "), "the DBA's lines kept, the old recovery lines "
	   "commented out");
	ok(text && strstr(text, "\nrestore_command = '''/usr/bin/mb backup'' ''wal-get'' "
			  "''--config'' ''/etc/it''\\''''s.conf'' %f %p'\n"),
	   "restore_command quoted for the shell, then for the file");
	ok(text && strstr(text, "\nrecovery_target_time = '2026-11-29 14:00:00.500000+00'\n"
			  "recovery_target_inclusive = 'true'\nrecovery_target_action = 'promote'\n"
			  "recovery_target_timeline = 'latest'\n"), "the target, in UTC");
	t = target("immediate", NULL);
	t.action = "pause";
	snprintf(path, sizeof(path), "%s/standby.signal", dir);
	close(open(path, O_WRONLY | O_CREAT, 0600));
	is_int(ops->write(dir, &t, fetch, &e), 0, "settings written again, to immediate");
	ok(access(path, F_OK) < 0, "the standby.signal a standby's copy brought along is gone");
	snprintf(path, sizeof(path), "%s/postgresql.auto.conf", dir);
	text = slurp(path);
	ok(text && strstr(text, "\n# (replaced by mbackup restore) recovery_target_time = ") &&
	   strstr(text, "\n# (replaced by mbackup restore) restore_command = '''/usr") &&
	   strstr(text, "\nrecovery_target = 'immediate'\nrecovery_target_action = 'pause'\n"
		  "recovery_target_timeline = 'latest'\n") &&
	   !strstr(strstr(text, "immediate"), "recovery_target_inclusive"),
	   "the first restore's settings commented out, the new ones after them");
	snprintf(path, sizeof(path), "%s/recovery.signal", dir);
	ok(stat(path, &st) == 0 && st.st_size == 0 && (st.st_mode & 0777) == 0600,
	   "recovery.signal, empty, 0600");
	snprintf(path, sizeof(path), "%s/postgresql.auto.conf.mbackup-new", dir);
	ok(stat(path, &st) < 0, "no temporary file left");
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	ok(system(path) == 0, "cleaned up");
}

int main(void)
{
	plan(9 + 11 * 3 + 4 + 7 * 2 + 6 + 8 + 3);
	checks();
	check_other();
	orders();
	writes();
	return done_testing();
}
