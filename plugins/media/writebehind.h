/*
 * Write-behind for an image file: the bytes written are handed to the
 * disk every WB_CHUNK (sync_file_range SYNC_FILE_RANGE_WRITE) and, a few
 * chunks later, waited for and dropped from the page cache
 * (POSIX_FADV_DONTNEED).  The dirty pages of the image stay under about
 * WB_CHUNK x (WB_AHEAD + 1) (40 MiB) instead of the kernel's dirty limit
 * (gigabytes), so the final fsync has almost nothing left and production
 * sees a steady write stream, not a write-back storm at the end; and the
 * image, written once, never evicts the database's cache.
 */
#ifndef MB_MEDIA_WRITEBEHIND_H
#define MB_MEDIA_WRITEBEHIND_H

#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"

/* Overridable at build time (-DMB_WB_CHUNK=...) only for bench/yield-micro's
 * peer builds, which compare write-behind windows in one run. */
#ifndef MB_WB_CHUNK
#define MB_WB_CHUNK (8u << 20)
#endif
#ifndef MB_WB_AHEAD
#define MB_WB_AHEAD 4		/* chunks in flight before the oldest is waited for */
#endif

struct mbm_writebehind {
	uint64_t started;	/* bytes handed to write-back */
	uint64_t done;		/* bytes written back and dropped */
	bool off;		/* the file does not support it */
};

/* After the file's first `written` bytes are written (offsets 0..written
 * of fd): starts and waits for write-back as above.  A write error the
 * disk reports here (EIO, ENOSPC) fails with MB_ERR_MEDIA naming spec;
 * a file that cannot do it (EINVAL, ESPIPE, ENOSYS) turns it off. */
int mbm_wb_advance(struct mbm_writebehind *wb, int fd, uint64_t written, const char *spec,
		   struct mb_error *e);

#endif
