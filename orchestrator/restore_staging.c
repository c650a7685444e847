/* A restore's staging directory: files wait there, unchecked, until their
 * checksum is known; see restore_staging.h. */
#include "orchestrator/restore_staging.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

struct mb_staged {
	char *path;		/* final name */
	bool gone;		/* published or discarded */
};

bool mb_staging_name(const char *name)
{
	return strncmp(name, MB_STAGING_PREFIX, strlen(MB_STAGING_PREFIX)) == 0;
}

/* The directory name under at, for reading (NULL with errno). */
static DIR *dir_at(int at, const char *name, int flags)
{
	int fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | flags);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	int err = errno;

	if (!d && fd >= 0) {
		close(fd);
		errno = err;
	}
	return d;
}

/* Empties and removes one leftover: it may hold only regular files (ours);
 * anything else stays, and so does the directory, with an error. */
static int clear_one(int top, const char *name, const char *target, struct mb_error *e)
{
	DIR *d = dir_at(top, name, O_NOFOLLOW);
	struct dirent *de;
	int rc = 0;

	if (!d)
		return mb_fail(e, MB_ERR_TARGET, errno, "unable to clear '%s/%s'", target, name);
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") &&
		    unlinkat(dirfd(d), de->d_name, 0) < 0 && rc == 0)
			rc = mb_fail(e, MB_ERR_TARGET, errno, "unable to clear '%s/%s/%s'",
				     target, name, de->d_name);
	closedir(d);
	if (rc == 0 && unlinkat(top, name, AT_REMOVEDIR) < 0)
		rc = mb_fail(e, MB_ERR_TARGET, errno, "unable to clear '%s/%s'", target, name);
	return rc;
}

static int clear_leftovers(struct mb_staging *s, struct mb_error *e)
{
	DIR *d = dir_at(s->top, ".", 0);
	struct dirent *de;
	int rc = 0;

	if (!d)
		return mb_fail(e, MB_ERR_TARGET, errno, "unable to open restore target '%s'",
			       s->target);
	while (rc == 0 && (de = readdir(d)))
		if (mb_staging_name(de->d_name)) {
			rc = clear_one(s->top, de->d_name, s->target, e);
			rewinddir(d);	/* the directory changed under readdir */
		}
	closedir(d);
	return rc;
}

int mb_staging_init(struct mb_staging *s, int top, const char *target, bool clear,
		    struct mb_error *e)
{
	memset(s, 0, sizeof(*s));
	s->top = top;
	s->target = target;
	s->dirfd = -1;
	return clear ? clear_leftovers(s, e) : 0;
}

/* The staging directory, made at the first file: a fresh random name. */
static int make_dir(struct mb_staging *s, struct mb_error *e)
{
	static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

	for (int tries = 0; tries < 100; tries++) {
		unsigned char r[6];
		size_t off = strlen(MB_STAGING_PREFIX);

		if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
			return mb_fail(e, MB_ERR_GENERAL, errno, "unable to name a staging "
				       "directory in '%s'", s->target);
		memcpy(s->name, MB_STAGING_PREFIX, off);
		for (size_t i = 0; i < sizeof(r); i++)
			s->name[off + i] = abc[r[i] % (sizeof(abc) - 1)];
		s->name[off + sizeof(r)] = '\0';
		if (mkdirat(s->top, s->name, 0700) == 0) {
			s->dirfd = openat(s->top, s->name, O_PATH | O_DIRECTORY | O_NOFOLLOW |
					  O_CLOEXEC);
			if (s->dirfd >= 0)
				return 0;
			break;
		}
		if (errno != EEXIST)
			break;
	}
	return mb_fail(e, MB_ERR_TARGET, errno, "unable to create '%s/%s'", s->target,
		       s->name);
}

static void staged_name(size_t id, char out[24])
{
	snprintf(out, 24, "%zu", id);
}

int mb_staging_create(struct mb_staging *s, const char *path, int *fd, size_t *id,
		      struct mb_error *e)
{
	char name[24];

	*fd = -1;
	if (s->dirfd < 0 && make_dir(s, e) < 0)
		return -1;
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 256;
		struct mb_staged *v = realloc(s->v, cap * sizeof(*v));

		if (!v)
			return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to create '%s'", path);
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n] = (struct mb_staged){ strdup(path), false };
	if (!s->v[s->n].path)
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to create '%s'", path);
	staged_name(s->n, name);
	*fd = openat(s->dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		     0600);
	if (*fd < 0) {
		free(s->v[s->n].path);
		return mb_fail(e, MB_ERR_TARGET, errno, "unable to create '%s' (in '%s/%s')",
			       path, s->target, s->name);
	}
	*id = s->n++;
	return 0;
}

const char *mb_staging_path(const struct mb_staging *s, size_t id)
{
	return id < s->n ? s->v[id].path : NULL;
}

/* Without replace: renameat2's RENAME_NOREPLACE, or where the filesystem
 * lacks it, link + unlink (link never replaces either). */
static int rename_new(int from, const char *name, int pfd, const char *leaf)
{
	if (renameat2(from, name, pfd, leaf, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	if (linkat(from, name, pfd, leaf, 0) < 0)
		return -1;
	unlinkat(from, name, 0);
	return 0;
}

int mb_staging_publish(struct mb_staging *s, size_t id, int pfd, const char *leaf,
		       bool replace, struct mb_error *e)
{
	char name[24];
	int rc;

	if (id >= s->n || s->v[id].gone)
		return mb_fail(e, MB_ERR_INTERNAL, 0, "publish of a file not staged");
	staged_name(id, name);
	rc = replace ? renameat(s->dirfd, name, pfd, leaf) : rename_new(s->dirfd, name, pfd, leaf);
	if (rc < 0)
		return mb_fail(e, MB_ERR_TARGET, errno, "unable to create '%s'", s->v[id].path);
	s->v[id].gone = true;
	return 0;
}

void mb_staging_discard(struct mb_staging *s, size_t id)
{
	char name[24];

	if (id >= s->n || s->v[id].gone)
		return;
	staged_name(id, name);
	unlinkat(s->dirfd, name, 0);
	s->v[id].gone = true;
}

int mb_staging_close(struct mb_staging *s, struct mb_error *e)
{
	int rc = 0;

	for (size_t i = 0; i < s->n; i++) {
		mb_staging_discard(s, i);
		free(s->v[i].path);
	}
	free(s->v);
	if (s->dirfd >= 0) {
		close(s->dirfd);
		if (unlinkat(s->top, s->name, AT_REMOVEDIR) < 0)
			rc = mb_fail(e, MB_ERR_TARGET, errno, "unable to remove '%s/%s'",
				     s->target, s->name);
	}
	memset(s, 0, sizeof(*s));
	s->dirfd = -1;
	return rc;
}
