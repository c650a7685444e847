/* The option table and the command line; see options.h.  The config
 * file is read by options_file.c. */
#include "orchestrator/options.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "orchestrator/pace.h"
#include "orchestrator/signals.h"
#include "common/trust.h"
#include "orchestrator/help.h"
#include "orchestrator/mirror_proof.h"
#include "orchestrator/progress.h"
#include "orchestrator/options_internal.h"
#include "plugins/media/media.h"
#include "plugins/quiesce/postgres/pg_lib.h"
#include "plugins/quiesce/postgres/postgres.h"

#define MB_DEFAULT_CATALOG "/var/lib/mbackup/catalog.db"
#define MB_DEFAULT_CONFIG "/etc/mbackup/mbackup.conf"

#define V_BACKUP (MB_VERB_BACKUP | MB_VERB_CHECK)
#define V_ALL MB_VERB_ALL

const struct opt_def mb_opt_table[] = {
	{ "db", OPT_STR, V_BACKUP | MB_VERB_WAL_CHECK, OFF(db), "postgres|none", NULL, 0, 0,
	  "what to quiesce: postgres, or none (freeze the source filesystem only)" },
	{ "mode", OPT_STR, V_BACKUP, OFF(mode), "hot|freeze", "hot", 0, 0,
	  "postgres: hot = backup mode with the WAL as redo log, freeze = checkpoint + freeze" },
	{ "pg-conn", OPT_STR, V_BACKUP | MB_VERB_WAL_CHECK, OFF(pg_conn), "CONNINFO", NULL, 0, 0,
	  "postgres: libpq connection string (default: PGHOST, PGPORT, PGUSER...); never a "
	  "password here: every local user can read it in /proc/PID/cmdline while mbackup runs "
	  "(mbackup warns), use PGPASSFILE (~/.pgpass) or a service file (service=NAME, PGSERVICE)" },
	{ "mirror", OPT_LIST, V_BACKUP, OFF(mirrors), "VG/LV", NULL, 0, 0,
	  "mirror holding the source: an LVM volume (VG/LV, /dev/VG/LV or /dev/mapper/VG-LV) or "
	  "loop:/dev/loopN; repeatable (the data directory and pg_wal on two)" },
	{ "source", OPT_LIST, V_BACKUP, OFF(sources), "DIR", NULL, 0, 0,
	  "directory to back up (on the mirror's filesystem); postgres: the data directory, found by itself" },
	{ "media", OPT_LIST, V_BACKUP | MB_VERB_CONSOLIDATE, OFF(media), "SPEC", NULL, 0, 0,
	  "where the image goes: file:PATH, pipe:FIFO, tape:/dev/nstN, s3://BUCKET/KEY or - (stdout); repeat to write several devices at "
	  "once (in a config file: one media line with the specs separated by spaces)" },
	{ "segment-threshold", OPT_SIZE, MB_VERB_BACKUP, OFF(segment_threshold), "SIZE", "0", 0,
	  1L << 62, "several media: cut files larger than this (K/M/G; 0: total / number of media)" },
	{ "order", OPT_STR, MB_VERB_BACKUP, OFF(order), "desc|asc|logical", "desc", 0, 0,
	  "several media: the order items are placed in" },
	{ "order-file", OPT_STR, V_BACKUP, OFF(order_file), "FILE", NULL, 0, 0,
	  "stream the files it lists first, in its order: one path or glob below the source a line "
	  "(e.g. the relations written most, for a snapshot to copy less)" },
	{ "device-timeout", OPT_LONG, MB_VERB_BACKUP, OFF(device_timeout), "SECONDS", "300", 0, 86400,
	  "a device (a FIFO, a socket) stalled this long has failed (0: never); one of several fails over" },
	{ "catalog", OPT_STR, V_ALL, OFF(catalog), "PATH", MB_DEFAULT_CATALOG, 0, 0,
	  "catalog database (the lock is PATH.lock)" },
	{ "freeze-timeout", OPT_LONG, V_BACKUP, OFF(freeze_timeout), "SECONDS", "10", 1, 3600,
	  "the guard thaws by itself after this long" },
	{ "sync-timeout", OPT_LONG, V_BACKUP, OFF(sync_timeout), "SECONDS", "600", 1, 86400,
	  "how long to wait for a mirror still resyncing before refusing it" },
	{ "mirror-proof", OPT_STR, V_BACKUP | MB_VERB_RECOVER, OFF(mirror_proof), "auto|witness|full",
	  "auto", 0, 0, "lvm raid1: how the merge is proven whole: auto = compare only what the "
	  "split wrote (the witness) while the catalog holds a current proof of the legs, else "
	  "a full check scrub; witness = the witness even when a full check is due (refused "
	  "without a proof on record); full = always the full check scrub" },
	{ "mirror-check-runs", OPT_LONG, V_BACKUP | MB_VERB_RECOVER | MB_VERB_INFO,
	  OFF(mirror_check_runs), "N", "7", 1, 1000,
	  "lvm raid1, --mirror-proof auto: a full check scrub is due again after N merges proven "
	  "by the witness" },
	{ "mirror-check-days", OPT_LONG, V_BACKUP | MB_VERB_RECOVER | MB_VERB_INFO,
	  OFF(mirror_check_days), "DAYS", "7", 1, 365,
	  "lvm raid1, --mirror-proof auto: a full check scrub is due again DAYS days after the "
	  "last one (or after --mirror-check-runs merges, whichever comes first)" },
	{ "snapshot-size", OPT_STR, V_BACKUP, OFF(snapshot_size), "SIZE|N%", "10%", 0, 0,
	  "lvm: a linear or striped LV is snapshotted: the COW container, a size (K/M/G) or a "
	  "percentage of the origin" },
	{ "snapshot-pv", OPT_STR, V_BACKUP, OFF(snapshot_pv), "PV", NULL, 0, 0,
	  "lvm snapshot: the PV of the volume group the container goes on (default: any)" },
	{ "snapshot-chunk", OPT_SIZE, V_BACKUP, OFF(snapshot_chunk), "SIZE", "8K", 4096, 512 << 10,
	  "lvm snapshot: the COW chunk, a power of 2 (8K: one PostgreSQL page)" },
	{ "snapshot-extend-max", OPT_SIZE, V_BACKUP, OFF(snapshot_extend_max), "SIZE", "0", 0,
	  1L << 62, "lvm snapshot: the size the watch may grow the container to (0: as far as "
	  "the free space goes)" },
	{ "throttle-writers", OPT_STR, V_BACKUP, OFF(throttle_writers), "auto|off", "auto", 0, 0,
	  "lvm snapshot: limit the writers' cgroup (io.max) when the container cannot grow" },
	{ "discard-behind", OPT_STR, V_BACKUP, OFF(discard_behind), "auto|off", "auto", 0, 0,
	  "lvm thin snapshot: give the snapshot's blocks back to the pool outside the backup set "
	  "and behind the stream (auto: when the stream reads nothing else of it)" },
	{ "lvm-split", OPT_STR, V_BACKUP, OFF(lvm_split), "lvconvert|helper|auto", "auto", 0, 0,
	  "lvm raid1: what runs the window's split: lvconvert = an lvconvert started inside the "
	  "window; helper = LVM's command library (liblvm2cmd), loaded in a helper process before "
	  "the window, so the window starts no lvm process (lvconvert, with a warning, when the "
	  "library is missing); auto = helper when the library is installed, else lvconvert; the "
	  "log says which ran" },
	{ "keep-split", OPT_BOOL, MB_VERB_BACKUP, OFF(keep_split), NULL, NULL, 0, 0,
	  "keep the split leg after streaming" },
	{ "force", OPT_BOOL, MB_VERB_BACKUP | MB_VERB_RESTORE | MB_VERB_CONSOLIDATE, OFF(force), NULL, NULL, 0, 0,
	  "overwrite an existing image file / restore into a non-empty directory" },
	{ "from", OPT_LIST, MB_VERB_LS | MB_VERB_VERIFY | MB_VERB_RESTORE, OFF(froms), "IMAGE", NULL, 0, 0,
	  "image to read (a path, or - for stdin); repeat for the images of a set" },
	{ "to", OPT_STR, MB_VERB_RESTORE, OFF(to), "DIR", NULL, 0, 0,
	  "directory to restore into" },
	{ "file", OPT_LIST, MB_VERB_RESTORE, OFF(files), "PATH", NULL, 0, 0,
	  "restore only this file (seeks straight to it); repeatable" },
	{ "block-size", OPT_LONG, V_BACKUP, OFF(block_size), "BYTES", NULL, 1, 64L << 20,
	  "tape: fixed record size (default 262144)" },
	{ "append", OPT_BOOL, V_BACKUP, OFF(append), NULL, NULL, 0, 0,
	  "tape: write after the last image instead of at the beginning" },
	{ "overwrite", OPT_BOOL, V_BACKUP, OFF(overwrite), NULL, NULL, 0, 0,
	  "tape: write over a tape that already holds data" },
	{ "volume-change", OPT_STR, V_BACKUP | MB_VERB_LS | MB_VERB_VERIFY | MB_VERB_RESTORE,
	  OFF(volume_change), "CMD", NULL, 0, 0,
	  "tape: command (split on spaces) that loads volume $MBACKUP_VOLUME into $MBACKUP_DEVICE; "
	  "run as root: given as a path, it must be owned by root and writable by no one else" },
	{ "buffer", OPT_STR, V_BACKUP, OFF(buffer), "SIZE", "64M", 0, 0,
	  "tape: RAM ring between the reader and the drive (K, M, G suffixes)" },
	{ "backup", OPT_STR, MB_VERB_LS | MB_VERB_VERIFY | MB_VERB_RESTORE | MB_VERB_INFO |
	  MB_VERB_CONSOLIDATE, OFF(backup), "ID", NULL, 0, 0, "tape: which image to read (default: "
	  "the last on the tape); restore: the catalog's backup ID, through the cheapest chain "
	  "(its images from --from, the full first, where the catalog's are read once); consolidate: the incremental backup ID; info: which run (default: the "
	  "newest backup)" },
	{ "progress", OPT_STR, MB_VERB_BACKUP | MB_VERB_RESTORE | MB_VERB_VERIFY | MB_VERB_RECOVER,
	  OFF(progress), "auto|line|log|json|none", "auto", 0, 0,
	  "bytes, total, rate, ETA and file of the stream, a restore or a verify (a percentage for "
	  "the sync and merge waits): auto = one line rewritten on a terminal, else a log line "
	  "every --progress-interval; json = one object per line to --progress-to" },
	{ "progress-interval", OPT_LONG, MB_VERB_BACKUP | MB_VERB_RESTORE | MB_VERB_VERIFY | MB_VERB_RECOVER,
	  OFF(progress_interval), "SECONDS", "30", 0,
	  3600, "seconds between two progress log lines or JSON objects (0: at every chunk)" },
	{ "progress-to", OPT_STR, MB_VERB_BACKUP | MB_VERB_RESTORE | MB_VERB_VERIFY | MB_VERB_RECOVER,
	  OFF(progress_to), "PATH", NULL, 0, 0,
	  "--progress json: append to this file, or fd:N for an inherited descriptor "
	  "(default: standard error)" },
	{ "since", OPT_STR, MB_VERB_LIST, OFF(since), "WHEN", NULL, 0, 0,
	  "only the runs started since WHEN: an age (90s, 30m, 36h, 7d) or a UTC time "
	  "(2026-12-01, 2026-12-01T22:00)" },
	{ "limit", OPT_LONG, MB_VERB_LIST, OFF(limit), "N", "0", 0, 1000000,
	  "only the newest N runs (0: all)" },
	{ "output", OPT_STR, V_ALL, OFF(output), "text|json", "text", 0, 0,
	  "output format" },
	{ "log-level", OPT_STR, V_ALL, OFF(log_level), "error|warn|info|debug", "info", 0, 0,
	  "what to log: errors only, warnings too, each phase and step (info), every external "
	  "command (debug)" },
	{ "log-file", OPT_STR, V_ALL, OFF(log_file), "PATH", NULL, 0, 0,
	  "also append the log to this file" },
	{ "config", OPT_STR, V_ALL, OFF(config), "FILE", NULL, 0, 0,
	  "read options from FILE, once: lines 'name = value', each name once, a list's values on "
	  "one line separated by spaces, only the command's options (check, recover, list: also the backup's); FILE "
	  "owned by root (or you) and writable by no one else" },
	{ "incremental", OPT_BOOL, MB_VERB_BACKUP, OFF(incremental), NULL, NULL, 0, 0,
	  "write only the blocks changed since the base backup (the newest, or --base)" },
	{ "base", OPT_LONG, MB_VERB_BACKUP, OFF(base), "ID", NULL, 1, LONG_MAX,
	  "--incremental: the backup (catalog run id) to compare against" },
	{ "max-rate", OPT_SIZE, MB_VERB_BACKUP, OFF(max_rate), "SIZE", "0", 0, 1L << 40,
	  "bytes per second read from the split leg, all readers together (K/M/G; 0: no cap)" },
	{ "io-nice", OPT_STR, MB_VERB_BACKUP, OFF(io_nice), "idle|best-effort:N", NULL, 0, 0,
	  "I/O priority of the stream's readers (only schedulers that honour it act on it: bfq "
	  "both class and level, mq-deadline the class; none and kyber ignore it)" },
	{ "checkpoint", OPT_STR, V_BACKUP, OFF(checkpoint), "spread|fast", "spread", 0, 0,
	  "postgres hot mode: spread = the start checkpoint at the database's own pace, "
	  "fast = an immediate start checkpoint (as pg_basebackup -c fast)" },
	{ "yield", OPT_STR, MB_VERB_BACKUP, OFF(yield), "auto|off", "off", 0, 0,
	  "auto: lower the read rate while the source device's latency rises, raise it after" },
	{ "help", OPT_BOOL, V_ALL, OFF(help), NULL, NULL, 0, 0, "show this help" },
	{ "version", OPT_BOOL, V_ALL, OFF(version), NULL, NULL, 0, 0, "show the version" },
	{ "compress", OPT_STR, V_BACKUP | MB_VERB_WAL_PUSH, OFF(compress), "none|zstd[:LEVEL]", "none", 0, 0,
	  "compress each image into independent zstd frames with a seek table (zstd -dc | tar "
	  "reads it; restore --file still seeks); LEVEL 1..22, default 3; name it *.zst; "
	  "wal-push: each segment stored as one zstd frame, NAME.zst" },
	{ "compress-threads", OPT_LONG, V_BACKUP, OFF(compress_threads), "N", "0", 0, 64,
	  "threads compressing each image's frames (0: one per online CPU, at most 8); each "
	  "holds 8 MiB of buffers" },
	{ "wal-archive", OPT_STR, V_BACKUP | MB_VERB_RESTORE | MB_VERB_LIST | MB_VERB_WAL_PUSH | MB_VERB_WAL_GET |
	  MB_VERB_WAL_CHECK | MB_VERB_EXPIRE, OFF(wal_archive), "DIR|s3://BUCKET/PREFIX", NULL, 0, 0,
	  "the WAL archive directory (archive_command = 'mbackup wal-push %p' reads it from "
	  "the config file); never on a filesystem the backup freezes; or a prefix on the "
	  "object store (the s3-* settings)" },
	{ "retain", OPT_LONG, MB_VERB_EXPIRE, OFF(retain), "N", NULL, 1, 1000000,
	  "expire: keep the newest N complete backups (and the WAL they need)" },
	{ "target-time", OPT_STR, MB_VERB_RESTORE, OFF(target_time), "TIMESTAMP", NULL, 0, 0,
	  "replay the WAL archive up to this time, with its zone ('2026-11-29 14:02:59+00')" },
	{ "target-lsn", OPT_STR, MB_VERB_RESTORE, OFF(target_lsn), "X/Y", NULL, 0, 0,
	  "replay up to this WAL location" },
	{ "target-xid", OPT_STR, MB_VERB_RESTORE, OFF(target_xid), "XID", NULL, 0, 0,
	  "replay up to this transaction's commit" },
	{ "target-name", OPT_STR, MB_VERB_RESTORE, OFF(target_name), "NAME", NULL, 0, 0,
	  "replay up to this restore point (pg_create_restore_point)" },
	{ "target", OPT_STR, MB_VERB_RESTORE, OFF(target), "latest|immediate", NULL, 0, 0,
	  "latest: replay every archived segment; immediate: stop once the copy is consistent" },
	{ "target-action", OPT_STR, MB_VERB_RESTORE, OFF(target_action), "promote|pause|shutdown",
	  "promote", 0, 0, "what the restored server does at the target" },
	{ "target-inclusive", OPT_STR, MB_VERB_RESTORE, OFF(target_inclusive), "true|false", "true",
	  0, 0, "stop just after the target (true) or just before it" },
	{ "target-timeline", OPT_STR, MB_VERB_RESTORE, OFF(target_timeline), "latest|current|N",
	  "latest", 0, 0, "the timeline to follow to the target" },
	{ "s3-endpoint", OPT_STR, V_ALL, OFF(s3_endpoint), "URL", NULL, 0, 0,
	  "s3:// media: the object store, http(s)://HOST[:PORT] (config file only; default: "
	  "AWS_ENDPOINT_URL)" },
	{ "s3-region", OPT_STR, V_ALL, OFF(s3_region), "REGION", NULL, 0, 0,
	  "s3:// media: the region requests are signed for (config file only; default: "
	  "AWS_DEFAULT_REGION, else us-east-1)" },
	{ "s3-access-key", OPT_STR, V_ALL, OFF(s3_access_key), "KEY", NULL, 0, 0,
	  "s3:// media: the access key id (config file only; default: AWS_ACCESS_KEY_ID)" },
	{ "s3-secret-key", OPT_STR, V_ALL, OFF(s3_secret_key), "SECRET", NULL, 0, 0,
	  "s3:// media: the secret key (config file only, which must then be mode 0600 and owned "
	  "by root; default: AWS_SECRET_ACCESS_KEY); never logged nor stored in the catalog" },
	{ "s3-uri-style", OPT_STR, V_ALL, OFF(s3_uri_style), "path|virtual", "path", 0, 0,
	  "s3:// media: path style http://HOST/BUCKET/KEY (Ceph RGW, MinIO) or virtual-host "
	  "style http://BUCKET.HOST/KEY (config file only)" },
	{ "full-recheck", OPT_BOOL, V_BACKUP, OFF(full_recheck), NULL, NULL, 0, 0,
	  "stat every file inside the window instead of going by the change journal" },
};
#define N_OPTS (sizeof(mb_opt_table) / sizeof(mb_opt_table[0]))
const size_t mb_opt_count = N_OPTS;

