/* The walk of the live source tree; see extentmap.h. */
#include "extentmap/extentmap.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/log.h"
#include "extentmap/internal.h"

int mb_em_open_beneath(int dirfd, const char *path, int flags)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC | O_NOFOLLOW),
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
			   RESOLVE_NO_MAGICLINKS,
	};
	long fd = syscall(SYS_openat2, dirfd, path, &how, sizeof(how));

	/* Kernels before 5.6: only the last component is checked. */
	if (fd < 0 && errno == ENOSYS)
		fd = openat(dirfd, path, flags | O_CLOEXEC | O_NOFOLLOW);
	return (int)fd;
}

char mb_em_type_of(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG: return MB_T_FILE;
	case S_IFDIR: return MB_T_DIR;
	case S_IFLNK: return MB_T_SYMLINK;
	case S_IFIFO: return MB_T_FIFO;
	case S_IFCHR: return MB_T_CHR;
	case S_IFBLK: return MB_T_BLK;
	default: return 0;
	}
}

int mb_em_set_stat(struct mb_entry *ent, const struct stat *st, struct mb_error *e)
{
	uint64_t rdev = S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode) ? st->st_rdev : 0;

	ent->ino = st->st_ino;
	ent->size = S_ISREG(st->st_mode) ? (uint64_t)st->st_size : 0;
	ent->mode = st->st_mode;
	ent->uid = st->st_uid;
	ent->gid = st->st_gid;
	ent->mtime_sec = st->st_mtim.tv_sec;
	ent->mtime_nsec = (uint32_t)st->st_mtim.tv_nsec;
	ent->ctime_sec = st->st_ctim.tv_sec;
	ent->ctime_nsec = (uint32_t)st->st_ctim.tv_nsec;
	ent->nlink = (uint32_t)st->st_nlink;
	if (mb_entry_set_rdev(ent, rdev) < 0)
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to add '%s'", ent->path);
	return 0;
}

bool mb_em_stat_moved(const struct mb_entry *ent, const struct stat *st)
{
	uint64_t size = S_ISREG(st->st_mode) ? (uint64_t)st->st_size : 0;

	return ent->ino != st->st_ino || ent->size != size ||
	       ent->mtime_sec != st->st_mtim.tv_sec ||
	       ent->mtime_nsec != (uint32_t)st->st_mtim.tv_nsec ||
	       ent->ctime_sec != st->st_ctim.tv_sec ||
	       ent->ctime_nsec != (uint32_t)st->st_ctim.tv_nsec;
}

int mb_em_read_link(struct mb_entry *ent, int dirfd, const char *name,
		    struct mb_error *e)
{
	char buf[PATH_MAX];
	ssize_t len = readlinkat(dirfd, name, buf, sizeof(buf));
	char *target;

	if (len < 0)
		return mb_fail(e, MB_ERR_SOURCE, errno,
			       "unable to read link '%s'", ent->path);
	if ((size_t)len == sizeof(buf))
		return mb_fail(e, MB_ERR_SOURCE, ENAMETOOLONG,
			       "unable to read link '%s'", ent->path);
	target = strndup(buf, (size_t)len);
	if (!target || mb_entry_set_link(ent, target) < 0)
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM,
			       "unable to read link '%s'", ent->path);
	return 0;
}

struct names {
	char **v;
	size_t n, cap;
};

static void names_free(struct names *nm)
{
	for (size_t i = 0; i < nm->n; i++)
		free(nm->v[i]);
	free(nm->v);
}

static int name_cmp(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

/* Reads and sorts (bytewise) the names of a directory. */
static int read_names(int dirfd, const char *prefix, struct names *nm,
		      struct mb_error *e)
{
	int fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;
	int ret = -1;

	if (!d) {
		mb_fail(e, MB_ERR_SOURCE, errno, "unable to list '%s'",
			*prefix ? prefix : ".");
		goto out;
	}
	rewinddir(d);
	while ((errno = 0, de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (nm->n == nm->cap) {
			size_t cap = nm->cap ? nm->cap * 2 : 64;
			char **v = realloc(nm->v, cap * sizeof(*v));

			if (!v)
				goto oom;
			nm->v = v;
			nm->cap = cap;
		}
		if (!(nm->v[nm->n] = strdup(de->d_name)))
			goto oom;
		nm->n++;
	}
	if (errno) {
		mb_fail(e, MB_ERR_SOURCE, errno, "unable to list '%s'",
			*prefix ? prefix : ".");
		goto out;
	}
	if (nm->n > 1)	/* qsort(NULL, 0, ...) is undefined: an empty directory */
		qsort(nm->v, nm->n, sizeof(*nm->v), name_cmp);
	ret = 0;
	goto out;
oom:
	mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to list '%s'",
		*prefix ? prefix : ".");
out:
	if (d)
		closedir(d);
	else if (fd >= 0)
		close(fd);
	return ret;
}

static char *join(const char *prefix, const char *name)
{
	char *p;

	if (!*prefix)
		return strdup(name);
	return asprintf(&p, "%s/%s", prefix, name) < 0 ? NULL : p;
}

static int add_entry(struct mb_set *set, int dirfd, const char *name,
		     char *path, const struct stat *st, struct mb_error *e)
{
	struct mb_entry *ent = mb_set_add(set);

	if (!ent || !(ent->path = mb_set_name(set, path, strlen(path)))) {
		free(path);
		if (ent)
			set->n--;
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to add '%s'",
			       name);
	}
	free(path);	/* (packed among the set's names) */
	ent->path_pooled = true;
	ent->type = mb_em_type_of(st->st_mode);
	if (mb_em_set_stat(ent, st, e) < 0)
		return -1;
	ent->seg_length = ent->size;
	if (ent->type == MB_T_SYMLINK)
		return mb_em_read_link(ent, dirfd, name, e);
	return 0;
}

