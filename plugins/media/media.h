/*
 * Media: where an image's bytes go and where they come back from.  One
 * table per driver, both directions, found by name from "name:arg":
 *
 *   file:PATH   a regular file, written as PATH.partial and renamed when
 *               complete; an existing PATH is refused unless params.force.
 *               Read back from PATH (--from PATH; "file:PATH" too)
 *   -           standard output when writing, standard input when reading
 *               (the "stdout" driver)
 *   pipe:PATH   an existing FIFO, opened for writing once a reader has it
 *               open (the wait ends on a signal, see struct mb_media_stop)
 *   tape:DEV    a non-rewinding SCSI tape node (see tape.h), both ways
 *   s3://BUCKET/KEY  an object store (s3_write.c, s3_read.c): a multipart
 *               upload completed at close, ranged GETs when reading
 *
 * Options reach a driver at open in struct mb_media_params: no driver
 * keeps process globals.  A driver fills what it can do and leaves the
 * rest NULL; the callers ask the table, never the name, what a medium
 * does (records an obligation, has tape positions, can seek).
 *
 * Writing goes through a chain of sinks (struct mb_sink, linked by next):
 * the driver's sink at the bottom, filters over it (ring.c: the RAM ring
 * that keeps a tape streaming; chain.c: the deadline of a stalled device),
 * as pg_basebackup's streamers and libarchive's filters chain.  Several
 * devices are several chains, fanned out by image/multi.c.  The image writer sees the top of the chain as an
 * mb_image_output (mb_sink_output).  Reading hands the image reader an
 * mb_image_input (mb_media_input).
 *
 * To add a driver: fill a struct mb_media_ops in its own file and add it
 * to the drivers[] table in media.c.
 */
#ifndef MB_MEDIA_H
#define MB_MEDIA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"
#include "common/obligation.h"
#include "image/io.h"

#define MB_MEDIA_MAX_VOLUMES 64
#define MB_MEDIA_DEFAULT_RING (64u << 20)	/* params.buffer 0 */

/* The run's stop (the caller's signals): fd turns readable once the run
 * must end and stays so; check then fails with why (MB_ERR_INTERRUPTED,
 * "interrupted by SIGTERM").  check NULL: nothing stops a wait.  Every
 * wait of a driver or filter for a device that can block (a FIFO, a
 * socket, standard input or output, a full ring) watches it, so a blocked
 * write or read ends within moments of a signal. */
struct mb_media_stop {
	int fd;
	int (*check)(struct mb_error *e);
};

/* Everything the command line says about media, given at open. */
/* --compress: zstd frames with a seek table (zstd_write.c). */
struct mb_compress {
	int level;		/* zstd level; 0: no compression */
	unsigned threads;	/* compressor threads; 0: one per online CPU (at most 8) */
};

struct mb_media_params {
	bool force;			/* file: overwrite an existing PATH */
	uint32_t block_size;		/* tape record size; 0: the default */
	bool append, overwrite;		/* tape: after the last image / over it */
	const char *volume_change;	/* tape: command, argv split on spaces */
	uint64_t buffer;		/* tape: RAM ring bytes; 0: the default */
	const char *backup;		/* tape read: which image (NULL: the last) */
	unsigned device_timeout;	/* seconds a pipe may stall; 0: never */
	struct mb_media_stop stop;	/* what ends a blocked wait */
	struct mb_compress compress;	/* level 0: the image as it is */
	const struct mb_s3_settings *s3;	/* s3://: the store's (NULL: the
						 * environment's alone) */
};

/* Where an image went on a medium with positions (a tape): one part per
 * volume it touches. */
struct mb_media_part {
	char label[64];		/* the volume set's name */
	uint32_t volume;	/* counting from 1 */
	uint32_t file_no;	/* tape file holding this part */
	uint64_t first_byte;	/* image byte at the part's first record */
};
struct mb_media_position {
	/* A compressed image's bytes on the medium (frames, seek tables,
	 * padding), set by mb_sink_close; 0: not compressed. */
	uint64_t compressed_bytes;
	uint32_t record_size;
	size_t n_parts;
	struct mb_media_part part[MB_MEDIA_MAX_VOLUMES];
};

struct mb_sink;
struct mb_media_in;

struct mb_media_ops {
	const char *name;	/* "file", "pipe", "stdout", "tape" */

