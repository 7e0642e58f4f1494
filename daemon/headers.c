/* SPDX-License-Identifier: ISC */
/*
 * headers: decide which header fields cross the proxy, by name alone.
 *
 * A field is hop-by-hop when it is on RFC 9110's fixed list (Connection,
 * Keep-Alive, TE, Trailer, Transfer-Encoding, Upgrade), is any Proxy-*
 * field (addressed to the proxy, and Proxy-Authorization carries a
 * credential), or is named by the message's Connection field.  The module
 * also names the client credentials the provider's key replaces and the
 * fields the daemon computes itself, and checks that a value is safe to
 * emit.  Of field values it reads only the providers' rate-limit fields:
 * Retry-After (seconds or an HTTP-date in any of RFC 9110's three forms),
 * retry-after-ms, the "remaining" counts, and the resets, which are Go
 * duration strings ("6m0s") or RFC 3339 times.  Dates become milliseconds
 * from a wall-clock time the caller passes in, with calendar arithmetic of
 * its own (no time zone, no locale, no clock); every result saturates
 * instead of overflowing.  It keeps no state, and it decides nothing: the
 * caller applies the cooldown and the remaining counts.
 */
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "headers.h"

#define HEADERS_NS_MAX		INT64_MAX	/* as Go's time.Duration */
#define HEADERS_NS_PER_MS	1000000ULL
#define HEADERS_NS_PER_S	1000000000ULL
#define HEADERS_MS_PER_DAY	86400000LL
#define HEADERS_COOLDOWN_MS	1000		/* SPEC 5: when nothing says */
#define HEADERS_RL_LIMITS	6		/* kinds of limit */
#define HEADERS_RL_TOKENS	2		/* the first counting tokens */

/* A decimal number as read: whole part and the first nine decimals. */
struct headers_num {
	uint64_t	whole;
	uint64_t	frac;		/* billionths */
	int		over;		/* whole part past HEADERS_NS_MAX */
};

/* A broken-down UTC time, checked by headers_tm_ms(). */
struct headers_tm {
	int	year;		/* 0-9999 */
	int	mon;		/* 1-12 */
	int	day;
	int	hour;
	int	min;
	int	sec;		/* up to 60: a leap second */
};

/* What the rate-limit fields said, gathered before deciding. */
struct headers_rl {
	int64_t	after_ms;			/* retry-after-ms */
	int64_t	after;				/* retry-after */
	int64_t	remaining[HEADERS_RL_LIMITS];
	int64_t	reset[HEADERS_RL_LIMITS];
};

/* One rate-limit field: which limit it describes, and which side. */
struct headers_rl_field {
	const char	*name;
	int		 limit;		/* index in struct headers_rl */
	int		 reset;		/* 0: remaining, 1: reset */
};

static int	headers_in_list(const char *name, const char *const *list);
static int	headers_in_conn(const char *name, const char *conn);
static int	headers_is_ows(char c);
static int	headers_is_digit(char c);
static const char *headers_skip_ws(const char *p);
static int	headers_at_end(const char *p);
static uint64_t	headers_sat_add(uint64_t a, uint64_t b);
static uint64_t	headers_sat_mul(uint64_t a, uint64_t b);
static int	headers_number(const char **pp, struct headers_num *num);
static uint64_t	headers_scale(const struct headers_num *num, uint64_t unit);
static int64_t	headers_ns_to_ms(uint64_t ns);
static int64_t	headers_until(int64_t at_ms, int64_t now_ms);
static int	headers_decimal(const char *value, uint64_t unit, int64_t *ms);
static int	headers_unit(const char **pp, uint64_t *unit);
static int	headers_duration(const char *p, uint64_t *ns);
static int	headers_fixed(const char **pp, int n, int *v);
static int	headers_expect(const char **pp, const char *s);
static int	headers_hms(const char **pp, struct headers_tm *tm);
static int	headers_month(const char **pp, int *mon);
static int64_t	headers_days_from_civil(int64_t y, int m, int d);
static int64_t	headers_year_of(int64_t unix_ms);
static int	headers_tm_ms(const struct headers_tm *tm, int64_t *ms);
static int	headers_frac_ms(const char **pp, int64_t *ms);
static int	headers_rfc3339(const char *p, int64_t *unix_ms);
static int	headers_imf(const char **pp, struct headers_tm *tm);
static int	headers_rfc850(const char **pp, int64_t now_unix_ms,
		    struct headers_tm *tm);
