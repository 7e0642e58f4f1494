/* SPDX-License-Identifier: ISC */
/*
 * config: the configuration file, parsed through one table of keys.
 *
 * Every key the daemon knows is declared once in confkey.c's table, with
 * its type, default, bounds and the field it fills; llmproxyd.conf(5)
 * documents that same table.  Loading either returns a complete, validated
 * struct config or fails with a message naming the file, the line and the
 * key.  Provider keys are resolved here (api_key_env / api_key_file) so
 * that a missing key is a configuration error, not a runtime surprise.
 * This module includes no libevent header and never reads the clock.
 */
#ifndef CONFIG_H
#define CONFIG_H

#include <stddef.h>
#include <stdio.h>

enum provider_type {
	PROVIDER_PROXY,			/* forwards to base_url */
	PROVIDER_SIMULATED		/* answers locally (sim.c) */
};

enum dialect {
	DIALECT_OPENAI,
	DIALECT_ANTHROPIC
};

enum provider_auth {
	AUTH_BEARER,			/* Authorization: Bearer KEY */
	AUTH_X_API_KEY,			/* x-api-key: KEY */
	AUTH_NONE
};

enum log_level {
	LOG_LEVEL_ERROR,
	LOG_LEVEL_WARN,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG
};

/*
 * One model group of a provider (SPEC 16): limits of their own for the
 * requests whose body names a matching model.  Plain data.
 */
struct model_config {
	char			*match;		/* a name, or a prefix + '*' */
	int			 line;		/* where the group starts */
	long long		 requests_per_minute;	/* 0 = unlimited */
	long long		 tokens_per_minute;	/* 0 = unlimited */
	long long		 burst;
	long long		 max_concurrent;	/* 0 = unlimited */
	long long		 queue_max;	/* 0: the provider's alone */
	double			 queue_timeout;	/* 0: the provider's */
};

/*
 * A client named by its token (SPEC 11): a clients entry, or one of the
 * plain client_tokens (named token1, token2, ... in order, weight 1).
 * Plain data.
 */
struct client_config {
	char			*name;
	int			 line;		/* where it is given */
	char			*token_env;
	char			*token_file;
	long long		 weight;
	char			*token;		/* resolved; never logged */
};

/*
 * Where shared limits live (SPEC 14): one Redis server for every provider
 * with shared = true.  Plain data.
 */
struct redis_config {
	int			 given;		/* the group is in the file */
	int			 line;
	char			*url;		/* redis://... or unix://... */
	char			*password_env;
	char			*password_file;
	char			*password;	/* resolved; never logged */
	char			*key_prefix;
	double			 timeout;	/* seconds, per call */
	double			 lease;		/* seconds a slot lives */
};

/* One provider block.  Plain data: every string is owned by the config. */
struct provider_config {
	char			*name;		/* URL prefix: /<name>/... */
	int			 line;		/* where the block starts */
	enum provider_type	 type;
	char			*base_url;	/* no trailing slash */
	enum dialect		 dialect;
	enum provider_auth	 auth;
	char			*api_key_env;
	char			*api_key_file;
	char			*api_key;	/* resolved; never logged */
	char			*ca_file;	/* NULL: system store */
	long long		 requests_per_minute;	/* 0 = unlimited */
	long long		 tokens_per_minute;	/* 0 = unlimited */
	long long		 burst;
	long long		 default_max_tokens;
	int			 stream_include_usage;
	long long		 max_concurrent;	/* 0 = unlimited */
	long long		 queue_max;
	double			 queue_timeout;		/* seconds */
	long long		 retries;
	double			 connect_timeout;	/* seconds */
	double			 first_byte_timeout;	/* seconds */
	double			 idle_timeout;		/* seconds */
	char			**fallback;	/* provider names, in order */
	size_t			 nfallback;
	char			**model_map;	/* "FROM=TO" */
	size_t			 nmodel_map;
	int			 shared;	/* limits in Redis (SPEC 14) */
	double			 hedge_after;	/* seconds; 0: never */
	double			 latency;	/* simulated: before 1st byte */
	double			 tokens_per_second;	/* simulated */
	struct model_config	*models;	/* first match wins */
	size_t			 nmodels;
	int			 models_tokens;	/* a group limits tokens */
};

/* A whole configuration.  Plain data: every string is owned by it. */
struct config {
	unsigned		 refs;		/* config_ref / config_unref */
	char			*path;
	char			**listen;	/* "ADDR:PORT", "[V6]:PORT" */
	size_t			 nlisten;
	char			*default_provider;	/* NULL: none */
	char			**client_tokens;	/* never logged */
	size_t			 nclient_tokens;
	/* Every client with a token: clients, then client_tokens'. */
	struct client_config	*clients;
	size_t			 nclients;
	struct redis_config	 redis;
	long long		 max_body_size;		/* bytes */
	long long		 batch_max_items;	/* POST /batch */
	double			 shutdown_timeout;	/* seconds */
	enum log_level		 log_level;
	char			**allowed_hosts;
	size_t			 nallowed_hosts;
	char			**allowed_origins;
	size_t			 nallowed_origins;
	long long		 max_connections;
	double			 header_timeout;	/* seconds */
	double			 body_timeout;		/* seconds */
	double			 keepalive_timeout;	/* seconds */
	struct provider_config	*providers;
	size_t			 nproviders;
};

/* Load path; on error return NULL and set *cause ("path:line: why"). */
struct config	*config_load(const char *path, char **cause);
/* Load from text, naming it name in messages (tests, fuzzing). */
struct config	*config_load_string(const char *text, const char *name,
		    char **cause);
/* Free cf and everything it owns, whatever its references; accepts NULL. */
void		 config_free(struct config *cf);
/*
 * Reference counting, for a reload: requests in flight keep the
 * configuration they arrived with alive until they end.  A loaded config
 * holds one reference.
 */
struct config	*config_ref(struct config *cf);
void		 config_unref(struct config *cf);
/* Find the provider called name (len bytes, not NUL-terminated). */
const struct provider_config *config_find_provider(const struct config *cf,
		    const char *name, size_t len);
/*
 * Return the first of pc's model groups that model (len bytes, not
 * NUL-terminated) matches, or NULL.
 */
const struct model_config *config_match_model(
		    const struct provider_config *pc, const char *model,
		    size_t len);
/* Replace cf's listen addresses with addr alone (the -l option). */
void		 config_set_listen(struct config *cf, const char *addr);
/* Return 1 if a and b listen on the same addresses (a reload's check). */
int		 config_same_listen(const struct config *a,
		    const struct config *b);

#endif /* CONFIG_H */
