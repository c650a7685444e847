/*
 * The set ls, verify and restore read (restore_set.h): every image of
 * every medium opened once, checked to be of one backup, and the items
 * of the set collected, sorted by path and segment offset, one per piece.
 */
#include "orchestrator/restore_set.h"

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "orchestrator/commands.h"
#include "plugins/media/media.h"

/* ---- opening ---- */

/* The next image of prev's medium, where earlier images stay readable
 * (a file, an object: rescue images follow the first; a tape: the tape
 * files after it, the head moved back when an earlier one is read, a
 * compressed one read in order); a medium read in order once (standard
 * input, a pipe) gives its first only. */
static int next_image(const struct mb_set_image *prev, struct mb_set_image *out,
		      struct mb_error *e)
{
	int rc;

	if (prev->first_only)
		return 0;
	if ((rc = mb_media_next_image(prev->m, prev->idx->image_size, e)) <= 0)
		return rc;
	out->m = prev->m;
	out->base = prev->m->base;
	return 1;
}

int mb_set_open_image(const struct mb_options *opt, const char *from,
		      const struct mb_set_image *prev, struct mb_set_image *out,
		      struct mb_error *e)
{
	static const struct mb_options defaults;	/* the library callers' */
	int rc;

	memset(out, 0, sizeof(*out));
	if (prev && (rc = next_image(prev, out, e)) <= 0)
		return rc;
	if (!prev) {
		if (mb_open_image_arg(opt ? opt : &defaults, from, &out->m, e) < 0)
			return -1;
		out->owns_medium = true;
	}
	/* standard input is read in order, even from a file */
	out->seekable = !out->m->sequential && strcmp(from, "-") != 0;
	out->first_only = out->m->images == MB_IMAGES_ONE ||
			  (!out->seekable && out->m->images != MB_IMAGES_FILES);
	if (!(out->name = strdup(out->m->name)))
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to read '%s'", from);
	if (!(out->count = mb_progress_input_new(mb_media_input(out->m))))
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to read '%s'", from);
	if (mb_image_open(&out->r, &out->count->in, e) < 0)
		return -1;
	out->idx = out->count->idx = mb_image_index(out->r);
	out->usable = true;
	out->held_known = mb_media_held(out->m, &out->held) == 1;	/* (its image now) */
	return 1;
}

/* A medium outlives every reader of its images: readers first. */
static void close_image(struct mb_set_image *m)
{
	mb_image_close(m->r);
	m->r = NULL;
	free(m->count);
	m->count = NULL;
	free(m->name);
	m->name = NULL;
}

static void close_medium(struct mb_set_image *m)
{
	if (m->owns_medium)
		mb_media_close(m->m);
	memset(m, 0, sizeof(*m));
}

/* An image of a set without its trailer (a device that failed) holds
 * nothing: its items are on the survivors' rescue images.  Only an image
 * that can seek tells before it is read; one of a set of one always holds
 * its items (a damaged one fails as it is read). */
static void check_trailer(struct mb_set_image *m)
{
	if (m->trailer_read || m->idx->meta.device_count <= 1 || !m->seekable)
		return;
	m->usable = mb_image_trailer(m->r, &m->why) != NULL;
	m->next = SIZE_MAX;	/* the reader is past the members */
	m->trailer_read = true;
}

/* Where image byte off lies: "'path'" (the member starting last before
 * it), "the index" or "the trailer". */
static void place_of(const struct mb_index *ix, uint64_t off, char *buf, size_t len)
{
	const char *path = NULL;
	uint64_t best = 0;
	char *p;

	if (off < ix->data_offset || off >= ix->trailer_offset) {
		snprintf(buf, len, off < ix->data_offset ? "the index" : "the trailer");
		return;
	}
	for (size_t k = 0; k < ix->n; k++)
		if (ix->v[k].ent.image_offset <= off && ix->v[k].ent.image_offset >= best)
			path = ix->v[k].ent.path, best = ix->v[k].ent.image_offset;
	p = mb_image_printable(path ? path : "?");
	snprintf(buf, len, "'%s'", p ? p : "?");
	free(p);
}

