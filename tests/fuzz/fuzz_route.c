/* SPDX-License-Identifier: ISC */
/*
 * fuzz_route: route_resolve on generated request targets.
 *
 * The input, NUL-terminated, is resolved against a fixed configuration
 * with a few providers (two of whose names prefix each other) and a
 * default provider.  Besides surviving, a provider route must name a real
 * provider and a rest inside the target, and no target that routes
 * anywhere may hold a literal "/../" segment.
 */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "fuzz.h"
#include "route.h"
#include "xmalloc.h"

static char	fuzz_route_openai[] = "openai";
static char	fuzz_route_open[] = "open";
static char	fuzz_route_anthropic[] = "anthropic";
static char	fuzz_route_demo[] = "demo";

static struct provider_config	fuzz_route_providers[] = {
	{ .name = fuzz_route_openai },
	{ .name = fuzz_route_open },
	{ .name = fuzz_route_anthropic },
	{ .name = fuzz_route_demo },
};

static int	fuzz_route_climbs(const char *uri);

static struct config	fuzz_route_config = {
	.default_provider = fuzz_route_openai,
	.providers = fuzz_route_providers,
	.nproviders = sizeof fuzz_route_providers /
	    sizeof fuzz_route_providers[0],
};

/* Return 1 if the path of uri (before any '?') has a literal dot segment. */
static int
fuzz_route_climbs(const char *uri)
{
	char	*path;
	size_t	 n;
	int	 climbs;

	path = xstrndup(uri, strcspn(uri, "?"));
	n = strlen(path);
	climbs = strstr(path, "/../") != NULL || strstr(path, "/./") != NULL ||
	    (n >= 2 && strcmp(path + n - 2, "/.") == 0) ||
	    (n >= 3 && strcmp(path + n - 3, "/..") == 0);
	free(path);
	return climbs;
}

/* libFuzzer entry point: run one generated input through the module. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct route	 r;
	char		*uri;
	size_t		 len;

	uri = xstrndup((const char *)data, size);
	len = strlen(uri);
	route_resolve(&fuzz_route_config, uri, &r);
	if (r.kind == ROUTE_PROVIDER) {
		if (r.provider >= fuzz_route_config.nproviders ||
		    r.rest < uri || r.rest > uri + len)
			abort();
	}
	if (r.kind != ROUTE_BAD && fuzz_route_climbs(uri))
		abort();
	route_name_is_reserved(uri);
	free(uri);
	return 0;
}