static const struct { const char *name; enum mb_verb verb; const char *summary; } verbs[] = {
	{ "backup", MB_VERB_BACKUP, "take a backup (the default verb)" },
	{ "check", MB_VERB_CHECK, "run every preflight check, change nothing" },
	{ "ls", MB_VERB_LS, "list an image's index" },
	{ "verify", MB_VERB_VERIFY, "check an image's structure and checksums" },
	{ "restore", MB_VERB_RESTORE, "restore an image, or single files from it" },
	{ "list", MB_VERB_LIST, "list the runs in the catalog" },
	{ "recover", MB_VERB_RECOVER, "undo what a dead run left behind" },
	{ "wal-push", MB_VERB_WAL_PUSH, "archive one WAL file (archive_command = 'mbackup wal-push %p')" },
	{ "wal-get", MB_VERB_WAL_GET, "fetch one archived WAL file (restore_command = 'mbackup wal-get %f %p')" },
	{ "wal-check", MB_VERB_WAL_CHECK, "check the WAL archive from each backup's start" },
	{ "expire", MB_VERB_EXPIRE, "remove old backups and the WAL no kept backup needs" },
	{ "info", MB_VERB_INFO, "what one run did: phases, window, media, bytes, rate, error" },
	{ "consolidate", MB_VERB_CONSOLIDATE, "an incremental's point as one whole image, its base one "
	  "backward increment away" },
};
#define N_VERBS (sizeof(verbs) / sizeof(verbs[0]))

