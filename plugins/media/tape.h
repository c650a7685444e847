/*
 * Tape media (st(4), non-rewinding nodes only).
 *
 * A volume holds, as tape files separated by filemarks:
 *   file 0       the label: one record, a tar member "MBACKUP.LABEL" whose
 *                text names the volume set, the volume number and the
 *                record size (and, on a continuation volume, the backup it
 *                continues and the image byte it continues at)
 *   file 1..n    one image each (a continuation volume: file 1 is the rest
 *                of the image the previous volume could not hold)
 *   [last file]  when the volume filled up: the end-of-volume record, a tar
 *                member "MBACKUP.EOV" naming the backup and the image byte
 *                where the next volume continues
 * Every write() is exactly one record of the fixed record size (MTSETBLK);
 * the first ENOSPC (early warning) ends the volume.
 */
#ifndef MB_TAPE_H
#define MB_TAPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"
#include "plugins/media/media.h"

#define MB_TAPE_DEFAULT_BLOCK (256u * 1024)
#define MB_TAPE_MAX_BLOCK (1u << 20)	/* what st reads in one go */

#define MB_TAPE_MAX_VOLUMES MB_MEDIA_MAX_VOLUMES

/* What the sink knows at the end: where the image went (media.h) and the
 * drive side of the ring. */
struct mb_tape_info {
	struct mb_media_position pos;
	uint64_t records, drive_ns, underruns, volume_changes;
};

/* The read side of the "tape" driver (tape_read.c), in mbm_tape_ops:
 * opens DEVICE, reads the label, finds the image (p->backup or the last
 * one on the volume) and positions at its first record. */
int mbt_open_read(struct mb_media_in *m, const char *dev, const struct mb_media_params *p,
		  struct mb_error *e);
ssize_t mbt_read(struct mb_media_in *m, void *buf, size_t n, struct mb_error *e);
int mbt_seek(struct mb_media_in *m, uint64_t off, struct mb_error *e);
int mbt_next_image(struct mb_media_in *m, uint64_t size, struct mb_error *e);
void mbt_close_read(struct mb_media_in *m);
void mbt_read_stats(const struct mb_media_in *m, uint64_t *records, uint64_t *record_size);

/* Tape helpers shared by the sink and the reader (tape_dev.c). */
/* dev is a non-rewinding SCSI tape node (nothing is opened). */
int mbt_check_node(const char *dev, struct mb_error *e);
int mbt_open_dev(const char *dev, bool write, int *fd, struct mb_error *e);
int mbt_op(int fd, const char *dev, short op, int count, struct mb_error *e);
int mbt_set_block(int fd, const char *dev, uint32_t bs, struct mb_error *e);
/* Reads one record (variable mode) into buf of cap bytes: returns its
 * length, 0 at a filemark, -2 at the end of data (blank or stale). */
ssize_t mbt_read_record(int fd, const char *dev, void *buf, size_t cap,
			struct mb_error *e);
/* Builds / parses a one-member tar record "NAME" holding "key=value\n"
 * lines. */
void mbt_make_record(void *rec, size_t bs, const char *name, const char *text);
bool mbt_parse_record(const void *rec, size_t len, const char *name,
		      char *text, size_t cap);
/* Value of key in "key=value\n" lines, copied into out; false if absent. */
bool mbt_kv(const char *text, const char *key, char *out, size_t cap);
/* Runs the volume-change command for VOLUME (MBACKUP_DEVICE, MBACKUP_VOLUME
 * in its environment) or fails with MB_ERR_MEDIA asking for it. */
int mbt_volume_change(const char *cmd, const char *dev, uint32_t volume,
		      struct mb_error *e);

#define MBT_LABEL_NAME "MBACKUP.LABEL"
#define MBT_EOV_NAME "MBACKUP.EOV"

#endif
