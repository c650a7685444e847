/*
 * What the WAL archive's verbs share (wal_archive.h): the latest failed
 * push (wal_failure.c), a segment compressed and back (wal_zstd.c), and
 * the archive of the options opened (wal_dir.c).  Not for other modules.
 */
#ifndef MB_WAL_FILE_H
#define MB_WAL_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "common/hash.h"
#include "orchestrator/options.h"
#include "orchestrator/wal_store.h"

/* push.failed: "<UTC time> <name>: <message>\n" of the latest failed
 * wal-push, written (best effort: the archive may be what failed) by the
 * push that failed, removed by the next that succeeds; wal-check reports
 * it.  read: 0 with line set, 1 when there is none. */
void mb_wal_failure_record(struct mb_wal_store *s, const char *name, const char *msg);
void mb_wal_failure_clear(struct mb_wal_store *s);
int mb_wal_failure_read(struct mb_wal_store *s, char *line, size_t cap);

/* in[0..len) as one zstd frame (content size and checksum in it) at
 * level, into *out (malloc'ed). */
int mb_wal_zstd_pack(const void *in, size_t len, int level, void **out, size_t *out_len,
		     struct mb_error *e);
/* One stored .zst back, at most max bytes; a damaged frame is
 * MB_ERR_CORRUPT naming where. */
int mb_wal_zstd_unpack(const void *in, size_t len, size_t max, const char *where, void **out,
		       size_t *out_len, struct mb_error *e);

/* The archive of --wal-archive (or the config's wal-archive) opened, the
 * object store's settings taken; *level the --compress level (0: none). */
int mb_wal_archive_open(const struct mb_options *o, struct mb_wal_store **s, int *level,
			struct mb_error *e);

#endif
