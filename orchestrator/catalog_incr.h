/*
 * The catalog's records of increments (schema 4): what each backup is
 * (full, incremental, consolidated), its base and its chain from a full,
 * and every file's block-hash map, which the next incremental compares
 * against (orchestrator/catalog_incr.c).
 */
#ifndef MB_CATALOG_INCR_H
#define MB_CATALOG_INCR_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "image/blockmap.h"
#include "orchestrator/catalog.h"

struct mb_backup_rec {
	int64_t run_id;
	char kind[16];		/* full | incremental | consolidated */
	int64_t base_id;	/* 0: none */
	char *chain;		/* "1,4,7": run ids from the full to this one */
	uint32_t block_size;
	uint64_t bytes;		/* image bytes */
	uint64_t changed_files, changed_bytes;
	int64_t point_id;	/* the backup whose state its chain restores
				 * (0 when adding: run_id) */
	char status[16];	/* the run's status (read only) */
};
void mb_backup_rec_free(struct mb_backup_rec *b);

int mb_catalog_backup_add(struct mb_catalog *c, const struct mb_backup_rec *b,
			  struct mb_error *e);
/* The record of run id; MB_ERR_NOT_FOUND "no backup ID in catalog 'PATH'"
 * when the run is no backup of this kind (or there is no such run). */
int mb_catalog_backup_get(struct mb_catalog *c, int64_t id, struct mb_backup_rec *b,
			  struct mb_error *e);
/* The complete backups whose chains restore point (itself, a
 * consolidation of it, a backward increment to it), cheapest first (the
 * sum of their chains' image bytes); malloc'ed. */
int mb_catalog_backup_routes(struct mb_catalog *c, int64_t point, int64_t **ids, size_t *n,
			     struct mb_error *e);
/* A consolidation: copies the block maps of run from to run to. */
int mb_catalog_blockmaps_copy(struct mb_catalog *c, int64_t from, int64_t to,
			      struct mb_error *e);
/* The newest complete backup of the newest point (a consolidation rather
 * than the incremental it holds; never a backward increment), with block
 * maps; MB_ERR_NOT_FOUND if none. */
int mb_catalog_backup_newest(struct mb_catalog *c, int64_t *id, struct mb_error *e);
/* The media specs of a run's complete images, by device (malloc'ed). */
int mb_catalog_backup_media(struct mb_catalog *c, int64_t id, char ***media, size_t *n,
			    struct mb_error *e);

/* A run's state: every entry's path and type, and each file's block map
 * (block_size 0: none, e.g. a segment of several devices), sorted by path
 * (strcmp), for mb_blockmaps_find. */
struct mb_blockmaps {
	char **paths;
	char *types;
	struct mb_blockmap *maps;
	size_t n, cap;
};
void mb_blockmaps_free(struct mb_blockmaps *s);
/* The index of path in s, or -1. */
long mb_blockmaps_find(const struct mb_blockmaps *s, const char *path);
/* maps[i] NULL: an entry without a map. */
int mb_catalog_blockmaps_save(struct mb_catalog *c, int64_t run_id,
			      const char *const *paths, const char *types,
			      const struct mb_blockmap *const *maps, size_t n,
			      struct mb_error *e);
/* The same, the rows given one at a time by next: 1 with *path, *type
 * and *m (NULL: no map) valid until the next call, 0 at the end, -1 on
 * error (the transaction is rolled back). */
typedef int (*mb_blockmap_next_fn)(void *ctx, const char **path, char *type,
				   const struct mb_blockmap **m, struct mb_error *e);
int mb_catalog_blockmaps_save_each(struct mb_catalog *c, int64_t run_id,
				   mb_blockmap_next_fn next, void *ctx, struct mb_error *e);
int mb_catalog_blockmaps_load(struct mb_catalog *c, int64_t run_id, struct mb_blockmaps *out,
			      struct mb_error *e);

/* `mbackup list --output json`: adds kind (null: the run made no backup),
 * base, chain, image_bytes, changed_files, changed_bytes and block_size to
 * the run's object. */
struct json_t;
int mb_catalog_backup_json(struct mb_catalog *c, int64_t id, struct json_t *run,
			   struct mb_error *e);

#endif
