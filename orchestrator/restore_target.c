/* The restore target: everything is created strictly beneath one directory
 * fd, component by component, never through a symlink; see
 * restore_target.h. */
#include "orchestrator/restore_target.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "orchestrator/restore_staging.h"

#define BLOCK 4096

/* Metadata of a restored directory, applied at close. */
struct dir_meta {
	char *path;
	size_t depth;
	uint32_t mode, uid, gid;
	struct timespec mtime;
};

/* An open regular file: where the next write goes, and its name. */
struct open_file {
	char *path;
	uint64_t pos;
};

struct mb_target {
	int dirfd;		/* O_PATH of the target directory */
	char *dir;
	bool force;
	bool root;		/* euid 0: restore owners */
	struct dir_meta *dirs;
	size_t n_dirs, cap_dirs;
	struct open_file *files;	/* indexed by fd */
	size_t n_files;
	struct mb_staging stage;	/* regular files until published */
};

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* A path as messages show it: control bytes as %XX (as the index writes
 * them), so a hostile name cannot put terminal escapes or a fake line
 * into a message (issue 16, the hostile-image test). */
static const char *shown_n(const char *path, size_t n, char *buf, size_t cap)
{
	size_t k = 0;

	for (const unsigned char *p = (const unsigned char *)path; n-- && *p && k + 4 < cap; p++)
		k += (size_t)snprintf(buf + k, cap - k, *p < 0x20 || *p == 0x7f ?
				      "%%%02X" : "%c", *p);
	buf[k] = 0;
	return buf;
}

static const char *shown(const char *path, char *buf, size_t cap)
{
	return shown_n(path, SIZE_MAX, buf, cap);
}

int mb_target_check_path(const char *path, struct mb_error *e)
{
	const char *p = path;
	char sh[1024];

	if (!path || !*path)
		return mb_fail(e, MB_ERR_TARGET, 0,
			       "refusing to restore '': empty path");
	if (*path == '/')
		return mb_fail(e, MB_ERR_TARGET, 0,
			       "refusing to restore '%s': absolute path",
			       shown(path, sh, sizeof(sh)));
	if (mb_staging_name(path))	/* its first component is ours */
		return mb_fail(e, MB_ERR_TARGET, 0, "refusing to restore '%s': the name of "
			       "a restore's staging directory", shown(path, sh, sizeof(sh)));
	for (;;) {
		size_t n = strcspn(p, "/");

		if (n == 0)
			return mb_fail(e, MB_ERR_TARGET, 0,
				       "refusing to restore '%s': empty component",
				       shown(path, sh, sizeof(sh)));
		if ((n == 1 && p[0] == '.') || (n == 2 && !strncmp(p, "..", 2)))
			return mb_fail(e, MB_ERR_TARGET, 0,
				       "refusing to restore '%s': '%.*s' component",
				       shown(path, sh, sizeof(sh)), (int)n, p);
		if (!p[n])
			return 0;
		p += n + 1;
	}
}

