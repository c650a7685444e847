/*
 * `mbackup restore`: the set the --from images make (restore_set.h; one
 * image is a set of one), everything or single files (--file).  The work
 * is a list of jobs in image order: a whole restore reads each image in
 * order, --file seeks straight to each member where the image can seek.
 * A segmented file is created once and each piece written at its offset.
 * Every piece's checksum is compared with its image's trailer at the end
 * (an image read in order has its trailer last).  Until then a file waits
 * in the target's staging directory (restore_staging.h): it is renamed to
 * its name only once every piece matched, and hard links to it are made
 * after that.  An image given that is cut short where that is known
 * before reading (restore_set.h) is refused before the target is made.
 * A restore that stops early (a damaged member, a pipe that ends) or
 * finds a mismatch publishes nothing it could not check and lists every
 * entry it did not restore, one line each.
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
#include "orchestrator/progress.h"
#include "orchestrator/restore_chain.h"
#include "orchestrator/restore_pitr.h"
#include "orchestrator/restore_set.h"
#include "orchestrator/restore_target.h"

#define RESTORE_BUF (1u << 20)

enum out_state {
	OUT_NONE,		/* not begun */
	OUT_OPEN,		/* pieces being written (staged) */
	OUT_STAGED,		/* written whole, its checksums not yet checked */
	OUT_DAMAGED,		/* a piece did not match its trailer */
	OUT_DONE,		/* checked and published under its name */
};

/* A file being restored, its pieces written as they come. */
struct out_file {
	const char *as;		/* its name in the target */
	int fd;
	size_t id;		/* its staged file (mb_target_publish) */
	uint64_t left;		/* bytes of pieces still due */
	size_t unchecked;	/* pieces read, not yet compared with a trailer */
	enum out_state state;
	bool reported;		/* listed as not restored */
};

/* One item to restore, under the name as, into outs[out] (a file). */
struct job {
	size_t item;		/* in set.w */
	size_t out;
	const char *as;
	size_t order;		/* as asked, to keep ties stable */
	bool done;		/* not a file: made */
};

/* A piece's checksum, compared with its image's trailer at the end. */
struct got {
	size_t img, out;
	uint64_t offset;
	char hash[MB_HASH_HEX_LEN + 1];
};

struct restore {
	const struct mb_set_restore_opts *o;
	struct mb_image_set set;
	struct mb_target *tg;
	char *buf;
	struct job *jobs;
	size_t n_jobs, cap_jobs;
	struct out_file *outs;	/* set.nw by head item, then one per name */
	size_t n_outs;
	const char **names;	/* --file, a directory expanded (expand_files) */
	size_t n_names;
	struct got *got;
	size_t n_got;
	bool walk;		/* everything: read each image in order */
	struct mb_set_stats *st;
	struct mb_progress *progress;	/* of the file bytes the jobs write */
};

static const struct mb_entry *entry_of(const struct restore *rs, const struct mb_set_item *w)
{
	return &rs->set.v[w->img].idx->v[w->entry].ent;
}

static int add_job(struct restore *rs, size_t item, size_t out, const char *as,
		   struct mb_error *e)
{
	if (rs->n_jobs == rs->cap_jobs) {
		size_t cap = rs->cap_jobs ? 2 * rs->cap_jobs : 1024;
		struct job *v = realloc(rs->jobs, cap * sizeof(*v));

		if (!v)
			return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to restore '%s'", as);
		rs->jobs = v;
		rs->cap_jobs = cap;
	}
	rs->jobs[rs->n_jobs] = (struct job){ item, out, as, rs->n_jobs, false };
	rs->n_jobs++;
	return 0;
}

/* Puts image m's reader on entry k's member: by walking on, or by seeking
 * where the image can seek and walking would not do. */
static int reach(struct mb_set_image *m, size_t k, bool walk, struct mb_error *e)
{
	struct mb_member mem;
	int rc;

	if (m->next != k && (m->next > k || (m->seekable && !walk))) {
		if (mb_image_seek(m->r, k, e) < 0)
			return -1;
		m->next = k;
	}
	do {
		if ((rc = mb_image_next(m->r, &mem, e)) <= 0)
			return rc < 0 ? -1 : mb_fail(e, MB_ERR_CORRUPT, 0, "member of entry %zu "
						     "is missing in image '%s'", k, m->name);
		mb_member_free(&mem);
	} while (m->next++ < k);
	return 0;
}

