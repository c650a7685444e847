/*
 * Signals: SIGINT, SIGTERM and SIGHUP are blocked for the whole run and
 * looked at at safe points (phase boundaries, between members while
 * streaming, inside every wait of a media write or read, and, through
 * mb_signal_stop, in P1's resync wait, every few entries of P2's passes
 * and in every SQL statement's wait before the window), never inside
 * the window: a signal that arrives while the filesystems are frozen waits
 * until they are thawed.  No handler runs any code.  Children started by
 * spawn get the default mask back (and none of the pending signals).
 * Any thread may check (the device threads do): the first signal seen
 * sets one atomic stop flag that every thread then sees.  A signal is
 * never taken from the kernel: it stays pending until the process ends,
 * so the signalfd stays readable and a blocked media wait that polls it
 * wakes up, in whichever thread it is.
 */
#ifndef MB_SIGNALS_H
#define MB_SIGNALS_H

#include "common/error.h"
#include "common/stop.h"

int mb_signals_block(struct mb_error *e);
/* The pending terminating signal, or 0; never blocks. */
int mb_signal_pending(void);
/* Fails with MB_ERR_INTERRUPTED if a signal is pending. */
int mb_signal_check(struct mb_error *e);
/* An fd that turns readable once a terminating signal is pending and
 * stays readable (for poll; never read it); -1 before mb_signals_block. */
int mb_signal_fd(void);
/* The same, as lower layers take it (common/stop.h): the signalfd and
 * mb_signal_check; handed to the mirrors, the quiesce plugins and the
 * walk for their slow work outside the window. */
struct mb_stop mb_signal_stop(void);

#endif
