/*
 * `mbackup restore --backup ID --to DIR [--file P ...]` without --from:
 * the catalog names the backup's chain (a full, then forward increments);
 * every image of it is checked before anything is written (present, the
 * backup it should be, each increment naming the base the chain says),
 * then the full is restored (its checksums checked as any restore does),
 * then each increment's members are restored into a staging directory in
 * the target and applied (orchestrator/incr_apply.c), every changed file
 * checked against the checksum its increment recorded.  --file takes from
 * each image only the members the names need, by seeking.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "common/path.h"
#include "orchestrator/catalog_incr.h"
#include "orchestrator/commands.h"
#include "orchestrator/incr_apply.h"
#include "orchestrator/restore_chain.h"
#include "orchestrator/restore_set.h"
#include "orchestrator/restore_target.h"

#define CHAIN_STAGING ".mbackup-chain-"

struct link {
	int64_t id;
	char **media;		/* image paths, one per device */
	size_t n_media;
	bool tape;		/* on a tape: found there by its backup id */
	bool stream;		/* read once, in the chain's order (a pipe):
				 * checked as it is read, not before */
	struct mb_incr_manifest man;	/* increments */
	char **files;		/* --file: the members needed from it */
	size_t n_files;
};

struct chain {
	const struct mb_options *opt;
	struct mb_options ropt;	/* opt without --backup (a tape's image) */
	struct link *v;
	size_t n;
	const struct mb_incr_manifest *last;	/* the point restored */
	int64_t point;				/* the backup asked for */
	char route_text[128];			/* "1,4,7" */
	char **names;		/* --file names, checked */
	size_t n_names;
	bool consolidating;	/* for consolidate: every link read by seeking */
	bool mismatch;		/* the route has another number of images
				 * than --from gives */
	size_t next_from;	/* the next --from to give a link */
	uint64_t images_bytes, files, bytes, checked;
};

static void free_strs(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void chain_free(struct chain *c)
{
	for (size_t k = 0; k < c->n; k++) {
		free_strs(c->v[k].media, c->v[k].n_media);
		free_strs(c->v[k].files, c->v[k].n_files);
		mb_incr_manifest_free(&c->v[k].man);
	}
	free(c->v);
	free(c->names);
}

static int parse_id(const char *s, int64_t *id, struct mb_error *e)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v <= 0) {
		mb_fail(e, MB_ERR_USAGE, 0, "invalid --backup '%s': expected a backup id", s);
		mb_hint(e, "see mbackup list for the ids");
		return -1;
	}
	*id = v;
	return 0;
}

/* A link's medium that can be read only once, named by the catalog:
 * the user gives it again with --from (consolidate cannot read it). */
static int stream_refused(const struct chain *c, const struct link *l, int64_t point,
			  const char *m, struct mb_error *e)
{
	if (c->consolidating) {
		mb_fail(e, MB_ERR_USAGE, 0, "backup %lld (in the chain of %lld) went to '%s', which "
			"cannot be read by seeking: consolidation needs seekable images",
			(long long)l->id, (long long)point, m);
		mb_hint(e, "consolidate a chain on files or a tape; restore this one with --from "
			"for each image and take a new full backup");
		return -1;
	}
	mb_fail(e, MB_ERR_USAGE, 0, "backup %lld (in the chain of %lld) went to '%s', which is "
		"read once, as it is written", (long long)l->id, (long long)point, m);
	mb_hint(e, "give every image of the chain with --from, in its order (the full first): "
		"mbackup restore --backup %lld --from IMAGE ... --to DIR", (long long)point);
	return -1;
}

/* --from for link l: the next n_media of them, in the order given; one
 * --from tape:DEV holds every link's image (found by backup id). */