static int	headers_asctime(const char **pp, struct headers_tm *tm);
static int	headers_http_date(const char *p, int64_t now_unix_ms,
		    int64_t *unix_ms);
static int	headers_count(const char *value, int64_t *n);
static void	headers_rl_take(struct headers_rl *acc, const char *name,
		    const char *value, int64_t now_unix_ms);
static int64_t	headers_rl_least(const int64_t *v, int from, int to);
static int64_t	headers_rl_cooldown(const struct headers_rl *acc,
		    int64_t after);

/* Fields that are hop-by-hop whatever the message says. */
static const char *const headers_hop_fixed[] = {
	"Connection",
	"Keep-Alive",
	"Proxy-Connection",
	"Proxy-Authenticate",
	"Proxy-Authorization",
	"TE",
	"Trailer",
	"Transfer-Encoding",
	"Upgrade",
	NULL
};

/* Fields that carry a client's credential. */
static const char *const headers_credentials[] = {
	"Authorization",
	"x-api-key",
	NULL
};

/*
 * Request fields the daemon (through curl) sets towards the upstream, and
 * the ones addressed to the daemon itself (SPEC 11), which no provider
 * needs to see.
 */
static const char *const headers_managed[] = {
	"Host",
	"Content-Length",
	"Expect",
	"x-llmproxy-client",
	"x-llmproxy-priority",
	NULL
};

/* OpenAI's and Anthropic's limits: 0-1 count requests, 2-5 tokens. */
static const struct headers_rl_field headers_rl_fields[] = {
	{ "x-ratelimit-remaining-requests", 0, 0 },
	{ "x-ratelimit-reset-requests", 0, 1 },
	{ "anthropic-ratelimit-requests-remaining", 1, 0 },
	{ "anthropic-ratelimit-requests-reset", 1, 1 },
	{ "x-ratelimit-remaining-tokens", 2, 0 },
	{ "x-ratelimit-reset-tokens", 2, 1 },
	{ "anthropic-ratelimit-tokens-remaining", 3, 0 },
	{ "anthropic-ratelimit-tokens-reset", 3, 1 },
	{ "anthropic-ratelimit-input-tokens-remaining", 4, 0 },
	{ "anthropic-ratelimit-input-tokens-reset", 4, 1 },
	{ "anthropic-ratelimit-output-tokens-remaining", 5, 0 },
	{ "anthropic-ratelimit-output-tokens-reset", 5, 1 },
	{ NULL, 0, 0 }
};

/* Go's duration units, longest spelling first where one prefixes another. */
static const struct {
	const char	*name;
	uint64_t	 ns;
} headers_units[] = {
	{ "ns", 1 },
	{ "us", 1000 },
	{ "\xc2\xb5s", 1000 },		/* U+00B5 micro sign */
	{ "\xce\xbcs", 1000 },		/* U+03BC Greek mu */
	{ "ms", HEADERS_NS_PER_MS },
	{ "s", HEADERS_NS_PER_S },
	{ "m", 60 * HEADERS_NS_PER_S },
	{ "h", 3600 * HEADERS_NS_PER_S },
	{ NULL, 0 }
};

static const char headers_months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";

/* Return 1 if name equals an entry of the NULL-terminated list, any case. */
static int
headers_in_list(const char *name, const char *const *list)
{
	size_t	i;

	for (i = 0; list[i] != NULL; i++) {
		if (strcasecmp(name, list[i]) == 0)
			return 1;
	}
	return 0;
}

/* Return 1 if c is optional whitespace (RFC 9110 OWS: space or tab). */
static int
headers_is_ows(char c)
{
	return c == ' ' || c == '\t';
}