const char *mb_verb_at(size_t i, unsigned *bit, const char **summary)
{
	if (i >= N_VERBS)
		return NULL;
	if (bit)
		*bit = verbs[i].verb;
	if (summary)
		*summary = verbs[i].summary;
	return verbs[i].name;
}

const struct opt_def *mb_opt_find(const char *name, size_t len)
{
	for (size_t i = 0; i < N_OPTS; i++)
		if (strlen(mb_opt_table[i].name) == len && strncmp(mb_opt_table[i].name, name, len) == 0)
			return &mb_opt_table[i];
	return NULL;
}

const char *mb_opt_verbs(unsigned mask, char *buf, size_t cap)
{
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < N_VERBS && n < cap; i++)
		if (mask & verbs[i].verb)
			n += snprintf(buf + n, cap - n, "%s%s", n ? ", " : "", verbs[i].name);
	return buf;
}

static void list_clear(struct mb_strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static int list_add(struct mb_strlist *l, const char *s)
{
	char **v = realloc(l->v, (l->n + 1) * sizeof(char *));

	if (!v)
		return -1;
	l->v = v;
	if (!(l->v[l->n] = strdup(s)))
		return -1;
	l->n++;
	return 0;
}

/* The one number parser, for the table's LONG and SIZE options and for
 * --buffer: decimal digits, then (with suffixes) an optional K, M or G for
 * 2^10, 2^20, 2^30; a value past LONG_MAX saturates to LONG_MAX, for the
 * caller's range check to refuse. */
static int parse_number(const char *val, bool suffixes, long *out)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(val, &end, 10);
	if (errno || end == val)
		return -1;
	if (suffixes && n >= 0 && *end && strchr("KkMmGg", *end)) {
		int shift = (*end | 0x20) == 'k' ? 10 : (*end | 0x20) == 'm' ? 20 : 30;

		n = n > (LONG_MAX >> shift) ? LONG_MAX : n << shift;
		end++;
	}
	if (*end)
		return -1;
	*out = n;
	return 0;
}

