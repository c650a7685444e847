/* Unit tests for orchestrator/options.c: defaults, the one number parser
 * (sizes with K/M/G, ranges, saturation), --buffer, the config file and
 * its precedence, its refusals (repeated keys, bad booleans, keys of other
 * commands, files others could change), usage errors with their exact
 * messages, the --pg-conn password warning. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "orchestrator/options.h"
#include "tests/lib/tap.h"

/* per process: other runs of this test may share /tmp */
static char CONFIG[64];

/* Parses "mbackup ARGS..." (NULL-terminated) into o; the error in e. */
static int parse(struct mb_options *o, struct mb_error *e, const char *const *args)
{
	char *argv[32] = { "mbackup" };
	int argc = 1;

	while (args[argc - 1] && argc < 31) {
		argv[argc] = (char *)args[argc - 1];
		argc++;
	}
	mb_error_clear(e);
	return mb_options_parse(o, argc, argv, e);
}

/* The parse of ARGS fails with MB_ERR_USAGE and exactly msg. */
static void refused(const char *const *args, const char *msg, const char *name)
{
	struct mb_options o;
	struct mb_error e;
	char what[256];

	snprintf(what, sizeof(what), "%s: refused as usage", name);
	ok(parse(&o, &e, args) == -1 && e.code == MB_ERR_USAGE, what);
	is_str(e.msg, msg, name);
	mb_options_free(&o);
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "we");

	if (!f || fputs(text, f) < 0 || fclose(f) != 0 || chmod(path, mode) != 0)
		diag("unable to write %s", path);
}

/* (mode 0600 whatever the umask: a config others can change is refused) */
static void write_config(const char *text)
{
	write_file(CONFIG, text, 0600);
}

static void test_defaults(void)
{
	struct mb_options o;
	struct mb_error e;

	is_int(parse(&o, &e, (const char *[]){ NULL }), 0, "no arguments");
	is_int(o.verb, MB_VERB_BACKUP, "default verb backup");
	is_int(o.freeze_timeout, 10, "default --freeze-timeout");
	is_int(o.device_timeout, 300, "default --device-timeout");
	is_int(o.segment_threshold, 0, "default --segment-threshold");
	is_str(o.buffer, "64M", "default --buffer");
	is_str(o.catalog, "/var/lib/mbackup/catalog.db", "default --catalog");
	mb_options_free(&o);
}

static void test_sizes(void)
{
	struct mb_options o;
	struct mb_error e;

	is_int(parse(&o, &e, (const char *[]){ "--segment-threshold", "4K", NULL }), 0, "4K");
	is_int(o.segment_threshold, 4096, "4K is 4096");
	mb_options_free(&o);
	is_int(parse(&o, &e, (const char *[]){ "--segment-threshold=3m", NULL }), 0, "3m");
	is_int(o.segment_threshold, 3L << 20, "3m is 3 MiB");
	mb_options_free(&o);
	parse(&o, &e, (const char *[]){ "--segment-threshold", "2G", NULL });
	is_int(o.segment_threshold, 2L << 30, "2G is 2 GiB");
	mb_options_free(&o);
	parse(&o, &e, (const char *[]){ "--segment-threshold", "1K", "--segment-threshold", "0K", NULL });
	is_int(o.segment_threshold, 0, "0K is 0");
	mb_options_free(&o);

	refused((const char *[]){ "--segment-threshold", "1Q", NULL },
		"invalid value '1Q' for --segment-threshold: expected 0..4611686018427387904",
		"an unknown suffix");
	refused((const char *[]){ "--segment-threshold", "99999999999G", NULL },
		"invalid value '99999999999G' for --segment-threshold: expected 0..4611686018427387904",
		"a size past the range saturates");
	refused((const char *[]){ "--segment-threshold", "-1K", NULL },
		"invalid value '-1K' for --segment-threshold: expected 0..4611686018427387904",
		"a negative size");
	refused((const char *[]){ "--freeze-timeout", "5K", NULL },
		"invalid value '5K' for --freeze-timeout: expected 1..3600", "seconds take no suffix");
	refused((const char *[]){ "--freeze-timeout", "", NULL },
		"invalid value '' for --freeze-timeout: expected 1..3600", "an empty number");
	is_int(parse(&o, &e, (const char *[]){ "--freeze-timeout", "3600", NULL }), 0,
	       "the upper bound is allowed");
	mb_options_free(&o);
}

