/* SPDX-License-Identifier: ISC */
/*
 * log: level-filtered messages to stderr, one line each, that never block
 * the event loop.
 *
 * Until log_start() is given the event base, and for fatal() always, a
 * line is written at once, as start-up errors must be.  From log_start()
 * on, a line is written without waiting: what stderr cannot take now
 * waits in a logbuf bounded at LOG_BUFFER_BYTES and goes out when a write
 * event says stderr is writable again; past the bound lines are dropped,
 * counted, and one line says how many (a stalled journal or a paused
 * terminal must not stall the proxy).  Not waiting must not change how
 * other processes see the descriptor they share with the daemon: a pipe
 * or a terminal is opened again through /proc/self/fd/2, an open file
 * description of the daemon's own that it may make non-blocking; a socket
 * (journald's stream) is written with MSG_DONTWAIT; a regular file never
 * blocks for long and is written as before.  log_stop(), at exit, and
 * fatal() write what waits, for at most LOG_FLUSH_MS each.  Lines are
 * written whole, with one write, so concurrent readers never see half
 * lines; it formats nothing below the current level.
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "logbuf.h"

/* Bytes of lines kept while stderr cannot take them; then they drop. */
#define LOG_BUFFER_BYTES	(1024 * 1024)
/* How long a synchronous flush (exit, fatal) may wait for stderr. */
#define LOG_FLUSH_MS		1000

/* How lines reach stderr. */
enum log_out {
	LOG_OUT_BLOCKING,	/* write(2) on fd 2, as inherited */
	LOG_OUT_OWN_FD,		/* our own non-blocking description */
	LOG_OUT_SOCKET		/* send(MSG_DONTWAIT) on fd 2 */
};

static struct {
	enum log_level	 level;
	enum log_out	 out;
	int		 fd;
	struct event	*writable;	/* armed while lines wait */
	struct logbuf	*buf;
} log_st = { LOG_LEVEL_INFO, LOG_OUT_BLOCKING, STDERR_FILENO, NULL, NULL };

static void	log_vemit(enum log_level level, const char *prefix,
		    const char *err, int sync, const char *fmt, va_list ap)
		    __attribute__((format(printf, 5, 0)));
static void	log_put(const char *line, size_t len);
static void	log_put_sync(const char *line, size_t len);
static ssize_t	log_try(const char *p, size_t len);
static int	log_drain(void);
static void	log_flush(int timeout_ms);
static void	log_writable_cb(evutil_socket_t fd, short what, void *arg);

/* Set the most verbose level that is printed. */
void
log_set_level(enum log_level level)
{
	log_st.level = level;
}

/* Return 1 if messages at level are printed. */
int
log_enabled(enum log_level level)
{
	return level <= log_st.level;
}

/*
 * Stop waiting on stderr from now on: choose how to write without
 * blocking, and watch stderr on base while lines wait.
 */
void
log_start(struct event_base *base)
{
	struct stat	sb;
	int		fd;

	if (log_st.buf != NULL || fstat(STDERR_FILENO, &sb) == -1)
		return;
	if (S_ISSOCK(sb.st_mode)) {
		log_st.out = LOG_OUT_SOCKET;
	} else if (S_ISFIFO(sb.st_mode) || S_ISCHR(sb.st_mode)) {
		fd = open("/proc/self/fd/2", O_WRONLY | O_NONBLOCK |
		    O_CLOEXEC | O_NOCTTY);
		if (fd == -1) {
			log_warn("log: stderr cannot be opened again, so a "
			    "reader that stalls will stall the daemon");
			return;
		}
		log_st.fd = fd;
		log_st.out = LOG_OUT_OWN_FD;
	} else
		return;		/* a regular file: plain writes */
	log_st.buf = logbuf_new(LOG_BUFFER_BYTES);
	log_st.writable = event_new(base, log_st.fd, EV_WRITE,
	    log_writable_cb, NULL);
	if (log_st.writable == NULL)
		fatalx("%s: out of memory", __func__);
}

/* Write what waits (for LOG_FLUSH_MS at most), and leave the loop. */
void
log_stop(void)
{
	if (log_st.writable != NULL)
		event_free(log_st.writable);
	log_st.writable = NULL;
	if (log_st.buf != NULL)
		log_flush(LOG_FLUSH_MS);
}

