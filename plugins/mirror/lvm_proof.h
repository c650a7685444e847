/*
 * The targeted proof that a merged raid1 leg is whole (lvm.c calls it): a
 * change map says which regions of the LV were written while the split
 * leg was away (lvm_witness.c fills it from device-mapper's I/O counters
 * on the LV's top device); only those regions of the two legs are
 * compared afterwards.  A region outside the map was not written during
 * the split (the split leg is read-only at the block layer meanwhile, and
 * both legs were proven equal after the previous merge), so it cannot
 * differ.  md's own write-intent bitmap is no such map: in the guest it
 * marked 4 of 128 regions of a merge whose legs then differed elsewhere.
 */
#ifndef MB_LVM_PROOF_H
#define MB_LVM_PROOF_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

struct mb_lvm_dirty {
	uint64_t chunk_bytes;	/* one bit covers this much of each leg */
	uint64_t size_bytes;	/* the LV's size */
	uint64_t chunks;	/* bits in use */
	uint64_t dirty;		/* of which set */
	unsigned char *bits;	/* chunks bits, little-endian bit order */
};

/* An empty map of chunk_bytes regions over size_bytes (the last region
 * may be short); a geometry that makes no sense is refused. */
int mb_lvm_dirty_init(struct mb_lvm_dirty *d, uint64_t chunk_bytes, uint64_t size_bytes,
		      struct mb_error *e);
/* Marks region i written (past the end: ignored). */
void mb_lvm_dirty_mark(struct mb_lvm_dirty *d, uint64_t i);
void mb_lvm_dirty_free(struct mb_lvm_dirty *d);

struct mb_lvm_compare {
	uint64_t bytes_read;	/* of both devices together, retries included */
	uint64_t regions;	/* dirty chunks compared */
	uint64_t retried;	/* pieces that differed at first and then agreed */
	uint64_t differ_at;	/* the first byte still different (if any) */
	uint64_t mended;	/* pieces of b written over with a's (mend) */
	uint64_t bytes_mended;
	uint64_t mended_at;	/* the first piece mended */
	int mend_errno;		/* why a copy failed (then 1 at once) */
};

/* Compares devices a and b on every dirty chunk of d.  A piece that
 * differs is read again a few times: a write in flight lands on the legs
 * one after the other.  0: equal; 1: a piece stayed different
 * (c->differ_at); -1: a read failed (e). */
int mb_lvm_compare_dirty(const char *a, const char *b, const struct mb_lvm_dirty *d,
			 struct mb_lvm_compare *c, struct mb_error *e);
/* The same, but a piece that differs is mended: a's (the origin's) is
 * written over b's and both are read and compared again, up to a few
 * times (a write of the LV's users may overtake the copy on a; b, the
 * merged leg, is write-mostly meanwhile, so md never reads it).  0: equal
 * everywhere, c->mended pieces copied (and b written back to disk); 1: a
 * piece could not be made equal (or a copy failed: c->mend_errno); -1: a
 * read or the write back failed.
 * Only for a merged leg whose areas outside d are known equal. */
int mb_lvm_mend_dirty(const char *a, const char *b, const struct mb_lvm_dirty *d,
		      struct mb_lvm_compare *c, struct mb_error *e);
/* The same, each piece's reads first taken from the run's pace: pace(arg,
 * n) waits until the n bytes of both legs may be read (NULL: at once). */
int mb_lvm_mend_dirty_paced(const char *a, const char *b, const struct mb_lvm_dirty *d,
			    void (*pace)(void *arg, uint64_t n), void *pace_arg,
			    struct mb_lvm_compare *c, struct mb_error *e);

#endif
