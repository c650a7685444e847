/*
 * The files of the WAL archive (wal_archive.h): checksums, sidecars and
 * the durable copy shared by wal-push, wal-get, the history reader and
 * expire.  Not for other modules.
 */
#ifndef MB_WAL_FILE_H
#define MB_WAL_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "common/hash.h"

/* Copies in (from its offset 0) to out (when out >= 0), hashing the bytes:
 * *size and hex are the whole file's.  Read errors name in_name, write
 * errors out_name (ENOSPC included), with MB_ERR_IO. */
int mb_wal_copy(int in, const char *in_name, int out, const char *out_name,
		char hex[MB_HASH_HEX_LEN + 1], uint64_t *size, struct mb_error *e);
/* The checksum the sidecar PATH.xxh128 records for PATH.  No sidecar, or
 * one that is not "<32 hex>  NAME", is MB_ERR_CORRUPT. */
int mb_wal_sidecar_read(const char *path, char hex[MB_HASH_HEX_LEN + 1], struct mb_error *e);
/* Writes the sidecar text of name into fd (a temporary file) and fsyncs it. */
int mb_wal_sidecar_write(int fd, const char *tmp_path, const char *name,
			 const char hex[MB_HASH_HEX_LEN + 1], struct mb_error *e);
/* Reads a small archived file (at most max bytes) into *text (NUL-
 * terminated, malloc'ed) and checks it against its sidecar: missing is
 * MB_ERR_NOT_FOUND, damaged MB_ERR_CORRUPT. */
int mb_wal_file_load(const char *path, size_t max, char **text, size_t *len,
		     struct mb_error *e);
/* DIR/push.failed: "<UTC time> <name>: <message>\n" of the latest failed
 * wal-push, written (best effort: the archive may be what failed) by the
 * push that failed, removed by the next that succeeds; wal-check reports
 * it.  read: 0 with line set, 1 when there is none. */
void mb_wal_failure_record(const char *archive, const char *name, const char *msg);
void mb_wal_failure_clear(const char *archive);
int mb_wal_failure_read(const char *archive, char *line, size_t cap);
/* DIR/.push.lock, held (flock) until *fd is closed: pushes into one
 * archive take turns (two of one name at once must not both find it
 * absent), and expire takes it to remove a directory a push may be about
 * to write in.  Never taken by a backup. */
int mb_wal_push_lock(const char *archive, int *fd, struct mb_error *e);
/* fsync of a directory. */
int mb_wal_fsync_dir(const char *dir, struct mb_error *e);

#endif