static int set_bool(bool *field, const struct opt_def *d, const char *val, int code,
		    struct mb_error *e)
{
	static const char *const yes[] = { "true", "yes", "1" }, *const no[] = { "false", "no", "0" };

	for (size_t i = 0; val && i < 3; i++)
		if (strcmp(val, yes[i]) == 0 || strcmp(val, no[i]) == 0) {
			*field = strcmp(val, yes[i]) == 0;
			return 0;
		}
	if (val)
		return mb_fail(e, code, 0, "invalid value '%s' for --%s: expected true, yes, 1, "
			       "false, no or 0", val, d->name);
	*field = true;
	return 0;
}

int mb_opt_set(struct mb_options *o, const struct opt_def *d, const char *val, int code,
	       bool *cli_lists, struct mb_error *e)
{
	void *field = (char *)o + d->offset;
	long n;

	switch (d->kind) {
	case OPT_STR:
		free(*(char **)field);
		if (!(*(char **)field = strdup(val)))
			return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to set --%s", d->name);
		return 0;
	case OPT_BOOL:
		return set_bool(field, d, val, code, e);
	case OPT_LONG:
	case OPT_SIZE:
		if (parse_number(val, d->kind == OPT_SIZE, &n) < 0 || n < d->min || n > d->max) {
			mb_fail(e, code, 0, "invalid value '%s' for --%s: expected %ld..%ld",
				val, d->name, d->min, d->max);
			return -1;
		}
		*(long *)field = n;
		return 0;
	case OPT_LIST:
		if (cli_lists && !cli_lists[d - mb_opt_table]) {
			list_clear(field);
			cli_lists[d - mb_opt_table] = true;
		}
		if (list_add(field, val) < 0)
			return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to set --%s", d->name);
		return 0;
	}
	return 0;
}

