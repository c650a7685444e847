/*
 * Restore / verify of a set of images written to several devices.  The
 * set is the union of what every index holds and names (its "p" lines);
 * an item is restored from the image that holds it, a segmented file is
 * created once and each segment written at its offset (mb_target_seek),
 * and an item held by no image given is listed, exactly, as missing.
 */
#include "orchestrator/restore_set.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/hash.h"
#include "image/image.h"
#include "orchestrator/restore_target.h"

#define SET_BUF (1u << 20)

struct img {
	int fd;
	struct mb_image_input *in;	/* over fd from base (its own memory: */
	struct mb_image_fd *in_fd;	/* the array of images grows) */
	char *name;
	uint64_t base;
	struct mb_image_reader *r;
	const struct mb_index *idx;
	bool usable;		/* its trailer reads: the image is complete */
};

/* One item of the set: held by an image (img >= 0, entry) or missing. */
struct want {
	const char *path;
	char type;
	uint64_t size, seg_offset, seg_length;
	uint32_t device, part;
	long img;
	size_t entry;
	bool skip;		/* part of a file that cannot be restored whole */
};

struct set {
	struct img *v;
	size_t n;
	struct want *w;
	size_t nw;
	uint32_t devices;
	char *buf;
	/* segmented files being restored */
	struct open_seg { const char *path; int fd; uint64_t left; } *segs;
	size_t n_segs;
};

/* ---- loading every image of every media ---- */

static int add_img(struct set *s, int fd, const char *path, uint64_t base,
		   struct mb_error *e)
{
	struct img *nv = realloc(s->v, (s->n + 1) * sizeof(*nv)), *m;

	if (!nv)
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to read '%s'", path);
	s->v = nv;
	m = &s->v[s->n];
	memset(m, 0, sizeof(*m));
	m->fd = fd;
	m->base = base;
	if ((base == 0 ? asprintf(&m->name, "%s", path) :
	     asprintf(&m->name, "%s@%" PRIu64, path, base)) < 0) {
		m->name = NULL;
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to read '%s'", path);
	}
	s->n++;
	if (lseek(fd, (off_t)base, SEEK_SET) < 0)
		return mb_fail(e, MB_ERR_MEDIA, errno, "unable to seek in image '%s'", m->name);
	m->in = malloc(sizeof(*m->in));
	m->in_fd = malloc(sizeof(*m->in_fd));
	if (!m->in || !m->in_fd)
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to read '%s'", path);
	mb_image_input_fd(m->in, m->in_fd, fd, m->name);
	if (mb_image_open(&m->r, m->in, e) < 0)
		return -1;
	m->idx = mb_image_index(m->r);
	return 0;
}

/* A media: its first image, then every rescue image appended after it. */
static int load_media(struct set *s, const char *path, struct mb_error *e)
{
	uint64_t base = 0;
	struct stat st;

	for (;;) {
		int fd = open(path, O_RDONLY | O_CLOEXEC);

		if (fd < 0)
			return mb_fail(e, MB_ERR_MEDIA, errno, "unable to open '%s'", path);
		if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
			close(fd);
			return mb_fail(e, MB_ERR_MEDIA, errno ? errno : ESPIPE,
				       "unable to read the set from '%s'", path);
		}
		if (base > 0 && base >= (uint64_t)st.st_size) {
			close(fd);
			return 0;
		}
		if (add_img(s, fd, path, base, e) < 0)
			return -1;
		base += s->v[s->n - 1].idx->image_size;
	}
}

/* Same backup, same device count, no image given twice. */
static int check_set(struct set *s, struct mb_error *e)
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
		/* an image without its trailer (a device that failed) holds nothing */
		s->v[i].usable = mb_image_trailer(s->v[i].r, &(struct mb_error){ 0 }) != NULL;
	}
	return 0;
}

static void close_set(struct set *s)
{
	for (size_t i = 0; i < s->n; i++) {
		mb_image_close(s->v[i].r);
		if (s->v[i].fd >= 0)
			close(s->v[i].fd);
		free(s->v[i].name);
		free(s->v[i].in);
		free(s->v[i].in_fd);
	}
	for (size_t i = 0; i < s->n_segs; i++)
		if (s->segs[i].fd >= 0)
			close(s->segs[i].fd);
	free(s->segs);
	free(s->v);
	free(s->w);
	free(s->buf);
	memset(s, 0, sizeof(*s));
}

/* ---- the set's items ---- */

