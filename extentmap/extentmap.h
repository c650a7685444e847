/*
 * Extent maps: which device bytes hold each file of the backup set.
 *
 *   P2 premap   mb_walk() builds the set on the live filesystem, then
 *               mb_premap() FIEMAPs every regular file (FIEMAP_FLAG_SYNC,
 *               looping until the extent flagged LAST) and mb_converge()
 *               re-maps the files that keep changing.
 *   P5 recheck  mb_recheck(), inside the window: stat every entry, re-map
 *               only what moved (ino/size/mtime/ctime, or "racy": changed
 *               within the timestamp granularity of the premap), re-read
 *               only directories whose mtime/ctime moved (new entries),
 *               drop what was deleted.  No full walk.
 *   P7 stream   the extent reader pulls each file's bytes off the split leg
 *               (a raw device or an image file) by extent: large reads,
 *               holes and unwritten extents as zeros, cut at EOF; files it
 *               cannot trust (read_via_fs) are read through a read-only
 *               mount of the split leg instead.
 */
#ifndef MB_EXTENTMAP_H
#define MB_EXTENTMAP_H

#include <stdbool.h>
#include <stdint.h>

#include "common/entry.h"
#include "common/error.h"
#include "common/stop.h"

struct mb_map_stats {
	uint64_t entries;	/* entries in the set after the step */
	uint64_t files;		/* regular files */
	uint64_t bytes;		/* sum of regular file sizes */
	uint64_t mapped;	/* files FIEMAPped in this step (recheck: the
				 * moved ones, the racy ones and new ones) */
	uint64_t extents;	/* extents in the set */
	uint64_t via_fs;	/* files to read through the filesystem */
	uint64_t added, removed, changed;	/* recheck / converge: changed =
				 * entries whose stat moved (racy-only
				 * re-maps are not counted here) */
	uint64_t dirs_reread;	/* recheck: directories listed again, the
				 * root included (it is always listed) */
	int rounds;		/* converge rounds; converge's counters are
				 * totals over all rounds */
	uint64_t stated;	/* entries stat'ed (the window's work) */
	uint64_t named;		/* journal: inodes it named (last round) */
	int overflows;		/* journal: drains that found events lost */
	bool journal;		/* the pass went by the change journal */
};

/* In every function below, st may be NULL; it is zeroed, then filled.
 * The passes of P2 (walk, premap, converge) look at stop (may be NULL;
 * common/stop.h) every MB_EM_STOP_EVERY entries and fail with its error
 * once the run must end, so a big tree never makes a run deaf; the
 * recheck, inside the window, takes none. */
#define MB_EM_STOP_EVERY 64

/* Walks root (which must be a directory) without crossing mount points
 * (other-device subtrees are skipped with a warning), lstat()s every entry
 * and fills set in logical order.  The root itself is not an entry.
 * set->root is root resolved by realpath() (a symlink to the source is
 * followed; nothing below it is).  Sockets are skipped with a warning.
 * Hard links: the first name in logical order is 'f', later names are 'h'
 * with link_target = the first name.  An 'h' keeps st_size in size (the
 * index shows it) but carries no data: no extents, seg_offset and
 * seg_length 0; the image writes no data for it.  A regular file starts
 * with seg_offset 0 and seg_length == size. */
int mb_walk(struct mb_set *set, const char *root, const struct mb_stop *stop,
	    struct mb_error *e);

/* FIEMAPs one open regular file into ent (replacing its extents).  Loops
 * until the LAST extent; sets ent->read_via_fs when an extent is UNKNOWN,
 * DELALLOC, ENCODED, DATA_ENCRYPTED, DATA_INLINE, DATA_TAIL or
 * NOT_ALIGNED, or FIEMAP is unsupported (EOPNOTSUPP, ENOTTY). */
int mb_fiemap_fd(int fd, struct mb_entry *ent, bool sync, struct mb_error *e);

/* P2: maps every regular file of the set, with FIEMAP_FLAG_SYNC.  Each
 * file's stat fields are refreshed from the open file just before its
 * map, so any later change shows up as "moved".  A name that vanished or
 * is no longer a regular file is left alone (the recheck sees it). */
