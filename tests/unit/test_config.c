/* SPDX-License-Identifier: ISC */
/*
 * test_config: what config.c accepts, fills in, and refuses, and how.
 *
 * Covers the defaults, every key type, integers where numbers are
 * expected, each class of error with its exact "file:line: key why"
 * message, provider keys from the environment and from files (absolute,
 * under $CREDENTIALS_DIRECTORY, next to the config), @include, the shipped
 * conf/llmproxyd.conf and SPEC's example, and that no key or client token
 * ever appears in a message.  Temporary files live under /tmp and are
 * removed; no network.
 */
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "confkey.h"
#include "unit.h"

static struct config *test_load(const char *text);
static void	test_fail(const char *text, const char *want);
static void	test_fail_secret(const char *text, const char *want,
		    const char *secret);
static void	test_fail_prov(const char *keys, const char *want);
static void	test_write(const char *path, const char *data, size_t len);
static void	test_defaults(void);
static void	test_all_keys(void);
static void	test_all_providers(const struct config *cf, const char *ca);
static void	test_int_for_float(void);
static void	test_unknown_keys(void);
static void	test_wrong_types(void);
static void	test_out_of_range(void);
static void	test_spec_message(void);
static void	test_burst_zero(void);
static void	test_provider_names(void);
static void	test_duplicate(void);
static void	test_missing(void);
static void	test_required(void);
static void	test_listen(void);
static void	test_base_url(void);
static void	test_default_provider(void);
static void	test_syntax(void);
static void	test_key_env(void);
static void	test_key_file_ok(const char *text, const char *path,
		    const char *data, size_t len);
static void	test_key_file(void);
static void	test_key_file_relative(void);
static void	test_ca_file(void);
static void	test_key_ignored(void);
static void	test_secrets_hidden(void);
static void	test_include(void);
static void	test_shipped(void);
static void	test_spec_example(void);
static void	test_find_provider(void);
static void	test_names(void);
static void	test_reference(void);
static void	test_wrapped_key(const struct confkey *k, const char *literal,
		    int same_line);
static void	test_wrapped_integers(void);
static void	test_directory(void);
static void	test_shipped_keys(void);
static int	test_shows_default(const char *text, const struct confkey *k);
static void	test_key_twice_on_a_line(void);
static void	test_models(void);
static void	test_models_bad(void);
static void	test_clients(void);
static void	test_clients_bad(void);
static void	test_redis(void);
static void	test_redis_bad(void);

/* A provider group whose keys start on line 3 (the group on line 2). */
#define TEST_PROV	"providers = (\n{ name = \"p\";\n%s }\n);\n"
/* A provider that needs nothing, for tests of top-level keys. */
#define TEST_SIM	\
	"providers = ( { name = \"p\"; type = \"simulated\"; } );\n"

/* Every key config.h has a field for; the reference must list them all. */
static const char *const test_key_names[] = {
	"listen", "default_provider", "client_tokens", "max_body_size",
	"batch_max_items",
	"shutdown_timeout", "log_level", "allowed_hosts", "allowed_origins",
	"max_connections", "header_timeout", "body_timeout",
	"keepalive_timeout", "providers", "name", "type", "base_url",
	"dialect", "auth", "api_key_env", "api_key_file", "ca_file",
	"requests_per_minute", "tokens_per_minute", "burst",
	"default_max_tokens", "stream_include_usage", "max_concurrent",
	"queue_max", "queue_timeout", "retries", "fallback", "model_map",
	"hedge_after", "connect_timeout",
	"first_byte_timeout", "idle_timeout", "latency", "tokens_per_second",
	"models", "match", "requests_per_minute", "tokens_per_minute",
	"burst", "max_concurrent", "queue_max", "queue_timeout",
	"clients", "name", "token_env", "token_file", "weight",
	"redis", "shared", "url", "password_env", "password_file",
	"key_prefix", "timeout", "lease"
};

/* Load text as "t.conf" and assert that it loads. */
static struct config *
test_load(const char *text)
{
	struct config	*cf;
	char		*cause = NULL;

	cf = config_load_string(text, "t.conf", &cause);
	if (cf == NULL)
		printf("# unexpected error: %s\n", cause);
	UNIT_ASSERT(cf != NULL);
	UNIT_ASSERT(cause == NULL);
	return cf;
}

/* Load text as "t.conf" and assert that it fails with exactly want. */
static void
test_fail(const char *text, const char *want)
{
	struct config	*cf;
	char		*cause = NULL;

	cf = config_load_string(text, "t.conf", &cause);
	UNIT_ASSERT(cf == NULL);
	UNIT_ASSERT_STR_EQ(cause, want);
	free(cause);
}

/* Like test_fail, and assert that secret is nowhere in the message. */
static void
test_fail_secret(const char *text, const char *want, const char *secret)
{
	struct config	*cf;
	char		*cause = NULL;

	cf = config_load_string(text, "t.conf", &cause);
	UNIT_ASSERT(cf == NULL);
	UNIT_ASSERT(cause != NULL && strstr(cause, secret) == NULL);
	UNIT_ASSERT_STR_EQ(cause, want);
	free(cause);
}

/* Assert that a provider "p" with keys (on line 3) fails with want. */
static void
test_fail_prov(const char *keys, const char *want)
{
	char	text[1024];

	snprintf(text, sizeof text, TEST_PROV, keys);
	test_fail(text, want);
}

/* Create path holding data[0..len). */
static void
test_write(const char *path, const char *data, size_t len)
{
	FILE	*f;

	UNIT_ASSERT((f = fopen(path, "wb")) != NULL);
	UNIT_ASSERT(fwrite(data, 1, len, f) == len);
	UNIT_ASSERT(fclose(f) == 0);
}

/* A provider with only the required keys gets every default. */
static void
test_defaults(void)
{
	struct config			*cf;
	const struct provider_config	*p;

	cf = test_load("providers = ( { name = \"p\"; base_url = "
	    "\"http://h\"; auth = \"none\"; } );");
	UNIT_ASSERT_STR_EQ(cf->path, "t.conf");
	UNIT_ASSERT_INT_EQ(cf->nlisten, 1);
	UNIT_ASSERT_STR_EQ(cf->listen[0], "127.0.0.1:8080");
	UNIT_ASSERT(cf->default_provider == NULL);
	UNIT_ASSERT_INT_EQ(cf->nclient_tokens, 0);
	UNIT_ASSERT_INT_EQ(cf->max_body_size, 16777216);
	UNIT_ASSERT(cf->shutdown_timeout == 30.0);
	UNIT_ASSERT_INT_EQ(cf->log_level, LOG_LEVEL_INFO);
	UNIT_ASSERT_INT_EQ(cf->nallowed_hosts + cf->nallowed_origins, 0);
	UNIT_ASSERT_INT_EQ(cf->max_connections, 8192);
	UNIT_ASSERT(cf->header_timeout == 10.0 && cf->body_timeout == 60.0);
	UNIT_ASSERT(cf->keepalive_timeout == 60.0);
	UNIT_ASSERT_INT_EQ(cf->nproviders, 1);
	p = &cf->providers[0];
	UNIT_ASSERT_STR_EQ(p->name, "p");
	UNIT_ASSERT_INT_EQ(p->line, 1);
	UNIT_ASSERT_INT_EQ(p->type, PROVIDER_PROXY);
	UNIT_ASSERT_STR_EQ(p->base_url, "http://h");
	UNIT_ASSERT_INT_EQ(p->dialect, DIALECT_OPENAI);
	UNIT_ASSERT(p->api_key_env == NULL && p->api_key_file == NULL);
	UNIT_ASSERT(p->api_key == NULL && p->ca_file == NULL);
	UNIT_ASSERT_INT_EQ(p->requests_per_minute + p->tokens_per_minute, 0);
	UNIT_ASSERT_INT_EQ(p->burst, 1);
	UNIT_ASSERT_INT_EQ(p->default_max_tokens, 1024);
	UNIT_ASSERT_INT_EQ(p->stream_include_usage, 0);
	UNIT_ASSERT_INT_EQ(p->max_concurrent, 0);
	UNIT_ASSERT_INT_EQ(p->queue_max, 1000);
	UNIT_ASSERT(p->queue_timeout == 60.0 && p->connect_timeout == 10.0);
	UNIT_ASSERT_INT_EQ(p->retries, 2);
	UNIT_ASSERT(p->first_byte_timeout == 120.0 && p->idle_timeout == 60.0);
	UNIT_ASSERT(p->latency == 0.2 && p->tokens_per_second == 50.0);
	config_free(cf);
}

/* The top-level keys of test_all_keys, with their values. */
static const char test_all_top[] =
    "listen = [ \"127.0.0.1:0\", \"[::1]:0\", \"localhost:9\" ];\n"
    "default_provider = \"b\";\nclient_tokens = [ \"tok1\", \"tok2\" ];\n"
    "max_body_size = 1024;\nshutdown_timeout = 2.5;\n"
    "log_level = \"debug\";\nallowed_hosts = [ \"proxy.lan:8080\" ];\n"
    "allowed_origins = [ \"http://localhost:3000\" ];\n"
    "max_connections = 10;\nheader_timeout = 1.5;\nbody_timeout = 2;\n"
    "keepalive_timeout = 3L;\nproviders = (\n"
    "{ name = \"a\"; type = \"simulated\"; dialect = \"anthropic\";\n"
    "  latency = 0; tokens_per_second = 1000; },\n";
