/* SPDX-License-Identifier: ISC */
/*
 * test_guard: the Host, Origin, token and hygiene matrices of guard.c.
 *
 * Loopback names and addresses with and without ports, look-alikes that
 * only start or end like one, allowed_hosts entries with and without a
 * port; origins matched exactly but for case; tokens right, wrong, cut,
 * extended, empty, in either header; and the smuggling shapes of the
 * request head.  The config is built by hand, not loaded.
 */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "guard.h"
#include "unit.h"

#define NHDR(a)	(sizeof (a) / sizeof (a)[0])

static void	test_host_loopback(void);
static void	test_host_foreign(void);
static void	test_host_allowed(void);
static void	test_host_missing(void);
static void	test_origin(void);
static void	test_token(void);
static void	test_token_off(void);
static void	test_token_client(void);
static enum guard_verdict test_tok(const char *authorization,
		    const char *x_api_key);
static enum guard_verdict test_tok_off(const char *authorization,
		    const char *x_api_key);
static void	test_hygiene_ok(void);
static void	test_hygiene_framing(void);
static void	test_hygiene_values(void);
static void	test_allow_headers(void);
static enum guard_verdict test_h1(const char *name, const char *value);

static char	test_host_a[] = "proxy.example.com";
static char	test_host_b[] = "Box.Example.Org:8443";
static char	*test_hosts[] = { test_host_a, test_host_b };
static char	test_origin_a[] = "https://app.example.com";
static char	test_origin_b[] = "http://localhost:5173";
static char	*test_origins[] = { test_origin_a, test_origin_b };
static char	test_tok_a[] = "tok-alpha-0123456789";
static char	test_tok_b[] = "tok-beta";
static char	*test_tokens[] = { test_tok_a, test_tok_b };

static char	test_name_a[] = "token1";
static char	test_name_b[] = "token2";
static struct client_config test_clients[] = {
	{ .name = test_name_a, .weight = 1, .token = test_tok_a },
	{ .name = test_name_b, .weight = 1, .token = test_tok_b }
};

/* As loaded from client_tokens = [ test_tok_a, test_tok_b ]. */
static struct config	test_cf = {
	.allowed_hosts = test_hosts, .nallowed_hosts = 2,
	.allowed_origins = test_origins, .nallowed_origins = 2,
	.client_tokens = test_tokens, .nclient_tokens = 2,
	.clients = test_clients, .nclients = 2
};
static struct config	test_empty_cf;

/* Loopback names and addresses pass, with or without a port. */
static void
test_host_loopback(void)
{
	const char	*ok[] = { "127.0.0.1:8080", "127.0.0.1", "127.5.6.7",
	    "127.255.255.255:1", "[::1]:8080", "[::1]", "[0:0:0:0:0:0:0:1]",
	    "localhost", "LOCALHOST:1", "localhost:65535", "app.localhost",
	    "a.b.LocalHost:9" };
	size_t		 i;

	for (i = 0; i < NHDR(ok); i++) {
		printf("# %s\n", ok[i]);
		UNIT_ASSERT_INT_EQ(guard_host(&test_empty_cf, ok[i], 1),
		    GUARD_OK);
	}
}

/* Names that only look like loopback, and foreign hosts, are refused. */
static void
test_host_foreign(void)
{
	const char	*bad[] = { "evil.com", "evil.com:8080",
	    "127.0.0.1.evil.com", "localhost.evil.com", "", ":8080",
	    "128.0.0.1", "10.0.0.1", "0.0.0.0", "[::2]", "[::1", "::1",
	    "localhost:", "localhost:abc", "localhost:123456", "127.1",
	    "127.0.0.1 :80", ".localhost", "x..localhost", "evillocalhost",
	    "[::ffff:8.8.8.8]", "localhost:80:80", "[::1]x" };
	size_t		 i;

	for (i = 0; i < NHDR(bad); i++) {
		printf("# %s\n", bad[i]);
		UNIT_ASSERT_INT_EQ(guard_host(&test_empty_cf, bad[i], 1),
		    GUARD_FORBIDDEN);
		UNIT_ASSERT_INT_EQ(guard_host(&test_cf, bad[i], 1),
		    GUARD_FORBIDDEN);
	}
}

