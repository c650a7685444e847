/*
 * Several devices at once: the plan (segments, order, least-loaded
 * placement) and the concurrent writer with failover.  See image/multi.h.
 */
#include "image/multi.h"
#include "image/internal.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define SEG_ALIGN UINT64_C(4096)
#define MIN_CUT (UINT64_C(256) << 10)	/* never cut a piece smaller than this */
#define HDR_WEIGHT 1536			/* about what a member's headers cost */

/* ---- the plan ---- */

static uint64_t weight(const struct mb_multi_item *it)
{
	return (it->type == MB_T_FILE ? mbi_pad(it->seg_length) : 0) + HDR_WEIGHT;
}

/* Room for n items in all: mb_multi_plan counts them before the first,
 * so a set of a million files is one allocation with no slack. */
static int reserve_items(struct mb_multi_plan *p, size_t *cap, size_t n, struct mb_error *e)
{
	struct mb_multi_item *nv;

	if (n <= *cap)
		return 0;
	if (!(nv = realloc(p->items, n * sizeof(*nv))))
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to plan the devices");
	p->items = nv;
	*cap = n;
	return 0;
}

static int add_item(struct mb_multi_plan *p, size_t *cap, size_t entry, uint64_t off,
		    uint64_t len, struct mb_error *e)
{
	char type = p->entries[entry]->type;

	if (p->n_items == *cap && reserve_items(p, cap, *cap + *cap / 8 + 16, e) < 0)
		return -1;
	p->items[p->n_items++] = (struct mb_multi_item){
		.entry = entry, .seg_offset = off, .seg_length = type == MB_T_FILE ? len : 0,
		.type = type };
	return 0;
}

/* Files above the threshold become pieces of threshold bytes (the last
 * one shorter); directories and hard links are not placed here. */
static int cut_items(struct mb_multi_plan *p, size_t *cap, struct mb_error *e)
{
	size_t n = 0;

	for (size_t i = 0; i < p->n_entries; i++) {
		const struct mb_entry *t = p->entries[i];

		if (t->type != MB_T_DIR)	/* hard links are placed later */
			n += t->type == MB_T_FILE && t->size > p->threshold
			     ? (t->size + p->threshold - 1) / p->threshold : 1;
	}
	if (reserve_items(p, cap, n + p->n_devices, e) < 0)	/* (+ the cuts of place) */
		return -1;
	for (size_t i = 0; i < p->n_entries; i++) {
		const struct mb_entry *t = p->entries[i];
		uint64_t off = 0;

		if (t->type == MB_T_DIR || t->type == MB_T_HARDLINK)
			continue;
		if (t->type != MB_T_FILE || t->size <= p->threshold) {
			if (add_item(p, cap, i, 0, t->size, e) < 0)
				return -1;
			continue;
		}
		for (; off < t->size; off += p->threshold) {
			uint64_t len = t->size - off < p->threshold ? t->size - off : p->threshold;

			if (add_item(p, cap, i, off, len, e) < 0)
				return -1;
		}
	}
	return 0;
}

static int cmp_desc(const void *a, const void *b)
{
	const struct mb_multi_item *x = a, *y = b;

	if (x->seg_length != y->seg_length)
		return x->seg_length > y->seg_length ? -1 : 1;
	if (x->entry != y->entry)
		return x->entry < y->entry ? -1 : 1;
	return x->seg_offset < y->seg_offset ? -1 : 1;
}

static int cmp_asc(const void *a, const void *b)
{
	const struct mb_multi_item *x = a, *y = b;

	if (x->seg_length != y->seg_length)
		return x->seg_length < y->seg_length ? -1 : 1;
	return -cmp_desc(b, a);
}

static int cmp_logical(const void *a, const void *b)
{
	const struct mb_multi_item *x = a, *y = b;

	if (x->entry != y->entry)
		return x->entry < y->entry ? -1 : 1;
	if (x->seg_offset != y->seg_offset)
		return x->seg_offset < y->seg_offset ? -1 : 1;
	return 0;
}

static uint32_t least_loaded(const uint64_t *load, uint32_t n, const bool *skip)
{
	uint32_t best = UINT32_MAX;

	for (uint32_t d = 0; d < n; d++)
		if ((!skip || !skip[d]) && (best == UINT32_MAX || load[d] < load[best]))
			best = d;
	return best;
}