static int take_froms(struct chain *c, struct link *l, struct mb_error *e)
{
	const struct mb_strlist *f = &c->opt->froms;
	bool one_tape = f->n == 1 && mb_link_medium_of(f->v[0]) == MB_LINK_TAPE;

	if (!one_tape && c->next_from + l->n_media > f->n) {
		c->mismatch = true;
		c->next_from += l->n_media;
		return 0;
	}
	for (size_t i = 0; i < l->n_media; i++) {
		free(l->media[i]);
		if (!(l->media[i] = strdup(f->v[one_tape ? 0 : c->next_from++])))
			return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to read the chain");
	}
	return 0;
}

/* The link's images (the catalog's, or --from's), each there; a file's
 * spec becomes its path. */
static int link_media(struct chain *c, struct mb_catalog *cat, struct link *l, int64_t point,
		      struct mb_error *e)
{
	struct stat st;

	if (mb_catalog_backup_media(cat, l->id, &l->media, &l->n_media, e) < 0)
		return -1;
	if (l->n_media == 0)
		return mb_fail(e, MB_ERR_NOT_FOUND, 0, "backup %lld (in the chain of %lld) has "
			       "no complete image", (long long)l->id, (long long)point);
	if (c->opt->froms.n && (take_froms(c, l, e) < 0 || c->mismatch))
		return c->mismatch ? 0 : -1;
	for (size_t i = 0; i < l->n_media; i++) {
		char *m = l->media[i];
		enum mb_link_medium kind = mb_link_medium_of(m);

		if (kind == MB_LINK_STREAM && !c->opt->froms.n)
			return stream_refused(c, l, point, m, e);
		l->stream = l->stream || kind == MB_LINK_STREAM;
		l->tape = l->tape || kind == MB_LINK_TAPE;
		if (kind == MB_LINK_FILE && strncmp(m, "file:", 5) == 0)
			memmove(m, m + 5, strlen(m + 5) + 1);
		if ((kind == MB_LINK_FILE || kind == MB_LINK_TAPE) &&
		    stat(kind == MB_LINK_TAPE ? m + 5 : m, &st) < 0) {
			mb_fail(e, MB_ERR_NOT_FOUND, errno, "image '%s' of backup %lld (in the chain "
				"of %lld) is missing", m, (long long)l->id, (long long)point);
			mb_hint(e, "backup %lld cannot be restored without it", (long long)point);
			return -1;
		}
	}
	return 0;
}

/* --from gives the route's images, no more, no fewer, standard input once. */
static int froms_fit(struct chain *c, int64_t point, struct mb_error *e)
{
	const struct mb_strlist *f = &c->opt->froms;
	size_t stdin_n = 0;

	for (size_t i = 0; i < f->n; i++)
		stdin_n += strcmp(f->v[i], "-") == 0;
	if (stdin_n > 1)
		return mb_fail(e, MB_ERR_USAGE, 0, "--from - is given %zu times: standard input "
			       "holds one image of the chain", stdin_n);
	if (f->n == 1 && mb_link_medium_of(f->v[0]) == MB_LINK_TAPE)
		return 0;
	if (!c->mismatch && c->next_from == f->n)
		return 0;
	c->mismatch = true;
	mb_fail(e, MB_ERR_USAGE, 0, "backup %lld is restored through %zu image(s) (backups %s); "
		"--from gives %zu", (long long)point, c->next_from, c->route_text, f->n);
	mb_hint(e, "give one --from for each image of the chain, in its order: the full first");
	return -1;
}

/* The chain of route (a backup whose chain restores point) from the
 * catalog: ids, each complete, each with its images. */
static int load_chain(struct chain *c, struct mb_catalog *cat, int64_t route, int64_t point,
		      struct mb_error *e)
{
	struct mb_backup_rec b = { 0 };
	char *p, *save = NULL;
	int rc = -1;

