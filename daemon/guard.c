/* SPDX-License-Identifier: ISC */
/*
 * guard: request hygiene, Host, Origin and client-token checks (SPEC 9).
 *
 * Hygiene refuses what evhttp lets through (PITFALLS.md): Content-Length
 * with Transfer-Encoding, a repeated or non-digit Content-Length, a repeated
 * or non-"chunked" Transfer-Encoding, more than one Host, header names that
 * are not tokens and control characters (CR, LF, ...) in values.  Host must
 * be a loopback name or address ("localhost", any "*.localhost" (RFC 6761:
 * they never leave the machine), 127.0.0.0/8, [::1]), with any port, or
 * match an allowed_hosts entry case-insensitively: an entry without a port
 * allows any port, an entry with one only that port.  Origin must equal an
 * allowed_origins entry, ignoring case.  Client tokens are compared against
 * every configured token without an early exit.  What it does not do: look
 * at raw bytes (chunk sizes, folded lines, NUL) that evhttp has parsed
 * away.  Pure: no libevent, no clock.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "guard.h"
#include "xmalloc.h"

/* Longest Access-Control-Request-Headers echoed in a preflight answer. */
#define GUARD_MAX_ALLOW_HEADERS	1024

static int	guard_is_tchar(int c);
static int	guard_is_token(const char *s);
static int	guard_has_ctl(const char *s);
static int	guard_trimmed_eq(const char *v, const char *want);
static int	guard_is_digits(const char *v);
static enum guard_verdict guard_check_one(const struct guard_header *h,
		    const char **why);
static int	guard_split_host(const char *host, size_t *namelen,
		    const char **port);
static int	guard_host_allowed(const struct config *cf, const char *host,
		    size_t namelen, const char *port);
static int	guard_is_dns_name(const char *s, size_t len);
static const char *guard_trim(const char *s, size_t *len);
static int	guard_ct_eq(const char *a, size_t alen, const char *b);

/* Return 1 if c may appear in an RFC 9110 token. */
static int
guard_is_tchar(int c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return 1;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Return 1 if s is a non-empty token (a valid header name). */
static int
guard_is_token(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++) {
		if (!guard_is_tchar((unsigned char)*s))
			return 0;
	}
	return 1;
}

/* Return 1 if s holds a control character other than a tab (CR, LF...). */
static int
guard_has_ctl(const char *s)
{
	for (; *s != '\0'; s++) {
		if (((unsigned char)*s < 0x20 && *s != '\t') || *s == 0x7f)
			return 1;
	}
	return 0;
}

/* Trim spaces and tabs around s; return its start and set *len. */
static const char *
guard_trim(const char *s, size_t *len)
{
	s += strspn(s, " \t");
	*len = strlen(s);
	while (*len > 0 && (s[*len - 1] == ' ' || s[*len - 1] == '\t'))
		(*len)--;
	return s;
}

/* Return 1 if v, trimmed, equals want ignoring case. */
static int
guard_trimmed_eq(const char *v, const char *want)
{
	size_t	len;

	v = guard_trim(v, &len);
	return len == strlen(want) && strncasecmp(v, want, len) == 0;
}

/* Return 1 if v, trimmed, is one or more digits. */
static int
guard_is_digits(const char *v)
{
	size_t	len, i;

	v = guard_trim(v, &len);
	if (len == 0)
		return 0;
	for (i = 0; i < len; i++) {
		if (v[i] < '0' || v[i] > '9')
			return 0;
	}
	return 1;
}

/* Check one header on its own. */
static enum guard_verdict
guard_check_one(const struct guard_header *h, const char **why)
{
	if (!guard_is_token(h->name)) {
		*why = "a header name is not a token";
		return GUARD_BAD;
	}
	if (guard_has_ctl(h->value)) {
		*why = "a control character in a header value";
		return GUARD_BAD;
	}
	if (strcasecmp(h->name, "Content-Length") == 0 &&
	    !guard_is_digits(h->value)) {
		*why = "a malformed Content-Length";
		return GUARD_BAD;
	}
	if (strcasecmp(h->name, "Transfer-Encoding") == 0 &&
	    !guard_trimmed_eq(h->value, "chunked")) {
		*why = "a Transfer-Encoding other than chunked";
		return GUARD_BAD;
	}
	return GUARD_OK;
}

