/* The WAL archive directory of the options; see wal_cmd.h. */
#include "orchestrator/wal_cmd.h"

#include <errno.h>
#include <sys/stat.h>

const char *mb_wal_archive_dir(const struct mb_options *o, struct mb_error *e)
{
	struct stat st;
	int err;

	if (!o->wal_archive || !o->wal_archive[0]) {
		mb_fail(e, MB_ERR_USAGE, 0, "no WAL archive given for '%s'", o->verb_name);
		mb_hint(e, "give --wal-archive DIR, or 'wal-archive = DIR' in /etc/mbackup/mbackup.conf "
			"(or the file $MBACKUP_CONFIG names)");
		return NULL;
	}
	err = stat(o->wal_archive, &st) < 0 ? errno : S_ISDIR(st.st_mode) ? 0 : ENOTDIR;
	if (err) {
		mb_fail(e, MB_ERR_CONFIG, err, "unable to use WAL archive '%s'",
			o->wal_archive);
		mb_hint(e, "create it, owned by the user PostgreSQL runs as: "
			"install -d -o postgres -m 0750 %s", o->wal_archive);
		return NULL;
	}
	return o->wal_archive;
}