/* Why a parent component could not be opened as a directory. */
static int parent_refused(int dfd, const char *comp, const char *path,
			  size_t prefix, int err, struct mb_error *e)
{
	char sh[1024], shp[1024];
	struct stat st;

	shown(path, sh, sizeof(sh));
	shown_n(path, prefix, shp, sizeof(shp));
	if (fstatat(dfd, comp, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (S_ISLNK(st.st_mode))
			return mb_fail(e, MB_ERR_TARGET, 0,
				       "refusing to restore '%s': '%s' is a symlink", sh, shp);
		if (!S_ISDIR(st.st_mode))
			return mb_fail(e, MB_ERR_TARGET, 0,
				       "refusing to restore '%s': '%s' is not a directory",
				       sh, shp);
	}
	return mb_fail(e, MB_ERR_TARGET, err, "unable to open directory '%s'", shp);
}

/* Opens one directory component beneath dfd, creating it if asked. */
static int open_component(int dfd, const char *comp, bool create)
{
	int flags = O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
	int fd = openat(dfd, comp, flags);

	if (fd >= 0 || errno != ENOENT || !create)
		return fd;
	/* Mode 0700 for now; the directory's own entry sets the real one. */
	if (mkdirat(dfd, comp, 0700) < 0 && errno != EEXIST)
		return -1;
	return openat(dfd, comp, flags);
}

/*
 * Resolves the parent directory of path beneath the target: *pfd is an
 * O_PATH fd of it (caller closes) and *leaf points into path at the last
 * component.  Missing parents are created when create is set.
 */
static int open_parent(struct mb_target *t, const char *path, bool create,
		       int *pfd, const char **leaf, struct mb_error *e)
{
	char comp[NAME_MAX + 1];
	const char *p = path;
	int dfd = -1, next;

	*pfd = -1;
	if (mb_target_check_path(path, e) < 0)
		return -1;
	dfd = fcntl(t->dirfd, F_DUPFD_CLOEXEC, 0);
	if (dfd < 0)
		return mb_fail(e, MB_ERR_TARGET, errno, "unable to open '%s'",
			       t->dir);
	for (size_t n; p[n = strcspn(p, "/")]; p += n + 1) {
		if (n > NAME_MAX) {
			char sh[1024];

			close(dfd);
			return mb_fail(e, MB_ERR_TARGET, ENAMETOOLONG,
				       "refusing to restore '%s'", shown(path, sh, sizeof(sh)));
		}
		memcpy(comp, p, n);
		comp[n] = '\0';
		next = open_component(dfd, comp, create);
		if (next < 0) {
			parent_refused(dfd, comp, path, p + n - path, errno, e);
			close(dfd);
			return -1;
		}
		close(dfd);
		dfd = next;
	}
	*pfd = dfd;
	*leaf = p;
	return 0;
}

/* With force, removes what is in the way of a new entry (not a directory:
 * a directory in the way stays, and the creation fails on it). */
static int make_room(struct mb_target *t, int pfd, const char *leaf,
		     const char *path, struct mb_error *e)
{
	if (!t->force)
		return mb_fail(e, MB_ERR_TARGET, EEXIST, "unable to create '%s'",
			       path);
	if (unlinkat(pfd, leaf, 0) < 0 && errno != ENOENT)
		return mb_fail(e, MB_ERR_TARGET, errno, "unable to replace '%s'",
			       path);
	return 0;
}

static int is_empty(const char *dir, bool *empty, struct mb_error *e)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	struct dirent *de;

	if (!d) {
		mb_fail(e, MB_ERR_TARGET, errno,
			"unable to open restore target '%s'", dir);
		close_fd(&fd);
		return -1;
	}
	*empty = true;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			*empty = false;
	closedir(d);
	return 0;
}

int mb_target_open(struct mb_target **out, const char *dir, bool force,
		   struct mb_error *e)
{
	struct mb_target *t = NULL;
	bool empty;

	*out = NULL;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return mb_fail(e, MB_ERR_TARGET, errno,
			       "unable to create restore target '%s'", dir);
	if (is_empty(dir, &empty, e) < 0)
		return -1;
	if (!empty && !force) {
		mb_fail(e, MB_ERR_TARGET, 0, "restore target '%s' is not empty",
			dir);
		/* (--force also clears what an interrupted restore left) */
		mb_hint(e, "use an empty directory, or --force to overwrite");
		return -1;
	}
	t = calloc(1, sizeof(*t));
	if (!t || !(t->dir = strdup(dir))) {
		free(t);
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM,
			       "unable to open restore target '%s'", dir);
	}
	t->force = force;
	t->root = geteuid() == 0;
	t->dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (t->dirfd < 0) {
		mb_fail(e, MB_ERR_TARGET, errno,
			"unable to open restore target '%s'", dir);
		free(t->dir);
		free(t);
		return -1;
	}
	if (mb_staging_init(&t->stage, t->dirfd, t->dir, force, e) < 0) {
		close(t->dirfd);
		free(t->dir);
		free(t);
		return -1;
	}
	*out = t;
	return 0;
}