/* Places the items in list order on the least-loaded device; a file item
 * that would pass the fair share is cut there and its rest, placed right
 * after it in the list, goes on to the next least-loaded device. */
static int place(struct mb_multi_plan *p, size_t *cap, struct mb_error *e)
{
	uint64_t sum = 0, share;

	for (size_t i = 0; i < p->n_items; i++)
		sum += weight(&p->items[i]);
	share = sum / p->n_devices + MB_IMAGE_BLOCK;
	for (size_t i = 0; i < p->n_items; i++) {
		struct mb_multi_item *it = &p->items[i], rest;
		uint32_t d = least_loaded(p->load, p->n_devices, NULL);
		uint64_t room = share > p->load[d] + HDR_WEIGHT ?
				share - p->load[d] - HDR_WEIGHT : 0;
		uint64_t piece = room / SEG_ALIGN * SEG_ALIGN;

		if (p->load[d] + weight(it) > share && it->type == MB_T_FILE &&
		    piece >= MIN_CUT && it->seg_length >= piece + MIN_CUT) {
			struct mb_multi_item cur = *it;	/* add_item may move the items */

			if (add_item(p, cap, cur.entry, cur.seg_offset + piece,
				     cur.seg_length - piece, e) < 0)
				return -1;
			rest = p->items[p->n_items - 1];
			memmove(&p->items[i + 2], &p->items[i + 1],
				(p->n_items - i - 2) * sizeof(*p->items));
			p->items[i + 1] = rest;
			it = &p->items[i];
			it->seg_length = piece;
		}
		it->planned = it->device = d + 1;
		it->part = 1;
		p->load[d] += weight(it);
	}
	return 0;
}

struct by_path {
	const char *path;
	size_t item;
};

static int cmp_by_path(const void *a, const void *b)
{
	return strcmp(((const struct by_path *)a)->path, ((const struct by_path *)b)->path);
}

/* A hard link goes with the first piece of the file it names, so plain
 * tar on that image can make the link. */
static int place_links(struct mb_multi_plan *p, size_t *cap, struct mb_error *e)
{
	size_t n_files = 0, n0 = p->n_items;
	struct by_path *map = malloc((n0 ? n0 : 1) * sizeof(*map));
	int rc = -1;

	if (!map)
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to plan the devices");
	for (size_t i = 0; i < n0; i++)
		if (p->items[i].type == MB_T_FILE && p->items[i].seg_offset == 0)
			map[n_files++] = (struct by_path){ p->entries[p->items[i].entry]->path, i };
	qsort(map, n_files, sizeof(*map), cmp_by_path);
	for (size_t i = 0; i < p->n_entries; i++) {
		const struct mb_entry *t = p->entries[i];
		struct by_path key = { mb_entry_link(t), 0 }, *hit;
		uint32_t d;

		if (t->type != MB_T_HARDLINK)
			continue;
		hit = bsearch(&key, map, n_files, sizeof(*map), cmp_by_path);
		d = hit ? p->items[hit->item].planned - 1 : least_loaded(p->load, p->n_devices, NULL);
		if (add_item(p, cap, i, 0, 0, e) < 0)
			goto out;
		p->items[p->n_items - 1].planned = p->items[p->n_items - 1].device = d + 1;
		p->items[p->n_items - 1].part = 1;
		p->load[d] += HDR_WEIGHT;
	}
	rc = 0;
out:
	free(map);
	return rc;
}

int mb_multi_order_parse(const char *s, enum mb_multi_order *out)
{
	static const char *const names[] = { "desc", "asc", "logical" };

	for (int i = 0; i < 3; i++)
		if (strcmp(s, names[i]) == 0) {
			*out = (enum mb_multi_order)i;
			return 0;
		}
	return -1;
}

/* What every plan starts from: its set and the bytes of its files. */
static void plan_start(struct mb_multi_plan *out, struct mb_entry **entries, size_t n,
		       uint32_t n_devices)
{
	out->n_devices = n_devices;
	out->entries = entries;
	out->n_entries = n;
	for (size_t i = 0; i < n; i++)
		if (entries[i]->type == MB_T_FILE)
			out->total += entries[i]->size;
}

