/* The option table; see options.h. */
#include "orchestrator/options.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugins/media/tape.h"
#include "plugins/quiesce/postgres/postgres.h"

#define MB_DEFAULT_CATALOG "/var/lib/mbackup/catalog.db"

enum opt_kind { OPT_STR, OPT_LONG, OPT_SIZE, OPT_BOOL, OPT_LIST };

#define V_BACKUP (MB_VERB_BACKUP | MB_VERB_CHECK)
#define V_ALL 0x7f

struct opt_def {
	const char *name;
	enum opt_kind kind;
	unsigned verbs;
	size_t offset;
	const char *arg;	/* placeholder in --help */
	const char *deflt;	/* as text, NULL for none */
	long min, max;
	const char *help;
};

#define OFF(field) offsetof(struct mb_options, field)

static const struct opt_def opt_table[] = {
	{ "db", OPT_STR, V_BACKUP, OFF(db), "postgres|none", NULL, 0, 0,
	  "what to quiesce: postgres, or none (freeze the source filesystem only)" },
	{ "mode", OPT_STR, V_BACKUP, OFF(mode), "hot|freeze", "hot", 0, 0,
	  "postgres: hot = backup mode with the WAL as redo log, freeze = checkpoint + freeze" },
	{ "pg-conn", OPT_STR, V_BACKUP, OFF(pg_conn), "CONNINFO", NULL, 0, 0,
	  "postgres: libpq connection string (default: PGHOST, PGPORT, PGUSER...)" },
	{ "mirror", OPT_LIST, V_BACKUP, OFF(mirrors), "DRIVER:DEV", NULL, 0, 0,
	  "mirror holding the source (loop:/dev/loopN); repeatable" },
	{ "source", OPT_LIST, V_BACKUP, OFF(sources), "DIR", NULL, 0, 0,
	  "directory to back up (on the mirror's filesystem); postgres: the data directory, found by itself" },
	{ "media", OPT_LIST, V_BACKUP, OFF(media), "SPEC", NULL, 0, 0,
	  "where the image goes: file:PATH, pipe:FIFO or - (stdout); repeat to write several devices at once" },
	{ "segment-threshold", OPT_SIZE, MB_VERB_BACKUP, OFF(segment_threshold), "SIZE", "0", 0,
	  1L << 62, "several media: cut files larger than this (K/M/G; 0: total / number of media)" },
	{ "order", OPT_STR, MB_VERB_BACKUP, OFF(order), "desc|asc|logical", "desc", 0, 0,
	  "several media: the order items are placed in" },
	{ "device-timeout", OPT_LONG, MB_VERB_BACKUP, OFF(device_timeout), "SECONDS", "300", 0, 86400,
	  "several media: a device stalled this long has failed (0: never)" },
	{ "catalog", OPT_STR, V_ALL, OFF(catalog), "PATH", MB_DEFAULT_CATALOG, 0, 0,
	  "catalog database (the lock is PATH.lock)" },
	{ "freeze-timeout", OPT_LONG, V_BACKUP, OFF(freeze_timeout), "SECONDS", "10", 1, 3600,
	  "the guard thaws by itself after this long" },
	{ "sync-timeout", OPT_LONG, V_BACKUP, OFF(sync_timeout), "SECONDS", "600", 1, 86400,
	  "how long to wait for a mirror still resyncing before refusing it" },
	{ "keep-split", OPT_BOOL, MB_VERB_BACKUP, OFF(keep_split), NULL, NULL, 0, 0,
	  "keep the split leg after streaming" },
	{ "force", OPT_BOOL, MB_VERB_BACKUP | MB_VERB_RESTORE, OFF(force), NULL, NULL, 0, 0,
	  "overwrite an existing image file / restore into a non-empty directory" },
	{ "from", OPT_LIST, MB_VERB_LS | MB_VERB_VERIFY | MB_VERB_RESTORE, OFF(froms), "IMAGE", NULL, 0, 0,
	  "image to read (a path, or - for stdin); repeat for the images of a set" },
	{ "to", OPT_STR, MB_VERB_RESTORE, OFF(to), "DIR", NULL, 0, 0,
	  "directory to restore into" },
	{ "file", OPT_LIST, MB_VERB_RESTORE, OFF(files), "PATH", NULL, 0, 0,
	  "restore only this file (seeks straight to it); repeatable" },
	{ "block-size", OPT_LONG, V_BACKUP, OFF(block_size), "BYTES", NULL, 1, 64L << 20,
	  "tape: fixed record size (default 262144)" },
	{ "append", OPT_BOOL, V_BACKUP, OFF(append), NULL, NULL, 0, 0,
	  "tape: write after the last image instead of at the beginning" },
	{ "overwrite", OPT_BOOL, V_BACKUP, OFF(overwrite), NULL, NULL, 0, 0,
	  "tape: write over a tape that already holds data" },
	{ "volume-change", OPT_STR, V_BACKUP | MB_VERB_LS | MB_VERB_VERIFY | MB_VERB_RESTORE,
	  OFF(volume_change), "CMD", NULL, 0, 0,
	  "tape: command (split on spaces) that loads volume $MBACKUP_VOLUME into $MBACKUP_DEVICE" },
	{ "buffer", OPT_STR, V_BACKUP, OFF(buffer), "SIZE", "64M", 0, 0,
	  "tape: RAM ring between the reader and the drive (K, M, G suffixes)" },
	{ "backup", OPT_STR, MB_VERB_LS | MB_VERB_VERIFY | MB_VERB_RESTORE, OFF(backup), "ID", NULL,
	  0, 0, "tape: which image to read (default: the last on the tape)" },
	{ "output", OPT_STR, V_ALL, OFF(output), "text|json", "text", 0, 0,
	  "output format" },
	{ "log-level", OPT_STR, V_ALL, OFF(log_level), "LEVEL", "info", 0, 0,
	  "error, warn, info or debug" },
	{ "log-file", OPT_STR, V_ALL, OFF(log_file), "PATH", NULL, 0, 0,
	  "also append the log to this file" },
	{ "config", OPT_STR, V_ALL, OFF(config), "FILE", NULL, 0, 0,
	  "read options from FILE (lines: name = value)" },
	{ "help", OPT_BOOL, V_ALL, OFF(help), NULL, NULL, 0, 0, "show this help" },
	{ "version", OPT_BOOL, V_ALL, OFF(version), NULL, NULL, 0, 0, "show the version" },
};
#define N_OPTS (sizeof(opt_table) / sizeof(opt_table[0]))

