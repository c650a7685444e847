/*
 * The cluster's rules for the backup set: where it must live, what the
 * image needs beyond the split leg's files, and what it must not get.
 *
 *   source     the data directory is the source (P0)
 *   place      the data directory, tablespaces and pg_wal against the legs
 *   filter     drop what a restored cluster must not inherit (the
 *              postmaster's pid file, temporary and runtime directories'
 *              contents, replication slots, and in hot mode the split
 *              leg's WAL, which stops at the split instant)
 *   artifacts  after pg_backup_stop: backup_label and tablespace_map from
 *              memory, and the WAL from the start to the stop LSN read
 *              from the LIVE pg_wal (the temporary slot keeps it), so the
 *              extracted image starts as it is
 */
#include "plugins/quiesce/postgres/pg_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common/log.h"
#include "common/mountinfo.h"

/* Directories whose contents a restored cluster must start without
 * (the directories themselves are kept, empty). */
static const char *const emptied_dirs[] = {
	"pg_dynshmem", "pg_notify", "pg_replslot", "pg_serial",
	"pg_snapshots", "pg_stat_tmp", "pg_subtrans",
};

/* Files left out wherever they are, or at the top. */
static const char *const dropped_top[] = {
	"postmaster.pid", "postmaster.opts", "backup_label", "tablespace_map",
	"backup_manifest",	/* a restored pg_basebackup's: the image has its own */
};

static bool inside(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	return strncmp(path, dir, n) == 0 && path[n] == '/';
}

static bool excluded(const char *path, bool hot)
{
	const char *base = strrchr(path, '/');

	base = base ? base + 1 : path;
	if (strcmp(base, "pg_internal.init") == 0)
		return true;
	for (size_t i = 0; i < sizeof(dropped_top) / sizeof(dropped_top[0]); i++)
		if (strcmp(path, dropped_top[i]) == 0)
			return true;
	for (size_t i = 0; i < sizeof(emptied_dirs) / sizeof(emptied_dirs[0]); i++)
		if (inside(path, emptied_dirs[i]))
			return true;
	/* Hot: the WAL comes from the live pg_wal after the stop. */
	return hot && inside(path, "pg_wal") && strcmp(path, "pg_wal/archive_status") != 0;
}

/* The source of a postgres run is its data directory; a --source given
 * as well must name the same directory. */
const char *mb_pg_source(struct mb_quiesce *q, const char *given, struct mb_error *e)
{
	const struct mb_pg_info *info = mb_pg_info(q);
	char *real;
	bool same;

	if (!info) {
		mb_fail(e, MB_ERR_INTERNAL, 0, "postgres plugin asked for its source before discover");
		return NULL;
	}
	if (!given)
		return info->data_directory;
	real = realpath(given, NULL);
	same = real && strcmp(real, info->data_directory) == 0;
	free(real);
	if (!same) {
		mb_fail(e, MB_ERR_SOURCE, 0, "--source '%s' is not the data directory of the cluster ('%s')",
			given, info->data_directory);
		mb_hint(e, "leave --source out: mbackup asks the server where its data directory is");
		return NULL;
	}
	return info->data_directory;
}

/* The leg a directory of the cluster lives on, or a failure naming it. */
static int leg_of(const struct mb_quiesce_leg *legs, size_t n, const char *what,
		  const char *path, struct mb_error *e)
{
	struct stat st;
	struct mb_mount m;

	if (stat(path, &st) < 0)
		return mb_fail(e, MB_ERR_SOURCE, errno, "unable to stat %s '%s'", what, path);
	for (size_t i = 0; i < n; i++)
		if (legs[i].dev == st.st_dev)
			return (int)i;
	if (mb_mount_by_dev(st.st_dev, &m, NULL) < 0)
		snprintf(m.mountpoint, sizeof(m.mountpoint), "?");
	mb_fail(e, MB_ERR_SOURCE, 0, "%s '%s' is on the filesystem at '%s', which is on no given mirror",
		what, path, m.mountpoint);
	mb_hint(e, "add the --mirror that filesystem is mounted from");
	return -1;
}

/* Where the cluster lives against the mirrors given: the data directory
 * on legs[0], tablespaces there too (others are not supported yet), pg_wal
 * on any leg in hot mode (its WAL is read live) but on legs[0] in freeze
 * mode (read from the split leg); and no mirror that holds none of it. */
int mb_pg_place(struct mb_quiesce *q, const struct mb_quiesce_leg *legs, size_t n,
		struct mb_error *e)
{
	const struct mb_pg_info *info = mb_pg_info(q);
	bool hot = ((struct pg *)q->priv)->mode == MB_PG_HOT;
	int wal;