static void test_buffer(void)
{
	struct mb_options o;
	struct mb_error e;

	is_int(parse(&o, &e, (const char *[]){ "--buffer", "16G", NULL }), 0, "--buffer 16G");
	mb_options_free(&o);
	is_int(parse(&o, &e, (const char *[]){ "--buffer", "17G", NULL }), -1, "--buffer 17G");
	is_int(e.code, MB_ERR_USAGE, "--buffer 17G: usage");
	is_str(e.msg, "invalid --buffer '17G' (a size such as 64M) for 'backup'",
	       "--buffer 17G: message");
	is_str(e.hint, "see mbackup backup --help", "--buffer 17G: hint");
	mb_options_free(&o);
	refused((const char *[]){ "--buffer", "64X", NULL },
		"invalid --buffer '64X' (a size such as 64M) for 'backup'", "--buffer 64X");
}

static void test_config(void)
{
	struct mb_options o;
	struct mb_error e;
	char arg[80], want[200];

	write_config("# comment\n\nfreeze-timeout = 20\nmedia = file:/a\nkeep-split\n");
	is_int(parse(&o, &e, (const char *[]){ "--config", CONFIG, NULL }), 0, "config file");
	is_int(o.freeze_timeout, 20, "config sets --freeze-timeout");
	ok(o.keep_split, "a bare boolean in the config is true");
	ok(o.media.n == 1 && strcmp(o.media.v[0], "file:/a") == 0, "config sets --media");
	mb_options_free(&o);
	parse(&o, &e, (const char *[]){ "--freeze-timeout", "30", "--config", CONFIG,
					"--media", "file:/b", NULL });
	is_int(o.freeze_timeout, 30, "the command line wins over the config");
	ok(o.media.n == 1 && strcmp(o.media.v[0], "file:/b") == 0,
	   "a list on the command line replaces the config's");
	mb_options_free(&o);

	write_config("freeze-timeout = x\n");
	snprintf(arg, sizeof(arg), "--config=%s", CONFIG);
	is_int(parse(&o, &e, (const char *[]){ arg, NULL }), -1, "bad config value");
	snprintf(want, sizeof(want), "config '%s' line 1: invalid value 'x' for --freeze-timeout: "
		 "expected 1..3600", CONFIG);
	is_str(e.msg, want, "bad config value: message names the line");
	is_int(e.code, MB_ERR_CONFIG, "bad config value: config");
	mb_options_free(&o);
	unlink(CONFIG);
}

/* A config file refused: its text, the verb, then the line and the
 * message after "config 'FILE' line N: ", and the hint. */
struct config_case {
	const char *name, *text, *verb;
	int line;
	const char *msg, *hint;
};

static const struct config_case config_cases[] = {
	{ "two media lines", "media = file:/a\nmedia = file:/b\n", "backup", 2,
	  "option 'media' already given at line 1",
	  "several values go on one line, separated by spaces: media = A B" },
	{ "a repeated scalar", "freeze-timeout = 5\n# again\nfreeze-timeout = 6\n", "backup", 3,
	  "option 'freeze-timeout' already given at line 1", "keep one of the two lines" },
	{ "a repeated boolean", "keep-split\nkeep-split = no\n", "backup", 2,
	  "option 'keep-split' already given at line 1", "keep one of the two lines" },
	{ "a bad boolean", "keep-split = maybe\n", "backup", 1,
	  "invalid value 'maybe' for --keep-split: expected true, yes, 1, false, no or 0",
	  "a line with the bare name also means true" },
	{ "an empty boolean", "force =\n", "backup", 1,
	  "invalid value '' for --force: expected true, yes, 1, false, no or 0",
	  "a line with the bare name also means true" },
	{ "a key of restore in backup", "catalog = /c\nto = /restore\n", "backup", 2,
	  "option 'to' does not apply to 'backup'",
	  "'to' is an option of restore; keep one config file per command" },
	{ "a key of backup in ls", "keep-split\n", "ls", 1,
	  "option 'keep-split' does not apply to 'ls'",
	  "'keep-split' is an option of backup; keep one config file per command" },
	{ "a key of restore in recover", "mirror = loop:/dev/loop3\nfrom = /a.mbi\n", "recover", 2,
	  "option 'from' does not apply to 'recover'",
	  "'from' is an option of ls, verify, restore; keep one config file per command" },
	{ "a key of restore in check", "to = /r\n", "check", 1,
	  "option 'to' does not apply to 'check'",
	  "'to' is an option of restore; keep one config file per command" },
	{ "an unknown key", "\nbogus = 1\n", "backup", 2, "unknown option 'bogus'",
	  "names are the long options without '--', see mbackup --help" },
	{ "--config in a config", "config = /etc/x.conf\n", "backup", 1, "unknown option 'config'",
	  "names are the long options without '--', see mbackup --help" },
	{ "a key without a value", "db\n", "backup", 1, "option 'db' needs a value",
	  "write 'db = VALUE'" },
	{ "a list without a value", "media =  \n", "backup", 1, "option 'media' needs a value",
	  "write 'media = VALUE'" },
};

