/*
 * The catalog: one SQLite database recording every run, its phases with
 * timings, the window, the backup set (files and extents), the images, and
 * the obligations a run took (so `mbackup recover` can undo them after a
 * crash).  Default path /var/lib/mbackup/catalog.db (--catalog).
 * Timestamps are UTC text "YYYY-MM-DDTHH:MM:SS.mmmZ".
 */
#ifndef MB_CATALOG_H
#define MB_CATALOG_H

#include <stdint.h>
#include <stdio.h>

#include "common/entry.h"
#include "common/error.h"
#include "common/fact.h"

#define MB_CATALOG_SCHEMA_VERSION 12	/* 2: tape tables; 3: placements + index;
					 * 4: backups + block maps; 5: runs.expired;
					 * 6: run facts; 7: run_pace; 8: snapshots;
					 * 9: wal_files; 10: images.compressed_bytes;
					 * 11: mirror_proofs; 12: their full passes */

struct mb_catalog;

/* Opens (creating the file, its directory and the schema if needed) and
 * checks the schema version; refuses a newer schema. */
int mb_catalog_open(struct mb_catalog **out, const char *path,
		    struct mb_error *e);
void mb_catalog_close(struct mb_catalog *c);

/* A new run with status "running", the current pid, started = now, the
 * verb ("backup") and the effective configuration as JSON text. */
int mb_catalog_run_begin(struct mb_catalog *c, const char *verb,
			 const char *config_json, int64_t *run_id,
			 struct mb_error *e);
/* Sets status ("complete" or "failed"), finished = now, exit code and the
 * error message (NULL if none). */
int mb_catalog_run_end(struct mb_catalog *c, int64_t run_id,
		       const char *status, int exit_code, const char *error,
		       struct mb_error *e);
int mb_catalog_run_set_window(struct mb_catalog *c, int64_t run_id,
			      int64_t window_ms, struct mb_error *e);
int mb_catalog_run_set_totals(struct mb_catalog *c, int64_t run_id,
			      uint64_t files, uint64_t bytes,
			      struct mb_error *e);

/* A fact a plugin reported about the run (common/fact.h), stored as it
 * is given; a key given again replaces its value. */
int mb_catalog_run_set_fact(struct mb_catalog *c, int64_t run_id, const char *key,
			    const char *value, struct mb_error *e);

/* A complete backup with the facts its plugins reported: a point a
 * restore to a point in time can start from. */
struct mb_catalog_point {
	int64_t run_id;
	char finished[32];
	char *config;			/* the run's options as JSON text */
	char **media;			/* its complete images' media specs,
					 * by device */
	size_t n_media;
	struct mb_fact facts[MB_FACTS_MAX];
	size_t n_facts;
};
/* Every such backup, newest first.  Free with mb_catalog_points_free. */
int mb_catalog_points(struct mb_catalog *c, struct mb_catalog_point **v, size_t *n,
		      struct mb_error *e);
void mb_catalog_points_free(struct mb_catalog_point *v, size_t n);

/* How the stream yielded (orchestrator/pace.h): --max-rate, --yield, the
 * bytes read, the stream's time, the readers' waits, the time the
 * governor held the rate down, its lowest rate and how often it lowered
 * it (catalog_pace.c). */
struct mb_catalog_pace {
	uint64_t max_rate;
	bool yield;
	uint64_t bytes;
	long long stream_ms, waited_ms, yielded_ms;
	uint64_t rate_min;
	unsigned downs;
};
int mb_catalog_run_pace(struct mb_catalog *c, int64_t run_id, const struct mb_catalog_pace *p,
			struct mb_error *e);

/* Phases: begin records the start; end records the end, the duration, a
 * status ("ok" / "failed") and a short free-text detail. */
int mb_catalog_phase_begin(struct mb_catalog *c, int64_t run_id,
			   const char *phase, struct mb_error *e);
int mb_catalog_phase_end(struct mb_catalog *c, int64_t run_id,
			 const char *phase, const char *status,
			 const char *detail, struct mb_error *e);

/* A phase recorded after the fact, with its own times: the phases inside
 * the window are kept in memory and written after the thaw. */
int mb_catalog_phase_record(struct mb_catalog *c, int64_t run_id,
			    const char *phase, const char *started,
			    const char *finished, int64_t duration_ms,
			    const char *status, const char *detail,
			    struct mb_error *e);

/* Obligations: recorded (state "pending") BEFORE the action is taken;
 * kind is e.g. "freeze" / "split" / "mount"; driver names the plugin that
 * can undo it; arg is everything the undo needs, as text. */
int mb_catalog_obligation_add(struct mb_catalog *c, int64_t run_id,
			      const char *kind, const char *driver,
			      const char *arg, int64_t *obligation_id,
			      struct mb_error *e);
