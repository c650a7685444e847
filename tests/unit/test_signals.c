/*
 * Signals read at safe points by several threads at once (the device
 * threads of a multi-device backup all call mb_signal_check between
 * files): every thread must see the one pending signal, and the stop flag
 * must be shared without a data race.  A data race does not fail a plain
 * build reliably; build this file with -fsanitize=thread to see one:
 *   cc -fsanitize=thread -g -I. -D_GNU_SOURCE tests/unit/test_signals.c \
 *      orchestrator/signals.c common/error.c -o /tmp/sig && /tmp/sig
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "orchestrator/signals.h"
#include "plugins/media/media.h"
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

static void *term_later(void *arg)
{
	usleep(300 * 1000);
	kill(getpid(), SIGTERM);
	return NULL;
}

/* A FIFO whose reader opened it and never reads: the write blocks until
 * SIGTERM, sent by another thread, ends it (issue 16, item 6). */
static void blocked_write_ends(void)
{
	char dir[] = "/tmp/test-signals.XXXXXX", spec[96], fifo[64];
	struct mb_media_params p = { .stop = { mb_signal_fd(), mb_signal_check } };
	struct mb_error e = { 0 };
	struct mb_sink *s = NULL;
	size_t len = 8u << 20;
	char *buf = calloc(1, len);
	pthread_t th;
	int reader = -1, rc = -2;

	if (!buf || !mkdtemp(dir)) {
		skip(3, "no scratch directory");
		free(buf);
		return;
	}
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	snprintf(spec, sizeof(spec), "pipe:%s", fifo);
	if (mkfifo(fifo, 0600) == 0)
		reader = open(fifo, O_RDONLY | O_NONBLOCK);
	is_int(mb_sink_open(&s, spec, &p, &e), 0, "a fifo with a reader that never reads opens");
	if (s) {
		pthread_create(&th, NULL, term_later, NULL);
		rc = mb_sink_write(s, buf, len, &e);
		pthread_join(th, NULL);
		mb_sink_abort(s);
	}
	is_int(rc, -1, "the blocked write ends when SIGTERM comes");
	ok(e.code == MB_ERR_INTERRUPTED && strcmp(e.msg, "interrupted by SIGTERM") == 0,
	   "... with 'interrupted by SIGTERM' (15)");
	if (reader >= 0)
		close(reader);
	unlink(fifo);
	rmdir(dir);
	free(buf);
}

/* A write to a file (one that takes its time: a slow network filesystem)
 * looks at the stop before each buffer; the image is not left behind. */
static void file_write_stops(void)
{
	char dir[] = "/tmp/test-signals.XXXXXX", spec[96], partial[96];
	struct mb_media_params p = { .stop = { mb_signal_fd(), mb_signal_check } };
	struct mb_error e = { 0 };
	struct mb_sink *s = NULL;
	int rc = -2;

	if (!mkdtemp(dir)) {
		skip(3, "no scratch directory");
		return;
	}
	snprintf(spec, sizeof(spec), "file:%s/img", dir);
	snprintf(partial, sizeof(partial), "%s/img.partial", dir);
	if (mb_sink_open(&s, spec, &p, &e) == 0) {
		rc = mb_sink_write(s, "x", 1, &e);
		mb_sink_abort(s);
	}
	is_int(rc, -1, "a file write after SIGTERM fails");
	ok(e.code == MB_ERR_INTERRUPTED && strcmp(e.msg, "interrupted by SIGTERM") == 0,
	   "... with 'interrupted by SIGTERM' (15)");
	ok(access(partial, F_OK) < 0, "... and leaves no partial image");
	rmdir(dir);
}

int main(void)
{
	struct mb_error e = { 0 };
	struct seen seen[THREADS];
	pthread_t th[THREADS];
	bool all = true, msg = true;

	plan(11);
	is_int(mb_signals_block(&e), 0, "signals blocked, signalfd made");
	is_int(mb_signal_pending(), 0, "nothing pending at first");
	blocked_write_ends();
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
	is_int(poll(&(struct pollfd){ .fd = mb_signal_fd(), .events = POLLIN }, 1, 0), 1,
	       "the signalfd stays readable after the signal was seen");
	file_write_stops();
	return done_testing();
}