	/* ---- writing (all NULL: the driver cannot be written) ---- */
	/* Checks what can be checked of arg without opening or changing
	 * anything (a file that exists without --force, a FIFO that is not
	 * one, a node that is not a tape), with the messages open_write
	 * gives; NULL: nothing to check. */
	int (*check)(const char *arg, const struct mb_media_params *p, struct mb_error *e);
	/* Opens s for arg (the part of the spec after "name:"); sets s->fd
	 * where there is one and s->record_size if the medium has one. */
	int (*open_write)(struct mb_sink *s, const char *arg,
			  const struct mb_media_params *p, struct mb_error *e);
	/* Writes all of len or fails: a short write is never success. */
	int (*write)(struct mb_sink *s, const void *buf, size_t len,
		     struct mb_error *e);
	/* Flushes and makes the data durable (fsync where it means something)
	 * and puts the image in place.  A medium with positions (has_position)
	 * fills where (if not NULL) with where the image went, read from its
	 * state before it is freed. */
	int (*close)(struct mb_sink *s, struct mb_media_position *where,
		     struct mb_error *e);
	/* Gives up: closes without promising anything; never fails.  Also
	 * called after a failed open_write (s->fd -1 / s->priv NULL if it got
	 * nowhere). */
	void (*abort)(struct mb_sink *s);
	/* One image is complete and another follows on this medium (a rescue
	 * image): a tape ends the tape file, so the next image is the next
	 * file.  NULL: images follow byte after byte (a filter passes it on). */
	int (*mark)(struct mb_sink *s, struct mb_error *e);
	bool has_position;	/* tape: label, volume, file, record size */
	/* A hint: a member of the image starts at image byte off, before its
	 * bytes arrive (possibly from another thread than write): the zstd
	 * filter cuts a frame there.  NULL: the hint is passed on. */
	void (*boundary)(struct mb_sink *s, uint64_t off);
	/* An image's last byte is written (and, on this medium, maybe
	 * another image follows after a mark): everything held back (a
	 * ring's records, a compressor's last frames and seek table, an
	 * upload's parts) goes down to the medium now, so a failure at the
	 * end is seen while a set can fail over; only what makes the image
	 * final (a filemark, the upload's completion, the rename) is left to
	 * close.  NULL: nothing held back. */
	int (*finish)(struct mb_sink *s, struct mb_error *e);
	/* The medium must be kept streaming: mb_sink_open stacks the RAM ring
	 * (params.buffer bytes) over it (tape). */
	bool streams;

	/* ---- what a dead run leaves, and the way back ---- */
	/* The argument of the obligation recorded before open_write (file:
	 * the PATH.partial it creates), malloc'ed into *what; NULL obligation
	 * or *what NULL: nothing to record. */
	int (*obligation)(const char *arg, char **what, struct mb_error *e);
	/* Undoes it (recover): removes PATH.partial; a missing one is fine. */
	mb_undo_fn undo;
	/* Optional, for a driver whose close itself puts the image under its
	 * final name (s3: the upload's completion): called on the driver's
	 * sink once the image's last byte is written, just before close, it
	 * gives the text of the "publish" obligation the orchestrator records
	 * first (malloc'ed); unpublish undoes it: the image of a run that did
	 * not complete is removed again, as a file's rename is rolled back
	 * (orchestrator/publish.h).  NULL: the orchestrator renames a file
	 * itself, or the medium has no names (pipe, tape). */
	int (*publication)(struct mb_sink *s, char **what, struct mb_error *e);
	mb_undo_fn unpublish;
	/* The directory the driver writes into (preflight refuses one on a
	 * filesystem that will be frozen), malloc'ed; NULL: none. */
	char *(*dir)(const char *arg);

	/* ---- reading (open_read NULL: the driver cannot be read) ---- */
	/* Opens m for arg and positions at the (first / asked-for) image. */
	int (*open_read)(struct mb_media_in *m, const char *arg,
			 const struct mb_media_params *p, struct mb_error *e);
	ssize_t (*read)(struct mb_media_in *m, void *buf, size_t n, struct mb_error *e);
	/* Positions at byte off of the current image; NULL: in order only. */
	int (*seek)(struct mb_media_in *m, uint64_t off, struct mb_error *e);
	/* Moves to the image after the current one, which is size bytes:
	 * 1 if there is one, 0 if the medium ends there; NULL: none can
	 * follow (the medium holds one image). */
	int (*next_image)(struct mb_media_in *m, uint64_t size, struct mb_error *e);
	void (*close_read)(struct mb_media_in *m);
	/* Records read and the record size, for the statistics; NULL: none. */
	void (*read_stats)(const struct mb_media_in *m, uint64_t *records,
			   uint64_t *record_size);
	/* The bytes of the current image the medium holds, known without
	 * reading them (a file: its size after the image's start; a
	 * compressed file: what its whole frames decompress to): 1 and
	 * *bytes, 0: not known (a pipe, a tape).  NULL: never known. */
	int (*held)(const struct mb_media_in *m, uint64_t *bytes);
};

