/* SPDX-License-Identifier: ISC */
/*
 * config: read llmproxyd.conf (libconfig syntax) into a struct config.
 *
 * Every key is declared once, in config_keys[] below, with its type,
 * default, bounds, field and documentation.  Defaults, parsing, range
 * checks, freeing and config_write_reference() (the source of
 * llmproxyd.conf(5)) all walk that one table, so no key can be parsed
 * without being documented, and a key not in it is an error.  A message
 * names the file, the line and the key ("f:14: providers[1].burst must be
 * >= 0").  Provider keys are read here, from the environment or a file, and
 * never appear in a message.  The module does not resolve names, open
 * sockets or check that an upstream answers; it includes no libevent header
 * and never reads the clock.
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <netinet/in.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libconfig.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "config.h"
#include "xmalloc.h"

#define CONFIG_SECRET_MAX	16384	/* longest api_key_file, bytes */
#define CONFIG_TIMEOUT_MAX	86400.0	/* one day: catches typos */
#define CONFIG_NAME_MAX		64	/* longest provider name */

enum config_type {
	CONFIG_KEY_INT,			/* long long */
	CONFIG_KEY_FLOAT,		/* double; an integer is accepted */
	CONFIG_KEY_BOOL,		/* int, 0 or 1 */
	CONFIG_KEY_STRING,		/* char *, NULL when not given */
	CONFIG_KEY_LIST,		/* char ** and a size_t count */
	CONFIG_KEY_ENUM,		/* int: index into names[] */
	CONFIG_KEY_PROVIDERS		/* the list of provider groups */
};

enum config_scope {
	CONFIG_SCOPE_TOP,
	CONFIG_SCOPE_PROVIDER
};

#define CONFIG_REQUIRED		0x1	/* no default: must be given */
#define CONFIG_ABOVE_MIN	0x2	/* fmin itself is out of range */

/* One configuration key: how to parse, check, default and document it. */
struct config_key {
	const char		*name;
	enum config_type	 type;
	enum config_scope	 scope;
	int			 flags;
	size_t			 off;		/* the field in its struct */
	size_t			 noff;		/* LIST: its size_t count */
	long long		 idef, imin, imax;	/* INT, BOOL, ENUM */
	double			 fdef, fmin, fmax;	/* FLOAT */
	const char		*sdef;		/* STRING, LIST; NULL: none */
	const char *const	*names;		/* ENUM: value i is names[i] */
	const char		*(*check)(char *);	/* NULL or why not */
	const char		*doc;
};

/* Where messages point and relative paths start. */
struct config_ctx {
	const char	*file;		/* the name used in messages */
	const char	*dir;		/* base of relative paths */
	char		 prefix[32];	/* "" or "providers[N]." */
};

