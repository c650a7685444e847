/* Logging; see log.h. */
#include "common/log.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static enum mb_log_level log_level = MB_LOG_INFO;
static int log_fd = -1;

static const char *const level_names[] = { "error", "warn", "info", "debug" };

void mb_log_set_level(enum mb_log_level level) { log_level = level; }
enum mb_log_level mb_log_get_level(void) { return log_level; }

int mb_log_set_file(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);

	if (fd < 0)
		return -1;
	if (log_fd >= 0)
		close(log_fd);
	log_fd = fd;
	return 0;
}

int mb_log_file_fd(void) { return log_fd; }

void mb_log(enum mb_log_level level, const char *fmt, ...)
{
	char line[2048], stamp[40];
	struct timeval tv;
	struct tm tm;
	va_list ap;
	int n;

	if (level > log_level && log_fd < 0)
		return;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	n = snprintf(line, sizeof(line), "%s.%03ldZ %-5s ", stamp,
		     (long)(tv.tv_usec / 1000), level_names[level]);
	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	/* One write() per line keeps lines whole when several processes log. */
	if (level <= log_level && write(STDERR_FILENO, line, n) < 0)
		(void)0;
	if (log_fd >= 0 && write(log_fd, line, n) < 0)
		(void)0;
}
