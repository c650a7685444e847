/*
 * The witness of what a raid1 LV's users wrote while a leg was split: a
 * device-mapper statistics region (dm-stats) over the whole top device of
 * the LV, cut into areas, created before the split and read after the
 * merge.  It is independent of md: it counts every write bio that reaches
 * the LV, done or still in flight, whatever md's bitmap and superblocks
 * believe.  The counters live with the mapped device, not its table, so
 * they survive the table reloads of lvconvert's split and merge (checked
 * in the guest: tests/vm/merge-diag.sh); they do not survive a
 * deactivation or a reboot, and then there is no witness (the caller
 * scrubs in full).  The region is tagged with its own program id, so it
 * is found again from the LV's name alone (recover) and never mixed up
 * with a region a person made with dmstats.
 */
#ifndef MB_LVM_WITNESS_H
#define MB_LVM_WITNESS_H

#include <stdint.h>

#include "common/error.h"
#include "plugins/mirror/lvm_proof.h"

#define MB_LVM_WITNESS_PROGRAM "mbackup-split"

/* The area size for a device of size_bytes on a machine of ncpu CPUs: 64
 * KiB or more, a power of two, so that the kernel's counters (one set per
 * area and CPU) stay under a few tens of MiB. */
uint64_t mb_lvm_witness_area(uint64_t size_bytes, long ncpu);
/* One region of @stats_list: "ID: START+LEN STEP PROGRAM AUX" (sectors). */
struct mb_lvm_witness_region {
	uint64_t id, start, len, step;
};

/* The regions of our program in a @stats_list reply: how many (the
 * first max into r); other lines are skipped. */
int mb_lvm_witness_parse_list(const char *text, struct mb_lvm_witness_region *r, int max);
/* A @stats_print reply of region r (one line an area: "START+LEN" and
 * the counters) into *d: the areas with writes done or I/O in flight.  A
 * line that does not parse, or a count of lines that is not the
 * region's, is refused. */
int mb_lvm_witness_parse_print(const char *text, const struct mb_lvm_witness_region *r,
			       struct mb_lvm_dirty *d, struct mb_error *e);
/* Replaces any witness on dm device `dm` by a new one, empty. */
int mb_lvm_witness_start(const char *dm, struct mb_error *e);
/* The areas of dm's witness with writes done or in flight, into *d.  0:
 * read; 1: there is no witness (or not one whole one: *why says what);
 * -1: device-mapper could not be asked (e). */
int mb_lvm_witness_read(const char *dm, struct mb_lvm_dirty *d, const char **why,
			struct mb_error *e);
/* Deletes dm's witness; no witness (or no device) is no error. */
int mb_lvm_witness_stop(const char *dm, struct mb_error *e);

#endif