int mb_multi_plan(struct mb_entry **entries, size_t n, uint32_t n_devices,
		  uint64_t threshold, enum mb_multi_order order,
		  struct mb_multi_plan *out, struct mb_error *e)
{
	static int (*const cmp[])(const void *, const void *) = {
		cmp_desc, cmp_asc, cmp_logical };
	size_t cap = 0;

	memset(out, 0, sizeof(*out));
	if (n_devices < 1 || n_devices > MB_MULTI_MAX_DEVICES)
		return mb_fail(e, MB_ERR_USAGE, 0, "%" PRIu32 " devices given; from 1 to %d "
			       "are supported", n_devices, MB_MULTI_MAX_DEVICES);
	plan_start(out, entries, n, n_devices);
	if (!threshold)
		threshold = (out->total + n_devices - 1) / n_devices;
	threshold = (threshold + SEG_ALIGN - 1) / SEG_ALIGN * SEG_ALIGN;
	out->threshold = threshold ? threshold : SEG_ALIGN;
	if (cut_items(out, &cap, e) < 0)
		goto fail;
	qsort(out->items, out->n_items, sizeof(*out->items), cmp[order]);
	if (place(out, &cap, e) < 0 || place_links(out, &cap, e) < 0)
		goto fail;
	return 0;
fail:
	mb_multi_plan_free(out);
	return -1;
}

int mb_multi_plan_whole(struct mb_entry **entries, size_t n, struct mb_multi_plan *out)
{
	memset(out, 0, sizeof(*out));
	plan_start(out, entries, n, 1);
	out->whole = true;
	out->threshold = out->total;
	out->load[0] = out->total;
	return 0;
}

void mb_multi_plan_free(struct mb_multi_plan *p)
{
	free(p->items);
	memset(p, 0, sizeof(*p));
}

double mb_multi_imbalance(const struct mb_multi_plan *p)
{
	uint64_t max = 0, sum = 0;

	for (uint32_t d = 0; d < p->n_devices; d++) {
		sum += p->load[d];
		max = p->load[d] > max ? p->load[d] : max;
	}
	return sum ? (double)max * p->n_devices / (double)sum : 1.0;
}

/* ---- writing ---- */

/* One image being written on one device by a thread of its own. */
struct job {
	struct mb_multi_plan *p;
	struct mb_multi_device *dev;
	const struct mb_multi_source *src;
	uint32_t k, part;
	bool out_failed;		/* the device failed, not the source */
	struct mb_entry *copies;	/* this image's own entries (several devices) */
	struct mb_entry **v;		/* (a whole plan's entries: borrowed) */
	size_t n;
	struct mb_image_peer *peers;
	struct mb_image_layout lay;
	struct mb_image_output out;	/* dev->out, noting its failures */
	struct mb_image_stats st;
	struct mb_error err;
	int rc;
	pthread_t th;
	bool started;
};

/* Writes through the device's output (its chain of sinks); a failure
 * there is the device's, not the run's, unless it is the run's stop (a
 * signal ending a blocked write): that ends the run, never a failover. */
static int job_write(void *ctx, const void *buf, size_t len, struct mb_error *e)
{
	struct job *j = ctx;
	int rc = j->dev->out.write(j->dev->out.ctx, buf, len, e);

	if (rc < 0 && e->code != MB_ERR_INTERRUPTED)
		j->out_failed = true;
	return rc;
}

static int cmp_item_ptr(const void *a, const void *b)
{
	const struct mb_multi_item *x = *(struct mb_multi_item *const *)a;
	const struct mb_multi_item *y = *(struct mb_multi_item *const *)b;

	return cmp_logical(x, y);
}

/* An item that is its whole entry, on the only device: the image lays
 * out the set's entry itself (nothing else lays it out).  Otherwise it
 * gets a copy of its own, with its piece. */
static bool item_in_place(const struct mb_multi_plan *p, const struct mb_multi_item *it)
{
	const struct mb_entry *t = p->entries[it->entry];

	return p->n_devices == 1 && it->seg_offset == 0 &&
	       it->seg_length == (t->type == MB_T_FILE ? t->size : 0);
}

static struct mb_entry *item_entry(struct job *j, const struct mb_multi_item *it, size_t *n_copies)
{
	struct mb_entry *t;