/* Provider "b" of test_all_keys (line 16), up to its ca_file value. */
static const char test_all_prov[] =
    "{ name = \"b\"; base_url = \"https://api.example.com/v1/\";\n"
    "  dialect = \"openai\"; auth = \"x-api-key\"; type = \"proxy\";\n"
    "  api_key_env = \"LLMPROXYD_TEST_KEY\"; ca_file = \"";
/* The rest of provider "b". */
static const char test_all_tail[] =
    "\";\n  requests_per_minute = 100; tokens_per_minute = 5000;\n"
    "  burst = 3; default_max_tokens = 0; stream_include_usage = true;\n"
    "  max_concurrent = 7; queue_max = 0; queue_timeout = 5.5;\n"
    "  retries = 0; connect_timeout = 0.5; first_byte_timeout = 9;\n"
    "  idle_timeout = 11; }\n);\n";

/* Every key, set to something other than its default, is parsed. */
static void
test_all_keys(void)
{
	char		 text[2048], ca[] = "/tmp/llmproxyd-ca-XXXXXX";
	struct config	*cf;
	int		 fd;

	UNIT_ASSERT((fd = mkstemp(ca)) != -1);
	close(fd);
	setenv("LLMPROXYD_TEST_KEY", "sk-test-key", 1);
	snprintf(text, sizeof text, "%s%s%s%s", test_all_top, test_all_prov,
	    ca, test_all_tail);
	cf = test_load(text);
	unlink(ca);
	UNIT_ASSERT_INT_EQ(cf->nlisten, 3);
	UNIT_ASSERT_STR_EQ(cf->listen[1], "[::1]:0");
	UNIT_ASSERT_STR_EQ(cf->listen[2], "localhost:9");
	UNIT_ASSERT_STR_EQ(cf->default_provider, "b");
	UNIT_ASSERT_INT_EQ(cf->nclient_tokens, 2);
	UNIT_ASSERT_STR_EQ(cf->client_tokens[1], "tok2");
	UNIT_ASSERT_INT_EQ(cf->max_body_size, 1024);
	UNIT_ASSERT(cf->shutdown_timeout == 2.5);
	UNIT_ASSERT_INT_EQ(cf->log_level, LOG_LEVEL_DEBUG);
	UNIT_ASSERT_STR_EQ(cf->allowed_hosts[0], "proxy.lan:8080");
	UNIT_ASSERT_STR_EQ(cf->allowed_origins[0], "http://localhost:3000");
	UNIT_ASSERT_INT_EQ(cf->max_connections, 10);
	UNIT_ASSERT(cf->header_timeout == 1.5 && cf->body_timeout == 2.0);
	UNIT_ASSERT(cf->keepalive_timeout == 3.0);
	test_all_providers(cf, ca);
	config_free(cf);
}

/* Check the providers test_all_keys loaded, with ca as b's ca_file. */
static void
test_all_providers(const struct config *cf, const char *ca)
{
	const struct provider_config	*a = &cf->providers[0];
	const struct provider_config	*b = &cf->providers[1];

	UNIT_ASSERT_INT_EQ(a->type, PROVIDER_SIMULATED);
	UNIT_ASSERT_INT_EQ(a->dialect, DIALECT_ANTHROPIC);
	UNIT_ASSERT(a->latency == 0.0 && a->tokens_per_second == 1000.0);
	UNIT_ASSERT(a->base_url == NULL && a->api_key == NULL);
	UNIT_ASSERT_INT_EQ(b->line, 16);
	UNIT_ASSERT_STR_EQ(b->base_url, "https://api.example.com/v1");
	UNIT_ASSERT_INT_EQ(b->auth, AUTH_X_API_KEY);
	UNIT_ASSERT_STR_EQ(b->api_key_env, "LLMPROXYD_TEST_KEY");
	UNIT_ASSERT_STR_EQ(b->api_key, "sk-test-key");
	UNIT_ASSERT_STR_EQ(b->ca_file, ca);
	UNIT_ASSERT(b->requests_per_minute == 100 && b->burst == 3);
	UNIT_ASSERT(b->tokens_per_minute == 5000 && b->default_max_tokens == 0);
	UNIT_ASSERT(b->stream_include_usage == 1 && b->max_concurrent == 7);
	UNIT_ASSERT(b->queue_max == 0 && b->queue_timeout == 5.5);
	UNIT_ASSERT(b->retries == 0 && b->connect_timeout == 0.5);
	UNIT_ASSERT(b->first_byte_timeout == 9.0 && b->idle_timeout == 11.0);
}

/* Integers (plain and L) are accepted where numbers are expected. */
static void
test_int_for_float(void)
{
	struct config	*cf;

	cf = test_load("shutdown_timeout = 0;\nproviders = ( { name = \"p\"; "
	    "type = \"simulated\"; queue_timeout = 5; idle_timeout = 7L;\n"
	    "tokens_per_second = 3; latency = 1; max_concurrent = 4L; } );");
	UNIT_ASSERT(cf->shutdown_timeout == 0.0);
	UNIT_ASSERT(cf->providers[0].queue_timeout == 5.0);
	UNIT_ASSERT(cf->providers[0].idle_timeout == 7.0);
	UNIT_ASSERT(cf->providers[0].tokens_per_second == 3.0);
	UNIT_ASSERT(cf->providers[0].latency == 1.0);
	UNIT_ASSERT_INT_EQ(cf->providers[0].max_concurrent, 4);
	config_free(cf);
	cf = test_load("listen = \"127.0.0.1:0\";\n" TEST_SIM);
	UNIT_ASSERT_INT_EQ(cf->nlisten, 1);
	UNIT_ASSERT_STR_EQ(cf->listen[0], "127.0.0.1:0");
	config_free(cf);
}

/* Unknown keys are errors at both levels, with a hint when misplaced. */
static void
test_unknown_keys(void)
{
	test_fail("colour = 1;\n" TEST_SIM, "t.conf:1: colour is not a known "
	    "key");
	test_fail_prov("type = \"simulated\"; colour = \"red\";",
	    "t.conf:3: providers[0].colour is not a known key");
	test_fail("\n" TEST_SIM "retries = 3;\n", "t.conf:3: retries is not "
	    "a known key here (it belongs in a provider)");
	test_fail_prov("type = \"simulated\";\nlisten = [ ];",
	    "t.conf:4: providers[0].listen is not a known key here (it "
	    "belongs at the top level)");
}

/* A value of the wrong type names the key and the type wanted. */
static void
test_wrong_types(void)
{
	test_fail("max_body_size = \"big\";\n" TEST_SIM,
	    "t.conf:1: max_body_size must be an integer");
	test_fail("max_body_size = 1.0;\n" TEST_SIM,
	    "t.conf:1: max_body_size must be an integer");
	test_fail("header_timeout = \"10\";\n" TEST_SIM,
	    "t.conf:1: header_timeout must be a number");
	test_fail("log_level = \"loud\";\n" TEST_SIM,
	    "t.conf:1: log_level must be one of error, warn, info, debug");
	test_fail("log_level = 3;\n" TEST_SIM,
	    "t.conf:1: log_level must be one of error, warn, info, debug");
	test_fail("default_provider = 1;\n" TEST_SIM,
	    "t.conf:1: default_provider must be a string");
	test_fail("listen = 8080;\n" TEST_SIM,
	    "t.conf:1: listen must be a list of strings: [ \"...\", ... ]");
	test_fail("listen = ( \"127.0.0.1:1\",\n 8080 );\n" TEST_SIM,
	    "t.conf:2: listen[1] must be a string");
	test_fail("providers = { name = \"p\"; };",
	    "t.conf:1: providers must be a list of groups: ( { ... }, ... )");
	test_fail("providers = ( \"p\" );",
	    "t.conf:1: providers[0] must be a group: { ... }");
	test_fail_prov("type = \"simulated\"; retries = 2.5;",
	    "t.conf:3: providers[0].retries must be an integer");
	test_fail_prov("type = \"simulated\"; stream_include_usage = 1;",
	    "t.conf:3: providers[0].stream_include_usage must be true or "
	    "false");
	test_fail_prov("type = \"simulated\"; auth = \"Bearer\";",
	    "t.conf:3: providers[0].auth must be one of bearer, x-api-key, "
	    "none");
	test_fail_prov("type = \"remote\";", "t.conf:3: providers[0].type "
	    "must be one of proxy, simulated");
}

/* Values outside a key's bounds name the bound. */
static void
test_out_of_range(void)
{
	test_fail("max_body_size = 0;\n" TEST_SIM,
	    "t.conf:1: max_body_size must be >= 1");
	test_fail("header_timeout = 86401;\n" TEST_SIM,
	    "t.conf:1: header_timeout must be <= 86400");
	test_fail("shutdown_timeout = -1;\n" TEST_SIM,
	    "t.conf:1: shutdown_timeout must be >= 0");
	test_fail("max_connections = 0;\n" TEST_SIM,
	    "t.conf:1: max_connections must be >= 1");
	test_fail_prov("type = \"simulated\"; max_concurrent = -1;",
	    "t.conf:3: providers[0].max_concurrent must be >= 0");
	test_fail_prov("type = \"simulated\"; retries = 11;",
	    "t.conf:3: providers[0].retries must be <= 10");
	test_fail_prov("type = \"simulated\"; queue_timeout = 0;",
	    "t.conf:3: providers[0].queue_timeout must be > 0");
	test_fail_prov("type = \"simulated\"; connect_timeout = -0.5;",
	    "t.conf:3: providers[0].connect_timeout must be > 0");
	test_fail_prov("type = \"simulated\"; tokens_per_second = 0.0;",
	    "t.conf:3: providers[0].tokens_per_second must be > 0");
	test_fail_prov("type = \"simulated\"; latency = -0.1;",
	    "t.conf:3: providers[0].latency must be >= 0");
	test_fail_prov("type = \"simulated\"; queue_max = 10000000000L;",
	    "t.conf:3: providers[0].queue_max must be <= 10000000");
	test_fail_prov("type = \"simulated\"; latency = 1e400;",
	    "t.conf:3: providers[0].latency must be <= 3600");
}

