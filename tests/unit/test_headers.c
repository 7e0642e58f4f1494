/* SPDX-License-Identifier: ISC */
/*
 * test_headers: which fields headers.c lets across the proxy.
 *
 * Covers the fixed hop-by-hop list in several letter cases, names listed
 * by Connection (with whitespace and empty list elements), credentials,
 * the fields the daemon manages, and the value check.  It does not test
 * how upstream.c applies the answers.
 */
#include <ctype.h>
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

static const struct unit_test tests[] = {
	{ "hop-by-hop fixed list, any case", test_hop_fixed },
	{ "end-to-end fields pass", test_hop_not },
	{ "names listed by Connection", test_hop_conn },
	{ "Connection list edge cases", test_hop_conn_odd },
	{ "credentials", test_credential },
	{ "upstream-managed fields", test_managed },
	{ "value CR/LF/NUL check", test_value_clean },
};

/* Run the cases above and report them as TAP. */
int
main(void)
{
	return unit_main(tests, sizeof tests / sizeof tests[0]);
}
