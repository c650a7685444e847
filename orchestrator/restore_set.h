/*
 * Restore and verify of a set written to several devices (image/multi.h):
 * every image on every media given (a media holds its first image and any
 * rescue images appended after it), files reassembled from their segments,
 * and an exact list of what cannot be restored when a device is missing.
 */
#ifndef MB_RESTORE_SET_H
#define MB_RESTORE_SET_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "common/error.h"

struct mb_set_restore_opts {
	const char *const *media;	/* image files (seekable), one per device */
	size_t n_media;
	const char *to;
	bool force;
	const char *const *files;	/* --file REL ..., none: everything */
	size_t n_files;
	FILE *report;			/* "cannot restore ..." lines; NULL: none */
};

struct mb_set_stats {
	uint64_t images;		/* images read (first and rescue) */
	uint64_t entries, files, bytes;	/* restored (verify: checked) */
	uint64_t image_bytes;		/* sum of the images' sizes */
	uint64_t missing;		/* items on media not given */
};

/* Restores what the media hold.  Fails with MB_ERR_PARTIAL when items are
 * on media not given (after restoring everything else and printing one
 * "cannot restore" line per missing item to o->report), MB_ERR_CORRUPT on
 * a checksum mismatch (the file is removed), MB_ERR_NOT_FOUND for a --file
 * in no image of the set. */
int mb_set_restore(const struct mb_set_restore_opts *o, struct mb_set_stats *st,
		   struct mb_error *e);

/* Checks each image alone (as mb_image_verify) and the set as a whole:
 * every item named by any index is held by exactly one image given and
 * every segmented file is covered.  MB_ERR_PARTIAL lists what is missing. */
int mb_set_verify(const char *const *media, size_t n_media, FILE *report,
		  struct mb_set_stats *st, struct mb_error *e);

#endif
