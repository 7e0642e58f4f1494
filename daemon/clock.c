/* SPDX-License-Identifier: ISC */
/*
 * clock: monotonic and wall-clock readings in milliseconds, and the
 * conversions to struct timeval that every timer needs, and dates.
 */
#include <stdio.h>
#include <time.h>

#include "clock.h"

/* Return a monotonic clock in milliseconds. */
uint64_t
clock_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Return a monotonic clock in microseconds (round trips to Redis). */
uint64_t
clock_now_us(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* Return the wall clock in milliseconds since the epoch (for dates). */
int64_t
clock_wall_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Return seconds (>= 0; a negative value counts as 0) as a timeval. */
struct timeval
clock_tv_seconds(double seconds)
{
	struct timeval	tv;

	if (seconds < 0)
		seconds = 0;
	tv.tv_sec = (time_t)seconds;
	tv.tv_usec = (suseconds_t)((seconds - (double)tv.tv_sec) * 1e6);
	return tv;
}

/* Return milliseconds as a timeval. */
struct timeval
clock_tv_ms(uint64_t ms)
{
	struct timeval	tv;

	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	return tv;
}

/* Write wall_ms (since the epoch) as RFC 3339 in UTC, with milliseconds. */
void
clock_rfc3339(int64_t wall_ms, char *buf, size_t len)
{
	struct tm	tm;
	time_t		secs = (time_t)(wall_ms / 1000);

	gmtime_r(&secs, &tm);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, (int)(wall_ms % 1000));
}
