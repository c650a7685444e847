/*
 * The targeted proof that a merged raid1 leg is whole (lvm.c calls it):
 * md's write-intent bitmap, read from a leg's rmeta sub-LV, says which
 * regions were written while the split leg was away; only those regions of
 * the two legs are compared afterwards.  A region outside the bitmap was
 * not written during the split (the split leg is read-only at the block
 * layer meanwhile, and both legs were in sync before it), so it cannot
 * differ.  There is no library for md's on-disk bitmap; its layout is the
 * kernel's bitmap_super_t (drivers/md/md-bitmap.h), read here by hand.
 */
#ifndef MB_LVM_PROOF_H
#define MB_LVM_PROOF_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

/* Where dm-raid keeps the bitmap in a rmeta sub-LV: after its 4 KiB
 * superblock. */
#define MB_LVM_BITMAP_OFFSET 4096

struct mb_lvm_dirty {
	uint64_t chunk_bytes;	/* one bit covers this much of each leg */
	uint64_t size_bytes;	/* the array's sync size */
	uint64_t chunks;	/* bits in use */
	uint64_t dirty;		/* of which set */
	unsigned char *bits;	/* chunks bits, little-endian bit order */
};

/* The bitmap in buf (len bytes from its superblock on): fills *d.  A
 * buffer that is no md bitmap, a stale one or one too short for its own
 * size is refused (MB_ERR_MIRROR), saying why. */
int mb_lvm_dirty_parse(const unsigned char *buf, size_t len, struct mb_lvm_dirty *d,
		       struct mb_error *e);
/* Reads and parses the bitmap of the rmeta device dev (O_DIRECT: what
 * is on the disk, not in the page cache). */
int mb_lvm_dirty_read(const char *dev, struct mb_lvm_dirty *d, struct mb_error *e);
/* into |= other; both of the same array (else refused). */
int mb_lvm_dirty_union(struct mb_lvm_dirty *into, const struct mb_lvm_dirty *other,
		       struct mb_error *e);
void mb_lvm_dirty_free(struct mb_lvm_dirty *d);

struct mb_lvm_compare {
	uint64_t bytes_read;	/* of both devices together, retries included */
	uint64_t regions;	/* dirty chunks compared */
	uint64_t retried;	/* pieces that differed at first and then agreed */
	uint64_t differ_at;	/* the first byte still different (if any) */
};

/* Compares devices a and b on every dirty chunk of d.  A piece that
 * differs is read again a few times: a write in flight lands on the legs
 * one after the other.  0: equal; 1: a piece stayed different
 * (c->differ_at); -1: a read failed (e). */
int mb_lvm_compare_dirty(const char *a, const char *b, const struct mb_lvm_dirty *d,
			 struct mb_lvm_compare *c, struct mb_error *e);

#endif
