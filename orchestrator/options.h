/*
 * Options: one table drives the command line, the config file, --help,
 * range checks and the copy of the effective configuration stored with
 * each run.  Precedence: default < config file < command line.
 */
#ifndef MB_OPTIONS_H
#define MB_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"
#include "plugins/media/media.h"

enum mb_verb {
	MB_VERB_BACKUP = 1 << 0,
	MB_VERB_CHECK = 1 << 1,
	MB_VERB_LS = 1 << 2,
	MB_VERB_VERIFY = 1 << 3,
	MB_VERB_RESTORE = 1 << 4,
	MB_VERB_LIST = 1 << 5,
	MB_VERB_RECOVER = 1 << 6,
	/* Bits handed out ahead to the verbs being built in parallel (the
	 * WAL archive, increments, info), so their branches merge without
	 * renumbering; a verb exists once it is in options.c's verbs[]. */
	MB_VERB_WAL_PUSH = 1 << 7,
	MB_VERB_WAL_GET = 1 << 8,
	MB_VERB_WAL_CHECK = 1 << 9,
	MB_VERB_EXPIRE = 1 << 10,
	MB_VERB_CONSOLIDATE = 1 << 11,
	MB_VERB_INFO = 1 << 12,
};
#define MB_VERB_ALL ((1 << 13) - 1)

struct mb_strlist {
	char **v;
	size_t n;
};

struct mb_options {
	enum mb_verb verb;
	const char *verb_name;
	char *db;			/* "none" or "postgres" */
	char *mode;			/* postgres: "hot" or "freeze" */
	char *pg_conn;			/* libpq conninfo; NULL: environment */
	struct mb_strlist mirrors;
	struct mb_strlist sources;
	struct mb_strlist media;
	char *catalog;
	long freeze_timeout;		/* seconds */
	long sync_timeout;		/* seconds P1 waits for a mirror resync */
	bool keep_split;
	/* lvm raid1: the proof after the merge (orchestrator/mirror_proof.h) */
	char *mirror_proof;		/* auto, witness, full */
	long mirror_check_runs;		/* a full check due after this many witness runs */
	long mirror_check_days;		/* ... or this many days */
	char *lvm_split;		/* "auto", "helper" or "lvconvert" (lvm.c) */
	/* lvm snapshot (plugins/mirror/snapshot.c) */
	char *snapshot_size;		/* "10%" or a size */
	char *snapshot_pv;
	long snapshot_chunk;		/* bytes */
	long snapshot_extend_max;	/* bytes; 0: the free space */
	char *throttle_writers;		/* "auto" or "off" */
	char *discard_behind;		/* "auto" or "off": thin snapshots */
	bool force;
	char *output;			/* "text" or "json" */
	char *log_level;
	char *log_file;
	char *config;
	struct mb_strlist froms;	/* --from, repeatable (a set) */
	const char *from;		/* froms.v[0], or NULL */
	long segment_threshold;		/* bytes; 0: total / number of media */
	char *order;			/* desc, asc, logical */
	char *order_file;		/* the stream's order (order_file.h), or NULL */
	long device_timeout;		/* seconds a device may stall */
	char *to;
	struct mb_strlist files;	/* restore --file */
	/* tape media (plugins/media/tape.h) */
	long block_size;		/* bytes; 0: the tape default */
	bool append, overwrite;
	char *volume_change;		/* command run to load the next volume */
	char *buffer;			/* RAM ring size, e.g. "64M" */
	char *backup;			/* ls/verify/restore: which image on a tape;
					 * restore without --from: the catalog's
					 * backup id (orchestrator/restore_chain.c) */
	char *progress;			/* auto, line, log, json, none (progress.h) */
	long progress_interval;		/* seconds between log / json reports */
	char *progress_to;		/* json: a path or fd:N; NULL: stderr */
	char *since;			/* list: an age (36h) or a UTC time */
	long limit;			/* list: the newest N runs; 0: all */
	/* yielding to production (orchestrator/pace.h) */
	long max_rate;			/* bytes/s read from the split leg, 0: no cap */
	char *io_nice;			/* idle | best-effort:N, NULL: unchanged */
	char *checkpoint;		/* postgres: spread | fast */
	char *yield;			/* auto | off */
	bool help, version;
	bool incremental;		/* backup: only the blocks changed since --base */
	long base;			/* backup --incremental: base run id (0: newest) */
	char *compress;			/* none, zstd, zstd:LEVEL */
	long compress_threads;		/* 0: one per online CPU */
	/* restore to a point in time (orchestrator/restore_pitr.c) */
	char *target_time, *target_lsn, *target_xid, *target_name;
	char *target;			/* latest | immediate */
	char *target_action;		/* promote | pause | shutdown */
	char *target_inclusive;		/* true | false */
	char *target_timeline;		/* latest | current | N */
	/* the WAL archive (orchestrator/wal_cmd.h) */
	char *wal_archive;		/* directory; the config's wal-archive */
	long retain;			/* expire: complete backups kept */
	struct mb_strlist args;		/* wal-push PATH, wal-get NAME PATH */
	/* the object store (s3:// media): config file only, never argv */
	char *s3_endpoint, *s3_region, *s3_access_key, *s3_secret_key, *s3_uri_style;
	bool full_recheck;		/* no change journal (extentmap.h) */
	struct mb_s3_settings s3;	/* the five s3-* above, for the media, the
					 * WAL archive and the undos (set at parse) */
};

/* Parses argv (and the one --config file, if any) into o.  Usage errors
 * get MB_ERR_USAGE with a hint pointing at --help; a config file refused
 * (a line: "config 'FILE' line N: ...", or the file's owner and mode) and
 * a --volume-change program others could change get MB_ERR_CONFIG.  A
 * password in --pg-conn on the command line is logged as a warning. */
int mb_options_parse(struct mb_options *o, int argc, char **argv,
		     struct mb_error *e);
void mb_options_free(struct mb_options *o);
/* --help text for the verb (all verbs if none given). */
void mb_options_usage(const struct mb_options *o);
/* The value of a text option by its name ("mode"), NULL if unset or not a
 * text option: how plugins read their options without knowing this
 * struct. */
const char *mb_options_text(const struct mb_options *o, const char *name);
/* The effective configuration as JSON text (malloc'ed), for the catalog. */
char *mb_options_json(const struct mb_options *o);

/* The media drivers' options (plugins/media/media.h), checked: --append
 * with --overwrite and a bad --buffer are usage errors; --device-timeout
 * and the stop of orchestrator/signals.h go with them (n_media unused). */
struct mb_media_params;
int mb_options_media_params(const struct mb_options *o, size_t n_media,
			    struct mb_media_params *p, struct mb_error *e);

#endif