	if (mb_catalog_backup_get(cat, route, &b, e) < 0)
		goto out;
	c->v = calloc(strlen(b.chain) / 2 + 2, sizeof(*c->v));
	if (!c->v) {
		mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to read the chain of backup %lld",
			(long long)point);
		goto out;
	}
	for (p = strtok_r(b.chain, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
		struct mb_backup_rec lb;
		struct link *l = &c->v[c->n++];

		l->id = strtoll(p, NULL, 10);
		if (mb_catalog_backup_get(cat, l->id, &lb, e) < 0)
			goto out;
		mb_backup_rec_free(&lb);
		if (strcmp(lb.status, "complete") != 0) {
			mb_fail(e, MB_ERR_NOT_FOUND, 0, "backup %lld (in the chain of %lld) is %s",
				(long long)l->id, (long long)point, lb.status);
			goto out;
		}
		if (link_media(c, cat, l, point, e) < 0)
			goto out;
		if (strlen(c->route_text) + 24 < sizeof(c->route_text))
			sprintf(c->route_text + strlen(c->route_text), "%s%lld", c->n > 1 ? "," : "",
				(long long)l->id);
	}
	if (!c->n || c->v[c->n - 1].id != route)
		mb_fail(e, MB_ERR_CATALOG, 0, "the chain of backup %lld does not end at it",
			(long long)route);
	else if (!c->opt->froms.n || froms_fit(c, point, e) == 0)
		rc = 0;
out:
	mb_backup_rec_free(&b);
	return rc;
}

static void chain_reset(struct chain *c)
{
	char **names = c->names;
	size_t n_names = c->n_names;

	c->names = NULL;
	chain_free(c);
	c->v = NULL;
	c->n = 0;
	c->last = NULL;
	c->images_bytes = 0;
	c->mismatch = false;
	c->next_from = 0;
	c->route_text[0] = '\0';
	c->names = names;
	c->n_names = n_names;
}

static int check_chain(struct chain *c, struct mb_error *e);

/* The cheapest route to point whose images are all there and right: its
 * own chain, a consolidation of it, or a consolidation of a later point
 * and a backward increment.  A route that fails its checks gives way to
 * the next; if none is left, the first route's error stands.  With --from
 * only the routes with as many images as given are tried (silently: the
 * user chose the images); if none has, the first route's count is named. */
static int pick_route(struct chain *c, int64_t point, struct mb_error *e)
{
	struct mb_catalog *cat = NULL;
	struct mb_backup_rec b = { 0 };
	struct mb_error first = { 0 }, count = { 0 };
	int64_t *routes = NULL;
	size_t n = 0;
	int rc = -1;

	if (mb_catalog_open(&cat, c->opt->catalog, e) < 0 || mb_catalog_backup_get(cat, point, &b, e) < 0 ||
	    mb_catalog_backup_routes(cat, point, &routes, &n, e) < 0)
		goto out;
	if (n == 0) {
		mb_fail(e, MB_ERR_NOT_FOUND, 0, "backup %lld is %s: no image restores it",
			(long long)point, b.status);
		goto out;
	}
	for (size_t i = 0; i < n && rc < 0; i++) {
		struct mb_error one = { 0 };

		chain_reset(c);
		rc = load_chain(c, cat, routes[i], point, &one) < 0 || check_chain(c, &one) < 0 ? -1 : 0;
		if (rc < 0 && c->mismatch) {
			if (!count.code)
				count = one;
			continue;
		}
		if (rc < 0 && i + 1 < n)
			mb_warn("backup %lld cannot be restored through backup %lld: %s; trying the next way",
				(long long)point, (long long)routes[i], one.msg);
		if (rc < 0 && !first.code)
			first = one;
	}
	c->point = point;
	if (rc < 0)
		*e = first.code ? first : count;
	else if (c->v[c->n - 1].id != point)
		mb_info("backup %lld: restoring through backup %lld (%zu image(s))", (long long)point,
			(long long)c->v[c->n - 1].id, c->n);
out:
	free(routes);
	mb_backup_rec_free(&b);
	mb_catalog_close(cat);
	return rc;
}

