/* The WAL no kept backup needs, removed; see wal_archive.h. */
#include "orchestrator/wal_archive.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "orchestrator/wal_file.h"

#define TMP_AGE_S (24 * 3600)

struct prune {
	const char *archive;
	const struct mb_wal_keep *keep;
	size_t n;
	uint32_t seg_size;
	struct mb_wal_pruned *out;
	uint64_t oldest_seg;
	uint32_t oldest_tli;
};

/* The first segment of timeline tli some kept backup needs; UINT64_MAX:
 * none does; 0: all of it (its history cannot be read). */
static uint64_t first_needed(const struct prune *p, uint32_t tli)
{
	struct mb_wal_history h = { 0 };
	struct mb_error e = { 0 };
	uint64_t first = UINT64_MAX;

	if (mb_wal_history_read(p->archive, tli, &h, &e) < 0) {
		mb_warn("expire: timeline %u is kept whole: %s", tli, e.msg);
		return 0;
	}
	for (size_t i = 0; i < p->n; i++) {
		const struct mb_wal_tl *tl = mb_wal_history_find(&h, p->keep[i].tli);
		uint64_t seg = mb_wal_segno(p->keep[i].lsn, p->seg_size);

		if (tl && p->keep[i].lsn < tl->end && seg < first)
			first = seg;
	}
	mb_wal_history_free(&h);
	return first;
}

/* Removes dir/name and then its sidecar. */
static int remove_file(struct prune *p, const char *dir, const char *name, struct mb_error *e)
{
	char path[4600];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (lstat(path, &st) < 0 || unlink(path) < 0)
		return mb_fail(e, MB_ERR_IO, errno, "unable to remove '%s'", path);
	strcat(path, MB_WAL_SIDECAR);
	if (unlink(path) < 0 && errno != ENOENT)
		return mb_fail(e, MB_ERR_IO, errno, "unable to remove '%s'", path);
	p->out->files++;
	p->out->bytes += (uint64_t)st.st_size;
	return 0;
}

/* A dead push's temporary, older than a day. */
static int remove_tmp(struct prune *p, const char *dir, const char *name, struct mb_error *e)
{
	char path[4600];
	struct stat st;
	size_t len = strlen(name);

	if (len < 5 || strcmp(name + len - 4, ".tmp") != 0)
		return 0;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (lstat(path, &st) < 0 || time(NULL) - st.st_mtime < TMP_AGE_S)
		return 0;
	if (unlink(path) < 0)
		return mb_fail(e, MB_ERR_IO, errno, "unable to remove '%s'", path);
	p->out->tmp++;
	return 0;
}

/* One name of a timeline directory whose first needed segment is first. */
static int prune_name(struct prune *p, const char *dir, const char *name, uint64_t first,
		      struct mb_error *e)
{
	struct mb_wal_name n;
	uint64_t seg;

	if (name[0] == '.')
		return remove_tmp(p, dir, name, e);
	if (mb_wal_name_parse(name, &n) < 0 || n.kind == MB_WAL_HISTORY)
		return 0;
	seg = mb_wal_name_segno(&n, p->seg_size);
	if (seg >= first) {
		if (n.kind == MB_WAL_SEGMENT && (!p->oldest_tli || seg < p->oldest_seg)) {
			p->oldest_tli = n.tli;
			p->oldest_seg = seg;
		}
		return 0;
	}
	return remove_file(p, dir, name, e);
}

/* One TTTTTTTTLLLLLLLL directory; removed when it is left empty. */
static int prune_dir(struct prune *p, const char *sub, uint64_t first, struct mb_error *e)
{
	char dir[4200];
	struct dirent *de;
	size_t before = p->out->files;
	DIR *d;
	int rc = 0, lock;

	snprintf(dir, sizeof(dir), "%s/%s", p->archive, sub);
	if (!(d = opendir(dir)))
		return mb_fail(e, MB_ERR_IO, errno, "unable to read '%s'", dir);
	while (rc == 0 && (de = readdir(d)))
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			rc = prune_name(p, dir, de->d_name, first, e);
	closedir(d);
	if (rc < 0 || p->out->files == before)
		return rc;
	/* (a push may be about to write into it: under the pushes' lock) */
	if (mb_wal_push_lock(p->archive, &lock, e) < 0)
		return -1;
	rc = rmdir(dir) == 0 ? mb_wal_fsync_dir(p->archive, e) : mb_wal_fsync_dir(dir, e);
	close(lock);
	return rc;
}

int mb_wal_prune(const char *archive, const struct mb_wal_keep *keep, size_t n,
		 struct mb_wal_pruned *out, struct mb_error *e)
{
	struct prune p = { .archive = archive, .keep = keep, .n = n, .out = out };
	uint64_t sysid;
	struct dirent *de;
	uint32_t tli = 0, first_tli = 0;
	uint64_t first = 0;
	DIR *d;
	int rc = 0;

	*out = (struct mb_wal_pruned){ 0 };
	if (n == 0 || mb_wal_info_read(archive, &sysid, &p.seg_size, e) < 0)
		return n == 0 ? 0 : -1;
	if (!(d = opendir(archive)))
		return mb_fail(e, MB_ERR_IO, errno, "unable to read WAL archive '%s'", archive);
	while (rc == 0 && (de = readdir(d))) {
		struct mb_wal_name wn;
		char probe[32];

		snprintf(probe, sizeof(probe), "%.16s00000000", de->d_name);
		if (strlen(de->d_name) != 16 || mb_wal_name_parse(probe, &wn) < 0)
			rc = de->d_name[0] == '.' ? remove_tmp(&p, archive, de->d_name, e) : 0;
		else {
			if ((tli = wn.tli) != first_tli)
				first = first_needed(&p, tli);
			first_tli = tli;
			rc = prune_dir(&p, de->d_name, first, e);
		}
	}
	closedir(d);
	if (p.oldest_tli)
		mb_wal_seg_name(p.oldest_tli, p.oldest_seg, p.seg_size, out->oldest_kept);
	return rc;
}