/* Return 1 if name is one of the comma-separated tokens of conn. */
static int
headers_in_conn(const char *name, const char *conn)
{
	const char	*p, *end;
	size_t		 nlen = strlen(name), tlen;

	p = conn;
	while (*p != '\0') {
		while (headers_is_ows(*p) || *p == ',')
			p++;
		end = p;
		while (*end != '\0' && *end != ',')
			end++;
		tlen = (size_t)(end - p);
		while (tlen > 0 && headers_is_ows(p[tlen - 1]))
			tlen--;
		if (tlen != 0 && tlen == nlen && strncasecmp(p, name,
		    nlen) == 0)
			return 1;
		p = end;
	}
	return 0;
}

/* Return 1 if a field called name must not be forwarded. */
int
headers_is_hop_by_hop(const char *name, const char *conn)
{
	if (name == NULL)
		return 0;
	if (headers_in_list(name, headers_hop_fixed))
		return 1;
	if (strncasecmp(name, "Proxy-", 6) == 0)
		return 1;
	if (conn != NULL && *name != '\0' && headers_in_conn(name, conn))
		return 1;
	return 0;
}

/* Return 1 if name carries a client credential. */
int
headers_is_credential(const char *name)
{
	return name != NULL && headers_in_list(name, headers_credentials);
}

/* Return 1 if name is a request field the daemon sets itself. */
int
headers_is_upstream_managed(const char *name)
{
	return name != NULL && headers_in_list(name, headers_managed);
}

/* Return 1 if value has no CR, LF or NUL within its len bytes. */
int
headers_value_is_clean(const char *value, size_t len)
{
	size_t	i;

	if (value == NULL)
		return len == 0;
	for (i = 0; i < len; i++) {
		if (value[i] == '\r' || value[i] == '\n' || value[i] == '\0')
			return 0;
	}
	return 1;
}

/* Return 1 if c is an ASCII digit (no locale). */
static int
headers_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Return p past any whitespace, CR and LF included. */
static const char *
headers_skip_ws(const char *p)
{
	while (headers_is_ows(*p) || *p == '\r' || *p == '\n')
		p++;
	return p;
}

/* Return 1 if only whitespace is left at p. */
static int
headers_at_end(const char *p)
{
	return *headers_skip_ws(p) == '\0';
}

/* Return a + b (a <= HEADERS_NS_MAX), or HEADERS_NS_MAX if that is more. */
static uint64_t
headers_sat_add(uint64_t a, uint64_t b)
{
	return b > HEADERS_NS_MAX - a ? HEADERS_NS_MAX : a + b;
}

/* Return a * b, or HEADERS_NS_MAX if that is more. */
static uint64_t
headers_sat_mul(uint64_t a, uint64_t b)
{
	return a != 0 && b > HEADERS_NS_MAX / a ? HEADERS_NS_MAX : a * b;
}

/*
 * Read a decimal number without sign at *pp ("12", "1.5", ".5", "5.") and
 * advance past it; return -1 if it has no digit.  Decimals past the ninth
 * are read and dropped, as Go drops what a Duration cannot hold.
 */
static int
headers_number(const char **pp, struct headers_num *num)
{
	const char	*p = *pp;
	uint64_t	 scale = HEADERS_NS_PER_S;
	int		 digits = 0;

	memset(num, 0, sizeof *num);
	for (; headers_is_digit(*p); p++, digits++) {
		if (num->whole > (HEADERS_NS_MAX - 9) / 10)
			num->over = 1;
		else
			num->whole = num->whole * 10 + (uint64_t)(*p - '0');
	}
	if (*p == '.') {
		for (p++; headers_is_digit(*p); p++, digits++) {
			if (scale == 1)
				continue;
			scale /= 10;
			num->frac += (uint64_t)(*p - '0') * scale;
		}
	}
	if (digits == 0)
		return -1;
	*pp = p;
	return 0;
}