/* An entry without a port allows any port; one with a port only that. */
static void
test_host_allowed(void)
{
	UNIT_ASSERT_INT_EQ(guard_host(&test_cf, "proxy.example.com", 1),
	    GUARD_OK);
	UNIT_ASSERT_INT_EQ(guard_host(&test_cf, "PROXY.example.COM:8080", 1),
	    GUARD_OK);
	UNIT_ASSERT_INT_EQ(guard_host(&test_cf, "box.example.org:8443", 1),
	    GUARD_OK);
	UNIT_ASSERT_INT_EQ(guard_host(&test_cf, "box.example.org", 1),
	    GUARD_FORBIDDEN);
	UNIT_ASSERT_INT_EQ(guard_host(&test_cf, "box.example.org:8444", 1),
	    GUARD_FORBIDDEN);
	UNIT_ASSERT_INT_EQ(guard_host(&test_cf, "proxy.example.com.evil", 1),
	    GUARD_FORBIDDEN);
	UNIT_ASSERT_INT_EQ(guard_host(&test_cf, "xproxy.example.com", 1),
	    GUARD_FORBIDDEN);
	UNIT_ASSERT_INT_EQ(guard_host(&test_empty_cf, "proxy.example.com", 1),
	    GUARD_FORBIDDEN);
}

/* No Host: 400 for HTTP/1.1, allowed for HTTP/1.0. */
static void
test_host_missing(void)
{
	UNIT_ASSERT_INT_EQ(guard_host(&test_cf, NULL, 1), GUARD_BAD);
	UNIT_ASSERT_INT_EQ(guard_host(&test_cf, NULL, 0), GUARD_OK);
}

/* Origin: absent passes, present must match an entry but for case. */
static void
test_origin(void)
{
	UNIT_ASSERT_INT_EQ(guard_origin(&test_cf, NULL), GUARD_OK);
	UNIT_ASSERT_INT_EQ(guard_origin(&test_empty_cf, NULL), GUARD_OK);
	UNIT_ASSERT_INT_EQ(guard_origin(&test_cf, "https://app.example.com"),
	    GUARD_OK);
	UNIT_ASSERT_INT_EQ(guard_origin(&test_cf, "HTTPS://App.Example.com"),
	    GUARD_OK);
	UNIT_ASSERT_INT_EQ(guard_origin(&test_cf, "http://localhost:5173"),
	    GUARD_OK);
	UNIT_ASSERT_INT_EQ(guard_origin(&test_cf, "http://app.example.com"),
	    GUARD_FORBIDDEN);
	UNIT_ASSERT_INT_EQ(guard_origin(&test_cf,
	    "https://app.example.com:443"), GUARD_FORBIDDEN);
	UNIT_ASSERT_INT_EQ(guard_origin(&test_cf,
	    "https://app.example.com.evil.com"), GUARD_FORBIDDEN);
	UNIT_ASSERT_INT_EQ(guard_origin(&test_cf, "http://localhost:5174"),
	    GUARD_FORBIDDEN);
	UNIT_ASSERT_INT_EQ(guard_origin(&test_cf, "null"), GUARD_FORBIDDEN);
	UNIT_ASSERT_INT_EQ(guard_origin(&test_cf, ""), GUARD_FORBIDDEN);
	UNIT_ASSERT_INT_EQ(guard_origin(&test_empty_cf,
	    "http://localhost:5173"), GUARD_FORBIDDEN);
}

/* Check a token against test_cf; no client wanted. */
static enum guard_verdict
test_tok(const char *authorization, const char *x_api_key)
{
	return guard_token(&test_cf, authorization, x_api_key, NULL);
}

/* Check a token with no client_tokens configured. */
static enum guard_verdict
test_tok_off(const char *authorization, const char *x_api_key)
{
	return guard_token(&test_empty_cf, authorization, x_api_key, NULL);
}

/* The token names its client: tokens counted from 1, 0 without tokens. */
static void
test_token_client(void)
{
	size_t	client = 99;

	UNIT_ASSERT_INT_EQ(guard_token(&test_cf, NULL, "tok-beta", &client),
	    GUARD_OK);
	UNIT_ASSERT_INT_EQ((int)client, 2);
	UNIT_ASSERT_INT_EQ(guard_token(&test_cf, "Bearer "
	    "tok-alpha-0123456789", NULL, &client), GUARD_OK);
	UNIT_ASSERT_INT_EQ((int)client, 1);
	UNIT_ASSERT_INT_EQ(guard_token(&test_cf, "Bearer nope", NULL,
	    &client), GUARD_UNAUTHORIZED);
	UNIT_ASSERT_INT_EQ((int)client, 0);
	client = 99;
	UNIT_ASSERT_INT_EQ(guard_token(&test_empty_cf, NULL, NULL, &client),
	    GUARD_OK);
	UNIT_ASSERT_INT_EQ((int)client, 0);
}