/* SPEC section 2's example message, word for word. */
static void
test_spec_message(void)
{
	const char	*text = "listen = [ \"127.0.0.1:8080\" ];\n"
	    "log_level = \"info\";\nproviders = (\n  {\n    name = \"demo\";\n"
	    "    type = \"simulated\";\n  },\n  {\n    name = \"local\";\n"
	    "    base_url = \"http://127.0.0.1:11434\";\n    auth = \"none\";\n"
	    "    requests_per_minute = 10;\n    burst = 2;\n"
	    "    max_concurrent = -1;\n  }\n);\n";
	struct config	*cf;
	char		*cause = NULL;

	cf = config_load_string(text, "conf/llmproxyd.conf", &cause);
	UNIT_ASSERT(cf == NULL);
	UNIT_ASSERT_STR_EQ(cause, "conf/llmproxyd.conf:14: "
	    "providers[1].max_concurrent must be >= 0");
	free(cause);
}

/* burst = 0 is an error only when a request limit is set. */
static void
test_burst_zero(void)
{
	struct config	*cf;

	test_fail_prov("type = \"simulated\"; requests_per_minute = 60;\n"
	    "burst = 0;", "t.conf:4: providers[0].burst must be >= 1 when "
	    "requests_per_minute is set");
	cf = test_load("providers = ( { name = \"p\"; type = \"simulated\"; "
	    "burst = 0; } );");
	UNIT_ASSERT_INT_EQ(cf->providers[0].burst, 0);
	config_free(cf);
}

/* Provider names are safe path segments and never a reserved name. */
static void
test_provider_names(void)
{
	const char	*reserved =
	    "is reserved (healthz, metrics, status, v1, batch, ui)";
	char		 want[256];
	struct config	*cf;

	snprintf(want, sizeof want, "t.conf:1: providers[0].name %s",
	    reserved);
	test_fail("providers = ( { name = \"status\"; } );", want);
	test_fail("providers = ( { name = \"V1\"; } );", want);
	test_fail("providers = ( { name = \"healthz\"; } );", want);
	test_fail("providers = ( { name = \"UI\"; } );", want);
	test_fail("providers = ( { name = \"..\"; } );",
	    "t.conf:1: providers[0].name must not be . or ..");
	test_fail("providers = ( { name = \"a/b\"; } );",
	    "t.conf:1: providers[0].name must be 1 to 64 letters, digits, "
	    "_ . or -");
	test_fail("providers = ( { name = \"\"; } );",
	    "t.conf:1: providers[0].name must be 1 to 64 letters, digits, "
	    "_ . or -");
	cf = test_load("providers = ( { name = \"My-model_1.0\"; type = "
	    "\"simulated\"; } );");
	UNIT_ASSERT_STR_EQ(cf->providers[0].name, "My-model_1.0");
	config_free(cf);
}

/* Two providers may not share a name. */
static void
test_duplicate(void)
{
	test_fail("providers = (\n{ name = \"a\"; type = \"simulated\"; },\n"
	    "{ type = \"simulated\";\n  name = \"a\"; }\n);",
	    "t.conf:4: providers[1].name \"a\" is already the name of "
	    "providers[0]");
	test_fail("a = 1;\na = 2;\n", "t.conf:2: duplicate setting name");
}

/* A missing required key points at the group that lacks it. */
static void
test_missing(void)
{
	test_fail("", "t.conf:1: providers is required");
	test_fail("\nlisten = [ \"127.0.0.1:0\" ];\n",
	    "t.conf:1: providers is required");
	test_fail("\nproviders = ( );", "t.conf:2: providers must list at "
	    "least one provider");
	test_fail("listen = [ ];\n" TEST_SIM,
	    "t.conf:1: listen must name at least one address");
	test_fail("providers = (\n{ type = \"simulated\"; }\n);",
	    "t.conf:2: providers[0].name is required");
	test_fail_prov("auth = \"none\";",
	    "t.conf:2: providers[0].base_url is required for type \"proxy\"");
	test_fail_prov("base_url = \"http://h\";", "t.conf:2: providers[0]."
	    "api_key_env or api_key_file is required unless auth is \"none\"");
}

/*
 * The keys the table marks required are the ones the loader refuses to
 * go without, each in its place ("is required" at its group's line), and
 * of a kind the loader can tell missing (not a number, always defaulted).
 */
static void
test_required(void)
{
	const struct confkey	*k;
	char			 names[256] = "";

	for (k = confkey_table; k < confkey_table + confkey_count; k++) {
		if (!(k->flags & CONFKEY_REQUIRED))
			continue;
		UNIT_ASSERT(k->type == CONFKEY_STRING ||
		    k->type == CONFKEY_LIST || k->type == CONFKEY_PROVIDERS);
		strncat(names, k->name, sizeof names - strlen(names) - 2);
		strcat(names, " ");
	}
	UNIT_ASSERT_STR_EQ(names, "providers name match name url ");
	test_fail("log_level = \"warn\";\n", "t.conf:1: providers is required");
	test_fail("providers = (\n{ type = \"simulated\"; },\n"
	    "{ name = \"q\"; type = \"simulated\"; }\n);",
	    "t.conf:2: providers[0].name is required");
	test_fail("providers = (\n{ name = \"q\"; type = \"simulated\"; },\n"
	    "{ type = \"simulated\"; }\n);",
	    "t.conf:3: providers[1].name is required");
}

/* listen takes IPv4, bracketed IPv6 and localhost, with a port. */
static void
test_listen(void)
{
	static const char *const bad[] = {
		"127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:-1",
		"example.com:80", "::1:80", "[::1]80", "[::1]", "[]:80",
		"[127.0.0.1]:80", "127.0.0.1:80x", "localhost", ":80",
		"1.2.3:80", "127.0.0.1:123456", "[::1%lo]:80"
	};
	const char	*why = "must be IPV4:PORT, [IPV6]:PORT or "
	    "localhost:PORT, with PORT 0 to 65535";
	char		 text[512], want[512];
	struct config	*cf;
	size_t		 i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		snprintf(text, sizeof text, "listen = [ \"0.0.0.0:1\",\n"
		    "\"%s\" ];\n" TEST_SIM, bad[i]);
		snprintf(want, sizeof want, "t.conf:2: listen[1] %s", why);
		test_fail(text, want);
	}
	cf = test_load("listen = [ \"0.0.0.0:65535\", \"[::]:0\", "
	    "\"[fe80::1:2]:443\", \"localhost:0\" ];\n" TEST_SIM);
	UNIT_ASSERT_INT_EQ(cf->nlisten, 4);
	config_free(cf);
	/* One address twice is refused here, not as a bind failure. */
	test_fail("listen = [ \"127.0.0.1:80\",\n\"[::1]:80\",\n"
	    "\"127.0.0.1:80\" ];\n" TEST_SIM,
	    "t.conf:3: listen[2] \"127.0.0.1:80\" is already listen[0]");
	test_fail("listen = [ \"localhost:80\", \"127.0.0.1:80\" ];\n"
	    TEST_SIM, "t.conf:1: listen[1] \"127.0.0.1:80\" is already "
	    "listen[0]");
	cf = test_load("listen = [ \"127.0.0.1:0\", \"localhost:0\", "
	    "\"127.0.0.1:0\" ];\n" TEST_SIM);
	config_free(cf);
}

/* base_url needs a scheme and a host; trailing slashes are dropped. */
static void
test_base_url(void)
{
	struct config	*cf;

	test_fail_prov("auth = \"none\"; base_url = \"ftp://h\";", "t.conf:3: "
	    "providers[0].base_url must start with http:// or https://");
	test_fail_prov("auth = \"none\"; base_url = \"api.openai.com\";",
	    "t.conf:3: providers[0].base_url must start with http:// or "
	    "https://");
	test_fail_prov("auth = \"none\"; base_url = \"https://\";",
	    "t.conf:3: providers[0].base_url must name a host");
	test_fail_prov("auth = \"none\"; base_url = \"https:///v1\";",
	    "t.conf:3: providers[0].base_url must name a host");
	test_fail_prov("auth = \"none\"; base_url = \"http://h/?a=b\";",
	    "t.conf:3: providers[0].base_url must not have spaces, control "
	    "characters, ? or #");
	test_fail_prov("auth = \"none\"; base_url = \"http://h/a b\";",
	    "t.conf:3: providers[0].base_url must not have spaces, control "
	    "characters, ? or #");
	cf = test_load("providers = ( { name = \"p\"; auth = \"none\"; "
	    "base_url = \"HTTPS://h:8443/v1//\"; } );");
	UNIT_ASSERT_STR_EQ(cf->providers[0].base_url, "HTTPS://h:8443/v1");
	config_free(cf);
}

/* default_provider must name a provider, wherever it is defined. */
static void
test_default_provider(void)
{
	struct config	*cf;

	test_fail("default_provider = \"nope\";\n" TEST_SIM,
	    "t.conf:1: default_provider \"nope\" is not a provider");
	test_fail("default_provider = \"\";\n" TEST_SIM,
	    "t.conf:1: default_provider must be 1 to 64 letters, digits, "
	    "_ . or -");
	test_fail("default_provider = \"v1\";\n" TEST_SIM, "t.conf:1: "
	    "default_provider is reserved (healthz, metrics, status, v1, "
	    "batch, ui)");
	cf = test_load(TEST_SIM "default_provider = \"p\";\n");
	UNIT_ASSERT_STR_EQ(cf->default_provider, "p");
	config_free(cf);
}