/* An image its medium holds fewer bytes of than its index says (a file
 * cut short, a compressed one whose whole frames end early) is truncated,
 * seen before anything of it is read: it holds nothing, as a failed
 * device's image (its trailer, which checks every file, is gone). */
static void check_held(struct mb_set_image *m)
{
	char where[1100];

	if (m->trailer_read || !m->held_known || m->held >= m->idx->image_size)
		return;
	place_of(m->idx, m->held, where, sizeof(where));
	m->usable = false;
	m->trailer_read = true;
	mb_fail(&m->why, MB_ERR_TRUNCATED, 0, "image '%s' is truncated: it holds %" PRIu64
		" of its %" PRIu64 " bytes (it ends inside %s)", m->name, m->held,
		m->idx->image_size, where);
	mb_hint(&m->why, "a copy or a write that did not finish: use another copy of the image");
}

/* Image r after image first on one medium is a rescue image of first's
 * backup; an image of another backup (appended after it on a tape) is
 * not read as part of the set. */
static bool rescue_of(const struct mb_set_image *first, const struct mb_set_image *r)
{
	return strcmp(first->idx->meta.backup_id, r->idx->meta.backup_id) == 0 &&
	       r->idx->meta.part > 1;
}

/* A medium: its first image, then every rescue image appended after it
 * (first: its first image only). */
static int load_medium(struct mb_image_set *s, const struct mb_options *opt,
		       const char *from, int flags, struct mb_error *e)
{
	bool first = flags & MB_SET_FIRST_ONLY, defer;
	size_t start = s->n;

	for (;;) {
		struct mb_set_image *nv = realloc(s->v, (s->n + 1) * sizeof(*nv));
		int rc;

		if (!nv)
			return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to read '%s'", from);
		s->v = nv;
		/* restore: an error finding the image after this one waits until
		 * the set shows whether this one failed (then none follows) */
		defer = s->n > start && (flags & MB_SET_TRAILERS);
		/* on a tape, the trailer before the head leaves for the next image */
		if (defer && s->v[s->n - 1].m->images == MB_IMAGES_FILES)
			check_trailer(&s->v[s->n - 1]);
		rc = mb_set_open_image(opt, from, s->n > start ? &s->v[s->n - 1] : NULL,
				       &s->v[s->n], defer ? &s->v[s->n - 1].next_err : e);
		if (rc <= 0) {
			close_image(&s->v[s->n]);
			close_medium(&s->v[s->n]);
			return defer ? 0 : rc;
		}
		if (s->n > start && !rescue_of(&s->v[start], &s->v[s->n])) {
			close_image(&s->v[s->n]);	/* another backup's (a tape) */
			memset(&s->v[s->n], 0, sizeof(s->v[s->n]));
			return 0;
		}
		if (s->n > start)
			s->v[s->n - 1].followed = true;
		if (s->n++ == start && first)
			return 0;
	}
}

/* Same backup, same device count, no image given twice. */
static int check_set(struct mb_image_set *s, struct mb_error *e)
{
	const struct mb_image_meta *m0 = &s->v[0].idx->meta;

	s->devices = m0->device_count;
	for (size_t i = 0; i < s->n; i++) {
		const struct mb_image_meta *m = &s->v[i].idx->meta;
		uint32_t part = m->part ? m->part : 1;

		if (strcmp(m->backup_id, m0->backup_id) != 0 || m->device_count != s->devices)
			return mb_fail(e, MB_ERR_USAGE, 0, "image '%s' belongs to backup %s "
				       "(%" PRIu32 " devices), not to backup %s (%" PRIu32 " devices)",
				       s->v[i].name, m->backup_id, m->device_count,
				       m0->backup_id, s->devices);
		for (size_t j = 0; j < i; j++) {
			const struct mb_image_meta *o = &s->v[j].idx->meta;

			if (o->device_index == m->device_index && (o->part ? o->part : 1) == part)
				return mb_fail(e, MB_ERR_USAGE, 0, "device %" PRIu32 " of backup %s "
					       "is given twice ('%s' and '%s')", m->device_index,
					       m->backup_id, s->v[j].name, s->v[i].name);
		}
	}
	return 0;
}

