/*
 * The WAL archive: the directory (or s3://BUCKET/PREFIX, wal_store.h)
 * `archive_command = 'mbackup wal-push %p'` fills and `restore_command =
 * 'mbackup wal-get %f %p'` reads (--wal-archive, config key wal-archive).
 * Every file is byte-identical to the one in pg_wal, or (wal-push
 * --compress zstd) one zstd frame of it named NAME.zst, so in an
 * emergency a DBA can copy one back by hand (zstd -d for a .zst).
 *
 * Layout:
 *   DIR/archive.info                "system-identifier = N" and
 *                                   "segment-size = N" lines of the cluster
 *                                   that owns the archive (its first pushed
 *                                   segment writes it; a segment of another
 *                                   cluster or size is refused)
 *   DIR/TTTTTTTT.history            timeline history files
 *   DIR/TTTTTTTTLLLLLLLL/NAME       segments TTTTTTTTLLLLLLLLSSSSSSSS, their
 *                                   .partial and .backup files (one directory
 *                                   per 4 GiB of WAL on a timeline)
 *   .../NAME.xxh128                 the checksum sidecar of every file:
 *                                   "<32 hex digits of XXH3-128>  NAME\n"
 *   .../NAME.zst                    a segment or .partial compressed
 *                                   (--compress): one zstd frame with
 *                                   its content size and checksum; its
 *                                   sidecar NAME.zst.xxh128 holds the
 *                                   checksum of the uncompressed bytes
 *   .../.NAME.PID.tmp               a push in progress (never read)
 * On s3:// the same names are objects under PREFIX/, the checksum their
 * x-amz-meta-xxh128, with no sidecars and no temporaries.
 * The sidecar sits next to its file so wal-get verifies without the catalog
 * or its lock; it is renamed into place before the file, so a file whose
 * name is visible always has its checksum.
 *
 * Segment numbers are counted in segments of the archive's size (pg 15:
 * 16 MiB by default, set by initdb --wal-segsize), read from archive.info,
 * which comes from the segments' own long page headers.
 */
#ifndef MB_WAL_ARCHIVE_H
#define MB_WAL_ARCHIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "common/error.h"
#include "orchestrator/wal_store.h"

#define MB_WAL_DEFAULT_SEG_SIZE (16u << 20)
#define MB_WAL_NAME_MAX 64	/* the longest name (a .backup) is 40 */
#define MB_WAL_LSN_MAX 24	/* "FFFFFFFF/FFFFFFFF" */
#define MB_WAL_SIDECAR ".xxh128"
#define MB_WAL_ZST ".zst"
#define MB_WAL_FILE_MAX ((size_t)1 << 30)	/* the largest segment */

/* ---- names and LSN math (wal_name.c) ---- */

enum mb_wal_kind { MB_WAL_SEGMENT, MB_WAL_PARTIAL, MB_WAL_BACKUP, MB_WAL_HISTORY };

struct mb_wal_name {
	enum mb_wal_kind kind;
	uint32_t tli;
	uint32_t log, seg;	/* the name's two other fields (not history) */
};

/* "16/B374D848" -> lsn; -1 if malformed. */
int mb_wal_lsn_parse(const char *s, uint64_t *lsn);
/* lsn -> "16/B374D848" (PostgreSQL's %X/%X). */
void mb_wal_lsn_format(uint64_t lsn, char buf[MB_WAL_LSN_MAX]);
/* A power of two from 1 MiB to 1 GiB, as initdb --wal-segsize allows. */
bool mb_wal_seg_size_valid(uint64_t seg_size);
static inline uint64_t mb_wal_segno(uint64_t lsn, uint32_t seg_size)
{
	return lsn / seg_size;
}
/* The segment file name of (tli, segno): 24 upper-case hex digits. */
void mb_wal_seg_name(uint32_t tli, uint64_t segno, uint32_t seg_size,
		     char buf[MB_WAL_NAME_MAX]);
/* Parses a file name PostgreSQL archives (segment, .partial, .backup,
 * .history); -1 for anything else (a path, a sidecar, a temp file). */