static int cmp_want(const void *a, const void *b)
{
	const struct want *x = a, *y = b;
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

static int collect(struct set *s, struct mb_error *e)
{
	size_t cap = 0;

	for (size_t i = 0; i < s->n; i++) {
		const struct mb_index *ix = s->v[i].idx;

		cap += ix->n + ix->meta.n_peers;
	}
	s->w = calloc(cap + 1, sizeof(*s->w));
	if (!s->w)
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to load the set");
	for (size_t i = 0; i < s->n; i++) {
		const struct mb_index *ix = s->v[i].idx;
		uint32_t part = ix->meta.part ? ix->meta.part : 1;

		for (size_t k = 0; k < ix->n && s->v[i].usable; k++) {
			const struct mb_entry *t = &ix->v[k].ent;

			if (t->type != MB_T_DIR)
				s->w[s->nw++] = (struct want){ t->path, t->type, t->size,
					t->seg_offset, t->seg_length, ix->meta.device_index,
					part, (long)i, k, false };
		}
		for (size_t k = 0; k < ix->meta.n_peers; k++) {
			const struct mb_image_peer *p = &ix->meta.peers[k];

			s->w[s->nw++] = (struct want){ p->path, p->type, p->size, p->seg_offset,
				p->seg_length, p->device, p->part, -1, 0, false };
		}
	}
	qsort(s->w, s->nw, sizeof(*s->w), cmp_want);
	/* one per (path, offset): the holder if any, else the latest naming */
	{
		size_t u = 0;

		for (size_t i = 0; i < s->nw; i++)
			if (u == 0 || strcmp(s->w[u - 1].path, s->w[i].path) != 0 ||
			    s->w[u - 1].seg_offset != s->w[i].seg_offset)
				s->w[u++] = s->w[i];
		s->nw = u;
	}
	return 0;
}

/* Marks every piece of a file with a missing piece (nothing of it is
 * restored) and reports each missing item; returns their count. */
static bool wanted(const char *path, const char *const *files, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(files[i], path) == 0)
			return true;
	return n == 0;
}

static uint64_t find_missing(struct set *s, FILE *report, const char *const *files,
			     size_t n_files)
{
	uint64_t missing = 0;

	for (size_t i = 0; i < s->nw; ) {
		size_t j = i;
		bool gap = false;
		uint64_t covered = 0;

		for (; j < s->nw && strcmp(s->w[j].path, s->w[i].path) == 0; j++) {
			gap = gap || s->w[j].img < 0;
			if (s->w[j].img >= 0)
				covered += s->w[j].seg_length;
		}
		if (s->w[i].type == MB_T_FILE && covered != s->w[i].size)
			gap = true;
		for (size_t k = i; k < j; k++) {
			s->w[k].skip = gap;
			if (s->w[k].img >= 0 || !wanted(s->w[k].path, files, n_files))
				continue;
			missing++;
			if (report && s->w[k].type == MB_T_FILE && s->w[k].seg_length != s->w[k].size)
				fprintf(report, "cannot restore '%s': bytes %" PRIu64 "-%" PRIu64
					" of %" PRIu64 " are on device %" PRIu32 " of %" PRIu32
					", which is not given\n", s->w[k].path, s->w[k].seg_offset,
					s->w[k].seg_offset + s->w[k].seg_length, s->w[k].size,
					s->w[k].device, s->devices);
			else if (report)
				fprintf(report, "cannot restore '%s': it is on device %" PRIu32
					" of %" PRIu32 ", which is not given\n", s->w[k].path,
					s->w[k].device, s->devices);
		}
		i = j;
	}
	return missing;
}

static struct want *find_want(struct set *s, const char *path, uint64_t off)
{
	size_t lo = 0, hi = s->nw;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(s->w[mid].path, path);

		if (c == 0 && s->w[mid].seg_offset == off)
			return &s->w[mid];
		if (c < 0 || (c == 0 && s->w[mid].seg_offset < off))
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* ---- restoring ---- */

static const char *trailer_hash(struct img *m, uint64_t offset, struct mb_error *e)
{
	return mb_trailer_hash_at(mb_image_trailer(m->r, e), offset);
}

/* The fd of the file a piece belongs to: new for a whole file or the
 * first piece of a segmented one, else the one kept open. */
static int piece_fd(struct set *s, struct mb_target *tg, const struct mb_entry *t,
		    struct open_seg **slot, struct mb_error *e)
{
	struct mb_entry meta = *t;
	struct open_seg *nv;
	int fd = -1;

