/* SPDX-License-Identifier: ISC */
/*
 * test_route: the request-target matrix of route.c.
 *
 * Providers with and without a rest and a query, names that prefix one
 * another, the default provider on /v1 on and off, the daemon's endpoints
 * and reserved names (which a provider can never shadow), unknown names,
 * and targets that are not origin-form or climb with dot segments, plain
 * or percent-encoded.  The config is built by hand, not loaded.
 */
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "route.h"
#include "unit.h"

static void	test_config(struct config *cf, char *default_provider);
static void	test_expect(const struct config *cf, const char *uri,
		    enum route_kind kind);
static void	test_expect_provider(const struct config *cf, const char *uri,
		    size_t provider, const char *rest);
static void	test_providers(void);
static void	test_prefix_names(void);
static void	test_default_on(void);
static void	test_default_off(void);
static void	test_endpoints(void);
static void	test_reserved_shadow(void);
static void	test_bad(void);
static void	test_dots_allowed(void);
static void	test_name_is_reserved(void);

static char	test_name_openai[] = "openai";
static char	test_name_anthropic[] = "anthropic";
static char	test_name_open[] = "open";
static char	test_name_batch[] = "batch";
static char	test_name_missing[] = "missing";

static struct provider_config	test_providers_table[4];

/* Fill cf with four providers (one misnamed "batch") and a default. */
static void
test_config(struct config *cf, char *default_provider)
{
	memset(cf, 0, sizeof *cf);
	memset(test_providers_table, 0, sizeof test_providers_table);
	test_providers_table[0].name = test_name_openai;
	test_providers_table[1].name = test_name_anthropic;
	test_providers_table[2].name = test_name_open;
	test_providers_table[3].name = test_name_batch;
	cf->providers = test_providers_table;
	cf->nproviders = 4;
	cf->default_provider = default_provider;
}

/* Assert that uri resolves to kind. */
static void
test_expect(const struct config *cf, const char *uri, enum route_kind kind)
{
	struct route	r;

	route_resolve(cf, uri, &r);
	if (r.kind != kind)
		printf("# uri \"%s\": kind %d, expected %d\n", uri,
		    (int)r.kind, (int)kind);
	UNIT_ASSERT_INT_EQ(r.kind, kind);
}

/* Assert that uri goes to provider with rest. */
static void
test_expect_provider(const struct config *cf, const char *uri,
    size_t provider, const char *rest)
{
	struct route	r;

	route_resolve(cf, uri, &r);
	if (r.kind != ROUTE_PROVIDER)
		printf("# uri \"%s\": kind %d\n", uri, (int)r.kind);
	UNIT_ASSERT_INT_EQ(r.kind, ROUTE_PROVIDER);
	UNIT_ASSERT_INT_EQ(r.provider, provider);
	UNIT_ASSERT_STR_EQ(r.rest, rest);
	UNIT_ASSERT(r.rest >= uri && r.rest <= uri + strlen(uri));
}

/* /<name>/rest?query goes to the named provider with what follows. */
static void
test_providers(void)
{
	struct config	cf;

	test_config(&cf, NULL);
	test_expect_provider(&cf, "/openai/v1/chat/completions", 0,
	    "/v1/chat/completions");
	test_expect_provider(&cf, "/openai/v1/models?limit=2&after=x", 0,
	    "/v1/models?limit=2&after=x");
	test_expect_provider(&cf, "/anthropic/v1/messages", 1,
	    "/v1/messages");
	test_expect_provider(&cf, "/openai", 0, "");
	test_expect_provider(&cf, "/openai/", 0, "/");
	test_expect_provider(&cf, "/openai?x=1", 0, "?x=1");
	test_expect_provider(&cf, "/openai//double", 0, "//double");
	test_expect(&cf, "/nosuch/v1/chat/completions", ROUTE_UNKNOWN);
	test_expect(&cf, "/nosuch", ROUTE_UNKNOWN);
	test_expect(&cf, "/OpenAI/v1/models", ROUTE_UNKNOWN);
	test_expect(&cf, "/", ROUTE_UI);
	test_expect(&cf, "/?x=1", ROUTE_UI);
	test_expect(&cf, "/ui", ROUTE_UI);
	test_expect(&cf, "/ui?x=1", ROUTE_UI);
	test_expect(&cf, "/ui/", ROUTE_RESERVED);
	test_expect(&cf, "/ui/x", ROUTE_RESERVED);
	test_expect(&cf, "/UI", ROUTE_UNKNOWN);
}