static int set_defaults(struct mb_options *o, struct mb_error *e)
{
	for (size_t i = 0; i < N_OPTS; i++)
		if (mb_opt_table[i].deflt &&
		    mb_opt_set(o, &mb_opt_table[i], mb_opt_table[i].deflt, MB_ERR_USAGE, NULL, e) < 0)
			return -1;
	return 0;
}

/* "--mirror" or "--mirror=X": an argument naming one of our options. */
static bool names_option(const char *a)
{
	const char *eq;

	if (strncmp(a, "--", 2) != 0)
		return false;
	eq = strchr(a + 2, '=');
	return mb_opt_find(a + 2, eq ? (size_t)(eq - a - 2) : strlen(a + 2)) != NULL;
}

/* The WAL verbs run from PostgreSQL's archive_command and restore_command
 * with no --config: they read $MBACKUP_CONFIG, else MB_DEFAULT_CONFIG when
 * it exists (the file deploy/mbackup.service gives the backup). */
static const char *default_config(enum mb_verb verb)
{
	const char *env = getenv("MBACKUP_CONFIG");

	if (!(verb & (MB_VERB_WAL_PUSH | MB_VERB_WAL_GET | MB_VERB_WAL_CHECK | MB_VERB_EXPIRE)))
		return NULL;
	if (env && *env)
		return env;
	return access(MB_DEFAULT_CONFIG, F_OK) == 0 ? MB_DEFAULT_CONFIG : NULL;
}

/* The --config file, read before the rest of the command line: given at
 * most once (a second one used to be ignored without a word). */