/* libconfig's own errors keep the file name and line; I/O errors too. */
static void
test_syntax(void)
{
	struct config	*cf;
	char		*cause = NULL;

	test_fail("listen = [ \"x\"\n", "t.conf:2: syntax error");
	test_fail(TEST_SIM "log_level = info;\n", "t.conf:2: syntax error");
	cf = config_load("/nonexistent/llmproxyd.conf", &cause);
	UNIT_ASSERT(cf == NULL);
	UNIT_ASSERT_STR_EQ(cause, "/nonexistent/llmproxyd.conf: cannot be "
	    "read: No such file or directory");
	free(cause);
}

/* api_key_env must name a set, non-empty, single-line variable. */
static void
test_key_env(void)
{
	const char	*head = "providers = (\n{ name = \"p\"; base_url = "
	    "\"https://h\";\n";
	char		 text[512];
	struct config	*cf;

	setenv("LLMPROXYD_TEST_KEY", "sk-env-key", 1);
	snprintf(text, sizeof text, "%sapi_key_env = \"%s\"; }\n);", head,
	    "LLMPROXYD_TEST_KEY");
	cf = test_load(text);
	UNIT_ASSERT_STR_EQ(cf->providers[0].api_key, "sk-env-key");
	config_free(cf);
	unsetenv("LLMPROXYD_TEST_UNSET");
	snprintf(text, sizeof text, "%sapi_key_env = \"%s\"; }\n);", head,
	    "LLMPROXYD_TEST_UNSET");
	test_fail(text, "t.conf:3: providers[0].api_key_env names a variable "
	    "that is unset or empty");
	setenv("LLMPROXYD_TEST_UNSET", "", 1);
	test_fail(text, "t.conf:3: providers[0].api_key_env names a variable "
	    "that is unset or empty");
	unsetenv("LLMPROXYD_TEST_UNSET");
	test_fail_prov("base_url = \"http://h\"; api_key_env = \"A\";\n"
	    "api_key_file = \"/k\";", "t.conf:4: providers[0].api_key_file "
	    "and api_key_env exclude each other: give one");
	test_fail_prov("type = \"simulated\"; api_key_env = \"\";", "t.conf:3: "
	    "providers[0].api_key_env must be a variable name, "
	    "[A-Za-z_][A-Za-z0-9_]*");
	test_fail_prov("type = \"simulated\"; api_key_file = \"\";",
	    "t.conf:3: providers[0].api_key_file must not be empty");
}

/* Write data to path, load text, and assert the key is "sk-file-key". */
static void
test_key_file_ok(const char *text, const char *path, const char *data,
    size_t len)
{
	struct config	*cf;

	test_write(path, data, len);
	cf = test_load(text);
	UNIT_ASSERT_STR_EQ(cf->providers[0].api_key, "sk-file-key");
	config_free(cf);
}

/* An absolute api_key_file: one newline stripped, bad content refused. */
static void
test_key_file(void)
{
	char		 path[] = "/tmp/llmproxyd-key-XXXXXX", text[512];
	const char	*why = "t.conf:3: providers[0].api_key_file ";
	char		 want[256], big[16385];
	int		 fd;

	UNIT_ASSERT((fd = mkstemp(path)) != -1);
	close(fd);
	snprintf(text, sizeof text, "providers = (\n{ name = \"p\"; base_url "
	    "= \"http://h\";\napi_key_file = \"%s\"; }\n);", path);
	test_key_file_ok(text, path, "sk-file-key\n", 12);
	test_key_file_ok(text, path, "sk-file-key\r\n", 13);
	test_key_file_ok(text, path, "sk-file-key", 11);
	memset(big, 'k', sizeof big);
	test_write(path, big, sizeof big);
	snprintf(want, sizeof want, "%sis longer than 16384 bytes", why);
	test_fail(text, want);
	snprintf(want, sizeof want, "%shas a control character (CR, LF, "
	    "NUL, ...) in its key", why);
	test_write(path, "sk-file-key\n\n", 13);
	test_fail_secret(text, want, "sk-file-key");
	test_write(path, "sk-file\rkey", 11);
	test_fail_secret(text, want, "sk-file");
	test_write(path, "sk-file\0key", 11);
	test_fail_secret(text, want, "sk-file");
	snprintf(want, sizeof want, "%sis empty", why);
	test_write(path, "\n", 1);
	test_fail(text, want);
	test_write(path, "", 0);
	test_fail(text, want);
	unlink(path);
	snprintf(want, sizeof want, "%scannot be opened: No such file or "
	    "directory", why);
	test_fail(text, want);
}

/* A relative api_key_file is under $CREDENTIALS_DIRECTORY, else the conf's. */
static void
test_key_file_relative(void)
{
	char		 dir[] = "/tmp/llmproxyd-cred-XXXXXX", path[256];
	char		 name[256], want[512];
	const char	*text = "providers = (\n{ name = \"p\"; base_url = "
	    "\"http://h\";\napi_key_file = \"p.key\"; }\n);";
	struct config	*cf;
	char		*cause = NULL;

	UNIT_ASSERT(mkdtemp(dir) != NULL);
	snprintf(path, sizeof path, "%s/p.key", dir);
	test_write(path, "sk-cred-key\n", 12);
	setenv("CREDENTIALS_DIRECTORY", dir, 1);
	cf = test_load(text);
	UNIT_ASSERT_STR_EQ(cf->providers[0].api_key, "sk-cred-key");
	config_free(cf);
	setenv("CREDENTIALS_DIRECTORY", "/nonexistent", 1);
	test_fail(text, "t.conf:3: providers[0].api_key_file cannot be "
	    "opened: No such file or directory (looked in /nonexistent)");
	unsetenv("CREDENTIALS_DIRECTORY");
	snprintf(name, sizeof name, "%s/llmproxyd.conf", dir);
	cf = config_load_string(text, name, &cause);
	UNIT_ASSERT(cf != NULL && cause == NULL);
	UNIT_ASSERT_STR_EQ(cf->providers[0].api_key, "sk-cred-key");
	config_free(cf);
	unlink(path);
	UNIT_ASSERT(mkfifo(path, 0600) == 0);
	cf = config_load_string(text, name, &cause);
	unlink(path);
	rmdir(dir);
	snprintf(want, sizeof want, "%s:3: providers[0].api_key_file is not "
	    "a regular file (looked in %s)", name, dir);
	UNIT_ASSERT(cf == NULL);
	UNIT_ASSERT_STR_EQ(cause, want);
	free(cause);
}

/* A relative ca_file is next to the config; it must be readable. */
static void
test_ca_file(void)
{
	char		 dir[] = "/tmp/llmproxyd-ca-XXXXXX", path[256];
	char		 name[256];
	const char	*text = "providers = (\n{ name = \"p\"; base_url = "
	    "\"https://h\"; auth = \"none\";\nca_file = \"ca.pem\"; }\n);";
	struct config	*cf;
	char		*cause = NULL;

	UNIT_ASSERT(mkdtemp(dir) != NULL);
	snprintf(path, sizeof path, "%s/ca.pem", dir);
	snprintf(name, sizeof name, "%s/llmproxyd.conf", dir);
	test_write(path, "-----BEGIN CERTIFICATE-----\n", 28);
	cf = config_load_string(text, name, &cause);
	unlink(path);
	rmdir(dir);
	UNIT_ASSERT(cf != NULL && cause == NULL);
	UNIT_ASSERT_STR_EQ(cf->providers[0].ca_file, path);
	config_free(cf);
	test_fail("providers = (\n{ name = \"p\"; base_url = \"https://h\"; "
	    "auth = \"none\";\nca_file = \"/nonexistent/ca.pem\"; }\n);",
	    "t.conf:3: providers[0].ca_file /nonexistent/ca.pem cannot be "
	    "read: No such file or directory");
}

/* Simulated providers and auth = none need no key and read none. */
static void
test_key_ignored(void)
{
	struct config	*cf;

	unsetenv("LLMPROXYD_TEST_UNSET");
	cf = test_load("providers = (\n{ name = \"s\"; type = \"simulated\"; "
	    "api_key_env = \"LLMPROXYD_TEST_UNSET\"; },\n{ name = \"n\"; "
	    "base_url = \"http://h\"; auth = \"none\"; api_key_file = "
	    "\"/nonexistent\"; }\n);");
	UNIT_ASSERT(cf->providers[0].api_key == NULL);
	UNIT_ASSERT(cf->providers[1].api_key == NULL);
	UNIT_ASSERT_STR_EQ(cf->providers[0].api_key_env,
	    "LLMPROXYD_TEST_UNSET");
	config_free(cf);
}

