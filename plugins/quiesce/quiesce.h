/*
 * Quiesce plugins: brackets around the split, used as an ordered stack.
 * --db names a stack (quiesce.c's registry table):
 *   none      [fsfreeze]
 *   postgres  [postgres, fsfreeze]
 * The runner opens the stack, prepares every plugin, enters them in order,
 * leaves them in reverse, closes them all; it knows no plugin by name.
 *
 * A plugin is a table of functions.  Required: name, enter, leave.  Every
 * other member is optional (NULL: nothing to do).  In the order of a run:
 *
 *   open       P0, cheap, no I/O: reads its options (params->option) and
 *              refuses bad ones (MB_ERR_USAGE)
 *   discover   P0, changes nothing: looks at the world (connects, finds
 *              where its data lives); `mbackup check` stops after place
 *   source     P0: the directory it dictates as the source (given: the
 *              --source of the command line, NULL if none); the stack's
 *              first plugin with a source op decides
 *   place      P0: checks where its data lives against the run's legs;
 *              a plugin with place accounts for every leg beyond legs[0]
 *              (without one in the stack there must be one leg only)
 *   prepare    P3, slow, before the window: records every obligation
 *              (q->obl) before acting, opens what enter needs
 *   ready      P3, just before the window opens, after the plugins outside
 *              it entered: last slow work enter would otherwise do inside
 *              the window (a freeze's write-back of what a database's
 *              start checkpoint wrote); called for the plugins not entered
 *   enter      P3, fast; plugins with in_window enter inside the window
 *              (after the guard is armed), the others before it
 *   leave      P6 and every failure path; idempotent, safe to call twice
 *              and after a failed or partial enter
 *   filter     P7: keep, drop, or store as a directory of its own each
 *              relative path of the set (the runner applies it)
 *   filtered   told how many entries its filter left out (its log line)
 *   facts      P6, after leave: what it knows about the backup (a
 *              database's start and stop LSN, timeline, the time it is
 *              consistent from), key / value text the catalog stores as
 *              it is given (common/fact.h)
 *   artifacts  P7, after leave: adds entries to the set (files from
 *              memory or from a live path)
 *   manifest   P7, after every plugin's artifacts, the set in logical
 *              order: adds a description of the whole set
 *   guard      P3, once entered, for plugins outside the window: the
 *              text its undo needs to end from outside what it holds (a
 *              database session), or NULL; the guard runs undo with it at
 *              its deadline, after the thaw (orchestrator/guard.h), so a
 *              hung run holds the bracket no longer than the freeze.  In
 *              memory only, never in the catalog (it may hold a password)
 *   close      always, newest first; frees what open allocated
 *   undo       heals one of its obligations from the catalog's text alone
 *              (`mbackup recover`; found by name, mb_quiesce_driver), and
 *              what guard described, in the guard process
 *   recovery   for `restore` to a point in time, with no handle (the
 *              backup is long over): checks a target, places a backup's
 *              facts against it, and writes what the restored copy needs
 *              to replay to it (struct mb_recovery_ops)
 *
 * plugins/ include no orchestrator header: options arrive through
 * struct mb_quiesce_params, obligations through common/obligation.h.
 */
#ifndef MB_QUIESCE_H
#define MB_QUIESCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/entry.h"
#include "common/error.h"
#include "common/fact.h"
#include "common/obligation.h"
#include "common/stop.h"

struct mb_quiesce;

/* What the runner hands every plugin at open. */
struct mb_quiesce_params {
	/* The value of an option by its command-line name ("mode"); NULL
	 * if it is not set.  ctx is the runner's. */
	const char *(*option)(const void *ctx, const char *name);
	const void *ctx;
	const char *label;	/* names the backup, e.g. PostgreSQL's label */
	struct mb_stop stop;	/* the run's stop: ends a plugin's long waits
				 * outside the window (a CHECKPOINT); never
				 * looked at in leave; zeroed: nothing stops */
};

/* One filesystem of the run as plugins see it; legs[0] holds the source. */
struct mb_quiesce_leg {
	dev_t dev;		/* st_dev of the filesystem on the mirror */
	const char *mirror;	/* its --mirror spec */
};

enum mb_quiesce_keep {
	MB_QUIESCE_KEEP = 0,
	MB_QUIESCE_DROP,	/* left out of the image */
	MB_QUIESCE_AS_DIR,	/* a symlink becomes a directory of its own */
};

