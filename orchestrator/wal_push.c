/*
 * wal-push PATH: archive_command = 'mbackup wal-push %p'.  The file goes
 * to the archive (layout: wal_archive.h) under a temporary name, is
 * fsynced with its checksum sidecar, renamed into place (the sidecar
 * first) and the directory fsynced before exit 0; PostgreSQL recycles the
 * segment only then.  A name already archived with the same checksum is
 * success (PostgreSQL retries a push whose exit it did not see); with
 * other content it is refused and the archived file kept.  A segment is
 * checked against its own header (timeline, address, size) and the
 * archive's cluster (archive.info).  No catalog, no lock: a running
 * backup never holds the archiver up.
 */
#include "orchestrator/wal_cmd.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "orchestrator/run.h"
#include "orchestrator/wal_archive.h"
#include "orchestrator/wal_file.h"

#define TEXT_MAX (1 << 20)	/* a .history or .backup file */

struct push {
	const char *src, *archive;
	char name[MB_WAL_NAME_MAX];
	struct mb_wal_name wn;
	char dir[4096], path[4096 + MB_WAL_NAME_MAX + 2];
	int fd;
	uint64_t size;
	bool new_dir;
};

/* The segment's own header against its name and size. */
static int check_header(struct push *p, struct mb_wal_header *h, struct mb_error *e)
{
	unsigned char buf[MB_WAL_HEADER_LEN];
	ssize_t n = pread(p->fd, buf, sizeof(buf), 0);
	char got[MB_WAL_LSN_MAX], want[MB_WAL_LSN_MAX];
	uint64_t start;

	if (n < 0)
		return mb_fail(e, MB_ERR_IO, errno, "unable to read '%s'", p->src);
	if (n < MB_WAL_HEADER_LEN || mb_wal_header_parse(buf, h) < 0)
		return mb_fail(e, MB_ERR_CORRUPT, 0, "unable to archive '%s': no PostgreSQL 15 "
			       "WAL segment header", p->src);
	/* (a new timeline's first segment is the old one's up to the switch:
	 * its first page says the parent timeline, never a later one) */
	start = mb_wal_name_segno(&p->wn, h->seg_size) * h->seg_size;
	if (h->tli > p->wn.tli || h->pageaddr != start) {
		mb_wal_lsn_format(h->pageaddr, got);
		mb_wal_lsn_format(start, want);
		return mb_fail(e, MB_ERR_CORRUPT, 0, "unable to archive '%s': its first page says "
			       "timeline %u at %s, its name timeline %u at %s", p->src, h->tli, got,
			       p->wn.tli, want);
	}
	if (p->wn.kind == MB_WAL_SEGMENT ? p->size != h->seg_size : p->size > h->seg_size)
		return mb_fail(e, MB_ERR_CORRUPT, 0, "unable to archive '%s': %" PRIu64 " bytes, "
			       "its segment size is %u", p->src, p->size, h->seg_size);
	return 0;
}

/* archive.info, written by the first segment pushed (temporary + link). */
static int write_info(const struct push *p, const struct mb_wal_header *h, struct mb_error *e)
{
	char tmp[4096], path[4096];
	int fd, rc = 0;

	snprintf(tmp, sizeof(tmp), "%s/.archive.info.%d.tmp", p->archive, (int)getpid());
	snprintf(path, sizeof(path), "%s/archive.info", p->archive);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640)) < 0)
		return mb_fail(e, MB_ERR_IO, errno, "unable to write '%s'", tmp);
	if (dprintf(fd, "# mbackup WAL archive (orchestrator/wal_archive.h)\n"
		    "system-identifier = %" PRIu64 "\nsegment-size = %u\n",
		    h->sysid, h->seg_size) < 0 || fsync(fd) < 0)
		rc = mb_fail(e, MB_ERR_IO, errno, "unable to write '%s'", tmp);
	close(fd);
	if (rc == 0 && link(tmp, path) < 0 && errno != EEXIST)
		rc = mb_fail(e, MB_ERR_IO, errno, "unable to write '%s'", path);
	unlink(tmp);
	return rc == 0 ? mb_wal_fsync_dir(p->archive, e) : -1;
}

