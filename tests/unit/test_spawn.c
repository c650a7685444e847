/* Unit tests for common/spawn.c: exit codes, signals, timeouts,
 * exec failure, captured output, LC_ALL, stdin and fd hygiene, threads. */
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/spawn.h"
#include "tests/lib/tap.h"

static long elapsed_ms(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0->tv_sec) * 1000 +
	       (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

static void test_exit_codes(void)
{
	struct mb_error e = { 0 };
	struct mb_spawn_result r;
	const char *t[] = { "true", NULL };
	const char *f[] = { "false", NULL };
	const char *five[] = { "sh", "-c",
		"echo out; echo >&2; echo '  bad thing  ' >&2; echo 2nd >&2; exit 5",
		NULL };

	is_int(mb_spawn(t, 5000, MB_ERR_MIRROR, &r, &e), 0, "true succeeds");
	is_int(e.code, 0, "true: no error");
	ok(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0, "true: status 0");
	mb_spawn_result_free(&r);

	is_int(mb_spawn(f, 5000, MB_ERR_MIRROR, NULL, &e), -1, "false fails");
	is_int(e.code, MB_ERR_MIRROR, "false: the caller's code");
	is_str(e.msg, "'false' exited with status 1", "false: message");

	mb_error_clear(&e);
	is_int(mb_spawn(five, 5000, MB_ERR_QUIESCE, &r, &e), -1, "exit 5 fails");
	is_str(e.msg, "'sh -c echo out; echo >&2; echo '  bad thing  ' >&2; "
	       "echo 2nd >&2; exit 5' exited with status 5: bad thing",
	       "exit 5: first non-empty stderr line");
	is_int(WEXITSTATUS(r.status), 5, "exit 5: raw status kept");
	is_str(r.out, "out\n", "exit 5: stdout kept on failure");
	is_str(r.err, "\n  bad thing  \n2nd\n", "exit 5: stderr kept");
	mb_spawn_result_free(&r);
}

static void test_signal_timeout(void)
{
	struct mb_error e = { 0 };
	struct timespec t0;
	const char *kill9[] = { "sh", "-c", "kill -9 $$", NULL };
	const char *slp[] = { "sleep", "10", NULL };
	const char *stubborn[] = { "sh", "-c", "trap '' TERM; sleep 10", NULL };

	is_int(mb_spawn(kill9, 5000, MB_ERR_MIRROR, NULL, &e), -1, "killed");
	is_str(e.msg, "'sh -c kill -9 $$' was killed by signal 9",
	       "killed: message");

	mb_error_clear(&e);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	is_int(mb_spawn(slp, 300, MB_ERR_MIRROR, NULL, &e), -1, "timeout");
	is_int(e.code, MB_ERR_TIMEOUT, "timeout: MB_ERR_TIMEOUT");
	is_str(e.msg, "'sleep 10' timed out after 300 ms", "timeout: message");
	ok(elapsed_ms(&t0) < 1500, "timeout: SIGTERM ends it at once");

	mb_error_clear(&e);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	is_int(mb_spawn(stubborn, 200, MB_ERR_MIRROR, NULL, &e), -1,
	       "SIGTERM ignored");
	is_str(e.msg, "'sh -c trap '' TERM; sleep 10' timed out after 200 ms",
	       "SIGTERM ignored: message");
	long ms = elapsed_ms(&t0);
	ok(ms >= 2100 && ms < 4000, "SIGTERM ignored: SIGKILL after 2 s grace");
	if (ms < 2100 || ms >= 4000)
		diag("took %ld ms", ms);
}

static void test_exec_failure(void)
{
	struct mb_error e = { 0 };
	char path[64], want[128];
	const char *missing[] = { "nosuchcmd-mbackup", "x", NULL };
	const char *notexec[] = { path, NULL };
	int fd;

	/* per process: other runs of this test may share /tmp */
	snprintf(path, sizeof(path), "/tmp/spawn-noexec-%d", (int)getpid());
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd >= 0)
		close(fd);
	chmod(path, 0644);

	is_int(mb_spawn(missing, 0, MB_ERR_MIRROR, NULL, &e), -1, "missing");
	is_int(e.code, MB_ERR_MIRROR, "missing: caller's code");
	is_str(e.msg, "unable to run 'nosuchcmd-mbackup': No such file or directory",
	       "missing: message");
	mb_error_clear(&e);
	is_int(mb_spawn(notexec, 0, MB_ERR_MIRROR, NULL, &e), -1, "not exec");
	snprintf(want, sizeof(want), "unable to run '%s': Permission denied", path);
	is_str(e.msg, want, "not executable: message");
	unlink(path);
}