/* A restore to a point in time, as the command line gives it. */
struct mb_recovery_target {
	const char *kind;	/* "time", "lsn", "xid", "name", "latest" or
				 * "immediate" (stop once consistent) */
	const char *value;	/* as given; NULL for latest */
	const char *action;	/* "promote", "pause" or "shutdown" */
	bool inclusive;		/* stop just after the target, not before it */
	const char *timeline;	/* "latest", or a timeline number */
};

/* Where a backup lies against a target. */
enum mb_recovery_order {
	MB_RECOVERY_BEFORE,	/* consistent at or before it: a start point */
	MB_RECOVERY_AFTER,	/* consistent only after it */
	MB_RECOVERY_UNKNOWN,	/* the target cannot be placed in time (an
				 * xid, a restore point's name) */
	MB_RECOVERY_UNUSABLE,	/* the backup cannot start a recovery (a
				 * crash image: PostgreSQL's freeze mode) */
};

/* The WAL a restore from a backup to a target must find in the archive. */
struct mb_recovery_span {
	uint32_t timeline;	/* the backup's */
	uint64_t start_lsn;	/* from its start */
	uint64_t stop_lsn;	/* consistent from here on */
	uint64_t end_lsn;	/* to the target's LSN; 0: to the end of what
				 * is archived (a time, an xid, a name, latest) */
	uint64_t segment_size;
};

struct mb_recovery_ops {
	/* Refuses a malformed target: MB_ERR_USAGE and a hint. */
	int (*check)(const struct mb_recovery_target *t, struct mb_error *e);
	/* Where the backup with facts f[0..n) lies against t; a backup whose
	 * facts cannot start a recovery (freeze mode) is refused with why. */
	int (*order)(const struct mb_fact *f, size_t n, const struct mb_recovery_target *t,
		     enum mb_recovery_order *out, struct mb_error *e);
	/* The WAL span that recovery reads. */
	int (*span)(const struct mb_fact *f, size_t n, const struct mb_recovery_target *t,
		    struct mb_recovery_span *out, struct mb_error *e);
	/* Into dir, the restored and published copy: what makes it replay to
	 * t when started, fetching each WAL file with fetch (an argv: the
	 * program and its options; the plugin adds the file's name and the
	 * path to write it to, the way its database hands them over). */
	int (*write)(const char *dir, const struct mb_recovery_target *t,
		     const char *const *fetch, struct mb_error *e);
};

struct mb_quiesce_ops {
	const char *name;
	bool in_window;		/* entered inside the guarded window */
	const char *bracket;	/* what its bracket is called in the phase
				 * details ("database"); NULL: in_window */
	int (*open)(struct mb_quiesce *q, const struct mb_quiesce_params *p,
		    struct mb_error *e);
	int (*discover)(struct mb_quiesce *q, struct mb_error *e);
	const char *(*source)(struct mb_quiesce *q, const char *given,
			      struct mb_error *e);
	int (*place)(struct mb_quiesce *q, const struct mb_quiesce_leg *legs,
		     size_t n, struct mb_error *e);
	int (*prepare)(struct mb_quiesce *q, struct mb_error *e);
	int (*ready)(struct mb_quiesce *q, struct mb_error *e);
	int (*enter)(struct mb_quiesce *q, struct mb_error *e);
	int (*leave)(struct mb_quiesce *q, struct mb_error *e);
	enum mb_quiesce_keep (*filter)(struct mb_quiesce *q, const char *path);
	void (*filtered)(struct mb_quiesce *q, size_t dropped);
	int (*facts)(struct mb_quiesce *q, struct mb_fact *out, size_t cap, size_t *n,
		     struct mb_error *e);
	int (*artifacts)(struct mb_quiesce *q, struct mb_set *set,
			 struct mb_error *e);
	int (*manifest)(struct mb_quiesce *q, struct mb_set *set,
			struct mb_error *e);
	const char *(*guard)(struct mb_quiesce *q);
	void (*close)(struct mb_quiesce *q);
	mb_undo_fn undo;
	const struct mb_recovery_ops *recovery;
};

/* What the guard ends at its deadline for one plugin. */
struct mb_quiesce_deadline {
	const char *name;	/* the plugin's */
	mb_undo_fn undo;
	const char *arg;	/* from its guard member; owned by the plugin */
};

/* One plugin of a stack. */
struct mb_quiesce {
	const struct mb_quiesce_ops *ops;
	struct mb_obligations *obl;	/* from prepare on: where it records */
	char **mounts;			/* from prepare on: the filesystems */
	size_t n_mounts;		/* involved, legs[0] first */
	void *priv;
};

