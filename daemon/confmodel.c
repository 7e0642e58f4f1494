/* SPDX-License-Identifier: ISC */
/*
 * confmodel: a provider's model groups (SPEC 16) in the configuration:
 * each group parsed through the key table like any group, checked on its
 * own and against the groups before it (a duplicate match, a match an
 * earlier prefix shadows, a group with no limit), and found for a model
 * name.  Pure: no libevent, no clock.
 */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "confint.h"
#include "confkey.h"
#include "xmalloc.h"

static int	config_check_model(struct provider_config *p, size_t i,
		    const config_setting_t *g, struct config_ctx *cx,
		    char **cause);
static int	config_match_one(const char *match, const char *model,
		    size_t len);

/* Free p's model groups. */
void
config_free_models(struct provider_config *p)
{
	size_t	i;

	for (i = 0; i < p->nmodels; i++)
		config_free_fields(&p->models[i], CONFKEY_SCOPE_MODEL);
	free(p->models);
	p->models = NULL;
	p->nmodels = 0;
}

/* Parse a provider's models list into p->models, each checked whole. */
int
config_parse_models(struct provider_config *p, const config_setting_t *s,
    struct config_ctx *cx, char **cause)
{
	const config_setting_t	*g;
	size_t			 plen = strlen(cx->prefix);
	char			 key[32];
	int			 i, n;

	if (config_setting_type(s) != CONFIG_TYPE_LIST)
		return config_fail(cx, s, "models", cause,
		    "must be a list of groups: ( { match = ...; }, ... )");
	config_free_models(p);			/* a second models key */
	n = config_setting_length(s);
	p->models = xcalloc(n > 0 ? n : 1, sizeof *p->models);
	for (i = 0; i < n; i++) {
		g = config_setting_get_elem(s, i);
		snprintf(key, sizeof key, "models[%d]", i);
		if (!config_setting_is_group(g))
			return config_fail(cx, g, key, cause,
			    "must be a group: { match = ...; ... }");
		config_set_defaults(&p->models[i], CONFKEY_SCOPE_MODEL);
		p->nmodels = i + 1;
		p->models[i].line = config_setting_source_line(g);
		snprintf(cx->prefix + plen, sizeof cx->prefix - plen, "%s.",
		    key);
		if (config_parse_group(&p->models[i], g, CONFKEY_SCOPE_MODEL,
		    cx, cause) == -1 ||
		    config_check_model(p, i, g, cx, cause) == -1)
			return -1;
		cx->prefix[plen] = '\0';
	}
	return 0;
}

/* Check what model group i's keys say together, and against the others. */
static int
config_check_model(struct provider_config *p, size_t i,
    const config_setting_t *g, struct config_ctx *cx, char **cause)
{
	struct model_config	*m = &p->models[i];
	const char		*e;
	size_t			 j;

	if (m->match == NULL)
		return config_fail(cx, g, "match", cause, "is required");
	for (j = 0; j < i; j++) {
		e = p->models[j].match;
		if (strcmp(e, m->match) == 0)
			return config_fail(cx, config_member(g, "match"),
			    "match", cause, "\"%s\" is already the match of "
			    "models[%zu]", m->match, j);
		if (config_match_one(e, m->match, strlen(m->match)))
			return config_fail(cx, config_member(g, "match"),
			    "match", cause, "\"%s\" is never used: models[%zu]"
			    " (\"%s\") matches first", m->match, j, e);
	}
	if (m->requests_per_minute == 0 && m->tokens_per_minute == 0 &&
	    m->max_concurrent == 0)
		return config_fail(cx, g, "requests_per_minute", cause,
		    "tokens_per_minute or max_concurrent must be set: the "
		    "group has no limit");
	if (m->burst == 0 && m->requests_per_minute > 0)
		return config_fail(cx, config_member(g, "burst"), "burst",
		    cause, "must be >= 1 when requests_per_minute is set");
	if (m->tokens_per_minute > 0)
		p->models_tokens = 1;
	return 0;
}

/*
 * Return 1 if model (len bytes) matches match: the same name, or, for a
 * match ending in '*', a name that starts with what comes before it.  A
 * prefix shadows every longer match it starts (their '*' included).
 */
static int
config_match_one(const char *match, const char *model, size_t len)
{
	size_t	mlen = strlen(match);

	if (mlen > 0 && match[mlen - 1] == '*')
		return len >= mlen - 1 && memcmp(match, model, mlen - 1) == 0;
	return len == mlen && memcmp(match, model, len) == 0;
}

/* Return the first of pc's model groups that model matches, or NULL. */
const struct model_config *
config_match_model(const struct provider_config *pc, const char *model,
    size_t len)
{
	size_t	i;

	for (i = 0; i < pc->nmodels; i++) {
		if (config_match_one(pc->models[i].match, model, len))
			return &pc->models[i];
	}
	return NULL;
}

