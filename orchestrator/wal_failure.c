/* The latest failed wal-push, for wal-check; see wal_file.h. */
#include "orchestrator/wal_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "orchestrator/catalog.h"

void mb_wal_failure_record(const char *archive, const char *name, const char *msg)
{
	char tmp[4200], path[4200], now[32];
	int fd;

	snprintf(tmp, sizeof(tmp), "%s/.push.failed.%d.tmp", archive, (int)getpid());
	snprintf(path, sizeof(path), "%s/push.failed", archive);
	mb_catalog_now(now, sizeof(now));
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640)) < 0)
		return;
	if (dprintf(fd, "%s %s: %s\n", now, name, msg) < 0 || fsync(fd) < 0 || rename(tmp, path) < 0)
		unlink(tmp);
	close(fd);
}

void mb_wal_failure_clear(const char *archive)
{
	char path[4200];

	snprintf(path, sizeof(path), "%s/push.failed", archive);
	if (unlink(path) == 0)
		mb_wal_fsync_dir(archive, &(struct mb_error){ 0 });
}

int mb_wal_failure_read(const char *archive, char *line, size_t cap)
{
	char path[4200];
	FILE *f;

	snprintf(path, sizeof(path), "%s/push.failed", archive);
	if (!(f = fopen(path, "re")))
		return 1;
	if (!fgets(line, (int)cap, f))
		line[0] = '\0';
	fclose(f);
	line[strcspn(line, "\n")] = '\0';
	return line[0] ? 0 : 1;
}
