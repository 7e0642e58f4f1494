/* SPDX-License-Identifier: ISC */
/*
 * test_headers: which fields headers.c lets across the proxy.
 *
 * Covers the fixed hop-by-hop list in several letter cases, names listed
 * by Connection (with whitespace and empty list elements), credentials,
 * the fields the daemon manages, and the value check; then the rate-limit
 * fields: every reset format (Go durations, RFC 3339 with Z, an offset, a
 * fraction; plain seconds), Retry-After as seconds and as each HTTP-date
 * form, retry-after-ms, the remaining counts of both dialects, garbage,
 * and the cooldown's order of precedence in each case.  It does not test
 * how upstream.c or the provider code apply the answers.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "headers.h"
#include "unit.h"

static void	test_case_variants(const char *name, char *lower, char *upper,
		    char *mixed, size_t size);
static void	test_hop_fixed(void);
static void	test_hop_not(void);
static void	test_hop_conn(void);
static void	test_hop_conn_odd(void);
static void	test_credential(void);
static void	test_managed(void);
static void	test_value_clean(void);
static int64_t	test_reset(const char *value, int64_t now_ms);
static int64_t	test_retry_after(const char *value, int64_t now_ms);
static void	test_rl(const char *const *fields, size_t n,
		    struct headers_ratelimit *rl);
static void	test_reset_duration(void);
static void	test_reset_bad(void);
static void	test_reset_rfc3339(void);
static void	test_retry_after_seconds(void);
static void	test_retry_after_date(void);
static void	test_rl_retry_after(void);
static void	test_rl_zero_remaining(void);
static void	test_rl_shortest(void);
static void	test_rl_anthropic(void);
static void	test_rl_remaining(void);
static void	test_rl_garbage(void);

/* 2026-11-25T10:00:00Z and 2015-10-21T07:28:00Z in Unix milliseconds. */
#define TEST_NOW_2026	1795600800000LL
#define TEST_NOW_2015	1445412480000LL

static const char *const test_hop_names[] = {
	"Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate",
	"Proxy-Authorization", "TE", "Trailer", "Transfer-Encoding", "Upgrade"
};

/* Write name in lower case, upper case and alternating case. */
static void
test_case_variants(const char *name, char *lower, char *upper, char *mixed,
    size_t size)
{
	size_t	i;

	for (i = 0; name[i] != '\0' && i + 1 < size; i++) {
		lower[i] = (char)tolower((unsigned char)name[i]);
		upper[i] = (char)toupper((unsigned char)name[i]);
		mixed[i] = i % 2 ? lower[i] : upper[i];
	}
	lower[i] = upper[i] = mixed[i] = '\0';
}

/* Every fixed hop-by-hop name matches, whatever its case. */
static void
test_hop_fixed(void)
{
	char	lower[64], upper[64], mixed[64];
	size_t	i;

	for (i = 0; i < sizeof test_hop_names / sizeof test_hop_names[0];
	    i++) {
		test_case_variants(test_hop_names[i], lower, upper, mixed,
		    sizeof lower);
		UNIT_ASSERT(headers_is_hop_by_hop(test_hop_names[i], NULL));
		UNIT_ASSERT(headers_is_hop_by_hop(lower, NULL));
		UNIT_ASSERT(headers_is_hop_by_hop(upper, NULL));
		UNIT_ASSERT(headers_is_hop_by_hop(mixed, "x-other"));
		UNIT_ASSERT(!headers_is_credential(lower));
	}
	UNIT_ASSERT(headers_is_hop_by_hop("Proxy-Status", NULL));
	UNIT_ASSERT(headers_is_hop_by_hop("proxy-anything", NULL));
}