/* Whether rescue image j, written after device k failed, places no item
 * on image (k, part): its items all moved, so that image is the one that
 * failed (j names where every item of the set lies). */
static bool failed_by(const struct mb_image_meta *j, uint32_t k, uint32_t part)
{
	if (j->part <= 1 || k < 1 || k > 64 || !(j->rescues >> (k - 1) & 1))
		return false;
	for (size_t p = 0; p < j->n_peers; p++)
		if (j->peers[p].device == k && (j->peers[p].part ? j->peers[p].part : 1) == part)
			return false;
	return true;
}

/* An image that cannot seek (a compressed one read in order, standard
 * input) shows whether it has its trailer only once read whole; one that
 * a rescue image of the set says failed holds nothing, and is set aside
 * before anything is read, as a failed image that seeks is. */
static void check_failed(struct mb_image_set *s, struct mb_set_image *m)
{
	const struct mb_image_meta *mt = &m->idx->meta;
	uint32_t part = mt->part ? mt->part : 1;

	for (size_t j = 0; j < s->n && !m->trailer_read && mt->device_count > 1; j++) {
		if (&s->v[j] == m || !failed_by(&s->v[j].idx->meta, mt->device_index, part))
			continue;
		m->usable = false;
		m->trailer_read = true;
		mb_fail(&m->why, MB_ERR_TRUNCATED, 0, "image '%s' is truncated: device %" PRIu32
			" of %" PRIu32 " failed in backup %s (its items are on the rescue image "
			"'%s')", m->name, mt->device_index, mt->device_count, mt->backup_id,
			s->v[j].name);
	}
}

static void check_trailers(struct mb_image_set *s, int flags)
{
	for (size_t i = 0; i < s->n; i++) {
		check_held(&s->v[i]);
		if (!(flags & MB_SET_TRAILERS))
			continue;
		check_trailer(&s->v[i]);
		check_failed(s, &s->v[i]);
	}
}

/* An image alone that holds nothing: nothing of it can be checked. */
static int alone_broken(const struct mb_image_set *s, struct mb_error *e)
{
	const struct mb_set_image *m = &s->v[0];

	mb_fail(e, m->why.code, 0, "%s", m->why.msg);
	mb_hint(e, "%s (nothing was restored)", m->why.hint[0] ? m->why.hint :
		"use another copy of the image");
	return -1;
}

void mb_set_read_stats(const struct mb_image_set *s, uint64_t *records,
		       uint64_t *record_size)
{
	*records = *record_size = 0;
	for (size_t i = 0; i < s->n; i++) {
		uint64_t r, size;

		if (!s->v[i].owns_medium)
			continue;
		mb_media_read_stats(s->v[i].m, &r, &size);
		*records += r;
		if (size)
			*record_size = size;
	}
}

void mb_set_close(struct mb_image_set *s)
{
	for (size_t i = 0; i < s->n; i++)
		close_image(&s->v[i]);
	for (size_t i = 0; i < s->n; i++)
		close_medium(&s->v[i]);
	free(s->v);
	free(s->w);
	memset(s, 0, sizeof(*s));
}

/* ---- the set's items ---- */

static int cmp_item(const void *a, const void *b)
{
	const struct mb_set_item *x = a, *y = b;
	int c = strcmp(x->path, y->path);

	if (c)
		return c;
	if (x->seg_offset != y->seg_offset)
		return x->seg_offset < y->seg_offset ? -1 : 1;
	/* held before named only; then the later image (a rescue) first */
	if ((x->img >= 0) != (y->img >= 0))
		return x->img >= 0 ? -1 : 1;
	return x->part > y->part ? -1 : x->part < y->part ? 1 : 0;
}