/* Return num times unit nanoseconds, rounded down, saturated. */
static uint64_t
headers_scale(const struct headers_num *num, uint64_t unit)
{
	uint64_t	whole, part;

	if (num->over)
		return HEADERS_NS_MAX;
	whole = headers_sat_mul(num->whole, unit);
	/* frac < 1e9 and unit < 2^42: split unit so nothing overflows. */
	part = num->frac * (unit / HEADERS_NS_PER_S) +
	    num->frac * (unit % HEADERS_NS_PER_S) / HEADERS_NS_PER_S;
	return headers_sat_add(whole, part);
}

/* Return ns in whole milliseconds, rounded up. */
static int64_t
headers_ns_to_ms(uint64_t ns)
{
	return (int64_t)(ns / HEADERS_NS_PER_MS +
	    (ns % HEADERS_NS_PER_MS != 0));
}

/* Return the milliseconds from now_ms until at_ms, 0 if past, saturated. */
static int64_t
headers_until(int64_t at_ms, int64_t now_ms)
{
	if (at_ms <= now_ms)
		return 0;
	if (now_ms < 0 && at_ms > INT64_MAX + now_ms)
		return INT64_MAX;
	return at_ms - now_ms;
}

/* Parse value, a bare decimal number of unit ns, into whole ms (up). */
static int
headers_decimal(const char *value, uint64_t unit, int64_t *ms)
{
	struct headers_num	 num;
	const char		*p = headers_skip_ws(value);

	if (headers_number(&p, &num) == -1 || !headers_at_end(p))
		return -1;
	*ms = headers_ns_to_ms(headers_scale(&num, unit));
	return 0;
}

/* Read a Go duration unit at *pp into *unit (ns); return -1 if none. */
static int
headers_unit(const char **pp, uint64_t *unit)
{
	size_t	i, len;

	for (i = 0; headers_units[i].name != NULL; i++) {
		len = strlen(headers_units[i].name);
		if (strncmp(*pp, headers_units[i].name, len) == 0) {
			*pp += len;
			*unit = headers_units[i].ns;
			return 0;
		}
	}
	return -1;
}

/*
 * Parse a Go duration ("20ms", "6m0s", "1h2m3.5s", "1.5h") or a bare
 * number of seconds into *ns, saturated; return -1 if it is neither.
 */
static int
headers_duration(const char *p, uint64_t *ns)
{
	struct headers_num	num;
	uint64_t		unit, total = 0;

	if (headers_number(&p, &num) == -1)
		return -1;
	if (headers_at_end(p)) {
		*ns = headers_scale(&num, HEADERS_NS_PER_S);
		return 0;
	}
	for (;;) {
		if (headers_unit(&p, &unit) == -1)
			return -1;
		total = headers_sat_add(total, headers_scale(&num, unit));
		if (headers_at_end(p))
			break;
		if (headers_number(&p, &num) == -1)
			return -1;
	}
	*ns = total;
	return 0;
}

/* Read exactly n digits at *pp into *v; return -1 if they are not there. */
static int
headers_fixed(const char **pp, int n, int *v)
{
	int	i;

	*v = 0;
	for (i = 0; i < n; i++) {
		if (!headers_is_digit((*pp)[i]))
			return -1;
		*v = *v * 10 + ((*pp)[i] - '0');
	}
	*pp += n;
	return 0;
}

/* Advance *pp past s if it starts with s (any case); return 1 if it did. */
static int
headers_expect(const char **pp, const char *s)
{
	size_t	len = strlen(s);

	if (strncasecmp(*pp, s, len) != 0)
		return 0;
	*pp += len;
	return 1;
}

/* Read "HH:MM:SS" at *pp into tm; return -1 if it is not there. */
static int
headers_hms(const char **pp, struct headers_tm *tm)
{
	if (headers_fixed(pp, 2, &tm->hour) == -1 || !headers_expect(pp, ":") ||
	    headers_fixed(pp, 2, &tm->min) == -1 || !headers_expect(pp, ":") ||
	    headers_fixed(pp, 2, &tm->sec) == -1)
		return -1;
	return 0;
}

/* Read a three-letter English month at *pp into *mon (1-12). */
static int
headers_month(const char **pp, int *mon)
{
	int	i;

	for (i = 0; i < 12; i++) {
		if (strncasecmp(*pp, headers_months + 3 * i, 3) == 0) {
			*pp += 3;
			*mon = i + 1;
			return 0;
		}
	}
	return -1;
}