static void test_config_refusals(void)
{
	for (size_t i = 0; i < sizeof(config_cases) / sizeof(config_cases[0]); i++) {
		const struct config_case *c = &config_cases[i];
		struct mb_options o;
		struct mb_error e;
		char want[512], what[128];

		write_config(c->text);
		parse(&o, &e, (const char *[]){ c->verb, "--config", CONFIG, NULL });
		snprintf(what, sizeof(what), "%s: exit 3 (config)", c->name);
		is_int(e.code, MB_ERR_CONFIG, what);
		snprintf(want, sizeof(want), "config '%s' line %d: %s", CONFIG, c->line, c->msg);
		is_str(e.msg, want, c->name);
		snprintf(what, sizeof(what), "%s: hint", c->name);
		is_str(e.hint, c->hint, what);
		mb_options_free(&o);
	}
	unlink(CONFIG);
}

static void test_config_values(void)
{
	struct mb_options o;
	struct mb_error e;

	write_config("media = file:/a  tape:/dev/nst0\tpipe:/run/f\nkeep-split = no\nforce = yes\n");
	is_int(parse(&o, &e, (const char *[]){ "--config", CONFIG, NULL }), 0,
	       "several media on one line");
	ok(o.media.n == 3 && strcmp(o.media.v[0], "file:/a") == 0 &&
	   strcmp(o.media.v[1], "tape:/dev/nst0") == 0 && strcmp(o.media.v[2], "pipe:/run/f") == 0,
	   "one media line with three values is a three-device set");
	ok(!o.keep_split && o.force, "booleans: no is false, yes is true");
	mb_options_free(&o);
	/* check runs the backup's preflight, recover and list act on its runs:
	 * they read the backup's config (deploy/mbackup.service) */
	write_config("db = none\nmirror = loop:/dev/loop3\nmedia = file:/a\n"
		     "segment-threshold = 1M\norder = asc\nkeep-split = 0\n");
	is_int(parse(&o, &e, (const char *[]){ "check", "--config", CONFIG, NULL }), 0,
	       "check accepts the backup's keys in a config");
	mb_options_free(&o);
	is_int(parse(&o, &e, (const char *[]){ "recover", "--config", CONFIG, NULL }), 0,
	       "recover accepts the backup's config");
	mb_options_free(&o);
	is_int(parse(&o, &e, (const char *[]){ "list", "--config", CONFIG, NULL }), 0,
	       "list accepts the backup's config");
	mb_options_free(&o);
	/* on the command line a repeated list option is the several-devices syntax */
	is_int(parse(&o, &e, (const char *[]){ "--media", "file:/a", "--media", "file:/b", NULL }),
	       0, "--media twice on the command line");
	ok(o.media.n == 2, "--media A --media B is a two-device set");
	mb_options_free(&o);
	unlink(CONFIG);
}

