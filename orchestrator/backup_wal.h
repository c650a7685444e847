/*
 * What of the WAL archive a backup needs (backup_wal.c): after the image
 * is written, with a wal-archive configured and a database that reported
 * its start and stop (timeline, start_lsn, stop_lsn), the segments from
 * start to stop are looked for in the archive and the run's facts record
 * them: wal_first and wal_last (segment names) and wal_archived ("yes",
 * or "missing NAME", or "unknown: WHY" when the archive could not be
 * read).  The catalog's record of the archive (wal_files) is brought up
 * to date on the way, as wal-check and expire do.  A missing segment is a
 * warning, never a failure: the image carries its own WAL from start to
 * stop and restores without the archive; a restore to a later point, and
 * expire's idea of what the backup needs, do not.
 */
#ifndef MB_BACKUP_WAL_H
#define MB_BACKUP_WAL_H

struct mb_run;

/* Never fails the run; what went wrong is logged and recorded. */
void mb_backup_wal_note(struct mb_run *r);

#endif