static const struct { const char *name; enum mb_verb verb; const char *summary; } verbs[] = {
	{ "backup", MB_VERB_BACKUP, "take a backup (the default verb)" },
	{ "check", MB_VERB_CHECK, "run every preflight check, change nothing" },
	{ "ls", MB_VERB_LS, "list an image's index" },
	{ "verify", MB_VERB_VERIFY, "check an image's structure and checksums" },
	{ "restore", MB_VERB_RESTORE, "restore an image, or single files from it" },
	{ "list", MB_VERB_LIST, "list the runs in the catalog" },
	{ "recover", MB_VERB_RECOVER, "undo what a dead run left behind" },
};
#define N_VERBS (sizeof(verbs) / sizeof(verbs[0]))

static const struct opt_def *find_opt(const char *name, size_t len)
{
	for (size_t i = 0; i < N_OPTS; i++)
		if (strlen(opt_table[i].name) == len && strncmp(opt_table[i].name, name, len) == 0)
			return &opt_table[i];
	return NULL;
}

static void list_clear(struct mb_strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static int list_add(struct mb_strlist *l, const char *s)
{
	char **v = realloc(l->v, (l->n + 1) * sizeof(char *));

	if (!v)
		return -1;
	l->v = v;
	if (!(l->v[l->n] = strdup(s)))
		return -1;
	l->n++;
	return 0;
}

/* Sets one option from text.  from_cli: lists given on the command line
 * replace the config file's list instead of adding to it. */
static int set_opt(struct mb_options *o, const struct opt_def *d, const char *val,
		   const char *where, unsigned *cli_lists, struct mb_error *e)
{
	void *field = (char *)o + d->offset;
	char *end;
	long n;

	switch (d->kind) {
	case OPT_STR:
		free(*(char **)field);
		*(char **)field = strdup(val);
		return 0;
	case OPT_BOOL:
		*(bool *)field = !val || strcmp(val, "true") == 0 || strcmp(val, "yes") == 0 ||
				 strcmp(val, "1") == 0;
		return 0;
	case OPT_LONG:
	case OPT_SIZE:
		errno = 0;
		n = strtol(val, &end, 10);
		if (d->kind == OPT_SIZE && n > 0 && strchr("KkMmGg", *end) && *end) {
			int shift = (*end | 0x20) == 'k' ? 10 : (*end | 0x20) == 'm' ? 20 : 30;

			n = n > (LONG_MAX >> shift) ? LONG_MAX : n << shift;
			end++;
		}
		if (errno || end == val || *end || n < d->min || n > d->max) {
			mb_fail(e, MB_ERR_USAGE, 0, "invalid value '%s' for --%s%s: expected %ld..%ld",
				val, d->name, where, d->min, d->max);
			return -1;
		}
		*(long *)field = n;
		return 0;
	case OPT_LIST:
		if (cli_lists && !(*cli_lists & (1u << (d - opt_table)))) {
			list_clear(field);
			*cli_lists |= 1u << (d - opt_table);
		}
		return list_add(field, val) < 0 ? mb_fail(e, MB_ERR_GENERAL, ENOMEM, "out of memory") : 0;
	}
	return 0;
}

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

static int parse_config_file(struct mb_options *o, const char *path, struct mb_error *e)
{
	FILE *f = fopen(path, "re");
	char *line = NULL, where[4200];
	size_t cap = 0;
	int lineno = 0, rc = 0;

	if (!f)
		return mb_fail(e, MB_ERR_CONFIG, errno, "unable to read config file '%s'", path);
	while (rc == 0 && getline(&line, &cap, f) > 0) {
		char *s = trim(line), *eq, *name;
		const struct opt_def *d;

		lineno++;
		if (!*s || *s == '#')
			continue;
		eq = strchr(s, '=');
		snprintf(where, sizeof(where), " at '%s' line %d", path, lineno);
		if (eq)
			*eq = '\0';
		name = trim(s);
		d = find_opt(name, strlen(name));
		if (!d || d->offset == OFF(config) || d->offset == OFF(help)) {
			rc = mb_fail(e, MB_ERR_CONFIG, 0, "unknown option '%s'%s", name, where);
			continue;
		}
		if (!eq && d->kind != OPT_BOOL) {
			rc = mb_fail(e, MB_ERR_CONFIG, 0, "option '%s' needs a value%s", name, where);
			continue;
		}
		rc = set_opt(o, d, eq ? trim(eq + 1) : NULL, where, NULL, e);
	}
	free(line);
	fclose(f);
	return rc;
}

static void set_defaults(struct mb_options *o)
{
	for (size_t i = 0; i < N_OPTS; i++)
		if (opt_table[i].deflt)
			set_opt(o, &opt_table[i], opt_table[i].deflt, "", NULL, NULL);
}

/* Finds the verb (first argument if it names one) and the --config file. */
static int pre_scan(struct mb_options *o, int argc, char **argv, int *first,
		    struct mb_error *e)
{
	o->verb = MB_VERB_BACKUP;
	o->verb_name = "backup";
	*first = 1;
	if (argc > 1 && argv[1][0] != '-') {
		size_t i;

		for (i = 0; i < N_VERBS && strcmp(verbs[i].name, argv[1]) != 0; i++)
			;
		if (i == N_VERBS) {
			mb_fail(e, MB_ERR_USAGE, 0, "unknown command '%s'", argv[1]);
			mb_hint(e, "commands: backup check ls verify restore list recover; see mbackup --help");
			return -1;
		}
		o->verb = verbs[i].verb;
		o->verb_name = verbs[i].name;
		*first = 2;
	}
	for (int i = *first; i < argc; i++) {
		if (strncmp(argv[i], "--config=", 9) == 0)
			return parse_config_file(o, argv[i] + 9, e);
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			return parse_config_file(o, argv[i + 1], e);
	}
	return 0;
}

static int usage_error(struct mb_error *e, const char *fmt, const char *arg,
		       const char *verb)
{
	mb_fail(e, MB_ERR_USAGE, 0, fmt, arg, verb);
	mb_hint(e, "see mbackup %s --help", verb);
	return -1;
}

/* "64M" -> bytes. */
static int parse_size(const char *v, uint64_t *out)
{
	char *end;
	unsigned long long n;

	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno || end == v)
		return -1;
	if (*end == 'K' || *end == 'k')
		n <<= 10, end++;
	else if (*end == 'M' || *end == 'm')
		n <<= 20, end++;
	else if (*end == 'G' || *end == 'g')
		n <<= 30, end++;
	if (*end || n > (16ULL << 30))
		return -1;
	*out = n;
	return 0;
}

