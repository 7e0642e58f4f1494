/* SPDX-License-Identifier: ISC */
/*
 * fmt: the short numbers and durations that llmproxyctl's tables and its
 * live view print.  Each writes into a caller's buffer and returns it, so
 * a call fits inside a printf.  Pure: no clock, no terminal.
 */
#ifndef FMT_H
#define FMT_H

#include <stddef.h>
#include <time.h>

#define FMT_SIZE	32		/* room for any of these */

/* A quantity in at most 6 characters: 7, 6.5, 12.3k, 200k, 1.5M. */
char	*fmt_qty(char *buf, size_t len, double v);
/* "now/limit", or "now/-" when limit is 0 (no limit). */
char	*fmt_of(char *buf, size_t len, long long now, long long limit);
/* A duration in seconds as 45s, 12m05s, 3h02m or 4d07h. */
char	*fmt_age(char *buf, size_t len, long long s);
/* A wait in seconds as 3ms, 250ms, 1.2s, 45s; "-" when s < 0. */
char	*fmt_wait(char *buf, size_t len, double s);
/* Parse an RFC 3339 time (UTC "Z" or an offset); -1 when it is not one. */
int	 fmt_parse_rfc3339(const char *s, double *t);

#endif /* FMT_H */
