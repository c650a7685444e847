/*
 * mkman: the man pages, from the one option table.  Reads a roff template
 * (doc/mbackup.8.in, doc/mbackup.conf.5.in) and writes it to stdout with
 * each line that is a placeholder replaced by what the parser knows:
 *
 *   @COMMANDS@    every verb of verbs[] with its summary and its options
 *   @OPTIONS@     every option: argument, help, default, range, config key
 *   @CONFIG_KEYS@ every option as a config-file line (mbackup.conf(5))
 *   @DRIVERS@     the mirror and media drivers of the registries
 *   @EXIT_CODES@  every code of common/error.h, with mb_code_text's line
 *
 * and @VERSION@ anywhere replaced by argv[2].  Built and run by the
 * Makefile, so the pages cannot drift from the parser.
 *   build/mkman TEMPLATE VERSION >PAGE
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "orchestrator/help.h"
#include "orchestrator/options_internal.h"


/* Text for roff: '\' and '-' escaped, a leading '.' or '\'' made text. */
static void esc(const char *s)
{
	if (*s == '.' || *s == '\'')
		fputs("\\&", stdout);
	for (; *s; s++)
		if (*s == '\\')
			fputs("\\e", stdout);
		else if (*s == '-')
			fputs("\\-", stdout);
		else
			putchar(*s);
}

static void opt_head(const struct opt_def *d, const char *prefix, const char *sep)
{
	printf(".TP\n\\fB%s", prefix);
	esc(d->name);
	fputs("\\fR", stdout);
	if (d->kind != OPT_BOOL) {
		printf("%s\\fI", sep);
		esc(d->arg ? d->arg : "VALUE");
		fputs("\\fR", stdout);
	} else if (*sep == ' ' && sep[1] == '=') {
		fputs(" = \\fItrue\\fR|\\fIfalse\\fR", stdout);
	}
	putchar('\n');
}

/* Default, range, where it applies, how a list is given. */
static void opt_facts(const struct opt_def *d, const char *key_word)
{
	char verbs[256];

	fputs(".br\n", stdout);
	if (d->deflt) {
		fputs("Default: ", stdout);
		esc(d->deflt);
		fputs(". ", stdout);
	}
	if (d->kind == OPT_LONG || d->kind == OPT_SIZE)
		printf("Range: %ld..%ld%s. ", d->min, d->max,
		       d->kind == OPT_SIZE ? " (K, M, G suffixes)" : "");
	if (d->kind == OPT_LIST)
		printf("Repeatable; in a config file, one line with the values separated by spaces. ");
	if (d->kind == OPT_BOOL)
		printf("A flag; in a config file true, yes, 1, false, no or 0 (the bare name is true). ");
	printf("%s", key_word);
	esc(d->name);
	printf("\\fR. Commands: ");
	esc(mb_opt_verbs(d->verbs, verbs, sizeof(verbs)));
	puts(".");
}

static void options(void)
{
	for (size_t i = 0; i < mb_opt_count; i++) {
		opt_head(&mb_opt_table[i], "\\-\\-", " ");
		esc(mb_opt_table[i].help);
		putchar('\n');
		opt_facts(&mb_opt_table[i], "Config file key: \\fB");
	}
}

static void config_keys(void)
{
	for (size_t i = 0; i < mb_opt_count; i++) {
		const struct opt_def *d = &mb_opt_table[i];

		if (d->offset == OFF(help) || d->offset == OFF(version) || d->offset == OFF(config))
			continue;
		opt_head(d, "", " = ");
		esc(d->help);
		putchar('\n');
		opt_facts(d, "Command line: \\fB\\-\\-");
	}
}

/* Each verb: its summary, then the options it takes. */
static void commands(void)
{
	const char *name, *summary;
	unsigned bit;

	for (size_t i = 0; (name = mb_verb_at(i, &bit, &summary)); i++) {
		size_t n = 0;

		printf(".TP\n\\fB");
		esc(name);
		printf("\\fR\n");
		esc(summary);
		printf(".\n.br\nOptions:");
		for (size_t k = 0; k < mb_opt_count; k++)
			if (mb_opt_table[k].verbs & bit) {
				printf("%s\n\\fB\\-\\-", n++ ? "," : "");
				esc(mb_opt_table[k].name);
				fputs("\\fR", stdout);
			}
		puts(".");
	}
}

static void drivers(void)
{
	struct mb_driver_doc d;

	for (size_t i = 0; mb_driver_doc_at(i, &d); i++) {
		printf(".TP\n\\fB\\-\\-%s ", d.kind);
		if (d.forms)
			esc(d.forms);
		else
			printf("%s:\\fIARG\\fR", d.name);
		printf("\\fR (%s)\n", d.name);
		esc(d.what[0] ? d.what : "see the driver's source");
		puts(".");
	}
}

static void exit_codes(void)
{
	for (int c = 0; c < MB_CODE_MAX; c++) {
		printf(".TP\n.B %d\n", c);
		esc(mb_code_text(c));
		printf(" (\\fI%s\\fR).\n", mb_code_name(c));
	}
}

static const struct { const char *mark; void (*emit)(void); } marks[] = {
	{ "@COMMANDS@", commands }, { "@OPTIONS@", options },
	{ "@CONFIG_KEYS@", config_keys }, { "@DRIVERS@", drivers },
	{ "@EXIT_CODES@", exit_codes },
};

/* One template line: a placeholder, or text with @VERSION@ replaced. */
static void line(char *l, const char *version)
{
	char *v;

	l[strcspn(l, "\n")] = '\0';
	for (size_t i = 0; i < sizeof(marks) / sizeof(marks[0]); i++)
		if (strcmp(l, marks[i].mark) == 0) {
			marks[i].emit();
			return;
		}
	while ((v = strstr(l, "@VERSION@"))) {
		*v = '\0';
		fputs(l, stdout);
		fputs(version, stdout);
		l = v + 9;
	}
	puts(l);
}

int main(int argc, char **argv)
{
	char *l = NULL;
	size_t cap = 0;
	FILE *in;

	if (argc != 3) {
		fprintf(stderr, "usage: mkman TEMPLATE VERSION >PAGE\n");
		return 2;
	}
	if (!(in = fopen(argv[1], "re"))) {
		perror(argv[1]);
		return 1;
	}
	while (getline(&l, &cap, in) >= 0)
		line(l, argv[2]);
	free(l);
	fclose(in);
	return fflush(stdout) == 0 && !ferror(stdout) ? 0 : 1;
}
