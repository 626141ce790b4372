#include "core/log.h"

#include <poll.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static enum log_level current_level = LOG_INFO;
/* Lines not written because stderr could not take them (say so once it can again). */
static unsigned long lines_lost;

static const char *const level_names[] = {
	[LOG_ERROR] = "error", [LOG_WARN] = "warn",
	[LOG_INFO] = "info", [LOG_DEBUG] = "debug",
};

void log_set_level(enum log_level level) { current_level = level; }
enum log_level log_get_level(void) { return current_level; }

int log_level_parse(const char *name, enum log_level *out)
{
	for (unsigned i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcmp(name, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

/*
 * One line to stderr, never blocking: the router's loop must not wait for a
 * log reader (a pipe nobody reads, a stopped terminal) nor stop on a full
 * disk. A pipe that polls writable has room for PIPE_BUF bytes, more than a
 * line, so the write cannot block; otherwise the line is lost and counted.
 */
static bool write_line(const char *line, size_t len)
{
	struct pollfd p = { .fd = STDERR_FILENO, .events = POLLOUT };
	if (poll(&p, 1, 0) != 1 || !(p.revents & POLLOUT))
		return false;
	return write(STDERR_FILENO, line, len) == (ssize_t)len;
}

static size_t line_head(char *line, size_t cap, enum log_level level)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	int n = snprintf(line, cap, "%02d:%02d:%02d.%03ld %-5s ", tm.tm_hour, tm.tm_min, tm.tm_sec,
			 ts.tv_nsec / 1000000, level_names[level]);
	return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	if (level > current_level)
		return;
	char line[1024];
	if (lines_lost) {
		size_t n = line_head(line, sizeof(line), LOG_WARN);
		int m = snprintf(line + n, sizeof(line) - n, "%lu log line(s) lost: the log "
				 "destination was not writable\n", lines_lost);
		if (m > 0 && n + (size_t)m < sizeof(line) && write_line(line, n + (size_t)m))
			lines_lost = 0;
	}
	size_t n = line_head(line, sizeof(line) - 1, level);
	va_list ap;
	va_start(ap, fmt);
	int m = vsnprintf(line + n, sizeof(line) - 1 - n, fmt, ap);
	va_end(ap);
	if (m < 0)
		m = 0;
	size_t len = n + (size_t)m < sizeof(line) - 1 ? n + (size_t)m : sizeof(line) - 2;
	line[len++] = '\n';
	/* One write per line so lines from several processes do not interleave. */
	if (!write_line(line, len))
		lines_lost++;
}

unsigned long log_lines_lost(void)
{
	return lines_lost;
}