int mb_premap(struct mb_set *set, const struct mb_stop *stop, struct mb_map_stats *st,
	      struct mb_error *e);
/* mb_premap, calling report (may be NULL) after each regular file of the
 * set, mapped or left alone: its size is what was mapped (the progress of
 * a big tree; the caller counts). */
typedef void (*mb_map_report_fn)(void *arg, const struct mb_entry *ent);
int mb_premap_report(struct mb_set *set, const struct mb_stop *stop, mb_map_report_fn report,
		     void *report_arg, struct mb_map_stats *st, struct mb_error *e);

/* P2: re-stats every entry and re-maps the ones that changed (the same
 * pass as the recheck, with FIEMAP_FLAG_SYNC and without the racy rule),
 * up to max_rounds times or until at most small_enough entries changed or
 * were added in a round. */
int mb_converge(struct mb_set *set, size_t small_enough, int max_rounds,
		const struct mb_stop *stop, struct mb_map_stats *st, struct mb_error *e);

/* P5: see above.  premap_started is the wall-clock time (unix seconds,
 * floor) at which the premap began: entries whose mtime or ctime is at or
 * after premap_started - 1 are treated as changed (racy timestamps).
 * Vanished names (and everything below a vanished directory) are dropped;
 * a name whose type changed is replaced; new names in moved directories
 * are added, new subdirectories walked fully.  No FIEMAP_FLAG_SYNC: the
 * fs is frozen, and a flush must never wait inside the window. */
int mb_recheck(struct mb_set *set, int64_t premap_started,
	       struct mb_map_stats *st, struct mb_error *e);

/* ---- the change journal (P2..P5) ----
 *
 * Why: the full recheck stats every entry inside the window, so the
 * window grows with the tree (3.3 s of a 3.6 s window at 200,000 files)
 * although only what changed since the premap can have moved.  The
 * journal is a fanotify group with a filesystem mark (FAN_MARK_FILESYSTEM,
 * FAN_REPORT_FID) on the source's filesystem, opened before the walk: the
 * kernel queues an event, after the change is made and before the
 * syscall returns (inside the writer's freeze protection, so a freeze
 * completes only once every event of a finished write is queued), for
 * each write, truncate, fallocate, attribute change and close after
 * writing (FAN_MODIFY, FAN_ATTRIB, FAN_CLOSE_WRITE) and for each name
 * created, removed or renamed (FAN_CREATE, FAN_DELETE, FAN_MOVED_*, on
 * the directory).  Each round drains the queue and re-maps every inode it
 * named whatever its stat says (no racy rule is needed: a write in the
 * same timestamp tick as the last map has its own event), re-lists every
 * directory it named and stats that directory's direct children.  An
 * entry no drained event named has not changed since it was last mapped
 * after a drain, so the map of the split leg is exact when the window's
 * drain has been applied.  Converge rounds (outside the window) shrink
 * what is left for the window; the window's work is then proportional to
 * what changed since the last round, not to the tree.
 *
 * Fallbacks: no journal (fanotify refused, e.g. no CAP_SYS_ADMIN, or a
 * filesystem without file handles) means today's full converge and
 * recheck; a queue overflow (FAN_Q_OVERFLOW: events lost) in a converge
 * round means one full pass with the racy rule from the last clean drain,
 * in the window the full recheck from the premap's start.  Not seen by
 * the journal: writes through a shared writable mmap until the file is
 * closed (PostgreSQL writes its files with write(2); pg_dynshmem is not
 * backed up) and changes that move extents without touching the file
 * (online defragmentation), which the full recheck misses too. */
struct mb_journal;

/* Opens the journal on the filesystem of root (before mb_walk).  Fails
 * with MB_ERR_SOURCE when fanotify refuses (the caller falls back to the
 * full passes). */
int mb_journal_open(struct mb_journal **out, const char *root, struct mb_error *e);
void mb_journal_close(struct mb_journal *j);	/* NULL is fine */
/* Events read so far. */
uint64_t mb_journal_events(const struct mb_journal *j);

