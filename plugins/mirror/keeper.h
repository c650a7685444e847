/*
 * Keepers (keeper.c): a child that undoes one thing if mbackup dies while
 * it is in force (kill -9 included): a suspended dm device is resumed, an
 * io.max line written back.
 */
#ifndef MB_MIRROR_KEEPER_H
#define MB_MIRROR_KEEPER_H

#include "common/error.h"

struct mb_keeper {
	char resume_dm[600];	/* dm device to resume, or "" */
	char file[600];		/* else: write line to file */
	char line[128];
	int pid, fd;
};

/* Fill resume_dm, or file and line, first. */
int mb_keeper_start(struct mb_keeper *k, struct mb_error *e);
/* The thing is undone (or in force for good): the keeper ends. */
void mb_keeper_done(struct mb_keeper *k);

/* Suspends dm device `name` (without lockfs) with a keeper that resumes
 * it; mb_keeper_done once it is resumed. */
int mb_dm_suspend_guarded(const char *name, struct mb_keeper *k, struct mb_error *e);

#endif