static void test_output(void)
{
	struct mb_error e = { 0 };
	struct mb_spawn_result r;
	const char *pf[] = { "printf", "hello\\nworld", NULL };
	const char *lc[] = { "sh", "-c", "echo \"$LC_ALL\"; env | grep -c '^LC_ALL='",
		NULL };
	const char *cat[] = { "cat", NULL };
	const char *big[] = { "head", "-c", "20000000", "/dev/zero", NULL };
	const char *chatty[] = { "sh", "-c",
		"i=0; while [ $i -lt 2000 ]; do echo line$i >&2; i=$((i+1)); "
		"done; exit 3", NULL };

	mb_spawn(pf, 5000, 1, &r, &e);
	is_str(r.out, "hello\nworld", "stdout captured");
	is_int(r.out_len, 11, "stdout length");
	mb_spawn_result_free(&r);

	setenv("LC_ALL", "de_DE.UTF-8", 1);
	mb_spawn(lc, 5000, 1, &r, &e);
	is_str(r.out, "C\n1\n", "child sees LC_ALL=C, once");
	mb_spawn_result_free(&r);

	is_int(mb_spawn(cat, 5000, 1, &r, &e), 0, "stdin is /dev/null");
	is_int(r.out_len, 0, "stdin: nothing read");
	mb_spawn_result_free(&r);

	is_int(mb_spawn(big, 10000, 1, &r, &e), 0, "20 MB of stdout");
	is_int(r.out_len, 16 << 20, "stdout bounded to 16 MiB");
	mb_spawn_result_free(&r);

	/* 16890 bytes of "line0\n".."line1999\n": the last 4096 are the
	 * newline ending line1544, then 455 whole lines of 9 bytes */
	mb_error_clear(&e);
	is_int(mb_spawn(chatty, 10000, 1, &r, &e), -1, "chatty stderr");
	is_int(strlen(r.err), 4096, "stderr: the last 4 KiB");
	ok(strncmp(r.err, "\nline1545\n", 10) == 0, "stderr: the tail starts at the cut");
	size_t n = strlen(r.err);
	ok(n > 9 && strcmp(r.err + n - 9, "line1999\n") == 0,
	   "stderr keeps the tail");
	is_str(e.msg, "'sh -c i=0; while [ $i -lt 2000 ]; do echo line$i >&2; i=$((i+1)); "
	       "done; exit 3' exited with status 3: line1545",
	       "chatty: message names the first whole line kept");
	mb_spawn_result_free(&r);
}

static void test_fds(void)
{
	struct mb_error e = { 0 };
	struct mb_spawn_result r;
	const char *ls[] = { "ls", "/proc/self/fd", NULL };
	int leak = open("/dev/null", O_RDONLY);	/* deliberately no CLOEXEC */
	int p[2];

	ok(leak >= 3 && pipe(p) == 0, "planted inheritable fds");
	is_int(mb_spawn(ls, 5000, 1, &r, &e), 0, "ls /proc/self/fd");
	/* 3 is the directory ls itself opened */
	is_str(r.out, "0\n1\n2\n3\n", "no fd leaked to the child");
	mb_spawn_result_free(&r);
	close(leak);
	close(p[0]);
	close(p[1]);
}

/* The child starts with no signal blocked, SIGPIPE at its default and a
 * process group of its own, whatever the parent has blocked or ignored. */
static void test_signals_group(void)
{
	struct mb_error e = { 0 };
	struct mb_spawn_result r;
	const char *status[] = { "grep", "-E", "^Sig(Blk|Ign)", "/proc/self/status", NULL };
	const char *group[] = { "awk", "{ print ($1 == $5) ? \"own\" : \"shared\" }",
				"/proc/self/stat", NULL };
	sigset_t block, old;
	unsigned long long blk;
	char *ign;
	void (*was)(int) = signal(SIGPIPE, SIG_IGN);

	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	is_int(mb_spawn(status, 5000, 1, &r, &e), 0, "grep Sig /proc/self/status");
	blk = r.out && !strncmp(r.out, "SigBlk:", 7) ? strtoull(r.out + 7, &ign, 16) : ~0ull;
	ign = r.out ? strstr(r.out, "SigIgn:") : NULL;
	is_int((long long)blk, 0, "child: no signal blocked");
	ok(ign && !(strtoull(ign + 7, NULL, 16) & (1ull << (SIGPIPE - 1))),
	   "child: SIGPIPE not ignored");
	mb_spawn_result_free(&r);
	is_int(mb_spawn(group, 5000, 1, &r, &e), 0, "awk /proc/self/stat");
	is_str(r.out, "own\n", "child leads a process group of its own");
	mb_spawn_result_free(&r);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	signal(SIGPIPE, was);
}

static void *worker(void *arg)
{
	struct mb_error e = { 0 };
	struct mb_spawn_result r;
	char word[16], want[20];
	const char *argv[] = { "echo", word, NULL };
	long ok_count = 0;

	for (int i = 0; i < 20; i++) {
		snprintf(word, sizeof(word), "t%ld-%d", (long)(intptr_t)arg, i);
		snprintf(want, sizeof(want), "%s\n", word);
		if (mb_spawn(argv, 5000, 1, &r, &e) == 0 && strcmp(r.out, want) == 0)
			ok_count++;
		mb_spawn_result_free(&r);
	}
	return (void *)ok_count;
}

static void test_threads(void)
{
	pthread_t th[4];
	long total = 0;

	for (intptr_t i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, worker, (void *)i);
	for (int i = 0; i < 4; i++) {
		void *v;
		pthread_join(th[i], &v);
		total += (long)v;
	}
	is_int(total, 80, "80 spawns from 4 threads, each saw its own output");
}

int main(void)
{
	plan(46);
	test_exit_codes();
	test_signal_timeout();
	test_exec_failure();
	test_output();
	test_fds();
	test_signals_group();
	test_threads();
	return done_testing();
}