static void add_items(struct mb_image_set *s, size_t i)
{
	const struct mb_index *ix = s->v[i].idx;
	uint32_t part = ix->meta.part ? ix->meta.part : 1;

	/* a rescue image cut short still names what it was to hold: missing
	 * through its own damage, not through a device left out */
	bool named = !s->v[i].usable && part > 1;

	for (size_t k = 0; k < ix->n && (s->v[i].usable || named); k++) {
		const struct mb_entry *t = &ix->v[k].ent;

		if (t->type != MB_T_DIR)
			s->w[s->nw++] = (struct mb_set_item){ t->path, t->type, t->size,
				t->seg_offset, t->seg_length, ix->meta.device_index,
				part, named ? -1 : (long)i, k, 0, false };
	}
	for (size_t k = 0; k < ix->meta.n_peers; k++) {
		const struct mb_image_peer *p = &ix->meta.peers[k];

		s->w[s->nw++] = (struct mb_set_item){ p->path, p->type, p->size, p->seg_offset,
			p->seg_length, p->device, p->part, -1, 0, 0, false };
	}
}

/* Every item once: sorted, then one per (path, offset), the holder if
 * any, else the latest naming; head links the pieces of a file. */
static int collect(struct mb_image_set *s, struct mb_error *e)
{
	size_t cap = 0, u = 0;

	for (size_t i = 0; i < s->n; i++)
		cap += s->v[i].idx->n + s->v[i].idx->meta.n_peers;
	s->w = calloc(cap + 1, sizeof(*s->w));
	if (!s->w)
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to load the set");
	for (size_t i = 0; i < s->n; i++)
		add_items(s, i);
	qsort(s->w, s->nw, sizeof(*s->w), cmp_item);
	for (size_t i = 0; i < s->nw; i++) {
		bool same = u > 0 && strcmp(s->w[u - 1].path, s->w[i].path) == 0;

		if (same && s->w[u - 1].seg_offset == s->w[i].seg_offset)
			continue;
		s->w[u] = s->w[i];
		s->w[u].head = same ? s->w[u - 1].head : u;
		u++;
	}
	s->nw = u;
	return 0;
}

int mb_set_open(struct mb_image_set *s, const struct mb_options *opt,
		const char *const *media, size_t n_media, int flags, struct mb_error *e)
{
	memset(s, 0, sizeof(*s));
	if (n_media == 0)	/* the "missing --from" error */
		return load_medium(s, opt, NULL, flags, e) < 0 ? -1 :
		       mb_fail(e, MB_ERR_USAGE, 0, "no image given");
	for (size_t i = 0; i < n_media; i++)
		if (load_medium(s, opt, media[i], flags, e) < 0)
			return -1;
	if (check_set(s, e) < 0)
		return -1;
	if (flags & (MB_SET_TRAILERS | MB_SET_HELD))
		check_trailers(s, flags);
	if (s->devices <= 1 && !s->v[0].usable)
		return alone_broken(s, e);
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].next_err.code && s->v[i].usable) {
			if (!e->code)		/* (the first error wins) */
				*e = s->v[i].next_err;
			return -1;
		}
	return collect(s, e);
}

struct mb_set_item *mb_set_find(const struct mb_image_set *s, const char *path,
				uint64_t seg_offset)
{
	size_t lo = 0, hi = s->nw;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(s->w[mid].path, path);

		if (c == 0 && s->w[mid].seg_offset == seg_offset)
			return &s->w[mid];
		if (c < 0 || (c == 0 && s->w[mid].seg_offset < seg_offset))
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

struct mb_set_item *mb_set_first(const struct mb_image_set *s, const char *path)
{
	size_t lo = 0, hi = s->nw;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(s->w[mid].path, path) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < s->nw && strcmp(s->w[lo].path, path) == 0 ? &s->w[lo] : NULL;
}

/* ---- what is missing ---- */

static bool wanted(const char *path, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(names[i], path) == 0)
			return true;
	return n == 0;
}

