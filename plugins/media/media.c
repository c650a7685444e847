/*
 * Media: the registry of drivers and what every medium shares (the chain
 * of sinks when writing, the image input when reading).  See media.h.
 */
#include "plugins/media/drivers.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Every driver, found by name; filters are not here (they are stacked by
 * mb_sink_open, never named on the command line). */
static const struct mb_media_ops *const drivers[] = {
	&mbm_file_ops, &mbm_pipe_ops, &mbm_stdout_ops, &mbm_tape_ops, &mbm_s3_ops,
};

const struct mb_media_ops *mb_media_driver(const char *name)
{
	for (size_t i = 0; i < sizeof(drivers) / sizeof(drivers[0]); i++)
		if (strcmp(drivers[i]->name, name) == 0)
			return drivers[i];
	return NULL;
}

const struct mb_media_ops *mb_media_driver_at(size_t i)
{
	return i < sizeof(drivers) / sizeof(drivers[0]) ? drivers[i] : NULL;
}

const struct mb_media_ops *mb_media_find(const char *spec, const char **arg)
{
	const char *colon = strchr(spec, ':');

	if (strcmp(spec, "-") == 0) {
		*arg = "";
		return &mbm_stdout_ops;
	}
	if (!colon)
		return NULL;
	*arg = colon + 1;
	for (size_t i = 0; i < sizeof(drivers) / sizeof(drivers[0]); i++)
		if (drivers[i] != &mbm_stdout_ops && strlen(drivers[i]->name) == (size_t)(colon - spec) &&
		    strncmp(spec, drivers[i]->name, (size_t)(colon - spec)) == 0)
			return drivers[i];
	return NULL;
}

/* ---- writing ---- */

static void sink_free(struct mb_sink *s)
{
	free(s->path);
	free(s->spec);
	free(s);
}

/* A sink of ops for spec, not yet opened (calloc'ed; fd -1). */
struct mb_sink *mbm_sink_new(const struct mb_media_ops *ops, const char *spec)
{
	struct mb_sink *s = calloc(1, sizeof(*s));

	if (!s || !(s->spec = strdup(spec))) {
		free(s);
		return NULL;
	}
	s->ops = ops;
	s->fd = -1;
	return s;
}

static int unknown_media(const char *spec, struct mb_error *e)
{
	mb_fail(e, MB_ERR_USAGE, 0, "unknown media '%s'", spec);
	mb_hint(e, "use file:PATH, pipe:FIFO, tape:/dev/nstN, s3://BUCKET/KEY or - for standard output");
	return -1;
}

int mb_sink_open(struct mb_sink **out, const char *spec,
		 const struct mb_media_params *p, struct mb_error *e)
{
	const struct mb_media_ops *ops;
	struct mb_sink *s;
	const char *arg;

	*out = NULL;
	ops = mb_media_find(spec, &arg);
	if (!ops || !ops->open_write)
		return unknown_media(spec, e);
	if (!(s = mbm_sink_new(ops, spec)))
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to open media '%s'", spec);
	s->stop = p->stop;
	if (ops->open_write(s, arg, p, e) < 0) {
		ops->abort(s);		/* what a half-done open left (an fd, a partial file) */
		sink_free(s);
		return -1;
	}
	if ((ops->streams && mb_sink_push_ring(&s, p->buffer ? p->buffer : MB_MEDIA_DEFAULT_RING,
						&p->stop, e) < 0) ||
	    ((p->device_timeout || p->stop.check) &&
	     mb_sink_push_deadline(&s, p->device_timeout, &p->stop, e) < 0) ||
	    (p->compress.level && mb_sink_push_zstd(&s, &p->compress, e) < 0)) {
		mb_sink_abort(s);
		return -1;
	}
	*out = s;
	return 0;
}

int mb_media_check(const char *spec, const struct mb_media_params *p, struct mb_error *e)
{
	const char *arg;
	const struct mb_media_ops *ops = mb_media_find(spec, &arg);

	if (!ops || !ops->open_write)
		return unknown_media(spec, e);
	return ops->check ? ops->check(arg, p, e) : 0;
}

int mb_sink_write(struct mb_sink *s, const void *buf, size_t len,
		  struct mb_error *e)
{
	return s->ops->write(s, buf, len, e);
}

int mb_sink_close(struct mb_sink *s, struct mb_media_position *where, struct mb_error *e)
{
	uint64_t stored = 0;
	bool packed = false;
	int rc = 0;

	if (where)
		where->n_parts = 0;
	while (s) {
		struct mb_sink *next = s->next;

		packed |= s->ops == &mbm_zstd_ops;
		/* After a failure the rest of the chain is dropped. */
		if (rc == 0)
			rc = s->ops->close(s, where, e);
		else
			s->ops->abort(s);
		if (!next)
			stored = s->bytes;	/* the driver's: what the medium holds */
		sink_free(s);
		s = next;
	}
	if (where)
		where->compressed_bytes = rc == 0 && packed ? stored : 0;
	return rc;
}