int mb_wal_name_parse(const char *name, struct mb_wal_name *n);
uint64_t mb_wal_name_segno(const struct mb_wal_name *n, uint32_t seg_size);
/* The archive directory holding name, relative to the archive ("" for a
 * history file, "TTTTTTTTLLLLLLLL" for the others). */
void mb_wal_subdir(const struct mb_wal_name *n, const char *name, char buf[MB_WAL_NAME_MAX]);
/* The archive-relative name name is stored under: "TTTTTTTT.history",
 * "TTTTTTTTLLLLLLLL/NAME", with ".zst" when zst. */
void mb_wal_rel(const struct mb_wal_name *n, const char *name, bool zst,
		char buf[MB_WAL_REL_MAX]);
/* A stored base name -> the WAL file's name (".zst" cut off a segment or
 * .partial, *zst set); -1 for anything else. */
int mb_wal_stored_parse(const char *base, struct mb_wal_name *n, char name[MB_WAL_NAME_MAX],
			bool *zst);

/* The long page header that opens every segment. */
struct mb_wal_header {
	uint32_t tli;
	uint64_t pageaddr;	/* LSN of the segment's start */
	uint64_t sysid;		/* the cluster's system identifier */
	uint32_t seg_size, block_size;
};
#define MB_WAL_HEADER_LEN 40
/* Parses buf[0..MB_WAL_HEADER_LEN); -1 if it is no PostgreSQL 15 long
 * page header (magic, flags, sizes). */
int mb_wal_header_parse(const unsigned char *buf, struct mb_wal_header *h);

/* ---- timeline history (wal_history.c) ---- */

/* One timeline of a history: WAL of tli lies in [begin, end). */
struct mb_wal_tl {
	uint32_t tli;
	uint64_t begin, end;	/* end UINT64_MAX: the history's own timeline */
};

struct mb_wal_history {
	struct mb_wal_tl *v;	/* oldest first; the last is the file's tli */
	size_t n;
};

/* Parses the text of TTTTTTTT.history for timeline tli ("parent<TAB>
 * switchpoint<TAB>reason" lines, '#' comments), checking that parents
 * increase and switchpoints do not go back (MB_ERR_CORRUPT otherwise). */
int mb_wal_history_parse(const char *text, uint32_t tli, struct mb_wal_history *h,
			 struct mb_error *e);
/* Reads and verifies TTTTTTTT.history; timeline 1 has none (one entry).
 * A missing file is MB_ERR_NOT_FOUND.  read: of the archive spec names. */
int mb_wal_history_load(struct mb_wal_store *s, uint32_t tli, struct mb_wal_history *h,
			struct mb_error *e);
int mb_wal_history_read(const char *archive, const struct mb_s3_settings *s3, uint32_t tli,
			struct mb_wal_history *h, struct mb_error *e);
void mb_wal_history_free(struct mb_wal_history *h);
/* The entry of h holding tli, or NULL. */
const struct mb_wal_tl *mb_wal_history_find(const struct mb_wal_history *h, uint32_t tli);

/* ---- the archive's contents (wal_scan.c) ---- */

struct mb_wal_seg {
	uint32_t tli;
	uint64_t segno;
	bool zst;		/* stored compressed (NAME.zst) */
};

struct mb_wal_scan {
	uint64_t sysid;		/* from archive.info; 0 while nothing archived */
	uint32_t seg_size;	/* from archive.info; default until then */
	struct mb_wal_seg *segs;	/* complete segments, sorted by (tli, segno) */
	size_t n_segs;
	uint32_t *hist;		/* timelines with a history file, sorted */
	size_t n_hist;
	size_t n_partial, n_backup, n_tmp;
	size_t n_zst;		/* segments stored compressed */
	char newest[MB_WAL_NAME_MAX];	/* the newest segment by (tli, segno) */
	time_t newest_mtime;	/* when it was archived; 0 if none */
};

/* Lists the archive through its store (no file is read but
 * archive.info); NAME.zst counts as the segment NAME (n_zst counts them). */
