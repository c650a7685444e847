/* Unit tests for orchestrator/options.c: defaults, the one number parser
 * (sizes with K/M/G, ranges, saturation), --buffer, the config file and
 * its precedence, usage errors with their exact messages. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

static void write_config(const char *text)
{
	FILE *f = fopen(CONFIG, "we");

	if (!f || fputs(text, f) < 0 || fclose(f) != 0)
		diag("unable to write %s", CONFIG);
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
	snprintf(want, sizeof(want), "invalid value 'x' for --freeze-timeout at '%s' line 1: "
		 "expected 1..3600", CONFIG);
	is_str(e.msg, want, "bad config value: message names the line");
	mb_options_free(&o);
	write_config("\nbogus = 1\n");
	parse(&o, &e, (const char *[]){ "--config", CONFIG, NULL });
	is_int(e.code, MB_ERR_CONFIG, "unknown config option: config");
	snprintf(want, sizeof(want), "unknown option 'bogus' at '%s' line 2", CONFIG);
	is_str(e.msg, want, "unknown config option: message");
	mb_options_free(&o);
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

int main(void)
{
	plan(51);
	snprintf(CONFIG, sizeof(CONFIG), "/tmp/options-test-%d.conf", (int)getpid());
	test_defaults();
	test_sizes();
	test_buffer();
	test_config();
	test_usage();
	return done_testing();
}