/* Remembers path as the name behind fd, for writes and messages. */
static int track(struct mb_target *t, int fd, const char *path,
		 struct mb_error *e)
{
	if ((size_t)fd >= t->n_files) {
		size_t n = (size_t)fd + 64;
		struct open_file *v = realloc(t->files, n * sizeof(*v));

		if (!v)
			return mb_fail(e, MB_ERR_GENERAL, ENOMEM,
				       "unable to create '%s'", path);
		memset(v + t->n_files, 0, (n - t->n_files) * sizeof(*v));
		t->files = v;
		t->n_files = n;
	}
	free(t->files[fd].path);
	t->files[fd].path = strdup(path);
	t->files[fd].pos = 0;
	if (!t->files[fd].path)
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM,
			       "unable to create '%s'", path);
	return 0;
}

static struct open_file *tracked(struct mb_target *t, int fd)
{
	if (fd < 0 || (size_t)fd >= t->n_files || !t->files[fd].path)
		return NULL;
	return &t->files[fd];
}

static void untrack(struct mb_target *t, int fd)
{
	struct open_file *f = tracked(t, fd);

	if (f) {
		free(f->path);
		f->path = NULL;
	}
}

int mb_target_create_file(struct mb_target *t, const struct mb_entry *ent,
			  int *fd, size_t *id, struct mb_error *e)
{
	const char *leaf;
	int pfd = -1, ffd = -1, rc = -1;

	*fd = -1;
	/* its parents now (a way out of the target is refused before any
	 * data is read); the file itself waits in the staging directory */
	if (open_parent(t, ent->path, true, &pfd, &leaf, e) < 0)
		goto out;
	if (mb_staging_create(&t->stage, ent->path, &ffd, id, e) < 0)
		goto out;
	if (track(t, ffd, ent->path, e) < 0) {
		mb_staging_discard(&t->stage, *id);
		goto out;
	}
	*fd = ffd;
	ffd = -1;
	rc = 0;
out:
	close_fd(&ffd);
	close_fd(&pfd);
	return rc;
}

int mb_target_publish(struct mb_target *t, size_t id, struct mb_error *e)
{
	const char *path = mb_staging_path(&t->stage, id), *leaf;
	int pfd = -1, rc;

	if (!path)
		return mb_fail(e, MB_ERR_INTERNAL, 0, "publish of a file not staged");
	if (open_parent(t, path, true, &pfd, &leaf, e) < 0)
		return -1;
	rc = mb_staging_publish(&t->stage, id, pfd, leaf, t->force, e);
	close_fd(&pfd);
	return rc;
}

void mb_target_discard(struct mb_target *t, size_t id)
{
	mb_staging_discard(&t->stage, id);
}

static bool all_zero(const unsigned char *p, size_t n)
{
	/* p[0..15] zero and every byte equal to the one 16 before it */
	for (size_t i = 0; i < n && i < 16; i++)
		if (p[i])
			return false;
	return n <= 16 || memcmp(p, p + 16, n - 16) == 0;
}

int mb_target_write_failed(int err, const char *path, const char *dir, struct mb_error *e)
{
	mb_fail(e, MB_ERR_IO, err, "unable to write '%s' in restore target '%s'", path, dir);
	if (err == ENOSPC || err == EDQUOT)
		mb_hint(e, "free space on the target's filesystem, or restore less at a time"
			" with --file");
	return -1;
}

static int write_at(const struct mb_target *t, int fd, const unsigned char *buf, size_t len,
		    uint64_t pos, const char *path, struct mb_error *e)
{
	while (len) {
		ssize_t n = pwrite(fd, buf, len, (off_t)pos);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return mb_target_write_failed(n < 0 ? errno : ENOSPC, path, t->dir, e);
		buf += n;
		len -= n;
		pos += n;
	}
	return 0;
}