/* A name that is a prefix of another matches only itself. */
static void
test_prefix_names(void)
{
	struct config	cf;

	test_config(&cf, NULL);
	test_expect_provider(&cf, "/open/v1/models", 2, "/v1/models");
	test_expect_provider(&cf, "/open", 2, "");
	test_expect_provider(&cf, "/open?a", 2, "?a");
	test_expect(&cf, "/opena/v1/models", ROUTE_UNKNOWN);
	test_expect(&cf, "/openai2/v1/models", ROUTE_UNKNOWN);
	test_expect(&cf, "/ope/v1/models", ROUTE_UNKNOWN);
	test_expect(&cf, "/anthropicx", ROUTE_UNKNOWN);
}

/* With a default provider, /v1... goes to it whole. */
static void
test_default_on(void)
{
	struct config	cf;

	test_config(&cf, test_name_anthropic);
	test_expect_provider(&cf, "/v1/messages", 1, "/v1/messages");
	test_expect_provider(&cf, "/v1/models?limit=5", 1,
	    "/v1/models?limit=5");
	test_expect_provider(&cf, "/v1", 1, "/v1");
	test_expect_provider(&cf, "/v1?x", 1, "/v1?x");
	test_expect_provider(&cf, "/v1/", 1, "/v1/");
	test_expect_provider(&cf, "/openai/v1/models", 0, "/v1/models");
	test_expect(&cf, "/v1x/models", ROUTE_UNKNOWN);
	test_expect(&cf, "/v2/models", ROUTE_UNKNOWN);
	test_expect(&cf, "/v1/../x", ROUTE_BAD);
	test_config(&cf, test_name_missing);
	test_expect(&cf, "/v1/models", ROUTE_UNKNOWN);
}

/* Without a default provider, /v1 is reserved and reaches nobody. */
static void
test_default_off(void)
{
	struct config	cf;
	char		empty[] = "";

	test_config(&cf, NULL);
	test_expect(&cf, "/v1/chat/completions", ROUTE_RESERVED);
	test_expect(&cf, "/v1", ROUTE_RESERVED);
	test_expect(&cf, "/v1?x", ROUTE_RESERVED);
	test_config(&cf, empty);
	test_expect(&cf, "/v1/chat/completions", ROUTE_RESERVED);
}

/* /healthz, /status and /metrics are endpoints only when exact. */
static void
test_endpoints(void)
{
	struct config	cf;

	test_config(&cf, test_name_openai);
	test_expect(&cf, "/healthz", ROUTE_HEALTHZ);
	test_expect(&cf, "/healthz?x", ROUTE_HEALTHZ);
	test_expect(&cf, "/status", ROUTE_STATUS);
	test_expect(&cf, "/status?pretty=1", ROUTE_STATUS);
	test_expect(&cf, "/metrics", ROUTE_METRICS);
	test_expect(&cf, "/metrics?", ROUTE_METRICS);
	test_expect(&cf, "/healthz/", ROUTE_RESERVED);
	test_expect(&cf, "/healthz/x", ROUTE_RESERVED);
	test_expect(&cf, "/status/x", ROUTE_RESERVED);
	test_expect(&cf, "/metrics/x?y", ROUTE_RESERVED);
	test_expect(&cf, "/healthzx", ROUTE_UNKNOWN);
	test_expect(&cf, "/health", ROUTE_UNKNOWN);
	test_expect(&cf, "/Healthz", ROUTE_UNKNOWN);
	test_expect(&cf, "/healthz/..", ROUTE_BAD);
}

/* A provider wrongly named after a reserved name never gets requests. */
static void
test_reserved_shadow(void)
{
	struct config	cf;

	test_config(&cf, NULL);
	test_expect(&cf, "/batch", ROUTE_BATCH);
	test_expect(&cf, "/batch/x", ROUTE_RESERVED);
	test_expect(&cf, "/batch?x", ROUTE_BATCH);
	test_expect(&cf, "/batches", ROUTE_UNKNOWN);
}

