/* SPDX-License-Identifier: ISC */
/*
 * route: map a request URI to what answers it.
 *
 * "/<provider>/<rest>?<query>" goes to that provider with "<rest>?<query>"
 * appended to its base_url; with default_provider, "/v1/..." goes to that
 * provider whole.  The daemon's own endpoints and the reserved names are
 * recognised here too, so a provider can never shadow them.  Pure: no
 * libevent, no clock.
 */
#ifndef ROUTE_H
#define ROUTE_H

#include <stddef.h>

struct config;

enum route_kind {
	ROUTE_PROVIDER,		/* forward: provider and rest are set */
	ROUTE_HEALTHZ,		/* GET /healthz */
	ROUTE_STATUS,		/* GET /status */
	ROUTE_METRICS,		/* GET /metrics */
	ROUTE_BATCH,		/* POST /batch (SPEC 12) */
	ROUTE_UI,		/* GET / and /ui: the status page */
	ROUTE_RESERVED,		/* a reserved name with no endpoint yet */
	ROUTE_UNKNOWN,		/* no provider of that name: 404 */
	ROUTE_BAD		/* not origin-form, or a dot segment: 400 */
};

struct route {
	enum route_kind	 kind;
	size_t		 provider;	/* index into cf->providers */
	const char	*rest;		/* into uri: appended to base_url */
	const char	*why;		/* ROUTE_BAD: what is wrong */
};

/* Resolve uri (the request target as received) against cf into *r. */
void	route_resolve(const struct config *cf, const char *uri,
	    struct route *r);

/* Return 1 if name may not be a provider name (healthz, v1, ...). */
int	route_name_is_reserved(const char *name);

#endif /* ROUTE_H */
