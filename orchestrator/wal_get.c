/*
 * wal-get NAME PATH: restore_command = 'mbackup wal-get %f %p'.  Reads
 * the archived file from the store (NAME, else NAME.zst, decompressed),
 * checks the WAL's bytes against their checksum, writes them to a
 * temporary beside PATH and renames it to PATH only when they match.  A
 * file that is not archived exits MB_ERR_NOT_FOUND with no message (one
 * debug line): PostgreSQL asks for history files and segments that do not
 * exist as a matter of course.  A damaged one fails loudly, MB_ERR_CORRUPT.
 */
#include "orchestrator/wal_cmd.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "orchestrator/wal_archive.h"
#include "orchestrator/wal_file.h"

static int write_file(const char *dest, const void *buf, size_t len, struct mb_error *e)
{
	char tmp[4200];
	size_t off = 0;
	int fd;

	snprintf(tmp, sizeof(tmp), "%s.mbackup-%d.tmp", dest, (int)getpid());
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0)
		return mb_fail(e, MB_ERR_IO, errno, "unable to write '%s'", tmp);
	while (off < len) {
		ssize_t n = write(fd, (const char *)buf + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		off += (size_t)n;
	}
	if (off < len)
		mb_fail(e, MB_ERR_IO, errno, "unable to write '%s'", tmp);
	if (close(fd) < 0 || (off == len && rename(tmp, dest) < 0))
		mb_fail(e, MB_ERR_IO, errno, "unable to write '%s'", dest);
	if (e->code)
		unlink(tmp);
	return e->code ? -1 : 0;
}

/* The WAL's bytes of a stored file, checked. */
static int verify(struct mb_wal_store *s, const struct mb_wal_entry *en, void **buf,
		  size_t *len, struct mb_error *e)
{
	char where[4200], got[MB_HASH_HEX_LEN + 1];
	size_t k = strlen(MB_WAL_ZST), rl = strlen(en->rel);
	void *raw;

	mb_wal_store_where(s, en->rel, where, sizeof(where));
	if (!en->sum[0])
		return mb_fail(e, MB_ERR_CORRUPT, ENOENT, "unable to read the checksum of '%s'", where);
	if (rl > k && strcmp(en->rel + rl - k, MB_WAL_ZST) == 0) {
		if (mb_wal_zstd_unpack(*buf, *len, MB_WAL_FILE_MAX, where, &raw, len, e) < 0)
			goto damaged;
		free(*buf);
		*buf = raw;
	}
	mb_hash_buf_hex(*buf, *len, got);
	if (strcmp(got, en->sum) == 0)
		return 0;
	mb_fail(e, MB_ERR_CORRUPT, 0, "archived '%s' is damaged: checksum %s, expected %s", where,
		got, en->sum);
damaged:
	mb_hint(e, "recovery cannot go past it; put an intact copy of it in the archive");
	return -1;
}

/* NAME, or NAME.zst: 0 with buf, 1 when neither is archived. */
static int fetch(struct mb_wal_store *s, const struct mb_wal_name *wn, const char *name,
		 void **buf, struct mb_wal_entry *en, struct mb_error *e)
{
	bool segment = wn->kind == MB_WAL_SEGMENT || wn->kind == MB_WAL_PARTIAL;
	char rel[MB_WAL_REL_MAX];
	int rc = 1;

	for (int zst = 0; rc == 1 && zst < 1 + segment; zst++) {
		mb_wal_rel(wn, name, zst, rel);
		rc = s->ops->read(s, rel, MB_WAL_FILE_MAX, buf, en, e);
	}
	return rc;
}

int mb_cmd_wal_get(const struct mb_options *o, struct mb_error *e)
{
	struct mb_wal_store *s = NULL;
	struct mb_wal_entry en;
	struct mb_wal_name wn;
	void *buf = NULL;
	size_t len;
	int rc = -1;

	if (o->args.n != 2) {
		mb_fail(e, MB_ERR_USAGE, 0, "wal-get takes a WAL file name and a path (%zu given)",
			o->args.n);
		mb_hint(e, "restore_command = 'mbackup wal-get %%f %%p'");
		return -1;
	}
	if (mb_wal_name_parse(o->args.v[0], &wn) < 0) {
		mb_fail(e, MB_ERR_USAGE, 0, "'%s' is not a WAL file name", o->args.v[0]);
		mb_hint(e, "restore_command = 'mbackup wal-get %%f %%p'");
		return -1;
	}
	if (mb_wal_archive_open(o, &s, NULL, e) < 0)
		return -1;
	if ((rc = fetch(s, &wn, o->args.v[0], &buf, &en, e)) == 1) {
		/* quiet: no message, only the exit code */
		mb_debug("wal-get: '%s' is not archived", o->args.v[0]);
		e->code = e->code ? e->code : MB_ERR_NOT_FOUND;
		rc = -1;
		goto out;
	}
	len = en.size;
	if (rc == 0 && (rc = verify(s, &en, &buf, &len, e)) == 0)
		rc = write_file(o->args.v[1], buf, len, e);
	if (rc == 0)
		mb_debug("wal-get: '%s' -> '%s' (%zu bytes, %llu stored)", en.rel, o->args.v[1],
			 len, (unsigned long long)en.size);
out:
	free(buf);
	mb_wal_store_close(s);
	return rc;
}