static int open_out(struct restore *rs, struct out_file *f, const struct mb_entry *t,
		    const char *as, struct mb_error *e)
{
	struct mb_entry meta = *t;

	meta.path = (char *)as;
	meta.seg_offset = 0;
	meta.seg_length = t->size;
	f->as = as;
	if (mb_target_create_file(rs->tg, &meta, &f->fd, &f->id, e) < 0)
		return -1;
	f->left = t->size;
	f->state = OUT_OPEN;
	return 0;
}

static int finish_out(struct restore *rs, struct out_file *f, const struct mb_entry *t,
		      struct mb_error *e)
{
	struct mb_entry meta = *t;
	int fd = f->fd;

	meta.path = (char *)f->as;
	meta.seg_offset = 0;
	meta.seg_length = t->size;
	f->fd = -1;
	if (mb_target_finish_file(rs->tg, fd, &meta, e) < 0)
		return -1;
	f->state = OUT_STAGED;
	return 0;
}

/* The current member's data into its file at its offset. */
static int restore_piece(struct restore *rs, const struct job *j, struct mb_error *e)
{
	const struct mb_set_item *w = &rs->set.w[j->item];
	struct mb_set_image *m = &rs->set.v[w->img];
	const struct mb_entry *t = entry_of(rs, w);
	struct out_file *f = &rs->outs[j->out];
	struct got *g = &rs->got[rs->n_got];
	ssize_t n;

	if (f->state == OUT_NONE && open_out(rs, f, t, j->as, e) < 0)
		return -1;
	if (f->fd < 0 || t->seg_length > f->left)
		return mb_fail(e, MB_ERR_CORRUPT, 0, "pieces of '%s' overlap in the set", t->path);
	if (mb_target_seek(rs->tg, f->fd, t->seg_offset, e) < 0)
		return -1;
	mb_progress_add(rs->progress, 0, j->as);
	while ((n = mb_image_read(m->r, rs->buf, RESTORE_BUF, e)) > 0) {
		if (mb_target_write(rs->tg, f->fd, rs->buf, (size_t)n, e) < 0)
			return -1;
		rs->st->bytes += (uint64_t)n;
		mb_progress_add(rs->progress, (uint64_t)n, NULL);
	}
	if (n < 0 || !mb_image_data_hash(m->r))
		return n < 0 ? -1 : mb_fail(e, MB_ERR_INTERNAL, 0, "'%s' not read whole", t->path);
	*g = (struct got){ (size_t)w->img, j->out, t->image_offset, "" };
	memcpy(g->hash, mb_image_data_hash(m->r), sizeof(g->hash));
	rs->n_got++;
	f->unchecked++;
	f->left -= t->seg_length;
	return f->left == 0 ? finish_out(rs, f, t, e) : 0;
}

static int run_job(struct restore *rs, struct job *j, struct mb_error *e)
{
	const struct mb_set_item *w = &rs->set.w[j->item];
	const struct mb_entry *t = entry_of(rs, w);

	if (t->type == MB_T_HARDLINK)	/* once its first name is published */
		return 0;
	if (t->type != MB_T_FILE) {
		if (mb_target_make(rs->tg, t, e) < 0)
			return -1;
		rs->st->entries++;
		j->done = true;
		return 0;
	}
	if (reach(&rs->set.v[w->img], w->entry, rs->walk, e) < 0)
		return -1;
	return restore_piece(rs, j, e);
}

/* Image m's trailer: read on to it when m is read in order (walk, or an
 * image that cannot seek: a tape is not rewound to reach it). */
static const struct mb_trailer *trailer_of(struct mb_set_image *m, bool walk,
					   struct mb_error *e)
{
	struct mb_member mem;
	int rc;

	while ((walk || !m->seekable) && (rc = mb_image_next(m->r, &mem, e)) != 0) {
		if (rc < 0)
			return NULL;
		mb_member_free(&mem);
	}
	return mb_image_trailer(m->r, e);
}

/* After job i, the last of its image: that image is read on to its
 * trailer now, while the medium is there (a tape's head goes on to the
 * next image, not back for it).  A failure is check_pieces' to report. */
static void read_on(struct restore *rs, size_t i)
{
	long img = rs->set.w[rs->jobs[i].item].img;
	struct mb_error later = { 0 };

	if (i + 1 < rs->n_jobs && rs->set.w[rs->jobs[i + 1].item].img == img)
		return;
	if (img >= 0 && rs->set.v[img].usable)
		trailer_of(&rs->set.v[img], true, &later);
}