/* A segment or .partial: its header, and the archive's cluster. */
static int check_segment(struct push *p, struct mb_error *e)
{
	struct mb_wal_header h;
	uint64_t sysid;
	uint32_t seg_size;

	if (check_header(p, &h, e) < 0 || mb_wal_info_read(p->archive, &sysid, &seg_size, e) < 0)
		return -1;
	if (sysid == 0)
		return write_info(p, &h, e);
	if (sysid != h.sysid || seg_size != h.seg_size) {
		mb_fail(e, MB_ERR_CONFIG, 0, "unable to archive '%s': WAL of system %" PRIu64
			" (segments of %u bytes), the archive '%s' holds system %" PRIu64
			" (%u bytes)", p->src, h.sysid, h.seg_size, p->archive, sysid, seg_size);
		mb_hint(e, "give each cluster its own --wal-archive");
		return -1;
	}
	return 0;
}

/* Opens the file to push and finds where it goes. */
static int open_source(struct push *p, struct mb_error *e)
{
	const char *base = strrchr(p->src, '/') ? strrchr(p->src, '/') + 1 : p->src;
	char sub[MB_WAL_NAME_MAX];
	struct stat st;

	if (mb_wal_name_parse(base, &p->wn) < 0) {
		mb_fail(e, MB_ERR_USAGE, 0, "unable to archive '%s': not a WAL file name", p->src);
		mb_hint(e, "archive_command = 'mbackup wal-push %%p'");
		return -1;
	}
	snprintf(p->name, sizeof(p->name), "%s", base);
	if ((p->fd = open(p->src, O_RDONLY | O_CLOEXEC)) < 0 || fstat(p->fd, &st) < 0)
		return mb_fail(e, errno == ENOENT ? MB_ERR_NOT_FOUND : MB_ERR_IO, errno,
			       "unable to open '%s'", p->src);
	if (!S_ISREG(st.st_mode))
		return mb_fail(e, MB_ERR_USAGE, 0, "unable to archive '%s': not a regular file",
			       p->src);
	p->size = (uint64_t)st.st_size;
	if ((p->wn.kind == MB_WAL_HISTORY || p->wn.kind == MB_WAL_BACKUP) && p->size > TEXT_MAX)
		return mb_fail(e, MB_ERR_USAGE, 0, "unable to archive '%s': %" PRIu64 " bytes is "
			       "too large for a %s file", p->src, p->size,
			       p->wn.kind == MB_WAL_HISTORY ? "history" : "backup history");
	mb_wal_subdir(&p->wn, base, sub);
	snprintf(p->dir, sizeof(p->dir), "%s%s%s", p->archive, sub[0] ? "/" : "", sub);
	snprintf(p->path, sizeof(p->path), "%s/%s", p->dir, p->name);
	return 0;
}

/* Writes fd's bytes (or only the sidecar, when data is false) under
 * temporary names, fsynced, then renames them into place: the sidecar,
 * then the file (link: never over a file a racing push put there, unless
 * replace, the repair of a damaged copy). */
static int store(struct push *p, bool data, bool replace, struct mb_error *e)
{
	char tmp[4200] = "", stmp[4200] = "", side[4200], hex[MB_HASH_HEX_LEN + 1];
	int fd = -1, sfd = -1, rc = -1;
	uint64_t n;

	snprintf(stmp, sizeof(stmp), "%s/.%s%s.%d.tmp", p->dir, p->name, MB_WAL_SIDECAR, (int)getpid());
	snprintf(side, sizeof(side), "%s%s", p->path, MB_WAL_SIDECAR);
	if (data) {
		snprintf(tmp, sizeof(tmp), "%s/.%s.%d.tmp", p->dir, p->name, (int)getpid());
		if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640)) < 0) {
			mb_fail(e, MB_ERR_IO, errno, "unable to write '%s'", tmp);
			goto out;
		}
	}
	if (mb_wal_copy(p->fd, p->src, fd, tmp, hex, &n, e) < 0)
		goto out;
	if (fd >= 0 && fsync(fd) < 0) {
		mb_fail(e, MB_ERR_IO, errno, "unable to write '%s'", tmp);
		goto out;
	}
	if ((sfd = open(stmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640)) < 0) {
		mb_fail(e, MB_ERR_IO, errno, "unable to write '%s'", stmp);
		goto out;
	}
	if (mb_wal_sidecar_write(sfd, stmp, p->name, hex, e) < 0 || mb_fault("wal-push-written", e) < 0)
		goto out;
	if (rename(stmp, side) < 0) {
		mb_fail(e, MB_ERR_IO, errno, "unable to rename '%s' to '%s'", stmp, side);
		goto out;
	}
	stmp[0] = '\0';
	if (data && (replace ? rename(tmp, p->path) : link(tmp, p->path)) < 0) {
		mb_fail(e, errno == EEXIST ? MB_ERR_TARGET : MB_ERR_IO, errno,
			"unable to archive '%s' as '%s'", p->src, p->path);
		goto out;
	}
	if (data && !replace)
		unlink(tmp);	/* (before the fsync: no stale second name after a crash) */
	tmp[0] = '\0';
	rc = mb_wal_fsync_dir(p->dir, e);
	if (rc == 0 && p->new_dir)
		rc = mb_wal_fsync_dir(p->archive, e);