/* state: "released" (undone by the run), "recovered" (undone by recover),
 * "failed" (undo failed; stays pending for the next recover). */
int mb_catalog_obligation_set(struct mb_catalog *c, int64_t obligation_id,
			      const char *state, struct mb_error *e);

struct mb_obligation {
	int64_t id, run_id;
	char kind[32], driver[32];
	char *arg;
	char state[16];
};
/* Pending (or failed) obligations of runs whose status is still "running",
 * newest first.  Caller frees with mb_obligations_free. */
int mb_catalog_obligations_open(struct mb_catalog *c, struct mb_obligation **v,
				size_t *n, struct mb_error *e);
/* Pending (or failed) obligations of runs that ended (a failed run whose
 * own undo did not get through, such as an upload's abort while the
 * store was down), newest first, for recover to retry. */
int mb_catalog_obligations_left(struct mb_catalog *c, struct mb_obligation **v,
				size_t *n, struct mb_error *e);
void mb_obligations_free(struct mb_obligation *v, size_t n);
/* Runs still marked "running" (their ids), for recover. */
int mb_catalog_runs_running(struct mb_catalog *c, int64_t **ids, size_t *n,
			    struct mb_error *e);

/* The final backup set (files with their image offsets and extents), in one
 * transaction. */
int mb_catalog_save_set(struct mb_catalog *c, int64_t run_id,
			struct mb_entry *const *entries, size_t n,
			struct mb_error *e);
/* One row per image written (device k of n, the media spec, its bytes,
 * status "complete" / "failed"). */
int mb_catalog_image_add(struct mb_catalog *c, int64_t run_id,
			 int device_index, const char *media, uint64_t bytes,
			 const char *status, struct mb_error *e);
/* Image k of the run was compressed to bytes on its medium.  Its tape
 * members, if any, are dropped: they give records of image offsets, and
 * a compressed image's records hold compressed bytes (it is read in
 * order).  One transaction. */
int mb_catalog_image_set_compressed(struct mb_catalog *c, int64_t run_id, int device_index,
				    uint64_t bytes, struct mb_error *e);

/* Where one item of a set written to several devices landed. */
struct mb_placement {
	const char *path;
	uint64_t seg_offset, seg_length;	/* the part of the file */
	uint64_t image_offset;			/* in that device's image */
	uint32_t planned, device, part;		/* devices 1..N; part 1 = first
						 * image, 2.. rescue images */
};
/* Records the placements of a run, in one transaction. */
int mb_catalog_save_placements(struct mb_catalog *c, int64_t run_id,
			       const struct mb_placement *v, size_t n,
			       struct mb_error *e);
/* Where an image went on tape: one part per volume it touches (the
 * volume set's label, the volume counting from 1, the tape file holding
 * the part, the image byte at its first record).  Also records, for every
 * member of the run's saved set, the volume and the record (counted from
 * the start of that tape file) its header starts on.  One transaction. */
struct mb_catalog_tape_part {
	const char *label;
	uint32_t volume, file_no;
	uint64_t first_byte;
};
int mb_catalog_tape_add(struct mb_catalog *c, int64_t run_id, int device_index,
			uint32_t record_size, const struct mb_catalog_tape_part *parts,
			size_t n, struct mb_error *e);

/* `mbackup list`: a JSON array of runs, newest first, each with id, status,
 * verb, started, finished, window_ms, bytes, files, exit_code, error,
 * media (array of {device, media, bytes, status}) and phases (array of
 * {name, started, finished, duration_ms, status, detail}). */
int mb_catalog_list_json(struct mb_catalog *c, FILE *out, struct mb_error *e);
/* The same as an aligned text table, one run a line. */
int mb_catalog_list_text(struct mb_catalog *c, FILE *out, struct mb_error *e);

/* Which runs list shows: started at since or later ("": all), the newest
 * limit of them (0: all). */
struct mb_list_filter {
	char since[32];		/* catalog time text, "YYYY-MM-DDTHH:MM:SS" */
	long limit;
};
/* --since (an age: 36h, 7d; or a UTC time: 2026-12-01, 2026-12-01T22:00)
 * and --limit into f; a bad --since is MB_ERR_USAGE (list_filter.c). */
int mb_list_filter_parse(const char *since, long limit, struct mb_list_filter *f,
			 struct mb_error *e);
/* mb_catalog_list_json / _text for the runs of f only (NULL: all). */
int mb_catalog_list_json_filtered(struct mb_catalog *c, FILE *out,
				  const struct mb_list_filter *f, struct mb_error *e);
int mb_catalog_list_text_filtered(struct mb_catalog *c, FILE *out,
				  const struct mb_list_filter *f, struct mb_error *e);

/* Current UTC time as catalog text; buf of at least 32 bytes. */
void mb_catalog_now(char *buf, size_t len);

#endif