	*slot = NULL;
	for (size_t i = 0; i < s->n_segs; i++)
		if (s->segs[i].fd >= 0 && strcmp(s->segs[i].path, t->path) == 0) {
			*slot = &s->segs[i];
			return 0;
		}
	meta.seg_offset = 0;
	meta.seg_length = t->size;
	if (mb_target_create_file(tg, &meta, &fd, e) < 0)
		return -1;
	nv = realloc(s->segs, (s->n_segs + 1) * sizeof(*nv));
	if (!nv) {
		close(fd);
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to restore '%s'", t->path);
	}
	s->segs = nv;
	*slot = &s->segs[s->n_segs++];
	**slot = (struct open_seg){ t->path, fd, t->size };
	return 0;
}

/* The current member's data into its file at its offset, checked against
 * the image's trailer; a damaged file is removed. */
static int restore_piece(struct set *s, struct mb_target *tg, struct img *m,
			 const struct mb_entry *t, struct mb_set_stats *st,
			 struct mb_error *e)
{
	struct open_seg *slot;
	const char *want;
	char got[MB_HASH_HEX_LEN + 1];
	struct mb_hash h;
	ssize_t n;

	if (piece_fd(s, tg, t, &slot, e) < 0 || mb_target_seek(tg, slot->fd, t->seg_offset, e) < 0)
		return -1;
	mb_hash_init(&h);
	while ((n = mb_image_read(m->r, s->buf, SET_BUF, e)) > 0) {
		mb_hash_update(&h, s->buf, (size_t)n);
		if (mb_target_write(tg, slot->fd, s->buf, (size_t)n, e) < 0)
			return -1;
		st->bytes += (uint64_t)n;
	}
	if (n < 0)
		return -1;
	mb_hash_final_hex(&h, got);
	want = trailer_hash(m, t->image_offset, e);
	if (!want || strcmp(want, got) != 0) {
		close(slot->fd);
		slot->fd = -1;
		mb_target_remove(tg, t->path, NULL);
		return mb_fail(e, MB_ERR_CORRUPT, 0, "checksum mismatch in '%s' (member at "
			       "offset %" PRIu64 " of image '%s')", t->path, t->image_offset,
			       m->name);
	}
	slot->left -= t->seg_length;
	if (slot->left == 0) {
		int fd = slot->fd;

		slot->fd = -1;
		st->files++;
		st->entries++;
		return mb_target_finish_file(tg, fd, &(struct mb_entry){ .path = t->path,
			.type = MB_T_FILE, .size = t->size, .mode = t->mode, .uid = t->uid,
			.gid = t->gid, .mtime_sec = t->mtime_sec, .mtime_nsec = t->mtime_nsec,
			.seg_length = t->size }, e);
	}
	return 0;
}

/* One held item, reached by seeking to its member. */
static int restore_item(struct set *s, struct mb_target *tg, const struct want *w,
			struct mb_set_stats *st, struct mb_error *e)
{
	struct img *m = &s->v[w->img];
	const struct mb_entry *t = &m->idx->v[w->entry].ent;
	struct mb_member mem = { 0 };
	int rc;

	if (t->type != MB_T_FILE) {
		st->entries++;
		return mb_target_make(tg, t, e);
	}
	if (mb_image_seek(m->r, w->entry, e) < 0 || mb_image_next(m->r, &mem, e) != 1)
		return -1;
	mb_member_free(&mem);
	rc = restore_piece(s, tg, m, t, st, e);
	return rc;
}

/* Directories first (every image holds them all), shallowest first, then
 * the items image by image in image order (sequential reads on each
 * media), hard links last (their first name may come from another image). */
static int restore_all(struct set *s, struct mb_target *tg, struct mb_set_stats *st,
		       struct mb_error *e)
{
	const struct mb_index *ix0 = s->v[0].idx;

	for (size_t k = 0; k < ix0->n; k++)
		if (ix0->v[k].ent.type == MB_T_DIR) {
			if (mb_target_make(tg, &ix0->v[k].ent, e) < 0)
				return -1;
			st->entries++;
		}
	for (int links = 0; links < 2; links++)
		for (size_t i = 0; i < s->n; i++)
			for (size_t k = 0; k < s->v[i].idx->n; k++) {
				const struct mb_entry *t = &s->v[i].idx->v[k].ent;
				struct want *w = find_want(s, t->path, t->seg_offset);

				if (!w || w->img != (long)i || w->entry != k || w->skip ||
				    (t->type == MB_T_HARDLINK) != links)
					continue;
				if (restore_item(s, tg, w, st, e) < 0)
					return -1;
			}
	return 0;
}

/* --file: every piece of each name, from whichever image holds it. */
static int restore_files(struct set *s, const struct mb_set_restore_opts *o,
			 struct mb_target *tg, struct mb_set_stats *st, struct mb_error *e)
{
	for (size_t f = 0; f < o->n_files; f++) {
		struct want *w = find_want(s, o->files[f], 0);

		if (!w)
			return mb_fail(e, MB_ERR_NOT_FOUND, 0, "'%s' is not in the set", o->files[f]);
		for (; w < s->w + s->nw && strcmp(w->path, o->files[f]) == 0; w++)
			if (!w->skip && w->type != MB_T_DIR && restore_item(s, tg, w, st, e) < 0)
				return -1;
	}
	return 0;
}

static int open_set(struct set *s, const char *const *media, size_t n,
		    struct mb_error *e)
{
	if (n == 0)
		return mb_fail(e, MB_ERR_USAGE, 0, "no image given");
	s->buf = malloc(SET_BUF);
	if (!s->buf)
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to read the set");
	for (size_t i = 0; i < n; i++)
		if (load_media(s, media[i], e) < 0)
			return -1;
	return check_set(s, e) < 0 || collect(s, e) < 0 ? -1 : 0;
}

static int partial(struct set *s, uint64_t missing, struct mb_error *e)
{
	return mb_fail(e, MB_ERR_PARTIAL, 0, "%" PRIu64 " item(s) of backup %s cannot be "
		       "restored: they are on devices not given", missing,
		       s->v[0].idx->meta.backup_id);
}

int mb_set_restore(const struct mb_set_restore_opts *o, struct mb_set_stats *st,
		   struct mb_error *e)
{
	struct set s = { 0 };
	struct mb_target *tg = NULL;
	int rc = -1;