out:
	if (fd >= 0)
		close(fd);
	if (sfd >= 0)
		close(sfd);
	if (tmp[0])
		unlink(tmp);
	if (stmp[0])
		unlink(stmp);
	return rc;
}

/* The name is archived already: same content is success (a damaged copy
 * is repaired, a missing sidecar written), other content refused. */
static int compare(struct push *p, struct mb_error *e)
{
	char mine[MB_HASH_HEX_LEN + 1], theirs[MB_HASH_HEX_LEN + 1], sum[MB_HASH_HEX_LEN + 1];
	struct mb_error se = { 0 };
	int afd = open(p->path, O_RDONLY | O_CLOEXEC), rc;
	bool has_sum;
	uint64_t n;

	if (afd < 0)
		return mb_fail(e, MB_ERR_IO, errno, "unable to open '%s'", p->path);
	rc = mb_wal_copy(p->fd, p->src, -1, NULL, mine, &n, e);
	if (rc == 0)
		rc = mb_wal_copy(afd, p->path, -1, NULL, theirs, &n, e);
	close(afd);
	if (rc < 0)
		return -1;
	has_sum = mb_wal_sidecar_read(p->path, sum, &se) == 0;
	if (strcmp(mine, has_sum ? sum : theirs) != 0) {
		mb_fail(e, MB_ERR_TARGET, 0, "unable to archive '%s': the archive holds another "
			"'%s' (checksum %s, this file %s)", p->src, p->name, has_sum ? sum : theirs,
			mine);
		mb_hint(e, "the archived file is kept; is another cluster archiving into '%s'?",
			p->archive);
		return -1;
	}
	if (has_sum && strcmp(theirs, sum) == 0) {
		mb_debug("wal-push: '%s' is archived already, same checksum", p->name);
		return 0;
	}
	mb_warn("wal-push: archived '%s' %s; stored again from '%s'", p->path,
		has_sum ? "was damaged" : "had no checksum", p->src);
	return store(p, has_sum, true, e);
}

/* The directory the file goes in (one per 4 GiB of a timeline). */
static int make_dir(struct push *p, struct mb_error *e)
{
	if (mkdir(p->dir, 0750) == 0)
		p->new_dir = true;
	else if (errno != EEXIST)
		return mb_fail(e, MB_ERR_IO, errno, "unable to create '%s'", p->dir);
	return 0;
}

int mb_cmd_wal_push(const struct mb_options *o, struct mb_error *e)
{
	struct push p = { .fd = -1 };
	int rc = -1, lock = -1;

	if (o->args.n != 1) {
		mb_fail(e, MB_ERR_USAGE, 0, "wal-push takes one file (%zu given)", o->args.n);
		mb_hint(e, "archive_command = 'mbackup wal-push %%p'");
		return -1;
	}
	p.src = o->args.v[0];
	if (!(p.archive = mb_wal_archive_dir(o, e)) || open_source(&p, e) < 0 ||
	    mb_wal_push_lock(p.archive, &lock, e) < 0)
		goto out;
	if ((p.wn.kind == MB_WAL_SEGMENT || p.wn.kind == MB_WAL_PARTIAL) && check_segment(&p, e) < 0)
		goto out;
	if (make_dir(&p, e) < 0)
		goto out;
	if (access(p.path, F_OK) == 0)
		rc = compare(&p, e);
	else if ((rc = store(&p, true, false, e)) == 0)
		mb_debug("wal-push: archived '%s' (%" PRIu64 " bytes)", p.path, p.size);
	if (rc == 0)
		mb_wal_failure_clear(p.archive);
out:
	if (rc < 0 && p.archive && e->code != MB_ERR_USAGE)
		mb_wal_failure_record(p.archive, p.name[0] ? p.name : p.src, e->msg);
	if (p.fd >= 0)
		close(p.fd);
	if (lock >= 0)
		close(lock);
	return rc;
}
