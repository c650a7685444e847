/*
 * A fact about a backup, as a plugin reports it and the catalog stores
 * it: a key ("stop_lsn") and its value as text ("0/5000100").  The
 * catalog knows no key; the plugin that reported them reads them back
 * (a restore to a point in time asks it where the backup lies).
 */
#ifndef MB_FACT_H
#define MB_FACT_H

#include <stddef.h>
#include <string.h>

#define MB_FACTS_MAX 16

struct mb_fact {
	char key[32];
	char value[112];
};

/* The value of key among v[0..n), or NULL. */
static inline const char *mb_fact_get(const struct mb_fact *v, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].key, key) == 0)
			return v[i].value;
	return NULL;
}

#endif
