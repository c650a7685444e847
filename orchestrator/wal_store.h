/*
 * Where the WAL archive keeps its files: a small table of backends, found
 * by the wal-archive value's scheme (wal_store.c), never by name in the
 * callers.  A directory (wal_store_dir.c) is any value without a scheme;
 * s3://BUCKET/PREFIX (wal_store_s3.c) keeps each file as the object
 * PREFIX/REL on the store.
 *
 * A file is named by its path relative to the archive (REL):
 * "archive.info", "push.failed", "TTTTTTTT.history",
 * "TTTTTTTTLLLLLLLL/NAME" (wal_archive.h has the layout).  Each file may
 * carry a checksum: the XXH3-128 of the WAL file's own bytes (as in
 * pg_wal, before any compression), which the directory keeps in the
 * sidecar REL.xxh128 and the store as the object's x-amz-meta-xxh128.
 *
 * Every write is atomic: a name shows a whole file with its checksum or
 * nothing (the directory: temporary, fsync, sidecar renamed first, file
 * linked, directory fsynced; the store: one PUT, whose SHA-256 it checks).
 * Not for other modules than the WAL archive's and expire.
 */
#ifndef MB_WAL_STORE_H
#define MB_WAL_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "common/error.h"
#include "common/hash.h"

#define MB_WAL_REL_MAX 96

struct mb_wal_entry {
	char rel[MB_WAL_REL_MAX];
	uint64_t size;		/* as stored (compressed when REL ends in .zst) */
	time_t mtime;		/* when it was stored */
	char sum[MB_HASH_HEX_LEN + 1];	/* "" when none is kept (or not asked for) */
};

struct mb_wal_store;
typedef int (*mb_wal_list_fn)(void *ctx, const struct mb_wal_entry *en, struct mb_error *e);

/* A backend.  0 / -1 with e, and 1 where said. */
struct mb_wal_store_ops {
	const char *kind;	/* "directory", "s3" */
	const char *scheme;	/* "s3://"; NULL: the backend of values with none */
	/* write (!replace) refuses an existing name by itself, changing
	 * nothing: no need to look first (a request saved per push) */
	bool create_is_atomic;
	/* The archive must exist (no request to a store is made here). */
	int (*open)(struct mb_wal_store *s, struct mb_error *e);
	void (*close)(struct mb_wal_store *s);
	/* rel's size, time and checksum; 1 when there is no such file. */
	int (*stat)(struct mb_wal_store *s, const char *rel, struct mb_wal_entry *en,
		    struct mb_error *e);
	/* The whole of rel (at most max bytes) into *buf, malloc'ed, and en;
	 * 1 when there is no such file. */
	int (*read)(struct mb_wal_store *s, const char *rel, size_t max, void **buf,
		    struct mb_wal_entry *en, struct mb_error *e);
	/* Stores buf as rel with checksum sum (NULL: none).  !replace: 1 when
	 * rel exists already (it is left as it is). */
	int (*write)(struct mb_wal_store *s, const char *rel, const void *buf, size_t len,
		     const char *sum, bool replace, struct mb_error *e);
	/* Every file (rel, size, mtime; sum ""), temporaries included. */
	int (*list)(struct mb_wal_store *s, mb_wal_list_fn fn, void *ctx, struct mb_error *e);
	/* rel and its checksum; an absent rel is success. */
	int (*remove)(struct mb_wal_store *s, const char *rel, struct mb_error *e);
	/* Optional: the pushes' lock (*fd closed to release), and what expire
	 * tidies after removing files (empty directories). */
	int (*lock)(struct mb_wal_store *s, int *fd, struct mb_error *e);
	int (*tidy)(struct mb_wal_store *s, struct mb_error *e);
	/* Optional: n files removed at once (remove's contract for each);
	 * *requests: how many the store was sent.  Without it, remove each. */
	int (*remove_many)(struct mb_wal_store *s, const char *const *rels, size_t n,
			   size_t *requests, struct mb_error *e);
};

struct mb_wal_store {
	const struct mb_wal_store_ops *ops;
	const char *spec;	/* the wal-archive value, as given */
	const struct mb_s3_settings *s3;	/* s3://: the store's (options.h) */
	void *priv;
};

/* The backend spec's scheme selects, opened (MB_ERR_CONFIG when the
 * archive is unusable, with a hint).  close(NULL) is a no-op. */
struct mb_s3_settings;
int mb_wal_store_open(const char *spec, const struct mb_s3_settings *s3, struct mb_wal_store **s,
		      struct mb_error *e);
void mb_wal_store_close(struct mb_wal_store *s);
/* The local directory spec names, or NULL when it is on a store (what
 * preflight checks for a frozen filesystem). */
const char *mb_wal_store_local(const char *spec);
/* Where rel is, for messages: "DIR/REL" or "s3://BUCKET/PREFIX/REL". */
void mb_wal_store_where(const struct mb_wal_store *s, const char *rel, char *buf, size_t cap);
/* The pushes' lock, or *fd = -1 where the backend needs none. */
int mb_wal_store_lock(struct mb_wal_store *s, int *fd, struct mb_error *e);

/* A small file (at most max bytes), NUL-terminated, checked against its
 * checksum when it has one (a WAL file must: MB_ERR_CORRUPT otherwise);
 * missing is MB_ERR_NOT_FOUND. */
int mb_wal_store_load(struct mb_wal_store *s, const char *rel, size_t max, bool need_sum,
		      char **text, size_t *len, struct mb_error *e);

extern const struct mb_wal_store_ops mb_wal_store_dir, mb_wal_store_s3;

#endif
