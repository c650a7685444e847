/* The LVM helper (plugins/mirror/lvm_helper.c): started as this test
 * binary again (/proc/self/exe, argv[0] mbackup-lvm-helper), it loads
 * liblvm2cmd and answers each command with LVM's status; its errors come
 * back in the message.  Needs liblvm2cmd (lvm2's command library). */
#include <dlfcn.h>
#include <string.h>

#include "plugins/mirror/lvm_helper.h"
#include "tests/lib/tap.h"

int main(int argc, char **argv)
{
	struct mb_error e = { 0 };
	struct mb_lvm_helper h;
	const char *want = "'lvs mbtest-no-such-vg' failed with LVM status 5: ";
	void *lib;

	if (argc > 0 && strcmp(argv[0], MB_LVM_HELPER_ARGV0) == 0)
		return mb_lvm_helper_main();
	lib = dlopen("liblvm2cmd.so.2.03", RTLD_NOW | RTLD_LOCAL);
	if (!lib)
		skip_all("no liblvm2cmd.so.2.03 (apt-get install liblvm2cmd2.03)");
	dlclose(lib);
	plan(9);
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
	is_int(mb_lvm_helper_run(&h, "version", 30000, &e), -1, "stopped (twice): no more commands");
	is_str(e.msg, "'version': the LVM helper is not running", "and says why");
	return done_testing();
}
