/*
 * What a restored copy needs to replay to its target when it is started
 * (PostgreSQL 15): recovery.signal, and the recovery settings appended to
 * postgresql.auto.conf, where a later line wins over an earlier one:
 *
 *   # mbackup restore: replay to time '2026-11-29 14:02:59+00' ...
 *   restore_command = '/usr/bin/mbackup wal-get ... %f %p'
 *   recovery_target_time = '2026-11-29 14:02:59.000000+00'
 *   recovery_target_inclusive = 'true'
 *   recovery_target_timeline = 'latest'
 *   recovery_target_action = 'promote'
 *
 * postgresql.auto.conf rather than a file of our own: PostgreSQL always
 * reads it last, so nothing in postgresql.conf can hide the settings, and
 * no include line has to be added to a DBA's postgresql.conf.  The DBA's
 * own lines stay as they were, except recovery settings a copy brought
 * along (restore_command, recovery_target*: an earlier restore's), which
 * are commented out so that they cannot mix with this target.  The file
 * is replaced atomically (a new file, fsync, rename, fsync of the
 * directory), with the owner of the data directory and mode 0600.  A
 * standby.signal the copy brought along (a backup of a standby) is
 * removed: with it the copy would stay a standby.
 */
#include "plugins/quiesce/postgres/pg_internal.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"

#define AUTO_CONF "postgresql.auto.conf"
#define AUTO_TMP "postgresql.auto.conf.mbackup-new"

/* 'it'\''s': one word for the shell that runs restore_command. */
static void shell_word(FILE *f, const char *s)
{
	fputc('\'', f);
	for (; *s; s++)
		if (*s == '\'')
			fputs("'\\''", f);
		else
			fputc(*s, f);
	fputc('\'', f);
}

/* A configuration file string: 'it''s'. */
static void conf_string(FILE *f, const char *s)
{
	fputc('\'', f);
	for (; *s; s++) {
		if (*s == '\'')
			fputc('\'', f);
		fputc(*s, f);
	}
	fputc('\'', f);
}

/* The restore_command value: each word of fetch quoted for the shell,
 * then PostgreSQL's %f (the file's name) and %p (where it goes). */
static char *restore_command(const char *const *fetch)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		return NULL;
	for (size_t i = 0; fetch[i]; i++) {
		shell_word(f, fetch[i]);
		fputc(' ', f);
	}
	fputs("%f %p", f);
	if (fclose(f) != 0) {
		free(text);
		return NULL;
	}
	return text;
}

/* A line setting restore_command or recovery_target*: a recovery setting
 * the copy brought along. */
static bool recovery_line(const char *line)
{
	char key[64];
	size_t n = 0;

	line += strspn(line, " \t");
	while (n + 1 < sizeof(key) && (isalnum((unsigned char)line[n]) || line[n] == '_'))
		key[n] = (char)tolower((unsigned char)line[n]), n++;
	key[n] = '\0';
	return !strcmp(key, "restore_command") || !strncmp(key, "recovery_target", 15);
}