/* Writes buf at the file's position.  Zero runs are skipped (the file is
 * new, so what is never written reads back as zeros): a 4 KiB block that
 * only ever sees zeros stays a hole, even when it arrives in small pieces. */
int mb_target_write(struct mb_target *t, int fd, const void *buf, size_t len,
		    struct mb_error *e)
{
	struct open_file *f = tracked(t, fd);
	const unsigned char *p = buf, *run = NULL;
	uint64_t run_pos = 0;

	if (!f)
		return mb_fail(e, MB_ERR_INTERNAL, EBADF,
			       "write to a file the restore target did not open");
	while (len) {
		size_t piece = BLOCK - (size_t)(f->pos % BLOCK);

		if (piece > len)
			piece = len;
		if (all_zero(p, piece)) {
			if (run && write_at(t, fd, run, p - run, run_pos, f->path,
					    e) < 0)
				return -1;
			run = NULL;
		} else if (!run) {
			run = p;
			run_pos = f->pos;
		}
		p += piece;
		len -= piece;
		f->pos += piece;
	}
	if (run)
		return write_at(t, fd, run, p - run, run_pos, f->path, e);
	return 0;
}

int mb_target_seek(struct mb_target *t, int fd, uint64_t offset,
		   struct mb_error *e)
{
	struct open_file *f = tracked(t, fd);

	if (!f)
		return mb_fail(e, MB_ERR_INTERNAL, EBADF,
			       "seek in a file the restore target did not open");
	f->pos = offset;
	return 0;
}

static struct timespec mtime_of(const struct mb_entry *ent)
{
	return (struct timespec){ .tv_sec = ent->mtime_sec,
				  .tv_nsec = ent->mtime_nsec };
}

/* Owner (if root), mode and mtime of an open file or directory; NULL, or
 * what failed (errno tells why). */
static const char *set_fd_meta(const struct mb_target *t, int fd, uint32_t uid,
			       uint32_t gid, uint32_t mode, struct timespec mtime)
{
	struct timespec ts[2] = { mtime, mtime };

	/* chown first: it clears set-id bits that chmod then restores */
	if (t->root && fchown(fd, uid, gid) < 0)
		return "set the owner of";
	if (fchmod(fd, mode & 07777) < 0)
		return "set the mode of";
	if (futimens(fd, ts) < 0)
		return "set the mtime of";
	return NULL;
}

int mb_target_finish_file(struct mb_target *t, int fd,
			  const struct mb_entry *ent, struct mb_error *e)
{
	const char *what = NULL;

	if (ftruncate(fd, (off_t)ent->size) < 0)
		what = "set the size of";
	else
		what = set_fd_meta(t, fd, ent->uid, ent->gid, ent->mode, mtime_of(ent));
	if (what)
		mb_fail(e, MB_ERR_IO, errno, "unable to %s '%s'", what,
			ent->path);
	untrack(t, fd);
	if (close(fd) < 0 && !what) {
		what = "close";
		mb_fail(e, MB_ERR_IO, errno, "unable to close '%s'", ent->path);
	}
	return what ? -1 : 0;
}

/* Owner, mode and mtime of a just-made non-directory, by name. */
static int set_meta_at(struct mb_target *t, int pfd, const char *leaf,
		       const struct mb_entry *ent, struct mb_error *e)
{
	struct timespec ts[2] = { mtime_of(ent), mtime_of(ent) };
	bool link = ent->type == MB_T_SYMLINK;
	const char *what = NULL;

	if (t->root && fchownat(pfd, leaf, ent->uid, ent->gid,
				AT_SYMLINK_NOFOLLOW) < 0)
		what = "set the owner of";
	/* a symlink has no mode of its own; the node was just made by us */
	else if (!link && fchmodat(pfd, leaf, ent->mode & 07777, 0) < 0)
		what = "set the mode of";
	else if (utimensat(pfd, leaf, ts, AT_SYMLINK_NOFOLLOW) < 0)
		what = "set the mtime of";
	if (what)
		return mb_fail(e, MB_ERR_IO, errno, "unable to %s '%s'", what,
			       ent->path);
	return 0;
}

