/* The LVM helper (plugins/mirror/lvm_helper.c): started as this test
 * binary again (/proc/self/exe, argv[0] mbackup-lvm-helper), it loads
 * liblvm2cmd and answers each command with LVM's status; its errors come
 * back in the message.  Needs liblvm2cmd (lvm2's command library). */
#include <dlfcn.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>

#include "plugins/mirror/lvm_helper.h"
#include "tests/lib/tap.h"

int main(int argc, char **argv)
{
	struct mb_error e = { 0 };
	struct mb_lvm_helper h;
	const char *want = "'lvs mbtest-no-such-vg' failed with LVM status 5: ";
	void *lib;
	pid_t pid;

	if (argc > 0 && strcmp(argv[0], MB_LVM_HELPER_ARGV0) == 0)
		return mb_lvm_helper_main();
	lib = dlopen("liblvm2cmd.so.2.03", RTLD_NOW | RTLD_LOCAL);
	if (!lib)
		skip_all("no liblvm2cmd.so.2.03 (apt-get install liblvm2cmd2.03)");
	dlclose(lib);
	signal(SIGPIPE, SIG_IGN);	/* as mbackup (orchestrator/signals.c) */
	plan(21);
	is_int(mb_lvm_helper_start(&h, &e), 0, "the helper starts and loads the library");
	ok(h.co.pid > 0, "it runs");
	is_int(mb_lvm_helper_run(&h, "version", 30000, &e), 0, "version: LVM says done");
	is_int(mb_lvm_helper_run(&h, "lvs mbtest-no-such-vg", 30000, &e), -1,
	       "lvs of a missing VG fails");
	ok(strncmp(e.msg, want, strlen(want)) == 0 && strstr(e.msg, "not found"),
	   "its message: the command, LVM's status, LVM's first error");
	diag("%s", e.msg);
	is_int(e.code, MB_ERR_MIRROR, "a mirror error");
	memset(&e, 0, sizeof(e));
	is_int(mb_lvm_helper_run(&h, "version", 30000, &e), 0, "the helper serves on after a failure");
	mb_lvm_helper_stop(&h);
	mb_lvm_helper_stop(&h);
	is_int(mb_lvm_helper_run(&h, "version", 30000, &e), 1,
	       "stopped (twice): no more commands, and the command did not run (1)");
	is_str(e.msg, "'version': the LVM helper is not running", "and says why");
	/* a helper that died before it got the command */
	memset(&e, 0, sizeof(e));
	is_int(mb_lvm_helper_start(&h, &e), 0, "a second helper starts");
	kill(h.co.pid, SIGKILL);
	ok(waitid(P_PID, (id_t)h.co.pid, &(siginfo_t){ 0 }, WEXITED | WNOWAIT) == 0, "it is killed");
	is_int(mb_lvm_helper_run(&h, "version", 30000, &e), 1,
	       "a helper gone before the command: it did not run (1)");
	is_str(e.msg, "'version': unable to reach the LVM helper: Broken pipe", "and says why");
	is_int(h.co.pid, -1, "the dead helper is reaped and forgotten");
	/* released: it ends by itself, the next command does not run */
	memset(&e, 0, sizeof(e));
	is_int(mb_lvm_helper_start(&h, &e), 0, "a third helper starts");
	pid = h.co.pid;
	mb_lvm_helper_release(&h);
	mb_lvm_helper_release(&h);
	ok(waitid(P_PID, (id_t)pid, &(siginfo_t){ 0 }, WEXITED | WNOWAIT) == 0,
	   "released (twice): it ends by itself");
	is_int(mb_lvm_helper_run(&h, "version", 30000, &e), 1, "... and runs no more commands (1)");
	mb_lvm_helper_stop(&h);
	ok(kill(pid, 0) < 0, "... reaped by stop");
	memset(&h, 0, sizeof(h));
	mb_lvm_helper_release(&h);
	ok(fcntl(0, F_GETFD) >= 0, "a helper never started (zeroed): release leaves fd 0 alone");
	/* --lvm-split's values */
	ok(mb_lvm_split_valid("auto") && mb_lvm_split_valid("helper") &&
	   mb_lvm_split_valid("lvconvert") && mb_lvm_split_valid(NULL), "--lvm-split: auto, helper, lvconvert");
	ok(!mb_lvm_split_valid("exec") && !mb_lvm_split_valid("") && !mb_lvm_split_valid("Helper"),
	   "... and nothing else");
	return done_testing();
}