static int	config_fail(const struct config_ctx *cx,
		    const config_setting_t *s, const char *key, char **cause,
		    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static const char *config_where(const struct config_ctx *cx,
		    const char *file, char *buf, size_t len);
static const config_setting_t *config_member(const config_setting_t *g,
		    const char *name);
static const struct config_key *config_key_find(const char *name,
		    enum config_scope scope);
static void	config_set_defaults(void *base, enum config_scope scope);
static void	config_free_fields(void *base, enum config_scope scope);
static void	config_free_list(char **list, size_t n);
static void	config_wipe_free(char *s);
static int	config_parse_group(void *base, const config_setting_t *g,
		    enum config_scope scope, struct config_ctx *cx,
		    char **cause);
static int	config_parse_value(void *base, const struct config_key *k,
		    const config_setting_t *s, struct config_ctx *cx,
		    char **cause);
static int	config_parse_number(void *field, const struct config_key *k,
		    const config_setting_t *s, struct config_ctx *cx,
		    char **cause);
static int	config_parse_enum(int *field, const struct config_key *k,
		    const config_setting_t *s, struct config_ctx *cx,
		    char **cause);
static int	config_parse_list(void *base, const struct config_key *k,
		    const config_setting_t *s, struct config_ctx *cx,
		    char **cause);
static int	config_parse_providers(struct config *cf,
		    const config_setting_t *s, struct config_ctx *cx,
		    char **cause);
static int	config_check_provider(struct config *cf, size_t i,
		    const config_setting_t *g, struct config_ctx *cx,
		    char **cause);
static int	config_check_top(struct config *cf,
		    const config_setting_t *root, struct config_ctx *cx,
		    char **cause);
static int	config_resolve_ca(struct provider_config *p,
		    const config_setting_t *g, struct config_ctx *cx,
		    char **cause);
static int	config_resolve_key(struct provider_config *p,
		    const config_setting_t *g, struct config_ctx *cx,
		    char **cause);
static int	config_read_key_file(struct provider_config *p,
		    const config_setting_t *s, struct config_ctx *cx,
		    char **cause);
static int	config_read_secret(const char *path, char **key, char *why,
		    size_t whylen);
static int	config_take_secret(char *buf, size_t len, char **key,
		    char *why, size_t whylen);
static int	config_has_ctl(const char *s, size_t len);
static int	config_is_port(const char *s);
static const char *config_check_listen(char *v);
static const char *config_check_name(char *v);
static const char *config_check_url(char *v);
static const char *config_check_token(char *v);
static const char *config_check_origin(char *v);
static const char *config_check_env(char *v);
static const char *config_check_path(char *v);
static char	*config_join_names(const char *const *names, char *buf,
		    size_t len);
static char	*config_dirname(const char *path);
static struct config *config_from_lc(config_t *lc, int ok, const char *name,
		    const char *dir, char **cause);
static void	config_write_roff(FILE *f, const char *s);
static void	config_write_key(FILE *f, const struct config_key *k);
static void	config_write_default(FILE *f, const struct config_key *k);

static const char *const config_log_levels[] = {
	"error", "warn", "info", "debug", NULL
};
static const char *const config_dialects[] = { "openai", "anthropic", NULL };
static const char *const config_types[] = { "proxy", "simulated", NULL };
static const char *const config_auths[] = {
	"bearer", "x-api-key", "none", NULL
};
/* Names the daemon routes itself (route.c has the same list). */
static const char *const config_reserved[] = {
	"healthz", "metrics", "status", "v1", "batch", NULL
};

_Static_assert(sizeof(enum log_level) == sizeof(int), "enum is an int");
_Static_assert(sizeof(enum dialect) == sizeof(int), "enum is an int");
_Static_assert(sizeof(enum provider_type) == sizeof(int), "enum is an int");
_Static_assert(sizeof(enum provider_auth) == sizeof(int), "enum is an int");

#define CONFIG_T(f)	.name = #f, .scope = CONFIG_SCOPE_TOP,		\
			.off = offsetof(struct config, f)
#define CONFIG_TL(f)	CONFIG_T(f), .type = CONFIG_KEY_LIST,		\
			.noff = offsetof(struct config, n##f)
#define CONFIG_P(f)	.name = #f, .scope = CONFIG_SCOPE_PROVIDER,	\
			.off = offsetof(struct provider_config, f)
#define CONFIG_INT(d, lo, hi)	.type = CONFIG_KEY_INT, .idef = (d),	\
			.imin = (lo), .imax = (hi)
#define CONFIG_SECS(d)	.type = CONFIG_KEY_FLOAT, .fdef = (d),		\
			.fmin = 0, .fmax = CONFIG_TIMEOUT_MAX,		\
			.flags = CONFIG_ABOVE_MIN
#define CONFIG_ENUM(d, n)	.type = CONFIG_KEY_ENUM, .idef = (d),	\
			.names = (n)

/* Every key, top level first; llmproxyd.conf(5) lists them in this order. */
static const struct config_key config_keys[] = {
	{ CONFIG_TL(listen), .sdef = "127.0.0.1:8080",
	  .check = config_check_listen, .doc = "Addresses to listen on, each "
	  "IPV4:PORT, [IPV6]:PORT or localhost:PORT; port 0 picks a free "
	  "one.  -l overrides it.  A change needs a restart." },
	{ CONFIG_T(default_provider), .type = CONFIG_KEY_STRING,
	  .check = config_check_name, .doc = "A provider name: /v1/... then goes to that provider too." },
	{ CONFIG_TL(client_tokens), .check = config_check_token,
	  .doc = "If not empty, every request but /healthz must carry one of "
	  "these as a Bearer token or x-api-key, else 401." },
	{ CONFIG_T(max_body_size), CONFIG_INT(16777216, 1, 1073741824),
	  .doc = "Largest request body, in bytes; a larger one gets 413." },
	{ CONFIG_T(shutdown_timeout), .type = CONFIG_KEY_FLOAT, .fdef = 30,
	  .fmin = 0, .fmax = CONFIG_TIMEOUT_MAX, .doc = "Seconds that "
	  "requests and streams may go on after SIGTERM or SIGINT." },
	{ CONFIG_T(log_level), CONFIG_ENUM(LOG_LEVEL_INFO, config_log_levels),
	  .doc = "Least severe message logged; each -v raises it a step." },
	{ CONFIG_TL(allowed_hosts), .check = config_check_token,
	  .doc = "Host header values accepted besides loopback names and "
	  "addresses (others are refused: DNS rebinding)." },
	{ CONFIG_TL(allowed_origins), .check = config_check_origin,
	  .doc = "Browser origins (SCHEME://HOST[:PORT]) whose cross-origin "
	  "requests and preflights are accepted; others are refused." },
	{ CONFIG_T(max_connections), CONFIG_INT(8192, 1, 1048576),
	  .doc = "Client connections open at once; a request on one beyond "
	  "it gets 503 with Retry-After and the connection is closed.  It is "
	  "also held to half of what the open-file limit leaves, so that "
	  "every connection can have its upstream one." },
	{ CONFIG_T(header_timeout), CONFIG_SECS(10), .doc = "Seconds for "
	  "the whole request head to arrive, counted from the connection's "
	  "accept (its first request) or from a later request's first byte; "
	  "then the connection is closed (slow clients, slowloris)." },
	{ CONFIG_T(body_timeout), CONFIG_SECS(60), .doc = "Seconds for the "
	  "whole request body to arrive, counted from the end of the head; "
	  "then the connection is closed." },
	{ CONFIG_T(keepalive_timeout), CONFIG_SECS(60), .doc = "Seconds an "
	  "idle client connection is kept between requests." },
	{ CONFIG_T(providers), .type = CONFIG_KEY_PROVIDERS,
	  .flags = CONFIG_REQUIRED, .doc = "The providers, at least one: a "
	  "list of groups ( { ... }, { ... } ) of the keys below." },

	{ CONFIG_P(name), .type = CONFIG_KEY_STRING, .flags = CONFIG_REQUIRED,
	  .check = config_check_name, .doc = "The URL prefix: /NAME/... "
	  "Letters, digits, _ . and -, unique, at most 64 bytes, not . or .. "
	  "and not healthz, metrics, status, v1 or batch." },
	{ CONFIG_P(type), CONFIG_ENUM(PROVIDER_PROXY, config_types),
	  .doc = "proxy forwards to base_url; simulated answers locally, "
	  "with no network and no key." },
	{ CONFIG_P(base_url), .type = CONFIG_KEY_STRING,
	  .check = config_check_url, .doc = "Required for type proxy: "
	  "http:// or https://, a host, an optional path; trailing slashes "
	  "are dropped.  /NAME/REST goes to base_url/REST." },
	{ CONFIG_P(dialect), CONFIG_ENUM(DIALECT_OPENAI, config_dialects),
	  .doc = "Error shapes, usage parsing and rate-limit headers." },
	{ CONFIG_P(auth), CONFIG_ENUM(AUTH_BEARER, config_auths),
	  .doc = "How the key is sent: Authorization: Bearer, x-api-key, or "
	  "not at all." },
	{ CONFIG_P(api_key_env), .type = CONFIG_KEY_STRING,
	  .check = config_check_env, .doc = "Environment variable holding "
	  "the key; unset or empty is an error.  A proxy provider whose auth "
	  "is not none needs exactly one of api_key_env and api_key_file; "
	  "other providers ignore both." },
	{ CONFIG_P(api_key_file), .type = CONFIG_KEY_STRING,
	  .check = config_check_path, .doc = "File holding the key.  A "
	  "relative path is under $CREDENTIALS_DIRECTORY if set, else under "
	  "the config file's directory.  One trailing newline is dropped; "
	  "empty, or a control character left, is an error." },
	{ CONFIG_P(ca_file), .type = CONFIG_KEY_STRING, .doc = "CA bundle "
	  "to verify this upstream with (relative: to the config file's "
	  "directory); none or empty: the system store." },
	{ CONFIG_P(requests_per_minute), CONFIG_INT(0, 0, 1000000000),
	  .doc = "Request bucket refill rate; 0: no limit." },
	{ CONFIG_P(tokens_per_minute), CONFIG_INT(0, 0, 2000000000),
	  .doc = "Token bucket refill rate (it holds one minute's worth); "
	  "0: no limit." },
	{ CONFIG_P(burst), CONFIG_INT(1, 0, 1000000000), .doc = "Request "
	  "bucket depth; must be at least 1 when requests_per_minute is "
	  "set.  Every bucket starts full." },
	{ CONFIG_P(default_max_tokens), CONFIG_INT(1024, 0, 100000000),
	  .doc = "Output tokens assumed when a request names no max_tokens." },
	{ CONFIG_P(stream_include_usage), .type = CONFIG_KEY_BOOL,
	  .doc = "Add stream_options.include_usage to OpenAI streams so "
	  "usage is counted; off: bodies pass untouched." },
	{ CONFIG_P(max_concurrent), CONFIG_INT(0, 0, 1000000),
	  .doc = "Requests in flight upstream at once; 0: no limit." },
	{ CONFIG_P(queue_max), CONFIG_INT(1000, 0, 10000000), .doc = "Requests "
	  "that may wait for admission; beyond it, 429.  0: never wait." },
	{ CONFIG_P(queue_timeout), CONFIG_SECS(60), .doc = "Seconds a "
	  "request may wait for admission; then 429." },
	{ CONFIG_P(retries), CONFIG_INT(2, 0, 10), .doc = "Further attempts "
	  "on 429, 5xx or connect errors, only before a byte is sent." },
	{ CONFIG_P(connect_timeout), CONFIG_SECS(10),
	  .doc = "Seconds to connect to the upstream." },
	{ CONFIG_P(first_byte_timeout), CONFIG_SECS(120), .doc = "Seconds "
	  "from sending a request to the upstream's first byte." },
	{ CONFIG_P(idle_timeout), CONFIG_SECS(60), .doc = "Longest silence, "
	  "in seconds, inside a response or stream." },
	{ CONFIG_P(latency), .type = CONFIG_KEY_FLOAT, .fdef = 0.2, .fmin = 0,
	  .fmax = 3600, .doc = "Simulated only: seconds before the first "
	  "byte." },
	{ CONFIG_P(tokens_per_second), .type = CONFIG_KEY_FLOAT, .fdef = 50,
	  .fmin = 0, .fmax = 1000000, .flags = CONFIG_ABOVE_MIN,
	  .doc = "Simulated only: how fast tokens are produced." }
};
#define CONFIG_NKEYS	(sizeof config_keys / sizeof config_keys[0])

/* Return the path of file as read: an @include is under cx->dir. */
static const char *
config_where(const struct config_ctx *cx, const char *file, char *buf,
    size_t len)
{
	if (file == NULL || strcmp(file, cx->file) == 0)
		return cx->file;
	if (file[0] == '/')
		return file;
	snprintf(buf, len, "%s/%s", cx->dir, file);
	return buf;
}

/* Set *cause to "file:line: PREFIXkey why" for setting s; return -1. */
static int
config_fail(const struct config_ctx *cx, const config_setting_t *s,
    const char *key, char **cause, const char *fmt, ...)
{
	char		 why[512], path[1024];
	va_list		 ap;
	int		 line = 1;

	if (config_setting_source_line(s) > 0)
		line = config_setting_source_line(s);
	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	xasprintf(cause, "%s:%d: %s%s %s", config_where(cx,
	    config_setting_source_file(s), path, sizeof path), line,
	    cx->prefix, key, why);
	return -1;
}

/* Return g's member called name, or g itself (for its line) if absent. */
static const config_setting_t *
config_member(const config_setting_t *g, const char *name)
{
	const config_setting_t	*s;

	s = config_setting_get_member(g, name);
	return s != NULL ? s : g;
}

/* Return the table entry for name in scope, or NULL. */
static const struct config_key *
config_key_find(const char *name, enum config_scope scope)
{
	size_t	i;

	for (i = 0; i < CONFIG_NKEYS; i++) {
		if (config_keys[i].scope == scope &&
		    strcmp(config_keys[i].name, name) == 0)
			return &config_keys[i];
	}
	return NULL;
}

/* Fill every field of scope in base with its default. */
static void
config_set_defaults(void *base, enum config_scope scope)
{
	const struct config_key	*k;
	char			*field, **list;

	for (k = config_keys; k < config_keys + CONFIG_NKEYS; k++) {
		if (k->scope != scope)
			continue;
		field = (char *)base + k->off;
		if (k->type == CONFIG_KEY_INT)
			*(long long *)field = k->idef;
		else if (k->type == CONFIG_KEY_FLOAT)
			*(double *)field = k->fdef;
		else if (k->type == CONFIG_KEY_BOOL ||
		    k->type == CONFIG_KEY_ENUM)
			*(int *)field = (int)k->idef;
		else if (k->type == CONFIG_KEY_STRING && k->sdef != NULL)
			*(char **)field = xstrdup(k->sdef);
		else if (k->type == CONFIG_KEY_LIST && k->sdef != NULL) {
			list = xcalloc(1, sizeof *list);
			list[0] = xstrdup(k->sdef);
			*(char ***)field = list;
			*(size_t *)((char *)base + k->noff) = 1;
		}
	}
}

/* Overwrite s (it may hold a key or a token), then free it. */
static void
config_wipe_free(char *s)
{
	volatile char	*p = s;

	if (s == NULL)
		return;
	while (*p != '\0')
		*p++ = '\0';
	free(s);
}

/* Free a list of n strings. */
static void
config_free_list(char **list, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		config_wipe_free(list[i]);
	free(list);
}

/* Free every string and list of scope that base holds. */
static void
config_free_fields(void *base, enum config_scope scope)
{
	const struct config_key	*k;
	char			*field;

	for (k = config_keys; k < config_keys + CONFIG_NKEYS; k++) {
		if (k->scope != scope)
			continue;
		field = (char *)base + k->off;
		if (k->type == CONFIG_KEY_STRING)
			config_wipe_free(*(char **)field);
		else if (k->type == CONFIG_KEY_LIST)
			config_free_list(*(char ***)field,
			    *(size_t *)((char *)base + k->noff));
	}
}

/* Parse every member of group g into base through the table. */
static int
config_parse_group(void *base, const config_setting_t *g,
    enum config_scope scope, struct config_ctx *cx, char **cause)
{
	const struct config_key	*k;
	const config_setting_t	*s;
	enum config_scope	 other = CONFIG_SCOPE_TOP;
	const char		*name, *hint;
	int			 i, n;

	hint = " here (it belongs at the top level)";
	if (scope == CONFIG_SCOPE_TOP) {
		other = CONFIG_SCOPE_PROVIDER;
		hint = " here (it belongs in a provider)";
	}
	n = config_setting_length(g);
	for (i = 0; i < n; i++) {
		s = config_setting_get_elem(g, i);
		name = config_setting_name(s);
		if ((k = config_key_find(name, scope)) == NULL)
			return config_fail(cx, s, name, cause,
			    "is not a known key%s", config_key_find(name,
			    other) == NULL ? "" : hint);
		if (k->type == CONFIG_KEY_PROVIDERS) {
			if (config_parse_providers(base, s, cx, cause) == -1)
				return -1;
		} else if (config_parse_value(base, k, s, cx, cause) == -1)
			return -1;
	}
	return 0;
}

/* Parse setting s as key k into its field in base. */
static int
config_parse_value(void *base, const struct config_key *k,
    const config_setting_t *s, struct config_ctx *cx, char **cause)
{
	char		*field = (char *)base + k->off, **str;
	const char	*why;

	switch (k->type) {
	case CONFIG_KEY_INT:
	case CONFIG_KEY_FLOAT:
		return config_parse_number(field, k, s, cx, cause);
	case CONFIG_KEY_ENUM:
		return config_parse_enum((int *)field, k, s, cx, cause);
	case CONFIG_KEY_LIST:
		return config_parse_list(base, k, s, cx, cause);
	case CONFIG_KEY_BOOL:
		if (config_setting_type(s) != CONFIG_TYPE_BOOL)
			return config_fail(cx, s, k->name, cause,
			    "must be true or false");
		*(int *)field = config_setting_get_bool(s) ? 1 : 0;
		return 0;
	default:
		break;
	}
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return config_fail(cx, s, k->name, cause, "must be a string");
	str = (char **)field;
	config_wipe_free(*str);
	*str = xstrdup(config_setting_get_string(s));
	if (k->check != NULL && (why = k->check(*str)) != NULL)
		return config_fail(cx, s, k->name, cause, "%s", why);
	return 0;
}

/* Parse s as an integer or (CONFIG_KEY_FLOAT) any number within bounds. */
static int
config_parse_number(void *field, const struct config_key *k,
    const config_setting_t *s, struct config_ctx *cx, char **cause)
{
	int		 type = config_setting_type(s);
	long long	 i;
	double		 d;

	if (type != CONFIG_TYPE_INT && type != CONFIG_TYPE_INT64 &&
	    (type != CONFIG_TYPE_FLOAT || k->type != CONFIG_KEY_FLOAT))
		return config_fail(cx, s, k->name, cause, "must be %s",
		    k->type == CONFIG_KEY_INT ? "an integer" : "a number");
	if (k->type == CONFIG_KEY_INT) {
		i = config_setting_get_int64(s);
		if (i < k->imin || i > k->imax)
			return config_fail(cx, s, k->name, cause, "must be %s "
			    "%lld", i < k->imin ? ">=" : "<=",
			    i < k->imin ? k->imin : k->imax);
		*(long long *)field = i;
		return 0;
	}
	d = type == CONFIG_TYPE_FLOAT ? config_setting_get_float(s) :
	    (double)config_setting_get_int64(s);
	if ((k->flags & CONFIG_ABOVE_MIN) ? !(d > k->fmin) : !(d >= k->fmin))
		return config_fail(cx, s, k->name, cause, "must be %s %.10g",
		    k->flags & CONFIG_ABOVE_MIN ? ">" : ">=", k->fmin);
	if (!(d <= k->fmax))
		return config_fail(cx, s, k->name, cause, "must be <= %.10g",
		    k->fmax);
	*(double *)field = d;
	return 0;
}

/* Parse s as one of k's names, storing its index. */
static int
config_parse_enum(int *field, const struct config_key *k,
    const config_setting_t *s, struct config_ctx *cx, char **cause)
{
	char	buf[128];
	int	i;

	if (config_setting_type(s) == CONFIG_TYPE_STRING) {
		for (i = 0; k->names[i] != NULL; i++) {
			if (strcmp(config_setting_get_string(s),
			    k->names[i]) == 0) {
				*field = i;
				return 0;
			}
		}
	}
	return config_fail(cx, s, k->name, cause, "must be one of %s",
	    config_join_names(k->names, buf, sizeof buf));
}

/* Parse s as a list of strings (one string is a list of one). */
static int
config_parse_list(void *base, const struct config_key *k,
    const config_setting_t *s, struct config_ctx *cx, char **cause)
{
	char			***list = (char ***)((char *)base + k->off);
	size_t			  *n = (size_t *)((char *)base + k->noff);
	const config_setting_t	 *e;
	const char		 *why;
	char			  key[80];
	int			  i, len, one;

	one = config_setting_type(s) == CONFIG_TYPE_STRING;
	if (!one && config_setting_type(s) != CONFIG_TYPE_ARRAY &&
	    config_setting_type(s) != CONFIG_TYPE_LIST)
		return config_fail(cx, s, k->name, cause,
		    "must be a list of strings: [ \"...\", ... ]");
	len = one ? 1 : config_setting_length(s);
	config_free_list(*list, *n);
	*list = xcalloc(len, sizeof **list);
	*n = len;
	for (i = 0; i < len; i++) {
		e = one ? s : config_setting_get_elem(s, i);
		snprintf(key, sizeof key, "%s[%d]", k->name, i);
		if (config_setting_type(e) != CONFIG_TYPE_STRING)
			return config_fail(cx, e, key, cause,
			    "must be a string");
		(*list)[i] = xstrdup(config_setting_get_string(e));
		if (k->check != NULL && (why = k->check((*list)[i])) != NULL)
			return config_fail(cx, e, key, cause, "%s", why);
	}
	return 0;
}

/* Parse the providers list into cf->providers, each checked whole. */
static int
config_parse_providers(struct config *cf, const config_setting_t *s,
    struct config_ctx *cx, char **cause)
{
	const config_setting_t	*g;
	char			 key[32];
	int			 i, n;

	if (config_setting_type(s) != CONFIG_TYPE_LIST)
		return config_fail(cx, s, "providers", cause,
		    "must be a list of groups: ( { ... }, ... )");
	if ((n = config_setting_length(s)) == 0)
		return config_fail(cx, s, "providers", cause,
		    "must list at least one provider");
	cf->providers = xcalloc(n, sizeof *cf->providers);
	cf->nproviders = n;
	for (i = 0; i < n; i++) {
		g = config_setting_get_elem(s, i);
		if (!config_setting_is_group(g)) {
			snprintf(key, sizeof key, "providers[%d]", i);
			return config_fail(cx, g, key, cause,
			    "must be a group: { ... }");
		}
		snprintf(cx->prefix, sizeof cx->prefix, "providers[%d].", i);
		config_set_defaults(&cf->providers[i], CONFIG_SCOPE_PROVIDER);
		cf->providers[i].line = config_setting_source_line(g);
		if (config_parse_group(&cf->providers[i], g,
		    CONFIG_SCOPE_PROVIDER, cx, cause) == -1 ||
		    config_check_provider(cf, i, g, cx, cause) == -1)
			return -1;
		cx->prefix[0] = '\0';
	}
	return 0;
}

/* Check what provider i's keys say together, and load its API key. */
static int
config_check_provider(struct config *cf, size_t i, const config_setting_t *g,
    struct config_ctx *cx, char **cause)
{
	struct provider_config	*p = &cf->providers[i];
	size_t			 j;

	if (p->name == NULL)
		return config_fail(cx, g, "name", cause, "is required");
	for (j = 0; j < i; j++) {
		if (strcmp(cf->providers[j].name, p->name) == 0)
			return config_fail(cx, config_member(g, "name"),
			    "name", cause, "\"%s\" is already the name of "
			    "providers[%zu]", p->name, j);
	}
	if (p->type == PROVIDER_PROXY && p->base_url == NULL)
		return config_fail(cx, g, "base_url", cause,
		    "is required for type \"proxy\"");
	if (p->burst == 0 && p->requests_per_minute > 0)
		return config_fail(cx, config_member(g, "burst"), "burst",
		    cause, "must be >= 1 when requests_per_minute is set");
	if (config_resolve_ca(p, g, cx, cause) == -1)
		return -1;
	return config_resolve_key(p, g, cx, cause);
}

/* Make ca_file absolute (or NULL when empty) and check it is readable. */
static int
config_resolve_ca(struct provider_config *p, const config_setting_t *g,
    struct config_ctx *cx, char **cause)
{
	char	*path;

	if (p->ca_file == NULL)
		return 0;
	if (p->ca_file[0] == '\0') {
		free(p->ca_file);
		p->ca_file = NULL;
		return 0;
	}
	if (p->ca_file[0] != '/') {
		xasprintf(&path, "%s/%s", cx->dir, p->ca_file);
		free(p->ca_file);
		p->ca_file = path;
	}
	if (access(p->ca_file, R_OK) == -1)
		return config_fail(cx, config_member(g, "ca_file"), "ca_file",
		    cause, "%s cannot be read: %s", p->ca_file,
		    strerror(errno));
	return 0;
}

/* Load a proxy provider's key from api_key_env or api_key_file. */
static int
config_resolve_key(struct provider_config *p, const config_setting_t *g,
    struct config_ctx *cx, char **cause)
{
	const config_setting_t	*s = config_member(g, "api_key_env");
	const char		*v;

	if (p->type != PROVIDER_PROXY || p->auth == AUTH_NONE)
		return 0;
	if (p->api_key_env != NULL && p->api_key_file != NULL)
		return config_fail(cx, config_member(g, "api_key_file"),
		    "api_key_file", cause, "and api_key_env exclude each "
		    "other: give one");
	if (p->api_key_env == NULL && p->api_key_file == NULL)
		return config_fail(cx, g, "api_key_env", cause, "or "
		    "api_key_file is required unless auth is \"none\"");
	if (p->api_key_file != NULL)
		return config_read_key_file(p, config_member(g,
		    "api_key_file"), cx, cause);
	if ((v = getenv(p->api_key_env)) == NULL || *v == '\0')
		return config_fail(cx, s, "api_key_env", cause,
		    "names a variable that is unset or empty");
	if (config_has_ctl(v, strlen(v)))
		return config_fail(cx, s, "api_key_env", cause, "names a "
		    "variable whose value has a control character");
	p->api_key = xstrdup(v);
	return 0;
}

/* Read p's api_key_file, relative to $CREDENTIALS_DIRECTORY or cx->dir. */
static int
config_read_key_file(struct provider_config *p, const config_setting_t *s,
    struct config_ctx *cx, char **cause)
{
	const char	*base = NULL;
	char		*path, why[256];
	int		 r;

	if (p->api_key_file[0] != '/') {
		base = getenv("CREDENTIALS_DIRECTORY");
		if (base == NULL || *base == '\0')
			base = cx->dir;
		xasprintf(&path, "%s/%s", base, p->api_key_file);
	} else
		path = xstrdup(p->api_key_file);
	r = config_read_secret(path, &p->api_key, why, sizeof why);
	free(path);
	if (r == 0)
		return 0;
	if (base != NULL)
		return config_fail(cx, s, "api_key_file", cause,
		    "%s (looked in %s)", why, base);
	return config_fail(cx, s, "api_key_file", cause, "%s", why);
}

/* Read the key in regular file path into *key, or say why not. */
static int
config_read_secret(const char *path, char **key, char *why, size_t whylen)
{
	struct stat	 sb;
	char		*buf;
	size_t		 len = 0;
	ssize_t		 n;
	int		 fd;

	/* O_NONBLOCK: a FIFO must not hang the load; it is refused below. */
	fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd == -1 || fstat(fd, &sb) == -1) {
		snprintf(why, whylen, "cannot be opened: %s", strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	if (!S_ISREG(sb.st_mode)) {
		snprintf(why, whylen, "is not a regular file");
		close(fd);
		return -1;
	}
	buf = xmalloc(CONFIG_SECRET_MAX + 1);
	do {
		n = read(fd, buf + len, CONFIG_SECRET_MAX + 1 - len);
	} while (n > 0 && (len += n) <= CONFIG_SECRET_MAX);
	if (n == -1)
		snprintf(why, whylen, "cannot be read: %s", strerror(errno));
	close(fd);
	if (n == -1) {
		free(buf);
		return -1;
	}
	return config_take_secret(buf, len, key, why, whylen);
}

/* Strip one newline from buf[0..len), check it, and free buf. */
static int
config_take_secret(char *buf, size_t len, char **key, char *why,
    size_t whylen)
{
	volatile char	*p = buf;
	size_t		 i;
	int		 r = -1;

	if (len > CONFIG_SECRET_MAX)
		snprintf(why, whylen, "is longer than %d bytes",
		    CONFIG_SECRET_MAX);
	else {
		if (len > 0 && buf[len - 1] == '\n')
			len -= len > 1 && buf[len - 2] == '\r' ? 2 : 1;
		if (len == 0)
			snprintf(why, whylen, "is empty");
		else if (config_has_ctl(buf, len))
			snprintf(why, whylen, "has a control character "
			    "(CR, LF, NUL, ...) in its key");
		else {
			*key = xstrndup(buf, len);
			r = 0;
		}
	}
	for (i = 0; i < CONFIG_SECRET_MAX + 1; i++)
		p[i] = '\0';
	free(buf);
	return r;
}

/* Return 1 if s[0..len) has a control character (CR, LF, NUL, DEL...). */
static int
config_has_ctl(const char *s, size_t len)
{
	size_t	i;

	for (i = 0; i < len; i++) {
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 1;
	}
	return 0;
}

/* Return 1 if s is a decimal port, 0 to 65535. */
static int
config_is_port(const char *s)
{
	size_t	len = strlen(s);

	if (len == 0 || len > 5 || strspn(s, "0123456789") != len)
		return 0;
	return atoi(s) <= 65535;
}

/* Check a listen address: IPV4:PORT, [IPV6]:PORT or localhost:PORT. */
static const char *
config_check_listen(char *v)
{
	const char	*why = "must be IPV4:PORT, [IPV6]:PORT or "
			    "localhost:PORT, with PORT 0 to 65535";
	char		 host[INET6_ADDRSTRLEN + 1], *colon;
	unsigned char	 addr[sizeof(struct in6_addr)];
	size_t		 hlen;
	int		 v6 = v[0] == '[';

	if ((colon = strrchr(v, ':')) == NULL || !config_is_port(colon + 1))
		return why;
	hlen = colon - v;
	if (v6 && (hlen < 3 || v[hlen - 1] != ']'))
		return why;
	if (v6)
		hlen -= 2;
	if (hlen >= sizeof host)
		return why;
	memcpy(host, v + v6, hlen);
	host[hlen] = '\0';
	if (!v6 && strcmp(host, "localhost") == 0)
		return NULL;
	if (inet_pton(v6 ? AF_INET6 : AF_INET, host, addr) != 1)
		return why;
	return NULL;
}

/* Check a provider name: a safe, unreserved URL path segment. */
static const char *
config_check_name(char *v)
{
	size_t	i, len = strlen(v);

	if (len == 0 || len > CONFIG_NAME_MAX || strspn(v, "abcdefghijklmnop"
	    "qrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != len)
		return "must be 1 to 64 letters, digits, _ . or -";
	if (strcmp(v, ".") == 0 || strcmp(v, "..") == 0)
		return "must not be . or ..";
	for (i = 0; config_reserved[i] != NULL; i++) {
		if (strcasecmp(v, config_reserved[i]) == 0)
			return "is reserved (healthz, metrics, status, v1, "
			    "batch)";
	}
	return NULL;
}

/* Check base_url and drop its trailing slashes. */
static const char *
config_check_url(char *v)
{
	size_t	len, skip;

	if (strncasecmp(v, "http://", 7) == 0)
		skip = 7;
	else if (strncasecmp(v, "https://", 8) == 0)
		skip = 8;
	else
		return "must start with http:// or https://";
	len = strlen(v);
	if (config_has_ctl(v, len) || strpbrk(v, " ?#") != NULL)
		return "must not have spaces, control characters, ? or #";
	while (len > skip && v[len - 1] == '/')
		v[--len] = '\0';
	if (len == skip || v[skip] == '/')
		return "must name a host";
	return NULL;
}

/* Check a token or Host value: visible ASCII.  Never echo it. */
static const char *
config_check_token(char *v)
{
	size_t	i;

	if (v[0] == '\0')
		return "must not be empty";
	for (i = 0; v[i] != '\0'; i++) {
		if ((unsigned char)v[i] <= ' ' || (unsigned char)v[i] >= 0x7f)
			return "must be visible ASCII, without spaces";
	}
	return NULL;
}

/* Check an origin: SCHEME://HOST[:PORT] as browsers send it. */
static const char *
config_check_origin(char *v)
{
	const char	*why, *sep;

	if ((why = config_check_token(v)) != NULL)
		return why;
	if ((sep = strstr(v, "://")) == NULL || sep == v || sep[3] == '\0' ||
	    strchr(sep + 3, '/') != NULL)
		return "must be SCHEME://HOST[:PORT], with no path";
	return NULL;
}

/* Check an environment variable name (a key here would be echoed). */
static const char *
config_check_env(char *v)
{
	size_t	len = strlen(v);

	if (len == 0 || (v[0] >= '0' && v[0] <= '9') || strspn(v,
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")
	    != len)
		return "must be a variable name, [A-Za-z_][A-Za-z0-9_]*";
	return NULL;
}

/* Check a path is not empty. */
static const char *
config_check_path(char *v)
{
	return v[0] == '\0' ? "must not be empty" : NULL;
}

/* Write names as "a, b, c" into buf. */
static char *
config_join_names(const char *const *names, char *buf, size_t len)
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

/* Return the directory part of path ("." when it has none). */
static char *
config_dirname(const char *path)
{
	const char	*slash = strrchr(path, '/');

	if (slash == NULL)
		return xstrdup(".");
	if (slash == path)
		return xstrdup("/");
	return xstrndup(path, slash - path);
}

/* Build a config from what libconfig read (ok) under name, or say why. */
static struct config *
config_from_lc(config_t *lc, int ok, const char *name, const char *dir,
    char **cause)
{
	struct config		*cf;
	struct config_ctx	 cx = { name, dir, "" };
	char			 path[1024];

	if (!ok && config_error_type(lc) == CONFIG_ERR_FILE_IO) {
		xasprintf(cause, "%s: cannot be read: %s", name,
		    strerror(errno));
		return NULL;
	}
	if (!ok) {
		xasprintf(cause, "%s:%d: %s", config_where(&cx,
		    config_error_file(lc), path, sizeof path),
		    config_error_line(lc), config_error_text(lc));
		return NULL;
	}
	cf = xcalloc(1, sizeof *cf);
	cf->refs = 1;
	cf->path = xstrdup(name);
	config_set_defaults(cf, CONFIG_SCOPE_TOP);
	if (config_parse_group(cf, config_root_setting(lc), CONFIG_SCOPE_TOP,
	    &cx, cause) == -1 ||
	    config_check_top(cf, config_root_setting(lc), &cx, cause) == -1) {
		config_free(cf);
		return NULL;
	}
	return cf;
}

/* Check what the top-level keys say together. */
static int
config_check_top(struct config *cf, const config_setting_t *root,
    struct config_ctx *cx, char **cause)
{
	const char	*dp = cf->default_provider;

	if (cf->nproviders == 0)
		return config_fail(cx, root, "providers", cause, "is required");
	if (cf->nlisten == 0)
		return config_fail(cx, config_member(root, "listen"), "listen",
		    cause, "must name at least one address");
	if (dp != NULL && config_find_provider(cf, dp, strlen(dp)) == NULL)
		return config_fail(cx, config_member(root, "default_provider"),
		    "default_provider", cause, "\"%s\" is not a provider",
		    dp);
	return 0;
}

/* Load path into a new config; on error set *cause ("path:line: why"). */
struct config *
config_load(const char *path, char **cause)
{
	struct config	*cf;
	config_t	 lc;
	char		*dir;

	dir = config_dirname(path);
	config_init(&lc);
	config_set_include_dir(&lc, dir);	/* @include is relative to it */
	cf = config_from_lc(&lc, config_read_file(&lc, path) == CONFIG_TRUE,
	    path, dir, cause);
	config_destroy(&lc);		/* cf holds its own string copies */
	free(dir);
	return cf;
}

/* Load text as if it were the file name; on error set *cause. */
struct config *
config_load_string(const char *text, const char *name, char **cause)
{
	struct config	*cf;
	config_t	 lc;
	char		*dir;

	dir = config_dirname(name);
	config_init(&lc);
	config_set_include_dir(&lc, dir);
	cf = config_from_lc(&lc, config_read_string(&lc, text) == CONFIG_TRUE,
	    name, dir, cause);
	config_destroy(&lc);
	free(dir);
	return cf;
}

/* Free cf and everything it owns, overwriting keys and tokens. */
void
config_free(struct config *cf)
{
	size_t	i;

	if (cf == NULL)
		return;
	for (i = 0; i < cf->nproviders; i++) {
		config_free_fields(&cf->providers[i], CONFIG_SCOPE_PROVIDER);
		config_wipe_free(cf->providers[i].api_key);
	}
	free(cf->providers);
	config_free_fields(cf, CONFIG_SCOPE_TOP);
	free(cf->path);
	free(cf);
}

/* Return 1 if a and b listen on the same addresses, in the same order. */
int
config_same_listen(const struct config *a, const struct config *b)
{
	size_t	i;

	if (a->nlisten != b->nlisten)
		return 0;
	for (i = 0; i < a->nlisten; i++) {
		if (strcmp(a->listen[i], b->listen[i]) != 0)
			return 0;
	}
	return 1;
}

/* Take a reference to cf: it stays alive until the last config_unref. */
struct config *
config_ref(struct config *cf)
{
	cf->refs++;
	return cf;
}

/* Drop a reference to cf, freeing it with the last; accepts NULL. */
void
config_unref(struct config *cf)
{
	if (cf != NULL && --cf->refs == 0)
		config_free(cf);
}

/* Find the provider called name (len bytes, not NUL-terminated). */
const struct provider_config *
config_find_provider(const struct config *cf, const char *name, size_t len)
{
	const char	*n;
	size_t		 i;

	for (i = 0; i < cf->nproviders; i++) {
		n = cf->providers[i].name;
		if (n != NULL && strlen(n) == len && memcmp(n, name, len) == 0)
			return &cf->providers[i];
	}
	return NULL;
}

/* Write s for roff: literal backslashes and dashes, no control lines. */
static void
config_write_roff(FILE *f, const char *s)
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
config_write_default(FILE *f, const struct config_key *k)
{
	switch (k->type) {
	case CONFIG_KEY_INT:
		fprintf(f, "%lld", k->idef);
		break;
	case CONFIG_KEY_FLOAT:
		fprintf(f, "%.10g", k->fdef);
		break;
	case CONFIG_KEY_BOOL:
		fputs(k->idef ? "true" : "false", f);
		break;
	case CONFIG_KEY_ENUM:
		fprintf(f, "\"%s\"", k->names[k->idef]);
		break;
	case CONFIG_KEY_LIST:
		fprintf(f, k->sdef != NULL ? "[ \"%s\" ]" : "[ ]", k->sdef);
		break;
	default:
		fputs(k->flags & CONFIG_REQUIRED ? "required" : "none", f);
		break;
	}
}

/* Write one key as a man(7) .TP entry: name, type, default, bounds, doc. */
static void
config_write_key(FILE *f, const struct config_key *k)
{
	static const char *const types[] = { "integer", "number", "boolean",
	    "string", "list of strings", "one of ", "list of groups" };
	char	buf[256];
	int	pos;

	pos = snprintf(buf, sizeof buf, "%s", types[k->type]);
	if (k->type == CONFIG_KEY_ENUM)
		config_join_names(k->names, buf + pos, sizeof buf - pos);
	fputs(".TP\n\\fB", f);
	config_write_roff(f, k->name);
	fputs("\\fR (", f);
	config_write_roff(f, buf);
	fputs(k->flags & CONFIG_REQUIRED ? "; " : "; default ", f);
	config_write_default(f, k);
	if (k->type == CONFIG_KEY_INT)
		fprintf(f, "; %lld to %lld", k->imin, k->imax);
	else if (k->type == CONFIG_KEY_FLOAT)
		fprintf(f, "; %s %.10g, at most %.10g",
		    k->flags & CONFIG_ABOVE_MIN ? "more than" : "at least",
		    k->fmin, k->fmax);
	fputs(")\n", f);
	config_write_roff(f, k->doc);
	fputc('\n', f);
}

/* Write the key table as man(7) source for llmproxyd.conf(5). */
void
config_write_reference(FILE *f)
{
	size_t	i;

	fputs(".SS Top-level keys\n", f);
	for (i = 0; i < CONFIG_NKEYS; i++) {
		if (i > 0 && config_keys[i].scope != config_keys[i - 1].scope)
			fputs(".SS Provider keys\n", f);
		config_write_key(f, &config_keys[i]);
	}
}

/* Return the name of a log level, as written in the file. */
const char *
config_log_level_name(enum log_level level)
{
	if ((unsigned int)level >= sizeof config_log_levels /
	    sizeof config_log_levels[0] - 1)
		return "unknown";
	return config_log_levels[level];
}

/* Return the name of a dialect, as written in the file. */
const char *
config_dialect_name(enum dialect d)
{
	if ((unsigned int)d >= sizeof config_dialects /
	    sizeof config_dialects[0] - 1)
		return "unknown";
	return config_dialects[d];
}
