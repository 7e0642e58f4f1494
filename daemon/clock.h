/* SPDX-License-Identifier: ISC */
/*
 * clock: the daemon's readings of time, and durations as libevent wants
 * them.  Everything that decides (limiter.c) takes time as an argument;
 * the event-driven modules read it here, so there is one monotonic clock.
 */
#ifndef CLOCK_H
#define CLOCK_H

#include <sys/time.h>

#include <stddef.h>
#include <stdint.h>

/* Return a monotonic clock in milliseconds. */
uint64_t	clock_now_ms(void);
/* Return a monotonic clock in microseconds. */
uint64_t	clock_now_us(void);
/* Return the wall clock in milliseconds since the epoch (for dates). */
int64_t		clock_wall_ms(void);
/* Return seconds (>= 0; a negative value counts as 0) as a timeval. */
struct timeval	clock_tv_seconds(double seconds);
/* Return milliseconds as a timeval. */
struct timeval	clock_tv_ms(uint64_t ms);

/* Write wall_ms (since the epoch) as RFC 3339 in UTC, with milliseconds. */
void		clock_rfc3339(int64_t wall_ms, char *buf, size_t len);

#endif /* CLOCK_H */