/* Every image of the link holds this backup (its index says so). */
static int check_images(struct chain *c, const struct link *l, struct mb_error *e)
{
	struct mb_image_set s = { 0 };
	char want[32];
	int rc = 0;

	struct mb_options q = c->ropt;

	snprintf(want, sizeof(want), "%lld", (long long)l->id);
	q.backup = l->tape ? want : NULL;
	if (mb_set_open(&s, &q, (const char *const *)l->media, l->n_media, MB_SET_HELD, e) < 0)
		return -1;
	rc = mb_chain_check_set(&s, want, e);
	if (rc == 0)	/* an image cut short: refused before anything is written */
		rc = mb_set_refuse_broken(&s, true, mb_set_missing(&s, NULL, NULL, 0), e);
	for (size_t i = 0; i < s.n; i++)
		c->images_bytes += s.v[i].idx->image_size;
	mb_set_close(&s);
	return rc;
}

static int read_all(const char *path, char **text, size_t *len, struct mb_error *e)
{
	FILE *f = fopen(path, "re");
	long n;

	*text = NULL;
	if (!f)
		return mb_fail(e, MB_ERR_IO, errno, "unable to read '%s'", path);
	if (fseek(f, 0, SEEK_END) < 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) < 0 ||
	    !(*text = malloc((size_t)n + 1)) || fread(*text, 1, (size_t)n, f) != (size_t)n) {
		fclose(f);
		free(*text);
		*text = NULL;
		return mb_fail(e, MB_ERR_IO, errno, "unable to read '%s'", path);
	}
	fclose(f);
	*len = (size_t)n;
	return 0;
}

/* Restores the members `files` of link l (all: n 0) into dir; a link's
 * manifest (quiet) shows no progress of its own, only the links do. */
static int restore_link_as(struct chain *c, const struct link *l, const char *dir, bool force,
			   char *const *files, size_t n, bool quiet, struct mb_error *e)
{
	struct mb_options q = c->ropt;
	char want[32];
	struct mb_set_restore_opts o = {
		.media = (const char *const *)l->media, .n_media = l->n_media, .to = dir,
		.force = force, .files = (const char *const *)files, .n_files = n,
		.report = stdout, .opt = &q, .chain_link = want,
	};
	struct mb_set_stats st;
	int rc;

	snprintf(want, sizeof(want), "%lld", (long long)l->id);
	q.backup = l->tape ? want : NULL;	/* (the tape is positioned on it) */
	if (quiet)
		q.progress = (char *)"none";
	rc = mb_set_restore(&o, &st, e);
	mb_set_stats_free(&st);
	return rc;
}

static int restore_link(struct chain *c, const struct link *l, const char *dir, bool force,
			char *const *files, size_t n, struct mb_error *e)
{
	return restore_link_as(c, l, dir, force, files, n, false, e);
}

/* Increment k's manifest (restored, its checksum checked, at path)
 * parsed and checked to name the base the chain says. */
static int load_manifest(struct chain *c, size_t k, const char *path, struct mb_error *e)
{
	struct link *l = &c->v[k];
	char want[32], base[32], *text = NULL;
	size_t len = 0;
	int rc = -1;

	snprintf(want, sizeof(want), "%lld", (long long)l->id);
	snprintf(base, sizeof(base), "%lld", (long long)c->v[k - 1].id);
	if (read_all(path, &text, &len, e) < 0 ||
	    mb_incr_manifest_parse(text, len, &l->man, l->media[0], e) < 0)
		goto out;
	if (strcmp(l->man.backup_id, want) != 0 || strcmp(l->man.base_id, base) != 0) {
		mb_fail(e, MB_ERR_CORRUPT, 0, "increment '%s' is backup %s on base %s, but the chain "
			"has backup %s on base %s", l->media[0], l->man.backup_id, l->man.base_id,
			want, base);
		goto out;
	}
	rc = 0;
out:
	free(text);
	return rc;
}

