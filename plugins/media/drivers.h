/*
 * The driver tables media.c registers (not part of the public contract:
 * callers find drivers by name through media.h).
 */
#ifndef MB_MEDIA_DRIVERS_H
#define MB_MEDIA_DRIVERS_H

#include "plugins/media/media.h"

extern const struct mb_media_ops mbm_file_ops;		/* fd.c */
extern const struct mb_media_ops mbm_pipe_ops;		/* fd.c */
extern const struct mb_media_ops mbm_stdout_ops;	/* fd.c, "-" */
extern const struct mb_media_ops mbm_tape_ops;		/* tape.c, tape_read.c */
extern const struct mb_media_ops mbm_s3_ops;		/* s3_write.c, s3_read.c */
extern const struct mb_media_ops mbm_deadline_ops;	/* chain.c, a filter */
extern const struct mb_media_ops mbm_ring_ops;		/* ring.c, a filter */
extern const struct mb_media_ops mbm_zstd_ops;		/* zstd_write.c, a filter */

/* Reading: if m's image starts with a zstd frame, m is turned into the
 * zstd filter over the driver's medium (zstd_read.c); else m is left as
 * it is, positioned at the image's first byte.  -1: m is half-made and
 * only fit for mb_media_close. */
int mbm_zstd_detect(struct mb_media_in *m, struct mb_error *e);
/* The image read in order from lower (borrowed, not closed), through the
 * zstd filter if it starts with a zstd frame: mb_media_input(*out), then
 * mb_media_close(*out).  A tape's scan for the backup ids of its images
 * reads each one's index this way (tape_read.c). */
int mbm_zstd_open_input(struct mb_media_in **out, const struct mb_image_input *lower,
			struct mb_error *e);

/* A sink of ops for spec, not yet opened (fd -1); NULL: out of memory. */
struct mb_sink *mbm_sink_new(const struct mb_media_ops *ops, const char *spec);

/* Writes all of buf to s->fd or fails naming s->spec and the byte. */
int mbm_write_all(struct mb_sink *s, const void *buf, size_t len, struct mb_error *e);

/* Waits until fd is ready for events (POLLIN, POLLOUT), at most
 * timeout_ms (-1: no limit): 1 ready (or in error: the next call says
 * why), 0 timed out, -1 when stop says the run ends (e filled).  fd -1
 * waits for the stop alone. */
int mbm_wait(int fd, short events, const struct mb_media_stop *stop, int timeout_ms,
	     struct mb_error *e);

#endif
