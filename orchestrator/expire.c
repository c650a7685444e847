/*
 * expire --retain N: keeps the newest N complete backups.  Every finished
 * run older than the oldest of them goes: its image files on file media
 * are removed and its catalog rows deleted; a run with an image on tape
 * is marked expired instead (mbackup does not erase tapes; the catalog
 * still says what is on them); an image on s3:// is deleted from the store.  A run holding a pending obligation is
 * left for recover.  Then, with a WAL archive, the WAL no kept backup
 * needs (mb_wal_prune).  Under the catalog lock: never beside a backup.
 */
#include "orchestrator/wal_cmd.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "orchestrator/catalog_wal.h"
#include "orchestrator/lock.h"
#include "orchestrator/wal_archive.h"
#include "orchestrator/wal_file.h"
#include "plugins/media/s3_object.h"

/* Removes one run's images (files, objects on the store); *on_tape when
 * one is on tape. */
static int remove_images(const struct mb_wal_backup *r, const struct mb_s3_settings *s3, bool *on_tape,
			 struct mb_error *e)
{
	*on_tape = false;
	for (size_t i = 0; i < r->n_media; i++) {
		const char *m = r->media[i];
		bool file = strncmp(m, "file:", 5) == 0, object = strncmp(m, "s3://", 5) == 0;

		if (strncmp(m, "tape:", 5) == 0)
			*on_tape = true;
		else if (file && unlink(m + 5) < 0 && errno != ENOENT)
			return mb_fail(e, MB_ERR_IO, errno, "unable to remove image '%s'", m + 5);
		else if (object && mb_s3_obj_remove_url(m, s3, e) < 0)
			return -1;
		if (file || object)
			mb_info("expire: run %" PRId64 ": image '%s' removed", r->run_id,
				file ? m + 5 : m);
	}
	return 0;
}

static int expire_runs(struct mb_catalog *c, const struct mb_s3_settings *s3, int64_t oldest_kept,
		       size_t *removed, struct mb_error *e)
{
	struct mb_wal_backup *r;
	size_t n;
	int rc = 0;

	*removed = 0;
	if (mb_catalog_runs_before(c, oldest_kept, &r, &n, e) < 0)
		return -1;
	for (size_t i = 0; i < n && rc == 0; i++) {
		bool on_tape;

		if ((rc = remove_images(&r[i], s3, &on_tape, e)) == 0)
			rc = mb_catalog_run_expire(c, r[i].run_id, on_tape, e);
		if (rc == 0)
			mb_info("expire: run %" PRId64 " %s", r[i].run_id,
				on_tape ? "marked expired (its image is on tape)" : "removed");
		*removed += rc == 0;
	}
	mb_catalog_wal_backups_free(r, n);
	return rc;
}

/* The WAL the kept backups b[0..n) do not need. */
static int expire_wal(struct mb_wal_store *archive, const struct mb_wal_backup *b, size_t n,
		      struct mb_error *e)
{
	struct mb_wal_keep keep[n ? n : 1];
	struct mb_wal_pruned out;
	uint64_t sysid;
	uint32_t seg_size;
	size_t k = 0;

	if (mb_wal_info_read(archive, &sysid, &seg_size, e) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (b[i].tli)
			keep[k++] = (struct mb_wal_keep){ b[i].tli, mb_wal_backup_start(&b[i], seg_size) };
	if (k == 0) {
		mb_warn("expire: no kept backup has WAL; the WAL archive '%s' is left as it is",
			archive->spec);
		return 0;
	}
	if (mb_wal_prune(archive, keep, k, &out, e) < 0)
		return -1;
	mb_info("expire: %zu WAL file(s) (%" PRIu64 " bytes) removed from '%s'%s%s, in %zu "
		"request(s)", out.files, out.bytes, archive->spec,
		out.oldest_kept[0] ? ", oldest kept " : "", out.oldest_kept, out.requests);
	return 0;
}

/* The catalog's record of the archive, after the WAL went (wal_record.c). */
static int record_archive(struct mb_catalog *c, struct mb_wal_store *archive, struct mb_error *e)
{
	struct mb_wal_scan s = { 0 };
	size_t added, dropped;
	int rc = mb_wal_scan(archive, &s, e);

	if (rc == 0)
		rc = mb_catalog_wal_record(c, archive, &s, &added, &dropped, e);
	mb_wal_scan_free(&s);
	return rc;
}

int mb_cmd_expire(const struct mb_options *o, struct mb_error *e)
{
	struct mb_wal_store *archive = NULL;
	struct mb_catalog *c = NULL;
	struct mb_wal_backup *b = NULL;
	size_t n = 0, kept, removed = 0;
	int lock = -1, rc = -1;

	if (o->retain < 1) {
		mb_fail(e, MB_ERR_USAGE, 0, "missing --retain");
		mb_hint(e, "e.g. mbackup expire --retain 7 keeps the newest 7 complete backups");
		return -1;
	}
	if (o->wal_archive && mb_wal_archive_open(o, &archive, NULL, e) < 0)
		return -1;
	if (access(o->catalog, F_OK) < 0) {
		mb_fail(e, MB_ERR_CATALOG, errno, "no catalog at '%s'", o->catalog);
		mb_hint(e, "no backup has run with this catalog yet (see --catalog)");
		goto out;
	}
	if (mb_lock_catalog(o->catalog, &lock, e) < 0 || mb_catalog_open(&c, o->catalog, e) < 0 ||
	    mb_catalog_wal_backups(c, &b, &n, e) < 0)
		goto out;
	kept = n < (size_t)o->retain ? n : (size_t)o->retain;
	if (kept && expire_runs(c, &o->s3, b[kept - 1].run_id, &removed, e) < 0)
		goto out;
	if (archive && (expire_wal(archive, b, kept, e) < 0 || record_archive(c, archive, e) < 0))
		goto out;
	printf("expire: %zu complete backup(s) kept, %zu run(s) expired\n", kept, removed);
	rc = 0;
out:
	mb_catalog_wal_backups_free(b, n);
	if (c)
		mb_catalog_close(c);
	if (lock >= 0)
		mb_lock_release(lock);
	mb_wal_store_close(archive);
	return rc;
}