/* Hands the tape options to the tape driver (sink and reader). */
static int apply_tape(struct mb_options *o, struct mb_error *e)
{
	struct mb_tape_params p = {
		.block_size = (uint32_t)o->block_size, .append = o->append,
		.overwrite = o->overwrite, .volume_change = o->volume_change,
		.backup = o->backup,
	};

	if (o->append && o->overwrite)
		return usage_error(e, "options '%s' and --overwrite exclude each other (for '%s')",
				   "--append", o->verb_name);
	if (o->buffer && parse_size(o->buffer, &p.buffer) < 0)
		return usage_error(e, "invalid --buffer '%s' (a size such as 64M) for '%s'",
				   o->buffer, o->verb_name);
	mb_tape_set_params(&p);
	return 0;
}

int mb_options_parse(struct mb_options *o, int argc, char **argv, struct mb_error *e)
{
	unsigned cli_lists = 0;
	int i;

	memset(o, 0, sizeof(*o));
	set_defaults(o);
	if (pre_scan(o, argc, argv, &i, e) < 0)
		return -1;
	for (; i < argc; i++) {
		const char *a = argv[i], *eq, *val = NULL;
		const struct opt_def *d;

		if (strcmp(a, "-h") == 0)
			a = "--help";
		if (strncmp(a, "--", 2) != 0)
			return usage_error(e, "unexpected argument '%s' for '%s'", a, o->verb_name);
		eq = strchr(a + 2, '=');
		d = find_opt(a + 2, eq ? (size_t)(eq - a - 2) : strlen(a + 2));
		if (!d)
			return usage_error(e, "unknown option '%s' for '%s'", a, o->verb_name);
		if (!(d->verbs & o->verb))
			return usage_error(e, "option '%s' does not apply to '%s'", a, o->verb_name);
		if (d->kind == OPT_BOOL && eq)
			return usage_error(e, "option '%s' takes no value (for '%s')", a, o->verb_name);
		if (d->kind != OPT_BOOL) {
			val = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
			if (!val)
				return usage_error(e, "option '%s' needs a value (for '%s')", a, o->verb_name);
		}
		if (set_opt(o, d, val, "", &cli_lists, e) < 0)
			return -1;
	}
	o->from = o->froms.n ? o->froms.v[0] : NULL;
	return apply_tape(o, e);
}

