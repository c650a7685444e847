/* common/stop.c: the waits a lower layer makes on the run's stop. */
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/stop.h"
#include "tests/lib/tap.h"

static int stopped;

static int check(struct mb_error *e)
{
	return stopped ? mb_fail(e, MB_ERR_INTERRUPTED, 0, "interrupted by SIGTERM") : 0;
}

int main(void)
{
	struct mb_error e = { 0 };
	int sig[2], data[2];
	struct mb_stop stop;
	long long t0;

	if (pipe(sig) < 0 || pipe(data) < 0)
		return 1;
	stop = (struct mb_stop){ sig[0], check };

	is_int(mb_stop_check(NULL, &e), 0, "no stop: never stops");
	is_int(mb_stop_check(&stop, &e), 0, "a stop that has not come");
	t0 = mb_now_ms();
	is_int(mb_stop_sleep(&stop, 200, &e), 0, "a sleep without the stop succeeds");
	ok(mb_now_ms() - t0 >= 200, "... after its time");
	is_int(mb_stop_wait_fd(&stop, data[0], 100, "data", &e), 0, "a wait for an idle fd times out");
	if (write(data[1], "x", 1) != 1)
		return 1;
	is_int(mb_stop_wait_fd(&stop, data[0], 5000, "data", &e), 1, "a readable fd ends the wait");

	/* The stop comes: its fd turns readable, its check fails. */
	stopped = 1;
	if (write(sig[1], "x", 1) != 1)
		return 1;
	t0 = mb_now_ms();
	is_int(mb_stop_sleep(&stop, 60000, &e), -1, "the stop ends a long sleep");
	ok(mb_now_ms() - t0 < 5000, "... at once");
	is_int(e.code, MB_ERR_INTERRUPTED, "... as interrupted");
	is_str(e.msg, "interrupted by SIGTERM", "... with the stop's message");
	mb_error_clear(&e);
	is_int(mb_stop_wait_fd(&stop, data[0], 60000, "data", &e), -1,
	       "the stop wins over a readable fd");
	mb_error_clear(&e);
	is_int(mb_stop_sleep(NULL, 10, &e), 0, "a sleep without a stop ignores it");

	/* A readable fd whose check says go on is watched no more (no spin). */
	stopped = 0;
	t0 = mb_now_ms();
	is_int(mb_stop_sleep(&stop, 200, &e), 0, "a readable stop fd without a stop: the sleep runs");
	ok(mb_now_ms() - t0 >= 200, "... its whole time");
	return done_testing();
}
