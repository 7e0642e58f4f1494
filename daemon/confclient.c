/* SPDX-License-Identifier: ISC */
/*
 * confclient: the clients a configuration names by token (SPEC 11).
 *
 * A clients entry is parsed through the key table like any group, and
 * its token read from token_env or token_file (as api_key_file is).  The
 * plain client_tokens strings then join the list as token1, token2, ...
 * of weight 1, so the rest of the daemon sees one list: guard.c matches
 * a request's token against it, and the queues share admissions by its
 * names and weights.  Two clients may not share a name or a token: the
 * token says who is asking, and that must have one answer.  Pure: no
 * libevent, no clock.
 */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "confint.h"
#include "confkey.h"
#include "confval.h"
#include "xmalloc.h"

static int	config_check_client(struct config *cf, size_t i,
		    const config_setting_t *g, struct config_ctx *cx,
		    char **cause);
static int	config_resolve_token(struct client_config *c,
		    const config_setting_t *g, struct config_ctx *cx,
		    char **cause);

/* Free cf's clients, wiping their tokens. */
void
config_free_clients(struct config *cf)
{
	size_t	i;

	for (i = 0; i < cf->nclients; i++) {
		config_free_fields(&cf->clients[i], CONFKEY_SCOPE_CLIENT);
		if (cf->clients[i].token != NULL) {
			explicit_bzero(cf->clients[i].token,
			    strlen(cf->clients[i].token));
			free(cf->clients[i].token);
		}
	}
	free(cf->clients);
	cf->clients = NULL;
	cf->nclients = 0;
}

/* Parse the clients list into cf->clients, each checked whole. */
int
config_parse_clients(struct config *cf, const config_setting_t *s,
    struct config_ctx *cx, char **cause)
{
	const config_setting_t	*g;
	char			 key[32];
	int			 i, n;

	if (config_setting_type(s) != CONFIG_TYPE_LIST)
		return config_fail(cx, s, "clients", cause,
		    "must be a list of groups: ( { name = ...; }, ... )");
	config_free_clients(cf);		/* a second clients key */
	n = config_setting_length(s);
	/* Room for client_tokens' clients, added by config_check_clients. */
	cf->clients = xcalloc(n > 0 ? n : 1, sizeof *cf->clients);
	for (i = 0; i < n; i++) {
		g = config_setting_get_elem(s, i);
		snprintf(key, sizeof key, "clients[%d]", i);
		if (!config_setting_is_group(g))
			return config_fail(cx, g, key, cause,
			    "must be a group: { name = ...; ... }");
		config_set_defaults(&cf->clients[i], CONFKEY_SCOPE_CLIENT);
		cf->nclients = i + 1;
		cf->clients[i].line = config_setting_source_line(g);
		snprintf(cx->prefix, sizeof cx->prefix, "%s.", key);
		if (config_parse_group(&cf->clients[i], g,
		    CONFKEY_SCOPE_CLIENT, cx, cause) == -1 ||
		    config_check_client(cf, i, g, cx, cause) == -1)
			return -1;
		cx->prefix[0] = '\0';
	}
	return 0;
}

/* Check client i's keys together and against the clients before it. */
static int
config_check_client(struct config *cf, size_t i, const config_setting_t *g,
    struct config_ctx *cx, char **cause)
{
	struct client_config	*c = &cf->clients[i];
	size_t			 j;

	if (c->name == NULL)
		return config_fail(cx, g, "name", cause, "is required");
	for (j = 0; j < i; j++) {
		if (strcmp(cf->clients[j].name, c->name) == 0)
			return config_fail(cx, config_member(g, "name"),
			    "name", cause, "\"%s\" is already the name of "
			    "clients[%zu]", c->name, j);
	}
	if (config_resolve_token(c, g, cx, cause) == -1)
		return -1;
	for (j = 0; j < i; j++) {
		if (strcmp(cf->clients[j].token, c->token) == 0)
			return config_fail(cx, g, c->token_env != NULL ?
			    "token_env" : "token_file", cause, "gives the "
			    "token of clients[%zu] (\"%s\"): a token names "
			    "one client", j, cf->clients[j].name);
	}
	return 0;
}

/* Load client c's token from token_env or token_file. */
static int
config_resolve_token(struct client_config *c, const config_setting_t *g,
    struct config_ctx *cx, char **cause)
{
	const config_setting_t	*s;
	const char		*key;
	char			*why;

	if (c->token_env != NULL && c->token_file != NULL)
		return config_fail(cx, config_member(g, "token_file"),
		    "token_file", cause, "and token_env exclude each other: "
		    "give one");
	if (c->token_env == NULL && c->token_file == NULL)
		return config_fail(cx, g, "token_env", cause, "or token_file "
		    "is required");
	if (c->token_file != NULL) {
		key = "token_file";
		s = config_member(g, key);
		if (config_read_secret_file(c->token_file, s, key, cx,
		    &c->token, cause) == -1)
			return -1;
	} else {
		key = "token_env";
		s = config_member(g, key);
		if (config_read_secret_env(c->token_env, s, key, cx,
		    &c->token, cause) == -1)
			return -1;
	}
	if ((why = (char *)confval_token(c->token)) != NULL)
		return config_fail(cx, s, key, cause, "gives a token that %s",
		    why);
	return 0;
}

/*
 * Append client_tokens as clients token1, token2, ... (weight 1), each
 * unlike every other client in name and token.
 */
int
config_check_clients(struct config *cf, const config_setting_t *root,
    struct config_ctx *cx, char **cause)
{
	const config_setting_t	*s = config_member(root, "client_tokens");
	struct client_config	*c;
	size_t			 i, j, first = cf->nclients;
	char			 name[32];

	if (cf->nclient_tokens == 0)
		return 0;
	cf->clients = xreallocarray(cf->clients, first + cf->nclient_tokens,
	    sizeof *cf->clients);
	for (i = 0; i < cf->nclient_tokens; i++) {
		c = &cf->clients[first + i];
		memset(c, 0, sizeof *c);
		snprintf(name, sizeof name, "token%zu", i + 1);
		c->name = xstrdup(name);
		c->line = config_setting_source_line(s);
		c->weight = 1;
		c->token = xstrdup(cf->client_tokens[i]);
		cf->nclients = first + i + 1;
		for (j = 0; j < first + i; j++) {
			if (strcmp(cf->clients[j].name, c->name) == 0)
				return config_fail(cx, s, "client_tokens",
				    cause, "entry %zu is client %s, already "
				    "the name of clients[%zu]", i + 1,
				    c->name, j);
			if (strcmp(cf->clients[j].token, c->token) == 0)
				return config_fail(cx, s, "client_tokens",
				    cause, "entry %zu repeats the token of "
				    "client %s: a token names one client",
				    i + 1, cf->clients[j].name);
		}
	}
	return 0;
}
