/*
 * The WAL archive's verbs (orchestrator/wal_archive.h is the archive):
 *   wal-push PATH         archive_command = 'mbackup wal-push %p'
 *   wal-get NAME PATH     restore_command = 'mbackup wal-get %f %p'
 *   wal-check             continuity from each complete backup's start
 *   expire --retain N     keep the newest N complete backups and their WAL
 * Each reports through e; main() prints it (wal-get's "not archived" has
 * no message: PostgreSQL probes for files that do not exist).
 */
#ifndef MB_WAL_CMD_H
#define MB_WAL_CMD_H

#include "common/error.h"
#include "orchestrator/options.h"

int mb_cmd_wal_push(const struct mb_options *o, struct mb_error *e);
int mb_cmd_wal_get(const struct mb_options *o, struct mb_error *e);
int mb_cmd_wal_check(const struct mb_options *o, struct mb_error *e);
int mb_cmd_expire(const struct mb_options *o, struct mb_error *e);

/* The archive's state in a few lines on stdout (list shows them): its
 * segments, the newest and its age, the latest failed wal-push. */
void mb_wal_archive_summary(const struct mb_options *o);

/* --wal-archive (or the config's wal-archive), a store that can be opened
 * (an existing directory, or s3://BUCKET/PREFIX): MB_ERR_USAGE when none
 * is given, MB_ERR_CONFIG when it cannot be used. */
const char *mb_wal_archive_dir(const struct mb_options *o, struct mb_error *e);

/* check: the archive of the options (none given: nothing to do) opened
 * and its archive.info read, which an absent one may lack: on s3:// one
 * GET that meets wrong credentials (403), an absent bucket (404
 * NoSuchBucket) or a gateway that is down, each with its one line and
 * hint (MB_ERR_MEDIA); an unusable directory is MB_ERR_CONFIG. */
int mb_wal_archive_probe(const struct mb_options *o, struct mb_error *e);

#endif