static int remember_dir(struct mb_target *t, const struct mb_entry *ent,
			struct mb_error *e)
{
	struct dir_meta *d;

	if (t->n_dirs == t->cap_dirs) {
		size_t cap = t->cap_dirs ? 2 * t->cap_dirs : 64;
		struct dir_meta *v = realloc(t->dirs, cap * sizeof(*v));

		if (!v)
			return mb_fail(e, MB_ERR_GENERAL, ENOMEM,
				       "unable to restore '%s'", ent->path);
		t->dirs = v;
		t->cap_dirs = cap;
	}
	d = &t->dirs[t->n_dirs];
	d->path = strdup(ent->path);
	if (!d->path)
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM,
			       "unable to restore '%s'", ent->path);
	d->depth = 0;
	for (const char *p = ent->path; *p; p++)
		d->depth += *p == '/';
	d->mode = ent->mode;
	d->uid = ent->uid;
	d->gid = ent->gid;
	d->mtime = mtime_of(ent);
	t->n_dirs++;
	return 0;
}

static int make_dir(struct mb_target *t, int pfd, const char *leaf,
		    const struct mb_entry *ent, struct mb_error *e)
{
	struct stat st;

	if (mkdirat(pfd, leaf, 0700) < 0) {
		if (errno != EEXIST)
			return mb_fail(e, MB_ERR_TARGET, errno,
				       "unable to create directory '%s'",
				       ent->path);
		/* made earlier as a missing parent, or kept with --force */
		if (fstatat(pfd, leaf, &st, AT_SYMLINK_NOFOLLOW) < 0)
			return mb_fail(e, MB_ERR_TARGET, errno,
				       "unable to create directory '%s'",
				       ent->path);
		if (!S_ISDIR(st.st_mode) &&
		    (make_room(t, pfd, leaf, ent->path, e) < 0 ||
		     mkdirat(pfd, leaf, 0700) < 0))
			return mb_fail(e, MB_ERR_TARGET, errno,
				       "unable to create directory '%s'",
				       ent->path);
	}
	return remember_dir(t, ent, e);
}

/* Creates the node for ent at pfd/leaf; 1 = EEXIST (caller makes room). */
static int make_node(struct mb_target *t, int pfd, const char *leaf,
		     const struct mb_entry *ent, struct mb_error *e)
{
	int rc, lpfd = -1;
	const char *lleaf;

	switch (ent->type) {
	case MB_T_SYMLINK:
		rc = symlinkat(mb_entry_link(ent), pfd, leaf);
		break;
	case MB_T_HARDLINK:
		if (open_parent(t, mb_entry_link(ent), false, &lpfd, &lleaf, e) < 0)
			return -1;
		rc = linkat(lpfd, lleaf, pfd, leaf, 0);
		close_fd(&lpfd);
		break;
	case MB_T_FIFO:
		rc = mkfifoat(pfd, leaf, 0600);
		break;
	case MB_T_CHR:
	case MB_T_BLK:
		rc = mknodat(pfd, leaf,
			     (ent->type == MB_T_CHR ? S_IFCHR : S_IFBLK) | 0600,
			     (dev_t)mb_entry_rdev(ent));
		break;
	default:
		return mb_fail(e, MB_ERR_CORRUPT, 0,
			       "unable to restore '%s': unknown entry type '%c'",
			       ent->path, ent->type);
	}
	if (rc == 0)
		return 0;
	if (errno == EEXIST)
		return 1;
	if (ent->type == MB_T_HARDLINK)
		return mb_fail(e, MB_ERR_TARGET, errno,
			       "unable to link '%s' to '%s'", ent->path,
			       mb_entry_link(ent));
	return mb_fail(e, MB_ERR_TARGET, errno, "unable to create '%s'",
		       ent->path);
}