/* The image given for (device, part) whose trailer cannot be read, or NULL:
 * what it held is lost to its damage, not to a device left out. */
static const struct mb_set_image *broken_holder(const struct mb_image_set *s,
						 uint32_t device, uint32_t part)
{
	for (size_t i = 0; i < s->n; i++) {
		const struct mb_image_meta *m = &s->v[i].idx->meta;

		if (!s->v[i].usable && m->device_index == device &&
		    (m->part ? m->part : 1) == (part ? part : 1))
			return &s->v[i];
	}
	return NULL;
}

/* "which is not given", or "whose image 'X' is truncated" (damaged). */
static void where_missing(const struct mb_image_set *s, FILE *report,
			  const struct mb_set_item *w)
{
	const struct mb_set_image *b = broken_holder(s, w->device, w->part);

	fprintf(report, "device %" PRIu32 " of %" PRIu32 ", ", w->device, s->devices);
	if (b)
		fprintf(report, "whose image '%s' is %s\n", b->name,
			b->why.code == MB_ERR_TRUNCATED ? "truncated" : "damaged");
	else
		fprintf(report, "which is not given\n");
}

static void report_missing(const struct mb_image_set *s, FILE *report, const struct mb_set_item *w)
{
	char *path;

	if (!report)
		return;
	path = mb_image_printable(w->path);
	if (w->img >= 0)	/* every piece held, yet they do not cover the file */
		fprintf(report, "cannot restore '%s': its pieces hold %" PRIu64 " of its %"
			PRIu64 " bytes\n", path, w->seg_length, w->size);
	else if (w->type == MB_T_FILE && w->seg_length != w->size)
		fprintf(report, "cannot restore '%s': bytes %" PRIu64 "-%" PRIu64
			" of %" PRIu64 " are on ", path, w->seg_offset,
			w->seg_offset + w->seg_length, w->size);
	else
		fprintf(report, "cannot restore '%s': it is on ", path);
	if (w->img < 0)
		where_missing(s, report, w);
	free(path);
}

/* The pieces of one file: s->w[i..j). */
static size_t missing_in(struct mb_image_set *s, size_t i, size_t j, bool want,
			 FILE *report)
{
	size_t held = 0, missing = 0;
	uint64_t covered = 0;
	bool gap;

	for (size_t k = i; k < j; k++)
		if (s->w[k].img >= 0) {
			covered += s->w[k].seg_length;
			held++;
		}
	gap = held < j - i || (s->w[i].type == MB_T_FILE && covered != s->w[i].size);
	for (size_t k = i; k < j; k++) {
		s->w[k].skip = gap;
		if (gap && want && s->w[k].img < 0) {
			missing++, report_missing(s, report, &s->w[k]);
			if (!s->broken)
				s->broken = broken_holder(s, s->w[k].device, s->w[k].part);
		}
	}
	if (gap && want && held == j - i) {	/* held whole, yet not covered */
		struct mb_set_item sum = s->w[i];

		sum.seg_length = covered;
		report_missing(s, report, &sum);
		if (!s->incomplete)
			s->incomplete = &s->w[i], s->incomplete_bytes = covered;
	}
	return missing;
}

uint64_t mb_set_missing(struct mb_image_set *s, FILE *report, const char *const *names,
			size_t n)
{
	uint64_t missing = 0;

	s->incomplete = NULL;
	s->broken = NULL;
	for (size_t i = 0, j; i < s->nw; i = j) {
		for (j = i; j < s->nw && s->w[j].head == i; j++)
			;
		missing += missing_in(s, i, j, wanted(s->w[i].path, names, n), report);
	}
	return missing;
}

int mb_set_refuse_broken(const struct mb_image_set *s, bool whole, uint64_t missing,
			 struct mb_error *e)
{
	const struct mb_set_image *b = s->broken;