/* Every piece against its image's trailer; a file with a piece that does
 * not match is not published, and the first is named. */
static int check_pieces(struct restore *rs, struct mb_error *e)
{
	const struct mb_trailer *t = NULL;
	size_t img = SIZE_MAX;
	int rc = 0;

	for (size_t i = 0; i < rs->set.n; i++)	/* an image read in order is read whole */
		if (rs->walk && rs->set.v[i].usable && !trailer_of(&rs->set.v[i], true, e))
			return -1;
	for (size_t k = 0; k < rs->n_got; k++) {
		const struct got *g = &rs->got[k];
		const char *want, *as = rs->outs[g->out].as;

		if (g->img != img && !(t = trailer_of(&rs->set.v[img = g->img], false, e)))
			return -1;
		want = mb_trailer_hash_at(t, g->offset);
		if (want && strcmp(want, g->hash) == 0) {
			rs->outs[g->out].unchecked--;
			continue;
		}
		rs->outs[g->out].state = OUT_DAMAGED;
		mb_error_log("checksum mismatch in '%s' (member at offset %llu): not restored",
			     as, (unsigned long long)g->offset);
		if (rc == 0 && rs->set.n == 1)
			mb_fail(e, MB_ERR_CORRUPT, 0, "checksum mismatch in '%s' (member at offset "
				"%llu)", as, (unsigned long long)g->offset);
		else if (rc == 0)
			mb_fail(e, MB_ERR_CORRUPT, 0, "checksum mismatch in '%s' (member at offset "
				"%llu of image '%s')", as, (unsigned long long)g->offset,
				rs->set.v[g->img].name);
		rc = -1;
	}
	return rc;
}

/* Every file whose pieces all matched goes under its name (after a
 * failure too: a file checked whole is good whatever else failed). */
static int publish(struct restore *rs, size_t n_outs, struct mb_error *e)
{
	int rc = 0;

	for (size_t i = 0; i < n_outs; i++) {
		struct out_file *f = &rs->outs[i];

		if (f->state != OUT_STAGED || f->unchecked)
			continue;
		if (mb_target_publish(rs->tg, f->id, e) < 0) {
			rc = -1;
			continue;
		}
		f->state = OUT_DONE;
		rs->st->files++;
		rs->st->entries++;
	}
	return rc;
}

/* The first name of a hard link job, NULL unless it is published. */
static const struct out_file *link_first(const struct restore *rs, const struct job *j)
{
	const struct mb_set_item *to = mb_set_first(&rs->set, mb_entry_link(entry_of(rs, &rs->set.w[j->item])));

	return to && rs->outs[to->head].state == OUT_DONE ? &rs->outs[to->head] : NULL;
}

/* A hard link whose first name is a file of the set not published
 * (damaged or unchecked): left out, so none keeps such bytes. */
static bool link_held_back(const struct restore *rs, const struct job *j)
{
	const struct mb_set_item *to = mb_set_first(&rs->set, mb_entry_link(entry_of(rs, &rs->set.w[j->item])));

	return to && to->type == MB_T_FILE && !link_first(rs, j);
}

/* Hard links, to first names published only.  A link whose first name is
 * no file of the set (outside the target, through a symlink, a directory)
 * still goes to the target, whose checks refuse it as they always did. */
static int make_links(struct restore *rs, struct mb_error *e)
{
	int rc = 0;

	for (size_t i = 0; i < rs->n_jobs; i++) {
		struct job *j = &rs->jobs[i];
		const struct mb_set_item *w = &rs->set.w[j->item];

		if (w->type != MB_T_HARDLINK || w->img < 0 || link_held_back(rs, j))
			continue;
		if (mb_target_make(rs->tg, entry_of(rs, w), e) < 0) {
			rc = -1;
			continue;
		}
		j->done = true;
		rs->st->entries++;
	}
	return rc;
}

/* Why job j's entry is not in the target, or NULL (it is). */
static const char *why_not(struct restore *rs, const struct job *j)
{
	const struct mb_set_item *w = &rs->set.w[j->item];
	struct out_file *f = &rs->outs[j->out];

	if (w->type == MB_T_HARDLINK && !j->done && !link_first(rs, j))
		return "its first name is not restored";
	if (w->type != MB_T_FILE)
		return j->done ? NULL : "the restore stopped before it";
	if (f->reported || f->state == OUT_DONE)
		return NULL;
	f->reported = true;
	switch (f->state) {
	case OUT_STAGED:
		return f->unchecked ? "its checksum could not be checked (the restore stopped "
		       "before the trailer)" : "it could not be put under its name";
	case OUT_DAMAGED:
		return "its checksum does not match";
	default:
		return "the restore stopped before it was read whole";
	}
}

