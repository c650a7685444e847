/*
 * The backup set: one entry per file, directory, link or special file, in
 * logical order (a depth-first walk, names sorted bytewise, a directory
 * before its contents).  Built by extentmap/ (walk + FIEMAP), laid out and
 * written by image/, read back by restore.
 */
#ifndef MB_ENTRY_H
#define MB_ENTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Entry types, one letter each; the same letters appear in the image index. */
enum mb_type {
	MB_T_FILE = 'f',
	MB_T_DIR = 'd',
	MB_T_SYMLINK = 'l',
	MB_T_HARDLINK = 'h',	/* another name of an earlier 'f' entry */
	MB_T_FIFO = 'p',
	MB_T_CHR = 'c',
	MB_T_BLK = 'b',
};

/* One extent as FIEMAP reported it, in bytes.  24 bytes, so that a file
 * of one extent is a 32-byte malloc chunk (it was 32 in a 48-byte one):
 * fiemap.c cuts a longer extent into pieces under 2^48 bytes (no
 * filesystem makes one that long) and reads a file with a flag above
 * the 16 bits kept (none is defined) through the filesystem. */
#define MB_EXTENT_MAX_LENGTH ((UINT64_C(1) << 48) - 4096)
#define MB_EXTENT_FLAG_BITS 16
struct mb_extent {
	uint64_t logical;	/* offset in the file */
	uint64_t physical;	/* offset on the (split) device */
	uint64_t length : 48;
	uint64_t flags : MB_EXTENT_FLAG_BITS;	/* FIEMAP_EXTENT_* */
};

/* The fields few entries need, kept apart so that the others do not pay
 * their 40 bytes: one allocation owned by the entry, made by the first
 * setter below that stores something, NULL for every other entry (a
 * plain file of the split leg).  Read them through the accessors. */
struct mb_entry_rare {
	char *link_target;	/* symlink target, or the path of the first name
				 * of a hard link; NULL otherwise */
	/* Data that does not come from the split leg (regular files only):
	 * content, when set, is the file's bytes (size of them), e.g. the
	 * backup_label PostgreSQL returned; live_path, when set, is a file
	 * on a live filesystem to read instead, e.g. WAL copied after the
	 * backup's end. */
	char *content;
	char *live_path;
	/* A member of an increment holding changed blocks of a file: the
	 * plan its data callback follows (orchestrator/incremental.c;
	 * borrowed, not freed with the entry).  NULL otherwise. */
	const void *delta;
	uint64_t rdev;		/* for 'c' and 'b' */
};

struct mb_entry {
	/* (fields ordered so that none pads: 112 bytes, one per file of the
	 * set, a million files are 107 MiB of them) */
	char *path;		/* relative to the source root, no leading "./",
				 * no trailing '/'; raw bytes (may be non-UTF-8) */
	struct mb_entry_rare *rare;	/* link, device, content...; or NULL */
	uint64_t ino;
	uint64_t size;		/* st_size (0 for dirs, links, specials) */
	int64_t mtime_sec;
	int64_t ctime_sec;	/* not stored in the image; change detection */
	uint32_t mode;		/* st_mode (type bits included) */
	uint32_t uid, gid;
	uint32_t mtime_nsec;
	uint32_t ctime_nsec;
	uint32_t nlink;
	uint32_t n_extents;	/* of extents (fiemap.c refuses more) */
	char type;		/* enum mb_type */
	bool path_pooled;	/* path is in its set's names (mb_set_name):
				 * freed with the set, not with the entry */
	bool extents_pooled;	/* so are the extents (mb_set_pool_extents) */
	bool read_via_fs;	/* an extent cannot be trusted (inline, delalloc,
				 * encoded, unknown, not aligned): read the file
				 * through a read-only mount of the split leg */

	/* Extent map, regular files only, sorted by logical offset. */
	struct mb_extent *extents;

