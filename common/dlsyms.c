/* A library's functions into a table, loaded on first use; see dlsyms.h. */
#include "common/dlsyms.h"

#include <dlfcn.h>
#include <stdio.h>

int mb_dl_table(const char *soname, const struct mb_dl_sym *syms, size_t n, void *table,
		char *why, size_t len)
{
	void *h = dlopen(soname, RTLD_NOW | RTLD_LOCAL);

	if (!h) {
		snprintf(why, len, "%s", dlerror());
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		void *f = dlsym(h, syms[i].name);

		if (!f) {
			snprintf(why, len, "%s: no %s", soname, syms[i].name);
			return -1;
		}
		*(void **)((char *)table + syms[i].at) = f;
	}
	return 0;
}