/* No key or client token reaches a message, whatever goes wrong. */
static void
test_secrets_hidden(void)
{
	setenv("LLMPROXYD_TEST_KEY", "sk-SECRET-1\r\nX-Evil: 1", 1);
	test_fail_secret("providers = (\n{ name = \"p\"; base_url = "
	    "\"http://h\";\napi_key_env = \"LLMPROXYD_TEST_KEY\"; }\n);",
	    "t.conf:3: providers[0].api_key_env names a variable whose value "
	    "has a control character", "SECRET");
	setenv("LLMPROXYD_TEST_KEY", "sk-SECRET-2", 1);
	test_fail_secret("providers = (\n{ name = \"a\"; base_url = "
	    "\"http://h\"; api_key_env = \"LLMPROXYD_TEST_KEY\"; },\n"
	    "{ name = \"a\"; base_url = \"http://h\"; api_key_env = "
	    "\"LLMPROXYD_TEST_KEY\"; }\n);", "t.conf:3: providers[1].name "
	    "\"a\" is already the name of providers[0]", "SECRET");
	test_fail_secret("providers = (\n{ name = \"p\"; base_url = "
	    "\"http://h\";\napi_key_env = \"sk-proj-SECRET-3\"; }\n);",
	    "t.conf:3: providers[0].api_key_env must be a variable name, "
	    "[A-Za-z_][A-Za-z0-9_]*", "SECRET");
	test_fail_secret("client_tokens = [ \"ok\",\n\"tok SECRET-4\" ];\n"
	    TEST_SIM, "t.conf:2: client_tokens[1] must be visible ASCII, "
	    "without spaces", "SECRET");
	test_fail_secret("client_tokens = [ \"\" ];\n" TEST_SIM,
	    "t.conf:1: client_tokens[0] must not be empty", "SECRET");
	test_fail_secret("allowed_origins = [ \"http://a:1/\" ];\n" TEST_SIM,
	    "t.conf:1: allowed_origins[0] must be SCHEME://HOST[:PORT], with "
	    "no path", "SECRET");
	unsetenv("LLMPROXYD_TEST_KEY");
}

/* @include is relative to the config file; its errors name that file. */
static void
test_include(void)
{
	char		 dir[] = "/tmp/llmproxyd-inc-XXXXXX", main_path[256];
	char		 inc_path[256], want[512];
	const char	*inc_main =
	    "providers = (\n@include \"providers.inc\"\n);\n";
	const char	*inc_ok = "{ name = \"p\"; type = \"simulated\"; }\n";
	const char	*inc_bad = "{ name = \"p\"; type = \"simulated\";\n"
	    "retries = 99; }\n";
	const char	*inc_syntax = "{ name = \"p\";\n\n}}\n";
	struct config	*cf;
	char		*cause = NULL;

	UNIT_ASSERT(mkdtemp(dir) != NULL);
	snprintf(main_path, sizeof main_path, "%s/main.conf", dir);
	snprintf(inc_path, sizeof inc_path, "%s/providers.inc", dir);
	test_write(main_path, inc_main, strlen(inc_main));
	test_write(inc_path, inc_ok, strlen(inc_ok));
	cf = config_load(main_path, &cause);
	UNIT_ASSERT(cf != NULL && cause == NULL);
	UNIT_ASSERT_STR_EQ(cf->path, main_path);
	config_free(cf);
	test_write(inc_path, inc_bad, strlen(inc_bad));
	cf = config_load(main_path, &cause);
	UNIT_ASSERT(cf == NULL);
	snprintf(want, sizeof want, "%s:2: providers[0].retries must be <= 10",
	    inc_path);
	UNIT_ASSERT_STR_EQ(cause, want);
	free(cause);
	test_write(inc_path, inc_syntax, strlen(inc_syntax));
	cf = config_load(main_path, &cause);
	unlink(inc_path);
	unlink(main_path);
	rmdir(dir);
	UNIT_ASSERT(cf == NULL);
	snprintf(want, sizeof want, "%s:3: syntax error", inc_path);
	UNIT_ASSERT_STR_EQ(cause, want);
	free(cause);
}

/* The shipped conf/llmproxyd.conf loads and has the demo provider. */
static void
test_shipped(void)
{
	const char			*srcdir = getenv("srcdir");
	char				 path[1024], *cause = NULL;
	struct config			*cf;
	const struct provider_config	*p;

	snprintf(path, sizeof path, "%s/conf/llmproxyd.conf",
	    srcdir != NULL ? srcdir : ".");
	cf = config_load(path, &cause);
	if (cf == NULL)
		printf("# %s\n", cause);
	UNIT_ASSERT(cf != NULL);
	UNIT_ASSERT_INT_EQ(cf->nlisten, 1);
	UNIT_ASSERT_STR_EQ(cf->listen[0], "127.0.0.1:8080");
	UNIT_ASSERT_INT_EQ(cf->log_level, LOG_LEVEL_INFO);
	UNIT_ASSERT((p = config_find_provider(cf, "demo", 4)) != NULL);
	UNIT_ASSERT_INT_EQ(p->type, PROVIDER_SIMULATED);
	UNIT_ASSERT_INT_EQ(p->dialect, DIALECT_OPENAI);
	UNIT_ASSERT(p->latency == 0.2 && p->tokens_per_second == 50.0);
	UNIT_ASSERT(p->requests_per_minute == 60 && p->burst == 10);
	UNIT_ASSERT_INT_EQ(p->max_concurrent, 4);
	config_free(cf);
}

/* SPEC section 3's example, word for word but for its two "...". */
static const char test_spec_text[] =
    "listen = [ \"127.0.0.1:8080\" ];        "
    "# loopback by default; \"[::1]:8080\" too\n"
    "default_provider = \"openai\";          "
    "# optional: also serve /v1/... for it\n"
    "client_tokens = [ ];                  "
    "# optional: if non-empty, clients must\n"
    "                                      # send one as Bearer / x-api-key\n"
    "max_body_size = 16777216;             # bytes; larger -> 413\n"
    "shutdown_timeout = 30.0;\n"
    "log_level = \"info\";                   # error|warn|info|debug\n"
    "allowed_hosts = [ ];                  "
    "# Host values accepted besides loopback\n"
    "allowed_origins = [ ];                "
    "# browser Origins accepted (none: refuse)\n"
    "max_connections = 8192;               "
    "# client connections; beyond -> 503\n"
    "header_timeout = 10.0;                "
    "# whole request head must arrive by then\n"
    "body_timeout = 60.0;                  # then the whole body\n"
    "keepalive_timeout = 60.0;             "
    "# idle client connection between requests\n"
    "\n"
    "providers = (\n"
    "  {\n"
    "    name = \"openai\";                  # the URL prefix: /openai/...\n"
    "    base_url = \"https://api.openai.com\";\n"
    "    dialect = \"openai\";               "
    "# openai | anthropic: error shapes,\n"
    "                                      # usage parsing, rate-limit"
    " headers\n"
    "    auth = \"bearer\";                  # bearer | x-api-key | none\n"
    "    api_key_env = \"OPENAI_API_KEY\";   "
    "# or api_key_file: a relative path is\n"
    "                                      # under $CREDENTIALS_DIRECTORY;"
    " one\n"
    "                                      # trailing newline is stripped;"
    " an\n"
    "                                      # unset or empty key is a config"
    " error\n"
    "    ca_file = \"\";                     "
    "# optional CA bundle for this upstream\n"
    "    requests_per_minute = 500;        # token bucket, 0 = unlimited\n"
    "    tokens_per_minute = 200000;       # token bucket, 0 = unlimited\n"
    "    burst = 10;                       # bucket depth for requests; the\n"
    "                                      # token bucket holds one"
    " minute's\n"
    "                                      # worth; every bucket starts"
    " full\n"
    "    default_max_tokens = 1024;        "
    "# estimate when a body names none\n"
    "    stream_include_usage = false;     "
    "# add stream_options.include_usage\n"
    "                                      # to OpenAI streams (off: bodies\n"
    "                                      # pass untouched)\n"
    "    max_concurrent = 16;              # semaphore, 0 = unlimited\n"
    "    queue_max = 1000;                 "
    "# waiting requests; beyond -> 429\n"
    "    queue_timeout = 60.0;             # seconds a request may wait\n"
    "    retries = 2;                      # on 429 / 5xx / connect error,\n"
    "                                      # only before the first byte is"
    " sent\n"
    "    connect_timeout = 10.0;\n"
    "    first_byte_timeout = 120.0;\n"
    "    idle_timeout = 60.0;              "
    "# longest silence inside a stream\n"
    "  },\n"
    "  { name = \"anthropic\"; base_url = \"https://api.anthropic.com\";\n"
    "    dialect = \"anthropic\"; auth = \"x-api-key\";\n"
    "    api_key_env = \"ANTHROPIC_API_KEY\"; },\n"
    "  { name = \"demo\"; type = \"simulated\"; }   # see 7\n"
    ");\n";

/* SPEC section 3's example loads once its "..." are removed. */
static void
test_spec_example(void)
{
	struct config		*cf;
	const struct provider_config *o, *a;

	setenv("OPENAI_API_KEY", "sk-openai", 1);
	setenv("ANTHROPIC_API_KEY", "sk-ant", 1);
	cf = test_load(test_spec_text);
	UNIT_ASSERT_INT_EQ(cf->nproviders, 3);
	UNIT_ASSERT_STR_EQ(cf->default_provider, "openai");
	o = &cf->providers[0];
	a = &cf->providers[1];
	UNIT_ASSERT_STR_EQ(o->api_key, "sk-openai");
	UNIT_ASSERT(o->ca_file == NULL);
	UNIT_ASSERT(o->max_concurrent == 16 && o->tokens_per_minute == 200000);
	UNIT_ASSERT_INT_EQ(a->auth, AUTH_X_API_KEY);
	UNIT_ASSERT_INT_EQ(a->dialect, DIALECT_ANTHROPIC);
	UNIT_ASSERT_STR_EQ(a->api_key, "sk-ant");
	UNIT_ASSERT_INT_EQ(cf->providers[2].type, PROVIDER_SIMULATED);
	config_free(cf);
}