/* Increment k's manifest, restored alone into tmp, then loaded. */
static int read_manifest(struct chain *c, size_t k, const char *tmp, struct mb_error *e)
{
	struct link *l = &c->v[k];
	char *dir = NULL, *path = NULL, *files[] = { MB_INCR_MANIFEST };
	int rc = -1;

	if (asprintf(&dir, "%s/%zu", tmp, k) < 0 || asprintf(&path, "%s/%s", dir, MB_INCR_MANIFEST) < 0) {
		mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to read the chain");
		goto out;
	}
	if (restore_link_as(c, l, dir, false, files, 1, true, e) < 0 || load_manifest(c, k, path, e) < 0)
		goto out;
	rc = 0;
out:
	if (path)
		unlink(path);
	if (dir)
		rmdir(dir);
	free(dir);
	free(path);
	return rc;
}

/* --file takes single members: every image must be reached by seeking. */
static int stream_files_refused(const struct chain *c, struct mb_error *e)
{
	for (size_t k = 0; k < c->n; k++)
		if (c->v[k].stream) {
			mb_fail(e, MB_ERR_USAGE, 0, "--file through a chain reads its images by "
				"seeking: '%s' (backup %lld) is read once, in order",
				c->v[k].media[0], (long long)c->v[k].id);
			mb_hint(e, "restore the whole point, or give the chain as files or a tape");
			return -1;
		}
	return 0;
}

/* Everything checked before the target is touched; a link read once (a
 * pipe) is checked as it is read, in the chain's order. */
static int check_chain(struct chain *c, struct mb_error *e)
{
	char tmp[] = "/tmp/mbackup-chain-XXXXXX";
	const char *t = getenv("TMPDIR");
	char *dir = NULL;
	int rc = 0;

	if (c->n_names && stream_files_refused(c, e) < 0)
		return -1;
	if (asprintf(&dir, "%s/mbackup-chain-XXXXXX", t && *t ? t : "/tmp") < 0)
		dir = NULL;
	if (!mkdtemp(dir ? dir : tmp)) {
		free(dir);
		return mb_fail(e, MB_ERR_IO, errno, "unable to make a directory for the manifests");
	}
	for (size_t k = 0; k < c->n && rc == 0; k++)
		rc = !c->v[k].stream && (check_images(c, &c->v[k], e) < 0 ||
					 (k > 0 && read_manifest(c, k, dir ? dir : tmp, e) < 0)) ? -1 : 0;
	rmdir(dir ? dir : tmp);
	free(dir);
	c->last = c->n > 1 ? &c->v[c->n - 1].man : NULL;
	return rc;
}

/* ---- --file ---- */

static bool below(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	return strncmp(path, dir, n) == 0 && path[n] == '/';
}

/* A name asked for, or below one (its content). */
static bool asked(const struct chain *c, const char *path)
{
	for (size_t i = 0; i < c->n_names; i++)
		if (strcmp(path, c->names[i]) == 0 || below(path, c->names[i]))
			return true;
	return false;
}

/* Asked for, or a directory above a name (made so the name has a place). */
static bool wanted(void *arg, const char *path)
{
	const struct chain *c = arg;

	if (asked(c, path))
		return true;
	for (size_t i = 0; i < c->n_names; i++)
		if (below(c->names[i], path))
			return true;
	return false;
}

static char kind_in(const struct link *l, const char *path);

/* Checked at the last increment: every file an increment of the chain
 * wrote (one read of each, however many increments touched it). */
static bool touched(void *arg, const char *path)
{
	const struct chain *c = arg;

	for (size_t k = 1; k < c->n; k++) {
		char kind = kind_in(&c->v[k], path);

		if (kind == MB_INCR_WHOLE || kind == MB_INCR_DELTA)
			return true;
	}
	return false;
}

/* Checked by an earlier increment: nothing (the last checks it all). */
static bool none(void *arg, const char *path)
{
	return false;
}

static char kind_in(const struct link *l, const char *path)
{
	const struct mb_incr_entry *x = mb_incr_manifest_find(&l->man, path);

	return x ? x->kind : 0;
}