/* One line per entry asked for and not restored, as the set's
 * "cannot restore" lines (the error itself says why the restore failed). */
static void report_unrestored(struct restore *rs, FILE *report)
{
	for (size_t i = 0; report && i < rs->n_jobs; i++) {
		const char *why = why_not(rs, &rs->jobs[i]);
		char *p;

		if (!why)
			continue;
		p = mb_image_printable(rs->jobs[i].as);
		fprintf(report, "cannot restore '%s': %s\n", p ? p : "?", why);
		free(p);
	}
}

/* ---- what to restore ---- */

/* Everything: directories first (every image holds them all), then the
 * items image by image in image order, hard links last (their first
 * name may come from another image); nothing of a file with a missing
 * piece, no link to such a file. */
static int plan_all(struct restore *rs, struct mb_error *e)
{
	const struct mb_index *ix0 = rs->set.v[0].idx;

	for (size_t k = 0; k < ix0->n; k++)
		if (ix0->v[k].ent.type == MB_T_DIR) {
			if (mb_target_make(rs->tg, &ix0->v[k].ent, e) < 0)
				return -1;
			rs->st->entries++;
		}
	for (int links = 0; links < 2; links++)
		for (size_t i = 0; i < rs->set.n; i++)
			for (size_t k = 0; k < rs->set.v[i].idx->n; k++) {
				const struct mb_entry *t = &rs->set.v[i].idx->v[k].ent;
				struct mb_set_item *w = mb_set_find(&rs->set, t->path, t->seg_offset);
				struct mb_set_item *to = links && t->type == MB_T_HARDLINK ?
					mb_set_first(&rs->set, mb_entry_link(t)) : NULL;

				if (!w || w->img != (long)i || w->entry != k || w->skip ||
				    (t->type == MB_T_HARDLINK) != links || (to && to->skip))
					continue;
				if (add_job(rs, (size_t)(w - rs->set.w), w->head, t->path, e) < 0)
					return -1;
			}
	return 0;
}

static const struct mb_entry *find_dir(const struct restore *rs, const char *path)
{
	const struct mb_index *ix0 = rs->set.v[0].idx;

	for (size_t k = 0; k < ix0->n; k++)
		if (ix0->v[k].ent.type == MB_T_DIR && strcmp(ix0->v[k].ent.path, path) == 0)
			return &ix0->v[k].ent;
	return NULL;
}

/* The first name of a hard link held by an image, or NULL. */
static struct mb_set_item *link_to(const struct restore *rs, const struct mb_set_item *w,
				   struct mb_error *e)
{
	const struct mb_entry *t;
	struct mb_set_item *to;

	if (w->type != MB_T_HARDLINK || w->img < 0)
		return NULL;
	t = entry_of(rs, w);
	if (!(to = mb_set_first(&rs->set, mb_entry_link(t))))
		mb_fail(e, MB_ERR_CORRUPT, 0, "hard link '%s' points to '%s', which is "
			"not in the image", w->path, mb_entry_link(t));
	return to;
}

static bool below(const char *path, const char *dir, size_t len)
{
	return strncmp(path, dir, len) == 0 && path[len] == '/';
}

/* --file names, each checked; a directory stands for itself and everything
 * below it (its subdirectories in index order, then the set's items), as a
 * DBA means --file base/16384: that database's files. */