/* End-to-end fields, and names that merely resemble hop-by-hop ones, pass. */
static void
test_hop_not(void)
{
	UNIT_ASSERT(!headers_is_hop_by_hop("anthropic-version", NULL));
	UNIT_ASSERT(!headers_is_hop_by_hop("OpenAI-Beta", NULL));
	UNIT_ASSERT(!headers_is_hop_by_hop("Content-Type", NULL));
	UNIT_ASSERT(!headers_is_hop_by_hop("Content-Type", ""));
	UNIT_ASSERT(!headers_is_hop_by_hop("TEE", NULL));
	UNIT_ASSERT(!headers_is_hop_by_hop("T", NULL));
	UNIT_ASSERT(!headers_is_hop_by_hop("Connectio", NULL));
	UNIT_ASSERT(!headers_is_hop_by_hop("Connection2", NULL));
	UNIT_ASSERT(!headers_is_hop_by_hop("Upgrade-Insecure-Requests",
	    NULL));
	UNIT_ASSERT(!headers_is_hop_by_hop("Trailers", NULL));
	UNIT_ASSERT(!headers_is_hop_by_hop("Proxy", NULL));
	UNIT_ASSERT(!headers_is_hop_by_hop("", NULL));
	UNIT_ASSERT(!headers_is_hop_by_hop("", ", ,"));
}

/* Every token a Connection field lists is hop-by-hop. */
static void
test_hop_conn(void)
{
	const char	*conn = "close, X-Foo ,,x-bar";

	UNIT_ASSERT(headers_is_hop_by_hop("close", conn));
	UNIT_ASSERT(headers_is_hop_by_hop("X-Foo", conn));
	UNIT_ASSERT(headers_is_hop_by_hop("x-foo", conn));
	UNIT_ASSERT(headers_is_hop_by_hop("X-FOO", conn));
	UNIT_ASSERT(headers_is_hop_by_hop("x-bar", conn));
	UNIT_ASSERT(headers_is_hop_by_hop("X-Bar", conn));
	UNIT_ASSERT(!headers_is_hop_by_hop("x-fo", conn));
	UNIT_ASSERT(!headers_is_hop_by_hop("x-foo ", conn));
	UNIT_ASSERT(!headers_is_hop_by_hop("x-ba", conn));
	UNIT_ASSERT(!headers_is_hop_by_hop("x-barr", conn));
	UNIT_ASSERT(!headers_is_hop_by_hop("x-baz", conn));
	UNIT_ASSERT(!headers_is_hop_by_hop("X-Foo", NULL));
	UNIT_ASSERT(headers_is_hop_by_hop("keep-alive", "x-foo"));
}

/* Tabs, leading and trailing commas and lone tokens are handled. */
static void
test_hop_conn_odd(void)
{
	UNIT_ASSERT(headers_is_hop_by_hop("a", "a"));
	UNIT_ASSERT(headers_is_hop_by_hop("a", ",a,"));
	UNIT_ASSERT(headers_is_hop_by_hop("a", "\t a\t"));
	UNIT_ASSERT(headers_is_hop_by_hop("b", " , a ,\tb"));
	UNIT_ASSERT(headers_is_hop_by_hop("X-Trace", "close, x-trace"));
	UNIT_ASSERT(!headers_is_hop_by_hop("a", ""));
	UNIT_ASSERT(!headers_is_hop_by_hop("a", ",,,"));
	UNIT_ASSERT(!headers_is_hop_by_hop("a b", "a, b"));
	UNIT_ASSERT(!headers_is_hop_by_hop("ab", "a, b"));
	UNIT_ASSERT(!headers_is_hop_by_hop("b", "ab"));
}

/* Client credentials are recognised in any case, and nothing else is. */
static void
test_credential(void)
{
	UNIT_ASSERT(headers_is_credential("Authorization"));
	UNIT_ASSERT(headers_is_credential("authorization"));
	UNIT_ASSERT(headers_is_credential("AUTHORIZATION"));
	UNIT_ASSERT(headers_is_credential("x-api-key"));
	UNIT_ASSERT(headers_is_credential("X-Api-Key"));
	UNIT_ASSERT(headers_is_credential("X-API-KEY"));
	UNIT_ASSERT(!headers_is_credential("x-api-keys"));
	UNIT_ASSERT(!headers_is_credential("api-key"));
	UNIT_ASSERT(!headers_is_credential("Authorizatio"));
	UNIT_ASSERT(!headers_is_credential("anthropic-version"));
	UNIT_ASSERT(!headers_is_credential(""));
	UNIT_ASSERT(!headers_is_hop_by_hop("Authorization", NULL));
	UNIT_ASSERT(!headers_is_upstream_managed("Authorization"));
}