static int add_file(struct link *l, const char *path, bool delta, struct mb_error *e)
{
	char **v = realloc(l->files, (l->n_files + 1) * sizeof(*v));

	if (!v)
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to plan the restore");
	l->files = v;
	if (delta ? asprintf(&v[l->n_files], "%s%s", path, MB_DELTA_SUFFIX) < 0
		  : !(v[l->n_files] = strdup(path)))
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to plan the restore");
	l->n_files++;
	return 0;
}

/* The members each image gives the names: a file from the last image
 * holding it whole (the full, if none), then every delta after that. */
static int plan_files(struct chain *c, struct mb_error *e)
{
	for (size_t i = 0; i < c->n_names; i++)
		if (!mb_incr_manifest_find(c->last, c->names[i]))
			return mb_fail(e, MB_ERR_NOT_FOUND, 0, "'%s' is not in backup %s", c->names[i],
				       c->last->backup_id);
	for (size_t i = 0; i < c->last->n; i++) {
		const struct mb_entry *t = &c->last->v[i].ent;
		size_t origin = 0;

		if (t->type != MB_T_FILE || !asked(c, t->path))
			continue;
		for (size_t k = c->n - 1; k > 0 && !origin; k--)
			origin = kind_in(&c->v[k], t->path) == MB_INCR_WHOLE ? k : 0;
		if (add_file(&c->v[origin], t->path, false, e) < 0)
			return -1;
		for (size_t k = origin + 1; k < c->n; k++)
			if (kind_in(&c->v[k], t->path) == MB_INCR_DELTA && add_file(&c->v[k], t->path, true, e) < 0)
				return -1;
	}
	return 0;
}

/* ---- applying ---- */

/* Increment k: its members into a staging directory of the target, then
 * applied to the tree. */