static int expand_files(struct restore *rs, struct mb_error *e)
{
	const struct mb_set_restore_opts *o = rs->o;
	const struct mb_index *ix0 = rs->set.v[0].idx;
	size_t cap = o->n_files + 1;
	bool *seen = NULL;	/* a file named twice (a directory and a file in it) once */

	for (size_t f = 0; f < o->n_files; f++) {
		if (!mb_set_first(&rs->set, o->files[f]) && !find_dir(rs, o->files[f]))
			return mb_set_not_found(&rs->set, o->files[f], e);
		if (find_dir(rs, o->files[f]))
			cap += ix0->n + rs->set.nw;
	}
	rs->names = calloc(cap, sizeof(*rs->names));
	seen = calloc(rs->set.nw + 1, sizeof(*seen));
	if (!rs->names || !seen) {
		free(seen);
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to restore to '%s'", o->to);
	}
	for (size_t f = 0; f < o->n_files; f++) {
		const char *name = o->files[f];
		const struct mb_set_item *w = mb_set_first(&rs->set, name);
		size_t len = strlen(name);

		if (w && seen[w->head])
			continue;
		if (w)
			seen[w->head] = true;
		rs->names[rs->n_names++] = name;
		if (!find_dir(rs, name))
			continue;
		for (size_t k = 0; k < ix0->n; k++)
			if (ix0->v[k].ent.type == MB_T_DIR && below(ix0->v[k].ent.path, name, len))
				rs->names[rs->n_names++] = ix0->v[k].ent.path;
		for (size_t i = 0; i < rs->set.nw; i++)
			if (rs->set.w[i].head == i && !seen[i] && below(rs->set.w[i].path, name, len)) {
				seen[i] = true;
				rs->names[rs->n_names++] = rs->set.w[i].path;
			}
	}
	free(seen);
	return 0;
}

/* The pieces of w's file, restored as name into outs[out]. */
static int add_file(struct restore *rs, const struct mb_set_item *w, size_t out,
		    const char *name, struct mb_error *e)
{
	for (size_t i = (size_t)(w - rs->set.w); i < rs->set.nw && rs->set.w[i].head == w->head; i++)
		if (!rs->set.w[i].skip && add_job(rs, i, out, name, e) < 0)
			return -1;
	return 0;
}

/* --file (expanded): a hard link is a link again when its first name is
 * restored too, else a file with its first name's data. */
static int plan_files(struct restore *rs, struct mb_error *e)
{
	bool *want = calloc(rs->set.nw + 1, sizeof(*want));
	int rc = -1;

	if (!want)
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to restore to '%s'", rs->o->to);
	for (size_t f = 0; f < rs->n_names; f++) {
		struct mb_set_item *w = mb_set_first(&rs->set, rs->names[f]);

		if (w && w->type == MB_T_FILE)
			want[w->head] = true;
	}
	for (size_t f = 0; f < rs->n_names; f++) {
		const char *name = rs->names[f];
		struct mb_set_item *w = mb_set_first(&rs->set, name), *to;

		if (!w) {
			if (mb_target_make(rs->tg, find_dir(rs, name), e) < 0)
				goto out;
			rs->st->entries++;
			continue;
		}
		if ((to = link_to(rs, w, e)) && want[to->head]) {
			if (add_job(rs, (size_t)(w - rs->set.w), w->head, name, e) < 0)
				goto out;
		} else if (to) {
			if (add_file(rs, to, rs->set.nw + f, name, e) < 0)
				goto out;
		} else if (e->code || add_file(rs, w, w->head, name, e) < 0) {
			goto out;
		}
	}
	rc = 0;
out:
	free(want);
	return rc;
}

/* Missing pieces of what is asked: every name and the first names of
 * the hard links among them. */
static uint64_t missing(struct restore *rs, FILE *report, struct mb_error *e)
{
	const char **names = calloc(2 * rs->n_names + 1, sizeof(*names));
	size_t n = 0;
	uint64_t count;

	if (!names)
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to restore"), 0;
	for (size_t f = 0; f < rs->n_names; f++) {
		struct mb_set_item *w = mb_set_first(&rs->set, rs->names[f]);

		names[n++] = rs->names[f];
		if (w && w->type == MB_T_HARDLINK && w->img >= 0)
			names[n++] = mb_entry_link(entry_of(rs, w));
	}
	count = mb_set_missing(&rs->set, report, names, n);
	free(names);
	return count;
}