	if (!whole || !b)
		return 0;
	mb_fail(e, b->why.code ? b->why.code : MB_ERR_CORRUPT, 0, "%s; %" PRIu64 " item(s) of "
		"backup %s cannot be restored", b->why.msg, missing, s->v[0].idx->meta.backup_id);
	mb_hint(e, "nothing was restored: use another copy of that image, or restore what the "
		"other images hold with --file (what is lost is listed above)");
	return -1;
}

int mb_set_not_found(const struct mb_image_set *s, const char *path, struct mb_error *e)
{
	if (s->n > 1 || s->devices > 1)
		return mb_fail(e, MB_ERR_NOT_FOUND, 0, "'%s' is not in the set", path);
	mb_fail(e, MB_ERR_NOT_FOUND, 0, "'%s' is not in the image", path);
	mb_hint(e, "mbackup ls --from IMAGE lists what it holds");
	return -1;
}

int mb_set_incomplete(const struct mb_image_set *s, struct mb_error *e)
{
	return mb_fail(e, MB_ERR_CORRUPT, 0, "'%s' cannot be restored whole: the images "
		       "of backup %s hold %" PRIu64 " of its %" PRIu64 " bytes",
		       s->incomplete->path, s->v[0].idx->meta.backup_id,
		       s->incomplete_bytes, s->incomplete->size);
}

/* A set member read in order once (a pipe), not set aside as failed, may
 * be followed there by the rescue images that hold what is missing: not
 * reached, not "not given". */
static int partial_in_order(const struct mb_image_set *s, const struct mb_set_image *m,
			    uint64_t missing, struct mb_error *e)
{
	mb_fail(e, MB_ERR_PARTIAL, 0, "%" PRIu64 " item(s) of backup %s cannot be restored: "
		"they are on devices not given, or on rescue images after the first image of "
		"'%s' (a pipe is read once: its first image only)", missing,
		s->v[0].idx->meta.backup_id, m->name);
	mb_hint(e, "give that image as a file or a tape, where its rescue images are read "
		"after it, and every other image of the set (mbackup info --backup ID lists them)");
	return -1;
}

int mb_set_partial(const struct mb_image_set *s, uint64_t missing, struct mb_error *e)
{
	if (s->broken) {	/* given, yet cut short or damaged: its own error */
		mb_fail(e, s->broken->why.code ? s->broken->why.code : MB_ERR_CORRUPT,
			0, "%s", s->broken->why.msg);
		if (s->broken->why.hint[0])
			mb_hint(e, "%s", s->broken->why.hint);
		return -1;
	}
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].first_only && s->v[i].usable && s->devices > 1)
			return partial_in_order(s, &s->v[i], missing, e);
	return mb_fail(e, MB_ERR_PARTIAL, 0, "%" PRIu64 " item(s) of backup %s cannot be "
		       "restored: they are on devices not given", missing,
		       s->v[0].idx->meta.backup_id), mb_hint(e, "give every image of the set, one "
		       "--from each (mbackup info --backup ID lists them)"), -1;
}

/* ---- verify ---- */

struct damage_sink {
	struct mb_set_stats *st;
	const struct mb_set_image *img;
	FILE *report;		/* "damaged: ..." lines, or NULL */
	bool set;		/* several images: each line names its own */
	bool oom;
};

static void on_damage(void *arg, const char *path, uint64_t offset, const struct mb_error *why)
{
	struct damage_sink *d = arg;
	struct mb_set_stats *st = d->st;
	struct mb_set_damage *v = realloc(st->damaged, (st->n_damaged + 1) * sizeof(*v));

	if (d->report && d->set && !strstr(why->msg, "in image '"))
		fprintf(d->report, "damaged: %s in image '%s'\n", why->msg, d->img->name);
	else if (d->report)
		fprintf(d->report, "damaged: %s\n", why->msg);
	if (!v) {
		d->oom = true;
		return;
	}
	st->damaged = v;
	v += st->n_damaged;
	*v = (struct mb_set_damage){ strdup(d->img->name), strdup(path), offset, strdup(why->msg) };
	if (!v->image || !v->path || !v->error) {
		free(v->image), free(v->path), free(v->error);
		d->oom = true;
		return;
	}
	st->n_damaged++;
}

