/*
 * "did you mean --freeze-timeout?": the option or command nearest to a
 * mistyped one, for the hint of an unknown option or command.
 */
#include "orchestrator/options_internal.h"

#include <string.h>

/* Levenshtein distance of a[0..la) and b, at most 32 characters each
 * (longer: "far"). */
static size_t distance(const char *a, size_t la, const char *b)
{
	size_t lb = strlen(b), row[33];

	if (la > 32 || lb > 32)
		return 99;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];

		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);

			best = up + 1 < best ? up + 1 : best;
			best = row[j - 1] + 1 < best ? row[j - 1] + 1 : best;
			diag = up;
			row[j] = best;
		}
	}
	return row[lb];
}

/* Near enough to be a typo: at most 2 edits, and fewer than half the word. */
static bool near(size_t d, size_t len)
{
	return d <= 2 && d * 2 < len;
}

const char *mb_opt_suggest(const char *name, size_t len, unsigned verb)
{
	const char *best = NULL;
	size_t bd = 99;

	for (size_t i = 0; i < mb_opt_count; i++) {
		size_t d = mb_opt_table[i].verbs & verb ? distance(name, len, mb_opt_table[i].name)
							: 99;

		if (d < bd)
			bd = d, best = mb_opt_table[i].name;
	}
	return near(bd, len) ? best : NULL;
}

const char *mb_verb_suggest(const char *name)
{
	const char *best = NULL, *v;
	size_t bd = 99;

	for (size_t i = 0; (v = mb_verb_at(i, NULL, NULL)); i++) {
		size_t d = distance(name, strlen(name), v);

		if (d < bd)
			bd = d, best = v;
	}
	return near(bd, strlen(name)) ? best : NULL;
}