static int read_config(struct mb_options *o, int argc, char **argv, int first,
		       struct mb_error *e)
{
	const char *path = NULL;

	for (int i = first; i < argc; i++) {
		const char *p = NULL;

		if (strncmp(argv[i], "--config=", 9) == 0)
			p = argv[i] + 9;
		else if (strcmp(argv[i], "--config") == 0 && i + 1 < argc && !names_option(argv[i + 1]))
			p = argv[++i];
		if (p && path) {
			mb_fail(e, MB_ERR_USAGE, 0, "option '--config' given twice ('%s' and '%s')",
				path, p);
			mb_hint(e, "give one config file; the command line overrides its lines");
			return -1;
		}
		if (p)
			path = p;
	}
	if (!path)
		path = default_config(o->verb);
	return path ? mb_options_read_file(o, path, e) : 0;
}

/* A command verbs[] does not name: the list, and the nearest if one is. */
static int unknown_command(struct mb_error *e, const char *name)
{
	const char *near = mb_verb_suggest(name);
	char names[256], did[64] = "";
	size_t n = 0;

	for (size_t k = 0; k < N_VERBS && n < sizeof(names); k++)
		n += snprintf(names + n, sizeof(names) - n, "%s ", verbs[k].name);
	n = n < sizeof(names) ? n : sizeof(names);
	if (near)
		snprintf(did, sizeof(did), "did you mean '%s'? ", near);
	mb_fail(e, MB_ERR_USAGE, 0, "unknown command '%s'", name);
	mb_hint(e, "%scommands: %.*s; see mbackup --help", did, (int)(n - 1), names);
	return -1;
}

/* An option no row names: the nearest one in the hint, if one is near. */
static int unknown_option(struct mb_error *e, const char *a, const char *eq,
			  const struct mb_options *o)
{
	const char *near = mb_opt_suggest(a + 2, eq ? (size_t)(eq - a - 2) : strlen(a + 2), o->verb);
	const char *verb = o->verb_name;

	mb_fail(e, MB_ERR_USAGE, 0, "unknown option '%s' for '%s'", a, verb);
	if (near)
		mb_hint(e, "did you mean --%s? see mbackup %s --help", near, verb);
	else
		mb_hint(e, "see mbackup %s --help", verb);
	return -1;
}

/* Finds the verb (first argument if it names one), then reads --config. */
static int pre_scan(struct mb_options *o, int argc, char **argv, int *first,
		    struct mb_error *e)
{
	o->verb = MB_VERB_BACKUP;
	o->verb_name = "backup";
	*first = 1;
	if (argc > 1 && argv[1][0] != '-') {
		size_t i;

		for (i = 0; i < N_VERBS && strcmp(verbs[i].name, argv[1]) != 0; i++)
			;
		if (i == N_VERBS)
			return unknown_command(e, argv[1]);
		o->verb = verbs[i].verb;
		o->verb_name = verbs[i].name;
		*first = 2;
	}
	return read_config(o, argc, argv, *first, e);
}

static int usage_error(struct mb_error *e, const char *fmt, const char *arg,
		       const char *verb)
{
	mb_fail(e, MB_ERR_USAGE, 0, fmt, arg, verb);
	mb_hint(e, "see mbackup %s --help", verb);
	return -1;
}

/* The value of option a: after its '=', else the next argument, which may
 * not be one of our options (--db --mirror X took "--mirror" as the db). */
static int cli_value(const struct mb_options *o, int argc, char **argv, int *i,
		     const char **val, struct mb_error *e)
{
	const char *a = argv[*i], *eq = strchr(a + 2, '=');

	if (eq) {
		*val = eq + 1;
		return 0;
	}
	if (*i + 1 >= argc)
		return usage_error(e, "option '%s' needs a value (for '%s')", a, o->verb_name);
	if (names_option(argv[*i + 1])) {
		mb_fail(e, MB_ERR_USAGE, 0, "option '%s' needs a value, not the option '%s' (for '%s')",
			a, argv[*i + 1], o->verb_name);
		mb_hint(e, "write %s=VALUE for a value that starts with '--'", a);
		return -1;
	}
	*val = argv[++*i];
	return 0;
}

static bool db_none(const struct mb_options *o)
{
	return o->db && strcmp(o->db, "none") == 0;
}

/* A password in --pg-conn sits in /proc/PID/cmdline for the whole run,
 * readable by every local user: one warning line (unless --log-level
 * error; main() sets the level after the parse, so it is read here). */
static void warn_pg_password(const struct mb_options *o)
{
	PQconninfoOption *opts;
	char *err = NULL;
	bool has = false;

	if (!o->pg_conn || strcmp(o->log_level, "error") == 0)
		return;
	/* (--db none does not load libpq for this: the word alone) */
	if (!db_none(o) && mb_pq_load(NULL) == 0 && (opts = mb_pq.conninfoParse(o->pg_conn, &err))) {
		for (PQconninfoOption *p = opts; p->keyword; p++)
			has |= strcmp(p->keyword, "password") == 0 && p->val && *p->val;
		mb_pq.conninfoFree(opts);
	} else {
		/* (unparsable: refused at connect time; warn on the word alone) */
		has = strstr(o->pg_conn, "password") != NULL;
		mb_pq.freemem(err);
	}
	if (has)
		mb_warn("--pg-conn holds a password, which every local user can read in "
			"/proc/%d/cmdline while mbackup runs; use PGPASSFILE (~/.pgpass) or a "
			"service file (PGSERVICE) instead", (int)getpid());
}

