/* --order-file: reading the file and reordering the set; see order_file.h. */
#include "orchestrator/order_file.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "image/image.h"

#define HINT_PATHS "give paths relative to the source, as mbackup ls prints them " \
		   "(e.g. base/16384/16397), or globs of them"

/* ---- reading ---- */

/* The line's path: blanks around it, leading "./" and trailing '/'
 * dropped, in place; NULL for a blank line or a comment. */
static char *clean(char *s)
{
	char *end;

	s += strspn(s, " \t");
	end = s + strlen(s);
	while (end > s && strchr(" \t\r\n", end[-1]))
		*--end = '\0';
	if (*s == '\0' || *s == '#')
		return NULL;
	while (s[0] == '.' && s[1] == '/')
		s += 2 + strspn(s + 2, "/");
	while (end > s + 1 && end[-1] == '/')
		*--end = '\0';
	return s;
}

/* A path below the source: relative, no "..", not the source itself. */
static bool below_source(const char *s)
{
	if (*s == '/' || *s == '\0' || strcmp(s, ".") == 0)
		return false;
	for (const char *c = s; c; c = strchr(c, '/')) {
		c += *c == '/';
		if (c[0] == '.' && c[1] == '.' && (c[2] == '/' || c[2] == '\0'))
			return false;
	}
	return true;
}

static int bad_line(const char *path, unsigned lineno, const char *text, struct mb_error *e)
{
	char *p = mb_image_printable(text);

	mb_fail(e, MB_ERR_USAGE, 0, "order file '%s' line %u: '%s' is not a path below the source",
		path, lineno, p ? p : "?");
	mb_hint(e, HINT_PATHS);
	free(p);
	return -1;
}

static int add_line(struct mb_order_file *of, size_t *cap, const char *text, unsigned lineno,
		    struct mb_error *e)
{
	if (of->n == *cap) {
		size_t c = *cap ? 2 * *cap : 64;
		struct mb_order_line *nv = realloc(of->v, c * sizeof(*nv));

		if (!nv)
			return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to read the order file");
		of->v = nv;
		*cap = c;
	}
	if (!(of->v[of->n].text = strdup(text)))
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to read the order file");
	of->v[of->n].lineno = lineno;
	of->v[of->n++].glob = strpbrk(text, "*?[\\") != NULL;
	return 0;
}

int mb_order_file_load(const char *path, struct mb_order_file *of, struct mb_error *e)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL, *s;
	size_t len = 0, cap = 0;
	unsigned lineno = 0;
	int rc = -1;

	memset(of, 0, sizeof(*of));
	if (!f) {
		mb_fail(e, MB_ERR_USAGE, errno, "unable to read the order file '%s'", path);
		mb_hint(e, "--order-file names a file of paths below the source, one a line");
		return -1;
	}
	if (!(of->path = strdup(path))) {
		mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to read the order file");
		goto out;
	}
	errno = 0;
	while (getline(&buf, &len, f) >= 0) {
		lineno++;
		if (!(s = clean(buf)))
			continue;
		if (!below_source(s)) {	/* (named as written, not cleaned) */
			bad_line(path, lineno, buf + strspn(buf, " \t"), e);
			goto out;
		}
		if (add_line(of, &cap, s, lineno, e) < 0)
			goto out;
	}
	if (ferror(f)) {
		mb_fail(e, MB_ERR_USAGE, errno ? errno : EIO, "unable to read the order file '%s'", path);
		goto out;
	}
	rc = 0;
out:
	free(buf);
	fclose(f);
	if (rc < 0)
		mb_order_file_free(of);
	return rc;
}

void mb_order_file_free(struct mb_order_file *of)
{
	for (size_t i = 0; i < of->n; i++)
		free(of->v[i].text);
	free(of->v);
	free(of->path);
	memset(of, 0, sizeof(*of));
}

/* ---- reordering ---- */

struct reorder {
	struct mb_entry **v;	/* the set, logical order */
	size_t n;
	size_t *by_name;	/* indices into v sorted by strcmp of the path */
	bool *placed;
	struct mb_entry **out;
	size_t n_out;
	size_t *hits;		/* one line's matches, indices into v */
	size_t n_hits;
};

static int cmp_name(const void *a, const void *b, void *arg)
{
	struct mb_entry **v = arg;

	return strcmp(v[*(const size_t *)a]->path, v[*(const size_t *)b]->path);
}

static int cmp_index(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return x < y ? -1 : x > y;
}

