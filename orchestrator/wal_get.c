/*
 * wal-get NAME PATH: restore_command = 'mbackup wal-get %f %p'.  Copies
 * the archived file to PATH under a temporary name, checks it against its
 * sidecar on the way, and renames it to PATH only when it matches.  A
 * file that is not archived exits MB_ERR_NOT_FOUND with no message (one
 * debug line): PostgreSQL asks for history files and segments that do not
 * exist as a matter of course.  A damaged one fails loudly, MB_ERR_CORRUPT.
 */
#include "orchestrator/wal_cmd.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "orchestrator/wal_archive.h"
#include "orchestrator/wal_file.h"

/* Copies src (an open archived file) to dest through dest's temporary. */
static int fetch(int in, const char *src, const char *dest, struct mb_error *e)
{
	char want[MB_HASH_HEX_LEN + 1], got[MB_HASH_HEX_LEN + 1], tmp[4200];
	int out = -1, rc = -1;
	uint64_t n;

	if (mb_wal_sidecar_read(src, want, e) < 0)
		return -1;
	snprintf(tmp, sizeof(tmp), "%s.mbackup-%d.tmp", dest, (int)getpid());
	if ((out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0)
		return mb_fail(e, MB_ERR_IO, errno, "unable to write '%s'", tmp);
	if (mb_wal_copy(in, src, out, tmp, got, &n, e) < 0)
		goto out;
	if (strcmp(got, want) != 0) {
		mb_fail(e, MB_ERR_CORRUPT, 0, "archived '%s' is damaged: checksum %s, expected %s",
			src, got, want);
		mb_hint(e, "recovery cannot go past it; put an intact copy of it in the archive");
		goto out;
	}
	if (close(out) < 0 || (out = -1, rename(tmp, dest) < 0)) {
		mb_fail(e, MB_ERR_IO, errno, "unable to write '%s'", dest);
		goto out;
	}
	rc = 0;
	mb_debug("wal-get: '%s' -> '%s' (%" PRIu64 " bytes)", src, dest, n);
out:
	if (out >= 0)
		close(out);
	if (rc < 0)
		unlink(tmp);
	return rc;
}

int mb_cmd_wal_get(const struct mb_options *o, struct mb_error *e)
{
	char sub[MB_WAL_NAME_MAX], src[4200];
	const char *archive;
	struct mb_wal_name wn;
	int in, rc;

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
	if (!(archive = mb_wal_archive_dir(o, e)))
		return -1;
	mb_wal_subdir(&wn, o->args.v[0], sub);
	snprintf(src, sizeof(src), "%s%s%s/%s", archive, sub[0] ? "/" : "", sub, o->args.v[0]);
	if ((in = open(src, O_RDONLY | O_CLOEXEC)) < 0 && errno == ENOENT) {
		/* quiet: no message, only the exit code */
		mb_debug("wal-get: '%s' is not archived", o->args.v[0]);
		e->code = e->code ? e->code : MB_ERR_NOT_FOUND;
		return -1;
	}
	if (in < 0)
		return mb_fail(e, MB_ERR_IO, errno, "unable to open '%s'", src);
	rc = fetch(in, src, o->args.v[1], e);
	close(in);
	return rc;
}