static int cmp_job(const void *a, const void *b, void *arg)
{
	const struct job *x = a, *y = b;
	const struct mb_set_item *w = arg, *p = &w[x->item], *q = &w[y->item];

	if (p->img != q->img)
		return p->img < q->img ? -1 : 1;
	if (p->entry != q->entry)
		return p->entry < q->entry ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

/* ---- the run ---- */

/* The progress of the restore over the file bytes its jobs write (the
 * index's sizes: everything, or what --file asked for). */
static int start_progress(struct restore *rs, struct mb_error *e)
{
	uint64_t total = 0;

	if (!rs->o->opt)
		return 0;
	for (size_t i = 0; i < rs->n_jobs; i++) {
		const struct mb_entry *t = entry_of(rs, &rs->set.w[rs->jobs[i].item]);

		if (t->type == MB_T_FILE)
			total += t->seg_length;
	}
	return mb_progress_start(&rs->progress, rs->o->opt, "restore", total, e);
}

static int prepare(struct restore *rs, FILE *report, struct mb_error *e)
{
	const struct mb_set_restore_opts *o = rs->o;
	size_t n_outs;

	if (mb_set_open(&rs->set, o->opt, o->media, o->n_media, MB_SET_TRAILERS, e) < 0 ||
	    mb_chain_check_set(&rs->set, o->chain_link, e) < 0)
		return -1;
	rs->st->images = rs->set.n;
	rs->st->devices = rs->set.devices;
	for (size_t i = 0; i < rs->set.n; i++)
		rs->st->image_bytes += rs->set.v[i].idx->image_size;
	if (o->n_files && expand_files(rs, e) < 0)	/* names checked before the target */
		return -1;
	rs->st->missing = missing(rs, report, e);	/* then an image cut short is refused */
	if (e->code || mb_set_refuse_broken(&rs->set, !o->n_files, rs->st->missing, e) < 0)
		return -1;
	n_outs = rs->n_outs = rs->set.nw + rs->n_names + 1;
	rs->buf = malloc(RESTORE_BUF);
	rs->outs = calloc(n_outs, sizeof(*rs->outs));
	if (!rs->buf || !rs->outs)
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to restore to '%s'", o->to);
	for (size_t i = 0; i < n_outs; i++)
		rs->outs[i].fd = -1;
	rs->walk = o->n_files == 0;
	return 0;
}

static int restore_run(struct restore *rs, struct mb_error *e)
{
	const struct mb_set_restore_opts *o = rs->o;

	if (mb_make_parents(o->to, MB_ERR_TARGET, e) < 0 ||
	    mb_target_open(&rs->tg, o->to, o->force, e) < 0)
		return -1;
	if ((o->n_files ? plan_files(rs, e) : plan_all(rs, e)) < 0)
		return -1;
	if (rs->n_jobs)	/* (qsort_r of NULL is undefined, even of none) */
		qsort_r(rs->jobs, rs->n_jobs, sizeof(*rs->jobs), cmp_job, rs->set.w);
	rs->got = calloc(rs->n_jobs + 1, sizeof(*rs->got));
	if (!rs->got)
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to restore to '%s'", o->to);
	if (start_progress(rs, e) < 0)
		return -1;
	for (size_t i = 0; i < rs->n_jobs; i++) {
		if (run_job(rs, &rs->jobs[i], e) < 0)
			return -1;
		if (rs->walk)
			read_on(rs, i);
	}
	if (check_pieces(rs, e) < 0) {
		publish(rs, rs->n_outs, e);	/* the good ones (the error stays) */
		make_links(rs, e);
		return -1;
	}
	if (publish(rs, rs->n_outs, e) < 0)
		return -1;
	return make_links(rs, e);
}

int mb_set_restore(const struct mb_set_restore_opts *o, struct mb_set_stats *st,
		   struct mb_error *e)
{
	struct restore rs = { .o = o, .st = st };
	int rc = -1;

	memset(st, 0, sizeof(*st));
	if (prepare(&rs, o->report, e) < 0)
		goto out;
	rc = restore_run(&rs, e);
	mb_progress_end(rs.progress, rc == 0);	/* (before the lines that follow) */
	rs.progress = NULL;
	if (rc < 0) {
		report_unrestored(&rs, o->report);
		goto out;
	}
	rc = rs.set.incomplete ? mb_set_incomplete(&rs.set, e) :
	     st->missing ? mb_set_partial(&rs.set, st->missing, e) : 0;
out:
	for (size_t i = 0; rs.outs && i < rs.n_outs; i++)	/* left incomplete: the target */
		if (rs.outs[i].fd >= 0)		/* drops what it did not publish */
			close(rs.outs[i].fd);
	if (rs.tg && mb_target_close(rs.tg, rc == 0 ? e : NULL) < 0)
		rc = -1;
	for (size_t i = 0; i < rs.set.n; i++)
		st->image_bytes_read += mb_image_bytes_read(rs.set.v[i].r);
	mb_set_read_stats(&rs.set, &st->records, &st->record_size);
	mb_set_close(&rs.set);
	free(rs.buf);
	free(rs.outs);
	free(rs.jobs);
	free(rs.got);
	free(rs.names);
	return rc;
}

static void json_set_u64(json_t *o, const char *key, uint64_t v)
{
	json_object_set_new(o, key, json_integer((json_int_t)v));
}

static void restore_report(const struct mb_options *opt, const struct mb_set_stats *st,
			   const struct mb_pitr *pitr)
{
	uint64_t recs = st->records, rsize = st->record_size;

	if (rsize)
		mb_info("tape: read %llu records of %llu bytes (the image has %llu)",
			(unsigned long long)recs, (unsigned long long)rsize,
			(unsigned long long)(st->image_bytes / rsize));
	if (opt->output && strcmp(opt->output, "json") == 0) {
		json_t *o = json_object();

		json_set_u64(o, "images", st->images);
		json_set_u64(o, "entries", st->entries);
		json_set_u64(o, "files", st->files);
		json_set_u64(o, "bytes", st->bytes);
		json_set_u64(o, "missing", st->missing);
		json_set_u64(o, "image_bytes_read", st->image_bytes_read);
		json_set_u64(o, "image_size", st->image_bytes);
		if (pitr->point)
			mb_pitr_json(pitr, o);
		if (rsize) {
			json_set_u64(o, "tape_records_read", recs);
			json_set_u64(o, "tape_record_size", rsize);
		}
		json_dumpf(o, stdout, JSON_COMPACT);
		printf("\n");
		json_decref(o);
	} else if (st->images == 1 && st->devices <= 1) {
		printf("restored %llu entries (%llu bytes) to '%s'; read %llu of %llu image bytes\n",
		       (unsigned long long)st->entries, (unsigned long long)st->bytes, opt->to,
		       (unsigned long long)st->image_bytes_read,
		       (unsigned long long)st->image_bytes);
	} else {
		printf("restored %llu entries (%llu bytes) from %llu image(s) to '%s'%s\n",
		       (unsigned long long)st->entries, (unsigned long long)st->bytes,
		       (unsigned long long)st->images, opt->to,
		       st->missing ? "; some items are missing (listed above)" : "");
	}
}

int mb_cmd_restore(const struct mb_options *opt, struct mb_error *e)
{
	struct mb_set_restore_opts o = {
		.media = (const char *const *)opt->froms.v, .n_media = opt->froms.n,
		.to = opt->to, .force = opt->force,
		.files = (const char *const *)opt->files.v, .n_files = opt->files.n,
		.report = stdout, .opt = opt,
	};
	struct mb_set_stats st;
	struct mb_pitr pitr = { 0 };
	struct mb_options local;	/* opt with the chosen tape image's --backup */
	bool pitr_wanted = mb_pitr_wanted(opt);
	int rc;

	if (!opt->to) {
		mb_fail(e, MB_ERR_USAGE, 0, "missing --to");
		mb_hint(e, "give the directory to restore into: --to DIR");
		return -1;
	}
	if (opt->backup && mb_restore_chain_wanted(opt))	/* a catalog backup, through its chain */
		return mb_restore_chain(opt, e);
	/* a point in time: target, backup and archive checked before any write */
	if (pitr_wanted && mb_pitr_prepare(&pitr, opt, e) < 0) {
		mb_pitr_free(&pitr);
		return -1;
	}
	if (pitr_wanted && pitr.chain_id[0]) {	/* an incremental's point */
		local = *opt;
		local.backup = pitr.chain_id;
		rc = mb_restore_chain(&local, e);
		if (rc == 0)
			rc = mb_pitr_finish(&pitr, opt, e);
		mb_pitr_free(&pitr);
		return rc;
	}
	if (pitr_wanted && !opt->froms.n) {
		o.media = (const char *const *)pitr.from;
		o.n_media = pitr.n_from;
	}
	if (pitr.backup_id[0] && !opt->backup) {	/* the chosen image on a tape */
		local = *opt;
		local.backup = pitr.backup_id;
		o.opt = &local;
	}
	rc = mb_set_restore(&o, &st, e);
	/* every file checked and published: now the recovery settings */
	if (rc == 0 && pitr_wanted)
		rc = mb_pitr_finish(&pitr, opt, e);
	if (rc == 0 || e->code == MB_ERR_PARTIAL)
		restore_report(opt, &st, &pitr);
	mb_pitr_free(&pitr);
	return rc;
}
