/*
 * Signals: SIGINT, SIGTERM and SIGHUP are blocked for the whole run and
 * read from a signalfd at safe points (phase boundaries, between members
 * while streaming), never inside the window: a signal that arrives while
 * the filesystems are frozen waits until they are thawed.  No handler runs
 * any code.  Children started by spawn get the default mask back.
 * Any thread may check (the device threads do, between files): the first
 * signal read from the signalfd sets one atomic stop flag that every
 * thread then sees.
 */
#ifndef MB_SIGNALS_H
#define MB_SIGNALS_H

#include "common/error.h"

int mb_signals_block(struct mb_error *e);
/* The pending terminating signal, or 0; never blocks. */
int mb_signal_pending(void);
/* Fails with MB_ERR_INTERRUPTED if a signal is pending. */
int mb_signal_check(struct mb_error *e);

#endif