/* config_find_provider compares exactly len bytes. */
static void
test_find_provider(void)
{
	struct config	*cf;

	cf = test_load("providers = ( { name = \"open\"; type = \"simulated\"; "
	    "}, { name = \"openai\"; type = \"simulated\"; } );");
	UNIT_ASSERT(config_find_provider(cf, "openai/v1", 6) ==
	    &cf->providers[1]);
	UNIT_ASSERT(config_find_provider(cf, "openai", 4) == &cf->providers[0]);
	UNIT_ASSERT(config_find_provider(cf, "opena", 5) == NULL);
	UNIT_ASSERT(config_find_provider(cf, "", 0) == NULL);
	UNIT_ASSERT(config_find_provider(cf, "OPEN", 4) == NULL);
	config_free(cf);
}

/* Log levels and dialects have their file names. */
static void
test_names(void)
{
	UNIT_ASSERT_STR_EQ(confkey_log_level_name(LOG_LEVEL_ERROR), "error");
	UNIT_ASSERT_STR_EQ(confkey_log_level_name(LOG_LEVEL_WARN), "warn");
	UNIT_ASSERT_STR_EQ(confkey_log_level_name(LOG_LEVEL_INFO), "info");
	UNIT_ASSERT_STR_EQ(confkey_log_level_name(LOG_LEVEL_DEBUG), "debug");
	UNIT_ASSERT_STR_EQ(confkey_dialect_name(DIALECT_OPENAI), "openai");
	UNIT_ASSERT_STR_EQ(confkey_dialect_name(DIALECT_ANTHROPIC), "anthropic");
}

/* The reference has one .TP entry per key, with type and default. */
static void
test_reference(void)
{
	char		*buf = NULL, want[128];
	const char	*p;
	size_t		 len = 0, i, n = 0;
	FILE		*f;

	UNIT_ASSERT((f = open_memstream(&buf, &len)) != NULL);
	confkey_write_reference(f);
	UNIT_ASSERT(fclose(f) == 0);
	for (i = 0; i < sizeof test_key_names / sizeof test_key_names[0];
	    i++) {
		snprintf(want, sizeof want, ".TP\n\\fB%s\\fR (",
		    test_key_names[i]);
		if (strstr(buf, want) == NULL)
			printf("# %s missing from the reference\n",
			    test_key_names[i]);
		UNIT_ASSERT(strstr(buf, want) != NULL);
	}
	for (p = buf; (p = strstr(p, ".TP\n")) != NULL; p++)
		n++;
	UNIT_ASSERT_INT_EQ(n, i);
	UNIT_ASSERT(strncmp(buf, ".SS Top-level keys\n", 19) == 0);
	UNIT_ASSERT(strstr(buf, "\n.SS Provider keys\n.TP\n\\fBname\\fR (") !=
	    NULL);
	UNIT_ASSERT(strstr(buf, "\\fBmax_body_size\\fR (integer; default "
	    "16777216; 1 to 1073741824)\n") != NULL);
	UNIT_ASSERT(strstr(buf, "(one of bearer, x\\-api\\-key, none; default "
	    "\"bearer\")") != NULL);
	free(buf);
}

/*
 * Assert that k = literal (an integer libconfig 1.5 wraps into 32 bits) is
 * refused with k's line and range; same_line puts other settings before
 * it on its line.
 */
static void
test_wrapped_key(const struct confkey *k, const char *literal, int same_line)
{
	char	text[1024], want[256], range[128];
	int	line;

	if (k->type == CONFKEY_INT)
		snprintf(range, sizeof range, "between %lld and %lld",
		    k->imin, k->imax);
	else
		snprintf(range, sizeof range, "between %.10g and %.10g",
		    k->fmin, k->fmax);
	if (k->scope == CONFKEY_SCOPE_TOP) {
		line = same_line ? 1 : 3;
		snprintf(text, sizeof text, "%s%s = %s;\n" TEST_SIM,
		    same_line ? "log_level = \"info\"; " : "# wrapped\n\n",
		    k->name, literal);
		snprintf(want, sizeof want, "t.conf:%d: %s must be %s", line,
		    k->name, range);
	} else if (k->scope == CONFKEY_SCOPE_REDIS) {
		line = same_line ? 1 : 2;
		snprintf(text, sizeof text, "redis = { url = \"redis://"
		    "127.0.0.1\";%s%s = %s; };\n" TEST_SIM,
		    same_line ? " " : "\n  ", k->name, literal);
		snprintf(want, sizeof want, "t.conf:%d: redis.%s must be %s",
		    line, k->name, range);
	} else if (k->scope == CONFKEY_SCOPE_CLIENT) {
		line = same_line ? 1 : 2;
		snprintf(text, sizeof text, "clients = ( { name = \"c\"; "
		    "token_env = \"PATH\";%s%s = %s; } );\n" TEST_SIM,
		    same_line ? " " : "\n  ", k->name, literal);
		snprintf(want, sizeof want, "t.conf:%d: clients[0].%s must "
		    "be %s", line, k->name, range);
	} else {
		line = same_line ? 2 : 3;
		snprintf(text, sizeof text, "providers = (\n{ name = \"p\"; "
		    "type = \"simulated\";%s%s = %s; }\n);\n",
		    same_line ? " " : "\n  ", k->name, literal);
		snprintf(want, sizeof want, "t.conf:%d: providers[0].%s must "
		    "be %s", line, k->name, range);
	}
	test_fail(text, want);
}

/*
 * Every integer and number key of the table, given an integer beyond 32
 * bits that libconfig 1.5 would wrap (to 1, to a negative number, to 0),
 * is refused naming the key, its line and its range.
 */
static void
test_wrapped_integers(void)
{
	static const char *const literals[] = { "4294967297", "2147483648",
	    "4294967296", "-4294967297", "-2147483649", "0x100000001",
	    "99999999999999999999", "+8589934593" };
	const struct confkey	*k;
	size_t			 i, n = 0;

	for (k = confkey_table; k < confkey_table + confkey_count; k++) {
		if (k->type != CONFKEY_INT && k->type != CONFKEY_FLOAT)
			continue;
		for (i = 0; i < sizeof literals / sizeof literals[0]; i++) {
			test_wrapped_key(k, literals[i], 0);
			test_wrapped_key(k, literals[i], 1);
		}
		n++;
	}
	printf("# %zu numeric keys, each refused with %zu wrapped literals\n",
	    n, sizeof literals / sizeof literals[0]);
	UNIT_ASSERT(n >= 19);
	/* An integer that fits, or has the L suffix, reads as before. */
	config_free(test_load("max_body_size = 1073741824;\n" TEST_SIM));
	test_fail("max_body_size = 4294967297L;\n" TEST_SIM,
	    "t.conf:1: max_body_size must be <= 1073741824");
}

/*
 * Return 1 if text shows k with its default: "k = D;" (commented out or
 * not), or a line naming k that says "default D".  Keys without a default
 * need only be named.
 */
static int
test_shows_default(const char *text, const struct confkey *k)
{
	char		 def[64], want[128];
	const char	*p, *eol;
	size_t		 len = strlen(k->name);

	if (k->type == CONFKEY_BOOL)
		snprintf(def, sizeof def, "%s", k->idef ? "true" : "false");
	else if (k->type == CONFKEY_ENUM)
		snprintf(def, sizeof def, "\"%s\"", k->names[k->idef]);
	else if (k->type == CONFKEY_INT)
		snprintf(def, sizeof def, "%lld", k->idef);
	else if (k->type == CONFKEY_FLOAT)
		snprintf(def, sizeof def, "%.10g", k->fdef);
	else if (k->type == CONFKEY_LIST)
		snprintf(def, sizeof def, k->sdef != NULL ? "[ \"%s\" ]" :
		    "[ ]", k->sdef);
	else
		return strstr(text, k->name) != NULL;
	for (p = text; (p = strstr(p, k->name)) != NULL; p += len) {
		if (p > text && (p[-1] == '_' ||
		    (p[-1] >= 'a' && p[-1] <= 'z')))
			continue;
		eol = strchr(p, '\n');
		snprintf(want, sizeof want, "%s = %s;", k->name, def);
		if (strncmp(p, want, strlen(want)) == 0)
			return 1;
		snprintf(want, sizeof want, "default %s", def);
		if (p[len] == ' ' && strstr(p, want) != NULL &&
		    (eol == NULL || strstr(p, want) < eol))
			return 1;
	}
	return 0;
}

/* The shipped config shows every key of the table, with its default. */
static void
test_shipped_keys(void)
{
	const char		*srcdir = getenv("srcdir");
	char			 path[1024], text[16384];
	const struct confkey	*k;
	FILE			*f;
	size_t			 n;

	snprintf(path, sizeof path, "%s/conf/llmproxyd.conf",
	    srcdir != NULL ? srcdir : ".");
	UNIT_ASSERT((f = fopen(path, "r")) != NULL);
	n = fread(text, 1, sizeof text - 1, f);
	fclose(f);
	text[n] = '\0';
	for (k = confkey_table; k < confkey_table + confkey_count; k++) {
		if (!test_shows_default(text, k))
			printf("# %s: not shown with its default\n", k->name);
		UNIT_ASSERT(test_shows_default(text, k));
	}
}

/* A directory given as the config file says so. */
static void
test_directory(void)
{
	char	*cause = NULL;

	UNIT_ASSERT(config_load("/tmp", &cause) == NULL);
	UNIT_ASSERT_STR_EQ(cause, "/tmp: cannot be read: is a directory");
	free(cause);
}

/*
 * One line may name a key twice (a provider and its group): each value
 * is checked against its own literal, and a wrapped one is still caught.
 */
