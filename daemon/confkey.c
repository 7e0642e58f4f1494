/* SPDX-License-Identifier: ISC */
/*
 * confkey: the configuration key table, and the man page written from it.
 *
 * A key's entry is built with the CONFKEY_* macros below, which take the
 * field's offset from its struct, so the table and struct config cannot
 * drift apart silently: a renamed field fails to compile.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "confkey.h"
#include "confval.h"

#define CONFKEY_TIMEOUT_MAX	86400.0	/* one day: catches typos */

static void	confkey_write_roff(FILE *f, const char *s);
static void	confkey_write_key(FILE *f, const struct confkey *k);
static void	confkey_write_default(FILE *f, const struct confkey *k);

static const char *const confkey_log_levels[] = {
	"error", "warn", "info", "debug", NULL
};
static const char *const confkey_dialects[] = { "openai", "anthropic", NULL };
static const char *const confkey_types[] = { "proxy", "simulated", NULL };
static const char *const confkey_auths[] = {
	"bearer", "x-api-key", "none", NULL
};

_Static_assert(sizeof(enum log_level) == sizeof(int), "enum is an int");
_Static_assert(sizeof(enum dialect) == sizeof(int), "enum is an int");
_Static_assert(sizeof(enum provider_type) == sizeof(int), "enum is an int");
_Static_assert(sizeof(enum provider_auth) == sizeof(int), "enum is an int");

#define CONFKEY_T(f)	.name = #f, .scope = CONFKEY_SCOPE_TOP,		\
			.off = offsetof(struct config, f)