/* Format one line "llmproxyd: prefix: message[: err]" and write it. */
static void
log_vemit(enum log_level level, const char *prefix, const char *err,
    int sync, const char *fmt, va_list ap)
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
	if ((size_t)n >= sizeof line) {
		n = sizeof line - 1;
		line[n - 1] = '\n';
	}
	if (sync || log_st.writable == NULL)
		log_put_sync(line, (size_t)n);
	else
		log_put(line, (size_t)n);
}

/* On the loop: write line now if stderr takes it, else keep it. */
static void
log_put(const char *line, size_t len)
{
	ssize_t	n = 0;

	if (logbuf_length(log_st.buf) == 0) {
		if ((n = log_try(line, len)) == -1 || (size_t)n == len)
			return;		/* written, or stderr is gone */
	}
	/* A partly written line's rest fits: the buffer was empty. */
	logbuf_add(log_st.buf, line + n, len - (size_t)n);
	if (!event_pending(log_st.writable, EV_WRITE, NULL))
		event_add(log_st.writable, NULL);
}

/* Write line before returning: start-up, fatal(), exit. */
static void
log_put_sync(const char *line, size_t len)
{
	ssize_t	n;

	if (log_st.buf != NULL) {
		log_flush(LOG_FLUSH_MS);	/* room, and lines in order */
		logbuf_add(log_st.buf, line, len);
		log_flush(LOG_FLUSH_MS);
		return;
	}
	while (len > 0) {
		n = write(STDERR_FILENO, line, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		line += n;
		len -= (size_t)n;
	}
}

/* Write what stderr takes of p now; 0 if none, -1 if it is gone. */
static ssize_t
log_try(const char *p, size_t len)
{
	ssize_t	n;

	do {
		if (log_st.out == LOG_OUT_SOCKET)
			n = send(log_st.fd, p, len, MSG_DONTWAIT |
			    MSG_NOSIGNAL);
		else
			n = write(log_st.fd, p, len);
	} while (n == -1 && errno == EINTR);
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return 0;
	return n;
}

/* Write what waits until stderr is full; return 1 if some still waits. */
static int
log_drain(void)
{
	const char	*p;
	size_t		 len;
	ssize_t		 n;

	while ((p = logbuf_peek(log_st.buf, &len)) != NULL) {
		if ((n = log_try(p, len)) == 0)
			return 1;
		/* stderr is gone (EPIPE): nothing waiting can be written. */
		logbuf_consume(log_st.buf, n == -1 ? len : (size_t)n);
	}
	return 0;
}

/* Write what waits, waiting for stderr up to timeout_ms in all. */
static void
log_flush(int timeout_ms)
{
	struct pollfd	pfd = { .fd = log_st.fd, .events = POLLOUT };
	struct timespec	ts;
	long long	now, end;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	end = ts.tv_sec * 1000LL + ts.tv_nsec / 1000000 + timeout_ms;
	while (log_drain()) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		now = ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
		if (now >= end || (poll(&pfd, 1, (int)(end - now)) == -1 &&
		    errno != EINTR))
			return;
	}
}

/* libevent: stderr can take more; write, and wait again if need be. */
static void
log_writable_cb(evutil_socket_t fd, short what, void *arg)
{
	if (log_drain())
		event_add(log_st.writable, NULL);
}

/* Log a warning with strerror(errno) appended. */
void
log_warn(const char *fmt, ...)
{
	va_list	 ap;
	int	 saved = errno;

	va_start(ap, fmt);
	log_vemit(LOG_LEVEL_WARN, "warning: ", strerror(saved), 0, fmt, ap);
	va_end(ap);
	errno = saved;
}

/* Log a warning. */
void
log_warnx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vemit(LOG_LEVEL_WARN, "warning: ", NULL, 0, fmt, ap);
	va_end(ap);
}

/* Log an informational message. */
void
log_info(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vemit(LOG_LEVEL_INFO, "", NULL, 0, fmt, ap);
	va_end(ap);
}

/* Log a debugging message. */
void
log_debug(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vemit(LOG_LEVEL_DEBUG, "debug: ", NULL, 0, fmt, ap);
	va_end(ap);
}

/* Log an error with strerror(errno) appended and exit 1. */
void
fatal(const char *fmt, ...)
{
	va_list	 ap;
	int	 saved = errno;

	va_start(ap, fmt);
	log_vemit(LOG_LEVEL_ERROR, "", strerror(saved), 1, fmt, ap);
	va_end(ap);
	exit(1);
}

/* Log an error and exit 1. */
void
fatalx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vemit(LOG_LEVEL_ERROR, "", NULL, 1, fmt, ap);
	va_end(ap);
	exit(1);
}