/* Host, Content-Length and Expect are the daemon's to set. */
static void
test_managed(void)
{
	UNIT_ASSERT(headers_is_upstream_managed("Host"));
	UNIT_ASSERT(headers_is_upstream_managed("host"));
	UNIT_ASSERT(headers_is_upstream_managed("CONTENT-LENGTH"));
	UNIT_ASSERT(headers_is_upstream_managed("Content-length"));
	UNIT_ASSERT(headers_is_upstream_managed("expect"));
	UNIT_ASSERT(headers_is_upstream_managed("Expect"));
	UNIT_ASSERT(!headers_is_upstream_managed("Content-Type"));
	UNIT_ASSERT(!headers_is_upstream_managed("Hostname"));
	UNIT_ASSERT(!headers_is_upstream_managed("x-api-key"));
	UNIT_ASSERT(!headers_is_upstream_managed(""));
}

/* CR, LF and NUL make a value unsafe anywhere in it; nothing else does. */
static void
test_value_clean(void)
{
	UNIT_ASSERT(headers_value_is_clean("Bearer abc", 10));
	UNIT_ASSERT(headers_value_is_clean("", 0));
	UNIT_ASSERT(headers_value_is_clean("tab\there \x7f\x80\xff", 12));
	UNIT_ASSERT(!headers_value_is_clean("a\r\nX-Evil: 1", 12));
	UNIT_ASSERT(!headers_value_is_clean("a\rb", 3));
	UNIT_ASSERT(!headers_value_is_clean("a\nb", 3));
	UNIT_ASSERT(!headers_value_is_clean("ab\n", 3));
	UNIT_ASSERT(!headers_value_is_clean("\nab", 3));
	UNIT_ASSERT(!headers_value_is_clean("a\0b", 3));
	UNIT_ASSERT(headers_value_is_clean("ab\n", 2));
}

/* Return what headers_parse_reset() makes of value, or -1 if it fails. */
static int64_t
test_reset(const char *value, int64_t now_ms)
{
	int64_t	ms = -2;

	if (headers_parse_reset(value, now_ms, &ms) == -1)
		return -1;
	UNIT_ASSERT(ms >= 0);
	return ms;
}

/* Return what headers_parse_retry_after() makes of value, or -1. */
static int64_t
test_retry_after(const char *value, int64_t now_ms)
{
	int64_t	ms = -2;

	if (headers_parse_retry_after(value, now_ms, &ms) == -1)
		return -1;
	UNIT_ASSERT(ms >= 0);
	return ms;
}

/* Parse fields (name, value, name, value...: n pairs) at TEST_NOW_2026. */
static void
test_rl(const char *const *fields, size_t n, struct headers_ratelimit *rl)
{
	const char	*names[16], *values[16];
	size_t		 i;

	UNIT_ASSERT(n <= 16);
	for (i = 0; i < n; i++) {
		names[i] = fields[2 * i];
		values[i] = fields[2 * i + 1];
	}
	memset(rl, 0x5a, sizeof *rl);
	headers_parse_ratelimit(names, values, n, TEST_NOW_2026, rl);
}