/* The driver called name ("file", "tape", ...), or NULL.  recover uses it
 * to find a "media" obligation's undo from the driver recorded with it. */
const struct mb_media_ops *mb_media_driver(const char *name);
/* The i-th driver of the registry, NULL past the end (for --help). */
const struct mb_media_ops *mb_media_driver_at(size_t i);
/* The driver of spec "name:arg" ("-" is the stdout driver, arg ""), or
 * NULL; *arg points into spec. */
const struct mb_media_ops *mb_media_find(const char *spec, const char **arg);

/* ---- writing: a chain of sinks ---- */

struct mb_sink {
	const struct mb_media_ops *ops;
	struct mb_sink *next;	/* the sink below a filter; NULL at the bottom */
	char *spec;		/* as the user gave it, for messages and the catalog */
	char *path;		/* file system path if any (NULL for stdout) */
	int fd;			/* -1 if none */
	uint64_t bytes;		/* bytes written so far */
	uint32_t record_size;	/* the medium's record size; 0: any (tape sets it) */
	uint64_t ran_dry;	/* set at close by a ring above: times it ran dry */
	struct mb_media_stop stop;	/* the params': looked at before each write */
	void *priv;		/* driver state */
};

/* Parses spec, finds the driver, opens it and stacks the filters the
 * table and the params ask for (the ring over a medium that streams, the
 * deadline on a FIFO or socket: p->device_timeout and p->stop).  *out is
 * NULL on failure. */
int mb_sink_open(struct mb_sink **out, const char *spec,
		 const struct mb_media_params *p, struct mb_error *e);
int mb_sink_write(struct mb_sink *s, const void *buf, size_t len,
		  struct mb_error *e);
/* Closes and frees the chain, top first; on failure it is still freed.
 * where (may be NULL) gets where the image went: n_parts 0 on a medium
 * without positions. */
int mb_sink_close(struct mb_sink *s, struct mb_media_position *where, struct mb_error *e);
void mb_sink_abort(struct mb_sink *s);
/* Ends an image that another follows on the same medium (ops->mark of
 * the first sink of the chain that has one; 0 if none has). */
int mb_sink_mark(struct mb_sink *s, struct mb_error *e);
/* The image's last byte is written: ops->finish of every sink of the
 * chain that has one, top first (each pushes its bytes to the next). */
int mb_sink_finish(struct mb_sink *s, struct mb_error *e);
/* Hands the boundary hint to the first sink of the chain that takes it. */
void mb_sink_boundary(struct mb_sink *s, uint64_t off);
/* The chain as the image writer's output (next_image: mb_sink_mark,
 * boundary: mb_sink_boundary, finish: mb_sink_finish). */
struct mb_image_output mb_sink_output(struct mb_sink *s);
/* Checks spec before anything is opened or recorded (preflight, before
 * the catalog): an unknown or unwritable spec, then the driver's check. */
int mb_media_check(const char *spec, const struct mb_media_params *p, struct mb_error *e);
/* What to record before opening spec (see ops->obligation); *what NULL:
 * nothing.  *ops is the driver (NULL if spec names none). */
int mb_media_obligation(const char *spec, const struct mb_media_ops **ops, char **what,
			struct mb_error *e);
/* The directory spec writes into (malloc'ed), or NULL. */
char *mb_media_dir(const char *spec);

/* A filter over *top: the RAM ring (ring.c), a thread writing whole
 * records of (*top)->record_size from bytes of RAM (at least two).  A
 * producer waiting for room ends when stop (may be NULL) says so; a write
 * already under way in the thread is waited for (a tape drive's write
 * returns or fails by itself). */
int mb_sink_push_ring(struct mb_sink **top, uint64_t bytes, const struct mb_media_stop *stop,
		      struct mb_error *e);
/* A filter over *top: the deadline (chain.c).  A write that makes no
 * progress for timeout seconds (0: never) fails "stalled for N s at byte
 * B" (MB_ERR_TIMEOUT); a write that waits ends at once when stop says so.
 * Applies to FIFOs and sockets only; on anything else it stacks nothing. */
int mb_sink_push_deadline(struct mb_sink **top, unsigned timeout,
			  const struct mb_media_stop *stop, struct mb_error *e);

/* A filter over *top: zstd compression (zstd_write.c).  The image goes
 * out as independent zstd frames, cut at member boundaries (the hint)
 * once a frame holds 1 MiB and inside members every 4 MiB, compressed
 * by c->threads threads and written in order, then a seek table; on a
 * medium of fixed records (tape) the output is whole records, padded
 * with a skippable frame.  A mark ends the stream (its seek table) and
 * starts another for the next image. */