/* Tokens: exact matches only, in either header, with any Bearer case. */
static void
test_token(void)
{
	UNIT_ASSERT_INT_EQ(test_tok("Bearer tok-alpha-0123456789",
	    NULL), GUARD_OK);
	UNIT_ASSERT_INT_EQ(test_tok("bearer tok-beta", NULL),
	    GUARD_OK);
	UNIT_ASSERT_INT_EQ(test_tok("BEARER   tok-beta  ", NULL),
	    GUARD_OK);
	UNIT_ASSERT_INT_EQ(test_tok(NULL, "tok-beta"), GUARD_OK);
	UNIT_ASSERT_INT_EQ(test_tok("Bearer wrong", "tok-beta"),
	    GUARD_OK);
	UNIT_ASSERT_INT_EQ(test_tok(NULL, NULL),
	    GUARD_UNAUTHORIZED);
	UNIT_ASSERT_INT_EQ(test_tok("Bearer tok-bet", NULL),
	    GUARD_UNAUTHORIZED);
	UNIT_ASSERT_INT_EQ(test_tok("Bearer tok-betaX", NULL),
	    GUARD_UNAUTHORIZED);
	UNIT_ASSERT_INT_EQ(test_tok("Bearer tok-alpha", NULL),
	    GUARD_UNAUTHORIZED);
	UNIT_ASSERT_INT_EQ(test_tok("Bearer ", NULL),
	    GUARD_UNAUTHORIZED);
	UNIT_ASSERT_INT_EQ(test_tok("", ""), GUARD_UNAUTHORIZED);
	UNIT_ASSERT_INT_EQ(test_tok("tok-beta", NULL),
	    GUARD_UNAUTHORIZED);
	UNIT_ASSERT_INT_EQ(test_tok("Basic tok-beta", NULL),
	    GUARD_UNAUTHORIZED);
	UNIT_ASSERT_INT_EQ(test_tok("Bearertok-beta", NULL),
	    GUARD_UNAUTHORIZED);
	UNIT_ASSERT_INT_EQ(test_tok("Bearer tok-beta x", NULL),
	    GUARD_UNAUTHORIZED);
	UNIT_ASSERT_INT_EQ(test_tok(NULL, "TOK-BETA"),
	    GUARD_UNAUTHORIZED);
	UNIT_ASSERT_INT_EQ(test_tok(NULL, "tok-beta\t"),
	    GUARD_OK);
}

/* Without client_tokens everyone passes. */
static void
test_token_off(void)
{
	UNIT_ASSERT_INT_EQ(test_tok_off(NULL, NULL), GUARD_OK);
	UNIT_ASSERT_INT_EQ(test_tok_off("Bearer x", "y"),
	    GUARD_OK);
}

/* Run guard_hygiene on one header. */
static enum guard_verdict
test_h1(const char *name, const char *value)
{
	struct guard_header	 h = { name, value };
	const char		*why = NULL;
	enum guard_verdict	 v;

	v = guard_hygiene(&h, 1, &why);
	UNIT_ASSERT((v == GUARD_OK) == (why == NULL));
	return v;
}

/* Ordinary heads pass. */
static void
test_hygiene_ok(void)
{
	struct guard_header	 h[] = { { "Host", "127.0.0.1:1" },
	    { "Content-Length", "12" }, { "Accept", "a, b" },
	    { "x-api-key", "k\tk" } };
	const char		*why;

	UNIT_ASSERT_INT_EQ(guard_hygiene(h, NHDR(h), &why), GUARD_OK);
	UNIT_ASSERT_INT_EQ(guard_hygiene(h, 0, &why), GUARD_OK);
	UNIT_ASSERT_INT_EQ(test_h1("Transfer-Encoding", "chunked"), GUARD_OK);
	UNIT_ASSERT_INT_EQ(test_h1("transfer-encoding", " Chunked "),
	    GUARD_OK);
	UNIT_ASSERT_INT_EQ(test_h1("Content-Length", "0"), GUARD_OK);
}

