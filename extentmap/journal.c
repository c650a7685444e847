/*
 * The change journal: a fanotify group with a filesystem mark on the
 * source's filesystem, opened before the walk, that names every inode
 * whose data, size or attributes changed and every directory whose names
 * changed.  See extentmap.h ("the change journal") for why it makes the
 * window's re-check exact at the cost of what changed.
 *
 * Events carry file handles (FAN_REPORT_FID), resolved to inode numbers
 * by open_by_handle_at(2) + fstat(2) when the queue is drained; an inode
 * gone by then (ESTALE) needs nothing: the directory event that removed
 * its last name is in the queue too.  The drained numbers are looked up
 * in an index of the set sorted by inode (every name of a hard link).
 */
#include "extentmap/extentmap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "extentmap/internal.h"

/* FAN_CLOSE_WRITE on top of FAN_MODIFY: a writer through a shared mmap
 * raises no FAN_MODIFY; its close of the file does. */
#define OBJECT_EVENTS (FAN_MODIFY | FAN_ATTRIB | FAN_CLOSE_WRITE | \
		       FAN_DELETE_SELF | FAN_MOVE_SELF)
#define DIRENT_EVENTS (FAN_CREATE | FAN_DELETE | FAN_MOVED_FROM | FAN_MOVED_TO)

struct mb_journal {
	int fd;			/* the fanotify group */
	int mount_fd;		/* the root, for open_by_handle_at */
	uint64_t dev, root_ino;
	bool overflowed;	/* since the last drain */
	int64_t clean_since;	/* wall time of the last drain without overflow */
	uint64_t events;	/* read since open */
	struct mb_em_dirty pending;
	struct mb_em_ino_index index;
};

static void inos_free(struct mb_em_inos *s)
{
	free(s->v);
	*s = (struct mb_em_inos){ 0 };
}

static int inos_add(struct mb_em_inos *s, uint64_t ino)
{
	if (s->n && s->v[s->n - 1] == ino)
		return 0;	/* the common repeat: one file written in a loop */
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		uint64_t *v = realloc(s->v, cap * sizeof(*v));

		if (!v)
			return -1;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = ino;
	return 0;
}

static int u64_cmp(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;

	return a < b ? -1 : a > b;
}

static void inos_sort_unique(struct mb_em_inos *s)
{
	size_t out = 0;

	if (s->n > 1)
		qsort(s->v, s->n, sizeof(*s->v), u64_cmp);
	for (size_t i = 0; i < s->n; i++)
		if (out == 0 || s->v[out - 1] != s->v[i])
			s->v[out++] = s->v[i];
	s->n = out;
}

int mb_journal_open(struct mb_journal **out, const char *root, struct mb_error *e)
{
	struct mb_journal *j = calloc(1, sizeof(*j));
	struct stat st;

	*out = NULL;
	if (!j)
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to watch '%s'", root);
	j->fd = -1;
	j->mount_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (j->mount_fd < 0 || fstat(j->mount_fd, &st) < 0) {
		mb_fail(e, MB_ERR_SOURCE, errno, "unable to open '%s'", root);
		goto fail;
	}
	j->dev = st.st_dev;
	j->root_ino = st.st_ino;
	j->fd = fanotify_init(FAN_CLASS_NOTIF | FAN_REPORT_FID | FAN_CLOEXEC | FAN_NONBLOCK,
			      O_RDONLY | O_LARGEFILE | O_CLOEXEC);
	if (j->fd < 0 ||
	    fanotify_mark(j->fd, FAN_MARK_ADD | FAN_MARK_FILESYSTEM,
			  OBJECT_EVENTS | DIRENT_EVENTS | FAN_ONDIR, j->mount_fd, NULL) < 0) {
		mb_fail(e, MB_ERR_SOURCE, errno, "unable to watch the filesystem of '%s'", root);
		goto fail;
	}
	j->clean_since = time(NULL);
	*out = j;
	return 0;
fail:
	mb_journal_close(j);
	return -1;
}

void mb_journal_close(struct mb_journal *j)
{
	if (!j)
		return;
	if (j->fd >= 0)
		close(j->fd);
	if (j->mount_fd >= 0)
		close(j->mount_fd);
	inos_free(&j->pending.files);
	inos_free(&j->pending.dirs);
	free(j->index.v);
	free(j);
}

/* The inode a handle names, or 0 when it is gone or elsewhere. */
static uint64_t resolve(struct mb_journal *j, struct file_handle *fh)
{
	struct stat st;
	int fd = open_by_handle_at(j->mount_fd, fh, O_PATH | O_CLOEXEC);
	uint64_t ino = 0;

	if (fd < 0)
		return 0;
	if (fstat(fd, &st) == 0 && st.st_dev == j->dev)
		ino = st.st_ino;
	close(fd);
	return ino;
}

/* One event into pending: the object, or the directory of a name. */
static int take_event(struct mb_journal *j, const struct fanotify_event_metadata *m)
{
	const struct fanotify_event_info_fid *fid = (const void *)(m + 1);
	uint64_t ino;

	j->events++;
	if (m->mask & FAN_Q_OVERFLOW) {
		j->overflowed = true;
		return 0;
	}
	if (m->event_len < sizeof(*m) + sizeof(*fid) ||
	    fid->hdr.info_type != FAN_EVENT_INFO_TYPE_FID)
		return 0;
	if (!(ino = resolve(j, (struct file_handle *)fid->handle)))
		return 0;
	if ((m->mask & DIRENT_EVENTS) && inos_add(&j->pending.dirs, ino) < 0)
		return -1;
	if ((m->mask & OBJECT_EVENTS) && inos_add(&j->pending.files, ino) < 0)
		return -1;
	return 0;
}

/* Reads what the queue holds now into pending (never waits). */
static int read_queue(struct mb_journal *j, struct mb_error *e)
{
	char buf[64 * 1024] __attribute__((aligned(8)));
	ssize_t len;

	while ((len = read(j->fd, buf, sizeof(buf))) > 0) {
		const struct fanotify_event_metadata *m = (const void *)buf;

		for (; FAN_EVENT_OK(m, len); m = FAN_EVENT_NEXT(m, len))
			if (take_event(j, m) < 0)
				return mb_fail(e, MB_ERR_GENERAL, ENOMEM,
					       "unable to read the change journal");
	}
	if (len < 0 && errno != EAGAIN && errno != EINTR)
		return mb_fail(e, MB_ERR_SOURCE, errno, "unable to read the change journal");
	return len < 0 && errno == EINTR ? read_queue(j, e) : 0;
}

int mb_em_journal_drain(struct mb_journal *j, struct mb_em_dirty *out,
			struct mb_error *e)
{
	int64_t now = time(NULL);

	inos_free(&out->files);
	inos_free(&out->dirs);
	out->overflowed = false;
	if (read_queue(j, e) < 0)
		return -1;
	inos_sort_unique(&j->pending.files);
	inos_sort_unique(&j->pending.dirs);
	*out = j->pending;
	out->root_ino = j->root_ino;
	out->overflowed = j->overflowed;
	out->clean_since = j->clean_since;
	j->pending = (struct mb_em_dirty){ 0 };
	j->overflowed = false;
	if (!out->overflowed)
		j->clean_since = now;
	return 0;
}

void mb_em_dirty_free(struct mb_em_dirty *d)
{
	inos_free(&d->files);
	inos_free(&d->dirs);
}

uint64_t mb_journal_events(const struct mb_journal *j)
{
	return j ? j->events : 0;
}

struct mb_em_ino_index *mb_em_journal_index(struct mb_journal *j)
{
	return &j->index;
}