	/* Segment of a larger file (several devices, issue 5).  For a whole
	 * file seg_offset == 0 and seg_length == size. */
	uint64_t seg_offset;
	uint64_t seg_length;

	/* Filled by the image layout: byte offset of the entry's first header
	 * block in its image. */
	uint64_t image_offset;
};

/* The rare fields, NULL or 0 where the entry has none. */
static inline const char *mb_entry_link(const struct mb_entry *ent)
{
	return ent->rare ? ent->rare->link_target : NULL;
}
static inline const char *mb_entry_content(const struct mb_entry *ent)
{
	return ent->rare ? ent->rare->content : NULL;
}
static inline const char *mb_entry_live_path(const struct mb_entry *ent)
{
	return ent->rare ? ent->rare->live_path : NULL;
}
static inline const void *mb_entry_delta(const struct mb_entry *ent)
{
	return ent->rare ? ent->rare->delta : NULL;
}
static inline uint64_t mb_entry_rdev(const struct mb_entry *ent)
{
	return ent->rare ? ent->rare->rdev : 0;
}
/* Setters: the strings become the entry's (freed with it, or at once
 * when the setter fails) and the old value is freed.  Storing NULL or 0
 * never fails; anything else fails (-1, errno ENOMEM) only when the
 * entry's side record cannot be allocated. */
int mb_entry_set_link(struct mb_entry *ent, char *target);
int mb_entry_set_content(struct mb_entry *ent, char *content);
int mb_entry_set_live_path(struct mb_entry *ent, char *live_path);
int mb_entry_set_delta(struct mb_entry *ent, const void *delta);
int mb_entry_set_rdev(struct mb_entry *ent, uint64_t rdev);
/* A deep copy of s's side record into d (whose own is overwritten, not
 * freed: d is a fresh copy of s); the content is s->size bytes.  -1 on
 * allocation failure, d->rare NULL then. */
int mb_entry_copy_rare(struct mb_entry *d, const struct mb_entry *s);

/* A growable array of entries plus the root they are relative to. */
struct mb_names;
struct mb_set {
	char *root;		/* absolute path of the source on the live fs */
	uint64_t dev;		/* st_dev of the root */
	struct mb_entry *v;
	size_t n, cap;
	struct mb_names *names;	/* the walk's paths, packed (mb_set_name) */
};

/* File data flows through these: a producer (the extent reader) calls emit
 * with consecutive chunks; a data callback produces exactly ent->seg_length
 * bytes of the file starting at ent->seg_offset. */
struct mb_error;
typedef int (*mb_emit_fn)(void *emit_arg, const void *buf, size_t len,
			  struct mb_error *e);
typedef int (*mb_data_fn)(void *arg, const struct mb_entry *ent,
			  mb_emit_fn emit, void *emit_arg, struct mb_error *e);

/* Frees everything an entry owns (not the entry itself). */
void mb_entry_free(struct mb_entry *ent);
/* Frees all entries and the root; leaves an empty set. */
void mb_set_free(struct mb_set *set);
/* Appends a zeroed entry and returns it, or NULL on allocation failure. */
struct mb_entry *mb_set_add(struct mb_set *set);
/* A copy of the len bytes at s (plus a NUL) among the set's names, packed
 * end to end in large blocks freed with the set: a 14-byte path costs 15
 * bytes, not a 32-byte malloc chunk.  The entry that takes it sets
 * path_pooled.  NULL on allocation failure. */
char *mb_set_name(struct mb_set *set, const char *s, size_t len);
/* Moves ent's extent map among the set's names (a one-extent map costs
 * its 24 bytes, not a 32-byte malloc chunk) and sets extents_pooled; keeps
 * the malloc'd map if the pool cannot grow. */
void mb_set_pool_extents(struct mb_set *set, struct mb_entry *ent);
/* Frees ent's extent map unless pooled; no map, no extents after. */
void mb_entry_drop_extents(struct mb_entry *ent);

#endif
