/* SPDX-License-Identifier: ISC */
/*
 * confint: what config.c shares with confmodel.c and conflisten.c, and
 * nothing else: the context that makes messages point at a file and
 * line, and the walkers of the key table that parse, default and free a
 * group of any scope.
 * Not an interface for the rest of the daemon (config.h is).
 */
#ifndef CONFINT_H
#define CONFINT_H

#include <libconfig.h>

#include "confkey.h"

/* Where messages point and relative paths start. */
struct config_ctx {
	const char	*file;		/* the name used in messages */
	const char	*dir;		/* base of relative paths */
	const char	*text;		/* the file's text, or NULL */
	char		 prefix[64];	/* "", "providers[N]." or
					   "providers[N].models[M]." */
};

/* Set *cause to "file:line: PREFIXkey why" for setting s; return -1. */
int	config_fail(const struct config_ctx *cx, const config_setting_t *s,
	    const char *key, char **cause, const char *fmt, ...)
	    __attribute__((format(printf, 5, 6)));
/* Return g's member called name, or g itself (for its line) if absent. */
const config_setting_t *config_member(const config_setting_t *g,
	    const char *name);
/* Fill every field of scope in base with its default. */
void	config_set_defaults(void *base, enum confkey_scope scope);
/* Free every string and list of scope that base holds. */
void	config_free_fields(void *base, enum confkey_scope scope);
/* Parse group g's keys of scope into base, each checked. */
int	config_parse_group(void *base, const config_setting_t *g,
	    enum confkey_scope scope, struct config_ctx *cx, char **cause);
/* Parse a provider's models list into p->models (confmodel.c). */
int	config_parse_models(struct provider_config *p,
	    const config_setting_t *s, struct config_ctx *cx, char **cause);
/* Refuse an address cf's listen names twice (conflisten.c). */
int	config_check_listen(struct config *cf, const config_setting_t *root,
	    struct config_ctx *cx, char **cause);
/* Read a secret file (key's value, at s) into *out; relative paths are
   under $CREDENTIALS_DIRECTORY, else cx->dir. */
int	config_read_secret_file(const char *file, const config_setting_t *s,
	    const char *key, struct config_ctx *cx, char **out,
	    char **cause);
/* Read a secret from the environment variable name (key's value, at s). */
int	config_read_secret_env(const char *name, const config_setting_t *s,
	    const char *key, struct config_ctx *cx, char **out, char **cause);
/* Parse the clients list into cf->clients (confclient.c). */
int	config_parse_clients(struct config *cf, const config_setting_t *s,
	    struct config_ctx *cx, char **cause);
/* Add client_tokens to cf->clients and check them all (confclient.c). */
int	config_check_clients(struct config *cf, const config_setting_t *root,
	    struct config_ctx *cx, char **cause);
/* Free cf's clients, wiping their tokens (confclient.c). */
void	config_free_clients(struct config *cf);
/* Parse the redis group into cf->redis (confredis.c). */
int	config_parse_redis(struct config *cf, const config_setting_t *g,
	    struct config_ctx *cx, char **cause);
/* Refuse a shared provider without a redis group (confredis.c). */
int	config_check_redis(struct config *cf, const config_setting_t *root,
	    struct config_ctx *cx, char **cause);
/* Free cf's redis group, wiping its password (confredis.c). */
void	config_free_redis(struct config *cf);
/* Free p's model groups (confmodel.c). */
void	config_free_models(struct provider_config *p);

#endif /* CONFINT_H */