/* Return the days from 1970-01-01 to y-m-d (proleptic Gregorian). */
static int64_t
headers_days_from_civil(int64_t y, int m, int d)
{
	int64_t	era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* Return the (proleptic Gregorian) year that unix_ms falls in. */
static int64_t
headers_year_of(int64_t unix_ms)
{
	int64_t	z, era, doe, yoe, doy;

	z = unix_ms / HEADERS_MS_PER_DAY - (unix_ms % HEADERS_MS_PER_DAY < 0) +
	    719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	/* Years here begin in March: January and February are the next. */
	return yoe + era * 400 + ((5 * doy + 2) / 153 >= 10);
}

/* Check tm (years 0-9999) and set *ms to its Unix time in ms. */
static int
headers_tm_ms(const struct headers_tm *tm, int64_t *ms)
{
	static const int	mdays[] = {
		31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
	};
	int			leap;

	if (tm->year < 0 || tm->year > 9999 || tm->mon < 1 || tm->mon > 12 ||
	    tm->day < 1 || tm->day > mdays[tm->mon - 1] || tm->hour > 23 ||
	    tm->min > 59 || tm->sec > 60)
		return -1;
	leap = (tm->year % 4 == 0 && tm->year % 100 != 0) ||
	    tm->year % 400 == 0;
	if (tm->mon == 2 && tm->day == 29 && !leap)
		return -1;
	*ms = headers_days_from_civil(tm->year, tm->mon, tm->day) *
	    HEADERS_MS_PER_DAY + (int64_t)tm->hour * 3600000 +
	    (int64_t)tm->min * 60000 + (int64_t)tm->sec * 1000;
	return 0;
}

/* Read an optional ".digits" at *pp as milliseconds, rounded up. */
static int
headers_frac_ms(const char **pp, int64_t *ms)
{
	struct headers_num	num;

	*ms = 0;
	if (**pp != '.')
		return 0;
	if (!headers_is_digit((*pp)[1]) || headers_number(pp, &num) == -1)
		return -1;
	*ms = headers_ns_to_ms(num.frac);
	return 0;
}

/* Parse an RFC 3339 time ("2026-11-25T10:00:00.5+01:00") into Unix ms. */
static int
headers_rfc3339(const char *p, int64_t *unix_ms)
{
	struct headers_tm	tm;
	int			oh = 0, om = 0, sign = 0;
	int64_t			base, frac;

	if (headers_fixed(&p, 4, &tm.year) == -1 || !headers_expect(&p, "-") ||
	    headers_fixed(&p, 2, &tm.mon) == -1 || !headers_expect(&p, "-") ||
	    headers_fixed(&p, 2, &tm.day) == -1)
		return -1;
	if (*p != 'T' && *p != 't' && *p != ' ')
		return -1;
	p++;
	if (headers_hms(&p, &tm) == -1 || headers_frac_ms(&p, &frac) == -1)
		return -1;
	if (*p == '+' || *p == '-') {
		sign = *p++ == '-' ? -1 : 1;
		if (headers_fixed(&p, 2, &oh) == -1 ||
		    !headers_expect(&p, ":") ||
		    headers_fixed(&p, 2, &om) == -1 || oh > 23 || om > 59)
			return -1;
	} else if (!headers_expect(&p, "Z"))
		return -1;
	if (!headers_at_end(p) || headers_tm_ms(&tm, &base) == -1)
		return -1;
	*unix_ms = base + frac - sign * ((int64_t)oh * 3600000 + om * 60000);
	return 0;
}

/* Read the rest of an IMF-fixdate at *pp: " 06 Nov 1994 08:49:37 GMT". */
static int
headers_imf(const char **pp, struct headers_tm *tm)
{
	if (!headers_expect(pp, " ") || headers_fixed(pp, 2, &tm->day) == -1 ||
	    !headers_expect(pp, " ") || headers_month(pp, &tm->mon) == -1 ||
	    !headers_expect(pp, " ") || headers_fixed(pp, 4, &tm->year) == -1 ||
	    !headers_expect(pp, " ") || headers_hms(pp, tm) == -1 ||
	    !headers_expect(pp, " GMT"))
		return -1;
	return 0;
}

/*
 * Read the rest of an RFC 850 date at *pp (" 06-Nov-94 08:49:37 GMT");
 * its two-digit year is the one within 50 years of now (RFC 9110 5.6.7).
 */
static int
headers_rfc850(const char **pp, int64_t now_unix_ms, struct headers_tm *tm)
{
	int64_t	now_year, y;
	int	yy;

	if (!headers_expect(pp, " ") || headers_fixed(pp, 2, &tm->day) == -1 ||
	    !headers_expect(pp, "-") || headers_month(pp, &tm->mon) == -1 ||
	    !headers_expect(pp, "-") || headers_fixed(pp, 2, &yy) == -1 ||
	    !headers_expect(pp, " ") || headers_hms(pp, tm) == -1 ||
	    !headers_expect(pp, " GMT"))
		return -1;
	now_year = headers_year_of(now_unix_ms);
	y = now_year - now_year % 100 + yy;
	if (y > now_year + 50)
		y -= 100;
	else if (y <= now_year - 50)
		y += 100;
	tm->year = y >= 0 && y <= 9999 ? (int)y : -1;
	return 0;
}

/* Read the rest of an asctime date at *pp: " Nov  6 08:49:37 1994". */
static int
headers_asctime(const char **pp, struct headers_tm *tm)
{
	if (!headers_expect(pp, " ") || headers_month(pp, &tm->mon) == -1 ||
	    !headers_expect(pp, " "))
		return -1;
	if (**pp == ' ') {
		(*pp)++;
		if (headers_fixed(pp, 1, &tm->day) == -1)
			return -1;
	} else if (headers_fixed(pp, 2, &tm->day) == -1)
		return -1;
	if (!headers_expect(pp, " ") || headers_hms(pp, tm) == -1 ||
	    !headers_expect(pp, " ") || headers_fixed(pp, 4, &tm->year) == -1)
		return -1;
	return 0;
}

/* Parse an HTTP-date, any of RFC 9110's three forms, into Unix ms. */
static int
headers_http_date(const char *p, int64_t now_unix_ms, int64_t *unix_ms)
{
	struct headers_tm	 tm;
	const char		*q = p;
	int			 r;

	while ((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z'))
		q++;
	if (q - p < 3)
		return -1;
	if (*q == ',') {
		q++;
		if (q[0] == ' ' && headers_is_digit(q[1]) &&
		    headers_is_digit(q[2]) && q[3] == '-')
			r = headers_rfc850(&q, now_unix_ms, &tm);
		else
			r = headers_imf(&q, &tm);
	} else
		r = headers_asctime(&q, &tm);
	if (r == -1 || !headers_at_end(q))
		return -1;
	return headers_tm_ms(&tm, unix_ms);
}

/* Parse a Retry-After value into ms from now_unix_ms. */
int
headers_parse_retry_after(const char *value, int64_t now_unix_ms,
    int64_t *ms)
{
	const char	*p;
	int64_t		 at;

	if (value == NULL)
		return -1;
	p = headers_skip_ws(value);
	if (headers_is_digit(*p) || *p == '.')
		return headers_decimal(p, HEADERS_NS_PER_S, ms);
	if (headers_http_date(p, now_unix_ms, &at) == -1)
		return -1;
	*ms = headers_until(at, now_unix_ms);
	return 0;
}

/* Parse a rate-limit reset (duration or RFC 3339) into ms from now. */
int
headers_parse_reset(const char *value, int64_t now_unix_ms, int64_t *ms)
{
	const char	*p;
	uint64_t	 ns;
	int64_t		 at;

	if (value == NULL)
		return -1;
	p = headers_skip_ws(value);
	if (headers_rfc3339(p, &at) == 0) {
		*ms = headers_until(at, now_unix_ms);
		return 0;
	}
	if (headers_duration(p, &ns) == -1)
		return -1;
	*ms = headers_ns_to_ms(ns);
	return 0;
}

/* Parse a count without sign or decimals into *n, saturated. */
static int
headers_count(const char *value, int64_t *n)
{
	struct headers_num	 num;
	const char		*p = headers_skip_ws(value), *start = p;

	if (!headers_is_digit(*p) || headers_number(&p, &num) == -1 ||
	    memchr(start, '.', (size_t)(p - start)) != NULL ||
	    !headers_at_end(p))
		return -1;
	*n = num.over ? INT64_MAX : (int64_t)num.whole;
	return 0;
}

/* Note what the field name: value says in acc; ignore what does not parse. */
static void
headers_rl_take(struct headers_rl *acc, const char *name, const char *value,
    int64_t now_unix_ms)
{
	const struct headers_rl_field	*f;
	int64_t				 v;
	int				 i;

	if (strcasecmp(name, "retry-after-ms") == 0) {
		if (acc->after_ms < 0 && headers_decimal(value,
		    HEADERS_NS_PER_MS, &v) == 0)
			acc->after_ms = v;
	} else if (strcasecmp(name, "retry-after") == 0) {
		if (acc->after < 0 &&
		    headers_parse_retry_after(value, now_unix_ms, &v) == 0)
			acc->after = v;
	}
	for (f = headers_rl_fields; f->name != NULL; f++) {
		if (strcasecmp(name, f->name) != 0)
			continue;
		i = f->limit;
		/* Repeated fields: the least remaining, the latest reset. */
		if (!f->reset && headers_count(value, &v) == 0 &&
		    (acc->remaining[i] < 0 || v < acc->remaining[i]))
			acc->remaining[i] = v;
		if (f->reset && headers_parse_reset(value, now_unix_ms,
		    &v) == 0 && v > acc->reset[i])
			acc->reset[i] = v;
		return;
	}
}

/* Return the least of v[from..to) that is not -1, or -1. */
static int64_t
headers_rl_least(const int64_t *v, int from, int to)
{
	int64_t	least = -1;

	for (; from < to; from++) {
		if (v[from] >= 0 && (least < 0 || v[from] < least))
			least = v[from];
	}
	return least;
}

/* Return the pause after a 429, in SPEC section 5's order of precedence. */
static int64_t
headers_rl_cooldown(const struct headers_rl *acc, int64_t after)
{
	int64_t	longest = -1;
	int	i;

	if (after >= 0)
		return after;
	for (i = 0; i < HEADERS_RL_LIMITS; i++) {
		if (acc->remaining[i] == 0 && acc->reset[i] > longest)
			longest = acc->reset[i];
	}
	if (longest >= 0)
		return longest;
	longest = headers_rl_least(acc->reset, 0, HEADERS_RL_LIMITS);
	return longest >= 0 ? longest : HEADERS_COOLDOWN_MS;
}

/* Read the rate-limit fields among n response header fields into rl. */
void
headers_parse_ratelimit(const char *const *names, const char *const *values,
    size_t n, int64_t now_unix_ms, struct headers_ratelimit *rl)
{
	struct headers_rl	acc;
	size_t			i;

	acc.after_ms = acc.after = -1;
	for (i = 0; i < HEADERS_RL_LIMITS; i++)
		acc.remaining[i] = acc.reset[i] = -1;
	for (i = 0; names != NULL && values != NULL && i < n; i++) {
		if (names[i] != NULL && values[i] != NULL)
			headers_rl_take(&acc, names[i], values[i],
			    now_unix_ms);
	}
	rl->retry_after_ms = acc.after_ms >= 0 ? acc.after_ms : acc.after;
	rl->remaining_requests = headers_rl_least(acc.remaining, 0,
	    HEADERS_RL_TOKENS);
	rl->remaining_tokens = headers_rl_least(acc.remaining,
	    HEADERS_RL_TOKENS, HEADERS_RL_LIMITS);
	rl->cooldown_ms = headers_rl_cooldown(&acc, rl->retry_after_ms);
}
