/* Progress of the stream: bytes, rate, ETA, file; see progress.h. */
#include "orchestrator/progress.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "orchestrator/catalog_json.h"

#define LINE_MS 250		/* the rewritten line's refresh */

enum mode { P_NONE, P_AUTO, P_LINE, P_LOG, P_JSON };
static const char *const modes[] = { "none", "auto", "line", "log", "json" };

struct mb_progress {
	enum mode mode;
	int fd;			/* line, json: where to */
	bool own_fd;
	char phase[16];
	uint64_t total;
	_Atomic uint64_t done;
	long long t0, interval_ms;
	_Atomic long long next_ms;
	pthread_mutex_t lock;	/* file, width; one reporter at a time */
	char file[200];
	int width;		/* of the line on screen */
	bool percent;		/* done and total in hundredths of a percent */
	uint64_t done0;		/* done at the first report (the rate's start) */
	bool reported;		/* a percentage came */
	bool files;		/* a pass over files: percent and ETA of these */
	uint64_t files_total;
	_Atomic uint64_t files_done;
};

static enum mode mode_of(const char *s)
{
	for (size_t i = 0; s && i < sizeof(modes) / sizeof(modes[0]); i++)
		if (strcmp(s, modes[i]) == 0)
			return (enum mode)i;
	return (enum mode)-1;
}

int mb_progress_check(const struct mb_options *o, struct mb_error *e)
{
	enum mode m = mode_of(o->progress);

	if ((int)m < 0) {
		mb_fail(e, MB_ERR_USAGE, 0, "invalid --progress '%s'", o->progress);
		mb_hint(e, "use auto, line, log, json or none");
		return -1;
	}
	if (o->progress_to && m != P_JSON) {
		mb_fail(e, MB_ERR_USAGE, 0, "option '--progress-to' needs --progress json");
		mb_hint(e, "the line and the log line go to standard error");
		return -1;
	}
	return 0;
}

/* --progress-to: "fd:N" (inherited, not closed), a path (appended), or
 * standard error; -1 with a warning: the backup goes on without it. */
static int open_to(const char *to, bool *own)
{
	char *end;
	long n;
	int fd;

	*own = false;
	if (!to)
		return STDERR_FILENO;
	if (strncmp(to, "fd:", 3) == 0) {
		n = strtol(to + 3, &end, 10);
		if (end != to + 3 && !*end && n >= 0 && n < 1024 && fcntl((int)n, F_GETFD) >= 0)
			return (int)n;
		mb_warn("progress: '%s' is no open file descriptor; no progress", to);
		return -1;
	}
	fd = open(to, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0)
		mb_warn("progress: unable to open '%s': %s; no progress", to, strerror(errno));
	*own = fd >= 0;
	return fd;
}

int mb_progress_start(struct mb_progress **out, const struct mb_options *o,
		      const char *phase, uint64_t total, struct mb_error *e)
{
	enum mode m = mode_of(o->progress);
	struct mb_progress *p;

	*out = NULL;
	if (m == P_AUTO)
		m = isatty(STDERR_FILENO) ? P_LINE : P_LOG;
	if ((int)m <= P_NONE)
		return 0;
	if (!(p = calloc(1, sizeof(*p))))
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to report the progress");
	p->mode = m;
	p->fd = m == P_JSON ? open_to(o->progress_to, &p->own_fd) : STDERR_FILENO;
	if (p->fd < 0) {
		free(p);
		return 0;
	}
	snprintf(p->phase, sizeof(p->phase), "%s", phase);
	p->total = total;
	p->t0 = mb_now_ms();
	p->interval_ms = m == P_LINE ? LINE_MS : o->progress_interval * 1000;
	atomic_init(&p->done, 0);
	atomic_init(&p->files_done, 0);
	atomic_init(&p->next_ms, p->t0 + p->interval_ms);
	pthread_mutex_init(&p->lock, NULL);
	*out = p;
	return 0;
}

/* Bytes per second and seconds left so far (-1: not known yet). */
static void rate_eta(const struct mb_progress *p, uint64_t done, long long now,
		     uint64_t *rate, long long *eta)
{
	long long ms = now - p->t0;

	done = done > p->done0 ? done - p->done0 : 0;
	*rate = ms > 0 ? (uint64_t)((double)done * 1000 / (double)ms) : 0;
	*eta = p->done0 + done >= p->total ? 0 :	/* (done: none left, however fast) */
	       *rate ? (long long)((p->total - p->done0 - done) / *rate) : -1;
}

