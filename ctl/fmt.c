/* SPDX-License-Identifier: ISC */
/*
 * fmt: short numbers and durations for llmproxyctl's output.
 *
 * A column in an 80-column view has room for six characters, so large
 * counts take a k or M suffix and waits switch unit with their size.  The
 * RFC 3339 reader accepts what the daemon writes for cooldown_until (UTC
 * with a Z and optional fraction) and, to be lenient, a numeric offset.
 * Nothing here reads the clock: callers pass the time in.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fmt.h"

/* Format a quantity with a k or M suffix once it passes 10,000. */
char *
fmt_qty(char *buf, size_t len, double v)
{
	double	a = v < 0 ? -v : v;

	if (a >= 1e7)
		snprintf(buf, len, "%.1fM", v / 1e6);
	else if (a >= 1e4)
		snprintf(buf, len, "%.1fk", v / 1e3);
	else if (a == (double)(long long)a)
		snprintf(buf, len, "%lld", (long long)v);
	else
		snprintf(buf, len, "%.1f", v);
	return buf;
}

/* Format "now/limit", with "-" for a limit that is off. */
char *
fmt_of(char *buf, size_t len, long long now, long long limit)
{
	if (limit > 0)
		snprintf(buf, len, "%lld/%lld", now, limit);
	else
		snprintf(buf, len, "%lld/-", now);
	return buf;
}

/* Format an age in the two largest units that matter. */
char *
fmt_age(char *buf, size_t len, long long s)
{
	if (s < 0)
		s = 0;
	if (s < 60)
		snprintf(buf, len, "%llds", s);
	else if (s < 3600)
		snprintf(buf, len, "%lldm%02llds", s / 60, s % 60);
	else if (s < 86400)
		snprintf(buf, len, "%lldh%02lldm", s / 3600, s % 3600 / 60);
	else
		snprintf(buf, len, "%lldd%02lldh", s / 86400, s % 86400 / 3600);
	return buf;
}

/* Format a wait: milliseconds below one second, else seconds. */
char *
fmt_wait(char *buf, size_t len, double s)
{
	if (s < 0)
		snprintf(buf, len, "-");
	else if (s < 1.0)
		snprintf(buf, len, "%.0fms", s * 1000);
	else if (s < 10.0)
		snprintf(buf, len, "%.1fs", s);
	else
		snprintf(buf, len, "%.0fs", s);
	return buf;
}

/* Parse YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM) into Unix seconds. */
int
fmt_parse_rfc3339(const char *s, double *t)
{
	struct tm	 tm;
	char		*end;
	double		 frac = 0;
	int		 n = 0, oh, om;

	memset(&tm, 0, sizeof tm);
	if (sscanf(s, "%4d-%2d-%2d%*1[Tt ]%2d:%2d:%2d%n", &tm.tm_year,
	    &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec,
	    &n) != 6 || n != 19)
		return -1;
	s += n;
	if (*s == '.') {
		frac = strtod(s, &end);
		s = end;
	}
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	*t = (double)timegm(&tm) + frac;
	if ((*s == 'Z' || *s == 'z') && s[1] == '\0')
		return 0;
	if ((*s == '+' || *s == '-') && sscanf(s + 1, "%2d:%2d%n", &oh, &om,
	    &n) == 2 && n == 5 && s[6] == '\0') {
		*t -= (*s == '+' ? 1 : -1) * (oh * 3600.0 + om * 60.0);
		return 0;
	}
	return -1;
}