/* OpenAI's Go durations, and bare seconds, round up to whole ms. */
static void
test_reset_duration(void)
{
	UNIT_ASSERT_INT_EQ(test_reset("12ms", 0), 12);
	UNIT_ASSERT_INT_EQ(test_reset("20ms", 0), 20);
	UNIT_ASSERT_INT_EQ(test_reset("1s", 0), 1000);
	UNIT_ASSERT_INT_EQ(test_reset("6m0s", 0), 360000);
	UNIT_ASSERT_INT_EQ(test_reset("1h2m3.5s", 0), 3723500);
	UNIT_ASSERT_INT_EQ(test_reset("0.5s", 0), 500);
	UNIT_ASSERT_INT_EQ(test_reset("1m", 0), 60000);
	UNIT_ASSERT_INT_EQ(test_reset("1.5h", 0), 5400000);
	UNIT_ASSERT_INT_EQ(test_reset("250us", 0), 1);
	UNIT_ASSERT_INT_EQ(test_reset("1500\xc2\xb5s", 0), 2);
	UNIT_ASSERT_INT_EQ(test_reset("2000\xce\xbcs", 0), 2);
	UNIT_ASSERT_INT_EQ(test_reset("1000000ns", 0), 1);
	UNIT_ASSERT_INT_EQ(test_reset("1000001ns", 0), 2);
	UNIT_ASSERT_INT_EQ(test_reset("0.0011s", 0), 2);
	UNIT_ASSERT_INT_EQ(test_reset(".5s", 0), 500);
	UNIT_ASSERT_INT_EQ(test_reset("0s", 0), 0);
	UNIT_ASSERT_INT_EQ(test_reset("0", 0), 0);
	UNIT_ASSERT_INT_EQ(test_reset("30", 0), 30000);
	UNIT_ASSERT_INT_EQ(test_reset("1.5", 0), 1500);
	UNIT_ASSERT_INT_EQ(test_reset(" 7s\t", 0), 7000);
	/* Decimals past the ninth are dropped, as Go does. */
	UNIT_ASSERT_INT_EQ(test_reset("1.0000000001s", 0), 1000);
	UNIT_ASSERT_INT_EQ(test_reset("0.0000000009s", 0), 0);
	UNIT_ASSERT_INT_EQ(test_reset("1m30s500ms", 0), 90500);
	/* Durations do not depend on now. */
	UNIT_ASSERT_INT_EQ(test_reset("1s", TEST_NOW_2026), 1000);
	/* Past what int64 ns holds: saturated, as Go's maximum Duration. */
	UNIT_ASSERT_INT_EQ(test_reset("99999999999999999999999h", 0),
	    9223372036855LL);
	UNIT_ASSERT_INT_EQ(test_reset("9223372036h9223372036h", 0),
	    9223372036855LL);
}

/* Garbage, signs and half-written durations are refused. */
static void
test_reset_bad(void)
{
	static const char *const bad[] = {
		"", " ", "abc", "-1s", "+1s", "1h30", "1x", "s", "1 s", "1s 2s",
		".", "1.2.3s", "ms", "1S", "1e3", "0x10", "1s,", "2026-11-25",
		"2026-11-25T10:00:00", "2026-13-01T00:00:00Z",
		"2026-02-29T00:00:00Z", "2026-11-25T24:00:00Z",
		"2026-11-25T10:60:00Z", "2026-11-25T10:00:00+24:00",
		"2026-11-25T10:00:00.Z", "2026-11-25T10:00:00+0100",
		"Wed, 25 Nov 2026 10:00:00 GMT", "10:00:00",
		"2026-11-25T10:00:00Zjunk", "2026-11-25T10:00:00Z 5s"
	};
	size_t	i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (test_reset(bad[i], TEST_NOW_2026) != -1)
			printf("# accepted \"%s\"\n", bad[i]);
		UNIT_ASSERT_INT_EQ(test_reset(bad[i], TEST_NOW_2026), -1);
	}
	UNIT_ASSERT_INT_EQ(test_reset(NULL, 0), -1);
}

