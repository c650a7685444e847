/*
 * The WAL archive in a local directory (wal_store.h, layout in
 * wal_archive.h): each file beside its checksum sidecar REL.xxh128
 * ("<32 hex digits>  NAME\n"), written under a temporary .NAME.PID.tmp,
 * fsynced, the sidecar renamed into place before the file is linked (so a
 * visible name always has its checksum), the directory fsynced.
 */
#include "orchestrator/wal_store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "orchestrator/run.h"
#include "orchestrator/wal_archive.h"

#define PATH_CAP 4200

static void path_of(const struct mb_wal_store *s, const char *rel, char *buf)
{
	mb_wal_store_where(s, rel, buf, PATH_CAP);
}

static int dir_open(struct mb_wal_store *s, struct mb_error *e)
{
	struct stat st;
	int err = stat(s->spec, &st) < 0 ? errno : S_ISDIR(st.st_mode) ? 0 : ENOTDIR;

	if (!err)
		return 0;
	mb_fail(e, MB_ERR_CONFIG, err, "unable to use WAL archive '%s'", s->spec);
	mb_hint(e, "create it, owned by the user PostgreSQL runs as: "
		"install -d -o postgres -m 0750 %s", s->spec);
	return -1;
}

static void dir_close(struct mb_wal_store *s)
{
}

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int fsync_dir(const char *dir, struct mb_error *e)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = 0;

	if (fd < 0 || fsync(fd) < 0)
		rc = mb_fail(e, MB_ERR_IO, errno, "unable to sync directory '%s'", dir);
	if (fd >= 0)
		close(fd);
	return rc;
}

/* The sidecar of path: 0 with sum, 1 when there is none. */
static int sidecar_read(const char *path, char sum[MB_HASH_HEX_LEN + 1], struct mb_error *e)
{
	char side[PATH_CAP + 8], text[256];
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	int fd;
	ssize_t n;

	sum[0] = '\0';
	snprintf(side, sizeof(side), "%s%s", path, MB_WAL_SIDECAR);
	if ((fd = open(side, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0 && errno == ENOENT)
		return 1;
	if (fd < 0)
		return mb_fail(e, MB_ERR_CORRUPT, errno, "unable to read the checksum of '%s'", path);
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n < 0)
		return mb_fail(e, MB_ERR_CORRUPT, errno, "unable to read '%s'", side);
	text[n] = '\0';
	if ((size_t)n != MB_HASH_HEX_LEN + 3 + strlen(base) ||
	    strspn(text, "0123456789abcdef") != MB_HASH_HEX_LEN ||
	    strncmp(text + MB_HASH_HEX_LEN, "  ", 2) != 0 ||
	    strncmp(text + MB_HASH_HEX_LEN + 2, base, strlen(base)) != 0 || text[n - 1] != '\n')
		return mb_fail(e, MB_ERR_CORRUPT, 0, "checksum file '%s' is malformed", side);
	memcpy(sum, text, MB_HASH_HEX_LEN);
	sum[MB_HASH_HEX_LEN] = '\0';
	return 0;
}

static int dir_stat(struct mb_wal_store *s, const char *rel, struct mb_wal_entry *en,
		    struct mb_error *e)
{
	char path[PATH_CAP];
	struct stat st;

	path_of(s, rel, path);
	*en = (struct mb_wal_entry){ 0 };
	snprintf(en->rel, sizeof(en->rel), "%s", rel);
	if (stat(path, &st) < 0)
		return errno == ENOENT ? 1 : mb_fail(e, MB_ERR_IO, errno, "unable to open '%s'", path);
	en->size = (uint64_t)st.st_size;
	en->mtime = st.st_mtime;
	return sidecar_read(path, en->sum, e) < 0 ? -1 : 0;
}

static int read_fd(int fd, const char *path, size_t max, void **buf, struct mb_wal_entry *en,
		   struct mb_error *e)
{
	struct stat st;
	size_t off = 0;
	char *b;

	if (fstat(fd, &st) < 0)
		return mb_fail(e, MB_ERR_IO, errno, "unable to read '%s'", path);
	if ((uint64_t)st.st_size > max)
		return mb_fail(e, MB_ERR_CORRUPT, EFBIG, "unable to read '%s'", path);
	if (!(b = malloc((size_t)st.st_size + 1)))
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to read '%s'", path);
	while (off < (size_t)st.st_size) {
		ssize_t n = pread(fd, b + off, (size_t)st.st_size - off, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			free(b);
			return mb_fail(e, MB_ERR_IO, n < 0 ? errno : EIO, "unable to read '%s'", path);
		}
		off += (size_t)n;
	}
	*buf = b;
	en->size = off;
	en->mtime = st.st_mtime;
	return 0;
}

static int dir_read(struct mb_wal_store *s, const char *rel, size_t max, void **buf,
		    struct mb_wal_entry *en, struct mb_error *e)
{
	char path[PATH_CAP];
	int fd, rc;

	path_of(s, rel, path);
	*buf = NULL;
	*en = (struct mb_wal_entry){ 0 };
	snprintf(en->rel, sizeof(en->rel), "%s", rel);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return errno == ENOENT ? 1 : mb_fail(e, MB_ERR_IO, errno, "unable to open '%s'", path);
	rc = read_fd(fd, path, max, buf, en, e);
	close(fd);
	if (rc == 0 && sidecar_read(path, en->sum, e) < 0) {
		free(*buf);
		*buf = NULL;
		rc = -1;
	}
	return rc;
}

/* A temporary beside path holding buf, fsynced. */
static int write_tmp(const char *tmp, const void *buf, size_t len, struct mb_error *e)
{
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640), rc = 0;

	if (fd < 0)
		return mb_fail(e, MB_ERR_IO, errno, "unable to write '%s'", tmp);
	if (write_all(fd, buf, len) < 0 || fsync(fd) < 0)
		rc = mb_fail(e, MB_ERR_IO, errno, "unable to write '%s'", tmp);
	close(fd);
	return rc;
}

