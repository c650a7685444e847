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

#define MB_TAPE_DEFAULT_BLOCK (256u * 1024)
#define MB_TAPE_MAX_BLOCK (1u << 20)	/* what st reads in one go */
#define MB_TAPE_DEFAULT_BUFFER (64u << 20)
#define MB_TAPE_MAX_VOLUMES 64

/* What the command line says about tapes (set once, before a tape sink or
 * reader is opened: options.c does it after parsing). */
struct mb_tape_params {
	uint32_t block_size;		/* 0: MB_TAPE_DEFAULT_BLOCK */
	bool append, overwrite;
	const char *volume_change;	/* command, argv split on spaces; NULL: none */
	uint64_t buffer;		/* RAM ring bytes; 0: the default */
	const char *backup;		/* restore: which image (NULL: the last) */
};
void mb_tape_set_params(const struct mb_tape_params *p);
const struct mb_tape_params *mbt_params(void);

/* Where one image went: one part per volume it touches. */
struct mb_tape_part {
	char label[64];		/* the volume set's name */
	uint32_t volume;	/* counting from 1 */
	uint32_t file_no;	/* tape file holding this part */
	uint64_t first_byte;	/* image byte at the part's first record */
};
struct mb_tape_info {
	uint32_t record_size;
	size_t n_parts;
	struct mb_tape_part part[MB_TAPE_MAX_VOLUMES];
	/* the drive side of the ring */
	uint64_t records, drive_ns, underruns, volume_changes;
};
/* The info of the last tape sink closed in this process (false if none). */
bool mb_tape_last_info(struct mb_tape_info *out);

/* The sink driver behind "tape:DEVICE" (see sink.c). */
struct mb_sink;
int mb_tape_sink_open(struct mb_sink *s, const char *arg, struct mb_error *e);
int mb_tape_sink_write(struct mb_sink *s, const void *buf, size_t len,
		       struct mb_error *e);
int mb_tape_sink_close(struct mb_sink *s, struct mb_error *e);
void mb_tape_sink_abort(struct mb_sink *s);

/* Reading: opens DEVICE, reads the label, finds the image (params.backup
 * or the last one on the volume), positions at its first record and makes
 * every read of *fd_out go through the tape reader (mb_image_set_input).
 * The caller closes *fd_out. */
int mb_tape_open_read(const char *dev, int *fd_out, struct mb_error *e);
/* Records read from the tape since mb_tape_open_read, and the image's
 * records (0 if no tape is open). */
void mb_tape_read_stats(uint64_t *records, uint64_t *record_size);

/* Tape helpers shared by the sink and the reader (tape_dev.c). */
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