#define CONFKEY_TL(f)	CONFKEY_T(f), .type = CONFKEY_LIST,		\
			.noff = offsetof(struct config, n##f)
#define CONFKEY_PL(f)	CONFKEY_P(f), .type = CONFKEY_LIST,		\
			.noff = offsetof(struct provider_config, n##f)
#define CONFKEY_P(f)	.name = #f, .scope = CONFKEY_SCOPE_PROVIDER,	\
			.off = offsetof(struct provider_config, f)
#define CONFKEY_M(f)	.name = #f, .scope = CONFKEY_SCOPE_MODEL,	\
			.off = offsetof(struct model_config, f)
#define CONFKEY_C(f)	.name = #f, .scope = CONFKEY_SCOPE_CLIENT,	\
			.off = offsetof(struct client_config, f)
#define CONFKEY_R(f)	.name = #f, .scope = CONFKEY_SCOPE_REDIS,	\
			.off = offsetof(struct redis_config, f)
#define CONFKEY_INT(d, lo, hi)	.type = CONFKEY_INT, .idef = (d),	\
			.imin = (lo), .imax = (hi)
#define CONFKEY_SECS(d)	.type = CONFKEY_FLOAT, .fdef = (d),		\
			.fmin = 0, .fmax = CONFKEY_TIMEOUT_MAX,		\
			.flags = CONFKEY_ABOVE_MIN
#define CONFKEY_ENUM(d, n)	.type = CONFKEY_ENUM, .idef = (d),	\
			.names = (n)

/* Every key, top level first; llmproxyd.conf(5) lists them in this order. */
const struct confkey confkey_table[] = {
	{ CONFKEY_TL(listen), .sdef = "127.0.0.1:8080",
	  .check = confval_listen, .doc = "Addresses to listen on, each "
	  "IPV4:PORT, [IPV6]:PORT or localhost:PORT; port 0 picks a free "
	  "one.  -l overrides it.  A change needs a restart." },
	{ CONFKEY_T(default_provider), .type = CONFKEY_STRING,
	  .check = confval_name, .doc = "A provider name: /v1/... then goes to that provider too." },
	{ CONFKEY_TL(client_tokens), .check = confval_token,
	  .doc = "If not empty, every request but /healthz and the status "
	  "page (/, /ui) must carry one of these (or a clients entry's "
	  "token) as a Bearer token or x-api-key, else 401.  Each is a "
	  "client of weight 1 named token1, token2, ... in order." },
	{ CONFKEY_T(clients), .type = CONFKEY_CLIENTS, .doc = "Named "
	  "clients with tokens and weights: a list of groups ( { name = "
	  "\"ci\"; token_env = \"CI_TOKEN\"; weight = 1; }, ... ) of the "
	  "client keys below.  Any token makes the token rule of "
	  "client_tokens apply.  Without tokens, a request may name its "
	  "client with x-llmproxy-client (weight 1).  Each provider's "
	  "queue is shared between the clients waiting, in proportion to "
	  "their weights." },
	{ CONFKEY_T(redis), .type = CONFKEY_REDIS, .doc = "Where the "
	  "limits of the providers with shared = true live, shared with "
	  "every daemon that uses the same Redis (7, or Valkey): a group of "
	  "the Redis keys below." },
	{ CONFKEY_T(max_body_size), CONFKEY_INT(16777216, 1, 1073741824),
	  .doc = "Largest request body, in bytes; a larger one gets 413." },
	{ CONFKEY_T(batch_max_items), CONFKEY_INT(1000, 1, 100000),
	  .doc = "Most requests one POST /batch may carry; more gets 413." },
	{ CONFKEY_T(shutdown_timeout), .type = CONFKEY_FLOAT, .fdef = 30,
	  .fmin = 0, .fmax = CONFKEY_TIMEOUT_MAX, .doc = "Seconds that "
	  "requests and streams may go on after SIGTERM or SIGINT." },
	{ CONFKEY_T(log_level), CONFKEY_ENUM(LOG_LEVEL_INFO, confkey_log_levels),
	  .doc = "Least severe message logged; each -v raises it a step." },
	{ CONFKEY_TL(allowed_hosts), .check = confval_token,
	  .doc = "Host header values accepted besides loopback names and "
	  "addresses (others are refused: DNS rebinding)." },
	{ CONFKEY_TL(allowed_origins), .check = confval_origin,
	  .doc = "Browser origins (SCHEME://HOST[:PORT]) whose cross-origin "
	  "requests and preflights are accepted; others are refused." },
	{ CONFKEY_T(max_connections), CONFKEY_INT(8192, 1, 1048576),
	  .doc = "Client connections open at once; a request on one beyond "
	  "it gets 503 with Retry-After and the connection is closed.  It is "
	  "also held to half of what the open-file limit leaves, so that "
	  "every connection can have its upstream one." },
	{ CONFKEY_T(header_timeout), CONFKEY_SECS(10), .doc = "Seconds for "
	  "the whole request head to arrive, counted from the connection's "
	  "accept (its first request) or from a later request's first byte; "
	  "then the connection is closed (slow clients, slowloris)." },
	{ CONFKEY_T(body_timeout), CONFKEY_SECS(60), .doc = "Seconds for the "
	  "whole request body to arrive, counted from the end of the head; "
	  "then the connection is closed." },
	{ CONFKEY_T(keepalive_timeout), CONFKEY_SECS(60), .doc = "Seconds an "
	  "idle client connection is kept between requests." },
	{ CONFKEY_T(providers), .type = CONFKEY_PROVIDERS,
	  .flags = CONFKEY_REQUIRED, .doc = "The providers, at least one: a "
	  "list of groups ( { ... }, { ... } ) of the keys below." },

	{ CONFKEY_P(name), .type = CONFKEY_STRING, .flags = CONFKEY_REQUIRED,
	  .check = confval_name, .doc = "The URL prefix: /NAME/... "
	  "Letters, digits, _ . and -, unique, at most 64 bytes, not . or .. "
	  "and not healthz, metrics, status, v1, batch or ui." },
	{ CONFKEY_P(type), CONFKEY_ENUM(PROVIDER_PROXY, confkey_types),
	  .doc = "proxy forwards to base_url; simulated answers locally, "
	  "with no network and no key." },
	{ CONFKEY_P(base_url), .type = CONFKEY_STRING,
	  .check = confval_url, .doc = "Required for type proxy: "
	  "http:// or https://, a host, an optional path; trailing slashes "
	  "are dropped.  /NAME/REST goes to base_url/REST." },
	{ CONFKEY_P(dialect), CONFKEY_ENUM(DIALECT_OPENAI, confkey_dialects),
	  .doc = "Error shapes, usage parsing and rate-limit headers." },
	{ CONFKEY_P(auth), CONFKEY_ENUM(AUTH_BEARER, confkey_auths),
	  .doc = "How the key is sent: Authorization: Bearer, x-api-key, or "
	  "not at all." },
	{ CONFKEY_P(api_key_env), .type = CONFKEY_STRING,
	  .check = confval_env, .doc = "Environment variable holding "
	  "the key; unset or empty is an error.  A proxy provider whose auth "
	  "is not none needs exactly one of api_key_env and api_key_file; "
	  "other providers ignore both." },
	{ CONFKEY_P(api_key_file), .type = CONFKEY_STRING,
	  .check = confval_path, .doc = "File holding the key.  A "
	  "relative path is under $CREDENTIALS_DIRECTORY if set, else under "
	  "the config file's directory.  One trailing newline is dropped; "
	  "empty, or a control character left, is an error." },
	{ CONFKEY_P(ca_file), .type = CONFKEY_STRING, .doc = "CA bundle "
	  "to verify this upstream with (relative: to the config file's "
	  "directory); none or empty: the system store." },
	{ CONFKEY_P(requests_per_minute), CONFKEY_INT(0, 0, 1000000000),
	  .doc = "Request bucket refill rate; 0: no limit." },
	{ CONFKEY_P(tokens_per_minute), CONFKEY_INT(0, 0, 2000000000),
	  .doc = "Token bucket refill rate (it holds one minute's worth); "
	  "0: no limit." },
	{ CONFKEY_P(burst), CONFKEY_INT(1, 0, 1000000000), .doc = "Request "
	  "bucket depth; must be at least 1 when requests_per_minute is "
	  "set.  Every bucket starts full." },
	{ CONFKEY_P(default_max_tokens), CONFKEY_INT(1024, 0, 100000000),
	  .doc = "Output tokens assumed when a request names no max_tokens." },
	{ CONFKEY_P(stream_include_usage), .type = CONFKEY_BOOL,
	  .doc = "Add stream_options.include_usage to OpenAI streams so "
	  "usage is counted; off: bodies pass untouched." },
	{ CONFKEY_P(max_concurrent), CONFKEY_INT(0, 0, 1000000),
	  .doc = "Requests in flight upstream at once; 0: no limit." },
	{ CONFKEY_P(queue_max), CONFKEY_INT(1000, 0, 10000000), .doc = "Requests "
	  "that may wait for admission; beyond it, 429.  0: never wait." },
	{ CONFKEY_P(queue_timeout), CONFKEY_SECS(60), .doc = "Seconds a "
	  "request may wait for admission; then 429." },
	{ CONFKEY_P(retries), CONFKEY_INT(2, 0, 10), .doc = "Further attempts "
	  "on 429, 5xx or connect errors, only before a byte is sent." },
	{ CONFKEY_PL(fallback), .check = confval_name, .doc = "Providers "
	  "of the same dialect to send a request to, in this order, when this "
	  "one refuses it (queue full or timed out) or its retries end in "
	  "429, 5xx or a connect error, before any byte went to the client." },
	{ CONFKEY_PL(model_map), .check = confval_model_map,
	  .doc = "\"FROM=TO\" entries: a request that reaches this provider "
	  "by fallback or hedge and names model FROM is sent with model TO." },
	{ CONFKEY_P(hedge_after), .type = CONFKEY_FLOAT, .fdef = 0, .fmin = 0,
	  .fmax = CONFKEY_TIMEOUT_MAX, .doc = "Seconds without response "
	  "headers after which a request gets a second attempt (on the first "
	  "fallback, else here); the first 2xx wins.  0: never." },
	{ CONFKEY_P(connect_timeout), CONFKEY_SECS(10),
	  .doc = "Seconds to connect to the upstream." },
	{ CONFKEY_P(first_byte_timeout), CONFKEY_SECS(120), .doc = "Seconds "
	  "from sending a request to the upstream's first byte." },
	{ CONFKEY_P(idle_timeout), CONFKEY_SECS(60), .doc = "Longest silence, "
	  "in seconds, inside a response or stream." },
	{ CONFKEY_P(latency), .type = CONFKEY_FLOAT, .fdef = 0.2, .fmin = 0,
	  .fmax = 3600, .doc = "Simulated only: seconds before the first "
	  "byte." },
	{ CONFKEY_P(tokens_per_second), .type = CONFKEY_FLOAT, .fdef = 50,
	  .fmin = 0, .fmax = 1000000, .flags = CONFKEY_ABOVE_MIN,
	  .doc = "Simulated only: how fast tokens are produced." },
	{ CONFKEY_P(shared), .type = CONFKEY_BOOL, .idef = 0, .doc = "Keep "
	  "this provider's buckets, slots and 429 pause in the redis group's "
	  "server, shared by every daemon whose provider of this name uses "
	  "it; if it is unreachable, each daemon falls back to its share of "
	  "the limits." },
	{ CONFKEY_P(models), .type = CONFKEY_MODELS, .doc = "Limits per "
	  "model: a list of model groups ( { match = \"gpt-4o\"; ... }, "
	  "... ) of the keys below.  A request whose body's model matches a "
	  "group is admitted only when the provider's limits and the "
	  "group's all allow it; an upstream 429 for it pauses its group "
	  "alone.  A request with no model, or one no group matches, is "
	  "limited by the provider alone." },

	{ CONFKEY_M(match), .type = CONFKEY_STRING, .flags = CONFKEY_REQUIRED,
	  .check = confval_match, .doc = "A model name, or a prefix ending "
	  "in * (gpt-4o-mini*); the first group that matches applies.  "
	  "Visible ASCII, no quotes or backslashes, * only at the end, "
	  "unique within the provider, and never shadowed by an earlier "
	  "prefix." },
	{ CONFKEY_M(requests_per_minute), CONFKEY_INT(0, 0, 1000000000),
	  .doc = "The group's request bucket refill rate; 0: no limit.  A "
	  "group sets at least one of requests_per_minute, "
	  "tokens_per_minute and max_concurrent." },
	{ CONFKEY_M(tokens_per_minute), CONFKEY_INT(0, 0, 2000000000),
	  .doc = "The group's token bucket refill rate (it holds one "
	  "minute's worth); 0: no limit." },
	{ CONFKEY_M(burst), CONFKEY_INT(1, 0, 1000000000), .doc = "The "
	  "group's request bucket depth; at least 1 when "
	  "requests_per_minute is set." },
	{ CONFKEY_M(max_concurrent), CONFKEY_INT(0, 0, 1000000),
	  .doc = "The group's requests in flight at once; 0: no limit." },
	{ CONFKEY_M(queue_max), CONFKEY_INT(0, 0, 10000000), .doc = "The "
	  "group's requests that may wait; beyond it, 429.  0: only the "
	  "provider's queue_max applies (it always counts every group)." },
	{ CONFKEY_M(queue_timeout), .type = CONFKEY_FLOAT, .fdef = 0,
	  .fmin = 0, .fmax = CONFKEY_TIMEOUT_MAX, .doc = "Seconds a request "
	  "of the group may wait for admission; 0: the provider's "
	  "queue_timeout." },

	{ CONFKEY_C(name), .type = CONFKEY_STRING, .flags = CONFKEY_REQUIRED,
	  .check = confval_client_name, .doc = "The client's name in "
	  "/status, /metrics and the access log: 1 to 64 letters, digits, "
	  "_ . or -, unique; not default or other." },
	{ CONFKEY_C(token_env), .type = CONFKEY_STRING, .check = confval_env,
	  .doc = "The environment variable holding the client's token.  "
	  "One of token_env and token_file is required." },
	{ CONFKEY_C(token_file), .type = CONFKEY_STRING, .doc = "A file "
	  "holding the client's token (one trailing newline stripped); a "
	  "relative path is under $CREDENTIALS_DIRECTORY when set, else "
	  "the configuration file's directory." },
	{ CONFKEY_C(weight), CONFKEY_INT(1, 1, 10000), .doc = "The client's "
	  "share of each provider's admissions while other clients wait "
	  "too, relative to theirs." },

	{ CONFKEY_R(url), .type = CONFKEY_STRING, .flags = CONFKEY_REQUIRED,
	  .check = confval_redis_url, .doc = "redis://[:PASSWORD@]HOST[:PORT]"
	  "[/DB] with HOST an IPv4 address, [IPv6] or localhost (no name "
	  "is looked up: that would block), or unix:///PATH[?db=N]." },
	{ CONFKEY_R(password_env), .type = CONFKEY_STRING,
	  .check = confval_env, .doc = "The environment variable holding "
	  "the password for AUTH; or password_file; or neither." },
	{ CONFKEY_R(password_file), .type = CONFKEY_STRING, .doc = "A file "
	  "holding the password (read like api_key_file)." },
	{ CONFKEY_R(key_prefix), .type = CONFKEY_STRING, .sdef = "llmproxy:",
	  .check = confval_key_prefix, .doc = "Start of every key: keys are "
	  "PREFIX{PROVIDER}:..., one hash slot per provider." },
	{ CONFKEY_R(timeout), .type = CONFKEY_FLOAT, .fdef = 0.25,
	  .fmin = 0, .fmax = 10, .flags = CONFKEY_ABOVE_MIN, .doc = "Seconds "
	  "one Redis call may take; then Redis counts as unreachable." },
	{ CONFKEY_R(lease), .type = CONFKEY_FLOAT, .fdef = 30, .fmin = 1,
	  .fmax = 3600, .doc = "Seconds a concurrency slot lives unless "
	  "renewed (every lease/3 while its request runs): a daemon that "
	  "dies gives its slots back within it." }
};
const size_t confkey_count = sizeof confkey_table / sizeof confkey_table[0];

/* Return the table entry for name in scope, or NULL. */
const struct confkey *
confkey_find(const char *name, enum confkey_scope scope)
{
	size_t	i;

	for (i = 0; i < confkey_count; i++) {
		if (confkey_table[i].scope == scope &&
		    strcmp(confkey_table[i].name, name) == 0)
			return &confkey_table[i];
	}
	return NULL;
}

/* Write names as "a, b, c" into buf. */
char *
confkey_join_names(const char *const *names, char *buf, size_t len)
{
	size_t	i, pos = 0;
	int	n;

	buf[0] = '\0';
	for (i = 0; names[i] != NULL && pos < len; i++) {
		n = snprintf(buf + pos, len - pos, "%s%s", i > 0 ? ", " : "",
		    names[i]);
		if (n < 0)
			break;
		pos += n;
	}
	return buf;
}

/* Write s for roff: literal backslashes and dashes, no control lines. */
static void
confkey_write_roff(FILE *f, const char *s)
{
	if (*s == '.' || *s == '\'')
		fputs("\\&", f);
	for (; *s != '\0'; s++) {
		if (*s == '\\')
			fputs("\\e", f);
		else if (*s == '-')
			fputs("\\-", f);
		else
			fputc(*s, f);
	}
}

/* Write k's default as it would be written in the file. */
static void
confkey_write_default(FILE *f, const struct confkey *k)
{
	switch (k->type) {
	case CONFKEY_INT:
		fprintf(f, "%lld", k->idef);
		break;
	case CONFKEY_FLOAT:
		fprintf(f, "%.10g", k->fdef);
		break;
	case CONFKEY_BOOL:
		fputs(k->idef ? "true" : "false", f);
		break;
	case CONFKEY_ENUM:
		fprintf(f, "\"%s\"", k->names[k->idef]);
		break;
	case CONFKEY_LIST:
		fprintf(f, k->sdef != NULL ? "[ \"%s\" ]" : "[ ]", k->sdef);
		break;
	default:
		fputs(k->flags & CONFKEY_REQUIRED ? "required" : "none", f);
		break;
	}
}

/* Write one key as a man(7) .TP entry: name, type, default, bounds, doc. */
static void
confkey_write_key(FILE *f, const struct confkey *k)
{
	static const char *const types[] = { "integer", "number", "boolean",
	    "string", "list of strings", "one of ", "list of groups",
	    "list of groups", "list of groups", "group" };
	char	buf[256];
	int	pos;

	pos = snprintf(buf, sizeof buf, "%s", types[k->type]);
	if (k->type == CONFKEY_ENUM)
		confkey_join_names(k->names, buf + pos, sizeof buf - pos);
	fputs(".TP\n\\fB", f);
	confkey_write_roff(f, k->name);
	fputs("\\fR (", f);
	confkey_write_roff(f, buf);
	fputs(k->flags & CONFKEY_REQUIRED ? "; " : "; default ", f);
	confkey_write_default(f, k);
	if (k->type == CONFKEY_INT)
		fprintf(f, "; %lld to %lld", k->imin, k->imax);
	else if (k->type == CONFKEY_FLOAT)
		fprintf(f, "; %s %.10g, at most %.10g",
		    k->flags & CONFKEY_ABOVE_MIN ? "more than" : "at least",
		    k->fmin, k->fmax);
	fputs(")\n", f);
	confkey_write_roff(f, k->doc);
	fputc('\n', f);
}

/* Write the key table as man(7) source for llmproxyd.conf(5). */
void
confkey_write_reference(FILE *f)
{
	static const char *const heads[] = { "Top-level keys",
	    "Provider keys", "Model group keys (in a provider's models)",
	    "Client keys (in clients)", "Redis keys (in redis)" };
	size_t	i;

	for (i = 0; i < confkey_count; i++) {
		if (i == 0 || confkey_table[i].scope !=
		    confkey_table[i - 1].scope)
			fprintf(f, ".SS %s\n", heads[confkey_table[i].scope]);
		confkey_write_key(f, &confkey_table[i]);
	}
}

/* Return the name of a log level, as written in the file. */
const char *
confkey_log_level_name(enum log_level level)
{
	if ((unsigned int)level >= sizeof confkey_log_levels /
	    sizeof confkey_log_levels[0] - 1)
		return "unknown";
	return confkey_log_levels[level];
}

/* Return the name of a dialect, as written in the file. */
const char *
confkey_dialect_name(enum dialect d)
{
	if ((unsigned int)d >= sizeof confkey_dialects /
	    sizeof confkey_dialects[0] - 1)
		return "unknown";
	return confkey_dialects[d];
}