/* rel's directory ("" for the archive's own files), made when missing. */
static int make_dir(struct mb_wal_store *s, const char *rel, char *dir, bool *made,
		    struct mb_error *e)
{
	const char *slash = strrchr(rel, '/');

	*made = false;
	if (!slash) {
		snprintf(dir, PATH_CAP, "%s", s->spec);
		return 0;
	}
	snprintf(dir, PATH_CAP, "%s/%.*s", s->spec, (int)(slash - rel), rel);
	if (mkdir(dir, 0750) == 0)
		*made = true;
	else if (errno != EEXIST)
		return mb_fail(e, MB_ERR_IO, errno, "unable to create '%s'", dir);
	return 0;
}

/* The sidecar, then the file, renamed or linked into place. */
static int place(const char *tmp, const char *stmp, const char *path, bool replace,
		 struct mb_error *e)
{
	char side[PATH_CAP + 8];

	snprintf(side, sizeof(side), "%s%s", path, MB_WAL_SIDECAR);
	/* (link refuses an existing name, but only after the sidecar went:
	 * look first; the pushes' lock keeps this from racing) */
	if (!replace && access(path, F_OK) == 0)
		return 1;
	if (stmp[0] && rename(stmp, side) < 0)
		return mb_fail(e, MB_ERR_IO, errno, "unable to rename '%s' to '%s'", stmp, side);
	if (replace && rename(tmp, path) < 0)
		return mb_fail(e, MB_ERR_IO, errno, "unable to rename '%s' to '%s'", tmp, path);
	if (!replace && link(tmp, path) < 0)
		return errno == EEXIST ? 1 : mb_fail(e, MB_ERR_IO, errno, "unable to store '%s'",
						     path);
	return 0;
}

static int dir_write(struct mb_wal_store *s, const char *rel, const void *buf, size_t len,
		     const char *sum, bool replace, struct mb_error *e)
{
	char dir[PATH_CAP], path[PATH_CAP], tmp[PATH_CAP + 32], stmp[PATH_CAP + 48] = "";
	char text[MB_HASH_HEX_LEN + MB_WAL_REL_MAX + 4];
	const char *name = strrchr(rel, '/') ? strrchr(rel, '/') + 1 : rel;
	bool made;
	int rc;

	if (make_dir(s, rel, dir, &made, e) < 0)
		return -1;
	path_of(s, rel, path);
	snprintf(tmp, sizeof(tmp), "%s/.%s.%d.tmp", dir, name, (int)getpid());
	if ((rc = write_tmp(tmp, buf, len, e)) == 0 && sum) {
		snprintf(stmp, sizeof(stmp), "%s/.%s%s.%d.tmp", dir, name, MB_WAL_SIDECAR,
			 (int)getpid());
		snprintf(text, sizeof(text), "%s  %s\n", sum, name);
		rc = write_tmp(stmp, text, strlen(text), e);
	}
	if (rc == 0 && sum)
		rc = mb_fault("wal-push-written", e);
	if (rc == 0)
		rc = place(tmp, stmp, path, replace, e);
	if (rc >= 0 && !replace)
		unlink(tmp);	/* (before the fsync: no stale second name after a crash) */
	if (rc == 0)
		rc = fsync_dir(dir, e);
	if (rc == 0 && made)
		rc = fsync_dir(s->spec, e);
	if (rc != 0) {
		unlink(tmp);
		if (stmp[0])
			unlink(stmp);
	}
	return rc;
}