	memset(st, 0, sizeof(*st));
	if (open_set(&s, o->media, o->n_media, e) < 0)
		goto out;
	st->images = s.n;
	for (size_t i = 0; i < s.n; i++)
		st->image_bytes += s.v[i].idx->image_size;
	st->missing = find_missing(&s, o->report, o->files, o->n_files);
	if (mb_target_open(&tg, o->to, o->force, e) < 0)
		goto out;
	if ((o->n_files ? restore_files(&s, o, tg, st, e) : restore_all(&s, tg, st, e)) < 0)
		goto out;
	rc = st->missing ? partial(&s, st->missing, e) : 0;
out:
	for (size_t i = 0; i < s.n_segs; i++)
		if (s.segs[i].fd >= 0) {	/* a file left incomplete goes */
			close(s.segs[i].fd);
			s.segs[i].fd = -1;
			mb_target_remove(tg, s.segs[i].path, NULL);
		}
	if (tg && mb_target_close(tg, rc == 0 ? e : NULL) < 0)
		rc = -1;
	close_set(&s);
	return rc;
}

/* ---- verify ---- */

struct feed {
	int in, out;
	uint64_t off, len;
};

/* Copies one image's bytes into a pipe, so mb_image_verify sees exactly
 * that image (a rescue image may follow it on the media). */
static void *feed_main(void *arg)
{
	struct feed *f = arg;
	loff_t off = (loff_t)f->off;

	while (f->len > 0) {
		ssize_t n = splice(f->in, &off, f->out, NULL,
				   f->len > (1u << 20) ? (1u << 20) : (size_t)f->len, SPLICE_F_MOVE);

		if (n <= 0)
			break;
		f->len -= (uint64_t)n;
	}
	close(f->out);
	return NULL;
}

static int verify_one(struct img *m, struct mb_set_stats *st, struct mb_error *e)
{
	int pfd[2];
	struct feed f;
	pthread_t th;
	struct mb_image_stats one = { 0 };
	struct mb_image_input in;
	struct mb_image_fd in_fd;
	int rc;

	if (pipe2(pfd, O_CLOEXEC) < 0)
		return mb_fail(e, MB_ERR_GENERAL, errno, "unable to verify '%s'", m->name);
	f = (struct feed){ m->fd, pfd[1], m->base, m->idx->image_size };
	if (pthread_create(&th, NULL, feed_main, &f) != 0) {
		close(pfd[0]);
		close(pfd[1]);
		return mb_fail(e, MB_ERR_GENERAL, 0, "unable to verify '%s'", m->name);
	}
	mb_image_input_fd(&in, &in_fd, pfd[0], m->name);
	rc = mb_image_verify(&in, &one, e);
	close(pfd[0]);	/* a feeder still writing gets EPIPE */
	pthread_join(th, NULL);
	st->files += one.files;
	st->bytes += one.file_bytes;
	st->entries += one.members;
	return rc;
}

int mb_set_verify(const char *const *media, size_t n_media, FILE *report,
		  struct mb_set_stats *st, struct mb_error *e)
{
	struct set s = { 0 };
	int rc = -1;

	memset(st, 0, sizeof(*st));
	if (open_set(&s, media, n_media, e) < 0)
		goto out;
	st->images = s.n;
	for (size_t i = 0; i < s.n; i++) {
		if (verify_one(&s.v[i], st, e) < 0)
			goto out;
		st->image_bytes += s.v[i].idx->image_size;
	}
	st->missing = find_missing(&s, report, NULL, 0);
	rc = st->missing ? partial(&s, st->missing, e) : 0;
out:
	close_set(&s);
	return rc;
}