#define MB_QUIESCE_MAX 4

/* An ordered stack; entered counts the plugins whose enter was called
 * (leave undoes exactly those, newest first). */
struct mb_quiesce_stack {
	struct mb_quiesce *v[MB_QUIESCE_MAX];
	size_t n;
	size_t entered;
};

/* ---- the registry (quiesce.c) ---- */

/* Checks a --db value against the table: MB_ERR_USAGE with a hint if it
 * is missing or unknown.  *dictates_source: a plugin of the stack names
 * the source itself (--source may be left out). */
int mb_quiesce_stack_check(const char *db, bool *dictates_source,
			   struct mb_error *e);
/* The plugins of a --db stack in order, NULL-terminated; NULL if the
 * value is unknown. */
const struct mb_quiesce_ops *const *mb_quiesce_stack_of(const char *db);
/* The plugin table entry by name, for recover; NULL if unknown. */
const struct mb_quiesce_ops *mb_quiesce_driver(const char *name);
/* The first plugin of the --db stack with a recovery member (db NULL: of
 * the whole registry), or NULL if none. */
const struct mb_quiesce_ops *mb_quiesce_recovery(const char *db);

/* ---- the stack (stack.c) ---- */

/* Opens the plugins of the --db stack in order (each one's open). */
int mb_quiesce_stack_open(struct mb_quiesce_stack *s, const char *db,
			  const struct mb_quiesce_params *p, struct mb_error *e);
/* Every plugin's discover, in order. */
int mb_quiesce_stack_discover(struct mb_quiesce_stack *s, struct mb_error *e);
/* The source a plugin dictates, else given; NULL after a failure. */
const char *mb_quiesce_stack_source(struct mb_quiesce_stack *s, const char *given,
				    struct mb_error *e);
/* Every plugin's place; *placed: some plugin accounted for the legs. */
int mb_quiesce_stack_place(struct mb_quiesce_stack *s, const struct mb_quiesce_leg *legs,
			   size_t n, bool *placed, struct mb_error *e);
/* Hands every plugin the filesystems and the obligations, then prepares
 * them in order. */
int mb_quiesce_stack_prepare(struct mb_quiesce_stack *s, char *const *mounts,
			     size_t n_mounts, struct mb_obligations *obl,
			     struct mb_error *e);
/* Readies the plugins not entered yet (their ready op), in order; the
 * runner calls it just before the window opens. */
int mb_quiesce_stack_ready(struct mb_quiesce_stack *s, struct mb_error *e);
/* The next plugin to enter, NULL when all have; then enters it (it
 * counts as entered even if its enter fails).  Between the two the caller
 * arms the guard before the first plugin with in_window. */
const struct mb_quiesce *mb_quiesce_stack_next(const struct mb_quiesce_stack *s);
int mb_quiesce_stack_enter_next(struct mb_quiesce_stack *s, struct mb_error *e);
/* Leaves the entered plugins newest first; window_only stops below the
 * plugins with in_window.  Carries on past failures; the first is in e. */
int mb_quiesce_stack_leave(struct mb_quiesce_stack *s, bool window_only,
			   struct mb_error *e);
/* For every entered plugin with guard and undo, oldest first, what the
 * guard ends at its deadline; fills out[0..MB_QUIESCE_MAX), returns how
 * many. */
size_t mb_quiesce_stack_deadline(struct mb_quiesce_stack *s,
				 struct mb_quiesce_deadline out[MB_QUIESCE_MAX]);
/* The bracket name of the stack's first plugin outside the window, or
 * NULL when every plugin is in the window. */
const char *mb_quiesce_stack_bracket(const struct mb_quiesce_stack *s);
/* Applies every plugin's filter to the set; true if it changed anything
 * (then the caller re-derives the set's order and links). */
bool mb_quiesce_stack_filter(struct mb_quiesce_stack *s, struct mb_set *set);
/* Every plugin's facts, in order, into out[0..cap); *n: how many. */
int mb_quiesce_stack_facts(struct mb_quiesce_stack *s, struct mb_fact *out, size_t cap,
			   size_t *n, struct mb_error *e);
/* Every plugin's artifacts (or, with manifest, every plugin's manifest). */
int mb_quiesce_stack_artifacts(struct mb_quiesce_stack *s, struct mb_set *set,
			       bool manifest, struct mb_error *e);
/* Closes every plugin, newest first; the stack is empty afterwards. */
void mb_quiesce_stack_close(struct mb_quiesce_stack *s);

#endif
