/* SPDX-License-Identifier: ISC */
/*
 * log: level-filtered messages to stderr, one line each, written with a
 * single fwrite so concurrent writers (a test harness reading stderr)
 * never see half lines.  It formats nothing below the current level.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static enum log_level	log_level = LOG_LEVEL_INFO;

static void	log_vemit(enum log_level level, const char *prefix,
		    const char *err, const char *fmt, va_list ap)
		    __attribute__((format(printf, 4, 0)));

/* Set the most verbose level that is printed. */
void
log_set_level(enum log_level level)
{
	log_level = level;
}

/* Return 1 if messages at level are printed. */
int
log_enabled(enum log_level level)
{
	return level <= log_level;
}

/* Format one line "llmproxyd: prefix: message[: err]" and write it. */
static void
log_vemit(enum log_level level, const char *prefix, const char *err,
    const char *fmt, va_list ap)
{
	char	 msg[2048], line[2304];
	int	 n;

	if (!log_enabled(level))
		return;
	vsnprintf(msg, sizeof msg, fmt, ap);
	if (err != NULL)
		n = snprintf(line, sizeof line, "llmproxyd: %s%s: %s\n",
		    prefix, msg, err);
	else
		n = snprintf(line, sizeof line, "llmproxyd: %s%s\n", prefix,
		    msg);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof line)
		n = sizeof line - 1;
	fwrite(line, 1, (size_t)n, stderr);
	fflush(stderr);
}

/* Log a warning with strerror(errno) appended. */
void
log_warn(const char *fmt, ...)
{
	va_list	 ap;
	int	 saved = errno;

	va_start(ap, fmt);
	log_vemit(LOG_LEVEL_WARN, "warning: ", strerror(saved), fmt, ap);
	va_end(ap);
	errno = saved;
}

/* Log a warning. */
void
log_warnx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vemit(LOG_LEVEL_WARN, "warning: ", NULL, fmt, ap);
	va_end(ap);
}

/* Log an informational message. */
void
log_info(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vemit(LOG_LEVEL_INFO, "", NULL, fmt, ap);
	va_end(ap);
}

/* Log a debugging message. */
void
log_debug(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vemit(LOG_LEVEL_DEBUG, "debug: ", NULL, fmt, ap);
	va_end(ap);
}

/* Log an error with strerror(errno) appended and exit 1. */
void
fatal(const char *fmt, ...)
{
	va_list	 ap;
	int	 saved = errno;

	va_start(ap, fmt);
	log_vemit(LOG_LEVEL_ERROR, "", strerror(saved), fmt, ap);
	va_end(ap);
	exit(1);
}

/* Log an error and exit 1. */
void
fatalx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vemit(LOG_LEVEL_ERROR, "", NULL, fmt, ap);
	va_end(ap);
	exit(1);
}
