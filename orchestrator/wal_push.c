/*
 * wal-push PATH: archive_command = 'mbackup wal-push %p'.  The file goes
 * to the archive's store (wal_store.h: a directory or s3://) in one atomic
 * write with its checksum; exit 0 only once it is durable there, and
 * PostgreSQL recycles the segment only then.  A name already archived
 * with the same checksum is success (PostgreSQL retries a push whose exit
 * it did not see); with other content it is refused and the archived file
 * kept.  With --compress zstd[:LEVEL] a segment or .partial is stored as
 * one zstd frame, NAME.zst; a name archived either way counts as archived.
 * A segment is checked against its own header (timeline, address, size)
 * and the archive's cluster (archive.info).  No catalog, no lock of a
 * backup: a running backup never holds the archiver up.
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
#include "orchestrator/wal_archive.h"
#include "orchestrator/wal_file.h"

#define TEXT_MAX (1 << 20)	/* a .history or .backup file */

struct push {
	const char *src;
	struct mb_wal_store *s;
	int level;		/* --compress; 0: stored as it is */
	char name[MB_WAL_NAME_MAX];
	struct mb_wal_name wn;
	void *data;		/* the whole file */
	uint64_t size;
	char sum[MB_HASH_HEX_LEN + 1];
};

static bool compressible(const struct push *p)
{
	return p->wn.kind == MB_WAL_SEGMENT || p->wn.kind == MB_WAL_PARTIAL;
}