/* Anthropic's RFC 3339 resets, with Z, an offset, a fraction, or past. */
static void
test_reset_rfc3339(void)
{
	int64_t	now = TEST_NOW_2026;

	UNIT_ASSERT_INT_EQ(test_reset("2026-11-25T10:00:30Z", now), 30000);
	UNIT_ASSERT_INT_EQ(test_reset("2026-11-25t10:00:30z", now), 30000);
	UNIT_ASSERT_INT_EQ(test_reset("2026-11-25T11:00:30+01:00", now),
	    30000);
	UNIT_ASSERT_INT_EQ(test_reset("2026-11-25T04:30:30-05:30", now),
	    30000);
	UNIT_ASSERT_INT_EQ(test_reset("2026-11-25T10:00:00.123Z", now), 123);
	UNIT_ASSERT_INT_EQ(test_reset("2026-11-25T10:00:00.1231Z", now), 124);
	UNIT_ASSERT_INT_EQ(test_reset("2026-11-25T11:00:00.5+01:00", now),
	    500);
	UNIT_ASSERT_INT_EQ(test_reset("2026-11-26T10:00:00Z", now), 86400000);
	UNIT_ASSERT_INT_EQ(test_reset("2026-11-25T10:00:00Z", now), 0);
	UNIT_ASSERT_INT_EQ(test_reset("2026-11-25T09:59:59.999Z", now), 0);
	UNIT_ASSERT_INT_EQ(test_reset("2015-10-21T07:28:00Z", now), 0);
	UNIT_ASSERT_INT_EQ(test_reset("2028-02-29T10:00:00Z", now),
	    (365 + 96) * 86400000LL);
	UNIT_ASSERT_INT_EQ(test_reset("2015-10-21T07:28:00Z", TEST_NOW_2015 -
	    1), 1);
	UNIT_ASSERT_INT_EQ(test_reset("1970-01-01T00:00:00Z", INT64_MIN),
	    INT64_MAX);
	UNIT_ASSERT_INT_EQ(test_reset("9999-12-31T23:59:60Z", INT64_MAX), 0);
}

/* Retry-After in seconds, whole or (leniently) fractional. */
static void
test_retry_after_seconds(void)
{
	UNIT_ASSERT_INT_EQ(test_retry_after("120", 0), 120000);
	UNIT_ASSERT_INT_EQ(test_retry_after("0", 0), 0);
	UNIT_ASSERT_INT_EQ(test_retry_after(" 1 ", 0), 1000);
	UNIT_ASSERT_INT_EQ(test_retry_after("1.5", 0), 1500);
	UNIT_ASSERT_INT_EQ(test_retry_after("0.0001", 0), 1);
	UNIT_ASSERT_INT_EQ(test_retry_after("120", TEST_NOW_2026), 120000);
	UNIT_ASSERT_INT_EQ(test_retry_after("99999999999999999999", 0),
	    9223372036855LL);
	UNIT_ASSERT_INT_EQ(test_retry_after("-5", 0), -1);
	UNIT_ASSERT_INT_EQ(test_retry_after("5s", 0), -1);
	UNIT_ASSERT_INT_EQ(test_retry_after("soon", 0), -1);
	UNIT_ASSERT_INT_EQ(test_retry_after("", 0), -1);
	UNIT_ASSERT_INT_EQ(test_retry_after("1 2", 0), -1);
	UNIT_ASSERT_INT_EQ(test_retry_after(NULL, 0), -1);
}