/* The first place in by_name whose path is >= s. */
static size_t lower_bound(const struct reorder *o, const char *s)
{
	size_t lo = 0, hi = o->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(o->v[o->by_name[mid]]->path, s) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The entry named s, or n. */
static size_t find(const struct reorder *o, const char *s)
{
	size_t k = lower_bound(o, s);

	return k < o->n && strcmp(o->v[o->by_name[k]]->path, s) == 0 ? o->by_name[k] : o->n;
}

/* Every entry below directory i goes to the line's matches. */
static int add_below(struct reorder *o, size_t i, struct mb_error *e)
{
	size_t plen = strlen(o->v[i]->path);
	char *prefix = malloc(plen + 2);

	if (!prefix)
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to order the set");
	memcpy(prefix, o->v[i]->path, plen);
	memcpy(prefix + plen, "/", 2);
	for (size_t k = lower_bound(o, prefix);
	     k < o->n && strncmp(o->v[o->by_name[k]]->path, prefix, plen + 1) == 0; k++)
		o->hits[o->n_hits++] = o->by_name[k];
	free(prefix);
	return 0;
}

static int add_hit(struct reorder *o, size_t i, struct mb_error *e)
{
	if (o->v[i]->type == MB_T_DIR)
		return add_below(o, i, e);
	o->hits[o->n_hits++] = i;
	return 0;
}

/* The line's matches in o->hits: a glob is tried on the entries that
 * share its literal start, a path is looked up. */
static int match_line(struct reorder *o, const struct mb_order_line *l, struct mb_error *e)
{
	size_t plen = strcspn(l->text, "*?[\\"), i;
	char *prefix;

	o->n_hits = 0;
	if (!l->glob)
		return (i = find(o, l->text)) < o->n ? add_hit(o, i, e) : 0;
	if (!(prefix = strndup(l->text, plen)))
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to order the set");
	for (size_t k = lower_bound(o, prefix);
	     k < o->n && strncmp(o->v[o->by_name[k]]->path, prefix, plen) == 0; k++)
		if (fnmatch(l->text, o->v[o->by_name[k]]->path, FNM_PATHNAME) == 0 &&
		    add_hit(o, o->by_name[k], e) < 0)
			break;
	free(prefix);
	return e->code ? -1 : 0;
}

/* The line's matches, in logical order, go out (a hard link as its
 * first name); each entry once. */
static void place_hits(struct reorder *o, size_t *moved)
{
	qsort(o->hits, o->n_hits, sizeof(*o->hits), cmp_index);
	for (size_t k = 0; k < o->n_hits; k++) {
		size_t i = o->hits[k];

		if (o->v[i]->type == MB_T_HARDLINK)
			i = find(o, mb_entry_link(o->v[i]));
		if (i >= o->n || o->placed[i] || o->v[i]->type == MB_T_DIR)
			continue;
		o->placed[i] = true;
		o->out[o->n_out++] = o->v[i];
		*moved += 1;
	}
}

static int reorder_lines(struct reorder *o, const struct mb_order_file *of, size_t *moved,
			 struct mb_error *e)
{
	const struct mb_order_line *first = NULL;
	size_t unmatched = 0;

	for (size_t j = 0; j < of->n; j++) {
		if (match_line(o, &of->v[j], e) < 0)
			return -1;
		if (o->n_hits == 0 && unmatched++ == 0)
			first = &of->v[j];
		place_hits(o, moved);
	}
	if (unmatched) {
		char *p = mb_image_printable(first->text);

		mb_warn("order file '%s': %zu of %zu line(s) match nothing in the backup set "
			"(the first, line %u: '%s')", of->path, unmatched, of->n, first->lineno,
			p ? p : "?");
		free(p);
	}
	return 0;
}

int mb_order_file_apply(const struct mb_order_file *of, struct mb_entry **v, size_t n,
			size_t *moved, struct mb_error *e)
{
	struct reorder o = { v, n, calloc(n + 1, sizeof(size_t)), calloc(n + 1, sizeof(bool)),
			     calloc(n + 1, sizeof(*v)), 0, calloc(n + 1, sizeof(size_t)), 0 };
	int rc = -1;

	*moved = 0;
	if (!o.by_name || !o.placed || !o.out || !o.hits) {
		mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to order the set");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		o.by_name[i] = i;
		if (v[i]->type == MB_T_DIR) {	/* every directory first */
			o.placed[i] = true;
			o.out[o.n_out++] = v[i];
		}
	}
	qsort_r(o.by_name, n, sizeof(*o.by_name), cmp_name, v);
	if (reorder_lines(&o, of, moved, e) < 0)
		goto out;
	for (size_t i = 0; i < n; i++)
		if (!o.placed[i])
			o.out[o.n_out++] = v[i];
	memcpy(v, o.out, n * sizeof(*v));
	rc = 0;
out:
	free(o.by_name);
	free(o.placed);
	free(o.out);
	free(o.hits);
	return rc;
}