int mb_target_make(struct mb_target *t, const struct mb_entry *ent,
		   struct mb_error *e)
{
	const char *leaf;
	int pfd = -1, rc = -1, made;

	if ((ent->type == MB_T_SYMLINK || ent->type == MB_T_HARDLINK) &&
	    !mb_entry_link(ent))
		return mb_fail(e, MB_ERR_CORRUPT, 0,
			       "unable to restore '%s': link without a target",
			       ent->path);
	if (open_parent(t, ent->path, true, &pfd, &leaf, e) < 0)
		goto out;
	if (ent->type == MB_T_DIR) {
		rc = make_dir(t, pfd, leaf, ent, e);
		goto out;
	}
	made = make_node(t, pfd, leaf, ent, e);
	if (made == 1) {
		if (make_room(t, pfd, leaf, ent->path, e) < 0)
			goto out;
		made = make_node(t, pfd, leaf, ent, e);
		if (made == 1)
			mb_fail(e, MB_ERR_TARGET, EEXIST, "unable to create '%s'",
				ent->path);
	}
	if (made != 0)
		goto out;
	/* a hard link shares the first name's inode and metadata */
	if (ent->type != MB_T_HARDLINK && set_meta_at(t, pfd, leaf, ent, e) < 0)
		goto out;
	rc = 0;
out:
	close_fd(&pfd);
	return rc;
}

int mb_target_remove(struct mb_target *t, const char *path,
		     struct mb_error *e)
{
	const char *leaf;
	int pfd = -1, rc = -1;

	if (open_parent(t, path, false, &pfd, &leaf, e) < 0)
		goto out;
	if (unlinkat(pfd, leaf, 0) < 0) {
		mb_fail(e, MB_ERR_TARGET, errno, "unable to remove '%s'", path);
		goto out;
	}
	rc = 0;
out:
	close_fd(&pfd);
	return rc;
}

static int cmp_depth(const void *a, const void *b)
{
	const struct dir_meta *x = a, *y = b;

	return x->depth < y->depth ? 1 : x->depth > y->depth ? -1 : 0;
}

static int apply_dir(struct mb_target *t, const struct dir_meta *d,
		     struct mb_error *e)
{
	const char *leaf, *what = NULL;
	int pfd = -1, fd = -1;

	if (open_parent(t, d->path, false, &pfd, &leaf, e) < 0)
		return -1;
	fd = openat(pfd, leaf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		what = "open directory";
	else
		what = set_fd_meta(t, fd, d->uid, d->gid, d->mode, d->mtime);
	if (what)
		mb_fail(e, MB_ERR_IO, errno, "unable to %s '%s'", what, d->path);
	close_fd(&fd);
	close_fd(&pfd);
	return what ? -1 : 0;
}

/* Directory metadata, deepest first so setting a child's mode does not
 * need the parent's permissions and no later change touches an mtime;
 * then one syncfs so the restored tree is durable. */
int mb_target_close(struct mb_target *t, struct mb_error *e)
{
	int rc = 0, sfd;

	if (!t)
		return 0;
	/* what was never published goes first: directories' mtimes after */
	if (mb_staging_close(&t->stage, e) < 0)
		rc = -1;
	if (t->n_dirs)
		qsort(t->dirs, t->n_dirs, sizeof(*t->dirs), cmp_depth);
	for (size_t i = 0; i < t->n_dirs; i++) {
		if (apply_dir(t, &t->dirs[i], e) < 0)
			rc = -1;
		free(t->dirs[i].path);
	}
	/* syncfs() needs a real fd; the O_PATH one would be EBADF */
	sfd = openat(t->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sfd < 0 || syncfs(sfd) < 0)
		rc = mb_fail(e, MB_ERR_IO, errno, "unable to sync '%s'", t->dir);
	close_fd(&sfd);
	for (size_t i = 0; i < t->n_files; i++)
		free(t->files[i].path);
	free(t->files);
	free(t->dirs);
	close(t->dirfd);
	free(t->dir);
	free(t);
	return rc;
}