/* Retry-After as an HTTP-date: IMF-fixdate, RFC 850, asctime. */
static void
test_retry_after_date(void)
{
	int64_t	now = TEST_NOW_2015;

	UNIT_ASSERT_INT_EQ(test_retry_after("Wed, 21 Oct 2015 07:28:00 GMT",
	    now - 2500), 2500);
	UNIT_ASSERT_INT_EQ(test_retry_after("Wed, 21 Oct 2015 07:30:00 GMT",
	    now), 120000);
	UNIT_ASSERT_INT_EQ(test_retry_after("Wed, 21 Oct 2015 07:27:00 GMT",
	    now), 0);
	UNIT_ASSERT_INT_EQ(test_retry_after("Sun, 06 Nov 1994 08:49:37 GMT",
	    now), 0);
	UNIT_ASSERT_INT_EQ(test_retry_after("Sun, 06 Nov 1994 08:49:37 GMT",
	    784111777000LL - 1000), 1000);
	UNIT_ASSERT_INT_EQ(test_retry_after(
	    "Wednesday, 21-Oct-15 07:29:00 GMT", now), 60000);
	UNIT_ASSERT_INT_EQ(test_retry_after("Sunday, 06-Nov-94 08:49:38 GMT",
	    784111777000LL), 1000);
	/* RFC 850's year: not over 50 years ahead (2099 in 2026 is 1999). */
	UNIT_ASSERT_INT_EQ(test_retry_after("Friday, 31-Dec-99 23:59:59 GMT",
	    TEST_NOW_2026), 0);
	UNIT_ASSERT_INT_EQ(test_retry_after("Monday, 01-Jan-05 00:00:00 GMT",
	    3786912000000LL), 473299200000LL);
	UNIT_ASSERT_INT_EQ(test_retry_after("Wed Oct 21 07:30:00 2015", now),
	    120000);
	UNIT_ASSERT_INT_EQ(test_retry_after("Sun Nov  6 08:49:38 1994",
	    784111777000LL), 1000);
	UNIT_ASSERT_INT_EQ(test_retry_after("Wed, 21 Oct 2015 07:28:00 UTC",
	    now), -1);
	UNIT_ASSERT_INT_EQ(test_retry_after("Wed, 32 Oct 2015 07:28:00 GMT",
	    now), -1);
	UNIT_ASSERT_INT_EQ(test_retry_after("Wed, 21 Oct 2015 07:28:00",
	    now), -1);
	UNIT_ASSERT_INT_EQ(test_retry_after("Wed, 21 Foo 2015 07:28:00 GMT",
	    now), -1);
	UNIT_ASSERT_INT_EQ(test_retry_after("2015-10-21T07:30:00Z", now), -1);
}

/* retry-after-ms wins over retry-after, wherever each stands. */
static void
test_rl_retry_after(void)
{
	static const char *const a[] = {
		"Retry-After", "5", "x-ratelimit-remaining-requests", "0",
		"x-ratelimit-reset-requests", "20s", "retry-after-ms", "1500.2"
	};
	static const char *const b[] = {
		"retry-after-ms", "soon", "retry-after", "2",
		"x-ratelimit-remaining-tokens", "0",
		"x-ratelimit-reset-tokens", "20s"
	};
	struct headers_ratelimit	rl;

	test_rl(a, 4, &rl);
	UNIT_ASSERT_INT_EQ(rl.retry_after_ms, 1501);
	UNIT_ASSERT_INT_EQ(rl.cooldown_ms, 1501);
	test_rl(a, 3, &rl);
	UNIT_ASSERT_INT_EQ(rl.retry_after_ms, 5000);
	UNIT_ASSERT_INT_EQ(rl.cooldown_ms, 5000);
	test_rl(b, 4, &rl);
	UNIT_ASSERT_INT_EQ(rl.retry_after_ms, 2000);
	UNIT_ASSERT_INT_EQ(rl.cooldown_ms, 2000);
	test_rl(b, 1, &rl);
	UNIT_ASSERT_INT_EQ(rl.retry_after_ms, -1);
	UNIT_ASSERT_INT_EQ(rl.cooldown_ms, 1000);
	test_rl(b + 4, 2, &rl);
	UNIT_ASSERT_INT_EQ(rl.retry_after_ms, -1);
	UNIT_ASSERT_INT_EQ(rl.cooldown_ms, 20000);
	UNIT_ASSERT_INT_EQ(rl.remaining_tokens, 0);
	UNIT_ASSERT_INT_EQ(rl.remaining_requests, -1);
}

/* The reset of the limit at 0 wins; the longest if several are at 0. */
static void
test_rl_zero_remaining(void)
{
	static const char *const a[] = {
		"x-ratelimit-remaining-tokens", "5",
		"x-ratelimit-reset-tokens", "6m0s",
		"x-ratelimit-remaining-requests", "0",
		"x-ratelimit-reset-requests", "20ms",
		"x-ratelimit-remaining-tokens", "0"
	};
	struct headers_ratelimit	rl;

	test_rl(a, 4, &rl);
	UNIT_ASSERT_INT_EQ(rl.cooldown_ms, 20);
	UNIT_ASSERT_INT_EQ(rl.remaining_requests, 0);
	UNIT_ASSERT_INT_EQ(rl.remaining_tokens, 5);
	test_rl(a, 5, &rl);
	UNIT_ASSERT_INT_EQ(rl.cooldown_ms, 360000);
	UNIT_ASSERT_INT_EQ(rl.remaining_tokens, 0);
	UNIT_ASSERT_INT_EQ(rl.retry_after_ms, -1);
}

