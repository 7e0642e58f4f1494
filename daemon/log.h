/* SPDX-License-Identifier: ISC */
/*
 * log: messages to stderr, filtered by level.
 *
 * The daemon always runs in the foreground and logs to stderr, where
 * systemd's journal (or the terminal) picks the lines up; once the event
 * loop runs, a stalled reader never blocks it (lines wait, bounded, and
 * past the bound are dropped and counted).  log_warn() appends
 * strerror(errno), log_warnx() does not.  fatal() and fatalx() are for
 * start-up and broken invariants only: a failed request becomes an HTTP
 * answer, never an exit.  No caller ever passes a credential here.
 */
#ifndef LOG_H
#define LOG_H

#include "config.h"

struct event_base;

#define LOG_PRINTFLIKE(a, b) __attribute__((format(printf, a, b)))

/*
 * From now on never block on stderr: what it cannot take waits (bounded)
 * and is written when base sees it writable.  Before, lines are written
 * at once.
 */
void	log_start(struct event_base *base);
/* Write what waits (for a bounded time) and stop using base. */
void	log_stop(void);
/* Set the most verbose level that is printed. */
void	log_set_level(enum log_level level);
/* Return 1 if messages at level are printed (skip work otherwise). */
int	log_enabled(enum log_level level);

void	log_warn(const char *fmt, ...) LOG_PRINTFLIKE(1, 2);
void	log_warnx(const char *fmt, ...) LOG_PRINTFLIKE(1, 2);
void	log_info(const char *fmt, ...) LOG_PRINTFLIKE(1, 2);
void	log_debug(const char *fmt, ...) LOG_PRINTFLIKE(1, 2);
void	fatal(const char *fmt, ...) LOG_PRINTFLIKE(1, 2)
	    __attribute__((noreturn));
void	fatalx(const char *fmt, ...) LOG_PRINTFLIKE(1, 2)
	    __attribute__((noreturn));

#endif /* LOG_H */