/* --volume-change given as a path (with a '/') names a program mbackup
 * runs as root: it gets the config file's checks.  A bare name is found
 * through PATH at run time and is not checked here. */
static int check_volume_change(const struct mb_options *o, struct mb_error *e)
{
	const char *cmd = o->volume_change;
	char *prog;
	int rc;

	if (!cmd)
		return 0;
	cmd += strspn(cmd, " ");
	if (!(prog = strndup(cmd, strcspn(cmd, " "))))
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to check --volume-change");
	rc = strchr(prog, '/') ? mb_trust_file("--volume-change command", prog, -1, e) : 0;
	free(prog);
	return rc;
}

/* "64M" -> bytes, at most 16G. */
static int parse_size(const char *v, uint64_t *out)
{
	long n;

	if (parse_number(v, true, &n) < 0 || n < 0 || n > (16L << 30))
		return -1;
	*out = (uint64_t)n;
	return 0;
}

/* The media options the drivers take at open (media.h): tape record size,
 * append / overwrite, volume change, ring size, which tape image, --force,
 * the deadline of a stalled device (one or several) and the signals that
 * end a blocked media wait. */
int mb_options_media_params(const struct mb_options *o, size_t n_media,
			    struct mb_media_params *p, struct mb_error *e)
{
	*p = (struct mb_media_params){
		.force = o->force, .block_size = (uint32_t)o->block_size, .append = o->append,
		.overwrite = o->overwrite, .volume_change = o->volume_change,
		.backup = o->backup,
		.device_timeout = (unsigned)o->device_timeout,
		.stop = { mb_signal_fd(), mb_signal_check },
	};
	if (o->append && o->overwrite)
		return usage_error(e, "options '%s' and --overwrite exclude each other (for '%s')",
				   "--append", o->verb_name);
	if (o->buffer && parse_size(o->buffer, &p->buffer) < 0)
		return usage_error(e, "invalid --buffer '%s' (a size such as 64M) for '%s'",
				   o->buffer, o->verb_name);
	if (mb_compress_parse(o->compress, &p->compress, e) < 0)
		return -1;
	p->compress.threads = (unsigned)o->compress_threads;
	if (o->s3_uri_style && strcmp(o->s3_uri_style, "path") && strcmp(o->s3_uri_style, "virtual"))
		return usage_error(e, "invalid s3-uri-style '%s' (path or virtual) for '%s'",
				   o->s3_uri_style, o->verb_name);
	p->s3 = &o->s3;
	return 0;
}

/* The object store's settings: never on the command line (every local
 * user reads /proc/PID/cmdline). */
static bool config_only(const struct opt_def *d)
{
	return strncmp(d->name, "s3-", 3) == 0;
}

int mb_options_parse(struct mb_options *o, int argc, char **argv, struct mb_error *e)
{
	bool cli_lists[N_OPTS] = { false };	/* a list the command line replaces */
	bool pg_conn_cli = false;
	int i;

	memset(o, 0, sizeof(*o));
	if (set_defaults(o, e) < 0 || pre_scan(o, argc, argv, &i, e) < 0)
		return -1;
	for (; i < argc; i++) {
		const char *a = argv[i], *eq, *val = NULL;
		const struct opt_def *d;

		if (strcmp(a, "-h") == 0)
			a = "--help";
		if (strncmp(a, "--", 2) != 0 && (o->verb & (MB_VERB_WAL_PUSH | MB_VERB_WAL_GET))) {
			if (list_add(&o->args, a) < 0)
				return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to read '%s'", a);
			continue;
		}
		if (strncmp(a, "--", 2) != 0)
			return usage_error(e, "unexpected argument '%s' for '%s'", a, o->verb_name);
		eq = strchr(a + 2, '=');
		d = mb_opt_find(a + 2, eq ? (size_t)(eq - a - 2) : strlen(a + 2));
		if (!d)
			return unknown_option(e, a, eq, o);
		if (!(d->verbs & o->verb))
			return usage_error(e, "option '%s' does not apply to '%s'", a, o->verb_name);
		if (config_only(d))
			return usage_error(e, "option '%s' is read from the config file only (for '%s')",
					   a, o->verb_name);
		if (d->kind == OPT_BOOL && eq)
			return usage_error(e, "option '%s' takes no value (for '%s')", a, o->verb_name);
		if (d->kind != OPT_BOOL && cli_value(o, argc, argv, &i, &val, e) < 0)
			return -1;
		if (mb_opt_set(o, d, val, MB_ERR_USAGE, cli_lists, e) < 0)
			return -1;
		pg_conn_cli |= d->offset == OFF(pg_conn);
	}
	o->from = o->froms.n ? o->froms.v[0] : NULL;
	if (pg_conn_cli)
		warn_pg_password(o);
	if (check_volume_change(o, e) < 0 || mb_progress_check(o, e) < 0 ||
	    mb_pace_check_options(o, e) < 0 ||
	    mb_mirror_proof_ctx(o, &(struct mb_undo_ctx){ 0 }, e) < 0)
		return -1;
	o->s3 = (struct mb_s3_settings){ o->s3_endpoint, o->s3_region, o->s3_access_key,
					 o->s3_secret_key, o->s3_uri_style };
	return mb_options_media_params(o, o->media.n, &(struct mb_media_params){ 0 }, e);
}

