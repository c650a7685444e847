/*
 * The config file: `name = value` lines, names being the long options
 * without "--" (deploy/mbackup.conf.example).  Nothing in it happens by
 * accident: each key at most once (a list takes its several values on its
 * one line, separated by spaces or tabs, so a second `media` line cannot
 * quietly make a set); a boolean is a bare name or true/yes/1/false/no/0;
 * only the keys of the command run (check, recover and list also take the
 * backup's: the same file drives the backup, its preflight and the healing
 * of its runs, as deploy/mbackup.service does; so do wal-push, wal-get,
 * wal-check and expire, which read the backup's file for wal-archive); and
 * the file must be one only root, or the user mbackup runs as, could have
 * written, since it can name a command run as root (common/trust.h).
 * Every refusal is MB_ERR_CONFIG, "config 'PATH' line N: ...", plus a hint.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/trust.h"
#include "orchestrator/options_internal.h"
#include "plugins/media/media.h"

#define MAX_OPTS 128

static char *trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n' || end[-1] == '\r'))
		*--end = '\0';
	return s;
}

/* A list line: each value separated by spaces or tabs. */
static int set_list(struct mb_options *o, const struct opt_def *d, char *val,
		    struct mb_error *e)
{
	char *save = NULL;

	for (char *t = strtok_r(val, " \t", &save); t; t = strtok_r(NULL, " \t", &save))
		if (mb_opt_set(o, d, t, MB_ERR_CONFIG, NULL, e) < 0)
			return -1;
	return 0;
}

/* The verbs whose keys a config read by verb may hold: its own, and for
 * check (the backup's preflight), recover and list (the backup's runs) the
 * backup's, those they do not use being ignored. */
static unsigned config_verbs(enum mb_verb verb)
{
	if (verb == MB_VERB_CHECK || verb == MB_VERB_RECOVER || verb == MB_VERB_LIST)
		return verb | MB_VERB_BACKUP;
	/* the WAL verbs read the backup's file (wal-archive in it) */
	if (verb & (MB_VERB_WAL_PUSH | MB_VERB_WAL_GET | MB_VERB_WAL_CHECK | MB_VERB_EXPIRE))
		return verb | MB_VERB_BACKUP;
	return verb;
}

/* The key of a line: known, not given before, of this command. */
static const struct opt_def *line_key(const struct mb_options *o, const char *name,
				      int lineno, int *seen, struct mb_error *e)
{
	unsigned verbs = config_verbs(o->verb);
	const struct opt_def *d = mb_opt_find(name, strlen(name));
	char list[128];

	if (!d || d->offset == OFF(config) || d->offset == OFF(help) || d->offset == OFF(version)) {
		mb_fail(e, MB_ERR_CONFIG, 0, "unknown option '%s'", name);
		mb_hint(e, "names are the long options without '--', see mbackup --help");
		return NULL;
	}
	if (seen[d - mb_opt_table]) {
		mb_fail(e, MB_ERR_CONFIG, 0, "option '%s' already given at line %d", name,
			seen[d - mb_opt_table]);
		if (d->kind == OPT_LIST)
			mb_hint(e, "several values go on one line, separated by spaces: %s = A B", name);
		else
			mb_hint(e, "keep one of the two lines");
		return NULL;
	}
	seen[d - mb_opt_table] = lineno;
	if (!(d->verbs & verbs)) {
		mb_fail(e, MB_ERR_CONFIG, 0, "option '%s' does not apply to '%s'", name, o->verb_name);
		mb_hint(e, "'%s' is an option of %s; keep one config file per command", name,
			mb_opt_verbs(d->verbs, list, sizeof(list)));
		return NULL;
	}
	return d;
}

/* A value whose form only its parser knows is checked here, so that its
 * refusal names the file and the line like every other. */
