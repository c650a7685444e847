/*
 * The images ls, verify and restore read, as one set (image/multi.h): a
 * single image is a set of one.  Every --from is a medium holding its
 * first image and any rescue images appended after it; each image is
 * opened once, in mb_set_open_image() (restore_set.c), the one place that
 * opens an image or the next image of a medium.  The set is the union of
 * what every index holds and names (its "p" lines); an item held by no
 * image given is listed, exactly, as missing.
 */
#ifndef MB_RESTORE_SET_H
#define MB_RESTORE_SET_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "common/error.h"
#include "image/image.h"
#include "orchestrator/options.h"
#include "orchestrator/progress.h"

/* One image of the set. */
struct mb_set_image {
	struct mb_media_in *m;	/* its medium; owned by the medium's first image */
	bool owns_medium;
	char *name;		/* "PATH", "PATH@BASE" for a rescue image */
	uint64_t base;		/* offset of its first byte on the medium */
	struct mb_image_reader *r;
	const struct mb_index *idx;
	bool seekable;		/* members can be reached by seeking; false:
				 * standard input and pipes, read in order */
	bool followed;		/* another image follows it on its medium */
	bool first_only;	/* its medium is read in order once (a pipe):
				 * rescue images after it are not reached */
	bool usable;		/* holds its items: not a set member whose
				 * trailer cannot be read (a failed device) */
	struct mb_error why;	/* !usable: why (its trailer's error) */
	bool trailer_read;	/* usable says what its trailer showed */
	uint64_t held;		/* bytes of it its medium holds (held_known) */
	bool held_known;	/* mb_media_held: a file, a compressed file */
	/* MB_SET_TRAILERS: finding the image after it failed (a failed tape's
	 * image asks for the volume it never reached); the set's error unless
	 * this image is set aside as failed, after which nothing follows */
	struct mb_error next_err;
	size_t next;		/* index entry the reader returns next */
	struct mb_progress_input *count;	/* what r reads through (progress.h) */
};

/* One item of the set: a whole entry or a segment, held by an image
 * (img >= 0, entry) or named by a "p" line only (img < 0: missing). */
struct mb_set_item {
	const char *path;
	char type;
	uint64_t size, seg_offset, seg_length;
	uint32_t device, part;
	long img;
	size_t entry;
	size_t head;		/* first item of the same path */
	bool skip;		/* part of a file that cannot be restored whole */
};

struct mb_image_set {
	struct mb_set_image *v;	/* in --from order, a medium's images in order */
	size_t n;
	struct mb_set_item *w;	/* sorted by path, then segment offset */
	size_t nw;
	uint32_t devices;
	/* a file whose pieces are all held yet do not cover it (mb_set_missing) */
	const struct mb_set_item *incomplete;
	uint64_t incomplete_bytes;
	/* the first image given whose damage (not a device left out) makes
	 * an item missing (mb_set_missing); mb_set_partial fails with its error */
	const struct mb_set_image *broken;
};

enum {
	/* read each set member's trailer first where the image can seek (an
	 * image without one, a device that failed, then holds nothing):
	 * restore needs that, verify reads them in order anyway */
	MB_SET_TRAILERS = 1,
	MB_SET_FIRST_ONLY = 2,	/* the first image of each medium (ls) */
	/* an image its medium holds less of than its index says is cut
	 * short: it holds nothing (restore and MB_SET_TRAILERS do this too) */
	MB_SET_HELD = 4,
};

/* Opens every image on every medium (none: the "missing --from" error),
 * checks they belong to one backup with no device given twice, and
 * collects the items.  opt: the command's options (NULL: defaults), for
 * opening; flags: MB_SET_*.  With MB_SET_TRAILERS or MB_SET_HELD, an
 * image alone (a backup on one device) that is cut short fails it: its
 * trailer, which checks every file, is gone. */
int mb_set_open(struct mb_image_set *s, const struct mb_options *opt,
		const char *const *media, size_t n_media, int flags, struct mb_error *e);
/* Records read from the set's media and their size (0 and 0: no tape). */
void mb_set_read_stats(const struct mb_image_set *s, uint64_t *records,
		       uint64_t *record_size);
void mb_set_close(struct mb_image_set *s);

/* THE place an image is opened: the first image of medium `from` (prev
 * NULL) or the image after prev on the same medium.  1: *out is filled,
 * 0: the medium holds no further image, -1: error.  opt as for
 * mb_set_open. */
int mb_set_open_image(const struct mb_options *opt, const char *from,
		      const struct mb_set_image *prev, struct mb_set_image *out,
		      struct mb_error *e);

