/*
 * One backup run: everything the phases share, passed down explicitly
 * (no global run state).
 */
#ifndef MB_RUN_H
#define MB_RUN_H

#include <stdbool.h>
#include <stdint.h>

#include "common/clock.h"
#include "common/entry.h"
#include "common/error.h"
#include "common/mountinfo.h"
#include "extentmap/extentmap.h"
#include "image/image.h"
#include "orchestrator/catalog.h"
#include "orchestrator/guard.h"
#include "orchestrator/obligations.h"
#include "orchestrator/options.h"
#include "plugins/media/media.h"
#include "plugins/mirror/mirror.h"
#include "plugins/quiesce/quiesce.h"

/* Phase timings of the window are kept in memory and written to the
 * catalog after the thaw: no catalog commit happens while frozen. */
struct mb_phase_note {
	const char *name;
	char started[32], finished[32];
	long long duration_ms;
	bool ok;
	char detail[512];
};

/* One mirror of the run and the filesystem it holds.  legs[0] holds the
 * source; the others hold what the source needs from elsewhere (a database's
 * WAL on its own volume).  Every leg is frozen and split in the window. */
#define MB_MAX_LEGS 8
#define MB_MAX_MEDIA 64		/* image/multi.h's MB_MULTI_MAX_DEVICES */
struct mb_leg {
	struct mb_mirror *mirror;
	struct mb_mount mount;		/* the filesystem on it */
	int split_handle;		/* -1 until recorded */
};

struct mb_run {
	const struct mb_options *opt;
	bool check_only;

	/* P0 */
	char *source;			/* realpath of --source */
	dev_t source_dev;
	struct mb_leg legs[MB_MAX_LEGS];
	int n_legs;
	struct mb_mount mount;		/* legs[0].mount: the source's filesystem */
	struct mb_mirror *mirror;	/* legs[0].mirror: read while streaming */
	struct mb_catalog *catalog;
	int lock_fd;
	int64_t id;
	struct mb_sink *sinks[MB_MAX_MEDIA];	/* one per --media */
	int media_handle[MB_MAX_MEDIA];	/* -1 unless a file image is written */
	int n_sinks;
	const char *image_status[MB_MAX_MEDIA];	/* "complete" / "failed" */

	/* P2..P5 */
	struct mb_set set;
	int64_t premap_started;
	struct mb_map_stats premap, recheck;
	struct mb_journal *journal;	/* NULL: the full passes (extentmap.h) */

	/* P3..P6 */
	struct mb_obligations obl;
	bool obl_ready;
	struct mb_quiesce_stack quiesce;	/* the --db stack, opened in P0 */
	long long bracket_start_ms, bracket_end_ms;
	struct mb_guard guard;
	bool in_window;
	long long window_start_ms, window_end_ms;
	long long frozen_ms, thaw_ms;	/* the window's freeze and thaw (bench/files-vm) */
	struct mb_phase_note notes[5];
	int n_notes;

	/* P7..P8 */
	char *split_mount;		/* read-only mount of the split leg, if any */
	int mount_handle;
	struct mb_image_layout layout;
	struct mb_image_stats image;
	uint64_t via_fs_files;
	/* what the stream's readers of the split leg did, summed as each
	 * closes (from the devices' threads: atomically) */
	struct { uint64_t read, direct, copied; } leg;
	struct mb_incr *incr;		/* block maps; the increment (incremental.h) */

	char detail[512];		/* the current phase's one-line result */
};

/* `mbackup backup` and `mbackup check`: the phases of DESIGN.md. */
int mb_backup(const struct mb_options *opt, bool check_only, struct mb_error *e);

/* P0 checks that change nothing (the sources, the mirror, where the
 * catalog, lock, logs and media live); then the catalog and the lock. */
int mb_preflight(struct mb_run *r, struct mb_error *e);

/* P7/P8 (orchestrator/stream.c): writes the image, or one image per
 * device when several --media are given; closes the media and records
 * them in the catalog. */
int mb_stream(struct mb_run *r, struct mb_error *e);
/* The media of the set can share one image layout (one record size);
 * preflight asks, once they are open, before anything is frozen. */
int mb_stream_check_media(const struct mb_run *r, struct mb_error *e);
int mb_stream_close_media(struct mb_run *r, struct mb_error *e);

/* `mbackup recover`: undo every obligation of runs that died, mark them
 * failed.  Also called by P0 with the lock already held. */
int mb_recover_locked(struct mb_catalog *c, const struct mb_undo_ctx *ctx, int *undone,
		      struct mb_error *e);
/* The same, the waits of its undos (a leg's re-merge, a scrub) shown as
 * the progress (--progress) of the phase "recover" (recover.c). */
int mb_recover_shown(struct mb_catalog *c, const struct mb_options *o, int *undone,
		     struct mb_error *e);

/* Test seam: MBACKUP_FAULT=<point>:<error|term|kill|hang>. */
int mb_fault(const char *point, struct mb_error *e);



#endif