static int dir_remove(struct mb_wal_store *s, const char *rel, struct mb_error *e)
{
	char path[PATH_CAP + 8];

	path_of(s, rel, path);
	if (unlink(path) < 0 && errno != ENOENT)
		return mb_fail(e, MB_ERR_IO, errno, "unable to remove '%s'", path);
	strcat(path, MB_WAL_SIDECAR);
	if (unlink(path) < 0 && errno != ENOENT)
		return mb_fail(e, MB_ERR_IO, errno, "unable to remove '%s'", path);
	return 0;
}

static bool is_subdir(const char *name)
{
	return strlen(name) == 16 && strspn(name, "0123456789ABCDEF") == 16;
}

static bool is_sidecar(const char *name)
{
	size_t len = strlen(name), k = strlen(MB_WAL_SIDECAR);

	return len > k && strcmp(name + len - k, MB_WAL_SIDECAR) == 0;
}

/* The files of one directory (sub "" : the archive's own). */
static int list_dir(struct mb_wal_store *s, const char *sub, mb_wal_list_fn fn, void *ctx,
		    struct mb_error *e)
{
	char dir[PATH_CAP], path[PATH_CAP + 300];
	struct mb_wal_entry en;
	struct dirent *de;
	struct stat st;
	DIR *d;
	int rc = 0;

	snprintf(dir, sizeof(dir), "%s%s%s", s->spec, sub[0] ? "/" : "", sub);
	if (!(d = opendir(dir)))
		return mb_fail(e, errno == ENOENT ? MB_ERR_NOT_FOUND : MB_ERR_IO, errno,
			       "unable to read WAL archive '%s'", dir);
	while (rc == 0 && (errno = 0, de = readdir(d))) {
		const char *n = de->d_name;

		if (!strcmp(n, ".") || !strcmp(n, "..") || !strcmp(n, ".push.lock") || is_sidecar(n))
			continue;
		if (!sub[0] && is_subdir(n)) {
			rc = list_dir(s, n, fn, ctx, e);
			continue;
		}
		snprintf(path, sizeof(path), "%s/%s", dir, n);
		if (lstat(path, &st) < 0 || !S_ISREG(st.st_mode))
			continue;
		en = (struct mb_wal_entry){ .size = (uint64_t)st.st_size, .mtime = st.st_mtime };
		snprintf(en.rel, sizeof(en.rel), "%s%s%s", sub, sub[0] ? "/" : "", n);
		rc = fn(ctx, &en, e);
	}
	if (rc == 0 && errno)
		rc = mb_fail(e, MB_ERR_IO, errno, "unable to read WAL archive '%s'", dir);
	closedir(d);
	return rc;
}

static int dir_list(struct mb_wal_store *s, mb_wal_list_fn fn, void *ctx, struct mb_error *e)
{
	return list_dir(s, "", fn, ctx, e);
}

static int dir_lock(struct mb_wal_store *s, int *fd, struct mb_error *e)
{
	char path[PATH_CAP];

	path_of(s, ".push.lock", path);
	if ((*fd = open(path, O_RDONLY | O_CREAT | O_CLOEXEC, 0644)) < 0)
		return mb_fail(e, MB_ERR_IO, errno, "unable to open '%s'", path);
	while (flock(*fd, LOCK_EX) < 0)
		if (errno != EINTR) {
			close(*fd);
			*fd = -1;
			return mb_fail(e, MB_ERR_IO, errno, "unable to lock '%s'", path);
		}
	return 0;
}

/* Empty timeline directories removed, under the pushes' lock (a push may
 * be about to write into one). */
static int dir_tidy(struct mb_wal_store *s, struct mb_error *e)
{
	char path[PATH_CAP + 20];
	struct dirent *de;
	int lock, rc = 0, gone = 0;
	DIR *d;

	if (dir_lock(s, &lock, e) < 0)
		return -1;
	if (!(d = opendir(s->spec))) {
		close(lock);
		return mb_fail(e, MB_ERR_IO, errno, "unable to read WAL archive '%s'", s->spec);
	}
	while ((de = readdir(d)))
		if (is_subdir(de->d_name)) {
			snprintf(path, sizeof(path), "%s/%s", s->spec, de->d_name);
			gone += rmdir(path) == 0;
		}
	closedir(d);
	if (gone)
		rc = fsync_dir(s->spec, e);
	close(lock);
	return rc;
}

const struct mb_wal_store_ops mb_wal_store_dir = {
	.kind = "directory",
	.scheme = NULL,
	.open = dir_open,
	.close = dir_close,
	.stat = dir_stat,
	.read = dir_read,
	.write = dir_write,
	.list = dir_list,
	.remove = dir_remove,
	.lock = dir_lock,
	.tidy = dir_tidy,
};