/* Check the head for smuggling shapes; on GUARD_BAD set *why. */
enum guard_verdict
guard_hygiene(const struct guard_header *h, size_t n, const char **why)
{
	size_t	i, ncl = 0, nte = 0, nhost = 0;

	for (i = 0; i < n; i++) {
		if (guard_check_one(&h[i], why) != GUARD_OK)
			return GUARD_BAD;
		if (strcasecmp(h[i].name, "Content-Length") == 0)
			ncl++;
		else if (strcasecmp(h[i].name, "Transfer-Encoding") == 0)
			nte++;
		else if (strcasecmp(h[i].name, "Host") == 0)
			nhost++;
	}
	*why = NULL;
	if (ncl > 1)
		*why = "more than one Content-Length";
	else if (nte > 1)
		*why = "more than one Transfer-Encoding";
	else if (ncl > 0 && nte > 0)
		*why = "both Content-Length and Transfer-Encoding";
	else if (nhost > 1)
		*why = "more than one Host";
	return *why == NULL ? GUARD_OK : GUARD_BAD;
}

/* Split host into a name and an optional port; -1 if malformed. */
static int
guard_split_host(const char *host, size_t *namelen, const char **port)
{
	const char	*p;

	if (host[0] == '[') {
		if ((p = strchr(host, ']')) == NULL)
			return -1;
		p++;
	} else
		p = host + strcspn(host, ":");
	*namelen = p - host;
	*port = NULL;
	if (*p == '\0')
		return 0;
	if (*p != ':' || p[1] == '\0' || strlen(p + 1) > 5 ||
	    strspn(p + 1, "0123456789") != strlen(p + 1))
		return -1;
	*port = p + 1;
	return 0;
}

