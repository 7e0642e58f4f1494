/* SPDX-License-Identifier: ISC */
/*
 * route: map a request target to the daemon endpoint or provider that
 * answers it.
 *
 * Only origin-form targets are accepted, and none whose path holds a dot
 * segment ("." or "..", also percent-encoded, also when an encoded slash
 * or a backslash is what delimits it), so a client can never climb out of
 * a provider's base_url.  The first path segment picks the answer: the
 * daemon's endpoints (/healthz, /status, /metrics, the status page at / and
 * /ui, exactly), the other reserved names, "/v1" for the default provider,
 * or a provider by name.
 * It does not decode or normalise the rest of the target, which goes to
 * the upstream byte for byte, and it does not look at the method.
 */
#include <string.h>

#include "config.h"
#include "route.h"

static const char *route_is_bad(const char *uri);
static int	route_segment_is_dot(const char *seg, size_t len);
static size_t	route_decode(const char *p, size_t len, char *out);
static int	route_find(const struct config *cf, const char *name,
		    size_t len, size_t *index);
static int	route_name_is(const char *name, size_t len, const char *what);
static int	route_reserved_n(const char *name, size_t len);
static void	route_endpoint(const char *uri, size_t len, struct route *r);
static void	route_default(const struct config *cf, const char *uri,
		    struct route *r);

/* Names a provider may never take: the daemon's own and those it keeps. */
static const char *const route_reserved[] = {
	"healthz",
	"metrics",
	"status",
	"v1",
	"batch",
	"ui",
	NULL
};

/* Return 1 if the first len bytes of name are exactly what. */
static int
route_name_is(const char *name, size_t len, const char *what)
{
	return strlen(what) == len && memcmp(name, what, len) == 0;
}

/*
 * Decode len bytes at p into out, turning %2e, %2f and %5c (any case) into
 * '.', '/' and '\'; return how many bytes the next character took (1 or 3).
 */
static size_t
route_decode(const char *p, size_t len, char *out)
{
	if (len >= 3 && p[0] == '%') {
		if (p[1] == '2' && (p[2] == 'e' || p[2] == 'E')) {
			*out = '.';
			return 3;
		}
		if (p[1] == '2' && (p[2] == 'f' || p[2] == 'F')) {
			*out = '/';
			return 3;
		}
		if (p[1] == '5' && (p[2] == 'c' || p[2] == 'C')) {
			*out = '\\';
			return 3;
		}
	}
	*out = *p;
	return 1;
}

/*
 * Return 1 if the segment seg (len bytes, between two '/') holds a "." or
 * ".." component once decoded, where '\' and an encoded '/' also delimit.
 */
static int
route_segment_is_dot(const char *seg, size_t len)
{
	size_t	i = 0, dots = 0, other = 0;
	char	c;

	while (i <= len) {
		if (i == len) {
			c = '/';	/* the segment's end delimits too */
			i++;
		} else
			i += route_decode(seg + i, len - i, &c);
		if (c == '/' || c == '\\') {
			if (other == 0 && (dots == 1 || dots == 2))
				return 1;
			dots = other = 0;
		} else if (c == '.')
			dots++;
		else
			other++;
	}
	return 0;
}

/*
 * Return what is wrong with uri if it is not an origin-form target, or
 * has an empty first segment or a dot segment; NULL if nothing is.
 */
static const char *
route_is_bad(const char *uri)
{
	const char	*p, *seg;

	if (uri[0] != '/')
		return "the request target must be a path (origin form), not "
		    "an absolute URI, an authority or *";
	for (p = uri; *p != '\0'; p++) {
		if ((unsigned char)*p <= 0x20 || *p == 0x7f || *p == '#')
			return "the request target holds a control character, "
			    "a space or a fragment (#)";
	}
	if (uri[1] == '/')
		return "the request target's path begins with an empty "
		    "segment (//): it names no provider";
	p = uri;
	while (*p == '/') {
		seg = ++p;
		while (*p != '\0' && *p != '/' && *p != '?')
			p++;
		if (route_segment_is_dot(seg, (size_t)(p - seg)))
			return "the request target must be a path without dot "
			    "segments (. or .., also percent-encoded)";
	}
	return NULL;
}

/* Return 1 if the len bytes at name are a reserved name. */
static int
route_reserved_n(const char *name, size_t len)
{
	size_t	i;

	for (i = 0; route_reserved[i] != NULL; i++) {
		if (route_name_is(name, len, route_reserved[i]))
			return 1;
	}
	return 0;
}

/* Find the provider called name (len bytes); return 1 and set *index. */
static int
route_find(const struct config *cf, const char *name, size_t len,
    size_t *index)
{
	size_t	i;

	for (i = 0; i < cf->nproviders; i++) {
		if (cf->providers[i].name != NULL &&
		    route_name_is(name, len, cf->providers[i].name)) {
			*index = i;
			return 1;
		}
	}
	return 0;
}

/* Resolve a target under /v1: the default provider's, else reserved. */
static void
route_default(const struct config *cf, const char *uri, struct route *r)
{
	const char	*dp = cf != NULL ? cf->default_provider : NULL;

	if (dp == NULL || *dp == '\0') {
		r->kind = ROUTE_RESERVED;
		return;
	}
	if (!route_find(cf, dp, strlen(dp), &r->provider)) {
		r->kind = ROUTE_UNKNOWN;
		return;
	}
	r->kind = ROUTE_PROVIDER;
	r->rest = uri;
}

/*
 * Resolve a reserved first segment of len bytes at uri + 1: an endpoint if
 * nothing but a query follows, else reserved.
 */
static void
route_endpoint(const char *uri, size_t len, struct route *r)
{
	const char	*name = uri + 1;
	int		 exact = name[len] == '\0' || name[len] == '?';

	r->kind = ROUTE_RESERVED;
	if (!exact)
		return;
	if (route_name_is(name, len, "healthz"))
		r->kind = ROUTE_HEALTHZ;
	else if (route_name_is(name, len, "status"))
		r->kind = ROUTE_STATUS;
	else if (route_name_is(name, len, "metrics"))
		r->kind = ROUTE_METRICS;
	else if (route_name_is(name, len, "batch"))
		r->kind = ROUTE_BATCH;
	else if (route_name_is(name, len, "ui"))
		r->kind = ROUTE_UI;
}

/* Resolve uri (the request target as received) against cf into *r. */
void
route_resolve(const struct config *cf, const char *uri, struct route *r)
{
	const char	*name;
	size_t		 len;

	r->kind = ROUTE_BAD;
	r->provider = 0;
	r->rest = NULL;
	r->why = "the request has no target";
	if (uri == NULL || (r->why = route_is_bad(uri)) != NULL)
		return;
	name = uri + 1;
	len = strcspn(name, "/?");
	if (len == 0) {		/* "/" is the status page, "//" no path */
		r->kind = name[0] == '/' ? ROUTE_BAD : ROUTE_UI;
		return;
	}
	if (route_name_is(name, len, "v1")) {
		route_default(cf, uri, r);
		return;
	}
	if (route_reserved_n(name, len)) {
		route_endpoint(uri, len, r);
		return;
	}
	r->kind = ROUTE_UNKNOWN;
	if (cf != NULL && route_find(cf, name, len, &r->provider)) {
		r->kind = ROUTE_PROVIDER;
		r->rest = name + len;
	}
}

/* Return 1 if name may not be a provider name (healthz, v1, ...). */
int
route_name_is_reserved(const char *name)
{
	return name != NULL && route_reserved_n(name, strlen(name));
}