/* The copy's lines, its recovery settings commented out. */
static int keep_old(FILE *out, int dirfd, const char *dir, struct mb_error *e)
{
	int fd = openat(dirfd, AUTO_CONF, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	FILE *in;

	if (fd < 0)
		return errno == ENOENT ? 0 : mb_fail(e, MB_ERR_IO, errno, "unable to read "
						     "'%s/%s'", dir, AUTO_CONF);
	if (!(in = fdopen(fd, "r"))) {
		close(fd);
		return mb_fail(e, MB_ERR_IO, errno, "unable to read '%s/%s'", dir, AUTO_CONF);
	}
	while ((len = getline(&line, &cap, in)) > 0) {
		if (recovery_line(line))
			fputs("# (replaced by mbackup restore) ", out);
		fwrite(line, 1, (size_t)len, out);
		if (line[len - 1] != '\n')
			fputc('\n', out);
	}
	free(line);
	fclose(in);
	return 0;
}

static void setting(FILE *f, const char *name, const char *value)
{
	fprintf(f, "%s = ", name);
	conf_string(f, value);
	fputc('\n', f);
}

/* The settings for target t. */
static int new_settings(FILE *f, const struct mb_recovery_target *t, const char *command)
{
	char when[40], name[40], value[64];
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
	fprintf(f, "# mbackup restore, %s: replay to %s%s%s%s; PostgreSQL reads\n"
		"# these settings while recovery.signal exists\n", when, t->kind,
		t->value ? " '" : "", t->value ? t->value : "", t->value ? "'" : "");
	setting(f, "restore_command", command);
	if (!strcmp(t->kind, "immediate")) {
		setting(f, "recovery_target", "immediate");
		setting(f, "recovery_target_action", t->action);
	} else if (strcmp(t->kind, "latest")) {
		snprintf(name, sizeof(name), "recovery_target_%s", t->kind);
		if (!strcmp(t->kind, "time") &&
		    mb_pg_target_time_utc(t->value, value, sizeof(value)) < 0)
			return -1;
		setting(f, name, !strcmp(t->kind, "time") ? value : t->value);
		setting(f, "recovery_target_inclusive", t->inclusive ? "true" : "false");
		setting(f, "recovery_target_action", t->action);
	}
	setting(f, "recovery_target_timeline", t->timeline ? t->timeline : "latest");
	return 0;
}

/* name in dirfd, holding text, owned like the data directory, 0600,
 * durable; through a temporary name when tmp is given. */
static int write_file(int dirfd, const char *dir, const struct stat *owner, const char *name,
		      const char *tmp, const char *text, size_t len, struct mb_error *e)
{
	const char *as = tmp ? tmp : name;
	int fd, rc = -1;

	unlinkat(dirfd, as, 0);
	fd = openat(dirfd, as, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return mb_fail(e, MB_ERR_IO, errno, "unable to create '%s/%s'", dir, as);
	errno = 0;
	if (fchown(fd, owner->st_uid, owner->st_gid) < 0 && geteuid() == 0)
		mb_fail(e, MB_ERR_IO, errno, "unable to give '%s/%s' the data directory's owner",
			dir, as);
	else if (write(fd, text, len) != (ssize_t)len)
		mb_fail(e, MB_ERR_IO, errno ? errno : ENOSPC, "unable to write '%s/%s'", dir, as);
	else if (fsync(fd) < 0)
		mb_fail(e, MB_ERR_IO, errno, "unable to write '%s/%s'", dir, as);
	else if (tmp && renameat(dirfd, tmp, dirfd, name) < 0)
		mb_fail(e, MB_ERR_IO, errno, "unable to rename '%s/%s' to '%s'", dir, tmp, name);
	else
		rc = 0;
	close(fd);
	if (rc < 0)
		unlinkat(dirfd, as, 0);
	return rc;
}

/* The whole new postgresql.auto.conf, in memory. */
static char *conf_text(int dirfd, const char *dir, const struct mb_recovery_target *t,
		       const char *command, size_t *len, struct mb_error *e)
{
	char *text = NULL;
	FILE *f = open_memstream(&text, len);
	int rc;

	if (!f) {
		mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to write the recovery settings");
		return NULL;
	}
	rc = keep_old(f, dirfd, dir, e);
	if (rc == 0 && new_settings(f, t, command) < 0)
		rc = mb_fail(e, MB_ERR_USAGE, 0, "invalid target time '%s'", t->value);
	if (fclose(f) != 0 && rc == 0)
		rc = mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to write the recovery settings");
	if (rc < 0) {
		free(text);
		return NULL;
	}
	return text;
}

int mb_pg_recovery_write(const char *dir, const struct mb_recovery_target *t,
			 const char *const *fetch, struct mb_error *e)
{
	int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	char *command = NULL, *text = NULL;
	struct stat owner;
	size_t len = 0;
	int rc = -1;

	if (dirfd < 0 || fstat(dirfd, &owner) < 0) {
		mb_fail(e, MB_ERR_TARGET, errno, "unable to open the restored data directory '%s'",
			dir);
		goto out;
	}
	if (!(command = restore_command(fetch))) {
		mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to write the recovery settings");
		goto out;
	}
	if (!(text = conf_text(dirfd, dir, t, command, &len, e)) ||
	    write_file(dirfd, dir, &owner, AUTO_CONF, AUTO_TMP, text, len, e) < 0 ||
	    write_file(dirfd, dir, &owner, "recovery.signal", NULL, "", 0, e) < 0)
		goto out;
	/* a standby's copy would stay a standby and never reach its target */
	if (unlinkat(dirfd, "standby.signal", 0) == 0)
		mb_info("postgres: removed the standby.signal the copy brought along: it "
			"recovers to its target instead of following a primary");
	else if (errno != ENOENT) {
		mb_fail(e, MB_ERR_IO, errno, "unable to remove '%s/standby.signal'", dir);
		goto out;
	}
	if (fsync(dirfd) < 0) {
		mb_fail(e, MB_ERR_IO, errno, "unable to write the recovery settings in '%s'", dir);
		goto out;
	}
	rc = 0;
out:
	if (dirfd >= 0)
		close(dirfd);
	free(command);
	free(text);
	return rc;
}