int mb_wal_scan(struct mb_wal_store *st, struct mb_wal_scan *s, struct mb_error *e);
void mb_wal_scan_free(struct mb_wal_scan *s);
bool mb_wal_scan_has(const struct mb_wal_scan *s, uint32_t tli, uint64_t segno);
bool mb_wal_scan_has_history(const struct mb_wal_scan *s, uint32_t tli);
/* archive.info: *sysid 0 and *seg_size the default when there is none. */
int mb_wal_info_read(struct mb_wal_store *st, uint64_t *sysid, uint32_t *seg_size,
		     struct mb_error *e);

/* ---- continuity (wal_continuity.c): what wal-check and restore use ---- */

struct mb_wal_gap {
	char first_missing[MB_WAL_NAME_MAX];	/* a segment or history file name */
	uint32_t tli;		/* the timeline it is on */
	uint64_t lsn;		/* where it starts (0 for a history file) */
	uint32_t target_tli;	/* the timeline the check followed */
	uint64_t end_segno;	/* the last segment it required */
	char last[MB_WAL_NAME_MAX];	/* that segment's name */
};

/* Is every file PostgreSQL needs to replay from start_lsn on start_tli up
 * to end_lsn on target_tli in the archive?  target_tli 0: the latest
 * timeline, as recovery_target_timeline = 'latest' picks it (the highest
 * of the history files start_tli+1, start_tli+2, ... that all exist);
 * end_lsn 0: through the newest archived segment on that timeline's path.
 * Each segment is required on the newest timeline of the path that has
 * begun by that segment (the one PostgreSQL asks for first), and the
 * target's history file when target_tli > 1.
 * Returns 0 when complete (gap->target_tli, end_segno and last set), 1
 * with gap->first_missing set (the first missing file in replay order),
 * -1 on error: MB_ERR_NOT_FOUND when the archive does not exist or the
 * target timeline does not descend from start_tli at start_lsn. */
int mb_wal_archive_check(const char *archive, const struct mb_s3_settings *s3, uint32_t start_tli,
			 uint64_t start_lsn, uint32_t target_tli, uint64_t end_lsn,
			 struct mb_wal_gap *gap, struct mb_error *e);
/* The same on a scan already made (wal-check checks every backup on one). */
int mb_wal_scan_check(struct mb_wal_store *st, const struct mb_wal_scan *s, uint32_t start_tli,
		      uint64_t start_lsn, uint32_t target_tli, uint64_t end_lsn,
		      struct mb_wal_gap *gap, struct mb_error *e);
/* The timeline 'latest' means from start_tli: start_tli itself when no
 * TTTTTTTT.history of a later one is archived. */
int mb_wal_archive_latest_timeline(const char *archive, const struct mb_s3_settings *s3,
				   uint32_t start_tli, uint32_t *tli, struct mb_error *e);

/* ---- expiry (wal_prune.c) ---- */

/* Where a backup that is kept starts. */
struct mb_wal_keep {
	uint32_t tli;
	uint64_t lsn;
};

struct mb_wal_pruned {
	size_t files;		/* segments, .partial and .backup files removed */
	uint64_t bytes;
	size_t tmp;		/* temporaries of dead pushes removed (older than a day) */
	size_t requests;	/* the store was sent to remove the files */
	char oldest_kept[MB_WAL_NAME_MAX];	/* the first segment still needed */
};

/* Removes every segment, .partial and .backup file no kept backup needs:
 * a file on timeline T at segment S stays when some keep[i] has S >=
 * the segment of keep[i].lsn and T is keep[i].tli or descends from it at
 * keep[i].lsn (its history says so); a timeline whose history cannot be
 * read is kept whole, history files always.  n == 0 removes nothing (no
 * backup known to need WAL is no licence to empty the archive).  The file
 * goes before its sidecar, so a name never lacks its checksum. */
int mb_wal_prune(struct mb_wal_store *st, const struct mb_wal_keep *keep, size_t n,
		 struct mb_wal_pruned *out, struct mb_error *e);

#endif
