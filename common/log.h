/*
 * Logging: one line per event on stderr (and optionally a log file), with
 * a level and a UTC timestamp:
 *   2026-11-22T04:40:01.123Z info  phase premap: done in 120 ms (1523 files)
 * Phase begin/end at info, external command argv at debug.
 */
#ifndef MB_LOG_H
#define MB_LOG_H

enum mb_log_level { MB_LOG_ERROR, MB_LOG_WARN, MB_LOG_INFO, MB_LOG_DEBUG };

void mb_log_set_level(enum mb_log_level level);
enum mb_log_level mb_log_get_level(void);
/* Also append every line to this file (opened O_APPEND|O_CLOEXEC); -1 on error. */
int mb_log_set_file(const char *path);
/* The log file's fd, -1 if none: a process that closes every other fd
 * (the guard) keeps it, or a later fd would take its number. */
int mb_log_file_fd(void);
void mb_log(enum mb_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define mb_error_log(...) mb_log(MB_LOG_ERROR, __VA_ARGS__)
#define mb_warn(...) mb_log(MB_LOG_WARN, __VA_ARGS__)
#define mb_info(...) mb_log(MB_LOG_INFO, __VA_ARGS__)
#define mb_debug(...) mb_log(MB_LOG_DEBUG, __VA_ARGS__)

#endif