static int apply_link(struct chain *c, size_t k, int tree, struct mb_error *e)
{
	struct link *l = &c->v[k];
	struct mb_incr_apply a = { .tree = tree, .staging = -1, .target = c->opt->to,
				   .wanted = c->n_names ? wanted : NULL, .wanted_arg = c,
				   .verify = k + 1 == c->n ? touched : none, .verify_arg = c };
	char name[64], *dir = NULL, *man = NULL;
	int rc = -1;

	snprintf(name, sizeof(name), CHAIN_STAGING "%lld", (long long)l->id);
	mb_rm_tree(tree, name);	/* (what an interrupted restore left) */
	if (asprintf(&dir, "%s/%s", c->opt->to, name) < 0)
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to restore to '%s'", c->opt->to);
	if (c->n_names && l->n_files == 0) {	/* nothing of it asked: only the names' lines */
		if (mkdirat(tree, name, 0700) < 0) {
			mb_fail(e, MB_ERR_IO, errno, "unable to make '%s'", dir);
			goto out;
		}
	} else if (restore_link(c, l, dir, false, l->files, l->n_files, e) < 0) {
		goto out;
	}
	if (l->stream && (asprintf(&man, "%s/%s", dir, MB_INCR_MANIFEST) < 0 ||
			  load_manifest(c, k, man, e) < 0)) {	/* (read with the rest) */
		if (!e->code)
			mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to read the chain");
		goto out;
	}
	if ((a.staging = openat(tree, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		mb_fail(e, MB_ERR_IO, errno, "unable to open '%s'", dir);
		goto out;
	}
	rc = mb_incr_apply(&a, &l->man, e);
	c->files += a.files;
	c->bytes += a.bytes;
	c->checked += a.checked;
	mb_info("applied increment %lld: %llu files, %llu bytes%s", (long long)l->id,
		(unsigned long long)a.files, (unsigned long long)a.bytes,
		k + 1 == c->n ? ", every file the chain changed checked" : "");
out:
	if (a.staging >= 0)
		close(a.staging);
	mb_rm_tree(tree, name);
	free(dir);
	free(man);
	return rc;
}

/* The full, or (--file) only the files it gives, into the target. */
static int restore_full(struct chain *c, struct mb_error *e)
{
	struct link *l = &c->v[0];
	struct mb_target *t = NULL;

	if (!c->n_names || l->n_files)
		return restore_link(c, l, c->opt->to, c->opt->force, l->files, l->n_files, e);
	if (mb_make_parents(c->opt->to, MB_ERR_TARGET, e) < 0 ||
	    mb_target_open(&t, c->opt->to, c->opt->force, e) < 0)
		return -1;
	return mb_target_close(t, e);
}

static void report(const struct chain *c)
{
	if (c->opt->output && strcmp(c->opt->output, "json") == 0) {
		json_t *o = json_object(), *ids = json_array();

		for (size_t k = 0; k < c->n; k++)
			json_array_append_new(ids, json_integer(c->v[k].id));
		json_object_set_new(o, "backup", json_integer(c->point));
		json_object_set_new(o, "chain", ids);
		json_object_set_new(o, "images_size", json_integer((json_int_t)c->images_bytes));
		json_object_set_new(o, "files_applied", json_integer((json_int_t)c->files));
		json_object_set_new(o, "bytes_applied", json_integer((json_int_t)c->bytes));
		json_dumpf(o, stdout, JSON_COMPACT);
		printf("\n");
		json_decref(o);
		return;
	}
	if (c->n == 1 && c->v[0].id == c->point)
		printf("restored backup %lld to '%s' from its full image\n",
		       (long long)c->point, c->opt->to);
	else if (c->n == 1)
		printf("restored backup %lld to '%s' from its consolidation, backup %lld\n",
		       (long long)c->point, c->opt->to, (long long)c->v[0].id);
	else
		printf("restored backup %lld to '%s' through %zu images (backups %s): a full and "
		       "%zu increment(s) changing %llu files (%llu bytes)\n", (long long)c->point,
		       c->opt->to, c->n, c->route_text, c->n - 1, (unsigned long long)c->files,
		       (unsigned long long)c->bytes);
}

static int run_chain(struct chain *c, struct mb_error *e)
{
	int tree, rc = 0;

	if (c->n_names && c->n > 1 && plan_files(c, e) < 0)
		return -1;
	if (c->n == 1)		/* a full: as any image */
		return restore_link(c, &c->v[0], c->opt->to, c->opt->force, c->names, c->n_names, e);
	if (restore_full(c, e) < 0)
		return -1;
	if ((tree = open(c->opt->to, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		return mb_fail(e, MB_ERR_TARGET, errno, "unable to open '%s'", c->opt->to);
	for (size_t k = 1; k < c->n && rc == 0; k++)
		rc = apply_link(c, k, tree, e);
	close(tree);
	return rc;
}

int mb_restore_chain(const struct mb_options *opt, struct mb_error *e)
{
	struct chain c = { .opt = opt, .ropt = *opt };
	int64_t id;
	int rc = -1;

	c.ropt.backup = NULL;
	c.names = opt->files.v;		/* (borrowed: chain_free frees only the array) */
	c.n_names = opt->files.n;
	if (parse_id(opt->backup, &id, e) < 0 || pick_route(&c, id, e) < 0)
		goto out;
	for (size_t i = 0; i < c.n_names; i++)
		if (mb_target_check_path(c.names[i], e) < 0)
			goto out;
	rc = run_chain(&c, e);
	if (rc == 0)
		report(&c);
out:
	c.names = NULL;
	chain_free(&c);
	return rc;
}

int mb_restore_chain_to(const struct mb_options *opt, int64_t point, const char *to,
			struct mb_error *e)
{
	struct mb_options o = *opt;
	struct chain c = { .opt = &o, .consolidating = true };
	int rc;

	o.to = (char *)to;
	o.force = false;
	o.backup = NULL;
	o.files = (struct mb_strlist){ 0 };
	o.froms = (struct mb_strlist){ 0 };
	c.ropt = o;
	rc = pick_route(&c, point, e) < 0 || run_chain(&c, e) < 0 ? -1 : 0;
	chain_free(&c);
	return rc;
}
