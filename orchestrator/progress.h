/*
 * Progress of a long phase (the stream): bytes done of the total, rate,
 * ETA and the current file, like pg_basebackup --progress and pv.
 *
 *   --progress auto   (default) on a terminal (stderr), one line rewritten
 *                     in place; otherwise a log line every
 *                     --progress-interval seconds
 *   --progress line   the rewritten line, terminal or not
 *   --progress log    the log line, terminal or not
 *   --progress json   one JSON object per line every --progress-interval
 *                     seconds and at the end: {"phase", "bytes", "total",
 *                     "rate", "eta_s", "file"}, to --progress-to (a path,
 *                     or fd:N; default stderr)
 *   --progress none
 *
 * Never used inside the window: nothing may write to a frozen filesystem.
 * mb_progress_add may be called from several threads (one per device).
 */
#ifndef MB_PROGRESS_H
#define MB_PROGRESS_H

#include <stdint.h>

#include "common/entry.h"
#include "common/error.h"
#include "common/stop.h"
#include "common/tap.h"
#include "image/image.h"
#include "orchestrator/options.h"

struct mb_progress;

/* Checks --progress, --progress-to and --progress-interval (usage errors
 * name the option), before anything runs. */
int mb_progress_check(const struct mb_options *o, struct mb_error *e);
/* Starts the progress of phase over total bytes; *out NULL for none. */
int mb_progress_start(struct mb_progress **out, const struct mb_options *o,
		      const char *phase, uint64_t total, struct mb_error *e);
/* bytes more done, of file (NULL: the same file); prints when due. */
void mb_progress_add(struct mb_progress *p, uint64_t bytes, const char *file);
/* The last report (at 100 % when done is true), then frees p. */
void mb_progress_end(struct mb_progress *p, bool done);

/* A wait measured in percent (the sync wait): the same modes, the line
 * "sync VG/LV 45.3% ETA 1:23", the JSON {"phase", "percent", "eta_s",
 * "file"}; mb_progress_percent sets where it is.  mb_progress_end prints
 * nothing when no percentage came (nothing was waited for). */
int mb_progress_start_percent(struct mb_progress **out, const struct mb_options *o,
			      const char *phase, struct mb_error *e);
void mb_progress_percent(struct mb_progress *p, double percent, const char *what);
/* The same as a mirror's on_sync callback (arg: the struct mb_progress). */
void mb_progress_on_sync(void *arg, const char *what, double percent);

/* A pass over files (the premap): the bytes as above, and the files done
 * of files; the percent and the ETA follow the files (a map costs per
 * file more than per byte).  The line "premap 12 / 40 files 1.2 GiB /
 * 3.0 GiB  30% 410 MiB/s ETA 0:07 FILE", the JSON adds "files" and
 * "files_total".  mb_progress_add_file: one file more, of bytes. */
int mb_progress_start_files(struct mb_progress **out, const struct mb_options *o,
			    const char *phase, uint64_t files, uint64_t bytes, struct mb_error *e);
void mb_progress_add_file(struct mb_progress *p, uint64_t bytes, const char *file);

/* P2's premap (mb_premap_report) with the progress of phase "premap"
 * over the set's regular files; progress_premap.c. */
struct mb_map_stats;
int mb_progress_premap(const struct mb_options *o, struct mb_set *set,
		       const struct mb_stop *stop, struct mb_map_stats *st, struct mb_error *e);

/* t becomes a tap (common/tap.h: emit mb_tap_emit, arg t) that counts
 * what passes through it into p, on its way to next. */
void mb_progress_tap(struct mb_tap *t, struct mb_progress *p, mb_emit_fn next, void *next_arg);

/* An image input that counts the bytes read through it into p (NULL: not
 * yet, or none), the current file being the index entry at the position
 * read (idx NULL: not known yet); progress_input.c.  Heap-allocated: the
 * reader keeps a copy of c->in, whose ctx is c. */
struct mb_progress_input {
	struct mb_image_input in;	/* what the reader reads */
	struct mb_image_input inner;
	struct mb_progress *p;
	const struct mb_index *idx;
	uint64_t pos;		/* image offset of the next byte */
	size_t cur;		/* index entry at pos */
};
/* NULL when out of memory (the caller reads inner directly then). */
struct mb_progress_input *mb_progress_input_new(const struct mb_image_input *inner);

#endif