	if (item_in_place(j->p, it))
		return j->p->entries[it->entry];
	t = &j->copies[(*n_copies)++];
	*t = *j->p->entries[it->entry];	/* (path and link target borrowed) */
	t->seg_offset = it->seg_offset;
	t->seg_length = it->seg_length;
	t->image_offset = 0;
	return t;
}

/* The image's entries in logical order: every directory, and the items
 * placed on (k, part).  its[] holds those items sorted; at[k] gets the
 * place of its[k] in j->v. */
static int job_entries(struct job *j, struct mb_multi_item **its, size_t n_its, size_t *at,
		       struct mb_error *e)
{
	struct mb_multi_plan *p = j->p;
	size_t n_dirs = 0, n_copies = 0, k = 0;

	for (size_t i = 0; i < p->n_entries; i++)
		n_dirs += p->entries[i]->type == MB_T_DIR;
	for (size_t i = 0; i < n_its; i++)
		n_copies += !item_in_place(p, its[i]);
	n_copies += p->n_devices > 1 ? n_dirs : 0;
	j->copies = calloc(n_copies + 1, sizeof(*j->copies));
	j->v = calloc(n_dirs + n_its + 1, sizeof(*j->v));
	if (!j->copies || !j->v)
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to lay out device %" PRIu32, j->k);
	qsort(its, n_its, sizeof(*its), cmp_item_ptr);
	n_copies = 0;
	for (size_t i = 0; i < p->n_entries; i++) {
		if (p->entries[i]->type == MB_T_DIR && p->n_devices == 1) {
			j->v[j->n++] = p->entries[i];
		} else if (p->entries[i]->type == MB_T_DIR) {
			j->copies[n_copies] = *p->entries[i];
			j->v[j->n++] = &j->copies[n_copies++];
		}
		for (; k < n_its && its[k]->entry == i; k++) {
			at[k] = j->n;
			j->v[j->n++] = item_entry(j, its[k], &n_copies);
		}
	}
	return 0;
}

static bool peer_skip(const struct job *j, const struct mb_multi_item *it)
{
	return it->device == 0 || (it->device == j->k && it->part == j->part);
}

/* Every item the other images of the set hold, as they stand now. */
static int job_peers(struct job *j, struct mb_image_meta *m, struct mb_error *e)
{
	struct mb_multi_plan *p = j->p;

	size_t n = 0;

	for (size_t i = 0; i < p->n_items; i++)	/* (none on a single device) */
		n += !peer_skip(j, &p->items[i]);
	j->peers = calloc(n + 1, sizeof(*j->peers));
	if (!j->peers)
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to lay out device %" PRIu32, j->k);
	for (size_t i = 0; i < p->n_items; i++) {
		const struct mb_multi_item *it = &p->items[i];
		const struct mb_entry *t = p->entries[it->entry];

		if (peer_skip(j, it))
			continue;
		j->peers[m->n_peers++] = (struct mb_image_peer){
			.device = it->device, .part = it->part, .type = it->type,
			.size = t->size, .seg_offset = it->seg_offset,
			.seg_length = it->seg_length, .path = t->path };
	}
	m->peers = j->peers;
	return 0;
}

static int job_prepare(struct job *j, const struct mb_multi_opts *o, uint64_t rescues,
		       struct mb_error *e)
{
	struct mb_multi_plan *p = j->p;
	struct mb_multi_item **its = calloc(p->n_items + 1, sizeof(*its));
	size_t *at = calloc(p->n_items + 1, sizeof(*at));
	struct mb_image_meta m = o->meta;
	size_t n_its = 0;
	int rc = -1;

	if (!its || !at) {
		mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to lay out device %" PRIu32, j->k);
		goto out;
	}
	if (p->whole) {		/* one image of the entries as they are */
		j->v = p->entries;
		j->n = p->n_entries;
	}
	for (size_t i = 0; i < p->n_items; i++)
		if (p->items[i].device == j->k && p->items[i].part == j->part)
			its[n_its++] = &p->items[i];
	m.device_index = j->k;
	m.device_count = p->n_devices;
	m.part = j->part;
	m.rescues = rescues;
	m.n_peers = 0;
	if ((!p->whole && job_entries(j, its, n_its, at, e) < 0) || job_peers(j, &m, e) < 0 ||
	    mb_image_layout(j->v, j->n, &m, &j->lay, e) < 0)
		goto out;
	for (size_t k = 0; k < n_its; k++)	/* where each item lies in this image */
		its[k]->image_offset = j->v[at[k]]->image_offset;
	j->out = (struct mb_image_output){ job_write, j, j->dev->out.record_size, j->dev->out.fd,
					   NULL, j->dev->out.boundary, j->dev->out.boundary_ctx, NULL };
	rc = 0;
out:
	free(its);
	free(at);
	return rc;
}