/* P2, instead of mb_converge: rounds of "drain the journal, re-check what
 * it named" (with FIEMAP_FLAG_SYNC), the first after the premap covering
 * everything that changed since the walk began, up to max_rounds or until
 * a round's journal named at most small_enough inodes.  Leaves the set's
 * inode index built for the window. */
int mb_converge_journal(struct mb_set *set, struct mb_journal *j, size_t small_enough,
			int max_rounds, const struct mb_stop *stop,
			struct mb_map_stats *st, struct mb_error *e);

/* Right before the window: the same rounds as mb_converge_journal, but
 * with nothing after the last drain (no trim, no totals: st's set totals
 * stay 0), so that the window's recheck names only what changed since. */
int mb_settle_journal(struct mb_set *set, struct mb_journal *j, size_t small_enough,
		      int max_rounds, const struct mb_stop *stop, struct mb_map_stats *st,
		      struct mb_error *e);

/* P5 with a journal (NULL: mb_recheck): drains it and re-checks only
 * what it named since the last converge round; st->stated says how many
 * entries were stat'ed.  After an overflow: mb_recheck(premap_started).
 * By the journal, st's set totals (files, bytes, extents, via_fs) stay 0:
 * counting them is a pass over the whole set, kept out of the window. */
int mb_recheck_journal(struct mb_set *set, struct mb_journal *j, int64_t premap_started,
		       struct mb_map_stats *st, struct mb_error *e);

/* Re-sorts the set into logical order and re-derives hard links ('f' for
 * the first name, 'h' for the others; a first name without a map takes
 * the map of another name of the inode).  mb_walk and mb_recheck call it.
 * Aborts on allocation failure (it has no error path). */
void mb_set_finalize(struct mb_set *set);

/* Compares two relative paths in logical order (component by component,
 * bytewise), so that a directory sorts right before its contents. */
int mb_path_cmp(const char *a, const char *b);

/* ---- the extent reader (P7) ---- */

struct mb_extent_reader;

/* device: the split leg (block device or image file), read-only.
 * device_offset: added to every physical offset (loop device offset). */
int mb_extent_reader_open(struct mb_extent_reader **out, const char *device,
			  uint64_t device_offset, struct mb_error *e);
/* Directory where the split leg is mounted read-only, for read_via_fs
 * files; required before reading such a file.  (Out of memory here makes
 * the first such read fail with ENOMEM.) */
void mb_extent_reader_set_fs_root(struct mb_extent_reader *r,
				  const char *fs_root);
void mb_extent_reader_close(struct mb_extent_reader *r);

/* Optional: the entries that will be read, in that order (borrowed until
 * close).  A thread then queues the device reads ahead of the stream so
 * the disk never idles while the image is hashed and written. */
int mb_extent_reader_plan(struct mb_extent_reader *r,
			  struct mb_entry *const *entries, size_t n,
			  struct mb_error *e);

/* An mb_data_fn: arg is the reader.  Emits exactly ent->seg_length bytes,
 * the file's bytes from ent->seg_offset, read from the split leg, in
 * chunks of at most 4 MiB.  seg_length 0 with size > 0 means the whole
 * file; entries other than 'f' emit nothing.  The callback's error is
 * returned as is. */
int mb_extent_read(void *reader, const struct mb_entry *ent, mb_emit_fn emit,
		   void *emit_arg, struct mb_error *e);

/* Bytes read from the device and through the filesystem, for stats. */
uint64_t mb_extent_reader_bytes(const struct mb_extent_reader *r);
/* Of those, the bytes read with O_DIRECT (segments of 1 MiB and more). */
uint64_t mb_extent_reader_direct_bytes(const struct mb_extent_reader *r);
/* Of those, the bytes read into the reader's buffer and emitted from there
 * (copied by whoever takes them): 0 when every emit was the image writer's
 * or taps over it (common/tap.h), which the reader fills in place.  Bytes
 * that end at a tap (hashed only) are not copied. */
uint64_t mb_extent_reader_copied_bytes(const struct mb_extent_reader *r);

#endif