void mb_options_free(struct mb_options *o)
{
	for (size_t i = 0; i < N_OPTS; i++) {
		void *field = (char *)o + opt_table[i].offset;

		if (opt_table[i].kind == OPT_STR)
			free(*(char **)field);
		else if (opt_table[i].kind == OPT_LIST)
			list_clear(field);
	}
}

void mb_options_usage(const struct mb_options *o)
{
	bool all = !o || o->verb == MB_VERB_BACKUP;

	printf("usage: mbackup [COMMAND] [OPTIONS]\n\ncommands:\n");
	for (size_t i = 0; i < N_VERBS; i++)
		printf("  %-9s %s\n", verbs[i].name, verbs[i].summary);
	printf("\noptions%s%s:\n", all ? "" : " of ", all ? "" : o->verb_name);
	for (size_t i = 0; i < N_OPTS; i++) {
		const struct opt_def *d = &opt_table[i];
		char left[64];

		if (!all && !(d->verbs & o->verb))
			continue;
		snprintf(left, sizeof(left), "--%s%s%s", d->name, d->arg ? " " : "", d->arg ? d->arg : "");
		printf("  %-28s %s", left, d->help);
		if (d->deflt)
			printf(" (default %s)", d->deflt);
		printf("\n");
	}
	printf("\nexamples:\n"
	       "  mbackup --db postgres --mirror loop:/dev/loop3 --media file:/backup/pg.mbi\n"
	       "  mbackup --db none --mirror loop:/dev/loop3 --source /srv/data --media file:/backup/data.mbi\n"
	       "  mbackup restore --from /backup/data.mbi --to /restore --file some/file\n");
}

char *mb_options_json(const struct mb_options *o)
{
	json_t *j = json_object();
	char *text;

	json_object_set_new(j, "verb", json_string(o->verb_name));
	for (size_t i = 0; i < N_OPTS; i++) {
		const struct opt_def *d = &opt_table[i];
		const void *field = (const char *)o + d->offset;
		json_t *v = NULL;

		if (d->offset == OFF(help) || d->offset == OFF(version))
			continue;
		if (d->offset == OFF(pg_conn) && o->pg_conn) {
			char safe[1024];

			/* the stored configuration never holds a password */
			mb_pg_conninfo_redact(o->pg_conn, safe, sizeof(safe));
			v = json_string(safe);
		} else if (d->kind == OPT_STR && *(char *const *)field)
			v = json_string(*(char *const *)field);
		else if (d->kind == OPT_LONG || d->kind == OPT_SIZE)
			v = json_integer(*(const long *)field);
		else if (d->kind == OPT_BOOL)
			v = json_boolean(*(const bool *)field);
		else if (d->kind == OPT_LIST) {
			const struct mb_strlist *l = field;

			v = json_array();
			for (size_t k = 0; k < l->n; k++)
				json_array_append_new(v, json_string(l->v[k]));
		}
		if (v)
			json_object_set_new(j, d->name, v);
	}
	text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(j);
	return text;
}

const char *mb_options_text(const struct mb_options *o, const char *name)
{
	const struct opt_def *d = find_opt(name, strlen(name));

	if (!d || d->kind != OPT_STR)
		return NULL;
	return *(char *const *)((const char *)o + d->offset);
}
