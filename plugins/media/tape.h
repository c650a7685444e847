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

/* A drive being read (tape_pos.c): where its head is on the loaded
 * volume, counted by us (the emulated drive's READ POSITION fails, and its
 * MTBSF lands one object too far), so a move is forward by records inside
 * a tape file, forward by filemarks to a later file, and a rewind plus
 * filemarks only to go back.  file < 0: unknown (after an error or the
 * end of data), the next move rewinds. */
struct mbt_drive {
	int fd;
	const char *dev;
	long file;			/* tape file the head is in (0: the label) */
	uint64_t rec;			/* records of it passed */
	uint64_t rewinds, files_spaced, records_spaced;
};
/* Rewinds (the position is then BOT). */
int mbt_rewind(struct mbt_drive *d, struct mb_error *e);
/* Puts the head at record rec of tape file file of the loaded volume;
 * -2 (no error set) if that file ends before record rec. */
int mbt_goto(struct mbt_drive *d, uint32_t file, uint64_t rec, struct mb_error *e);
/* mbt_read_record, counting what the head passed. */
ssize_t mbt_drive_read(struct mbt_drive *d, void *buf, size_t cap, struct mb_error *e);
/* The head is at block blk (LOCATE) which is record rec of file; 0 if
 * the drive did it, -1 (no error: fall back to mbt_goto) if not. */
int mbt_locate(struct mbt_drive *d, long blk, uint32_t file, uint64_t rec);

#define MBT_LABEL_NAME "MBACKUP.LABEL"
#define MBT_EOV_NAME "MBACKUP.EOV"

#endif
