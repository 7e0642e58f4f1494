/* SPDX-License-Identifier: ISC */
/*
 * confcheck: checks across providers (see confcheck.h).  Errors point at
 * the line where the provider's block starts.
 */
#include <string.h>

#include "confcheck.h"
#include "config.h"
#include "xmalloc.h"

static int	confcheck_fallback(const struct config *cf, size_t i,
		    char **cause);

/* Check cf's providers against each other. */
int
confcheck_providers(const struct config *cf, char **cause)
{
	size_t	i;

	for (i = 0; i < cf->nproviders; i++) {
		if (confcheck_fallback(cf, i, cause) == -1)
			return -1;
	}
	return 0;
}

/* Check provider i's fallback list. */
static int
confcheck_fallback(const struct config *cf, size_t i, char **cause)
{
	const struct provider_config	*pc = &cf->providers[i], *to;
	const char			*name, *why = NULL;
	size_t				 f, g;

	for (f = 0; f < pc->nfallback && why == NULL; f++) {
		name = pc->fallback[f];
		to = config_find_provider(cf, name, strlen(name));
		if (to == NULL)
			why = "is not a provider";
		else if (to == pc)
			why = "is this provider itself";
		else if (to->dialect != pc->dialect)
			why = "speaks another dialect";
		for (g = 0; g < f && why == NULL; g++) {
			if (strcmp(pc->fallback[g], name) == 0)
				why = "is named twice";
		}
	}
	if (why == NULL)
		return 0;
	xasprintf(cause, "%s:%d: providers[%zu].fallback: \"%s\" %s",
	    cf->path, pc->line, i, name, why);
	return -1;
}
