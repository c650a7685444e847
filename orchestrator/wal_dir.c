/* The WAL archive of the options; see wal_cmd.h and wal_file.h. */
#include "orchestrator/wal_cmd.h"
#include "orchestrator/wal_file.h"
#include "orchestrator/wal_archive.h"

#include "plugins/media/media.h"

static int archive_given(const struct mb_options *o, struct mb_error *e)
{
	if (o->wal_archive && o->wal_archive[0])
		return 0;
	mb_fail(e, MB_ERR_USAGE, 0, "no WAL archive given for '%s'", o->verb_name);
	mb_hint(e, "give --wal-archive DIR (or s3://BUCKET/PREFIX), or 'wal-archive = DIR' in "
		"/etc/mbackup/mbackup.conf (or the file $MBACKUP_CONFIG names)");
	return -1;
}

int mb_wal_archive_open(const struct mb_options *o, struct mb_wal_store **s, int *level,
			struct mb_error *e)
{
	struct mb_media_params p;

	*s = NULL;
	if (archive_given(o, e) < 0 || mb_options_media_params(o, 0, &p, e) < 0)
		return -1;
	if (level)
		*level = p.compress.level;
	return mb_wal_store_open(o->wal_archive, &o->s3, s, e);
}

const char *mb_wal_archive_dir(const struct mb_options *o, struct mb_error *e)
{
	struct mb_wal_store *s;

	if (mb_wal_archive_open(o, &s, NULL, e) < 0)
		return NULL;
	mb_wal_store_close(s);
	return o->wal_archive;
}

int mb_wal_archive_probe(const struct mb_options *o, struct mb_error *e)
{
	struct mb_wal_store *s;
	uint64_t sysid;
	uint32_t seg_size;
	int rc;

	if (!o->wal_archive || !o->wal_archive[0])
		return 0;
	if (mb_wal_archive_open(o, &s, NULL, e) < 0)
		return -1;
	rc = mb_wal_info_read(s, &sysid, &seg_size, e);
	mb_wal_store_close(s);
	return rc;
}