	if (!info)
		return mb_fail(e, MB_ERR_INTERNAL, 0, "postgres plugin placed before discover");
	if ((wal = leg_of(legs, n, "pg_wal", info->wal_directory, e)) < 0)
		return -1;
	if (wal > 0 && !hot) {
		mb_fail(e, MB_ERR_SOURCE, 0, "--mode freeze needs pg_wal ('%s') on the data directory's filesystem",
			info->wal_directory);
		mb_hint(e, "use --mode hot, which copies the WAL from the live pg_wal");
		return -1;
	}
	for (size_t i = 0; i < info->n_tablespaces; i++) {
		int leg = leg_of(legs, n, "tablespace", info->tablespaces[i].location, e);

		if (leg < 0)
			return -1;
		if (leg > 0) {
			mb_fail(e, MB_ERR_SOURCE, 0, "tablespace '%s' ('%s') is on another filesystem than the data directory",
				info->tablespaces[i].name, info->tablespaces[i].location);
			mb_hint(e, "tablespaces on their own mirror are not supported yet");
			return -1;
		}
	}
	for (size_t i = 1; i < n; i++)
		if ((int)i != wal) {
			mb_fail(e, MB_ERR_USAGE, 0, "mirror '%s' holds nothing of the cluster",
				legs[i].mirror);
			mb_hint(e, "give the mirrors of the data directory and of pg_wal only");
			return -1;
		}
	return 0;
}

enum mb_quiesce_keep mb_pg_filter(struct mb_quiesce *q, const char *path)
{
	if (excluded(path, ((struct pg *)q->priv)->mode == MB_PG_HOT))
		return MB_QUIESCE_DROP;
	/* A pg_wal symlink would point the restored cluster at the
	 * production WAL: it becomes a directory of its own. */
	return strcmp(path, "pg_wal") == 0 ? MB_QUIESCE_AS_DIR : MB_QUIESCE_KEEP;
}

void mb_pg_filtered(struct mb_quiesce *q, size_t dropped)
{
	mb_info("postgres: %zu entries left out of the image (pid file, runtime directories%s)",
		dropped, ((struct pg *)q->priv)->mode == MB_PG_HOT ? ", the split leg's WAL" : "");
}

/* A file the image gets from memory (backup_label, tablespace_map). */
static int add_content(struct mb_set *set, const char *path, const char *text,
		       const struct stat *owner, struct mb_error *e)
{
	struct mb_entry *ent = mb_set_add(set);

	if (!ent || !(ent->path = strdup(path)) || mb_entry_set_content(ent, strdup(text)) < 0 ||
	    !mb_entry_content(ent))
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to add '%s' to the image", path);
	ent->type = MB_T_FILE;
	ent->size = ent->seg_length = strlen(text);
	ent->mode = S_IFREG | 0600;
	ent->uid = owner->st_uid;
	ent->gid = owner->st_gid;
	ent->mtime_sec = time(NULL);
	ent->nlink = 1;
	return 0;
}

/* A WAL segment read from the live pg_wal while streaming. */
static int add_wal(struct mb_set *set, const char *dir, const char *name,
		   struct mb_error *e)
{
	struct mb_entry *ent = mb_set_add(set);
	struct stat st;
	char *live;

	if (!ent || asprintf(&live, "%s/%s", dir, name) < 0 || mb_entry_set_live_path(ent, live) < 0 ||
	    asprintf(&ent->path, "pg_wal/%s", name) < 0)
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to add WAL '%s'", name);
	if (stat(mb_entry_live_path(ent), &st) < 0) {
		mb_fail(e, MB_ERR_DATABASE, errno, "WAL segment '%s' needed by the backup is gone",
			mb_entry_live_path(ent));
		mb_hint(e, "the temporary slot should keep it: is something removing WAL by hand?");
		return -1;
	}
	ent->type = MB_T_FILE;
	ent->ino = st.st_ino;
	ent->size = ent->seg_length = st.st_size;
	ent->mode = st.st_mode;
	ent->uid = st.st_uid;
	ent->gid = st.st_gid;
	ent->mtime_sec = st.st_mtim.tv_sec;
	ent->mtime_nsec = st.st_mtim.tv_nsec;
	ent->nlink = 1;
	return 0;
}

int mb_pg_artifacts(struct mb_quiesce *q, struct mb_set *set, struct mb_error *e)
{
	const struct mb_pg_backup *b = mb_pg_backup_result(q);
	const struct mb_pg_info *info = mb_pg_info(q);
	char **names = NULL;
	size_t n = 0;
	struct stat owner;
	int rc = -1;

	if (!b)		/* freeze mode: the split leg is all there is */
		return 0;
	if (stat(info->data_directory, &owner) < 0)
		return mb_fail(e, MB_ERR_SOURCE, errno, "unable to stat '%s'", info->data_directory);
	if (add_content(set, "backup_label", b->backup_label, &owner, e) < 0 ||
	    (b->tablespace_map[0] &&
	     add_content(set, "tablespace_map", b->tablespace_map, &owner, e) < 0) ||
	    mb_pg_wal_segments(b->timeline, b->start_lsn, b->stop_lsn, info->wal_segment_size,
			       &names, &n, e) < 0)
		goto out;
	for (size_t i = 0; i < n; i++)
		if (add_wal(set, info->wal_directory, names[i], e) < 0)
			goto out;
	mb_info("postgres: backup_label, %s%zu WAL segment(s) %s..%s from the live pg_wal",
		b->tablespace_map[0] ? "tablespace_map, " : "", n, n ? names[0] : "-",
		n ? names[n - 1] : "-");
	rc = 0;
out:
	mb_pg_wal_segments_free(names, n);
	return rc;
}
