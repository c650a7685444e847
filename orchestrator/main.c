/*
 * mbackup: consistent, fast backups of a filesystem tree (and, next, a
 * PostgreSQL cluster) living on a mirror.  main() parses the options,
 * dispatches the verb, and turns the first error into one line on stderr
 * (plus an optional HINT line) and a stable exit code.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "orchestrator/commands.h"
#include "orchestrator/options.h"
#include "orchestrator/run.h"
#include "orchestrator/signals.h"
#include "orchestrator/wal_cmd.h"
#include "plugins/mirror/lvm_helper.h"

#define MBACKUP_VERSION "0.1.0"

static int set_logging(const struct mb_options *o, struct mb_error *e)
{
	static const char *const levels[] = { "error", "warn", "info", "debug" };
	size_t i;

	for (i = 0; i < 4 && strcmp(levels[i], o->log_level) != 0; i++)
		;
	if (i == 4) {
		mb_fail(e, MB_ERR_USAGE, 0, "invalid --log-level '%s'", o->log_level);
		mb_hint(e, "use error, warn, info or debug");
		return -1;
	}
	mb_log_set_level((enum mb_log_level)i);
	if (o->output && strcmp(o->output, "text") != 0 && strcmp(o->output, "json") != 0) {
		mb_fail(e, MB_ERR_USAGE, 0, "invalid --output '%s'", o->output);
		mb_hint(e, "use text or json");
		return -1;
	}
	if (o->log_file && mb_log_set_file(o->log_file) < 0) {
		/* (open(2)'s errno: what was wrong with the path) */
		mb_fail(e, MB_ERR_CONFIG, errno, "unable to open log file '%s'", o->log_file);
		mb_hint(e, "--log-file must name a file mbackup can append to, on a filesystem "
			"that is not frozen");
		return -1;
	}
	return 0;
}

static int dispatch(const struct mb_options *o, struct mb_error *e)
{
	switch (o->verb) {
	case MB_VERB_BACKUP:
		return mb_backup(o, false, e);
	case MB_VERB_CHECK:
		return mb_backup(o, true, e);
	case MB_VERB_LS:
		return mb_cmd_ls(o, e);
	case MB_VERB_VERIFY:
		return mb_cmd_verify(o, e);
	case MB_VERB_RESTORE:
		return mb_cmd_restore(o, e);
	case MB_VERB_LIST:
		return mb_cmd_list(o, e);
	case MB_VERB_RECOVER:
		return mb_recover(o, e);
	case MB_VERB_WAL_PUSH:
		return mb_cmd_wal_push(o, e);
	case MB_VERB_WAL_GET:
		return mb_cmd_wal_get(o, e);
	case MB_VERB_WAL_CHECK:
		return mb_cmd_wal_check(o, e);
	case MB_VERB_EXPIRE:
		return mb_cmd_expire(o, e);
	case MB_VERB_CONSOLIDATE:
		return mb_cmd_consolidate(o, e);
	case MB_VERB_INFO:
		return mb_cmd_info(o, e);
	default:	/* a bit reserved in options.h for a verb not built yet */
		break;
	}
	return mb_fail(e, MB_ERR_INTERNAL, 0, "no such verb");
}

int main(int argc, char **argv)
{
	struct mb_options o;
	struct mb_error e = { 0 };
	int rc;

	/* the LVM helper, started by the lvm driver before the window */
	if (argc > 0 && strcmp(argv[0], MB_LVM_HELPER_ARGV0) == 0)
		return mb_lvm_helper_main();
	rc = mb_options_parse(&o, argc, argv, &e);
	if (rc == 0 && o.help) {
		mb_options_usage(&o);
		goto out;
	}
	if (rc == 0 && o.version) {
		printf("mbackup %s\n", MBACKUP_VERSION);
		goto out;
	}
	if (rc == 0)
		rc = set_logging(&o, &e);
	if (rc == 0)
		rc = mb_signals_block(&e);
	if (rc == 0)
		rc = dispatch(&o, &e);
out:
	fflush(stdout);
	/* (an error without a message is a quiet one: wal-get's "not archived") */
	if (rc < 0 && e.msg[0]) {
		fprintf(stderr, "mbackup: error: %s\n", e.msg);
		if (e.hint[0])
			fprintf(stderr, "HINT: %s\n", e.hint);
	}
	mb_options_free(&o);
	return rc < 0 ? (e.code ? e.code : MB_ERR_GENERAL) : 0;
}
