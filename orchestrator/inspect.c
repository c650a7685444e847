/*
 * Read-only verbs: `ls` (an image's index), `verify` (an image's structure
 * and checksums) and `list` (the catalog's runs).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "image/image.h"
#include "orchestrator/catalog.h"
#include "orchestrator/commands.h"
#include "orchestrator/wal_cmd.h"
#include "orchestrator/restore_set.h"
#include "plugins/media/media.h"

int mb_open_image_arg(const struct mb_options *opt, const char *spec,
		      struct mb_media_in **out, struct mb_error *e)
{
	struct mb_media_params p;

	*out = NULL;
	if (!spec)
		spec = opt->from;
	if (!spec) {
		mb_fail(e, MB_ERR_USAGE, 0, "missing --from");
		mb_hint(e, "give the image: --from /backup/data.mbi, or --from - for standard input");
		return -1;
	}
	if (mb_options_media_params(opt, 0, &p, e) < 0)
		return -1;
	return mb_media_open_read(out, spec, &p, e);
}

static bool json_output(const struct mb_options *opt)
{
	return opt->output && strcmp(opt->output, "json") == 0;
}

/* "-rw-r--r--" as ls and tar show it. */
static void mode_string(char type, uint32_t mode, char out[11])
{
	static const char rwx[] = "rwxrwxrwx";

	out[0] = type == MB_T_FILE || type == MB_T_HARDLINK ? '-' : type;
	for (int i = 0; i < 9; i++)
		out[1 + i] = (mode & (0400 >> i)) ? rwx[i] : '-';
	if (mode & 04000)
		out[3] = (mode & 0100) ? 's' : 'S';
	if (mode & 02000)
		out[6] = (mode & 0010) ? 's' : 'S';
	if (mode & 01000)
		out[9] = (mode & 0001) ? 't' : 'T';
	out[10] = '\0';
}

/* "2020-09-13 12:26" in UTC, or "@SECONDS" when no date can hold it
 * (gmtime_r fails past year 2^31: nothing of tm may be read then). */
static void mtime_string(int64_t sec, char *out, size_t cap)
{
	time_t t = (time_t)sec;
	struct tm tm;

	if ((int64_t)t != sec || !gmtime_r(&t, &tm) ||
	    strftime(out, cap, "%Y-%m-%d %H:%M", &tm) == 0)
		snprintf(out, cap, "@%" PRId64, sec);
}

void mb_ls_entry(FILE *out, const struct mb_entry *en)
{
	char mode[11], when[32];
	char *path = mb_image_printable(en->path);
	char *target = mb_entry_link(en) ? mb_image_printable(mb_entry_link(en)) : NULL;

	mode_string(en->type, en->mode, mode);
	mtime_string(en->mtime_sec, when, sizeof(when));
	fprintf(out, "%s %u/%u %12llu %s @%llu %s%s%s\n", mode, en->uid, en->gid,
		(unsigned long long)en->size, when, (unsigned long long)en->image_offset,
		path ? path : "?", mb_entry_link(en) ? (en->type == MB_T_SYMLINK ? " -> " :
		" link to ") : "", mb_entry_link(en) ? (target ? target : "?") : "");
	free(path);
	free(target);
}

static void ls_text(const struct mb_index *ix)
{
	for (size_t i = 0; i < ix->n; i++)
		mb_ls_entry(stdout, &ix->v[i].ent);
}

static void ls_json(const struct mb_index *ix)
{
	json_t *root = json_object(), *arr = json_array();

	json_object_set_new(root, "backup_id", json_string(ix->meta.backup_id));
	json_object_set_new(root, "source", json_string(ix->meta.source));
	json_object_set_new(root, "image_size", json_integer((json_int_t)ix->image_size));
	for (size_t i = 0; i < ix->n; i++) {
		const struct mb_entry *en = &ix->v[i].ent;
		json_t *o = json_object();
		char type[2] = { en->type, 0 };

		json_object_set_new(o, "path", json_stringn_nocheck(en->path, strlen(en->path)));
		json_object_set_new(o, "type", json_string(type));
		json_object_set_new(o, "size", json_integer((json_int_t)en->size));
		json_object_set_new(o, "mode", json_integer(en->mode & 07777));
		json_object_set_new(o, "uid", json_integer(en->uid));
		json_object_set_new(o, "gid", json_integer(en->gid));
		json_object_set_new(o, "mtime", json_integer(en->mtime_sec));
		json_object_set_new(o, "offset", json_integer((json_int_t)en->image_offset));
		json_object_set_new(o, "ino", json_integer((json_int_t)en->ino));
		if (mb_entry_link(en))
			json_object_set_new(o, "target", json_stringn_nocheck(mb_entry_link(en),
									     strlen(mb_entry_link(en))));
		json_array_append_new(arr, o);
	}
	json_object_set_new(root, "entries", arr);
	json_dumpf(root, stdout, JSON_INDENT(1));
	printf("\n");
	json_decref(root);
}