static void
test_key_twice_on_a_line(void)
{
	struct config	*cf;

	cf = test_load("providers = ( { name = \"p\"; type = \"simulated\"; "
	    "max_concurrent = 2; models = ( { match = \"a\"; "
	    "max_concurrent = 3; } ); } );\n");
	UNIT_ASSERT_INT_EQ(cf->providers[0].max_concurrent, 2);
	UNIT_ASSERT_INT_EQ(cf->providers[0].models[0].max_concurrent, 3);
	config_free(cf);
	test_fail("providers = ( { name = \"p\"; type = \"simulated\"; "
	    "max_concurrent = 2; models = ( { match = \"a\"; "
	    "max_concurrent = 4294967299; } ); } );\n", "t.conf:1: "
	    "providers[0].models[0].max_concurrent must be between 0 and "
	    "1000000");
}

/* Model groups parse with their defaults; the first match wins. */
static void
test_models(void)
{
	const struct provider_config	*pc;
	struct config			*cf;

	cf = test_load("providers = ( { name = \"p\"; type = \"simulated\";\n"
	    "models = ( { match = \"gpt-4o-mini*\"; requests_per_minute = "
	    "30000; tokens_per_minute = 150000000; },\n"
	    "{ match = \"gpt-4o\"; max_concurrent = 50; queue_timeout = 5; "
	    "} ); } );");
	pc = &cf->providers[0];
	UNIT_ASSERT_INT_EQ(pc->nmodels, 2);
	UNIT_ASSERT_INT_EQ(pc->models_tokens, 1);
	UNIT_ASSERT_INT_EQ(pc->models[0].line, 2);
	UNIT_ASSERT_INT_EQ(pc->models[0].burst, 1);
	UNIT_ASSERT_INT_EQ(pc->models[0].queue_max, 0);
	UNIT_ASSERT(pc->models[0].queue_timeout == 0);
	UNIT_ASSERT(pc->models[1].queue_timeout == 5);
	UNIT_ASSERT(config_match_model(pc, "gpt-4o-mini", 11) ==
	    &pc->models[0]);
	UNIT_ASSERT(config_match_model(pc, "gpt-4o-mini-2024", 16) ==
	    &pc->models[0]);
	UNIT_ASSERT(config_match_model(pc, "gpt-4o", 6) == &pc->models[1]);
	UNIT_ASSERT(config_match_model(pc, "gpt-4o-2024", 11) == NULL);
	UNIT_ASSERT(config_match_model(pc, "gpt-4", 5) == NULL);
	UNIT_ASSERT(config_match_model(pc, "gpt-4o-min", 10) == NULL);
	config_free(cf);
}

/* Each bad model group shape names its file, line and key. */
static void
test_models_bad(void)
{
	test_fail_prov("type = \"simulated\";\nmodels = ( { match = \"a*b\"; "
	    "max_concurrent = 1; } );", "t.conf:4: providers[0].models[0]."
	    "match may have '*' only at its end (a prefix)");
	test_fail_prov("type = \"simulated\";\nmodels = ( { match = \"\"; "
	    "max_concurrent = 1; } );", "t.conf:4: providers[0].models[0]."
	    "match must be 1 to 256 bytes");
	test_fail_prov("type = \"simulated\";\nmodels = ( { match = \"a b\"; "
	    "max_concurrent = 1; } );", "t.conf:4: providers[0].models[0]."
	    "match must be visible ASCII, without quotes or backslashes");
	test_fail_prov("type = \"simulated\";\nmodels = (\n{ match = \"a\"; "
	    "queue_max = 3; } );", "t.conf:5: providers[0].models[0]."
	    "requests_per_minute tokens_per_minute or max_concurrent must be "
	    "set: the group has no limit");
	test_fail_prov("type = \"simulated\";\nmodels = ( { match = \"a\"; "
	    "max_concurrent = 1; },\n{ match = \"a\"; max_concurrent = 2; } );",
	    "t.conf:5: providers[0].models[1].match \"a\" is already the "
	    "match of models[0]");
	test_fail_prov("type = \"simulated\";\nmodels = ( { match = \"gpt*\"; "
	    "max_concurrent = 1; },\n{ match = \"gpt-4o\"; max_concurrent = 2; "
	    "} );", "t.conf:5: providers[0].models[1].match \"gpt-4o\" is "
	    "never used: models[0] (\"gpt*\") matches first");
	test_fail_prov("type = \"simulated\";\nmodels = ( { "
	    "max_concurrent = 1; } );", "t.conf:4: providers[0].models[0]."
	    "match is required");
	test_fail_prov("type = \"simulated\";\nmodels = ( { match = \"a\"; "
	    "requests_per_minute = 5;\nburst = 0; } );", "t.conf:5: "
	    "providers[0].models[0].burst must be >= 1 when "
	    "requests_per_minute is set");
	test_fail_prov("type = \"simulated\";\nmodels = ( { match = \"a\"; "
	    "retries = 1; } );", "t.conf:4: providers[0].models[0].retries "
	    "is not a known key here (it belongs in a provider)");
	test_fail_prov("type = \"simulated\";\nmodels = ( \"a\" );",
	    "t.conf:4: providers[0].models[0] must be a group: "
	    "{ match = ...; ... }");
}

/*
 * Clients from clients entries (token_env, token_file) and then the plain
 * client_tokens, named token1..; weights default to 1.
 */
static void
test_clients(void)
{
	char		 path[] = "/tmp/llmproxyd-token-XXXXXX", text[1024];
	struct config	*cf;
	int		 fd;

	UNIT_ASSERT((fd = mkstemp(path)) != -1);
	close(fd);
	test_write(path, "alice-token\n", 12);
	setenv("LLMPROXY_TEST_CI_TOKEN", "ci-token", 1);
	snprintf(text, sizeof text, "clients = (\n"
	    "{ name = \"ci\"; token_env = \"LLMPROXY_TEST_CI_TOKEN\"; },\n"
	    "{ name = \"alice\"; token_file = \"%s\"; weight = 4; } );\n"
	    "client_tokens = [ \"plain-1\", \"plain-2\" ];\n" TEST_SIM, path);
	cf = test_load(text);
	UNIT_ASSERT_INT_EQ(cf->nclients, 4);
	UNIT_ASSERT_STR_EQ(cf->clients[0].name, "ci");
	UNIT_ASSERT_STR_EQ(cf->clients[0].token, "ci-token");
	UNIT_ASSERT_INT_EQ(cf->clients[0].weight, 1);
	UNIT_ASSERT_INT_EQ(cf->clients[0].line, 2);
	UNIT_ASSERT_STR_EQ(cf->clients[1].name, "alice");
	UNIT_ASSERT_STR_EQ(cf->clients[1].token, "alice-token");
	UNIT_ASSERT_INT_EQ(cf->clients[1].weight, 4);
	UNIT_ASSERT_STR_EQ(cf->clients[2].name, "token1");
	UNIT_ASSERT_STR_EQ(cf->clients[2].token, "plain-1");
	UNIT_ASSERT_STR_EQ(cf->clients[3].name, "token2");
	UNIT_ASSERT_INT_EQ(cf->clients[3].line, 4);
	config_free(cf);
	/* No token anywhere: no clients, the header names them. */
	cf = test_load(TEST_SIM);
	UNIT_ASSERT_INT_EQ(cf->nclients, 0);
	config_free(cf);
	unlink(path);
	unsetenv("LLMPROXY_TEST_CI_TOKEN");
}

