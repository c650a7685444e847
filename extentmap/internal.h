/*
 * Private to extentmap/: the pieces shared by the walk, the premap, the
 * recheck and the reader.  Not part of the module's contract.
 */
#ifndef MB_EXTENTMAP_INTERNAL_H
#define MB_EXTENTMAP_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "extentmap/extentmap.h"

/* Marks an entry dropped by a recheck until the set is compacted. */
#define MB_EM_GONE '\0'

/* Opens path below dirfd refusing symbolic links in every component and
 * any escape from dirfd (openat2 RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS).
 * O_CLOEXEC and O_NOFOLLOW are added.  Returns the fd, or -1 with errno. */
int mb_em_open_beneath(int dirfd, const char *path, int flags);

/* The entry type for a st_mode, or 0 for a socket (never backed up). */
char mb_em_type_of(mode_t mode);

/* Copies ino, size, mode, uid, gid, times, rdev and nlink from st.  size is
 * st_size for regular files and 0 for everything else.  Fails (ENOMEM)
 * only for a device, whose rdev needs the entry's side record. */
int mb_em_set_stat(struct mb_entry *ent, const struct stat *st, struct mb_error *e);

/* True when ino, size, mtime or ctime differ from what ent recorded. */
bool mb_em_stat_moved(const struct mb_entry *ent, const struct stat *st);

/* (Re)reads a symlink's target into the entry (mb_entry_link). */
int mb_em_read_link(struct mb_entry *ent, int dirfd, const char *name,
		    struct mb_error *e);

/* Called for each name of the directory being listed: true to skip it. */
typedef bool (*mb_em_known_fn)(void *arg, const char *path);

/* Appends the entries of the directory open as dirfd (borrowed), whose
 * path relative to the root is prefix ("" for the root).  Names for which
 * known() is true are skipped; new subdirectories are walked fully.  Other
 * devices and sockets are skipped with a warning; names that vanish while
 * listed are skipped.  *added counts the appended entries; stop (may be
 * NULL) is looked at every MB_EM_STOP_EVERY of them. */
int mb_em_list_dir(struct mb_set *set, int dirfd, const char *prefix,
		   mb_em_known_fn known, void *known_arg, uint64_t *added,
		   const struct mb_stop *stop, struct mb_error *e);

/* The stop, looked at when n is a multiple of MB_EM_STOP_EVERY. */
int mb_em_stop_at(const struct mb_stop *stop, uint64_t n, struct mb_error *e);

/* Opens ent->path below rootfd, refreshes ent's stat fields from the open
 * file and FIEMAPs it.  Returns 0 when mapped, 1 when the name no longer
 * is a regular file (vanished, replaced: the next stat pass sees it), -1
 * on error. */
int mb_em_map_entry(int rootfd, struct mb_entry *ent, bool sync,
		    struct mb_error *e);

/* Opens set->root and checks it is still the walked device. */
int mb_em_open_root(const struct mb_set *set, struct mb_error *e);

/* Starts a pass over the set: *st (scratch when the caller gave NULL)
 * zeroed, and set->root opened as with mb_em_open_root. */
int mb_em_pass_begin(const struct mb_set *set, struct mb_map_stats **st,
		     struct mb_map_stats *scratch, struct mb_error *e);

/* Inode numbers, sorted and unique once drained. */
struct mb_em_inos {
	uint64_t *v;
	size_t n, cap;
};

/* What the change journal named since its previous drain. */
struct mb_em_dirty {
	struct mb_em_inos files;	/* inodes whose data or attributes changed */
	struct mb_em_inos dirs;		/* directories whose names changed */
	uint64_t root_ino;		/* the root's (it is not an entry) */
	bool overflowed;		/* events were lost: a full pass is due */
	int64_t clean_since;		/* the lost ones came after this (unix s) */
};

/* Takes what the journal's queue holds (never waits) into *out (freed
 * and replaced), resolved to inode numbers of set->dev. */
int mb_em_journal_drain(struct mb_journal *j, struct mb_em_dirty *out,
			struct mb_error *e);
void mb_em_dirty_free(struct mb_em_dirty *d);

/* The set's entries by inode number: (ino, index) sorted, every name of
 * a hard link.  Valid for the set it was built on while its array and
 * count stay (base, set_n); a pass that reshapes the set makes it stale. */
struct mb_em_ino_ref {
	uint64_t ino;
	size_t idx;
};
struct mb_em_ino_index {
	struct mb_em_ino_ref *v;
	size_t n;
	const struct mb_entry *base;
	size_t set_n;
};
int mb_em_index_build(struct mb_em_ino_index *x, const struct mb_set *set);
bool mb_em_index_fresh(const struct mb_em_ino_index *x, const struct mb_set *set);
/* The first position of ino in x->v, or x->n. */
size_t mb_em_index_find(const struct mb_em_ino_index *x, uint64_t ino);
/* The journal's index, kept from the last converge round to the window. */
struct mb_em_ino_index *mb_em_journal_index(struct mb_journal *j);

/* One stat pass over the set (the body of mb_converge and mb_recheck):
 * entries whose mtime or ctime is >= racy_from are re-mapped even when
 * their stat did not move.  With dirty (and its fresh index x), only
 * what the journal named is looked at: its inodes are stat'ed and
 * re-mapped whatever their stat says, its directories listed again and
 * their direct children stat'ed (a name removed or replaced), and the
 * set is re-sorted only when the pass reshaped it.  Adds to st's
 * stated/mapped/added/removed/changed/dirs_reread, then finalizes the
 * set. */
int mb_em_refresh(struct mb_set *set, int rootfd, int64_t racy_from,
		  bool sync, const struct mb_stop *stop,
		  const struct mb_em_dirty *dirty, const struct mb_em_ino_index *x,
		  struct mb_map_stats *st, struct mb_error *e);

/* Gives back the spare room of the set's array (the end of P2). */
void mb_em_set_trim(struct mb_set *set);

/* Fills entries/files/bytes/extents/via_fs from the set. */
void mb_em_totals(const struct mb_set *set, struct mb_map_stats *st);

#endif
