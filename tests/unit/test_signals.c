/*
 * Signals read at safe points by several threads at once (the device
 * threads of a multi-device backup all call mb_signal_check between
 * files): every thread must see the one pending signal, and the stop flag
 * must be shared without a data race.  A data race does not fail a plain
 * build reliably; build this file with -fsanitize=thread to see one:
 *   cc -fsanitize=thread -g -I. -D_GNU_SOURCE tests/unit/test_signals.c \
 *      orchestrator/signals.c common/error.c -o /tmp/sig && /tmp/sig
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "orchestrator/signals.h"
#include "tests/lib/tap.h"

#define THREADS 8

static atomic_int go;

struct seen {
	int sig;
	struct mb_error e;
};

/* Polls like a device thread between files until a signal shows. */
static void *poller(void *arg)
{
	struct seen *s = arg;

	while (!atomic_load(&go))
		;
	for (long i = 0; i < 100000000 && !s->sig; i++)
		s->sig = mb_signal_pending();
	mb_signal_check(&s->e);
	return NULL;
}

int main(void)
{
	struct mb_error e = { 0 };
	struct seen seen[THREADS];
	pthread_t th[THREADS];
	bool all = true, msg = true;

	plan(4);
	is_int(mb_signals_block(&e), 0, "signals blocked, signalfd made");
	is_int(mb_signal_pending(), 0, "nothing pending at first");
	memset(seen, 0, sizeof(seen));
	for (int i = 0; i < THREADS; i++)
		pthread_create(&th[i], NULL, poller, &seen[i]);
	atomic_store(&go, 1);
	kill(getpid(), SIGTERM);
	for (int i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		all = all && seen[i].sig == SIGTERM;
		msg = msg && strcmp(seen[i].e.msg, "interrupted by SIGTERM") == 0 &&
		      seen[i].e.code == MB_ERR_INTERRUPTED;
	}
	ok(all, "every thread sees the one SIGTERM");
	ok(msg, "every thread fails with 'interrupted by SIGTERM'");
	return done_testing();
}