/* Targets that are not origin-form, or that climb, are bad requests. */
static void
test_bad(void)
{
	static const char *const bad[] = {
		"", "*", "openai/v1", "http://host/openai/v1",
		"https://127.0.0.1:8080/healthz", "//x", "//", "//openai/v1",
		"/.", "/..", "/./openai", "/../openai", "/openai/..",
		"/openai/.", "/openai/../x", "/openai/./x", "/openai/x/../y",
		"/openai/x/..?q", "/openai/%2e%2e/x", "/openai/%2E%2E/x",
		"/openai/%2e./x", "/openai/.%2E/x", "/openai/%2e/x",
		"/openai/%2E", "/%2e%2e/openai", "/openai/..%2f/x",
		"/openai/..%2Fx", "/openai/x%2f..%2fy", "/openai/..\\x",
		"/openai/x\\..", "/openai/x%5c..", "/openai/x y",
		"/openai/x#frag", "/openai/\x01", "/openai/\t",
		"/openai/x\x7f", "/healthz#x",
	};
	struct config	cf;
	size_t		i;

	test_config(&cf, test_name_openai);
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		test_expect(&cf, bad[i], ROUTE_BAD);
	test_expect(NULL, "/..", ROUTE_BAD);
}

/* Each bad target is told what is wrong with it, not always "dots". */
static void
test_bad_why(void)
{
	static const struct {
		const char	*uri;
		const char	*word;
	} cases[] = {
		{ "//mock/v1/chat", "empty segment" },
		{ "//", "empty segment" },
		{ "http://host/openai/v1", "origin form" },
		{ "*", "origin form" },
		{ "example.com:443", "origin form" },
		{ "/openai/x y", "control character" },
		{ "/openai/x#f", "fragment" },
		{ "/openai/../x", "dot segments" },
		{ "/openai/%2e%2e/x", "dot segments" },
	};
	struct config	cf;
	struct route	r;
	size_t		i;

	test_config(&cf, test_name_openai);
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		route_resolve(&cf, cases[i].uri, &r);
		UNIT_ASSERT_INT_EQ(r.kind, ROUTE_BAD);
		UNIT_ASSERT(r.why != NULL && strstr(r.why, cases[i].word) !=
		    NULL);
		if (strcmp(cases[i].word, "dot segments") != 0)
			UNIT_ASSERT(strstr(r.why, "dot") == NULL);
	}
}

/* Dots that are not whole segments, and dots in the query, are fine. */
static void
test_dots_allowed(void)
{
	struct config	cf;

	test_config(&cf, NULL);
	test_expect_provider(&cf, "/openai/...", 0, "/...");
	test_expect_provider(&cf, "/openai/..x/.y", 0, "/..x/.y");
	test_expect_provider(&cf, "/openai/x../y.", 0, "/x../y.");
	test_expect_provider(&cf, "/openai/.well-known/a.b", 0,
	    "/.well-known/a.b");
	test_expect_provider(&cf, "/openai/%2e%2e%2e", 0, "/%2e%2e%2e");
	test_expect_provider(&cf, "/openai/%2", 0, "/%2");
}

/* The reserved names, exactly, and nothing else. */
static void
test_name_is_reserved(void)
{
	UNIT_ASSERT(route_name_is_reserved("healthz"));
	UNIT_ASSERT(route_name_is_reserved("metrics"));
	UNIT_ASSERT(route_name_is_reserved("status"));
	UNIT_ASSERT(route_name_is_reserved("v1"));
	UNIT_ASSERT(route_name_is_reserved("batch"));
	UNIT_ASSERT(route_name_is_reserved("ui"));
	UNIT_ASSERT(!route_name_is_reserved("openai"));
	UNIT_ASSERT(!route_name_is_reserved("v"));
	UNIT_ASSERT(!route_name_is_reserved("v1x"));
	UNIT_ASSERT(!route_name_is_reserved("health"));
	UNIT_ASSERT(!route_name_is_reserved("batches"));
	UNIT_ASSERT(!route_name_is_reserved(""));
}

static const struct unit_test tests[] = {
	{ "providers, rest and query", test_providers },
	{ "names that prefix other names", test_prefix_names },
	{ "default provider on /v1", test_default_on },
	{ "no default provider: /v1 reserved", test_default_off },
	{ "daemon endpoints", test_endpoints },
	{ "reserved names cannot be shadowed", test_reserved_shadow },
	{ "bad targets and dot segments", test_bad },
	{ "what is wrong with a bad target", test_bad_why },
	{ "dots that are not segments", test_dots_allowed },
	{ "route_name_is_reserved", test_name_is_reserved },
};

/* Run the cases above and report them as TAP. */
int
main(void)
{
	return unit_main(tests, sizeof tests / sizeof tests[0]);
}