/* The segment's own header against its name and size. */
static int check_header(struct push *p, struct mb_wal_header *h, struct mb_error *e)
{
	char got[MB_WAL_LSN_MAX], want[MB_WAL_LSN_MAX];
	uint64_t start;

	if (p->size < MB_WAL_HEADER_LEN || mb_wal_header_parse(p->data, h) < 0)
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

/* archive.info, written by the first segment pushed (never over another). */
static int write_info(const struct push *p, const struct mb_wal_header *h, struct mb_error *e)
{
	char *text = NULL;
	int n = asprintf(&text, "# mbackup WAL archive (orchestrator/wal_archive.h)\n"
			 "system-identifier = %" PRIu64 "\nsegment-size = %u\n", h->sysid,
			 h->seg_size);

	if (n < 0)
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to write archive.info");
	n = p->s->ops->write(p->s, "archive.info", text, (size_t)n, NULL, false, e);
	free(text);
	return n < 0 ? -1 : 0;
}

/* A segment or .partial: its header, and the archive's cluster. */
static int check_segment(struct push *p, struct mb_error *e)
{
	struct mb_wal_header h;
	uint64_t sysid;
	uint32_t seg_size;

	if (check_header(p, &h, e) < 0 || mb_wal_info_read(p->s, &sysid, &seg_size, e) < 0)
		return -1;
	if (sysid == 0 && write_info(p, &h, e) < 0)
		return -1;
	if (sysid == 0 && mb_wal_info_read(p->s, &sysid, &seg_size, e) < 0)
		return -1;	/* (a racing push may have written another's) */
	if (sysid != h.sysid || seg_size != h.seg_size) {
		mb_fail(e, MB_ERR_CONFIG, 0, "unable to archive '%s': WAL of system %" PRIu64
			" (segments of %u bytes), the archive '%s' holds system %" PRIu64
			" (%u bytes)", p->src, h.sysid, h.seg_size, p->s->spec, sysid, seg_size);
		mb_hint(e, "give each cluster its own --wal-archive");
		return -1;
	}
	return 0;
}

/* The whole file to push, its name checked, read into memory. */
static int open_source(struct push *p, struct mb_error *e)
{
	const char *base = strrchr(p->src, '/') ? strrchr(p->src, '/') + 1 : p->src;
	struct stat st;
	int fd, rc = -1;
	ssize_t n = 0;

	if (mb_wal_name_parse(base, &p->wn) < 0) {
		mb_fail(e, MB_ERR_USAGE, 0, "unable to archive '%s': not a WAL file name", p->src);
		mb_hint(e, "archive_command = 'mbackup wal-push %%p'");
		return -1;
	}
	snprintf(p->name, sizeof(p->name), "%s", base);
	if ((fd = open(p->src, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &st) < 0) {
		rc = mb_fail(e, errno == ENOENT ? MB_ERR_NOT_FOUND : MB_ERR_IO, errno,
			     "unable to open '%s'", p->src);
		goto out;
	}
	p->size = (uint64_t)st.st_size;
	if (!S_ISREG(st.st_mode)) {
		mb_fail(e, MB_ERR_USAGE, 0, "unable to archive '%s': not a regular file", p->src);
		goto out;
	}
	if (!compressible(p) && p->size > TEXT_MAX) {
		mb_fail(e, MB_ERR_USAGE, 0, "unable to archive '%s': %" PRIu64 " bytes is too "
			"large for a %s file", p->src, p->size,
			p->wn.kind == MB_WAL_HISTORY ? "history" : "backup history");
		goto out;
	}
	if (p->size > MB_WAL_FILE_MAX || !(p->data = malloc(p->size + 1))) {
		mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to read '%s'", p->src);
		goto out;
	}
	for (uint64_t off = 0; off < p->size; off += (uint64_t)n) {
		n = pread(fd, (char *)p->data + off, p->size - off, (off_t)off);
		if (n < 0 && errno == EINTR)
			n = 0;
		else if (n <= 0) {
			mb_fail(e, MB_ERR_IO, n < 0 ? errno : EIO, "unable to read '%s'", p->src);
			goto out;
		}
	}
	mb_hash_buf_hex(p->data, p->size, p->sum);
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	return rc;
}

/* Stores the file as rel (compressed when rel is a .zst). */
static int store(struct push *p, const char *rel, bool replace, struct mb_error *e)
{
	size_t len = p->size, k = strlen(MB_WAL_ZST), rl = strlen(rel);
	void *buf = p->data, *z = NULL;
	int rc;

	if (rl > k && strcmp(rel + rl - k, MB_WAL_ZST) == 0) {
		if (mb_wal_zstd_pack(p->data, p->size, p->level ? p->level : 3, &z, &len, e) < 0)
			return -1;
		buf = z;
	}
	rc = p->s->ops->write(p->s, rel, buf, len, p->sum, replace, e);
	if (rc == 0)
		mb_debug("wal-push: archived '%s' as '%s' (%" PRIu64 " bytes, %zu stored)", p->name,
			 rel, p->size, len);
	free(z);
	return rc;
}

/* The checksum of what the archive holds under en->rel ("" if unreadable). */
static void stored_sum(struct push *p, const struct mb_wal_entry *en, char sum[])
{
	struct mb_error ignored = { 0 };
	struct mb_wal_entry got;
	size_t k = strlen(MB_WAL_ZST), rl = strlen(en->rel), n;
	char where[4200];
	void *buf = NULL, *raw = NULL;

	sum[0] = '\0';
	if (p->s->ops->read(p->s, en->rel, MB_WAL_FILE_MAX, &buf, &got, &ignored) != 0)
		return;
	mb_wal_store_where(p->s, en->rel, where, sizeof(where));
	if (rl > k && strcmp(en->rel + rl - k, MB_WAL_ZST) == 0) {
		if (mb_wal_zstd_unpack(buf, got.size, MB_WAL_FILE_MAX, where, &raw, &n, &ignored) == 0)
			mb_hash_buf_hex(raw, n, sum);
	} else {
		mb_hash_buf_hex(buf, got.size, sum);
	}
	free(raw);
	free(buf);
}

/* The name is archived already as en: same content is success (a damaged
 * copy is repaired, a missing checksum written), other content refused. */
static int compare(struct push *p, const struct mb_wal_entry *en, struct mb_error *e)
{
	char theirs[MB_HASH_HEX_LEN + 1], where[4200];
	bool has_sum = en->sum[0] != '\0';

	stored_sum(p, en, theirs);
	mb_wal_store_where(p->s, en->rel, where, sizeof(where));
	if (strcmp(p->sum, has_sum ? en->sum : theirs) != 0) {
		mb_fail(e, MB_ERR_TARGET, 0, "unable to archive '%s': the archive holds another "
			"'%s' (checksum %s, this file %s)", p->src, p->name,
			has_sum ? en->sum : theirs[0] ? theirs : "unreadable", p->sum);
		mb_hint(e, "the archived file is kept; is another cluster archiving into '%s'?",
			p->s->spec);
		return -1;
	}
	if (has_sum && strcmp(theirs, en->sum) == 0) {
		mb_debug("wal-push: '%s' is archived already, same checksum", p->name);
		return 0;
	}
	mb_warn("wal-push: archived '%s' %s; stored again from '%s'", where,
		has_sum ? "was damaged" : "had no checksum", p->src);
	return store(p, en->rel, true, e);
}

/* Where the name is archived already: as rel, or (a segment) under its
 * other name (plain or .zst, whichever rel is not).  0 with en, 1 if not;
 * a store that refuses an existing name by itself is asked for the other
 * name only. */
static int find(struct push *p, const char *rel, struct mb_wal_entry *en, struct mb_error *e)
{
	char other[MB_WAL_REL_MAX];
	int rc = 1;

	if (!p->s->ops->create_is_atomic && (rc = p->s->ops->stat(p->s, rel, en, e)) <= 0)
		return rc;
	if (!compressible(p))
		return 1;
	mb_wal_rel(&p->wn, p->name, !(p->level && compressible(p)), other);
	return p->s->ops->stat(p->s, other, en, e);
}

/* A new name stored, or the one found (or stored by a racing push) compared. */
static int archive(struct push *p, struct mb_error *e)
{
	char rel[MB_WAL_REL_MAX];
	struct mb_wal_entry en;
	int rc;

	mb_wal_rel(&p->wn, p->name, p->level && compressible(p), rel);
	if ((rc = find(p, rel, &en, e)) == 1) {
		if ((rc = store(p, rel, false, e)) != 1)
			return rc;
		if ((rc = p->s->ops->stat(p->s, rel, &en, e)) != 0)
			return rc < 0 ? -1 : mb_fail(e, MB_ERR_IO, 0, "unable to archive '%s': "
						     "its name comes and goes", p->src);
	}
	return rc < 0 ? -1 : compare(p, &en, e);
}

int mb_cmd_wal_push(const struct mb_options *o, struct mb_error *e)
{
	struct push p = { 0 };
	int rc = -1, lock = -1;

	if (o->args.n != 1) {
		mb_fail(e, MB_ERR_USAGE, 0, "wal-push takes one file (%zu given)", o->args.n);
		mb_hint(e, "archive_command = 'mbackup wal-push %%p'");
		return -1;
	}
	p.src = o->args.v[0];
	if (mb_wal_archive_open(o, &p.s, &p.level, e) < 0 || open_source(&p, e) < 0 ||
	    mb_wal_store_lock(p.s, &lock, e) < 0)
		goto out;
	if (compressible(&p) && check_segment(&p, e) < 0)
		goto out;
	if ((rc = archive(&p, e)) == 0)
		mb_wal_failure_clear(p.s);
out:
	if (rc < 0 && p.s && e->code != MB_ERR_USAGE)
		mb_wal_failure_record(p.s, p.name[0] ? p.name : p.src, e->msg);
	if (lock >= 0)
		close(lock);
	free(p.data);
	mb_wal_store_close(p.s);
	return rc;
}