/* A config file, or a command run as root, that others could change. */
static void test_trust(void)
{
	char dir[80], inner[120], script[120], want[512], hint[512], arg[160];
	struct mb_options o;
	struct mb_error e;

	write_config("freeze-timeout = 5\n");
	chmod(CONFIG, 0664);
	parse(&o, &e, (const char *[]){ "--config", CONFIG, NULL });
	is_int(e.code, MB_ERR_CONFIG, "group-writable config: exit 3");
	snprintf(want, sizeof(want), "config '%s' is writable by group or others (mode 0664)", CONFIG);
	is_str(e.msg, want, "group-writable config: message");
	snprintf(hint, sizeof(hint), "chmod go-w '%s': it can name a command mbackup runs as root",
		 CONFIG);
	is_str(e.hint, hint, "group-writable config: hint");
	mb_options_free(&o);
	chmod(CONFIG, 0602);
	parse(&o, &e, (const char *[]){ "--config", CONFIG, NULL });
	snprintf(want, sizeof(want), "config '%s' is writable by group or others (mode 0602)", CONFIG);
	is_str(e.msg, want, "world-writable config");
	mb_options_free(&o);
	chmod(CONFIG, 0600);
	if (geteuid() == 0 && chown(CONFIG, 65534, 65534) == 0) {
		parse(&o, &e, (const char *[]){ "--config", CONFIG, NULL });
		is_int(e.code, MB_ERR_CONFIG, "config of another user: exit 3");
		snprintf(want, sizeof(want), "config '%s' is owned by uid 65534, not by root", CONFIG);
		is_str(e.msg, want, "config of another user: message");
		snprintf(hint, sizeof(hint), "chown root '%s'", CONFIG);
		is_str(e.hint, hint, "config of another user: hint");
		mb_options_free(&o);
	} else {
		skip(3, "needs root to give the config to another user");
	}
	unlink(CONFIG);

	/* a directory others can write to: they could replace the file */
	snprintf(dir, sizeof(dir), "%s.d", CONFIG);
	snprintf(inner, sizeof(inner), "%s/mbackup.conf", dir);
	mkdir(dir, 0700);
	chmod(dir, 0777);
	write_file(inner, "freeze-timeout = 5\n", 0600);
	parse(&o, &e, (const char *[]){ "--config", inner, NULL });
	snprintf(want, sizeof(want), "config '%s' is in directory '%s', which is writable by group "
		 "or others (mode 0777)", inner, dir);
	is_str(e.msg, want, "config in a world-writable directory");
	is_int(e.code, MB_ERR_CONFIG, "config in a world-writable directory: exit 3");
	mb_options_free(&o);
	chmod(dir, 01777);
	is_int(parse(&o, &e, (const char *[]){ "--config", inner, NULL }), 0,
	       "a sticky directory (like /tmp) is fine");
	mb_options_free(&o);

	/* --volume-change names a program run as root */
	snprintf(script, sizeof(script), "%s/load", dir);
	chmod(dir, 0700);
	write_file(script, "#!/bin/sh\n", 0777);
	snprintf(arg, sizeof(arg), "%s --slot 3", script);
	parse(&o, &e, (const char *[]){ "--volume-change", arg, NULL });
	is_int(e.code, MB_ERR_CONFIG, "world-writable --volume-change: exit 3");
	snprintf(want, sizeof(want), "--volume-change command '%s' is writable by group or others "
		 "(mode 0777)", script);
	is_str(e.msg, want, "world-writable --volume-change: message");
	snprintf(hint, sizeof(hint), "chmod go-w '%s': it is run as root", script);
	is_str(e.hint, hint, "world-writable --volume-change: hint");
	mb_options_free(&o);
	chmod(script, 0755);
	is_int(parse(&o, &e, (const char *[]){ "restore", "--volume-change", arg, NULL }), 0,
	       "a safe --volume-change");
	mb_options_free(&o);
	parse(&o, &e, (const char *[]){ "--volume-change", "/no/such/load", NULL });
	is_str(e.msg, "unable to use --volume-change command '/no/such/load': "
		      "No such file or directory", "a missing --volume-change command");
	is_int(e.code, MB_ERR_CONFIG, "a missing --volume-change command: exit 3");
	mb_options_free(&o);
	is_int(parse(&o, &e, (const char *[]){ "--volume-change", "mt-load 3", NULL }), 0,
	       "a command found through PATH is not checked");
	mb_options_free(&o);
	unlink(script);
	unlink(inner);
	rmdir(dir);
}