int mb_cmd_ls(const struct mb_options *opt, struct mb_error *e)
{
	struct mb_image_set set;
	int rc = mb_set_open(&set, opt, (const char *const *)opt->froms.v, opt->froms.n,
			     MB_SET_FIRST_ONLY, e);

	if (rc == 0 && json_output(opt))
		ls_json(set.v[0].idx);
	else if (rc == 0)
		ls_text(set.v[0].idx);
	mb_set_close(&set);
	return rc;
}

/* --output json of a verify that failed: why, and every damaged file. */
static void verify_json_failed(const struct mb_set_stats *st, const struct mb_error *e)
{
	json_t *o = json_pack("{s:s, s:s, s:I}", "status", mb_code_name(e->code),
			      "error", e->msg, "images", (json_int_t)st->images);
	json_t *arr = json_array();

	for (size_t i = 0; o && arr && i < st->n_damaged; i++) {
		const struct mb_set_damage *d = &st->damaged[i];

		json_array_append_new(arr, json_pack("{s:s%, s:s, s:I, s:s}", "path", d->path,
						     strlen(d->path), "image", d->image,
						     "offset", (json_int_t)d->offset, "error", d->error));
	}
	if (o && arr) {
		json_object_set(o, "damaged", arr);
		json_dumpf(o, stdout, JSON_COMPACT);
		printf("\n");
	}
	json_decref(arr);
	json_decref(o);
}

static int verify_report(const struct mb_options *opt, const struct mb_set_stats *st,
			 struct mb_error *e)
{
	json_t *o;

	if (!json_output(opt) && st->images == 1 && st->devices <= 1) {
		printf("verify: ok: %llu files, %llu bytes, image %llu bytes\n",
		       (unsigned long long)st->files, (unsigned long long)st->bytes,
		       (unsigned long long)st->image_bytes);
		return 0;
	}
	if (!json_output(opt)) {
		printf("verify: ok: %llu files, %llu bytes, %llu image(s) of %llu bytes\n",
		       (unsigned long long)st->files, (unsigned long long)st->bytes,
		       (unsigned long long)st->images, (unsigned long long)st->image_bytes);
		return 0;
	}
	o = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I}", "status", "ok",
		      "images", (json_int_t)st->images, "entries", (json_int_t)st->entries,
		      "files", (json_int_t)st->files, "bytes", (json_int_t)st->bytes,
		      "image_bytes", (json_int_t)st->image_bytes);
	if (!o)
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to write the verify report");
	json_dumpf(o, stdout, JSON_COMPACT);
	printf("\n");
	json_decref(o);
	return 0;
}

/* Each image alone, and the whole set (every item held once); every
 * damaged file is listed ("damaged: ..." lines, or the JSON's "damaged"). */
int mb_cmd_verify(const struct mb_options *opt, struct mb_error *e)
{
	struct mb_set_stats st;
	int rc = mb_set_verify_from(opt, stdout, &st, e);

	if (rc < 0 && json_output(opt))
		verify_json_failed(&st, e);
	else if (rc == 0)
		rc = verify_report(opt, &st, e);
	mb_set_stats_free(&st);
	return rc;
}

int mb_cmd_list(const struct mb_options *opt, struct mb_error *e)
{
	struct mb_catalog *c = NULL;
	struct mb_list_filter f;
	int rc;

	if (mb_list_filter_parse(opt->since, opt->limit, &f, e) < 0)
		return -1;
	if (access(opt->catalog, F_OK) < 0) {
		mb_fail(e, MB_ERR_CATALOG, errno, "no catalog at '%s'", opt->catalog);
		mb_hint(e, "no backup has run with this catalog yet (see --catalog)");
		return -1;
	}
	if (mb_catalog_open(&c, opt->catalog, e) < 0)
		return -1;
	if (opt->output && strcmp(opt->output, "json") == 0)
		rc = mb_catalog_list_json_filtered(c, stdout, &f, e);
	else
		rc = mb_catalog_list_text_filtered(c, stdout, &f, e);
	/* (text only: the JSON stays the array of runs schedulers read) */
	if (rc == 0 && opt->wal_archive && !(opt->output && strcmp(opt->output, "json") == 0))
		mb_wal_archive_summary(opt);
	mb_catalog_close(c);
	return rc;
}
