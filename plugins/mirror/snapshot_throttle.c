/*
 * The writers' limit of a snapshot run: cgroup v2 io.max (wbps only:
 * wbps with wiops misbehaved on some kernels; the watch divides the
 * room by the measured copy-out amplification instead, from the bytes
 * io.stat says the cgroup wrote, mb_throttle_wbytes) on the origin LV's device
 * for the cgroup of the processes working in its filesystem, found by
 * their cwd (a postmaster and its backends chdir to PGDATA).  The limit
 * throttles the origin's bios at submission, so the copy-outs into the
 * container slow with them.  The root cgroup has no io.max: writers there
 * cannot be throttled, and the run says so before the window.
 */
#include "plugins/mirror/snapshot.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/log.h"

#define CGROUP2_ROOT "/sys/fs/cgroup"

/* word is one of the space-separated words of list. */
static bool word_in(const char *list, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = list; (p = strstr(p, word)); p += n)
		if ((p == list || p[-1] == ' ') && (p[n] == '\0' || p[n] == ' ' || p[n] == '\n'))
			return true;
	return false;
}

/* The cgroup2 path of pid ("/pg" from "0::/pg"), "" if none. */
static void cgroup_of(const char *pid, char *out, size_t len)
{
	char path[300], line[512];
	FILE *f;

	out[0] = '\0';
	snprintf(path, sizeof(path), "/proc/%s/cgroup", pid);
	if (!(f = fopen(path, "re")))
		return;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "0::", 3) == 0) {
			line[strcspn(line, "\n")] = '\0';
			snprintf(out, len, "%s", line + 3);
		}
	fclose(f);
}

/* The wbps of devno's line in io.max ("max" when none). */
static void wbps_of(const char *iomax, const char *devno, char *out, size_t len)
{
	char line[512];
	size_t n = strlen(devno);
	FILE *f = fopen(iomax, "re");

	snprintf(out, len, "max");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *w = strstr(line, " wbps=");

		if (strncmp(line, devno, n) == 0 && line[n] == ' ' && w)
			snprintf(out, len, "%.*s", (int)strcspn(w + 6, " \n"), w + 6);
	}
	fclose(f);
}

/* io.max reaches buffered writes (PostgreSQL's WAL, its checkpointer)
 * only through cgroup writeback, which needs the memory controller on
 * the cgroup beside io: without it only direct writes are limited.  The
 * run goes on, warned (refusing would stop backups whose container has
 * room; the watch still drops the snapshot before it overflows). */
const char *mb_cgroup_missing(const char *cgroup)
{
	char path[700], line[512] = "";
	bool io, mem;
	FILE *f;

	snprintf(path, sizeof(path), "%s/cgroup.controllers", cgroup);
	if ((f = fopen(path, "re"))) {
		if (!fgets(line, sizeof(line), f))
			line[0] = '\0';
		fclose(f);
	}
	io = word_in(line, "io");
	mem = word_in(line, "memory");
	return io && mem ? NULL : io ? "memory" : mem ? "io" : "memory and io";
}

static void check_controllers(const char *cgroup)
{
	const char *missing = mb_cgroup_missing(cgroup);

	if (missing)
		mb_warn("snapshot: cgroup '%s' has no %s controller: its buffered writes "
			"(write-back) escape io.max (HINT: echo '+memory +io' > its parent's "
			"cgroup.subtree_control)", cgroup, missing);
}

/* The bytes the cgroup wrote to the device (io.stat's wbytes), -1 if
 * unknown. */
long long mb_throttle_wbytes(const struct mb_throttle *t)
{
	char path[700], line[1024];
	size_t n = strlen(t->devno);
	long long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "%s/io.stat", t->cgroup);
	if (!t->cgroup[0] || !(f = fopen(path, "re")))
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char *w = strstr(line, " wbytes=");

		if (strncmp(line, t->devno, n) == 0 && line[n] == ' ' && w)
			v = strtoll(w + 8, NULL, 10);
	}
	fclose(f);
	return v;
}