static int check_value(const struct opt_def *d, const char *val, struct mb_error *e)
{
	struct mb_compress c;

	if (strcmp(d->name, "compress") != 0 || mb_compress_parse(val, &c, e) == 0)
		return 0;
	e->code = MB_ERR_CONFIG;
	return -1;
}

/* One non-empty, non-comment line. */
static int read_line(struct mb_options *o, char *s, int lineno, int *seen, struct mb_error *e)
{
	char *eq = strchr(s, '='), *name, *val = NULL;
	const struct opt_def *d;

	if (eq) {
		*eq = '\0';
		val = trim(eq + 1);
	}
	name = trim(s);
	if (!(d = line_key(o, name, lineno, seen, e)))
		return -1;
	if (d->kind != OPT_BOOL && (!val || !*val)) {
		mb_fail(e, MB_ERR_CONFIG, 0, "option '%s' needs a value", name);
		mb_hint(e, "write '%s = VALUE'", name);
		return -1;
	}
	if (d->kind == OPT_LIST)
		return set_list(o, d, val, e);
	if (mb_opt_set(o, d, val, MB_ERR_CONFIG, NULL, e) < 0) {
		if (d->kind == OPT_BOOL)
			mb_hint(e, "a line with the bare name also means true");
		return -1;
	}
	return check_value(d, val, e);
}

/* A file holding a secret (s3-secret-key) is readable by its owner alone:
 * root, or the user running mbackup (postgres, for wal-push and wal-get
 * as archive_command and restore_command). */
static int check_secret_file(const char *path, int fd, struct mb_error *e)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return mb_fail(e, MB_ERR_CONFIG, errno, "unable to read config file '%s'", path);
	if ((st.st_uid == 0 || st.st_uid == geteuid()) && (st.st_mode & 077) == 0)
		return 0;
	mb_fail(e, MB_ERR_CONFIG, 0, "config file '%s' holds s3-secret-key but is mode %04o, "
		"owned by uid %u", path, (unsigned)(st.st_mode & 07777), (unsigned)st.st_uid);
	mb_hint(e, "chown root '%s' and chmod 600 '%s', or give AWS_SECRET_ACCESS_KEY in the "
		"environment", path, path);
	return -1;
}

int mb_options_read_file(struct mb_options *o, const char *path, struct mb_error *e)
{
	/* (O_NONBLOCK: a FIFO is refused as not a regular file, not waited on) */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK), lineno = 0, rc = -1;
	int seen[MAX_OPTS] = { 0 };
	char *line = NULL;
	size_t cap = 0;
	FILE *f = NULL;

	_Static_assert(MAX_OPTS <= 128, "seen[] holds one line number per option");
	if (fd < 0)
		return mb_fail(e, MB_ERR_CONFIG, errno, "unable to read config file '%s'", path);
	if (mb_opt_count > MAX_OPTS) {
		mb_fail(e, MB_ERR_INTERNAL, 0, "too many options for the config reader");
		goto out;
	}
	if (mb_trust_file("config", path, fd, e) < 0)
		goto out;
	if (!(f = fdopen(fd, "r"))) {
		mb_fail(e, MB_ERR_GENERAL, errno, "unable to read config file '%s'", path);
		goto out;
	}
	fd = -1;
	rc = 0;
	while (rc == 0 && getline(&line, &cap, f) > 0) {
		char *s = trim(line);

		lineno++;
		if (!*s || *s == '#')
			continue;
		if ((rc = read_line(o, s, lineno, seen, e)) < 0)
			mb_error_prefix(e, "config '%s' line %d: ", path, lineno);
	}
	if (rc == 0 && ferror(f))
		rc = mb_fail(e, MB_ERR_CONFIG, errno, "unable to read config file '%s'", path);
	if (rc == 0 && o->s3_secret_key)
		rc = check_secret_file(path, fileno(f), e);
out:
	free(line);
	if (f)
		fclose(f);
	if (fd >= 0)
		close(fd);
	return rc;
}
