/*
 * `mbackup restore`: the whole image read in order, or single files
 * (--file) reached by seeking straight to their members.  Every file's
 * checksum is compared with the trailer's; a file that does not match is
 * removed again, so no silently damaged data stays under its name.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/path.h"
#include "image/image.h"
#include "orchestrator/commands.h"
#include "orchestrator/restore_set.h"
#include "orchestrator/restore_target.h"
#include "plugins/media/media.h"

#define RESTORE_BUF (1 << 20)

struct restore {
	struct mb_image_reader *reader;
	const struct mb_index *index;
	struct mb_target *target;
	char *buf;
	/* checksums of the files restored, compared with the trailer's */
	struct mb_trailer_entry *got;
	const char **got_path;
	size_t n_got;
	uint64_t entries, files, bytes;
};

/* Copies the current member's data into a new file, hashing it. */
static int restore_data(struct restore *rs, const struct mb_entry *ent,
			const char *as_path, struct mb_error *e)
{
	struct mb_entry meta = *ent;
	struct mb_hash h;
	ssize_t n;
	int fd = -1;

	meta.path = (char *)as_path;
	meta.type = MB_T_FILE;
	if (mb_target_create_file(rs->target, &meta, &fd, e) < 0)
		return -1;
	mb_hash_init(&h);
	while ((n = mb_image_read(rs->reader, rs->buf, RESTORE_BUF, e)) > 0) {
		mb_hash_update(&h, rs->buf, n);
		if (mb_target_write(rs->target, fd, rs->buf, n, e) < 0) {
			close(fd);
			return -1;
		}
		rs->bytes += n;
	}
	if (n < 0 || mb_target_finish_file(rs->target, fd, &meta, e) < 0) {
		if (n < 0)
			close(fd);
		return -1;
	}
	rs->got[rs->n_got].offset = ent->image_offset;
	mb_hash_final_hex(&h, rs->got[rs->n_got].hash);
	rs->got_path[rs->n_got++] = as_path;
	rs->files++;
	return 0;
}

/* Compares every restored file with the trailer; removes the ones that do
 * not match and fails naming the first. */
static int check_against_trailer(struct restore *rs, const struct mb_trailer *t,
				 struct mb_error *e)
{
	int rc = 0;

	for (size_t i = 0; i < rs->n_got; i++) {
		const char *want = mb_trailer_hash_at(t, rs->got[i].offset);

		if (want && strcmp(want, rs->got[i].hash) == 0)
			continue;
		mb_error_log("checksum mismatch in '%s' (member at offset %llu): removed",
			     rs->got_path[i], (unsigned long long)rs->got[i].offset);
		mb_target_remove(rs->target, rs->got_path[i], NULL);
		if (rc == 0)
			mb_fail(e, MB_ERR_CORRUPT, 0, "checksum mismatch in '%s' (member at offset %llu)",
				rs->got_path[i], (unsigned long long)rs->got[i].offset);
		rc = -1;
	}
	return rc;
}

static const struct mb_entry *find_entry(const struct mb_index *ix, const char *path,
					 size_t *at)
{
	for (size_t i = 0; i < ix->n; i++)
		if (strcmp(ix->v[i].ent.path, path) == 0) {
			*at = i;
			return &ix->v[i].ent;
		}
	return NULL;
}

/* One entry of the index restored by seeking to its member; a hard link
 * is restored as a file with the data of its first name. */
static int restore_one(struct restore *rs, const char *path, struct mb_error *e)
{
	const struct mb_entry *ent;
	struct mb_member m = { 0 };
	size_t i, data_i;
	int rc;

	if (!(ent = find_entry(rs->index, path, &i))) {
		mb_fail(e, MB_ERR_NOT_FOUND, 0, "'%s' is not in the image", path);
		mb_hint(e, "mbackup ls --from IMAGE lists what it holds");
		return -1;
	}
	rs->entries++;
	data_i = i;
	if (ent->type == MB_T_HARDLINK && !find_entry(rs->index, ent->link_target, &data_i))
		return mb_fail(e, MB_ERR_CORRUPT, 0, "hard link '%s' points to '%s', which is not in the image",
			       path, ent->link_target);
	if (ent->type != MB_T_FILE && ent->type != MB_T_HARDLINK)
		return mb_target_make(rs->target, ent, e);
	if (mb_image_seek(rs->reader, data_i, e) < 0 || mb_image_next(rs->reader, &m, e) != 1)
		return -1;
	mb_member_free(&m);
	rc = restore_data(rs, &rs->index->v[data_i].ent, ent->path, e);
	return rc;
}

/* The whole image, member by member, in order. */
static int restore_all(struct restore *rs, struct mb_error *e)
{
	struct mb_member m;
	size_t i = 0;
	int rc;

	while ((rc = mb_image_next(rs->reader, &m, e)) == 1) {
		const struct mb_entry *ent = NULL;

		while (i < rs->index->n && rs->index->v[i].ent.image_offset != m.offset)
			i++;
		mb_member_free(&m);
		if (i == rs->index->n)
			return mb_fail(e, MB_ERR_CORRUPT, 0, "member at offset %llu is not in the index",
				       (unsigned long long)m.offset);
		ent = &rs->index->v[i++].ent;
		rs->entries++;
		if (ent->type == MB_T_FILE)
			rc = restore_data(rs, ent, ent->path, e);
		else
			rc = mb_target_make(rs->target, ent, e);
		if (rc < 0)
			return -1;
	}
	return rc;
}