/* Without retry-after or a limit at 0: the shortest reset, else 1 s. */
static void
test_rl_shortest(void)
{
	static const char *const a[] = {
		"x-ratelimit-reset-tokens", "1m",
		"x-ratelimit-reset-requests", "750ms",
		"x-ratelimit-remaining-requests", "3",
		"anthropic-ratelimit-tokens-reset", "2026-11-25T10:00:02Z",
		"x-ratelimit-remaining-tokens", "0"
	};
	struct headers_ratelimit	rl;

	test_rl(a, 3, &rl);
	UNIT_ASSERT_INT_EQ(rl.cooldown_ms, 750);
	UNIT_ASSERT_INT_EQ(rl.remaining_requests, 3);
	test_rl(a + 2, 1, &rl);
	UNIT_ASSERT_INT_EQ(rl.cooldown_ms, 750);
	/* A limit at 0 whose reset was not given does not count. */
	test_rl(a + 2, 4, &rl);
	UNIT_ASSERT_INT_EQ(rl.cooldown_ms, 750);
	UNIT_ASSERT_INT_EQ(rl.remaining_tokens, 0);
	test_rl(a + 6, 2, &rl);
	UNIT_ASSERT_INT_EQ(rl.cooldown_ms, 2000);
	test_rl(a, 0, &rl);
	UNIT_ASSERT_INT_EQ(rl.cooldown_ms, 1000);
	UNIT_ASSERT_INT_EQ(rl.retry_after_ms, -1);
	UNIT_ASSERT_INT_EQ(rl.remaining_requests, -1);
	UNIT_ASSERT_INT_EQ(rl.remaining_tokens, -1);
	headers_parse_ratelimit(NULL, NULL, 3, 0, &rl);
	UNIT_ASSERT_INT_EQ(rl.cooldown_ms, 1000);
}

/* Anthropic's four limits: the longest reset among those at 0. */
static void
test_rl_anthropic(void)
{
	static const char *const a[] = {
		"anthropic-ratelimit-requests-remaining", "10",
		"anthropic-ratelimit-requests-reset", "2026-11-25T10:00:05Z",
		"anthropic-ratelimit-tokens-remaining", "0",
		"anthropic-ratelimit-tokens-reset", "2026-11-25T10:00:30Z",
		"Anthropic-RateLimit-Input-Tokens-Remaining", "0",
		"anthropic-ratelimit-input-tokens-reset",
		"2026-11-25T11:00:50+01:00",
		"anthropic-ratelimit-output-tokens-remaining", "100",
		"anthropic-ratelimit-output-tokens-reset",
		"2026-11-25T10:01:40Z"
	};
	struct headers_ratelimit	rl;

	test_rl(a, 8, &rl);
	UNIT_ASSERT_INT_EQ(rl.cooldown_ms, 50000);
	UNIT_ASSERT_INT_EQ(rl.remaining_requests, 10);
	UNIT_ASSERT_INT_EQ(rl.remaining_tokens, 0);
	test_rl(a, 4, &rl);
	UNIT_ASSERT_INT_EQ(rl.cooldown_ms, 30000);
	test_rl(a, 2, &rl);
	UNIT_ASSERT_INT_EQ(rl.cooldown_ms, 5000);
	UNIT_ASSERT_INT_EQ(rl.remaining_tokens, -1);
	test_rl(a + 12, 2, &rl);
	UNIT_ASSERT_INT_EQ(rl.cooldown_ms, 100000);
	UNIT_ASSERT_INT_EQ(rl.remaining_tokens, 100);
}

