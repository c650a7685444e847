/* The mirror driver registry; see mirror.h. */
#include "plugins/mirror/mirror.h"
#include "plugins/mirror/lvm_util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

extern const struct mb_mirror_ops mb_mirror_loop;

static const struct mb_mirror_ops *const mirror_drivers[] = {
	&mb_mirror_loop,
	&mb_mirror_lvm,
	&mb_mirror_lvm_snapshot,	/* picked for lvm: by the LV's type */
};

const struct mb_mirror_ops *mb_mirror_driver(const char *name)
{
	for (size_t i = 0; i < sizeof(mirror_drivers) / sizeof(mirror_drivers[0]); i++)
		if (strcmp(mirror_drivers[i]->name, name) == 0)
			return mirror_drivers[i];
	return NULL;
}

int mb_mirror_open(struct mb_mirror **out, const char *spec, struct mb_error *e)
{
	const char *colon = strchr(spec, ':');
	const struct mb_mirror_ops *ops = NULL;
	struct mb_mirror *m;
	char name[32];

	*out = NULL;
	if (colon && (size_t)(colon - spec) < sizeof(name)) {
		memcpy(name, spec, colon - spec);
		name[colon - spec] = '\0';
		ops = mb_mirror_driver(name);
	}
	/* lvm:VG/LV: the LV's type picks the method. */
	if (ops == &mb_mirror_lvm && mb_lvm_method(colon + 1, &ops, e) < 0)
		return -1;
	if (!ops) {
		mb_fail(e, MB_ERR_USAGE, 0, "unknown mirror '%s'", spec);
		mb_hint(e, "use lvm:VG/LV (an LVM raid1 volume) or loop:/dev/loopN (a loop device on a reflink filesystem)");
		return -1;
	}
	m = calloc(1, sizeof(*m));
	if (!m || !(m->spec = strdup(spec))) {
		free(m);
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to open mirror '%s'", spec);
	}
	m->ops = ops;
	if (ops->open(m, colon + 1, e) < 0) {
		mb_mirror_close(m);
		return -1;
	}
	*out = m;
	return 0;
}

void mb_mirror_close(struct mb_mirror *m)
{
	if (!m)
		return;
	if (m->ops && m->ops->close)
		m->ops->close(m);
	free(m->spec);
	free(m->device);
	free(m->split_path);
	free(m->obligation_arg);
	free(m);
}
