/* Checksums, sidecars and copies of the WAL archive; see wal_file.h. */
#include "orchestrator/wal_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "orchestrator/wal_archive.h"

#define COPY_BUF (1 << 20)

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int mb_wal_copy(int in, const char *in_name, int out, const char *out_name,
		char hex[MB_HASH_HEX_LEN + 1], uint64_t *size, struct mb_error *e)
{
	char *buf = malloc(COPY_BUF);
	struct mb_hash h;
	int rc = -1;
	ssize_t n;

	*size = 0;
	if (!buf)
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to copy '%s'", in_name);
	mb_hash_init(&h);
	for (;;) {
		n = pread(in, buf, COPY_BUF, (off_t)*size);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			mb_fail(e, MB_ERR_IO, errno, "unable to read '%s'", in_name);
			goto out;
		}
		if (n == 0)
			break;
		mb_hash_update(&h, buf, (size_t)n);
		if (out >= 0 && write_all(out, buf, (size_t)n) < 0) {
			mb_fail(e, MB_ERR_IO, errno, "unable to write '%s'", out_name);
			goto out;
		}
		*size += (uint64_t)n;
	}
	mb_hash_final_hex(&h, hex);
	rc = 0;
out:
	free(buf);
	return rc;
}

int mb_wal_sidecar_read(const char *path, char hex[MB_HASH_HEX_LEN + 1], struct mb_error *e)
{
	char side[4096], text[256];
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	int fd;
	ssize_t n;

	snprintf(side, sizeof(side), "%s%s", path, MB_WAL_SIDECAR);
	if ((fd = open(side, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return mb_fail(e, MB_ERR_CORRUPT, errno, "unable to read the checksum of '%s'",
			       path);
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
	memcpy(hex, text, MB_HASH_HEX_LEN);
	hex[MB_HASH_HEX_LEN] = '\0';
	return 0;
}

int mb_wal_sidecar_write(int fd, const char *tmp_path, const char *name,
			 const char hex[MB_HASH_HEX_LEN + 1], struct mb_error *e)
{
	char text[MB_HASH_HEX_LEN + MB_WAL_NAME_MAX + 4];
	int len = snprintf(text, sizeof(text), "%s  %s\n", hex, name);

	if (write_all(fd, text, (size_t)len) < 0 || fsync(fd) < 0)
		return mb_fail(e, MB_ERR_IO, errno, "unable to write '%s'", tmp_path);
	return 0;
}

int mb_wal_file_load(const char *path, size_t max, char **text, size_t *len,
		     struct mb_error *e)
{
	char want[MB_HASH_HEX_LEN + 1], got[MB_HASH_HEX_LEN + 1];
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = -1;
	ssize_t n;

	*text = NULL;
	if (fd < 0)
		return mb_fail(e, errno == ENOENT ? MB_ERR_NOT_FOUND : MB_ERR_IO, errno,
			       "unable to open '%s'", path);
	if (!(*text = malloc(max + 1))) {
		mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to read '%s'", path);
		goto out;
	}
	if ((n = pread(fd, *text, max + 1, 0)) < 0 || (size_t)n > max) {
		mb_fail(e, MB_ERR_CORRUPT, n < 0 ? errno : EFBIG, "unable to read '%s'", path);
		goto out;
	}
	(*text)[n] = '\0';
	*len = (size_t)n;
	mb_hash_buf_hex(*text, *len, got);
	if (mb_wal_sidecar_read(path, want, e) < 0)
		goto out;
	if (strcmp(want, got) != 0) {
		mb_fail(e, MB_ERR_CORRUPT, 0, "archived '%s' is damaged: checksum %s, expected %s",
			path, got, want);
		goto out;
	}
	rc = 0;
out:
	if (rc < 0) {
		free(*text);
		*text = NULL;
	}
	close(fd);
	return rc;
}

int mb_wal_fsync_dir(const char *dir, struct mb_error *e)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = 0;

	if (fd < 0 || fsync(fd) < 0)
		rc = mb_fail(e, MB_ERR_IO, errno, "unable to sync directory '%s'", dir);
	if (fd >= 0)
		close(fd);
	return rc;
}

int mb_wal_push_lock(const char *archive, int *fd, struct mb_error *e)
{
	char path[4200];

	snprintf(path, sizeof(path), "%s/.push.lock", archive);
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
