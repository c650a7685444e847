/* A full's block maps spilled to an unnamed file; see incremental_spill.h. */
#include "orchestrator/incremental_spill.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SPILL_BUF (64u << 10)

/* One record: this head, then n hashes (native order: the file never
 * leaves the process that wrote it). */
struct rec {
	uint64_t idx, size, n;
	uint32_t block_size;
	char file_hash[MB_HASH_HEX_LEN + 1];
};

struct mb_mapspill {
	FILE *f;
	char *dir;		/* for messages */
	struct mb_blockmap cur;	/* the map mb_mapspill_next gave */
	size_t cap;		/* of cur.h */
};

static int spill_fail(struct mb_mapspill *s, int err, struct mb_error *e)
{
	return mb_fail(e, MB_ERR_IO, err, "unable to spill the block maps to '%s'", s->dir);
}

/* An fd of an unnamed file in dir: O_TMPFILE, else a name unlinked at once. */
static int unnamed_fd(const char *dir)
{
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	char *name;

	if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL))
		return fd;
	if (asprintf(&name, "%s/.mbackup-maps-XXXXXX", dir) < 0)
		return -1;
	fd = mkostemp(name, O_CLOEXEC);
	if (fd >= 0)
		unlink(name);
	free(name);
	return fd;
}

int mb_mapspill_open(struct mb_mapspill **out, const char *dir, struct mb_error *e)
{
	struct mb_mapspill *s = calloc(1, sizeof(*s));
	int fd;

	*out = NULL;
	if (!s || !(s->dir = strdup(dir))) {
		free(s);
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to spill the block maps");
	}
	if ((fd = unnamed_fd(dir)) < 0 || !(s->f = fdopen(fd, "w+"))) {
		spill_fail(s, errno, e);
		if (fd >= 0)
			close(fd);
		mb_mapspill_close(s);
		return -1;
	}
	setvbuf(s->f, NULL, _IOFBF, SPILL_BUF);
	*out = s;
	return 0;
}

int mb_mapspill_put(struct mb_mapspill *s, size_t idx, const struct mb_blockmap *m,
		    struct mb_error *e)
{
	struct rec r = { .idx = idx, .size = m->size, .n = m->n, .block_size = m->block_size };

	memcpy(r.file_hash, m->file_hash, sizeof(r.file_hash));
	if (fwrite(&r, sizeof(r), 1, s->f) != 1 ||
	    (m->n && fwrite(m->h, sizeof(*m->h), m->n, s->f) != m->n))
		return spill_fail(s, errno, e);
	return 0;
}

int mb_mapspill_rewind(struct mb_mapspill *s, struct mb_error *e)
{
	if (fflush(s->f) != 0 || fseeko(s->f, 0, SEEK_SET) != 0)
		return spill_fail(s, errno, e);
	return 0;
}

int mb_mapspill_next(struct mb_mapspill *s, size_t *idx, const struct mb_blockmap **m,
		     struct mb_error *e)
{
	struct rec r;

	if (fread(&r, sizeof(r), 1, s->f) != 1) {
		if (ferror(s->f))
			return spill_fail(s, errno, e);
		return 0;
	}
	if (r.n > s->cap) {
		uint64_t *h = realloc(s->cur.h, r.n * sizeof(*h));

		if (!h)
			return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to read the block maps");
		s->cur.h = h;
		s->cap = r.n;
	}
	if (r.n && fread(s->cur.h, sizeof(*s->cur.h), r.n, s->f) != r.n)
		return ferror(s->f) ? spill_fail(s, errno, e)
				    : mb_fail(e, MB_ERR_INTERNAL, 0, "the block map spill in '%s' "
					      "ends inside a map", s->dir);
	s->cur.size = r.size;
	s->cur.n = r.n;
	s->cur.block_size = r.block_size;
	memcpy(s->cur.file_hash, r.file_hash, sizeof(r.file_hash));
	*idx = r.idx;
	*m = &s->cur;
	return 1;
}

void mb_mapspill_close(struct mb_mapspill *s)
{
	if (!s)
		return;
	if (s->f)
		fclose(s->f);
	free(s->cur.h);
	free(s->dir);
	free(s);
}