/* Remaining counts of both dialects, in any case; the least token kind. */
static void
test_rl_remaining(void)
{
	static const char *const a[] = {
		"X-RateLimit-Remaining-Requests", "59",
		"x-ratelimit-remaining-tokens", " 149984 ",
		"anthropic-ratelimit-requests-remaining", "70",
		"anthropic-ratelimit-output-tokens-remaining", "4000",
		"ANTHROPIC-RATELIMIT-TOKENS-REMAINING", "90000",
		"anthropic-ratelimit-input-tokens-remaining", "120000",
		"x-ratelimit-remaining-requests", "99999999999999999999999"
	};
	struct headers_ratelimit	rl;

	test_rl(a, 2, &rl);
	UNIT_ASSERT_INT_EQ(rl.remaining_requests, 59);
	UNIT_ASSERT_INT_EQ(rl.remaining_tokens, 149984);
	test_rl(a + 4, 4, &rl);
	UNIT_ASSERT_INT_EQ(rl.remaining_requests, 70);
	UNIT_ASSERT_INT_EQ(rl.remaining_tokens, 4000);
	test_rl(a + 8, 2, &rl);
	UNIT_ASSERT_INT_EQ(rl.remaining_tokens, 90000);
	UNIT_ASSERT_INT_EQ(rl.remaining_requests, -1);
	test_rl(a + 12, 1, &rl);
	UNIT_ASSERT_INT_EQ(rl.remaining_requests, INT64_MAX);
	test_rl(a, 7, &rl);
	UNIT_ASSERT_INT_EQ(rl.remaining_requests, 59);
	UNIT_ASSERT_INT_EQ(rl.remaining_tokens, 4000);
	UNIT_ASSERT_INT_EQ(rl.cooldown_ms, 1000);
}

/* Values that do not parse are ignored, as are NULL names and values. */
static void
test_rl_garbage(void)
{
	static const char *const a[] = {
		"x-ratelimit-remaining-requests", "12abc",
		"x-ratelimit-remaining-tokens", "-1",
		"anthropic-ratelimit-tokens-remaining", "1.5",
		"x-ratelimit-reset-requests", "soon",
		"retry-after-ms", "-5",
		"retry-after", "Wed, 21 Oct 2015 07:28:00 PST",
		NULL, "3",
		"x-ratelimit-remaining-requests", NULL,
		"x-ratelimit-remaining-requests-x", "0",
		"anthropic-ratelimit-requests-remaining", ""
	};
	struct headers_ratelimit	rl;

	test_rl(a, 10, &rl);
	UNIT_ASSERT_INT_EQ(rl.retry_after_ms, -1);
	UNIT_ASSERT_INT_EQ(rl.remaining_requests, -1);
	UNIT_ASSERT_INT_EQ(rl.remaining_tokens, -1);
	UNIT_ASSERT_INT_EQ(rl.cooldown_ms, 1000);
}

static const struct unit_test tests[] = {
	{ "hop-by-hop fixed list, any case", test_hop_fixed },
	{ "end-to-end fields pass", test_hop_not },
	{ "names listed by Connection", test_hop_conn },
	{ "Connection list edge cases", test_hop_conn_odd },
	{ "credentials", test_credential },
	{ "upstream-managed fields", test_managed },
	{ "value CR/LF/NUL check", test_value_clean },
	{ "reset: Go durations, plain seconds", test_reset_duration },
	{ "reset: garbage refused", test_reset_bad },
	{ "reset: RFC 3339", test_reset_rfc3339 },
	{ "retry-after: seconds", test_retry_after_seconds },
	{ "retry-after: HTTP-date, three forms", test_retry_after_date },
	{ "ratelimit: retry-after-ms over retry-after", test_rl_retry_after },
	{ "ratelimit: reset of the limit at 0", test_rl_zero_remaining },
	{ "ratelimit: shortest reset, else 1 s", test_rl_shortest },
	{ "ratelimit: Anthropic limits", test_rl_anthropic },
	{ "ratelimit: remaining, both dialects", test_rl_remaining },
	{ "ratelimit: garbage ignored", test_rl_garbage },
};

/* Run the cases above and report them as TAP. */
int
main(void)
{
	return unit_main(tests, sizeof tests / sizeof tests[0]);
}