/* Framing that two parsers could read two ways is refused. */
static void
test_hygiene_framing(void)
{
	struct guard_header	 both[] = { { "Content-Length", "5" },
	    { "Transfer-Encoding", "chunked" } };
	struct guard_header	 cl2[] = { { "Content-Length", "5" },
	    { "content-length", "5" } };
	struct guard_header	 te2[] = { { "Transfer-Encoding", "chunked" },
	    { "Transfer-Encoding", "chunked" } };
	struct guard_header	 host2[] = { { "Host", "localhost" },
	    { "Host", "evil.com" } };
	const char		*why = NULL;

	UNIT_ASSERT_INT_EQ(guard_hygiene(both, 2, &why), GUARD_BAD);
	UNIT_ASSERT(why != NULL);
	UNIT_ASSERT_INT_EQ(guard_hygiene(cl2, 2, &why), GUARD_BAD);
	UNIT_ASSERT_INT_EQ(guard_hygiene(te2, 2, &why), GUARD_BAD);
	UNIT_ASSERT_INT_EQ(guard_hygiene(host2, 2, &why), GUARD_BAD);
	UNIT_ASSERT_INT_EQ(test_h1("Content-Length", "+5"), GUARD_BAD);
	UNIT_ASSERT_INT_EQ(test_h1("Content-Length", "0x5"), GUARD_BAD);
	UNIT_ASSERT_INT_EQ(test_h1("Content-Length", "5, 5"), GUARD_BAD);
	UNIT_ASSERT_INT_EQ(test_h1("Content-Length", ""), GUARD_BAD);
	UNIT_ASSERT_INT_EQ(test_h1("Content-Length", "-1"), GUARD_BAD);
	UNIT_ASSERT_INT_EQ(test_h1("Transfer-Encoding", "gzip"), GUARD_BAD);
	UNIT_ASSERT_INT_EQ(test_h1("Transfer-Encoding", "chunked, chunked"),
	    GUARD_BAD);
	UNIT_ASSERT_INT_EQ(test_h1("Transfer-Encoding", "gzip, chunked"),
	    GUARD_BAD);
	UNIT_ASSERT_INT_EQ(test_h1("Transfer-Encoding", "xchunked"),
	    GUARD_BAD);
}

/* Control characters in values and non-token names are refused. */
static void
test_hygiene_values(void)
{
	UNIT_ASSERT_INT_EQ(test_h1("X-A", "a\rb"), GUARD_BAD);
	UNIT_ASSERT_INT_EQ(test_h1("X-A", "a\nb"), GUARD_BAD);
	UNIT_ASSERT_INT_EQ(test_h1("X-A", "a\x01"), GUARD_BAD);
	UNIT_ASSERT_INT_EQ(test_h1("X-A", "a\x7f"), GUARD_BAD);
	UNIT_ASSERT_INT_EQ(test_h1("Transfer-Encoding ", "chunked"),
	    GUARD_BAD);
	UNIT_ASSERT_INT_EQ(test_h1("X A", "v"), GUARD_BAD);
	UNIT_ASSERT_INT_EQ(test_h1("", "v"), GUARD_BAD);
	UNIT_ASSERT_INT_EQ(test_h1("X-A", "caf\xc3\xa9"), GUARD_OK);
}

/* Preflight header lists keep only token characters, commas, spaces. */
static void
test_allow_headers(void)
{
	char	*s;

	UNIT_ASSERT(guard_allow_headers(NULL) == NULL);
	UNIT_ASSERT(guard_allow_headers("") == NULL);
	UNIT_ASSERT(guard_allow_headers(" , ") == NULL);
	s = guard_allow_headers("content-type, authorization");
	UNIT_ASSERT_STR_EQ(s, "content-type, authorization");
	free(s);
	s = guard_allow_headers("x-a\r\nSet-Cookie: z, x-b;");
	UNIT_ASSERT_STR_EQ(s, "x-aSet-Cookie z, x-b");
	free(s);
}

static const struct unit_test tests[] = {
	{ "host: loopback names and addresses", test_host_loopback },
	{ "host: foreign and look-alike names", test_host_foreign },
	{ "host: allowed_hosts with and without port", test_host_allowed },
	{ "host: missing", test_host_missing },
	{ "origin matrix", test_origin },
	{ "token matrix", test_token },
	{ "no client_tokens: open", test_token_off },
	{ "the token names its client", test_token_client },
	{ "hygiene: ordinary heads", test_hygiene_ok },
	{ "hygiene: CL/TE framing", test_hygiene_framing },
	{ "hygiene: values and names", test_hygiene_values },
	{ "preflight allow-headers", test_allow_headers },
};

/* Run the cases above and report them as TAP. */
int
main(void)
{
	return unit_main(tests, sizeof tests / sizeof tests[0]);
}