/* Return 1 if s[0..len) is letters, digits, '-' and inner dots. */
static int
guard_is_dns_name(const char *s, size_t len)
{
	size_t	i;

	if (len == 0 || s[0] == '.' || s[len - 1] == '.')
		return 0;
	for (i = 0; i < len; i++) {
		if (s[i] == '.' && s[i + 1] == '.')
			return 0;
		if (s[i] != '.' && s[i] != '-' && !((s[i] >= 'a' &&
		    s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9')))
			return 0;
	}
	return 1;
}

/* Return 1 if host (no port) is a loopback name or address. */
int
guard_is_loopback(const char *host, size_t len)
{
	char		buf[INET6_ADDRSTRLEN];
	struct in6_addr	a6;
	struct in_addr	a4;

	if (len == 0 || len >= sizeof buf)
		return 0;
	if (host[0] == '[' && host[len - 1] == ']') {
		memcpy(buf, host + 1, len - 2);
		buf[len - 2] = '\0';
		return inet_pton(AF_INET6, buf, &a6) == 1 &&
		    IN6_IS_ADDR_LOOPBACK(&a6);
	}
	if (!guard_is_dns_name(host, len))
		return 0;
	if ((len == 9 && strncasecmp(host, "localhost", 9) == 0) ||
	    (len > 10 && strncasecmp(host + len - 10, ".localhost", 10) == 0))
		return 1;
	memcpy(buf, host, len);
	buf[len] = '\0';
	return inet_pton(AF_INET, buf, &a4) == 1 &&
	    (ntohl(a4.s_addr) >> 24) == 127;
}

/* Return 1 if host matches an allowed_hosts entry. */
static int
guard_host_allowed(const struct config *cf, const char *host,
    size_t namelen, const char *port)
{
	const char	*e, *eport;
	size_t		 i, elen;
	int		 ok = 0;

	for (i = 0; i < cf->nallowed_hosts; i++) {
		e = cf->allowed_hosts[i];
		if (guard_split_host(e, &elen, &eport) == -1)
			continue;
		if (eport != NULL)
			ok |= strcasecmp(e, host) == 0;
		else
			ok |= elen == namelen &&
			    strncasecmp(e, host, namelen) == 0;
	}
	return ok;
}

/* Check Host (NULL: absent) against loopback and cf->allowed_hosts. */
enum guard_verdict
guard_host(const struct config *cf, const char *host, int http11)
{
	const char	*port;
	size_t		 namelen;

	if (host == NULL)
		return http11 ? GUARD_BAD : GUARD_OK;
	if (guard_split_host(host, &namelen, &port) == -1)
		return GUARD_FORBIDDEN;
	if (guard_is_loopback(host, namelen) ||
	    guard_host_allowed(cf, host, namelen, port))
		return GUARD_OK;
	return GUARD_FORBIDDEN;
}

/* Check Origin (NULL: absent, a non-browser client). */
enum guard_verdict
guard_origin(const struct config *cf, const char *origin)
{
	size_t	i;
	int	ok = 0;

	if (origin == NULL)
		return GUARD_OK;
	for (i = 0; i < cf->nallowed_origins; i++)
		ok |= strcasecmp(origin, cf->allowed_origins[i]) == 0;
	return ok ? GUARD_OK : GUARD_FORBIDDEN;
}

/*
 * Compare a[0..alen) with the NUL-terminated b, in time that depends on
 * b's length only.
 */
static int
guard_ct_eq(const char *a, size_t alen, const char *b)
{
	size_t			blen = strlen(b), i;
	volatile unsigned char	d = 0;

	for (i = 0; i < blen; i++)
		d |= (unsigned char)b[i] ^
		    (unsigned char)(i < alen ? a[i] : 0);
	return d == 0 && alen == blen;
}

/*
 * Check the client's token (either header may be NULL) and say which
 * token it was; every token is compared, in constant time each.
 */
enum guard_verdict
guard_token(const struct config *cf, const char *authorization,
    const char *x_api_key, size_t *client)
{
	const char	*bearer = NULL, *xkey = NULL;
	size_t		 blen = 0, xlen = 0, i, who = 0;
	int		 ok = 0, eq;

	if (client != NULL)
		*client = 0;
	if (cf->nclients == 0)
		return GUARD_OK;
	if (authorization != NULL) {
		authorization = guard_trim(authorization, &blen);
		if (blen > 7 && strncasecmp(authorization, "Bearer", 6) == 0 &&
		    (authorization[6] == ' ' || authorization[6] == '\t')) {
			bearer = authorization + 6;
			blen -= 6;
			while (*bearer == ' ' || *bearer == '\t')
				bearer++, blen--;
		}
	}
	if (x_api_key != NULL)
		xkey = guard_trim(x_api_key, &xlen);
	for (i = 0; i < cf->nclients; i++) {
		eq = 0;
		if (bearer != NULL)
			eq |= guard_ct_eq(bearer, blen, cf->clients[i].token);
		if (xkey != NULL)
			eq |= guard_ct_eq(xkey, xlen, cf->clients[i].token);
		if (eq && who == 0)
			who = i + 1;
		ok |= eq;
	}
	if (client != NULL)
		*client = who;
	return ok ? GUARD_OK : GUARD_UNAUTHORIZED;
}

/* Return a safe copy of Access-Control-Request-Headers (NULL: none). */
char *
guard_allow_headers(const char *requested)
{
	char	*out;
	size_t	 i, n = 0;

	if (requested == NULL || strlen(requested) > GUARD_MAX_ALLOW_HEADERS)
		return NULL;
	out = xmalloc(strlen(requested) + 1);
	for (i = 0; requested[i] != '\0'; i++) {
		if (guard_is_tchar((unsigned char)requested[i]) ||
		    requested[i] == ',' || requested[i] == ' ')
			out[n++] = requested[i];
	}
	while (n > 0 && (out[n - 1] == ' ' || out[n - 1] == ','))
		n--;
	out[n] = '\0';
	if (n == 0 || strspn(out, " ,") == n) {
		free(out);
		return NULL;
	}
	return out;
}