static void eta_text(char *buf, size_t len, long long eta)
{
	if (eta < 0)
		snprintf(buf, len, "--:--");
	else if (eta >= 3600)
		snprintf(buf, len, "%lld:%02lld:%02lld", eta / 3600, eta / 60 % 60, eta % 60);
	else
		snprintf(buf, len, "%lld:%02lld", eta / 60, eta % 60);
}

static void put(int fd, const char *s, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, s, n);

		if (w <= 0 && errno != EINTR)
			return;	/* (progress never fails the run) */
		if (w > 0)
			s += w, n -= (size_t)w;
	}
}

static void report_json(struct mb_progress *p, uint64_t done, uint64_t rate, long long eta,
			uint64_t files)
{
	json_t *f = json_string(p->file);	/* (NULL: not UTF-8) */
	json_t *j = json_pack("{s:s, s:I, s:I, s:I, s:o, s:o}", "phase", p->phase,
			      "bytes", (json_int_t)done, "total", (json_int_t)p->total,
			      "rate", (json_int_t)rate,
			      "eta_s", eta < 0 ? json_null() : json_integer(eta),
			      "file", f ? f : json_null());
	char *s;

	if (j && p->files &&
	    (json_object_set_new(j, "files", json_integer((json_int_t)files)) < 0 ||
	     json_object_set_new(j, "files_total", json_integer((json_int_t)p->files_total)) < 0))
		json_decref(j), j = NULL;
	s = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;

	if (s) {
		put(p->fd, s, strlen(s));
		put(p->fd, "\n", 1);
	}
	free(s);
	json_decref(j);
}

static void put_line(struct mb_progress *p, char *line, int n, bool last)
{
	n = n < 511 ? n : 511;	/* (line is 512 bytes) */
	put(p->fd, line, (size_t)n);
	for (int k = n; k < p->width; k++)
		put(p->fd, " ", 1);	/* what is left of a longer line */
	p->width = n;
	if (last)
		put(p->fd, "\n", 1);
}

/* A percent report (the sync wait), the caller holding p->lock. */
static void report_percent(struct mb_progress *p, uint64_t done, long long eta, bool last)
{
	double pct = (double)done / 100;
	char eta_s[24], line[512];
	json_t *j;
	char *s;

	eta_text(eta_s, sizeof(eta_s), eta);
	if (p->mode == P_LOG && !last) {
		mb_info("progress: %s '%s' %.2f%%, ETA %s", p->phase, p->file, pct, eta_s);
	} else if (p->mode == P_LINE) {
		put_line(p, line, snprintf(line, sizeof(line), "\r%s %.60s %5.1f%% ETA %s",
					   p->phase, p->file, pct, eta_s), last);
	} else if (p->mode == P_JSON) {
		j = json_pack("{s:s, s:f, s:o, s:s}", "phase", p->phase, "percent", pct,
			      "eta_s", eta < 0 ? json_null() : json_integer(eta), "file", p->file);
		s = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
		if (s) {
			put(p->fd, s, strlen(s));
			put(p->fd, "\n", 1);
		}
		free(s);
		json_decref(j);
	}
}

/* The ETA of a pass over files, from the files done so far (-1: none yet). */
static long long files_eta(const struct mb_progress *p, uint64_t files, long long now)
{
	if (files >= p->files_total)
		return 0;
	if (files == 0 || now <= p->t0)
		return -1;
	return (long long)((double)(now - p->t0) * (double)(p->files_total - files) /
			   (double)files / 1000);
}

/* One report, the caller holding p->lock. */
static void report(struct mb_progress *p, uint64_t done, long long now, bool last)
{
	char a[32], b[32], c[32], eta_s[24], line[512], nf[64] = "";
	uint64_t rate, files = atomic_load(&p->files_done);
	long long eta;
	int pct, n;

	done = done < p->total ? done : p->total;
	files = files < p->files_total ? files : p->files_total;
	rate_eta(p, done, now, &rate, &eta);
	if (p->percent) {
		report_percent(p, done, eta, last);
		return;
	}
	pct = p->total ? (int)(done * 100 / p->total) : 100;
	if (p->files) {
		eta = files_eta(p, files, now);
		pct = p->files_total ? (int)(files * 100 / p->files_total) : 100;
	}
	if (p->mode == P_JSON) {
		report_json(p, done, rate, eta, files);
		return;
	}
	cat_human_bytes(a, sizeof(a), (double)done);
	cat_human_bytes(b, sizeof(b), (double)p->total);
	cat_human_bytes(c, sizeof(c), (double)rate);
	eta_text(eta_s, sizeof(eta_s), eta);
	if (p->mode == P_LOG && last)
		return;	/* ("phase stream: done" follows) */
	if (p->mode == P_LOG) {
		if (p->files)
			snprintf(nf, sizeof(nf), "%llu of %llu files, ", (unsigned long long)files,
				 (unsigned long long)p->files_total);
		mb_info("progress: %s %s%s of %s (%d%%), %s/s, ETA %s%s%s%s", p->phase, nf, a, b,
			pct, c, eta_s, p->file[0] ? ", '" : "", p->file, p->file[0] ? "'" : "");
		return;
	}
	if (p->files)
		snprintf(nf, sizeof(nf), "%llu / %llu files ", (unsigned long long)files,
			 (unsigned long long)p->files_total);
	n = snprintf(line, sizeof(line), "\r%s %s%s / %s %3d%% %s/s ETA %s %.60s", p->phase, nf,
		     a, b, pct, c, eta_s, last ? "" : p->file);
	put_line(p, line, n, last);
}