static void test_two_configs(void)
{
	struct mb_options o;
	struct mb_error e;
	char want[512], arg[80];

	write_config("freeze-timeout = 5\n");
	snprintf(arg, sizeof(arg), "--config=%s", CONFIG);
	parse(&o, &e, (const char *[]){ "--config", CONFIG, arg, NULL });
	is_int(e.code, MB_ERR_USAGE, "two --config: usage");
	snprintf(want, sizeof(want), "option '--config' given twice ('%s' and '%s')", CONFIG, CONFIG);
	is_str(e.msg, want, "two --config: message");
	is_str(e.hint, "give one config file; the command line overrides its lines",
	       "two --config: hint");
	mb_options_free(&o);
	unlink(CONFIG);
}

/* An option where a value was expected: --db --mirror X. */
static void test_option_as_value(void)
{
	struct mb_options o;
	struct mb_error e;

	refused((const char *[]){ "--db", "--mirror", "loop:/dev/loop3", NULL },
		"option '--db' needs a value, not the option '--mirror' (for 'backup')",
		"--db --mirror");
	parse(&o, &e, (const char *[]){ "restore", "--to", "--from=x", NULL });
	is_str(e.msg, "option '--to' needs a value, not the option '--from=x' (for 'restore')",
	       "--to --from=x");
	is_str(e.hint, "write --to=VALUE for a value that starts with '--'", "--to --from=x: hint");
	mb_options_free(&o);
	is_int(parse(&o, &e, (const char *[]){ "--db=--mirror", NULL }), 0,
	       "--db=--mirror takes the value as given");
	is_str(o.db, "--mirror", "--db=--mirror: the value");
	mb_options_free(&o);
	is_int(parse(&o, &e, (const char *[]){ "--source", "--not-an-option", NULL }), 0,
	       "a value like an unknown option is a value");
	mb_options_free(&o);
}

/* Runs the parse with stderr in a file; returns what was logged (static). */
static const char *parse_logged(const char *const *args, int *rc)
{
	static char buf[2048];
	char path[80];
	struct mb_options o;
	struct mb_error e;
	int fd, saved;
	ssize_t n;

	snprintf(path, sizeof(path), "%s.err", CONFIG);
	fflush(stderr);
	saved = dup(2);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	dup2(fd, 2);
	*rc = parse(&o, &e, args);
	mb_options_free(&o);
	dup2(saved, 2);
	close(saved);
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	close(fd);
	unlink(path);
	return buf;
}

/* The log line without its timestamp, or "" */
static const char *after_stamp(const char *line)
{
	const char *sp = strchr(line, ' ');

	return sp ? sp + 1 : "";
}

static void test_pg_password(void)
{
	char want[512];
	const char *got;
	int rc;

	snprintf(want, sizeof(want), "warn  --pg-conn holds a password, which every local user "
		 "can read in /proc/%d/cmdline while mbackup runs; use PGPASSFILE (~/.pgpass) or "
		 "a service file (PGSERVICE) instead\n", (int)getpid());
	got = parse_logged((const char *[]){ "--pg-conn", "host=/run/pg password=secret", NULL },
			   &rc);
	is_str(after_stamp(got), want, "--pg-conn password=: one warning line");
	got = parse_logged((const char *[]){ "check", "--pg-conn=postgresql://u:secret@h/db", NULL },
			   &rc);
	is_str(after_stamp(got), want, "--pg-conn URI with a password: the warning");
	is_int(rc, 0, "the warning does not refuse the run");
	got = parse_logged((const char *[]){ "--pg-conn", "host=/run/pg user=postgres", NULL }, &rc);
	is_str(got, "", "no password: no warning");
	write_config("pg-conn = host=/run/pg password=secret\n");
	got = parse_logged((const char *[]){ "--config", CONFIG, NULL }, &rc);
	is_str(got, "", "a password in the config file is not on the command line");
	unlink(CONFIG);
}

