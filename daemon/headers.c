/* SPDX-License-Identifier: ISC */
/*
 * headers: decide which header fields cross the proxy, by name alone.
 *
 * A field is hop-by-hop when it is on RFC 9110's fixed list (Connection,
 * Keep-Alive, TE, Trailer, Transfer-Encoding, Upgrade), is any Proxy-*
 * field (addressed to the proxy, and Proxy-Authorization carries a
 * credential), or is named by the message's Connection field.  The module
 * also names the client credentials the provider's key replaces and the
 * fields the daemon computes itself, and checks that a value is safe to
 * emit.  It does not parse or validate field values beyond that, and it
 * keeps no state.
 */
#include <string.h>
#include <strings.h>

#include "headers.h"

static int	headers_in_list(const char *name, const char *const *list);
static int	headers_in_conn(const char *name, const char *conn);
static int	headers_is_ows(char c);

/* Fields that are hop-by-hop whatever the message says. */
static const char *const headers_hop_fixed[] = {
	"Connection",
	"Keep-Alive",
	"Proxy-Connection",
	"Proxy-Authenticate",
	"Proxy-Authorization",
	"TE",
	"Trailer",
	"Transfer-Encoding",
	"Upgrade",
	NULL
};

/* Fields that carry a client's credential. */
static const char *const headers_credentials[] = {
	"Authorization",
	"x-api-key",
	NULL
};

/* Request fields the daemon (through curl) sets towards the upstream. */
static const char *const headers_managed[] = {
	"Host",
	"Content-Length",
	"Expect",
	NULL
};

/* Return 1 if name equals an entry of the NULL-terminated list, any case. */
static int
headers_in_list(const char *name, const char *const *list)
{
	size_t	i;

	for (i = 0; list[i] != NULL; i++) {
		if (strcasecmp(name, list[i]) == 0)
			return 1;
	}
	return 0;
}

/* Return 1 if c is optional whitespace (RFC 9110 OWS: space or tab). */
static int
headers_is_ows(char c)
{
	return c == ' ' || c == '\t';
}

/* Return 1 if name is one of the comma-separated tokens of conn. */
static int
headers_in_conn(const char *name, const char *conn)
{
	const char	*p, *end;
	size_t		 nlen = strlen(name), tlen;

	p = conn;
	while (*p != '\0') {
		while (headers_is_ows(*p) || *p == ',')
			p++;
		end = p;
		while (*end != '\0' && *end != ',')
			end++;
		tlen = (size_t)(end - p);
		while (tlen > 0 && headers_is_ows(p[tlen - 1]))
			tlen--;
		if (tlen != 0 && tlen == nlen && strncasecmp(p, name,
		    nlen) == 0)
			return 1;
		p = end;
	}
	return 0;
}

/* Return 1 if a field called name must not be forwarded. */
int
headers_is_hop_by_hop(const char *name, const char *conn)
{
	if (name == NULL)
		return 0;
	if (headers_in_list(name, headers_hop_fixed))
		return 1;
	if (strncasecmp(name, "Proxy-", 6) == 0)
		return 1;
	if (conn != NULL && *name != '\0' && headers_in_conn(name, conn))
		return 1;
	return 0;
}

/* Return 1 if name carries a client credential. */
int
headers_is_credential(const char *name)
{
	return name != NULL && headers_in_list(name, headers_credentials);
}

/* Return 1 if name is a request field the daemon sets itself. */
int
headers_is_upstream_managed(const char *name)
{
	return name != NULL && headers_in_list(name, headers_managed);
}

/* Return 1 if value has no CR, LF or NUL within its len bytes. */
int
headers_value_is_clean(const char *value, size_t len)
{
	size_t	i;

	if (value == NULL)
		return len == 0;
	for (i = 0; i < len; i++) {
		if (value[i] == '\r' || value[i] == '\n' || value[i] == '\0')
			return 0;
	}
	return 1;
}