static void *job_main(void *arg)
{
	struct job *j = arg;
	mb_data_fn fn = NULL;
	void *fa = NULL;

	if (j->part > 1 && j->dev->out.next_image &&
	    j->dev->out.next_image(j->dev->out.ctx, &j->err) < 0) {
		j->out_failed = true;
		j->rc = -1;
		return NULL;
	}
	j->rc = j->src->open(j->src->arg, j->k, j->v, j->n, &fn, &fa, &j->err);
	if (j->rc == 0) {
		j->rc = mb_image_write(&j->out, &j->lay, fn, fa, &j->st, &j->err);
		j->src->close(j->src->arg, j->k, fa);
	}
	/* what the device still holds, while a failure can still move on */
	if (j->rc == 0 && j->dev->out.finish &&
	    (j->rc = j->dev->out.finish(j->dev->out.ctx, &j->err)) < 0 &&
	    j->err.code != MB_ERR_INTERRUPTED)
		j->out_failed = true;
	return NULL;
}

static void job_free(struct job *j)
{
	mb_image_layout_free(&j->lay);
	free(j->copies);
	if (!j->p || !j->p->whole)
		free(j->v);
	free(j->peers);
}

/* A device's result after its thread is done.  A failure of its output
 * marks the device failed; any other failure (the source, a bug) ends the
 * run, with its error as it is.  A single device's failure ends it too. */
static int job_result(struct job *j, struct mb_error *e)
{
	struct mb_multi_device *d = j->dev;

	if (j->rc == 0) {
		d->parts++;
		d->bytes += j->st.bytes;
		d->file_bytes += j->st.file_bytes;
		return 0;
	}
	if (!j->out_failed || j->p->n_devices == 1) {
		d->failed = j->out_failed;
		d->err = j->err;
		if (e->code == MB_OK)
			*e = j->err;
		return -1;
	}
	d->failed = true;
	d->err = j->err;
	mb_error_prefix(&d->err, "device %" PRIu32 " ('%s') failed: ", j->k, d->name);
	return 0;
}

/* Lays out the next image of every device that has items for it (all
 * devices in the first round, then told to the source). */
static int prepare_round(struct job *jobs, struct mb_multi_plan *p, struct mb_multi_device *dev,
			 const struct mb_multi_opts *o, const struct mb_multi_source *src,
			 bool first, uint64_t rescues, struct mb_error *e)
{
	for (uint32_t d = 0; d < p->n_devices; d++) {
		struct job *j = &jobs[d];
		bool has = first;

		for (size_t i = 0; i < p->n_items && !has; i++)
			has = p->items[i].device == d + 1 && p->items[i].part == dev[d].parts + 1;
		if (dev[d].failed || !has)
			continue;
		*j = (struct job){ .p = p, .dev = &dev[d], .src = src, .k = d + 1,
				   .part = dev[d].parts + 1 };
		if (job_prepare(j, o, rescues, e) < 0)
			return -1;
	}
	for (uint32_t d = 0; first && src->laid_out && d < p->n_devices; d++)
		if (jobs[d].lay.image_size &&
		    src->laid_out(src->arg, d + 1, jobs[d].v, jobs[d].n, e) < 0)
			return -1;
	return 0;
}

/* Writes, concurrently, the next image of every device that has items for
 * it; a single device is written by the calling thread. */