void mb_sink_abort(struct mb_sink *s)
{
	while (s) {
		struct mb_sink *next = s->next;

		s->ops->abort(s);
		sink_free(s);
		s = next;
	}
}

static int output_write(void *ctx, const void *buf, size_t len, struct mb_error *e)
{
	return mb_sink_write(ctx, buf, len, e);
}

int mb_sink_mark(struct mb_sink *s, struct mb_error *e)
{
	for (; s; s = s->next)
		if (s->ops->mark)
			return s->ops->mark(s, e);
	return 0;
}

static int output_next_image(void *ctx, struct mb_error *e)
{
	return mb_sink_mark(ctx, e);
}

int mb_sink_finish(struct mb_sink *s, struct mb_error *e)
{
	for (; s; s = s->next)
		if (s->ops->finish && s->ops->finish(s, e) < 0)
			return -1;
	return 0;
}

static int output_finish(void *ctx, struct mb_error *e)
{
	return mb_sink_finish(ctx, e);
}

void mb_sink_boundary(struct mb_sink *s, uint64_t off)
{
	for (; s; s = s->next)
		if (s->ops->boundary) {
			s->ops->boundary(s, off);
			return;
		}
}

static void output_boundary(void *ctx, uint64_t off)
{
	mb_sink_boundary(ctx, off);
}

struct mb_image_output mb_sink_output(struct mb_sink *s)
{
	return (struct mb_image_output){ output_write, s, s->record_size, s->fd,
					 output_next_image, output_boundary, s, output_finish };
}

int mb_media_obligation(const char *spec, const struct mb_media_ops **ops, char **what,
			struct mb_error *e)
{
	const char *arg;

	*what = NULL;
	*ops = mb_media_find(spec, &arg);
	if (!*ops || !(*ops)->obligation)
		return 0;
	return (*ops)->obligation(arg, what, e);
}

char *mb_media_dir(const char *spec)
{
	const char *arg;
	const struct mb_media_ops *ops = mb_media_find(spec, &arg);

	return ops && ops->dir ? ops->dir(arg) : NULL;
}

/* ---- reading ---- */

static ssize_t in_read(void *ctx, void *buf, size_t n, struct mb_error *e)
{
	struct mb_media_in *m = ctx;

	return m->ops->read(m, buf, n, e);
}

static int in_seek(void *ctx, uint64_t off, struct mb_error *e)
{
	struct mb_media_in *m = ctx;

	return m->ops->seek(m, off, e);
}

/* The image input through the table's read and seek, unless the driver
 * gave one of its own per image (fd.c). */
static void set_input(struct mb_media_in *m)
{
	m->in = (struct mb_image_input){ in_read, m->ops->seek && !m->sequential ? in_seek : NULL,
					 m, m->name };
}

/* --from: "-", "name:arg" of a driver that reads, else a file's path. */
int mb_media_open_read(struct mb_media_in **out, const char *spec,
		       const struct mb_media_params *p, struct mb_error *e)
{
	const char *arg;
	const struct mb_media_ops *ops = mb_media_find(spec, &arg);
	struct mb_media_in *m = calloc(1, sizeof(*m));

	*out = NULL;
	if (!ops || !ops->open_read) {
		ops = &mbm_file_ops;
		arg = spec;
	}
	if (!m || !(m->spec = strdup(spec))) {
		free(m);
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to open image '%s'", spec);
	}
	arg = m->spec + (arg - spec);
	m->ops = ops;
	m->fd = -1;
	m->name = m->spec;
	m->stop = p->stop;
	if (ops->open_read(m, arg, p, e) < 0) {
		mb_media_close(m);
		return -1;
	}
	if (!m->in.read)
		set_input(m);
	if (mbm_zstd_detect(m, e) < 0) {
		mb_media_close(m);
		return -1;
	}
	*out = m;
	return 0;
}

const struct mb_image_input *mb_media_input(struct mb_media_in *m)
{
	return &m->in;
}

int mb_media_next_image(struct mb_media_in *m, uint64_t size, struct mb_error *e)
{
	int rc;

	if (!m->ops->next_image) {
		mb_fail(e, MB_ERR_MEDIA, ESPIPE, "unable to read the set from '%s'", m->spec);
		mb_hint(e, "the images of a set are read from files or tapes");
		return -1;
	}
	rc = m->ops->next_image(m, size, e);
	if (rc == 1 && m->in.ctx == m)
		set_input(m);
	return rc;
}

void mb_media_read_stats(const struct mb_media_in *m, uint64_t *records,
			 uint64_t *record_size)
{
	*records = *record_size = 0;
	if (m->ops->read_stats)
		m->ops->read_stats(m, records, record_size);
}

int mb_media_held(const struct mb_media_in *m, uint64_t *bytes)
{
	return m->ops->held ? m->ops->held(m, bytes) : 0;
}

void mb_media_close(struct mb_media_in *m)
{
	if (!m)
		return;
	if (m->priv || m->fd >= 0)
		m->ops->close_read(m);
	free(m->spec);
	free(m);
}
