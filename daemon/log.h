/* SPDX-License-Identifier: ISC */
/*
 * log: messages to stderr, filtered by level.
 *
 * The daemon always runs in the foreground and logs to stderr, where
 * systemd's journal (or the terminal) picks the lines up.  log_warn()
 * appends strerror(errno), log_warnx() does not.  fatal() and fatalx() are
 * for start-up and broken invariants only: a failed request becomes an HTTP
 * answer, never an exit.  No caller ever passes a credential here.
 */
#ifndef LOG_H
#define LOG_H

#include "config.h"

#define LOG_PRINTFLIKE(a, b) __attribute__((format(printf, a, b)))

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
