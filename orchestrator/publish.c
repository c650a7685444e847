/* Images under their final names, rolled back until the run is
 * complete; see publish.h. */
#include "orchestrator/publish.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"

int mb_publish_take(struct mb_obligations *o, const char *driver, const char *partial,
		    const char *final, struct mb_error *e)
{
	struct stat st;
	char *arg;
	int handle, rc;

	if (stat(partial, &st) < 0)
		return mb_fail(e, MB_ERR_MEDIA, errno, "unable to stat '%s'", partial);
	if (asprintf(&arg, "%" PRIu64 " %s", (uint64_t)st.st_ino, final) < 0)
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to record the image '%s'", final);
	rc = mb_obl_take(o, "publish", driver, arg, mb_publish_undo, &handle, e);
	free(arg);
	return rc;
}

int mb_publish_sync_dir(const char *path, struct mb_error *e)
{
	char *copy = strdup(path);
	const char *dir = copy ? dirname(copy) : NULL;
	int fd = dir ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1, rc = 0;

	if (!copy)
		rc = mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to flush the directory of '%s'", path);
	else if (fd < 0 || fsync(fd) < 0)
		rc = mb_fail(e, MB_ERR_MEDIA, errno, "unable to flush directory '%s'", dir);
	if (fd >= 0)
		close(fd);
	free(copy);
	return rc;
}

void mb_publish_done(struct mb_obligations *o)
{
	for (int i = 0; i < o->n; i++) {
		struct mb_error e = { 0 };

		if (!o->v[i].open || strcmp(o->v[i].kind, "publish") != 0)
			continue;
		if (mb_obl_done(o, i, &e) < 0)
			mb_warn("unable to release the image '%s' in the catalog: %s "
				"(the run is complete: recover leaves it)", o->v[i].arg, e.msg);
	}
}

int mb_publish_undo(const char *arg, const struct mb_undo_ctx *ctx, struct mb_error *e)
{
	char *end;
	uint64_t ino;
	struct stat st;

	errno = 0;
	ino = strtoull(arg, &end, 10);
	if (errno || end == arg || *end != ' ' || !end[1])
		return mb_fail(e, MB_ERR_INTERNAL, 0, "invalid image obligation '%s'", arg);
	end++;
	if (stat(end, &st) < 0) {
		if (errno == ENOENT)
			return 0;	/* never renamed, or already removed */
		return mb_fail(e, MB_ERR_MEDIA, errno, "unable to stat '%s'", end);
	}
	if ((uint64_t)st.st_ino != ino) {
		mb_info("leaving '%s': it is not the image of the failed run", end);
		return 0;
	}
	if (unlink(end) < 0 && errno != ENOENT)
		return mb_fail(e, MB_ERR_MEDIA, errno, "unable to remove '%s'", end);
	mb_info("removed the image '%s' of a run that did not complete", end);
	return 0;
}