static int run_round(struct mb_multi_plan *p, struct mb_multi_device *dev,
		     const struct mb_multi_opts *o, const struct mb_multi_source *src,
		     bool first, uint64_t rescues, struct mb_error *e)
{
	struct job *jobs = calloc(p->n_devices, sizeof(*jobs));
	int rc = -1;

	if (!jobs)
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to start the devices");
	if (prepare_round(jobs, p, dev, o, src, first, rescues, e) < 0)
		goto out;
	for (uint32_t d = 0; d < p->n_devices; d++) {
		if (!jobs[d].lay.image_size)
			continue;
		if (p->n_devices == 1) {
			job_main(&jobs[d]);
			jobs[d].started = true;
			continue;
		}
		if ((errno = pthread_create(&jobs[d].th, NULL, job_main, &jobs[d])) != 0) {
			mb_fail(e, MB_ERR_GENERAL, errno, "unable to start device %" PRIu32, d + 1);
			goto out;
		}
		jobs[d].started = true;
	}
	rc = 0;
out:
	for (uint32_t d = 0; d < p->n_devices; d++) {
		if (jobs[d].started) {
			if (p->n_devices > 1)
				pthread_join(jobs[d].th, NULL);
			if (job_result(&jobs[d], e) < 0)
				rc = -1;
		}
		job_free(&jobs[d]);
	}
	free(jobs);
	return rc;
}

static int cmp_weight_desc(const void *a, const void *b)
{
	const struct mb_multi_item *x = *(struct mb_multi_item *const *)a;
	const struct mb_multi_item *y = *(struct mb_multi_item *const *)b;
	uint64_t wx = weight(x), wy = weight(y);

	return wx != wy ? (wx > wy ? -1 : 1) : cmp_logical(x, y);
}

/* Items of the image that just failed on each failed device move to the
 * survivors: largest first, each to the survivor with the fewest bytes.
 * *moved is the mask of devices rescued (bit k-1 for device k, all 64 bits
 * in use), 0 if nothing moved; -1 when none survives. */
static int move_items(struct mb_multi_plan *p, struct mb_multi_device *dev,
		      const uint32_t *tried, uint64_t *moved, struct mb_error *e)
{
	uint64_t load[MB_MULTI_MAX_DEVICES], mask = 0;
	bool dead[MB_MULTI_MAX_DEVICES];
	struct mb_multi_item **mv = calloc(p->n_items + 1, sizeof(*mv));
	size_t n = 0;
	uint32_t first = UINT32_MAX;

	if (!mv)
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to move items");
	for (uint32_t d = 0; d < p->n_devices; d++) {
		dead[d] = dev[d].failed;
		load[d] = dev[d].bytes;
		if (dev[d].failed && first == UINT32_MAX)
			first = d;
	}
	for (size_t i = 0; i < p->n_items; i++) {
		struct mb_multi_item *it = &p->items[i];

		if (it->device && dead[it->device - 1] && it->part == tried[it->device - 1]) {
			mask |= UINT64_C(1) << (it->device - 1);
			mv[n++] = it;
		}
	}
	qsort(mv, n, sizeof(*mv), cmp_weight_desc);
	for (size_t i = 0; i < n; i++) {
		uint32_t d = least_loaded(load, p->n_devices, dead);

		if (d == UINT32_MAX) {
			free(mv);
			mb_fail(e, MB_ERR_MEDIA, 0, "no device survived; %s", dev[first].err.msg);
			return -1;
		}
		mv[i]->device = d + 1;
		mv[i]->part = dev[d].parts + 1;
		load[d] += weight(mv[i]);
	}
	free(mv);
	*moved = mask;
	return 0;
}

int mb_multi_write(struct mb_multi_plan *p, struct mb_multi_device *dev,
		   const struct mb_multi_opts *o, const struct mb_multi_source *src,
		   struct mb_error *e)
{
	uint64_t rescues = 0;
	uint32_t tried[MB_MULTI_MAX_DEVICES];

	for (uint32_t round = 1; ; round++) {
		uint64_t moved = 0;

		for (uint32_t d = 0; d < p->n_devices; d++)
			tried[d] = dev[d].failed ? 0 : dev[d].parts + 1;
		if (run_round(p, dev, o, src, round == 1, rescues, e) < 0 ||
		    move_items(p, dev, tried, &moved, e) < 0)
			return -1;
		if (moved == 0)
			break;
		rescues |= moved;
	}
	for (size_t i = 0; i < p->n_items; i++)
		dev[p->items[i].device - 1].items++;
	for (size_t i = 0; p->whole && i < p->n_entries; i++)
		dev[0].items += p->entries[i]->type != MB_T_DIR;
	return 0;
}