/* Each bad clients entry names its file, line and key. */
static void
test_clients_bad(void)
{
	setenv("LLMPROXY_TEST_T1", "same-token", 1);
	setenv("LLMPROXY_TEST_T2", "same-token", 1);
	setenv("LLMPROXY_TEST_T3", "has space", 1);
	test_fail("clients = ( { token_env = \"LLMPROXY_TEST_T1\"; } );\n"
	    TEST_SIM, "t.conf:1: clients[0].name is required");
	test_fail("clients = ( { name = \"other\"; token_env = "
	    "\"LLMPROXY_TEST_T1\"; } );\n" TEST_SIM, "t.conf:1: "
	    "clients[0].name is reserved (default, other)");
	test_fail("clients = ( { name = \"a b\"; token_env = "
	    "\"LLMPROXY_TEST_T1\"; } );\n" TEST_SIM, "t.conf:1: "
	    "clients[0].name must be 1 to 64 letters, digits, _ . or -");
	test_fail("clients = ( { name = \"a\"; } );\n" TEST_SIM, "t.conf:1: "
	    "clients[0].token_env or token_file is required");
	test_fail("clients = ( { name = \"a\"; token_env = \"LLMPROXY_TEST_T1\";"
	    "\ntoken_file = \"/x\"; } );\n" TEST_SIM, "t.conf:2: "
	    "clients[0].token_file and token_env exclude each other: give "
	    "one");
	test_fail("clients = ( { name = \"a\"; token_env = "
	    "\"LLMPROXY_TEST_UNSET_VAR\"; } );\n" TEST_SIM, "t.conf:1: "
	    "clients[0].token_env names a variable that is unset or empty");
	test_fail("clients = ( { name = \"a\"; token_env = "
	    "\"LLMPROXY_TEST_T3\"; } );\n" TEST_SIM, "t.conf:1: "
	    "clients[0].token_env gives a token that must be visible ASCII, "
	    "without spaces");
	test_fail("clients = ( { name = \"a\"; token_env = \"LLMPROXY_TEST_T1\";"
	    " },\n{ name = \"a\"; token_env = \"LLMPROXY_TEST_T2\"; } );\n"
	    TEST_SIM, "t.conf:2: clients[1].name \"a\" is already the name "
	    "of clients[0]");
	test_fail("clients = ( { name = \"a\"; token_env = \"LLMPROXY_TEST_T1\";"
	    " },\n{ name = \"b\"; token_env = \"LLMPROXY_TEST_T2\"; } );\n"
	    TEST_SIM, "t.conf:2: clients[1].token_env gives the token of "
	    "clients[0] (\"a\"): a token names one client");
	test_fail("clients = ( { name = \"a\"; token_env = \"LLMPROXY_TEST_T1\";"
	    " weight = 0; } );\n" TEST_SIM, "t.conf:1: clients[0].weight "
	    "must be >= 1");
	test_fail("clients = ( { name = \"a\"; token_env = \"LLMPROXY_TEST_T1\";"
	    " retries = 1; } );\n" TEST_SIM, "t.conf:1: clients[0].retries "
	    "is not a known key");
	test_fail("clients = ( { name = \"a\"; token_env = \"LLMPROXY_TEST_T1\";"
	    " log_level = \"info\"; } );\n" TEST_SIM, "t.conf:1: "
	    "clients[0].log_level is not a known key here (it belongs at the "
	    "top level)");
	test_fail("clients = ( { name = \"token1\"; token_env = "
	    "\"LLMPROXY_TEST_T1\"; } );\nclient_tokens = [ \"x\" ];\n"
	    TEST_SIM, "t.conf:2: client_tokens entry 1 is client token1, "
	    "already the name of clients[0]");
	test_fail("clients = ( { name = \"a\"; token_env = \"LLMPROXY_TEST_T1\";"
	    " } );\nclient_tokens = [ \"same-token\" ];\n" TEST_SIM,
	    "t.conf:2: client_tokens entry 1 repeats the token of client a: "
	    "a token names one client");
	test_fail("clients = ( \"a\" );\n" TEST_SIM, "t.conf:1: clients[0] "
	    "must be a group: { name = ...; ... }");
	test_fail("clients = { name = \"a\"; };\n" TEST_SIM, "t.conf:1: "
	    "clients must be a list of groups: ( { name = ...; }, ... )");
	unsetenv("LLMPROXY_TEST_T1");
	unsetenv("LLMPROXY_TEST_T2");
	unsetenv("LLMPROXY_TEST_T3");
}

/* The redis group: defaults, URLs of each kind, the password. */
static void
test_redis(void)
{
	static const char *const urls[] = { "redis://127.0.0.1",
	    "redis://127.0.0.1:6380/2", "redis://[::1]:6379",
	    "redis://localhost:7000/0", "redis://:pw@127.0.0.1:6379",
	    "redis://user:p@ss@10.0.0.1", "unix:///run/redis/redis.sock",
	    "unix:///tmp/r.sock?db=3" };
	struct config	*cf;
	char		 text[512];
	size_t		 i;

	cf = test_load("redis = { url = \"redis://127.0.0.1:6379/0\"; };\n"
	    "providers = ( { name = \"p\"; type = \"simulated\"; "
	    "shared = true; } );\n");
	UNIT_ASSERT(cf->redis.given);
	UNIT_ASSERT_STR_EQ(cf->redis.key_prefix, "llmproxy:");
	UNIT_ASSERT(cf->redis.timeout == 0.25 && cf->redis.lease == 30);
	UNIT_ASSERT(cf->redis.password == NULL);
	UNIT_ASSERT(cf->providers[0].shared);
	config_free(cf);
	cf = test_load(TEST_SIM);
	UNIT_ASSERT(!cf->redis.given && !cf->providers[0].shared);
	config_free(cf);
	for (i = 0; i < sizeof urls / sizeof urls[0]; i++) {
		snprintf(text, sizeof text, "redis = { url = \"%s\"; };\n"
		    TEST_SIM, urls[i]);
		config_free(test_load(text));
	}
	setenv("LLMPROXY_TEST_REDIS_PW", "s3cret-redis-pw", 1);
	cf = test_load("redis = { url = \"redis://127.0.0.1\"; password_env = "
	    "\"LLMPROXY_TEST_REDIS_PW\"; key_prefix = \"team-a:\"; "
	    "timeout = 0.5; lease = 10; };\n" TEST_SIM);
	UNIT_ASSERT_STR_EQ(cf->redis.password, "s3cret-redis-pw");
	UNIT_ASSERT_STR_EQ(cf->redis.key_prefix, "team-a:");
	config_free(cf);
	unsetenv("LLMPROXY_TEST_REDIS_PW");
}

/* Each bad redis group names its key; a URL is never repeated. */
static void
test_redis_bad(void)
{
	static const struct {
		const char	*url, *why;
	} bad[] = {
		{ "http://127.0.0.1", "the URL must start with redis:// or "
		  "unix://" },
		{ "rediss://127.0.0.1", "rediss:// (TLS) is not supported: "
		  "hiredis 0.14 has no TLS" },
		{ "redis://redis.example.com", "host \"redis.example.com\": "
		  "give an IPv4 address, an [IPv6] address or localhost (a name "
		  "would be resolved with a blocking call)" },
		{ "redis://:hunter2@db.internal:6379", "host (not shown: the URL "
		  "has user info): give an IPv4 address, an [IPv6] address or "
		  "localhost (a name would be resolved with a blocking call)" },
		{ "redis://127.0.0.1:0", "port \"0\" is not a number from 1 to "
		  "65535" },
		{ "redis://[::1", "'[' without ']' in the host" },
		{ "redis://127.0.0.1/x", "path \"x\" is not a database number "
		  "(0 to 2147483647)" },
		{ "redis://", "no host" },
		{ "unix://relative.sock", "no socket path (unix:///path)" },
		{ "unix:///tmp/r.sock?x=1", "the only query is \"?db=N\"" },
	};
	char	text[512], want[512];
	size_t	i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		snprintf(text, sizeof text, "redis = { url = \"%s\"; };\n"
		    TEST_SIM, bad[i].url);
		snprintf(want, sizeof want, "t.conf:1: redis.url is not "
		    "usable: %s", bad[i].why);
		test_fail(text, want);
	}
	test_fail("redis = { };\n" TEST_SIM, "t.conf:1: redis.url is "
	    "required");
	test_fail("redis = ( );\n" TEST_SIM, "t.conf:1: redis must be a "
	    "group: { url = ...; ... }");
	test_fail("redis = { url = \"redis://127.0.0.1\";\nkey_prefix = "
	    "\"a{b}\"; };\n" TEST_SIM, "t.conf:2: redis.key_prefix must be "
	    "visible ASCII without spaces or braces (the braces are the "
	    "provider's hash tag)");
	test_fail("redis = { url = \"redis://127.0.0.1\";\ntimeout = 1; "
	    "lease = 3; };\n" TEST_SIM, "t.conf:2: redis.lease must be more "
	    "than three times timeout: a slot is renewed every lease/3");
	test_fail("redis = { url = \"redis://127.0.0.1\"; password_env = "
	    "\"LLMPROXY_TEST_UNSET_PW\"; };\n" TEST_SIM, "t.conf:1: "
	    "redis.password_env names a variable that is unset or empty");
	test_fail("redis = { url = \"redis://127.0.0.1\";\npassword_env = "
	    "\"PATH\";\npassword_file = \"/x\"; };\n" TEST_SIM, "t.conf:3: "
	    "redis.password_file and password_env exclude each other: give "
	    "one");
	test_fail("redis = { url = \"redis://127.0.0.1\"; weight = 1; };\n"
	    TEST_SIM, "t.conf:1: redis.weight is not a known key");
	test_fail("providers = ( { name = \"p\"; type = \"simulated\";\n"
	    "shared = true; } );\n", "t.conf:2: providers[0].shared needs "
	    "the redis group (where the limits are shared)");
}

static const struct unit_test tests[] = {
	{ "defaults", test_defaults },
	{ "required", test_required },
	{ "all_keys", test_all_keys },
	{ "int_for_float", test_int_for_float },
	{ "unknown_keys", test_unknown_keys },
	{ "wrong_types", test_wrong_types },
	{ "out_of_range", test_out_of_range },
	{ "spec_message", test_spec_message },
	{ "burst_zero", test_burst_zero },
	{ "provider_names", test_provider_names },
	{ "duplicate", test_duplicate },
	{ "missing", test_missing },
	{ "listen", test_listen },
	{ "base_url", test_base_url },
	{ "default_provider", test_default_provider },
	{ "syntax", test_syntax },
	{ "key_env", test_key_env },
	{ "key_file", test_key_file },
	{ "key_file_relative", test_key_file_relative },
	{ "ca_file", test_ca_file },
	{ "key_ignored", test_key_ignored },
	{ "secrets_hidden", test_secrets_hidden },
	{ "include", test_include },
	{ "shipped", test_shipped },
	{ "spec_example", test_spec_example },
	{ "find_provider", test_find_provider },
	{ "names", test_names },
	{ "reference", test_reference },
	{ "wrapped_integers", test_wrapped_integers },
	{ "directory", test_directory },
	{ "shipped_keys", test_shipped_keys },
	{ "key_twice_on_a_line", test_key_twice_on_a_line },
	{ "models", test_models },
	{ "models_bad", test_models_bad },
	{ "clients", test_clients },
	{ "clients_bad", test_clients_bad },
	{ "redis", test_redis },
	{ "redis_bad", test_redis_bad }
};

int
main(void)
{
	return unit_main(tests, sizeof tests / sizeof tests[0]);
}
