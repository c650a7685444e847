/*
 * bench/split-lvm2cmd.c - bench/split-vm's "cmdlib" variant: LVM's command
 * library (liblvm2cmd, dlopen'ed) loaded and initialised at start, then one
 * command per line of stdin run in this process, each answered with a line
 * "rc N" (N: lvm2_run's return, 1 = done) on stdout.  Built by
 * bench/split-vm into build/.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

int main(void)
{
	void *lib = dlopen("liblvm2cmd.so.2.03", RTLD_NOW | RTLD_LOCAL);
	void *(*init)(void);
	int (*run)(void *, const char *);
	void (*fini)(void *);
	char line[4096];
	void *h;

	if (!lib) {
		fprintf(stderr, "split-lvm2cmd: %s\n", dlerror());
		return 1;
	}
	init = (void *(*)(void))dlsym(lib, "lvm2_init");
	run = (int (*)(void *, const char *))dlsym(lib, "lvm2_run");
	fini = (void (*)(void *))dlsym(lib, "lvm2_exit");
	if (!init || !run || !fini || !(h = init())) {
		fprintf(stderr, "split-lvm2cmd: liblvm2cmd has no lvm2_init/lvm2_run/lvm2_exit\n");
		return 1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	while (fgets(line, sizeof(line), stdin)) {
		line[strcspn(line, "\n")] = '\0';
		printf("rc %d\n", run(h, line));
	}
	fini(h);
	return 0;
}
