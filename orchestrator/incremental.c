/* Block increments, the backup side; see incremental.h. */
#include "orchestrator/incremental.h"

#include <errno.h>
#include <inttypes.h>
#include <libgen.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/tap.h"
#include "image/blockmap.h"
#include "image/image.h"
#include "image/multi.h"
#include "orchestrator/catalog_incr.h"
#include "orchestrator/incremental_spill.h"
#include "orchestrator/signals.h"
#include "orchestrator/run.h"

/* Files smaller than this many blocks go whole: a delta saves nothing. */
#define WHOLE_BELOW_BLOCKS 4

struct incr_delta {
	size_t si;		/* its file: the state's entry */
	struct mb_delta d;
	char *hdr;
	size_t hdr_len;
};

/* A file a several-device full cut into segments: its map is built by
 * every device streaming one of them (image/blockrange.c). */
struct incr_pieces {
	bool started;			/* the map is allocated */
	struct mb_blockmap map;		/* a full's: spilled once whole */
	struct mb_blockedges edges;	/* blocks cut by a segment boundary */
	uint64_t *done;			/* offsets of the segments hashed */
	size_t n_done;
	uint64_t done_bytes;
};

struct mb_incr {
	uint32_t block_size;
	pthread_mutex_t lock;		/* pieces: the devices stream at once */
	struct incr_pieces *pieces;	/* per state entry, allocated with the
					 * first segment (a single device has
					 * none: 48 bytes a file saved) */
	bool incremental, prepass;
	struct mb_backup_rec base;
	struct mb_blockmaps base_maps;
	struct mb_set state;		/* incremental: the state, r->set before */
	const struct mb_set *st;	/* the state */
	size_t n_state;			/* entries of the state */
	size_t *by_path;		/* state indices sorted by path (NULL
					 * until a lookup by path needs it) */
	struct mb_blockmap *maps;	/* per state entry: an increment's,
					 * compared with its base */
	struct mb_mapspill *spill;	/* a full's instead (maps NULL): each
					 * map leaves memory once hashed */
	bool *have;
	char *kinds;			/* per state entry, enum mb_incr_kind
					 * (an increment's) */
	struct incr_delta *deltas;
	size_t n_deltas;
	char *manifest;
	size_t manifest_len;
	uint64_t changed_files, changed_bytes;
};

static const struct mb_set *cmp_set;

static int cmp_index(const void *a, const void *b)
{
	return strcmp(cmp_set->v[*(const size_t *)a].path, cmp_set->v[*(const size_t *)b].path);
}

/* Under x->lock when several devices stream. */
static int by_path_build(struct mb_incr *x)
{
	size_t n = x->st->n ? x->st->n : 1;

	if (x->by_path)
		return 0;
	if (!(x->by_path = calloc(n, sizeof(*x->by_path))))
		return -1;
	for (size_t i = 0; i < x->st->n; i++)
		x->by_path[i] = i;
	cmp_set = x->st;
	qsort(x->by_path, x->st->n, sizeof(*x->by_path), cmp_index);
	return 0;
}

