/*
 * backup_manifest: PostgreSQL's own description of a base backup, so that
 * `pg_verifybackup` can check an extracted image with no help from
 * mbackup (every file present with its size, nothing extra, the WAL from
 * the start to the stop LSN parseable).  Per-file checksums are left out
 * ("Checksum-Algorithm" absent, as pg_basebackup --manifest-checksums=none
 * does): the image's trailer already carries a stronger checksum of every
 * file, and leaving them out makes the manifest known before any data is
 * written, so it is an ordinary member of the laid-out image.  The
 * manifest's own SHA-256 (required by the format) comes from OpenSSL.
 */
#include "plugins/quiesce/postgres/pg_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

struct text {
	char *p;
	size_t len;
	FILE *f;
};

/* Paths that are not valid JSON text without escapes go as hex. */
static bool plain_path(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f || *s == '"' || *s == '\\')
			return false;
	return true;
}

static void file_line(FILE *f, const struct mb_entry *ent, bool *first)
{
	char when[40];
	time_t t = ent->mtime_sec;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S GMT", &tm);
	fprintf(f, "%s\n{ ", *first ? "" : ",");
	*first = false;
	if (plain_path(ent->path)) {
		fprintf(f, "\"Path\": \"%s\", ", ent->path);
	} else {
		fprintf(f, "\"Encoded-Path\": \"");
		for (const unsigned char *c = (const unsigned char *)ent->path; *c; c++)
			fprintf(f, "%02x", *c);
		fprintf(f, "\", ");
	}
	fprintf(f, "\"Size\": %" PRIu64 ", \"Last-Modified\": \"%s\" }", ent->size, when);
}

static int sha256_hex(const char *p, size_t len, char hex[65], struct mb_error *e)
{
	unsigned char md[32];
	unsigned int n = 0;

	if (!EVP_Digest(p, len, md, &n, EVP_sha256(), NULL) || n != sizeof(md))
		return mb_fail(e, MB_ERR_GENERAL, 0, "unable to compute the manifest's SHA-256");
	for (unsigned i = 0; i < n; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return 0;
}

/* The manifest text for the set as it will be in the image. */
static int manifest_text(const struct mb_set *set, const struct mb_pg_backup *b,
			 char **out, struct mb_error *e)
{
	struct text t = { 0 };
	bool first = true;
	char hex[65];

	if (!(t.f = open_memstream(&t.p, &t.len)))
		return mb_fail(e, MB_ERR_GENERAL, errno, "unable to build backup_manifest");
	fprintf(t.f, "{ \"PostgreSQL-Backup-Manifest-Version\": 1,\n\"Files\": [");
	for (size_t i = 0; i < set->n; i++) {
		const struct mb_entry *ent = &set->v[i];

		/* pg_verifybackup checks pg_wal by parsing the WAL range */
		if ((ent->type == MB_T_FILE || ent->type == MB_T_HARDLINK) &&
		    strncmp(ent->path, "pg_wal/", 7) != 0)
			file_line(t.f, ent, &first);
	}
	fprintf(t.f, " ],\n\"WAL-Ranges\": [\n{ \"Timeline\": %u, \"Start-LSN\": \"%X/%X\", "
		     "\"End-LSN\": \"%X/%X\" }\n],\n", b->timeline,
		(unsigned)(b->start_lsn >> 32), (unsigned)b->start_lsn,
		(unsigned)(b->stop_lsn >> 32), (unsigned)b->stop_lsn);
	fflush(t.f);
	if (sha256_hex(t.p, t.len, hex, e) < 0) {
		fclose(t.f);
		free(t.p);
		return -1;
	}
	fprintf(t.f, "\"Manifest-Checksum\": \"%s\"}\n", hex);
	fclose(t.f);
	*out = t.p;
	return 0;
}

int mb_pg_manifest(struct mb_quiesce *q, struct mb_set *set, struct mb_error *e)
{
	const struct mb_pg_backup *b = mb_pg_backup_result(q);
	struct mb_entry owner = { 0 }, *ent;
	char *text = NULL;

	if (!b)		/* freeze mode: not a base backup in PostgreSQL's terms */
		return 0;
	/* It looks like backup_label: same owner, mode and time. */
	for (size_t i = 0; i < set->n; i++)
		if (strcmp(set->v[i].path, "backup_label") == 0)
			owner = set->v[i];
	if (manifest_text(set, b, &text, e) < 0)
		return -1;
	ent = mb_set_add(set);
	if (!ent || !(ent->path = strdup("backup_manifest")) || mb_entry_set_content(ent, text) < 0) {
		if (!ent || !ent->path)
			free(text);
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to add backup_manifest");
	}
	ent->type = MB_T_FILE;
	ent->size = ent->seg_length = strlen(text);
	ent->mode = owner.mode;
	ent->uid = owner.uid;
	ent->gid = owner.gid;
	ent->mtime_sec = owner.mtime_sec;
	ent->nlink = 1;
	return 0;
}
