/*
 * The option table and the setter shared by the command line (options.c)
 * and the config file (options_file.c).  Not for other modules.
 */
#ifndef MB_OPTIONS_INTERNAL_H
#define MB_OPTIONS_INTERNAL_H

#include "orchestrator/options.h"

enum opt_kind { OPT_STR, OPT_LONG, OPT_SIZE, OPT_BOOL, OPT_LIST };

struct opt_def {
	const char *name;
	enum opt_kind kind;
	unsigned verbs;		/* enum mb_verb bits it applies to */
	size_t offset;
	const char *arg;	/* placeholder in --help */
	const char *deflt;	/* as text, NULL for none */
	long min, max;
	const char *help;
};

#define OFF(field) offsetof(struct mb_options, field)

extern const struct opt_def mb_opt_table[];
extern const size_t mb_opt_count;

/* The i-th command of verbs[] (its bit and one-line summary through the
 * pointers, when not NULL); NULL past the end. */
const char *mb_verb_at(size_t i, unsigned *bit, const char **summary);
/* The option (of verb) or command nearest to a mistyped name, at most two
 * edits away, or NULL (suggest.c). */
const char *mb_opt_suggest(const char *name, size_t len, unsigned verb);
const char *mb_verb_suggest(const char *name);
/* The option called name[0..len), or NULL. */
const struct opt_def *mb_opt_find(const char *name, size_t len);
/* "backup, check": the verbs of a mask, into buf. */
const char *mb_opt_verbs(unsigned verbs, char *buf, size_t cap);
/* Sets one option from text (NULL: a boolean given bare); a bad value is
 * refused with code (MB_ERR_USAGE on the command line, MB_ERR_CONFIG in
 * a file).  cli_lists: on the command line, one flag per row of the table:
 * the lists already given there (the first replaces the config file's list); NULL: add. */
int mb_opt_set(struct mb_options *o, const struct opt_def *d, const char *val, int code,
	       bool *cli_lists, struct mb_error *e);
/* Reads the config file path into o (before the command line). */
int mb_options_read_file(struct mb_options *o, const char *path, struct mb_error *e);

#endif
