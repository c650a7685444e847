/* Write-behind for image files; see writebehind.h. */
#include "plugins/media/writebehind.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include "common/log.h"

static bool unsupported(int err)
{
	return err == EINVAL || err == ESPIPE || err == ENOSYS || err == EOPNOTSUPP;
}

static int failed(struct mbm_writebehind *wb, const char *spec, uint64_t at, struct mb_error *e)
{
	if (unsupported(errno)) {
		mb_debug("'%s': no write-behind (%s); the close flushes it all", spec,
			 strerror(errno));
		wb->off = true;
		return 0;
	}
	return mb_fail(e, MB_ERR_MEDIA, errno, "unable to write to '%s' at byte %llu", spec,
		       (unsigned long long)at);
}

int mbm_wb_advance(struct mbm_writebehind *wb, int fd, uint64_t written, const char *spec,
		   struct mb_error *e)
{
	while (!wb->off && written - wb->started >= MB_WB_CHUNK) {
		if (sync_file_range(fd, (off_t)wb->started, MB_WB_CHUNK, SYNC_FILE_RANGE_WRITE) < 0)
			return failed(wb, spec, wb->started, e);
		wb->started += MB_WB_CHUNK;
	}
	while (!wb->off && wb->started - wb->done > (uint64_t)MB_WB_CHUNK * MB_WB_AHEAD) {
		if (sync_file_range(fd, (off_t)wb->done, MB_WB_CHUNK, SYNC_FILE_RANGE_WAIT_BEFORE |
				    SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER) < 0)
			return failed(wb, spec, wb->done, e);
		(void)posix_fadvise(fd, (off_t)wb->done, MB_WB_CHUNK, POSIX_FADV_DONTNEED);
		wb->done += MB_WB_CHUNK;
	}
	return 0;
}
