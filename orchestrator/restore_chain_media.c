/*
 * Where the images of a chain are read from (restore_chain.h): the
 * catalog's media (files, a tape positioned by backup id, the object
 * store) or the --from given, and which of them can be read only once
 * (a pipe, standard input); and the check every restore makes on the set
 * it opened: a chain's link holds the backup it should, an increment
 * alone is refused (it is no state of its own).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/blockmap.h"
#include "orchestrator/catalog_incr.h"
#include "orchestrator/restore_chain.h"
#include "orchestrator/restore_pitr.h"
#include "orchestrator/restore_set.h"

enum mb_link_medium mb_link_medium_of(const char *spec)
{
	struct stat st;

	if (strcmp(spec, "-") == 0 || strncmp(spec, "pipe:", 5) == 0)
		return MB_LINK_STREAM;
	if (strncmp(spec, "tape:", 5) == 0)
		return MB_LINK_TAPE;
	if (strncmp(spec, "s3://", 5) == 0)
		return MB_LINK_STORE;
	if (strncmp(spec, "file:", 5) == 0)
		spec += 5;
	if (stat(spec, &st) == 0 && S_ISFIFO(st.st_mode))
		return MB_LINK_STREAM;
	return MB_LINK_FILE;
}

/* The backup-id and base-id lines at the head of an increment's manifest
 * (its first member: read from where the reader is, a pipe too). */
static void manifest_ids(struct mb_set_image *m, char *id, char *base, size_t len)
{
	struct mb_error ignored = { 0 };
	struct mb_member mem;
	char buf[4096], *p;
	ssize_t n;

	snprintf(id, len, "%s", m->idx->meta.backup_id);
	snprintf(base, len, "?");
	if (m->next != 0 || mb_image_next(m->r, &mem, &ignored) <= 0)
		return;
	mb_member_free(&mem);
	m->next = 1;
	if ((n = mb_image_read(m->r, buf, sizeof(buf) - 1, &ignored)) <= 0)
		return;
	buf[n] = '\0';
	if ((p = strstr(buf, "\nbase-id ")))
		snprintf(base, len, "%.*s", (int)strcspn(p + 9, "\n"), p + 9);
}

int mb_chain_check_set(struct mb_image_set *s, const char *chain_link, struct mb_error *e)
{
	char id[64], base[64];

	for (size_t i = 0; chain_link && i < s->n; i++)
		if (strcmp(s->v[i].idx->meta.backup_id, chain_link) != 0)
			return mb_fail(e, MB_ERR_CORRUPT, 0, "image '%s' holds backup %s, not backup "
				       "%s of the chain", s->v[i].name, s->v[i].idx->meta.backup_id,
				       chain_link);
	for (size_t i = 0; !chain_link && i < s->n; i++) {
		const struct mb_index *ix = s->v[i].idx;

		if (ix->n == 0 || strcmp(ix->v[0].ent.path, MB_INCR_MANIFEST) != 0)
			continue;
		manifest_ids(&s->v[i], id, base, sizeof(id));
		mb_fail(e, MB_ERR_USAGE, 0, "image '%s' is an increment (backup %s on backup %s): "
			"alone it restores no state", s->v[i].name, id, base);
		mb_hint(e, "restore its point through the chain: mbackup restore --backup %s --to "
			"DIR (the catalog's images), with --from for each image of the chain, the "
			"full first, where they are not files or a tape the catalog knows", id);
		return -1;
	}
	return 0;
}

bool mb_restore_chain_wanted(const struct mb_options *opt)
{
	struct mb_catalog *cat = NULL;
	struct mb_backup_rec b = { 0 };
	struct mb_error ignored = { 0 };
	char *end;
	long long id;
	bool wanted;

	if (opt->froms.n == 0)
		return true;
	if (mb_pitr_wanted(opt))	/* (a point in time: its own path picks the image) */
		return false;
	id = strtoll(opt->backup, &end, 10);
	if (id <= 0 || *end || !opt->catalog || access(opt->catalog, F_OK) < 0)
		return false;	/* (--backup names an image on a tape) */
	wanted = mb_catalog_open(&cat, opt->catalog, &ignored) == 0 &&
		 mb_catalog_backup_get(cat, id, &b, &ignored) == 0 && strchr(b.chain, ',');
	mb_backup_rec_free(&b);
	mb_catalog_close(cat);
	return wanted;
}