static void test_usage(void)
{
	struct mb_options o;
	struct mb_error e;

	parse(&o, &e, (const char *[]){ "ls", "--keep-split", NULL });
	is_str(e.msg, "option '--keep-split' does not apply to 'ls'", "option of another verb");
	is_str(e.hint, "see mbackup ls --help", "option of another verb: hint");
	mb_options_free(&o);
	refused((const char *[]){ "--force=yes", NULL },
		"option '--force=yes' takes no value (for 'backup')", "boolean with a value");
	refused((const char *[]){ "restore", "--to", NULL },
		"option '--to' needs a value (for 'restore')", "missing value");
	refused((const char *[]){ "--append", "--overwrite", NULL },
		"options '--append' and --overwrite exclude each other (for 'backup')",
		"--append with --overwrite");
	refused((const char *[]){ "frobnicate", NULL }, "unknown command 'frobnicate'", "unknown verb");
}

/* The command line's own options (issue 13): progress, list's filter,
 * info's --backup; the unknown command's hint lists verbs[]. */
static void test_cli(void)
{
	struct mb_options o;
	struct mb_error e;

	ok(parse(&o, &e, (const char *[]){ NULL }) == 0, "no options: parsed");
	is_str(o.progress, "auto", "--progress defaults to auto");
	is_int(o.progress_interval, 30, "--progress-interval defaults to 30");
	ok(!o.progress_to && !o.since && o.limit == 0, "no --progress-to, --since, --limit");
	mb_options_free(&o);
	ok(parse(&o, &e, (const char *[]){ "--progress", "json", "--progress-to", "fd:3",
					   "--progress-interval", "0", NULL }) == 0,
	   "--progress json --progress-to fd:3 --progress-interval 0");
	mb_options_free(&o);
	refused((const char *[]){ "--progress", "loud", NULL }, "invalid --progress 'loud'",
		"bad --progress");
	refused((const char *[]){ "--progress-to", "/tmp/p", NULL },
		"option '--progress-to' needs --progress json", "--progress-to without json");
	refused((const char *[]){ "list", "--progress", "json", NULL },
		"option '--progress' does not apply to 'list'", "--progress is the backup's");
	refused((const char *[]){ "--since", "1h", NULL },
		"option '--since' does not apply to 'backup'", "--since is list's");
	refused((const char *[]){ "list", "--limit", "-1", NULL },
		"invalid value '-1' for --limit: expected 0..1000000", "--limit below 0");
	ok(parse(&o, &e, (const char *[]){ "info", "--backup", "7", "--output", "json", NULL }) == 0 &&
	   strcmp(o.backup, "7") == 0, "info --backup 7 --output json");
	mb_options_free(&o);
	parse(&o, &e, (const char *[]){ "--freez-timeout", "3", NULL });
	is_str(e.hint, "did you mean --freeze-timeout? see mbackup backup --help",
	       "a mistyped option: the nearest in the hint");
	mb_options_free(&o);
	parse(&o, &e, (const char *[]){ "ls", "--keep-splt", NULL });
	is_str(e.hint, "see mbackup ls --help", "... only an option of the command");
	mb_options_free(&o);
	parse(&o, &e, (const char *[]){ "--bogus", NULL });
	is_str(e.hint, "see mbackup backup --help", "... none when none is near");
	mb_options_free(&o);
	parse(&o, &e, (const char *[]){ "restor", NULL });
	is_str(e.hint, "did you mean 'restore'? commands: backup check ls verify restore list "
	       "recover wal-push wal-get wal-check expire info consolidate; see mbackup --help", "a mistyped command: the nearest in the hint");
	mb_options_free(&o);
	parse(&o, &e, (const char *[]){ "frobnicate", NULL });
	is_str(e.hint, "commands: backup check ls verify restore list recover wal-push wal-get wal-check expire info consolidate; see mbackup --help",
	       "the unknown command's hint lists every command");
	mb_options_free(&o);
}

int main(void)
{
	plan(129 + 21);
	snprintf(CONFIG, sizeof(CONFIG), "/tmp/options-test-%d.conf", (int)getpid());
	test_defaults();
	test_sizes();
	test_buffer();
	test_config();
	test_config_refusals();
	test_config_values();
	test_trust();
	test_two_configs();
	test_option_as_value();
	test_pg_password();
	test_usage();
	test_cli();
	return done_testing();
}
