/*
 * Media sinks: where an image's bytes go.  A sink is a table of functions
 * registered by name; the image writer hands it whole records.
 *
 *   file:PATH   a regular file, written as PATH.partial and renamed when
 *               complete; an existing PATH is refused unless --force
 *   -           standard output (pipe or file)
 *   pipe:PATH   an existing FIFO, opened for writing
 *   tape:DEV    a non-rewinding SCSI tape node (see tape.h)
 *
 * write() writes all of len or fails: a short write is never success.
 */
#ifndef MB_SINK_H
#define MB_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

struct mb_sink;

struct mb_sink_ops {
	const char *name;	/* "file", "pipe", "stdout" */
	/* Opens the sink for the part of the spec after "name:". */
	int (*open)(struct mb_sink *s, const char *arg, struct mb_error *e);
	int (*write)(struct mb_sink *s, const void *buf, size_t len,
		     struct mb_error *e);
	/* Flushes and makes the data durable (fsync where it means something). */
	int (*close)(struct mb_sink *s, struct mb_error *e);
	/* Gives up: closes without promising anything; never fails. */
	void (*abort)(struct mb_sink *s);
};

struct mb_sink {
	const struct mb_sink_ops *ops;
	char *spec;		/* as the user gave it, for messages and the catalog */
	char *path;		/* file system path if any (NULL for stdout) */
	int fd;
	uint64_t bytes;		/* bytes written so far */
	uint32_t record_size;	/* the medium's record size; 0: any (tape sets it) */
	void *priv;		/* driver state */
};

/* Parses spec, finds the driver, opens it.  *out is NULL on failure.
 * A file that already exists is refused unless force (--force). */
int mb_sink_open(struct mb_sink **out, const char *spec, struct mb_error *e);
int mb_sink_open_mode(struct mb_sink **out, const char *spec, bool force,
		      struct mb_error *e);
int mb_sink_write(struct mb_sink *s, const void *buf, size_t len,
		  struct mb_error *e);
/* Closes and frees; on failure the sink is still freed. */
int mb_sink_close(struct mb_sink *s, struct mb_error *e);
void mb_sink_abort(struct mb_sink *s);
/* file: media are written under PATH + this suffix until complete. */
#define MB_SINK_PARTIAL_SUFFIX ".partial"

/* The undo of a "media" obligation: removes a half-written PATH.partial
 * left by a run that died; a missing file is fine. */
int mb_sink_undo_partial(const char *partial_path, struct mb_error *e);

/* The directory a sink writes into (for the "not on a frozen fs" check),
 * or NULL for stdout.  Returns a malloc'ed string. */
char *mb_sink_spec_dir(const char *spec);

#endif
