/*
 * Several devices at once (DESIGN.md "Several devices at once").
 *
 * Plan:   files above the threshold (default total bytes / N) are cut into
 *         segments no larger than it; the work list is sorted (largest
 *         first by default) and each item goes to the device holding the
 *         fewest bytes so far.  An item that would push the device past
 *         its fair share (total / N) is cut there and the rest goes on, so
 *         a few large files cannot unbalance the set.  Directories go to
 *         every device, so each image extracts as a tree of its own.
 * Write:  one thread per device (none for a single device: a single image
 *         is a set of one), each running mb_image_write() on its own
 *         output and layout, pulling data through its own reader (a
 *         factory callback gives each thread its own).  Every image's index names
 *         the set: backup id, device k of N and what every other image holds.
 * Failover: a device that fails (write error, end of medium, a pipe stalled
 *         longer than its deadline: a filter of the medium's chain) is
 *         reported; every item planned on it
 *         moves to the survivors, balanced again, and each survivor appends
 *         a rescue image (part 2, its own index naming what it rescues)
 *         after its first one.  A failed image has no trailer, so nothing on
 *         it is verifiable: all its items move, none is half trusted.
 */
#ifndef MB_MULTI_H
#define MB_MULTI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/entry.h"
#include "common/error.h"
#include "image/image.h"

#define MB_MULTI_MAX_DEVICES 64

enum mb_multi_order {
	MB_ORDER_DESC,		/* largest first (default) */
	MB_ORDER_ASC,
	MB_ORDER_LOGICAL,	/* the set's own order */
};

/* One unit of placement: a whole entry or a segment of a file, 48 bytes
 * (the entry itself stays in the set: an item is not a copy of it; a
 * device's image copies the entries of its items only when several
 * devices share the set). */
struct mb_multi_item {
	size_t entry;		/* index in the entries given to the plan */
	uint64_t seg_offset;	/* the piece of the entry's file */
	uint64_t seg_length;	/* (0 for what is not a file) */
	uint64_t image_offset;	/* of its first header, where it landed */
	uint32_t planned;	/* device it was planned on, 1..N */
	uint32_t device;	/* device it landed on, 1..N (0: not stored) */
	uint32_t part;		/* image on that device: 1 first, 2.. rescue */
	char type;		/* the entry's */
};

struct mb_multi_plan {
	uint32_t n_devices;
	bool whole;		/* mb_multi_plan_whole: no items */
	uint64_t threshold;	/* segment size limit used */
	uint64_t total;		/* file bytes of the set */
	struct mb_multi_item *items;
	size_t n_items;
	struct mb_entry **entries;	/* borrowed, as given */
	size_t n_entries;
	uint64_t load[MB_MULTI_MAX_DEVICES];	/* planned bytes per device */
};

/* The caller's data source, one per device thread.  open gives the data
 * callback and its argument for device k (1..N), told the entries it will
 * read in order (for read-ahead); close releases it.  The extent reader
 * qualifies when each thread has its own. */
struct mb_multi_source {
	int (*open)(void *arg, uint32_t device, struct mb_entry *const *entries,
		    size_t n, mb_data_fn *fn, void **fn_arg, struct mb_error *e);
	void (*close)(void *arg, uint32_t device, void *fn_arg);
	/* Optional: called once every first image is laid out (the entries
	 * of device k's image, image_offset exact) and before any byte is
	 * written; a failure ends the run. */
	int (*laid_out)(void *arg, uint32_t device, struct mb_entry *const *entries,
			size_t n, struct mb_error *e);
	void *arg;
};

/* One device: its output is opened (and later closed or aborted) by the
 * caller; the rest is filled by mb_multi_write(). */
struct mb_multi_device {
	struct mb_image_output out;
	const char *name;		/* for messages: "file:/backup/a" */
	bool failed;
	struct mb_error err;		/* why it failed */
	uint32_t parts;			/* images completed on it */
	uint64_t bytes;			/* image bytes completed on it */
	uint64_t file_bytes;
	uint64_t items;			/* items that landed on it */
};

struct mb_multi_opts {
	struct mb_image_meta meta;	/* backup_id, created, source, record_size */
};

/* Plans n entries (logical order, borrowed until mb_multi_plan_free) over
 * n_devices; threshold 0 means total / n_devices. */
int mb_multi_plan(struct mb_entry **entries, size_t n, uint32_t n_devices,
		  uint64_t threshold, enum mb_multi_order order,
		  struct mb_multi_plan *out, struct mb_error *e);
/* A single device's plan: no items (48 bytes a file, and the image's own
 * array of entries, saved), its one image lays out the n entries as they
 * are, in their order: what mb_multi_plan gives for one device, whose
 * items are every entry whole. */
int mb_multi_plan_whole(struct mb_entry **entries, size_t n, struct mb_multi_plan *out);
void mb_multi_plan_free(struct mb_multi_plan *p);
/* "desc", "asc", "logical" -> order; -1 if unknown. */
int mb_multi_order_parse(const char *s, enum mb_multi_order *out);
/* Largest device load over the mean, e.g. 1.01 (planned bytes). */
double mb_multi_imbalance(const struct mb_multi_plan *p);

/* Writes every device's image concurrently, then rescue images on the
 * survivors until every item is stored.  dev has p->n_devices elements.
 * Returns 0 when every item is stored (failed devices are reported in
 * dev[k].failed/err), -1 (MB_ERR_MEDIA naming the first failure) when no
 * device survives; a single device's failure is its own error, as is.  Afterwards p->items[i].device/part/ent.image_offset
 * tell where each item landed. */
int mb_multi_write(struct mb_multi_plan *p, struct mb_multi_device *dev,
		   const struct mb_multi_opts *o, const struct mb_multi_source *src,
		   struct mb_error *e);

#endif