void mb_set_stats_free(struct mb_set_stats *st)
{
	for (size_t i = 0; i < st->n_damaged; i++) {
		free(st->damaged[i].image);
		free(st->damaged[i].path);
		free(st->damaged[i].error);
	}
	free(st->damaged);
	st->damaged = NULL;
	st->n_damaged = 0;
}

/* Image i alone, every damaged file into st; 0, or -1 with e (first wins). */
static int verify_one(struct mb_image_set *s, size_t i, FILE *report,
		      struct mb_set_stats *st, struct mb_error *e)
{
	struct damage_sink d = { st, &s->v[i], report, s->n > 1, false };
	struct mb_image_stats one = { 0 };
	struct mb_error mine = { 0 };

	if (mb_image_verify_all(s->v[i].r, s->v[i].followed, on_damage, &d, &one, &mine) < 0) {
		mb_fail(e, mine.code, 0, "%s", mine.msg);
		if (mine.hint[0])
			mb_hint(e, "%s", mine.hint);
		return -1;
	}
	if (d.oom)
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to verify '%s'", s->v[i].name);
	st->files += one.files;
	st->bytes += one.file_bytes;
	st->entries += one.members;
	return 0;
}

/* One progress over every image's bytes, those of the indexes already
 * read counted as done; each image's reader counts into it. */
static int start_verify_progress(struct mb_image_set *s, const struct mb_options *opt,
				 struct mb_progress **p, struct mb_error *e)
{
	uint64_t total = 0, read = 0;

	for (size_t i = 0; i < s->n; i++) {
		total += s->v[i].idx->image_size;
		read += mb_image_bytes_read(s->v[i].r);
	}
	if (mb_progress_start(p, opt, "verify", total, e) < 0)
		return -1;
	for (size_t i = 0; i < s->n; i++)
		s->v[i].count->p = *p;
	mb_progress_add(*p, read, NULL);
	return 0;
}

static int set_verify(const struct mb_options *opt, const char *const *media,
		      size_t n_media, FILE *report, bool lines, struct mb_set_stats *st,
		      struct mb_error *e)
{
	struct mb_image_set s;
	struct mb_progress *p = NULL;
	int rc = 0;

	memset(st, 0, sizeof(*st));
	if (mb_set_open(&s, opt, media, n_media, 0, e) < 0 ||
	    (opt && start_verify_progress(&s, opt, &p, e) < 0)) {
		rc = -1;
		goto out;
	}
	st->images = s.n;
	st->devices = s.devices;
	for (size_t i = 0; i < s.n; i++) {	/* every image, whatever the others hold */
		if (verify_one(&s, i, lines ? report : NULL, st, e) < 0)
			rc = -1;
		st->image_bytes += s.v[i].idx->image_size;
		st->image_bytes_read += mb_image_bytes_read(s.v[i].r);
	}
	mb_progress_end(p, rc == 0);
	p = NULL;
	if (rc < 0)
		goto out;
	st->missing = mb_set_missing(&s, report, NULL, 0);
	rc = s.incomplete ? mb_set_incomplete(&s, e) :
	     st->missing ? mb_set_partial(&s, st->missing, e) : 0;
out:
	mb_progress_end(p, false);
	mb_set_close(&s);
	return rc;
}

int mb_set_verify(const char *const *media, size_t n_media, FILE *report,
		  struct mb_set_stats *st, struct mb_error *e)
{
	return set_verify(NULL, media, n_media, report, report != NULL, st, e);
}

int mb_set_verify_from(const struct mb_options *opt, FILE *report,
		       struct mb_set_stats *st, struct mb_error *e)
{
	bool json = opt->output && strcmp(opt->output, "json") == 0;

	return set_verify(opt, (const char *const *)opt->froms.v, opt->froms.n, report,
			  !json, st, e);
}
