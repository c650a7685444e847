/*
 * The guard: a child process, armed before the first freeze, that holds
 * open fds of every frozen filesystem and thaws them
 *   - when its socket reaches EOF (mbackup died, even by SIGKILL), or
 *   - when the deadline (--freeze-timeout) passes,
 * whichever comes first.  Disarmed after the last thaw.  It thaws through
 * the fds opened before the freeze (no path lookup on a frozen
 * filesystem), ignores the terminal's signals, writes nothing before it
 * has thawed, and holds no other fd (not the run lock, not the catalog).
 *
 * At the deadline, after the thaw, it also ends from outside what the
 * plugins outside the window hold (struct mb_quiesce_deadline: the
 * postgres plugin's undo terminates the held session, which ends backup
 * mode and drops the temporary slot), so a hung mbackup holds neither a
 * freeze nor the database bracket past the deadline.  On EOF it only
 * thaws: what died with mbackup (a session, its slot) the server ends.
 *
 * The guarantee: once armed, the guard outlives the death of every
 * process of the run.  At arm time it
 *   - leaves the run's session and process group (setsid): kill -9 -PGID,
 *     a terminal hangup and job control miss it;
 *   - moves itself into a cgroup of its own, <cgroup2>/mbackup-guard-PID,
 *     on the cgroup2 hierarchy (found in /proc/self/mountinfo): systemd's
 *     stop of the unit (KillMode=control-group or mixed), cgroup.kill and
 *     a cgroup's OOM kill (memory.oom.group) miss it; on a hybrid
 *     machine, where systemd tracks a unit in its v1 hierarchy
 *     (name=systemd), it does the same there; on its way out it goes
 *     back to each hierarchy's root cgroup and removes its own;
 *   - sets its oom_score_adj to -1000: the OOM killer picks another.
 * Its limits: a kill aimed at the guard's own pid (kill -9 of mbackup and
 * of the guard by pid, or of every process of the machine), a reboot or
 * power loss (a freeze does not survive those), a PID namespace torn
 * down (a container stopped), and no writable cgroup2 hierarchy (an
 * unprivileged container, a cgroup v1-only machine: arm warns and the
 * cgroup kill is not covered).  Then `mbackup recover` heals from the
 * catalog; run it at boot and before every backup (deploy/).  A hang of
 * mbackup after the window (streaming) is not the guard's: it is bounded
 * by the media's timeouts and SIGTERM.
 */
#ifndef MB_GUARD_H
#define MB_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/error.h"
#include "plugins/quiesce/quiesce.h"

#define MB_GUARD_HIER 2	/* cgroup2, systemd's v1 hierarchy */

struct mb_guard {
	pid_t pid;
	int sock;		/* our end; -1 when not armed */
	char *cgroups[MB_GUARD_HIER];	/* the guard's own cgroups, NULL if none */
};

/* Forks the guard for these mountpoints; returns once it is ready (and
 * has left the run's process group and cgroup).  undo[0..n_undo) are run
 * newest first at the deadline, after the thaw; they must stay valid
 * until disarm (the guard is a fork: it has its own copy). */
int mb_guard_arm(struct mb_guard *g, char *const *mounts, size_t n,
		 const struct mb_quiesce_deadline *undo, size_t n_undo,
		 int timeout_s, struct mb_error *e);
/* Stops the guard.  *fired is set when it had already thawed on its
 * deadline (the window overran: the split may not be consistent). */
int mb_guard_disarm(struct mb_guard *g, bool *fired, struct mb_error *e);

#endif