/* The item for (path, segment offset), or NULL. */
struct mb_set_item *mb_set_find(const struct mb_image_set *s, const char *path,
				uint64_t seg_offset);
/* The first piece of path (its lowest offset), or NULL. */
struct mb_set_item *mb_set_first(const struct mb_image_set *s, const char *path);

/* Marks every piece of a file with a missing piece (nothing of it is
 * restored) and prints one "cannot restore" line per missing item among
 * names (n == 0: all) to report (NULL: none); returns their count.  The
 * first file among names whose pieces are all held but do not add up to
 * its size is s->incomplete. */
uint64_t mb_set_missing(struct mb_image_set *s, FILE *report, const char *const *names,
			size_t n);

/* MB_ERR_PARTIAL: missing items of the set's backup; s->broken's own
 * error (truncated, corrupt) when a missing item is on an image given. */
int mb_set_partial(const struct mb_image_set *s, uint64_t missing, struct mb_error *e);
/* Before anything is written, after mb_set_missing: an image given that
 * cannot be read whole (s->broken: cut short, its trailer damaged) loses
 * what it holds; a whole restore (whole) is refused with its error, the
 * count of what is lost and a hint.  0 otherwise (--file restores what
 * the other images hold, and mb_set_partial ends it with that error). */
int mb_set_refuse_broken(const struct mb_image_set *s, bool whole, uint64_t missing,
			 struct mb_error *e);
/* MB_ERR_NOT_FOUND: --file path is in no image of the set. */
int mb_set_not_found(const struct mb_image_set *s, const char *path, struct mb_error *e);
/* MB_ERR_CORRUPT: s->incomplete cannot be whole. */
int mb_set_incomplete(const struct mb_image_set *s, struct mb_error *e);

/* A damaged file verify found (every one is listed, as pg_verifybackup). */
struct mb_set_damage {
	char *image;		/* its image's name */
	char *path;		/* as in the index (raw bytes) */
	uint64_t offset;	/* its member's offset in that image */
	char *error;		/* the message naming it */
};

struct mb_set_stats {
	uint64_t images;		/* images read (first and rescue) */
	uint32_t devices;		/* of the set */
	uint64_t entries, files, bytes;	/* restored (verify: checked) */
	uint64_t image_bytes;		/* sum of the images' sizes */
	uint64_t image_bytes_read;	/* read from the media */
	uint64_t missing;		/* items on media not given */
	uint64_t records, record_size;	/* media with records (tape): read */
	struct mb_set_damage *damaged;	/* verify: every damaged file */
	size_t n_damaged;
};

/* Frees what st holds (the damaged list). */
void mb_set_stats_free(struct mb_set_stats *st);

struct mb_set_restore_opts {
	const char *const *media;	/* --from, one per medium */
	size_t n_media;
	const char *to;
	bool force;
	const char *const *files;	/* --file REL ..., none: everything */
	size_t n_files;
	FILE *report;			/* "cannot restore ..." lines; NULL: none */
	const struct mb_options *opt;	/* for opening the media; NULL: defaults */
	/* a link of a chain (restore_chain.c): the backup id its images must
	 * hold; NULL: an ordinary restore, which refuses an increment */
	const char *chain_link;
};

/* Restores what the media hold (restore.c); a --file directory brings
 * everything below it.  A file goes under its name only once its
 * checksums matched (restore_staging.h).  Fails with MB_ERR_PARTIAL
 * when items are on media not given (after restoring everything else and
 * printing one "cannot restore" line per missing item to o->report),
 * MB_ERR_CORRUPT on a checksum mismatch, the image's own error when a
 * given image is cut short or damaged (a file not checked is not
 * published either; every entry not restored gets a "cannot restore"
 * line), MB_ERR_NOT_FOUND for a --file in no image of the set. */
int mb_set_restore(const struct mb_set_restore_opts *o, struct mb_set_stats *st,
		   struct mb_error *e);

/* Checks each image alone (as mb_image_verify, past every damaged file,
 * each in st->damaged and, with report, one "damaged: ..." line on it;
 * every image, even after one fails) and the set as a whole: every item
 * named by any index is held by exactly one image given and every
 * segmented file is covered.  MB_ERR_PARTIAL lists what is missing.
 * Fails with the first image's error; st is filled either way (free it
 * with mb_set_stats_free).  mb_set_verify_from prints the damaged lines
 * only when the output is not JSON. */
int mb_set_verify(const char *const *media, size_t n_media, FILE *report,
		  struct mb_set_stats *st, struct mb_error *e);
/* The same on the command's --from. */
int mb_set_verify_from(const struct mb_options *opt, FILE *report,
		       struct mb_set_stats *st, struct mb_error *e);

#endif