void mb_throttle_find(struct mb_throttle *t, dev_t lv_rdev)
{
	DIR *d = opendir("/proc");
	char self[512], cg[512], path[600];
	struct dirent *de;
	struct stat st;

	memset(t, 0, sizeof(*t));
	snprintf(t->devno, sizeof(t->devno), "%u:%u", major(lv_rdev), minor(lv_rdev));
	cgroup_of("self", self, sizeof(self));
	while (d && (de = readdir(d))) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/cwd", de->d_name);
		if (stat(path, &st) < 0 || st.st_dev != lv_rdev)
			continue;
		cgroup_of(de->d_name, cg, sizeof(cg));
		if (!cg[0] || strcmp(cg, "/") == 0 || strcmp(cg, self) == 0 || strchr(cg, '|'))
			continue;
		snprintf(path, sizeof(path), CGROUP2_ROOT "%s/io.max", cg);
		if (access(path, W_OK) < 0)
			continue;
		snprintf(t->cgroup, sizeof(t->cgroup), CGROUP2_ROOT "%s", cg);
		wbps_of(path, t->devno, t->previous, sizeof(t->previous));
		break;
	}
	if (d)
		closedir(d);
	if (t->cgroup[0])
		check_controllers(t->cgroup);
	if (t->cgroup[0])
		mb_info("snapshot: writers to throttle if need be: cgroup '%s' on %s (wbps now %s)",
			t->cgroup, t->devno, t->previous);
	else
		mb_warn("snapshot: no writers' cgroup with io.max found for device %s: "
			"writers cannot be throttled (HINT: run them in a cgroup of their own, "
			"with '+memory +io' in its parent's cgroup.subtree_control)", t->devno);
}

static int write_iomax(const char *cgroup, const char *devno, const char *wbps,
		       struct mb_error *e)
{
	char path[600], line[128];
	int fd, n, rc = 0;

	snprintf(path, sizeof(path), "%s/io.max", cgroup);
	n = snprintf(line, sizeof(line), "%s wbps=%s\n", devno, wbps);
	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) < 0 || write(fd, line, (size_t)n) != n)
		rc = mb_fail(e, MB_ERR_GENERAL, errno, "unable to write '%s wbps=%s' to '%s'",
			     devno, wbps, path);
	if (fd >= 0)
		close(fd);
	return rc;
}

/* The first limit starts a keeper that writes the previous line back if
 * mbackup dies before lifting it (kill -9 included; recover too). */
int mb_throttle_set(struct mb_throttle *t, long long bps, struct mb_error *e)
{
	char v[32];

	if (!t->set) {
		memset(&t->keeper, 0, sizeof(t->keeper));
		snprintf(t->keeper.file, sizeof(t->keeper.file), "%.580s/io.max", t->cgroup);
		snprintf(t->keeper.line, sizeof(t->keeper.line), "%s wbps=%s\n", t->devno,
			 t->previous[0] ? t->previous : "max");
		if (mb_keeper_start(&t->keeper, e) < 0)
			return -1;
	}
	snprintf(v, sizeof(v), "%lld", bps);
	if (write_iomax(t->cgroup, t->devno, v, e) < 0) {
		if (!t->set)
			mb_keeper_done(&t->keeper);
		return -1;
	}
	t->bps = bps;
	t->set = true;
	return 0;
}

int mb_throttle_lift(struct mb_throttle *t, struct mb_error *e)
{
	if (!t->set)
		return 0;
	if (write_iomax(t->cgroup, t->devno, t->previous[0] ? t->previous : "max", e) < 0)
		return -1;
	mb_keeper_done(&t->keeper);
	t->set = false;
	return 0;
}

/* "CGROUP|MAJ:MIN|PREVIOUS": a cgroup gone (its processes ended) has
 * nothing left to lift. */
int mb_throttle_undo(const char *text, struct mb_error *e)
{
	char cg[512], devno[32], prev[64], path[600];

	if (sscanf(text, "%511[^|]|%31[^|]|%63s", cg, devno, prev) != 3)
		return mb_fail(e, MB_ERR_INTERNAL, 0, "invalid throttle record '%s'", text);
	snprintf(path, sizeof(path), "%s/io.max", cg);
	if (access(path, F_OK) < 0 && errno == ENOENT)
		return 0;
	return write_iomax(cg, devno, prev, e);
}
