/* One increment applied to a restored tree; see incr_apply.h. */
#include "orchestrator/incr_apply.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/hash.h"
#include "orchestrator/restore_target.h"

#define HASH_BUF (1u << 20)

int mb_incr_parent(int dir, const char *path, const char **leaf, struct mb_error *e)
{
	const char *p = path, *slash;
	int fd = dup(dir);

	if (fd < 0)
		return mb_fail(e, MB_ERR_IO, errno, "unable to restore '%s'", path);
	while ((slash = strchr(p, '/'))) {
		char part[256];
		size_t len = (size_t)(slash - p);
		int next;

		if (len == 0 || len >= sizeof(part) || (len <= 2 && strncmp(p, "..", len) == 0))
			goto escape;
		memcpy(part, p, len);
		part[len] = 0;
		next = openat(fd, part, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		close(fd);
		if (next < 0)
			return mb_fail(e, MB_ERR_TARGET, errno, "unable to restore '%s': its directory "
				       "'%.*s'", path, (int)(slash - path), path);
		fd = next;
		p = slash + 1;
	}
	if (!*p || strcmp(p, ".") == 0 || strcmp(p, "..") == 0 || path[0] == '/')
		goto escape;
	*leaf = p;
	return fd;
escape:
	close(fd);
	return mb_fail(e, MB_ERR_TARGET, 0, "unable to restore '%s': the path escapes the target",
		       path);
}

/* XXH3-128 of an open file from its start. */
static int hash_fd(int fd, const char *path, char hex[MB_HASH_HEX_LEN + 1], struct mb_error *e)
{
	char *buf = malloc(HASH_BUF);
	struct mb_hash h;
	off_t pos = 0;
	ssize_t n;

	if (!buf)
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to check '%s'", path);
	mb_hash_init(&h);
	while ((n = pread(fd, buf, HASH_BUF, pos)) > 0) {
		mb_hash_update(&h, buf, (size_t)n);
		pos += n;
	}
	free(buf);
	if (n < 0)
		return mb_fail(e, MB_ERR_IO, errno, "unable to read '%s'", path);
	mb_hash_final_hex(&h, hex);
	return 0;
}

/* The file at path below the tree against the manifest's checksum; a
 * mismatch removes it. */
static int check_file(struct mb_incr_apply *a, const struct mb_incr_manifest *m,
		      const struct mb_incr_entry *x, struct mb_error *e)
{
	const char *leaf;
	char got[MB_HASH_HEX_LEN + 1];
	int pfd = mb_incr_parent(a->tree, x->ent.path, &leaf, e), fd = -1, rc = -1;

	if (pfd < 0)
		return -1;
	if ((fd = openat(pfd, leaf, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		mb_fail(e, MB_ERR_IO, errno, "unable to open '%s/%s'", a->target, x->ent.path);
		goto out;
	}
	if (hash_fd(fd, x->ent.path, got, e) < 0)
		goto out;
	if (strcmp(got, x->hash) != 0) {
		unlinkat(pfd, leaf, 0);
		mb_fail(e, MB_ERR_CORRUPT, 0, "checksum mismatch in '%s' after applying increment %s "
			"(expected %s, got %s)", x->ent.path, m->backup_id, x->hash, got);
		mb_hint(e, "the chain of images does not yield the file backed up; the file was "
			"removed from '%s'", a->target);
		goto out;
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	close(pfd);
	return rc;
}

/* Writes the runs of a delta member (mapped) into the file; sets its size. */
static int write_runs(int fd, const struct mb_delta *d, const char *data, const char *path,
		      const char *target, struct mb_error *e)
{
	for (size_t k = 0; k < d->n_runs; k++) {
		uint64_t off, len, done = 0;

		mb_delta_run_range(d, k, &off, &len);
		while (done < len) {
			ssize_t n = pwrite(fd, data + done, (size_t)(len - done), (off_t)(off + done));

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				return mb_target_write_failed(n < 0 ? errno : ENOSPC, path, target, e);
			done += (uint64_t)n;
		}
		data += len;
	}
	if (ftruncate(fd, (off_t)d->size) < 0)
		return mb_fail(e, MB_ERR_IO, errno, "unable to set the size of '%s'", path);
	return 0;
}

/* A delta member from staging into the tree's file. */
static int apply_delta(struct mb_incr_apply *a, const struct mb_incr_entry *x, struct mb_error *e)
{
	char *member = NULL;
	const char *leaf, *sleaf;
	int pfd = -1, sfd = -1, mfd = -1, fd = -1, rc = -1;
	struct mb_delta d = { 0 };
	struct stat st;
	void *map = MAP_FAILED;
	size_t hl;

	if (asprintf(&member, "%s%s", x->ent.path, MB_DELTA_SUFFIX) < 0)
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to restore '%s'", x->ent.path);
	if ((sfd = mb_incr_parent(a->staging, member, &sleaf, e)) < 0 ||
	    (pfd = mb_incr_parent(a->tree, x->ent.path, &leaf, e)) < 0)
		goto out;
	if ((mfd = openat(sfd, sleaf, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0 || fstat(mfd, &st) < 0 ||
	    st.st_size == 0 ||
	    (map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, mfd, 0)) == MAP_FAILED) {
		mb_fail(e, MB_ERR_IO, errno, "unable to read the increment member '%s'", member);
		goto out;
	}
	if (mb_delta_parse(map, (size_t)st.st_size, &d, &hl, member, e) < 0)
		goto out;
	if (d.size != x->ent.size || hl + d.data_bytes != (uint64_t)st.st_size) {
		mb_fail(e, MB_ERR_CORRUPT, 0, "corrupt increment member '%s': %llu bytes for a header "
			"of %zu and %llu bytes of blocks", member, (unsigned long long)st.st_size, hl,
			(unsigned long long)d.data_bytes);
		goto out;
	}
	if ((fd = openat(pfd, leaf, O_WRONLY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		mb_fail(e, MB_ERR_CORRUPT, errno, "unable to apply '%s': its base file '%s/%s'", member,
			a->target, x->ent.path);
		goto out;
	}
	rc = write_runs(fd, &d, (const char *)map + hl, x->ent.path, a->target, e);
	a->bytes += d.data_bytes;
out:
	if (fd >= 0 && close(fd) < 0 && rc == 0)
		rc = mb_target_write_failed(errno, x->ent.path, a->target, e);
	if (map != MAP_FAILED)
		munmap(map, (size_t)st.st_size);
	mb_delta_free(&d);
	if (mfd >= 0)
		close(mfd);
	if (sfd >= 0)
		close(sfd);
	if (pfd >= 0)
		close(pfd);
	free(member);
	return rc;
}

/* A whole file: renamed from staging over the tree's name. */
static int apply_whole(struct mb_incr_apply *a, const struct mb_incr_entry *x, struct mb_error *e)
{
	const char *leaf, *sleaf;
	int pfd = mb_incr_parent(a->tree, x->ent.path, &leaf, e), sfd = -1, rc = 0;

	if (pfd < 0 || (sfd = mb_incr_parent(a->staging, x->ent.path, &sleaf, e)) < 0)
		rc = -1;
	else if (renameat(sfd, sleaf, pfd, leaf) < 0)
		rc = mb_fail(e, MB_ERR_IO, errno, "unable to restore '%s/%s'", a->target, x->ent.path);
	else
		a->bytes += x->ent.size;
	if (sfd >= 0)
		close(sfd);
	if (pfd >= 0)
		close(pfd);
	return rc;
}

/* Removes path below the tree (a directory with all it holds). */
static int remove_at(int pfd, const char *leaf, const char *path, struct mb_error *e)
{
	struct stat st;

	if (fstatat(pfd, leaf, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : mb_fail(e, MB_ERR_IO, errno, "unable to remove '%s'", path);
	if (unlinkat(pfd, leaf, S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0) == 0)
		return 0;
	return mb_fail(e, MB_ERR_IO, errno, "unable to remove '%s'", path);
}

static int remove_gone(struct mb_incr_apply *a, const struct mb_incr_manifest *m,
		       struct mb_error *e)
{
	for (size_t k = m->n_removed; k-- > 0;) {	/* contents before their directory */
		const char *path = m->removed[k], *leaf;
		int pfd;

		if (a->wanted && !a->wanted(a->wanted_arg, path))
			continue;
		if ((pfd = mb_incr_parent(a->tree, path, &leaf, e)) < 0) {
			if (e->code == MB_ERR_TARGET && e->sys_errno == ENOENT) {
				mb_error_clear(e);	/* its directory went first */
				continue;
			}
			return -1;
		}
		if (remove_at(pfd, leaf, path, e) < 0) {
			close(pfd);
			return -1;
		}
		close(pfd);
	}
	return 0;
}

/* A directory, link or special file made from its manifest line. */
static int make_meta(struct mb_incr_apply *a, const struct mb_entry *t, struct mb_error *e)
{
	const char *leaf, *tleaf;
	struct stat st;
	int pfd = mb_incr_parent(a->tree, t->path, &leaf, e), tfd = -1, rc = 0;

	if (pfd < 0)
		return -1;
	if (t->type == MB_T_DIR) {
		if (mkdirat(pfd, leaf, 0700) < 0 && !(errno == EEXIST && fstatat(pfd, leaf, &st,
						     AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)))
			rc = mb_fail(e, MB_ERR_IO, errno, "unable to make the directory '%s'", t->path);
		goto out;
	}
	if (unlinkat(pfd, leaf, 0) < 0 && errno != ENOENT) {
		rc = mb_fail(e, MB_ERR_IO, errno, "unable to replace '%s'", t->path);
		goto out;
	}
	if (t->type == MB_T_SYMLINK)
		rc = symlinkat(mb_entry_link(t) ? mb_entry_link(t) : "", pfd, leaf);
	else if (t->type == MB_T_HARDLINK)
		rc = (tfd = mb_incr_parent(a->tree, mb_entry_link(t) ? mb_entry_link(t) : "", &tleaf, e)) < 0
		     ? -1 : linkat(tfd, tleaf, pfd, leaf, 0);
	else
		rc = mknodat(pfd, leaf, t->mode, (dev_t)mb_entry_rdev(t));
	if (rc < 0)
		mb_fail(e, MB_ERR_IO, errno, "unable to make '%s'", t->path);
out:
	if (tfd >= 0)
		close(tfd);
	close(pfd);
	return rc;
}

/* Owner, mode and mtime as the manifest says (links: owner and time). */
static int set_meta(struct mb_incr_apply *a, const struct mb_entry *t, struct mb_error *e)
{
	struct timespec ts[2] = { { 0, UTIME_OMIT }, { t->mtime_sec, t->mtime_nsec } };
	const char *leaf;
	int pfd, rc = 0;

	if (t->type == MB_T_HARDLINK)
		return 0;	/* its first name's */
	if ((pfd = mb_incr_parent(a->tree, t->path, &leaf, e)) < 0)
		return -1;
	if (fchownat(pfd, leaf, t->uid, t->gid, AT_SYMLINK_NOFOLLOW) < 0 ||
	    (t->type != MB_T_SYMLINK && fchmodat(pfd, leaf, t->mode & 07777, 0) < 0) ||
	    utimensat(pfd, leaf, ts, AT_SYMLINK_NOFOLLOW) < 0)
		rc = mb_fail(e, MB_ERR_IO, errno, "unable to set the owner, mode and time of '%s'",
			     t->path);
	close(pfd);
	return rc;
}

static bool wanted(const struct mb_incr_apply *a, const char *path)
{
	return !a->wanted || a->wanted(a->wanted_arg, path);
}

/* The files a->verify names (default: this increment's) against the
 * manifest. */
static int check_files(struct mb_incr_apply *a, const struct mb_incr_manifest *m,
		       struct mb_error *e)
{
	for (size_t i = 0; i < m->n; i++) {
		const struct mb_incr_entry *x = &m->v[i];
		bool check = a->verify ? a->verify(a->verify_arg, x->ent.path)
				       : x->kind == MB_INCR_WHOLE || x->kind == MB_INCR_DELTA;

		if (x->ent.type != MB_T_FILE || !check || !wanted(a, x->ent.path))
			continue;
		if (check_file(a, m, x, e) < 0)
			return -1;
		a->checked++;
	}
	return 0;
}

static int apply_entry(struct mb_incr_apply *a, const struct mb_incr_manifest *m,
		       const struct mb_incr_entry *x, struct mb_error *e)
{
	switch (x->kind) {
	case MB_INCR_META:
		return make_meta(a, &x->ent, e);
	case MB_INCR_SAME:
		return 0;
	case MB_INCR_WHOLE:
		a->files++;
		return apply_whole(a, x, e);
	case MB_INCR_DELTA:
		a->files++;
		return apply_delta(a, x, e);
	}
	return mb_fail(e, MB_ERR_INTERNAL, 0, "kind '%c' of '%s'", x->kind, x->ent.path);
}

int mb_incr_apply(struct mb_incr_apply *a, const struct mb_incr_manifest *m, struct mb_error *e)
{
	if (remove_gone(a, m, e) < 0)
		return -1;
	for (size_t i = 0; i < m->n; i++)
		if (wanted(a, m->v[i].ent.path) && apply_entry(a, m, &m->v[i], e) < 0)
			return -1;
	if (check_files(a, m, e) < 0)
		return -1;
	/* files first, directories after what they hold (their mtime stays) */
	for (size_t i = m->n; i-- > 0;)
		if (wanted(a, m->v[i].ent.path) && set_meta(a, &m->v[i].ent, e) < 0)
			return -1;
	return 0;
}

int mb_rm_tree(int dirfd, const char *name)
{
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d;
	struct dirent *de;

	if (fd < 0)
		return unlinkat(dirfd, name, 0) == 0 || errno == ENOENT ? 0 : -1;
	if (!(d = fdopendir(fd))) {
		close(fd);
		return -1;
	}
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			mb_rm_tree(fd, de->d_name);
	closedir(d);
	return unlinkat(dirfd, name, AT_REMOVEDIR) == 0 || errno == ENOENT ? 0 : -1;
}
