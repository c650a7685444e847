/* Unit tests for the WAL verbs' command line (orchestrator/options.c):
 * their positional arguments, --retain, and the config file a bare
 * `mbackup wal-push %p` reads ($MBACKUP_CONFIG), which may hold the
 * backup's keys. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "orchestrator/options.h"
#include "tests/lib/tap.h"

static char CONFIG[64];

static int parse(struct mb_options *o, struct mb_error *e, const char *const *args)
{
	char *argv[16] = { "mbackup" };
	int argc = 1;

	while (args[argc - 1] && argc < 15) {
		argv[argc] = (char *)args[argc - 1];
		argc++;
	}
	mb_error_clear(e);
	return mb_options_parse(o, argc, argv, e);
}

static void write_config(const char *text)
{
	FILE *f = fopen(CONFIG, "we");

	if (!f || fputs(text, f) < 0 || fclose(f) != 0 || chmod(CONFIG, 0600) != 0)
		diag("unable to write %s", CONFIG);
}

static void positional(void)
{
	struct mb_options o;
	struct mb_error e;

	ok(parse(&o, &e, (const char *const[]){ "wal-push", "pg_wal/000000010000000000000001",
						"--wal-archive", "/a", NULL }) == 0 &&
	   o.args.n == 1 && strcmp(o.args.v[0], "pg_wal/000000010000000000000001") == 0 &&
	   strcmp(o.wal_archive, "/a") == 0, "wal-push takes its path");
	mb_options_free(&o);
	ok(parse(&o, &e, (const char *const[]){ "wal-get", "00000002.history", "pg_wal/RECOVERYHISTORY",
						NULL }) == 0 && o.args.n == 2, "wal-get takes two");
	mb_options_free(&o);
	ok(parse(&o, &e, (const char *const[]){ "list", "extra", NULL }) < 0, "other verbs do not");
	is_str(e.msg, "unexpected argument 'extra' for 'list'", "  with the old message");
	mb_options_free(&o);
}

static void retain(void)
{
	struct mb_options o;
	struct mb_error e;

	ok(parse(&o, &e, (const char *const[]){ "expire", "--retain", "7", NULL }) == 0 &&
	   o.retain == 7, "--retain 7");
	mb_options_free(&o);
	ok(parse(&o, &e, (const char *const[]){ "expire", "--retain", "0", NULL }) < 0 &&
	   e.code == MB_ERR_USAGE, "--retain 0 refused");
	is_str(e.msg, "invalid value '0' for --retain: expected 1..1000000", "  message");
	mb_options_free(&o);
	ok(parse(&o, &e, (const char *const[]){ "backup", "--retain", "3", NULL }) < 0, "not for backup");
	is_str(e.msg, "option '--retain' does not apply to 'backup'", "  message");
	mb_options_free(&o);
}

static void default_config(void)
{
	struct mb_options o;
	struct mb_error e;
	char missing[96];

	write_config("db = postgres\nmirror = loop:/dev/loop9\nwal-archive = /srv/wal\n");
	setenv("MBACKUP_CONFIG", CONFIG, 1);
	ok(parse(&o, &e, (const char *const[]){ "wal-push", "x", NULL }) == 0 && o.wal_archive &&
	   strcmp(o.wal_archive, "/srv/wal") == 0, "a bare wal-push reads $MBACKUP_CONFIG");
	if (e.code)
		diag("%s", e.msg);
	mb_options_free(&o);
	ok(parse(&o, &e, (const char *const[]){ "wal-check", "--wal-archive", "/other", NULL }) == 0 &&
	   strcmp(o.wal_archive, "/other") == 0, "the command line overrides it");
	mb_options_free(&o);
	ok(parse(&o, &e, (const char *const[]){ "ls", "--from", "x", NULL }) == 0 && !o.wal_archive,
	   "other verbs do not read it");
	mb_options_free(&o);
	snprintf(missing, sizeof(missing), "%s.missing", CONFIG);
	setenv("MBACKUP_CONFIG", missing, 1);
	ok(parse(&o, &e, (const char *const[]){ "wal-get", "a", "b", NULL }) < 0 &&
	   e.code == MB_ERR_CONFIG, "a $MBACKUP_CONFIG that does not exist is refused");
	snprintf(missing + strlen(missing), sizeof(missing) - strlen(missing),
		 "': No such file or directory");
	ok(strstr(e.msg, "unable to read config file '") == e.msg && strstr(e.msg, missing),
	   "  naming it");
	mb_options_free(&o);
	unsetenv("MBACKUP_CONFIG");
}

int main(void)
{
	snprintf(CONFIG, sizeof(CONFIG), "/tmp/test_wal_options.%d.conf", (int)getpid());
	unsetenv("MBACKUP_CONFIG");
	positional();
	retain();
	default_config();
	unlink(CONFIG);
	return done_testing();
}