/* Adds one name of the directory; walks it when it is a directory.
 * A name that vanished since it was listed is skipped. */
static int list_one(struct mb_set *set, int dirfd, const char *name,
		    char *path, uint64_t *added, const struct mb_stop *stop,
		    struct mb_error *e)
{
	struct stat st;
	int fd = -1, ret = -1;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			ret = 0;
		else
			mb_fail(e, MB_ERR_SOURCE, errno, "unable to stat '%s'", path);
		goto out;
	}
	if (st.st_dev != set->dev || !mb_em_type_of(st.st_mode)) {
		mb_warn("skipping '%s/%s': %s", set->root, path,
			st.st_dev != set->dev ? "another filesystem is mounted there"
					      : "sockets are not backed up");
		ret = 0;
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 && errno != ENOENT) {
			mb_fail(e, MB_ERR_SOURCE, errno, "unable to open '%s'", path);
			goto out;
		}
		if (fd < 0) {
			ret = 0;
			goto out;
		}
	}
	ret = add_entry(set, dirfd, name, path, &st, e);
	path = NULL;
	(*added)++;
	if (ret == 0 && fd >= 0)
		ret = mb_em_list_dir(set, fd, set->v[set->n - 1].path, NULL,
				     NULL, added, stop, e);
out:
	free(path);
	if (fd >= 0)
		close(fd);
	return ret;
}

int mb_em_stop_at(const struct mb_stop *stop, uint64_t n, struct mb_error *e)
{
	return n % MB_EM_STOP_EVERY == 0 ? mb_stop_check(stop, e) : 0;
}

int mb_em_list_dir(struct mb_set *set, int dirfd, const char *prefix,
		   mb_em_known_fn known, void *known_arg, uint64_t *added,
		   const struct mb_stop *stop, struct mb_error *e)
{
	struct names nm = { 0 };
	char *pre = strdup(prefix);	/* prefix may live in set->v */
	int ret = -1;

	if (!pre) {
		mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to list '%s'", prefix);
		goto out;
	}
	if (read_names(dirfd, pre, &nm, e) < 0)
		goto out;
	for (size_t i = 0; i < nm.n; i++) {
		char *path = join(pre, nm.v[i]);

		if (!path) {
			mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to list '%s'", pre);
			goto out;
		}
		if (known && known(known_arg, path)) {
			free(path);
			continue;
		}
		if (mb_em_stop_at(stop, *added + 1, e) < 0) {
			free(path);
			goto out;
		}
		if (list_one(set, dirfd, nm.v[i], path, added, stop, e) < 0)
			goto out;
	}
	ret = 0;
out:
	names_free(&nm);
	free(pre);
	return ret;
}

int mb_em_open_root(const struct mb_set *set, struct mb_error *e)
{
	struct stat st;
	int fd = open(set->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return mb_fail(e, MB_ERR_SOURCE, errno, "unable to open '%s'",
			       set->root);
	if (fstat(fd, &st) < 0 || st.st_dev != set->dev) {
		mb_fail(e, MB_ERR_SOURCE, 0, "'%s' is no longer the walked filesystem",
			set->root);
		close(fd);
		return -1;
	}
	return fd;
}

int mb_walk(struct mb_set *set, const char *root, const struct mb_stop *stop,
	    struct mb_error *e)
{
	struct stat st;
	uint64_t added = 0;
	int fd = -1, ret = -1;

	mb_set_free(set);
	if (!(set->root = realpath(root, NULL))) {
		mb_fail(e, MB_ERR_SOURCE, errno, "unable to resolve '%s'", root);
		goto out;
	}
	fd = open(set->root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		mb_fail(e, MB_ERR_SOURCE, errno, "unable to open '%s'", root);
		goto out;
	}
	set->dev = st.st_dev;
	if (mb_em_list_dir(set, fd, "", NULL, NULL, &added, stop, e) < 0)
		goto out;
	mb_set_finalize(set);
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	return ret;
}

int mb_em_pass_begin(const struct mb_set *set, struct mb_map_stats **st,
		     struct mb_map_stats *scratch, struct mb_error *e)
{
	if (!*st)
		*st = scratch;
	memset(*st, 0, sizeof(**st));
	return mb_em_open_root(set, e);
}