static long state_find(const struct mb_incr *x, const char *path)
{
	size_t lo = 0, hi = x->st->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(x->st->v[x->by_path[mid]].path, path);

		if (c == 0)
			return (long)x->by_path[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* The state's maps: an increment (x->incremental) keeps them in memory
 * to compare with its base; a full spills them to spill_dir. */
static int state_init(struct mb_incr *x, const struct mb_set *st, const char *spill_dir,
		      struct mb_error *e)
{
	size_t n = st->n ? st->n : 1;

	x->st = st;
	x->n_state = st->n;
	x->have = calloc(n, sizeof(*x->have));
	if (x->incremental) {
		x->maps = calloc(n, sizeof(*x->maps));
		x->kinds = calloc(n, 1);
	}
	if (!x->have || (x->incremental && (!x->maps || !x->kinds || by_path_build(x) < 0)))
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to map the blocks");
	return x->incremental ? 0 : mb_mapspill_open(&x->spill, spill_dir, e);
}

/* The state entry ent is (a copy of, on several devices), or -1. */
static long state_index(struct mb_incr *x, const struct mb_entry *ent)
{
	long i;

	if (ent >= x->st->v && ent < x->st->v + x->st->n)
		return ent - x->st->v;
	pthread_mutex_lock(&x->lock);
	i = by_path_build(x) < 0 ? -2 : state_find(x, ent->path);
	pthread_mutex_unlock(&x->lock);
	return i;
}

/* A full's map of state entry i is whole: to the spill, out of memory. */
static int spill_map(struct mb_incr *x, size_t i, struct mb_blockmap *m, struct mb_error *e)
{
	int rc;

	pthread_mutex_lock(&x->lock);
	rc = mb_mapspill_put(x->spill, i, m, e);
	pthread_mutex_unlock(&x->lock);
	mb_blockmap_free(m);
	return rc;
}

/* ---- hashing on the way ----
 * The hasher only looks at the bytes: a tap (common/tap.h) over the
 * caller's emit, so the extent reader still fills the image writer's
 * buffer in place and the hasher reads the bytes there. */
struct hash_emit {
	struct mb_tap tap;	/* next: the caller's emit, NULL: hash only (the pre-pass) */
	struct mb_blockhasher bh;
	struct mb_blockrange br;	/* a segment's (hash_piece) */
};

static int hash_see(void *arg, const void *buf, size_t len, struct mb_error *e)
{
	return mb_blockhasher_update(&((struct hash_emit *)arg)->bh, buf, len, e);
}

/* Reads state entry i through inner, hashing it into maps[i] (a full:
 * into the spill).  When the image writer takes the whole file, its
 * checksum is the map's file hash: the bytes are hashed whole once. */
static int hash_file(struct mb_incr *x, size_t i, const struct mb_entry *ent, mb_data_fn inner,
		     void *inner_arg, mb_emit_fn emit, void *emit_arg, struct mb_error *e)
{
	struct hash_emit h = { .tap = { hash_see, &h, emit, emit_arg } };
	struct mb_blockmap one = { 0 }, *m = x->maps ? &x->maps[i] : &one;
	void *writer = NULL;
	int rc;

	if (mb_blockhasher_init(&h.bh, m, x->block_size, ent->size, e) < 0)
		return -1;
	h.bh.no_whole = emit && mb_tap_target(emit, emit_arg, &writer) == mb_image_emit &&
			mb_image_emit_file_hash(writer, ent, NULL);
	rc = inner(inner_arg, ent, mb_tap_emit, &h.tap, e);
	if (rc == 0)
		rc = mb_blockhasher_final(&h.bh, e);
	if (rc == 0 && h.bh.no_whole && !mb_image_emit_file_hash(writer, ent, m->file_hash))
		rc = mb_fail(e, MB_ERR_INTERNAL, 0, "no writer's checksum of '%s'", ent->path);
	if (rc < 0) {
		mb_blockhasher_abort(&h.bh);
		mb_blockmap_free(&one);
		return -1;
	}
	if (!x->maps && spill_map(x, i, m, e) < 0)
		return -1;
	x->have[i] = true;
	return 0;
}

static int piece_see(void *arg, const void *buf, size_t len, struct mb_error *e)
{
	return mb_blockrange_update(&((struct hash_emit *)arg)->br, buf, len, e);
}

/* The map a segment of state file i hashes into. */
static struct mb_blockmap *piece_map(struct mb_incr *x, size_t i)
{
	return x->maps ? &x->maps[i] : &x->pieces[i].map;
}

/* Under x->lock: state file i's pieces, NULL when out of memory. */
static struct incr_pieces *pieces_of(struct mb_incr *x, size_t i)
{
	if (!x->pieces)
		x->pieces = calloc(x->n_state ? x->n_state : 1, sizeof(*x->pieces));
	return x->pieces ? &x->pieces[i] : NULL;
}

/* Under x->lock: whether the segment at off was hashed already (a rescue
 * image streams it again: the first map stays), else the map is there. */
static int piece_begin(struct mb_incr *x, size_t i, const struct mb_entry *ent, bool *again,
		       struct mb_error *e)
{
	struct incr_pieces *p = pieces_of(x, i);

	if (!p)
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to hash the blocks");
	*again = false;
	for (size_t k = 0; k < p->n_done && !*again; k++)
		*again = p->done[k] == ent->seg_offset;
	if (*again || p->started)
		return 0;
	if (mb_blockmap_alloc(piece_map(x, i), x->block_size, ent->size, e) < 0)
		return -1;
	p->started = true;
	return 0;
}

/* Under x->lock: the segment's edges merged, the segment counted; the map
 * is whole once every byte of the file was hashed. */
static int piece_end(struct mb_incr *x, size_t i, const struct mb_entry *ent,
		     struct mb_blockrange *br, struct mb_error *e)
{
	struct incr_pieces *p = pieces_of(x, i);
	uint64_t *v = p ? realloc(p->done, (p->n_done + 1) * sizeof(*v)) : NULL;

	if (!v)
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to hash the blocks");
	p->done = v;
	for (size_t k = 0; k < br->n_edges; k++)
		if (mb_blockedge_merge(piece_map(x, i), &p->edges, &br->edges[k], e) < 0)
			return -1;
	br->n_edges = 0;
	p->done[p->n_done++] = ent->seg_offset;
	p->done_bytes += ent->seg_length;
	x->have[i] = p->done_bytes == ent->size && p->edges.n == 0;
	if (x->have[i] && !x->maps) {	/* (the lock is held: put, not spill_map) */
		if (mb_mapspill_put(x->spill, i, &p->map, e) < 0)
			return -1;
		mb_blockmap_free(&p->map);
	}
	return 0;
}

/* A segment of state file i read through inner, its blocks hashed into
 * the file's map on the way. */
static int hash_piece(struct mb_incr *x, size_t i, const struct mb_entry *ent, mb_data_fn inner,
		      void *inner_arg, mb_emit_fn emit, void *emit_arg, struct mb_error *e)
{
	struct hash_emit h = { .tap = { piece_see, &h, emit, emit_arg } };
	bool again;
	int rc;

	pthread_mutex_lock(&x->lock);
	rc = piece_begin(x, i, ent, &again, e);
	pthread_mutex_unlock(&x->lock);
	if (rc < 0 || again)
		return rc < 0 ? -1 : inner(inner_arg, ent, emit, emit_arg, e);
	if (mb_blockrange_init(&h.br, piece_map(x, i), ent->seg_offset, ent->seg_length, e) < 0)
		return -1;
	if (inner(inner_arg, ent, mb_tap_emit, &h.tap, e) < 0 ||
	    mb_blockrange_final(&h.br, e) < 0) {
		mb_blockrange_abort(&h.br);
		return -1;
	}
	pthread_mutex_lock(&x->lock);
	rc = piece_end(x, i, ent, &h.br, e);
	pthread_mutex_unlock(&x->lock);
	mb_blockrange_abort(&h.br);	/* (edges not merged) */
	return rc;
}

/* A delta member's bytes [seg_offset, +seg_length): its header, then the
 * runs' blocks read from the file through inner. */
static int emit_delta(struct mb_incr *x, const struct incr_delta *dl, const struct mb_entry *ent,
		      mb_data_fn inner, void *inner_arg, mb_emit_fn emit, void *emit_arg,
		      struct mb_error *e)
{
	uint64_t a = ent->seg_offset, b = ent->seg_offset + ent->seg_length, pos = dl->hdr_len;

	if (a < dl->hdr_len &&
	    emit(emit_arg, dl->hdr + a, (size_t)((b < dl->hdr_len ? b : dl->hdr_len) - a), e) < 0)
		return -1;
	for (size_t k = 0; k < dl->d.n_runs && pos < b; k++) {
		uint64_t off, len, lo, hi;
		struct mb_entry tmp = x->st->v[dl->si];

		mb_delta_run_range(&dl->d, k, &off, &len);
		lo = a > pos ? a : pos;
		hi = b < pos + len ? b : pos + len;
		if (lo < hi) {
			tmp.seg_offset = off + (lo - pos);
			tmp.seg_length = hi - lo;
			if (inner(inner_arg, &tmp, emit, emit_arg, e) < 0)
				return -1;
		}
		pos += len;
	}
	return 0;
}

int mb_incr_data(struct mb_incr *x, const struct mb_entry *ent, mb_data_fn inner,
		 void *inner_arg, mb_emit_fn emit, void *emit_arg, struct mb_error *e)
{
	long i;

	if (mb_entry_delta(ent))
		return emit_delta(x, mb_entry_delta(ent), ent, inner, inner_arg, emit, emit_arg, e);
	if (x->prepass || x->incremental || ent->type != MB_T_FILE)
		return inner(inner_arg, ent, emit, emit_arg, e);
	if ((i = state_index(x, ent)) == -2)
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to hash the blocks");
	if (i < 0)
		return inner(inner_arg, ent, emit, emit_arg, e);
	if (ent->seg_offset != 0 || ent->seg_length != ent->size)	/* several devices */
		return hash_piece(x, (size_t)i, ent, inner, inner_arg, emit, emit_arg, e);
	if (x->have[i])	/* (a file streamed again, to a rescue image, keeps its first map) */
		return inner(inner_arg, ent, emit, emit_arg, e);
	return hash_file(x, (size_t)i, ent, inner, inner_arg, emit, emit_arg, e);
}

/* ---- the incremental: base, pre-pass, plan ---- */

static uint32_t block_size_for(const struct mb_options *o)
{
	return o->db && strcmp(o->db, "postgres") == 0 ? 8192 : 4096;
}


/* The base: --base or the newest complete backup, with the same blocks. */
static int find_base(struct mb_catalog *c, const struct mb_options *o, struct mb_backup_rec *b,
		     struct mb_error *e)
{
	int64_t id = o->base;

	memset(b, 0, sizeof(*b));
	if (id == 0 && mb_catalog_backup_newest(c, &id, e) < 0)
		return -1;
	if (mb_catalog_backup_get(c, id, b, e) < 0) {
		mb_hint(e, "--base takes the id of a complete backup (see mbackup list)");
		return -1;
	}
	if (strcmp(b->status, "complete") != 0) {
		mb_fail(e, MB_ERR_USAGE, 0, "backup %lld is %s, not complete: it cannot be a base",
			(long long)id, b->status);
		mb_hint(e, "give --base a complete backup (see mbackup list)");
		return -1;
	}
	if (b->block_size != block_size_for(o)) {
		mb_fail(e, MB_ERR_USAGE, 0, "backup %lld has blocks of %" PRIu32 " bytes, this "
			"backup %" PRIu32 ": it cannot be the base", (long long)id,
			b->block_size, block_size_for(o));
		mb_hint(e, "a base must be taken with the same --db");
		return -1;
	}
	return 0;
}

int mb_incr_check_base(struct mb_catalog *c, const struct mb_options *o, struct mb_error *e)
{
	struct mb_backup_rec b;
	int rc;

	if (o->base && !o->incremental) {
		mb_fail(e, MB_ERR_USAGE, 0, "option '--base' needs --incremental");
		mb_hint(e, "see mbackup backup --help");
		return -1;
	}
	if (!o->incremental)
		return 0;
	rc = find_base(c, o, &b, e);
	if (rc == 0)
		mb_info("incremental: the base is backup %lld (%s)", (long long)b.run_id, b.kind);
	mb_backup_rec_free(&b);
	return rc;
}

static int load_base(struct mb_incr *x, struct mb_run *r, struct mb_error *e)
{
	if (find_base(r->catalog, r->opt, &x->base, e) < 0)
		return -1;
	return mb_catalog_blockmaps_load(r->catalog, x->base.run_id, &x->base_maps, e);
}

/* Every regular file of the state read once from the split leg, hashed. */
static int prepass(struct mb_incr *x, const struct mb_multi_source *src, struct mb_error *e)
{
	struct mb_entry **v = calloc(x->st->n ? x->st->n : 1, sizeof(*v));
	size_t n = 0;
	mb_data_fn fn;
	void *arg = NULL;
	int rc = -1;

	if (!v)
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to hash the split leg");
	for (size_t i = 0; i < x->st->n; i++)
		if (x->st->v[i].type == MB_T_FILE)
			v[n++] = &x->st->v[i];
	x->prepass = true;
	if (src->open(src->arg, 1, v, n, &fn, &arg, e) < 0)
		goto out;
	for (size_t k = 0; k < n; k++)
		if (hash_file(x, (size_t)(v[k] - x->st->v), v[k], fn, arg, NULL, NULL, e) < 0)
			goto out;
	rc = 0;
out:
	if (arg)
		src->close(src->arg, 1, arg);
	x->prepass = false;
	free(v);
	return rc;
}

/* Whole-file hashes equal, or the base's map was built from segments
 * (none: its every block's hash and its size were compared). */
static bool same_file_hash(const struct mb_blockmap *base, const struct mb_blockmap *cur)
{
	return strcmp(base->file_hash, MB_NO_FILE_HASH) == 0 ||
	       strcmp(base->file_hash, cur->file_hash) == 0;
}

/* The kind of state file i against the base. */
static int classify(struct mb_incr *x, size_t i, struct mb_error *e)
{
	const struct mb_entry *t = &x->st->v[i];
	long bi = mb_blockmaps_find(&x->base_maps, t->path);
	struct incr_delta *dl = &x->deltas[x->n_deltas];

	x->kinds[i] = MB_INCR_WHOLE;
	if (bi < 0 || !x->have[i] || x->base_maps.types[bi] != MB_T_FILE ||
	    x->base_maps.maps[bi].block_size != x->block_size)
		goto whole;
	if (mb_blockmap_diff(&x->base_maps.maps[bi], &x->maps[i], &dl->d, e) < 0)
		return -1;
	if (dl->d.n_runs == 0 && same_file_hash(&x->base_maps.maps[bi], &x->maps[i])) {
		x->kinds[i] = MB_INCR_SAME;
		mb_delta_free(&dl->d);
		return 0;
	}
	if (t->size < (uint64_t)WHOLE_BELOW_BLOCKS * x->block_size || dl->d.data_bytes * 2 >= t->size) {
		mb_delta_free(&dl->d);
		goto whole;
	}
	dl->si = i;
	if (mb_delta_header(&dl->d, &dl->hdr, &dl->hdr_len, e) < 0) {
		mb_delta_free(&dl->d);
		return -1;
	}
	x->kinds[i] = MB_INCR_DELTA;
	x->n_deltas++;
	x->changed_files++;
	x->changed_bytes += dl->d.data_bytes;
	return 0;
whole:
	x->changed_files++;
	x->changed_bytes += t->size;
	return 0;
}

static int plan(struct mb_incr *x, struct mb_error *e)
{
	if (!(x->deltas = calloc(x->st->n ? x->st->n : 1, sizeof(*x->deltas))))
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to plan the increment");
	for (size_t i = 0; i < x->st->n; i++) {
		if (x->st->v[i].type != MB_T_FILE)
			x->kinds[i] = MB_INCR_META;
		else if (classify(x, i, e) < 0)
			return -1;
	}
	return 0;
}

/* ---- the increment's entries ---- */

/* The manifest: every state entry with its kind, then what is gone. */
static int render_manifest(struct mb_incr *x, int64_t run_id, struct mb_error *e)
{
	struct mb_incr_manifest m = { .block_size = x->block_size, .n = x->st->n };
	size_t nb = x->base_maps.n;
	int rc;

	snprintf(m.backup_id, sizeof(m.backup_id), "%lld", (long long)run_id);
	snprintf(m.base_id, sizeof(m.base_id), "%lld", (long long)x->base.run_id);
	m.v = calloc(m.n ? m.n : 1, sizeof(*m.v));
	m.removed = calloc(nb ? nb : 1, sizeof(char *));
	if (!m.v || !m.removed) {
		mb_incr_manifest_free(&m);
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to write the manifest");
	}
	for (size_t i = 0; i < m.n; i++) {
		m.v[i].kind = x->kinds[i];
		m.v[i].ent = x->st->v[i];
		if (x->have[i])
			memcpy(m.v[i].hash, x->maps[i].file_hash, sizeof(m.v[i].hash));
	}
	for (size_t k = 0; k < nb; k++) {
		long i = state_find(x, x->base_maps.paths[k]);

		if (i < 0 || x->st->v[i].type != x->base_maps.types[k])
			m.removed[m.n_removed++] = x->base_maps.paths[k];
	}
	rc = mb_incr_manifest_render(&m, &x->manifest, &x->manifest_len, e);
	mb_incr_manifest_free(&m);
	return rc;
}

/* A deep copy of a state entry (the increment's set owns its entries). */
static int clone_entry(struct mb_entry *d, const struct mb_entry *s)
{
	*d = *s;
	d->path = NULL;
	d->path_pooled = d->extents_pooled = false;
	d->extents = NULL;
	if (mb_entry_copy_rare(d, s) < 0 || !(d->path = strdup(s->path)) ||
	    (s->n_extents && !(d->extents = malloc(s->n_extents * sizeof(*d->extents)))))
		return -1;
	if (s->n_extents)
		memcpy(d->extents, s->extents, s->n_extents * sizeof(*d->extents));
	return 0;
}

static int add_manifest(struct mb_incr *x, struct mb_set *out)
{
	struct mb_entry *m = mb_set_add(out);
	int rc;

	if (!m || !(m->path = strdup(MB_INCR_MANIFEST)))
		return -1;
	m->type = MB_T_FILE;
	m->mode = 0100600;
	m->mtime_sec = time(NULL);
	m->size = m->seg_length = x->manifest_len;
	rc = mb_entry_set_content(m, x->manifest);	/* (the entry's now, or freed) */
	x->manifest = NULL;
	return rc;
}

static int add_delta(struct mb_incr *x, struct mb_set *out, const struct incr_delta *dl)
{
	const struct mb_entry *s = &x->st->v[dl->si];
	struct mb_entry *d = mb_set_add(out);

	if (!d || asprintf(&d->path, "%s%s", s->path, MB_DELTA_SUFFIX) < 0) {
		if (d)
			d->path = NULL;
		return -1;
	}
	d->type = MB_T_FILE;
	d->ino = s->ino;
	d->mode = s->mode;
	d->uid = s->uid;
	d->gid = s->gid;
	d->mtime_sec = s->mtime_sec;
	d->mtime_nsec = s->mtime_nsec;
	d->read_via_fs = s->read_via_fs;
	d->size = d->seg_length = dl->hdr_len + dl->d.data_bytes;
	return mb_entry_set_delta(d, dl);
}

/* The manifest, every directory, the whole files, the delta members. */
static int build_set(struct mb_incr *x, struct mb_set *out, struct mb_error *e)
{
	size_t k = 0;

	memset(out, 0, sizeof(*out));
	if (x->st->root && !(out->root = strdup(x->st->root)))
		goto oom;
	out->dev = x->st->dev;
	if (add_manifest(x, out) < 0)
		goto oom;
	for (size_t i = 0; i < x->st->n; i++) {
		const struct mb_entry *s = &x->st->v[i];
		struct mb_entry *d;

		if (x->kinds[i] == MB_INCR_DELTA) {
			if (add_delta(x, out, &x->deltas[k++]) < 0)
				goto oom;
		} else if (s->type == MB_T_DIR || x->kinds[i] == MB_INCR_WHOLE) {
			if (!(d = mb_set_add(out)) || clone_entry(d, s) < 0)
				goto oom;
		}
	}
	return 0;
oom:
	mb_set_free(out);
	return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to lay out the increment");
}

int mb_incr_prepare(struct mb_run *r, const struct mb_multi_source *src, struct mb_error *e)
{
	struct mb_incr *x = calloc(1, sizeof(*x));
	struct mb_set inc;
	char *dir;
	int rc;

	if (!x)
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to map the blocks");
	r->incr = x;
	pthread_mutex_init(&x->lock, NULL);
	x->block_size = block_size_for(r->opt);
	x->incremental = r->opt->incremental;
	if (!(dir = strdup(r->opt->catalog))) {
		mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to map the blocks");
		return -1;
	}
	rc = state_init(x, &r->set, dirname(dir), e);	/* (the catalog's directory) */
	free(dir);
	if (rc < 0)
		return -1;
	if (!x->incremental)
		return 0;
	if (load_base(x, r, e) < 0 || prepass(x, src, e) < 0 || mb_fault("after-incr-prepass", e) < 0 ||
	    mb_signal_check(e) < 0 || plan(x, e) < 0 || render_manifest(x, r->id, e) < 0 ||
	    build_set(x, &inc, e) < 0)
		return -1;
	mb_info("incremental on backup %lld: %llu of %zu entries changed, %llu bytes of them "
		"(%zu as changed blocks)", (long long)x->base.run_id,
		(unsigned long long)x->changed_files, x->st->n,
		(unsigned long long)x->changed_bytes, x->n_deltas);
	x->state = r->set;	/* the state moves aside; the increment is streamed */
	x->st = &x->state;
	r->set = inc;
	return 0;
}

int mb_incr_plan_tree(struct mb_incr **out, const struct mb_set *state, struct mb_blockmaps *maps,
		      struct mb_blockmaps *base, uint32_t block_size, int64_t id, int64_t base_id,
		      mb_data_fn read, struct mb_set *inc, struct mb_error *e)
{
	struct mb_incr *x = calloc(1, sizeof(*x));

	if (!(*out = x))
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to plan the increment");
	pthread_mutex_init(&x->lock, NULL);
	x->block_size = block_size;
	x->incremental = true;
	if (state_init(x, state, NULL, e) < 0)
		return -1;
	for (size_t i = 0; i < state->n; i++) {
		const struct mb_entry *t = &state->v[i];
		long k = t->type == MB_T_FILE ? mb_blockmaps_find(maps, t->path) : -1;

		if (k >= 0 && maps->maps[k].block_size == block_size && maps->maps[k].size == t->size &&
		    strcmp(maps->maps[k].file_hash, MB_NO_FILE_HASH) != 0) {
			x->maps[i] = maps->maps[k];	/* (moved) */
			memset(&maps->maps[k], 0, sizeof(maps->maps[k]));
			x->have[i] = true;
		} else if (t->type == MB_T_FILE &&
			   hash_file(x, i, t, read, NULL, NULL, NULL, e) < 0) {	/* no map: hash it */
			return -1;
		}
	}
	x->base_maps = *base;	/* (moved) */
	memset(base, 0, sizeof(*base));
	x->base.run_id = base_id;
	if (plan(x, e) < 0 || render_manifest(x, id, e) < 0 || build_set(x, inc, e) < 0)
		return -1;
	mb_info("backward increment: %llu of %zu entries differ, %llu bytes of them (%zu as "
		"changed blocks)", (unsigned long long)x->changed_files, state->n,
		(unsigned long long)x->changed_bytes, x->n_deltas);
	return 0;
}

/* "<base chain>,<id>" or "<id>". */
static char *chain_of(const struct mb_incr *x, int64_t id)
{
	char *s;

	int n = x->incremental ? asprintf(&s, "%s,%lld", x->base.chain, (long long)id)
			       : asprintf(&s, "%lld", (long long)id);

	if (n < 0)
		return NULL;
	return s;
}

/* The rows of mb_incr_record: every state entry in order with its map
 * in memory (an increment), or without a map, then the spilled ones (a
 * full). */
struct record_rows {
	struct mb_incr *x;
	size_t i;
	bool spilled;		/* the state is done: the spill's maps */
};

static int next_row(void *ctx, const char **path, char *type, const struct mb_blockmap **m,
		    struct mb_error *e)
{
	struct record_rows *w = ctx;
	struct mb_incr *x = w->x;
	size_t i;
	int rc;

	for (; !w->spilled && w->i < x->st->n; w->i++) {
		i = w->i;
		if (!x->maps && x->have[i])
			continue;	/* (in the spill) */
		*m = x->maps && x->have[i] ? &x->maps[i] : NULL;
		break;
	}
	if (!w->spilled && w->i < x->st->n) {
		i = w->i++;
	} else {
		if (!x->spill)
			return 0;
		if (!w->spilled && mb_mapspill_rewind(x->spill, e) < 0)
			return -1;
		w->spilled = true;
		if ((rc = mb_mapspill_next(x->spill, &i, m, e)) <= 0)
			return rc;
		if (i >= x->st->n)
			return mb_fail(e, MB_ERR_INTERNAL, 0, "a spilled block map of entry %zu "
				       "in a state of %zu", i, x->st->n);
	}
	*path = x->st->v[i].path;
	*type = x->st->v[i].type;
	return 1;
}

int mb_incr_record(struct mb_run *r, struct mb_error *e)
{
	struct mb_incr *x = r->incr;
	struct mb_backup_rec b = { .run_id = r->id, .block_size = 0 };
	struct record_rows rows = { x, 0, false };
	int rc = -1;

	if (!x)
		return 0;
	b.chain = chain_of(x, r->id);
	if (!b.chain) {
		mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to record the block maps");
		goto out;
	}
	snprintf(b.kind, sizeof(b.kind), "%s", x->incremental ? "incremental" : "full");
	b.base_id = x->incremental ? x->base.run_id : 0;
	b.block_size = x->block_size;
	b.bytes = r->image.bytes;
	b.changed_files = x->incremental ? x->changed_files : x->st->n;
	b.changed_bytes = x->incremental ? x->changed_bytes : r->image.file_bytes;
	rc = mb_catalog_blockmaps_save_each(r->catalog, r->id, next_row, &rows, e) < 0 ||
	     mb_catalog_backup_add(r->catalog, &b, e) < 0 ? -1 : 0;
out:
	free(b.chain);
	return rc;
}

void mb_incr_free(struct mb_incr *x)
{
	if (!x)
		return;
	for (size_t i = 0; x->maps && i < x->n_state; i++)
		mb_blockmap_free(&x->maps[i]);
	for (size_t i = 0; x->pieces && i < x->n_state; i++) {
		mb_blockmap_free(&x->pieces[i].map);
		mb_blockedges_free(&x->pieces[i].edges);
		free(x->pieces[i].done);
	}
	free(x->pieces);
	pthread_mutex_destroy(&x->lock);
	for (size_t k = 0; x->deltas && k < x->n_deltas; k++) {
		mb_delta_free(&x->deltas[k].d);
		free(x->deltas[k].hdr);
	}
	mb_mapspill_close(x->spill);
	mb_set_free(&x->state);
	mb_backup_rec_free(&x->base);
	mb_blockmaps_free(&x->base_maps);
	free(x->by_path);
	free(x->maps);
	free(x->have);
	free(x->kinds);
	free(x->deltas);
	free(x->manifest);
	free(x);
}