void mb_options_free(struct mb_options *o)
{
	for (size_t i = 0; i < N_OPTS; i++) {
		void *field = (char *)o + mb_opt_table[i].offset;

		if (mb_opt_table[i].kind == OPT_STR)
			free(*(char **)field);
		else if (mb_opt_table[i].kind == OPT_LIST)
			list_clear(field);
	}
	list_clear(&o->args);
}

/* The drivers --mirror and --media name, from their registries. */
static void usage_drivers(void)
{
	struct mb_driver_doc d;
	const char *kind = "";

	for (size_t i = 0; mb_driver_doc_at(i, &d); i++) {
		char forms[64];

		if (strcmp(kind, d.kind) != 0)
			printf("\n%s drivers (--%s):\n", d.kind, kind = d.kind);
		if (d.forms)
			snprintf(forms, sizeof(forms), "%s", d.forms);
		else
			snprintf(forms, sizeof(forms), "%s:ARG", d.name);
		printf("  %-7s %-16s %s\n", d.name, forms, d.what);
	}
}

void mb_options_usage(const struct mb_options *o)
{
	bool all = !o || o->verb == MB_VERB_BACKUP;

	printf("usage: mbackup [COMMAND] [OPTIONS]\n\ncommands:\n");
	for (size_t i = 0; i < N_VERBS; i++)
		printf("  %-9s %s\n", verbs[i].name, verbs[i].summary);
	if (all || o->verb == MB_VERB_CHECK)
		usage_drivers();
	printf("\noptions%s%s:\n", all ? "" : " of ", all ? "" : o->verb_name);
	for (size_t i = 0; i < N_OPTS; i++) {
		const struct opt_def *d = &mb_opt_table[i];
		char left[64];

		if (!all && !(d->verbs & o->verb))
			continue;
		snprintf(left, sizeof(left), "--%s%s%s", d->name, d->arg ? " " : "", d->arg ? d->arg : "");
		if (strlen(left) > 28)
			printf("  %s\n  %-28s %s", left, "", d->help);
		else
			printf("  %-28s %s", left, d->help);
		if (d->deflt)
			printf(" (default %s)", d->deflt);
		printf("\n");
	}
	mb_help_exit_codes();
	printf("\nexamples:\n"
	       "  mbackup --db postgres --mirror vg/pgdata --mirror vg/pgwal --media file:/backup/pg.mbi\n"
	       "  mbackup --db postgres --mirror vg/pgdata --media tape:/dev/nst0 --append\n"
	       "  mbackup --db none --mirror loop:/dev/loop3 --source /srv/data --media file:/backup/data.mbi\n"
	       "  mbackup restore --from /backup/pg.mbi --to /restore --file base/5/1259\n"
	       "  mbackup list --since 7d; mbackup info --backup 42\n"
	       "\nsee mbackup(8) and mbackup.conf(5)\n");
}

char *mb_options_json(const struct mb_options *o)
{
	json_t *j = json_object();
	char *text;

	json_object_set_new(j, "verb", json_string(o->verb_name));
	for (size_t i = 0; i < N_OPTS; i++) {
		const struct opt_def *d = &mb_opt_table[i];
		const void *field = (const char *)o + d->offset;
		json_t *v = NULL;

		if (d->offset == OFF(help) || d->offset == OFF(version) ||
		    d->offset == OFF(s3_secret_key))
			continue;	/* the stored configuration never holds a secret */
		if (d->offset == OFF(pg_conn) && o->pg_conn && db_none(o)) {
			v = json_string("(not used: --db none)");	/* (libpq not loaded for it) */
		} else if (d->offset == OFF(pg_conn) && o->pg_conn) {
			char safe[1024];

			/* the stored configuration never holds a password */
			mb_pg_conninfo_redact(o->pg_conn, safe, sizeof(safe));
			v = json_string(safe);
		} else if (d->kind == OPT_STR && *(char *const *)field)
			v = json_string(*(char *const *)field);
		else if (d->kind == OPT_LONG || d->kind == OPT_SIZE)
			v = json_integer(*(const long *)field);
		else if (d->kind == OPT_BOOL)
			v = json_boolean(*(const bool *)field);
		else if (d->kind == OPT_LIST) {
			const struct mb_strlist *l = field;

			v = json_array();
			for (size_t k = 0; k < l->n; k++)
				json_array_append_new(v, json_string(l->v[k]));
		}
		if (v)
			json_object_set_new(j, d->name, v);
	}
	text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(j);
	return text;
}

const char *mb_options_text(const struct mb_options *o, const char *name)
{
	const struct opt_def *d = mb_opt_find(name, strlen(name));

	if (!d || d->kind != OPT_STR)
		return NULL;
	return *(char *const *)((const char *)o + d->offset);
}