int mb_sink_push_zstd(struct mb_sink **top, const struct mb_compress *c, struct mb_error *e);
/* Parses --compress: "none", "zstd" (level 3) or "zstd:LEVEL" (1..max). */
int mb_compress_parse(const char *text, struct mb_compress *c, struct mb_error *e);

/* s3://BUCKET/KEY (s3_http.c): the object store's endpoint, region,
 * credentials and addressing ("path" or "virtual"), from the config file
 * only (never the command line), kept in the options; the media get them
 * in their params, an undo (recover's abort of an upload) in its context
 * (common/obligation.h).  NULL fields fall back on the AWS environment
 * variables (AWS_ENDPOINT_URL, AWS_DEFAULT_REGION or AWS_REGION,
 * AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY).  The strings are borrowed. */
struct mb_s3_settings {
	const char *endpoint, *region, *access_key, *secret_key, *uri_style;
};

/* ---- reading ---- */

/* How a medium read gives the images after its first (a set member's
 * rescue images), the driver's word on what the device can do. */
enum mb_media_images {
	MB_IMAGES_ONE,		/* its first only: read in order once (standard
				 * input, a pipe) */
	MB_IMAGES_FILES,	/* one head over files between filemarks (a tape):
				 * the next image is read on past a filemark, an
				 * earlier one by rewinding and spacing filemarks
				 * forward; every image's input stays valid, an
				 * image read after another moves the head back
				 * first, so readers go image by image, forward
				 * (a compressed image: in order, m->sequential) */
	MB_IMAGES_BYTES,	/* every byte of every image at any time, each
				 * image's input its own (a file, an object) */
};

struct mb_media_in {
	const struct mb_media_ops *ops;
	char *spec;
	const char *name;	/* what messages call it ("standard input") */
	int fd;
	bool sequential;	/* set by the driver: this medium cannot seek */
	enum mb_media_images images;	/* set by the driver: how it reaches
					 * the images after the first */
	uint64_t base;		/* file: byte of the medium where the image starts */
	uint64_t size;		/* set by a driver that seeks and knows it without an
				 * fd (an object's size); 0: fstat of fd, or unknown */
	struct mb_media_stop stop;	/* from the params: ends a blocked read */
	/* The current image's input: the table's read and seek on it, or one
	 * the driver gives each image (a file: readers of earlier images stay
	 * valid when the medium moves on). */
	struct mb_image_input in;
	void *priv;
};

/* Opens spec as --from takes it: a path (a file), "-" (standard input),
 * or "name:arg" of a driver that reads ("tape:/dev/nst0", "file:PATH"),
 * positioned at its image (p->backup picks one on a tape).  An image
 * that starts with a zstd frame is read through the zstd filter
 * (zstd_read.c): by its seek table on a file or an object (only the
 * frames a read needs, the table found at the medium's end), in order
 * elsewhere.  *out is NULL on failure. */
int mb_media_open_read(struct mb_media_in **out, const char *spec,
		       const struct mb_media_params *p, struct mb_error *e);
/* The image reader's input (borrowed: valid until close). */
const struct mb_image_input *mb_media_input(struct mb_media_in *m);
/* Moves to the next image on the medium, after the current one of size
 * bytes (a set member's rescue images follow its first): on a file at the
 * byte after it, on tape in the next tape file.  1 if there is one (then
 * mb_media_input() is its input and m->name its name, "PATH@BYTE" on a
 * file), 0 if none follows, -1 on error (a pipe cannot: MB_ERR_MEDIA).
 * Readers opened on earlier images stay valid (m->images says what
 * reaching them costs: on a tape, moving the head back).  size
 * MB_MEDIA_SIZE_UNKNOWN (a driver's next_image gets it from the zstd
 * filter, which reads a tape's compressed image in order and does not
 * know its bytes on the medium): the driver finds the image's end itself. */
#define MB_MEDIA_SIZE_UNKNOWN UINT64_MAX
int mb_media_next_image(struct mb_media_in *m, uint64_t size, struct mb_error *e);
/* Records read and the record size (0 and 0 on a medium without). */
void mb_media_read_stats(const struct mb_media_in *m, uint64_t *records,
			 uint64_t *record_size);
/* ops->held of the current image: 1 and *bytes, or 0 (not known). */
int mb_media_held(const struct mb_media_in *m, uint64_t *bytes);
void mb_media_close(struct mb_media_in *m);

#endif