void mb_progress_add(struct mb_progress *p, uint64_t bytes, const char *file)
{
	long long now;

	if (!p)
		return;
	atomic_fetch_add(&p->done, bytes);
	if (file && pthread_mutex_trylock(&p->lock) == 0) {
		snprintf(p->file, sizeof(p->file), "%s", file);
		pthread_mutex_unlock(&p->lock);
	}
	now = mb_now_ms();
	if (now < atomic_load(&p->next_ms) || pthread_mutex_trylock(&p->lock) != 0)
		return;
	if (now >= atomic_load(&p->next_ms)) {
		atomic_store(&p->next_ms, now + p->interval_ms);
		/* (read again under the lock: reports of several threads grow) */
		report(p, atomic_load(&p->done), now, false);
	}
	pthread_mutex_unlock(&p->lock);
}

void mb_progress_end(struct mb_progress *p, bool done)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	if (done && !p->percent)
		p->file[0] = '\0';
	if (done)
		atomic_store(&p->files_done, p->files_total);
	if (!p->percent || p->reported)
		report(p, done ? p->total : atomic_load(&p->done), mb_now_ms(), true);
	pthread_mutex_unlock(&p->lock);
	pthread_mutex_destroy(&p->lock);
	if (p->own_fd)
		close(p->fd);
	free(p);
}

static int count_see(void *p, const void *buf, size_t len, struct mb_error *e)
{
	mb_progress_add(p, len, NULL);
	return 0;
}

void mb_progress_tap(struct mb_tap *t, struct mb_progress *p, mb_emit_fn next, void *next_arg)
{
	*t = (struct mb_tap){ count_see, p, next, next_arg };
}

int mb_progress_start_percent(struct mb_progress **out, const struct mb_options *o,
			      const char *phase, struct mb_error *e)
{
	if (mb_progress_start(out, o, phase, 10000, e) < 0)
		return -1;
	if (*out)
		(*out)->percent = true;
	return 0;
}

void mb_progress_percent(struct mb_progress *p, double percent, const char *what)
{
	uint64_t to = percent <= 0 ? 0 : percent >= 100 ? 10000 : (uint64_t)(percent * 100);
	long long now;

	if (!p)
		return;
	now = mb_now_ms();
	pthread_mutex_lock(&p->lock);
	if (!p->reported || strcmp(p->file, what ? what : "") != 0) {
		snprintf(p->file, sizeof(p->file), "%s", what ? what : "");
		p->t0 = now;	/* (another mirror: its own rate) */
		p->done0 = to;
		p->reported = true;
		atomic_store(&p->next_ms, now);
	}
	atomic_store(&p->done, to);
	if (now >= atomic_load(&p->next_ms)) {
		atomic_store(&p->next_ms, now + p->interval_ms);
		report(p, to, now, false);
	}
	pthread_mutex_unlock(&p->lock);
}

void mb_progress_on_sync(void *arg, const char *what, double percent)
{
	mb_progress_percent(arg, percent, what);
}

int mb_progress_start_files(struct mb_progress **out, const struct mb_options *o,
			    const char *phase, uint64_t files, uint64_t bytes, struct mb_error *e)
{
	if (mb_progress_start(out, o, phase, bytes, e) < 0)
		return -1;
	if (*out) {
		(*out)->files = true;
		(*out)->files_total = files;
	}
	return 0;
}

void mb_progress_add_file(struct mb_progress *p, uint64_t bytes, const char *file)
{
	if (!p)
		return;
	atomic_fetch_add(&p->files_done, 1);
	mb_progress_add(p, bytes, file);
}