static void restore_report(const struct mb_options *opt, struct restore *rs,
			   const struct mb_media_in *m)
{
	uint64_t read = mb_image_bytes_read(rs->reader), recs = 0, rsize = 0;

	mb_media_read_stats(m, &recs, &rsize);
	if (rsize)
		mb_info("tape: read %llu records of %llu bytes (the image has %llu)",
			(unsigned long long)recs, (unsigned long long)rsize,
			(unsigned long long)(rs->index->image_size / rsize));
	if (opt->output && strcmp(opt->output, "json") == 0 && rsize)
		printf("{\"entries\":%llu,\"files\":%llu,\"bytes\":%llu,\"image_bytes_read\":%llu,"
		       "\"image_size\":%llu,\"tape_records_read\":%llu,\"tape_record_size\":%llu}\n",
		       (unsigned long long)rs->entries, (unsigned long long)rs->files,
		       (unsigned long long)rs->bytes, (unsigned long long)read,
		       (unsigned long long)rs->index->image_size, (unsigned long long)recs,
		       (unsigned long long)rsize);
	else if (opt->output && strcmp(opt->output, "json") == 0)
		printf("{\"entries\":%llu,\"files\":%llu,\"bytes\":%llu,\"image_bytes_read\":%llu,"
		       "\"image_size\":%llu}\n",
		       (unsigned long long)rs->entries, (unsigned long long)rs->files,
		       (unsigned long long)rs->bytes, (unsigned long long)read,
		       (unsigned long long)rs->index->image_size);
	else
		printf("restored %llu entries (%llu bytes) to '%s'; read %llu of %llu image bytes\n",
		       (unsigned long long)rs->entries, (unsigned long long)rs->bytes, opt->to,
		       (unsigned long long)read, (unsigned long long)rs->index->image_size);
}

static int restore_run(const struct mb_options *opt, struct restore *rs, struct mb_error *e)
{
	const struct mb_trailer *t;
	size_t i;

	/* Check every requested name before restoring any of them. */
	for (i = 0; i < opt->files.n; i++)
		if (!find_entry(rs->index, opt->files.v[i], &(size_t){ 0 })) {
			mb_fail(e, MB_ERR_NOT_FOUND, 0, "'%s' is not in the image", opt->files.v[i]);
			mb_hint(e, "mbackup ls --from IMAGE lists what it holds");
			return -1;
		}
	if (mb_make_parents(opt->to, MB_ERR_TARGET, e) < 0 ||
	    mb_target_open(&rs->target, opt->to, opt->force, e) < 0)
		return -1;
	for (i = 0; i < opt->files.n; i++)
		if (restore_one(rs, opt->files.v[i], e) < 0)
			return -1;
	if (opt->files.n == 0 && restore_all(rs, e) < 0)
		return -1;
	if (!(t = mb_image_trailer(rs->reader, e)) || check_against_trailer(rs, t, e) < 0)
		return -1;
	return 0;
}

/* Several images (a set written to several devices), or one image that
 * belongs to such a set: reassembled by orchestrator/restore_set.c. */
static int restore_set(const struct mb_options *opt, struct mb_error *e)
{
	struct mb_set_restore_opts o = {
		.media = (const char *const *)opt->froms.v, .n_media = opt->froms.n,
		.to = opt->to, .force = opt->force,
		.files = (const char *const *)opt->files.v, .n_files = opt->files.n,
		.report = stdout,
	};
	struct mb_set_stats st = { 0 };
	int rc = mb_set_restore(&o, &st, e);

	if (rc == 0 || e->code == MB_ERR_PARTIAL) {
		if (opt->output && strcmp(opt->output, "json") == 0)
			printf("{\"images\":%llu,\"entries\":%llu,\"files\":%llu,\"bytes\":%llu,"
			       "\"missing\":%llu}\n", (unsigned long long)st.images,
			       (unsigned long long)st.entries, (unsigned long long)st.files,
			       (unsigned long long)st.bytes, (unsigned long long)st.missing);
		else
			printf("restored %llu entries (%llu bytes) from %llu image(s) to '%s'%s\n",
			       (unsigned long long)st.entries, (unsigned long long)st.bytes,
			       (unsigned long long)st.images, opt->to,
			       st.missing ? "; some items are missing (listed above)" : "");
	}
	return rc;
}

int mb_cmd_restore(const struct mb_options *opt, struct mb_error *e)
{
	struct restore rs = { 0 };
	struct mb_media_in *m = NULL;
	const char *name;
	int rc = -1;

	if (!opt->to) {
		mb_fail(e, MB_ERR_USAGE, 0, "missing --to");
		mb_hint(e, "give the directory to restore into: --to DIR");
		return -1;
	}
	if (opt->froms.n > 1 || mb_image_is_set_member(opt->from))
		return restore_set(opt, e);
	if (mb_open_image_arg(opt, NULL, &m, e) < 0)
		return -1;
	name = m->name;
	if (mb_image_open(&rs.reader, mb_media_input(m), e) < 0)
		goto out;
	rs.index = mb_image_index(rs.reader);
	rs.buf = malloc(RESTORE_BUF);
	rs.got = calloc(rs.index->n + 1, sizeof(*rs.got));
	rs.got_path = calloc(rs.index->n + 1, sizeof(*rs.got_path));
	if (!rs.buf || !rs.got || !rs.got_path) {
		mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to restore '%s'", name);
		goto out;
	}
	rc = restore_run(opt, &rs, e);
	if (rs.target && mb_target_close(rs.target, rc == 0 ? e : NULL) < 0)
		rc = -1;
	rs.target = NULL;
	if (rc == 0)
		restore_report(opt, &rs, m);
out:
	if (rs.target)
		mb_target_close(rs.target, NULL);
	mb_image_close(rs.reader);
	mb_media_close(m);
	free(rs.buf);
	free(rs.got);
	free(rs.got_path);
	return rc;
}
