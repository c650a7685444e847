/*
 * The stream yields to production (DESIGN.md "Production first").  It is
 * the READER that is slowed, never the database: nothing here touches the
 * server, a cgroup or the production device, so there is nothing to undo
 * on any exit path (no obligation): a dead mbackup reads nothing.
 *
 *   --max-rate SIZE    a token bucket (common/ratelimit.h) over every
 *                      reader thread of the run: bytes/s from the split leg
 *   --io-nice CLASS    ioprio_set(2) of each reader thread for the stream,
 *                      restored after it; acted on by bfq (class and level)
 *                      and mq-deadline (class only, since Linux 5.14); none
 *                      and kyber ignore it
 *   --yield auto       the governor (pace_governor.c) watches the source
 *                      device's latency and moves the bucket's rate
 */
#ifndef MB_PACE_H
#define MB_PACE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"
#include "common/ratelimit.h"
#include "orchestrator/options.h"

/* Readers ask for at most this much at once, and at least MB_PACE_MIN_CHUNK
 * (extentmap/reader.c reads segments of 1 MiB and more with O_DIRECT and
 * leaves them out of its read-ahead: a piece of such a segment must stay
 * that big).  The most is the least too: a paced read of several MiB is
 * queued at once ahead of production's I/O (bench/compare.md, session 7:
 * 1 MiB pieces kept more TPS in 4 of 6 rounds than rate/50 up to 8 MiB). */
#define MB_PACE_MIN_CHUNK (1u << 20)
#define MB_PACE_MAX_CHUNK (1u << 20)

/* ---- the governor's decisions (pace_governor.c), pure and testable ---- */

/* One reading of the source device (/sys/dev/block/M:m/stat) and of the
 * bytes the stream has read. */
struct mb_gov_sample {
	long long now_ms;
	uint64_t ios;		/* reads + writes + flushes completed */
	uint64_t ticks_ms;	/* ms spent on them (their ticks) */
	uint64_t in_flight;	/* I/Os under way at the reading */
	uint64_t bytes;		/* bytes the stream reserved so far */
};

enum mb_gov_decision {
	MB_GOV_PRIME,		/* first sample: nothing to compare with */
	MB_GOV_UP,		/* production healthy (or idle): rate raised */
	MB_GOV_HOLD,		/* between the marks, or already not binding */
	MB_GOV_DOWN,		/* production suffers: rate lowered */
};

struct mb_governor {
	uint64_t floor, ceiling;	/* bytes/s; ceiling 0: none */
	uint64_t rate;			/* the rate it wants now */
	double base_ms;			/* lowest smoothed latency seen, 0: none yet */
	double ewma_ms;			/* smoothed latency, 0: none yet */
	struct mb_gov_sample last;
	bool primed;
	/* for the catalog */
	uint64_t peak_rate, min_rate;
	long long yielded_ms;		/* time spent below the peak reached */
	unsigned downs;
};

/* floor: the lowest rate it ever sets (the backup always finishes);
 * ceiling: --max-rate or 0.  Starts at 4 x floor and climbs. */
void mb_governor_init(struct mb_governor *g, uint64_t floor, uint64_t ceiling);
enum mb_gov_decision mb_governor_step(struct mb_governor *g, const struct mb_gov_sample *s);
/* Reads /sys/dev/block/MAJ:MIN/stat of dev into s (ios and ticks). */
int mb_governor_read_dev(dev_t dev, struct mb_gov_sample *s, struct mb_error *e);

/* ---- the options (pace_options.c) ---- */

enum mb_yield { MB_YIELD_OFF, MB_YIELD_AUTO };

struct mb_pace_params {
	uint64_t max_rate;	/* 0: none */
	int ioprio;		/* IOPRIO_PRIO_VALUE, -1: leave alone */
	enum mb_yield yield;
	bool checkpoint_fast;
};

/* Checks --max-rate, --io-nice, --checkpoint and --yield (usage errors,
 * exit 2, with a hint); mb_options_parse calls it. */
int mb_pace_check_options(const struct mb_options *o, struct mb_error *e);
int mb_pace_params(const struct mb_options *o, struct mb_pace_params *p, struct mb_error *e);

/* ---- the run's pace (pace.c) ---- */

struct mb_pace_stats {
	uint64_t bytes;		/* reserved by the readers */
	long long stream_ms;	/* from start to stop (an incremental's pre-pass included) */
	long long waited_ms;	/* readers' sleeps, all threads added up */
	long long yielded_ms;	/* the governor held the rate below its peak */
	uint64_t rate_min;	/* lowest rate the governor set, 0: none */
	unsigned downs;		/* times it lowered the rate */
};

struct mb_pace {
	struct mb_pace_params p;
	struct mb_ratelimit rl;
	long long started_ms;
	/* --yield auto */
	dev_t dev;
	pthread_t th;
	bool running;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop;
	struct mb_governor gov;
	struct mb_error gov_err;	/* a failed sample: the governor stops */
};

/* dev: the source filesystem's device, watched by --yield auto; what:
 * the phase that reads ("stream", "proof"), for the log. */
int mb_pace_start(struct mb_pace *pc, const struct mb_options *o, dev_t dev, const char *what,
		  struct mb_error *e);
/* mb_undo_ctx's pace: takes n bytes from the pace arg, signals or not
 * (a proof is not cut short: it is what lets the mirror be whole). */
void mb_pace_take_all(void *pace, uint64_t n);
/* Waits until n bytes may be read; signals end the wait (stop may be
 * NULL).  Thread-safe. */
int mb_pace_take(struct mb_pace *pc, uint64_t n, int (*stop)(struct mb_error *e),
		 struct mb_error *e);
/* The next piece of a read of left bytes: all of it when small, else a
 * chunk of about 20 ms at the current rate within MB_PACE_MIN_CHUNK ..
 * MB_PACE_MAX_CHUNK (never leaving less than MB_PACE_MIN_CHUNK behind). */
uint64_t mb_pace_chunk(struct mb_pace *pc, uint64_t left);
/* A piece of a live file (common/range.h's mb_range_piece_fn, arg the
 * pace): *n lowered to ~20 ms of the current rate (at least
 * MB_PACE_LIVE_PIECE: the page cache has no O_DIRECT minimum), then
 * taken from the bucket; signals end the wait.  A 16 MiB WAL segment
 * is no longer one reservation of a second's worth. */
#define MB_PACE_LIVE_PIECE (64u << 10)
int mb_pace_piece(void *pace, size_t *n, struct mb_error *e);
bool mb_pace_active(const struct mb_pace *pc);
/* ioprio of the calling thread for the stream: *saved gets the old one
 * (-1: untouched); mb_pace_ioprio_restore puts it back. */
void mb_pace_ioprio_enter(const struct mb_pace *pc, int *saved);
void mb_pace_ioprio_restore(int saved);
void mb_pace_stop(struct mb_pace *pc, struct mb_pace_stats *st);

/* The stream phase's result line (r->detail), its log line and the
 * catalog's pace row (pace_record.c). */
struct mb_run;
int mb_pace_record(struct mb_run *r, const struct mb_pace *pc, const struct mb_pace_stats *st,
		   struct mb_error *e);

#endif
