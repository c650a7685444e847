/*
 * `mbackup restore --target-...`: a restore to a point in time.  Before
 * anything is written: the target is checked (the plugin that knows the
 * database parses it), the backup to start from is chosen in the catalog
 * (--from: the one given, which must lie before the target), and the WAL
 * archive is checked to hold every segment from that backup's start on.
 * After the restore published every file: the plugin writes what makes
 * the copy replay to the target when it is started, fetching the WAL
 * with `mbackup wal-get` from the same archive, catalog and config.
 */
#ifndef MB_RESTORE_PITR_H
#define MB_RESTORE_PITR_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"
#include "orchestrator/catalog.h"
#include "orchestrator/options.h"
#include "plugins/quiesce/quiesce.h"

struct mb_pitr {
	struct mb_recovery_target t;
	const struct mb_quiesce_ops *plugin;	/* the one with the recovery op */
	const struct mb_catalog_point *point;	/* the backup chosen */
	const char *archive;	/* the WAL archive (--wal-archive) */
	const struct mb_s3_settings *s3;	/* its store's, if on one */
	struct mb_recovery_span span;	/* the chosen backup's WAL */
	uint32_t target_tli;	/* the timeline recovery follows */
	char **from;		/* its media as --from takes them (no --from given) */
	size_t n_from;
	char backup_id[24];	/* --backup for them (a tape), "" if none */
	char chain_id[24];	/* an incremental chosen: its id, restored through
				 * its chain (restore_chain.c); "" otherwise */
	struct mb_catalog_point *points;
	size_t n_points;
};

/* A target option is given. */
bool mb_pitr_wanted(const struct mb_options *opt);

/* Checks the target, chooses the backup, checks the archive; writes
 * nothing.  Malformed: MB_ERR_USAGE; no backup before the target, a
 * segment missing from the archive: MB_ERR_NOT_FOUND, with a hint. */
int mb_pitr_prepare(struct mb_pitr *p, const struct mb_options *opt, struct mb_error *e);

/* Into opt->to, restored and published: the recovery settings. */
int mb_pitr_finish(struct mb_pitr *p, const struct mb_options *opt, struct mb_error *e);

/* The restore's JSON report gets "backup" (the run id started from),
 * "target" (kind), "target_value" (as given, or null) and "timeline"
 * (the one followed). */
void mb_pitr_json(const struct mb_pitr *p, json_t *report);

void mb_pitr_free(struct mb_pitr *p);

#endif
