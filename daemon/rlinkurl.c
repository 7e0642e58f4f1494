/* SPDX-License-Identifier: ISC */
/*
 * rlinkurl: the Redis URL parser.  Messages quote parts of the URL only
 * when it has no '@', that is no user info: a password with an unencoded
 * '/' would otherwise end up in a message about the host or the path.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "rlinkurl.h"

#define RLINKURL_TCP_SCHEME	"redis://"
#define RLINKURL_UNIX_SCHEME	"unix://"
/* Databases are numbered by an int on the server. */
#define RLINKURL_DB_MAX		2147483647L
/* Quoted pieces are cut to this many bytes. */
#define RLINKURL_QUOTE_MAX	64

/* What one parse is about: the result, and where messages go. */
struct rlinkurl_ctx {
	struct rlinkurl	*u;
	char		*err;
	size_t		 errlen;
	int		 quote;		/* no user info: pieces may be quoted */
};

static int	rlinkurl_fail(struct rlinkurl_ctx *x, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));
static const char *rlinkurl_quote(struct rlinkurl_ctx *x, const char *s,
		    size_t len, char *buf, size_t buflen);
static int	rlinkurl_number(const char *s, size_t len, long max,
		    long *out);
static int	rlinkurl_decode(const char *s, size_t len, char *out,
		    size_t outmax);
static int	rlinkurl_userinfo(struct rlinkurl_ctx *x, const char *s,
		    size_t len);
static int	rlinkurl_port(struct rlinkurl_ctx *x, const char *s,
		    size_t len);
static int	rlinkurl_host6(struct rlinkurl_ctx *x, const char *s,
		    size_t len);
static int	rlinkurl_host(struct rlinkurl_ctx *x, const char *s,
		    size_t len);
static int	rlinkurl_db(struct rlinkurl_ctx *x, const char *what,
		    const char *s, size_t len);
static int	rlinkurl_tcp(struct rlinkurl_ctx *x, const char *s);
static int	rlinkurl_unix(struct rlinkurl_ctx *x, const char *s);

/* Write the message to x's buffer; return -1. */
static int
rlinkurl_fail(struct rlinkurl_ctx *x, const char *fmt, ...)
{
	va_list	ap;

	if (x->errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(x->err, x->errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* Return s[0..len) in quotes for a message, or a stand-in if unsafe. */
static const char *
rlinkurl_quote(struct rlinkurl_ctx *x, const char *s, size_t len, char *buf,
    size_t buflen)
{
	if (!x->quote)
		return "(not shown: the URL has user info)";
	if (len > RLINKURL_QUOTE_MAX)
		len = RLINKURL_QUOTE_MAX;
	snprintf(buf, buflen, "\"%.*s\"", (int)len, s);
	return buf;
}

/* Parse len decimal digits (nothing else) up to max; return 0 or -1. */
static int
rlinkurl_number(const char *s, size_t len, long max, long *out)
{
	long	v = 0;
	size_t	i;

	if (len == 0)
		return -1;
	for (i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
		if (v > max)
			return -1;
	}
	*out = v;
	return 0;
}

/* Percent-decode s[0..len) into out (outmax bytes and a NUL); 0 or -1. */
static int
rlinkurl_decode(const char *s, size_t len, char *out, size_t outmax)
{
	size_t	i, n = 0;
	int	hi, lo;

	for (i = 0; i < len; i++) {
		if (n == outmax)
			return -1;
		if (s[i] != '%') {
			out[n++] = s[i];
			continue;
		}
		if (len - i < 3 || !isxdigit((unsigned char)s[i + 1]) ||
		    !isxdigit((unsigned char)s[i + 2]))
			return -1;
		hi = isdigit((unsigned char)s[i + 1]) ? s[i + 1] - '0' :
		    tolower((unsigned char)s[i + 1]) - 'a' + 10;
		lo = isdigit((unsigned char)s[i + 2]) ? s[i + 2] - '0' :
		    tolower((unsigned char)s[i + 2]) - 'a' + 10;
		if (hi == 0 && lo == 0)
			return -1;	/* a NUL would cut the string */
		out[n++] = (char)(hi << 4 | lo);
		i += 2;
	}
	out[n] = '\0';
	return 0;
}

/* Parse "[user]:password" (s[0..len), before the '@'). */
static int
rlinkurl_userinfo(struct rlinkurl_ctx *x, const char *s, size_t len)
{
	const char	*colon;
	size_t		 ulen;

	if ((colon = memchr(s, ':', len)) == NULL)
		return rlinkurl_fail(x, "user info without ':' (write "
		    "\":password@\" or \"user:password@\")");
	ulen = colon - s;
	if (rlinkurl_decode(s, ulen, x->u->user, RLINKURL_USER_MAX) == -1)
		return rlinkurl_fail(x, "user: bad percent-encoding, or "
		    "longer than %d bytes", RLINKURL_USER_MAX);
	if (ulen + 1 == len)
		return rlinkurl_fail(x, "empty password after ':'");
	if (rlinkurl_decode(colon + 1, len - ulen - 1, x->u->password,
	    RLINKURL_PASSWORD_MAX) == -1)
		return rlinkurl_fail(x, "password: bad percent-encoding, or "
		    "longer than %d bytes", RLINKURL_PASSWORD_MAX);
	x->u->has_password = 1;
	return 0;
}

/* Parse the port, s[0..len) after the ':'. */
static int
rlinkurl_port(struct rlinkurl_ctx *x, const char *s, size_t len)
{
	char	q[RLINKURL_QUOTE_MAX + 8];
	long	port;

	if (rlinkurl_number(s, len, 65535, &port) == -1 || port == 0)
		return rlinkurl_fail(x, "port %s is not a number from 1 to "
		    "65535", rlinkurl_quote(x, s, len, q, sizeof q));
	x->u->port = (int)port;
	return 0;
}

/* Parse "[IPv6]" and an optional ":PORT", s[0..len) from the '['. */
static int
rlinkurl_host6(struct rlinkurl_ctx *x, const char *s, size_t len)
{
	struct in6_addr	 a6;
	const char	*end;
	char		 q[RLINKURL_QUOTE_MAX + 8];
	size_t		 hlen;

	if ((end = memchr(s, ']', len)) == NULL)
		return rlinkurl_fail(x, "'[' without ']' in the host");
	hlen = end - s - 1;
	if (hlen <= RLINKURL_HOST_MAX) {
		memcpy(x->u->host, s + 1, hlen);
		x->u->host[hlen] = '\0';
	}
	if (hlen > RLINKURL_HOST_MAX ||
	    inet_pton(AF_INET6, x->u->host, &a6) != 1)
		return rlinkurl_fail(x, "host %s is not an IPv6 address",
		    rlinkurl_quote(x, s, end - s + 1, q, sizeof q));
	if (end + 1 == s + len)
		return 0;
	if (end[1] != ':')
		return rlinkurl_fail(x, "junk after ']' in the host");
	return rlinkurl_port(x, end + 2, s + len - end - 2);
}

/* Parse HOST[:PORT], s[0..len): an address literal or localhost. */
static int
rlinkurl_host(struct rlinkurl_ctx *x, const char *s, size_t len)
{
	struct in_addr	 a4;
	const char	*colon;
	char		 q[RLINKURL_QUOTE_MAX + 8];
	size_t		 hlen;

	x->u->port = RLINKURL_DEFAULT_PORT;
	if (len > 0 && s[0] == '[')
		return rlinkurl_host6(x, s, len);
	colon = memchr(s, ':', len);
	hlen = colon != NULL ? (size_t)(colon - s) : len;
	if (hlen == 0)
		return rlinkurl_fail(x, "no host");
	if (hlen == 9 && strncasecmp(s, "localhost", 9) == 0)
		snprintf(x->u->host, sizeof x->u->host, "127.0.0.1");
	else {
		snprintf(x->u->host, sizeof x->u->host, "%.*s", (int)hlen, s);
		if (hlen > RLINKURL_HOST_MAX ||
		    inet_pton(AF_INET, x->u->host, &a4) != 1)
			return rlinkurl_fail(x, "host %s: give an IPv4 "
			    "address, an [IPv6] address or localhost (a name "
			    "would be resolved with a blocking call)",
			    rlinkurl_quote(x, s, hlen, q, sizeof q));
	}
	if (colon == NULL)
		return 0;
	return rlinkurl_port(x, colon + 1, len - hlen - 1);
}

/* Parse a database number, s[0..len); what names where it was. */
static int
rlinkurl_db(struct rlinkurl_ctx *x, const char *what, const char *s,
    size_t len)
{
	char	q[RLINKURL_QUOTE_MAX + 8];
	long	db;

	if (rlinkurl_number(s, len, RLINKURL_DB_MAX, &db) == -1)
		return rlinkurl_fail(x, "%s %s is not a database number "
		    "(0 to %ld)", what, rlinkurl_quote(x, s, len, q, sizeof q),
		    RLINKURL_DB_MAX);
	x->u->db = (int)db;
	return 0;
}

/* Parse what follows "redis://". */
static int
rlinkurl_tcp(struct rlinkurl_ctx *x, const char *s)
{
	const char	*at = NULL, *p;
	size_t		 alen;

	x->u->kind = RLINKURL_TCP;
	alen = strcspn(s, "/?#");
	if (s[alen] == '?' || s[alen] == '#' || strchr(s + alen, '@') != NULL)
		return rlinkurl_fail(x, "a query, a fragment or an '@' after "
		    "the host (the database is the path, \"/N\"; "
		    "percent-encode '/', '?' and '#' in a password)");
	for (p = s; p < s + alen; p++) {
		if (*p == '@')
			at = p;
	}
	if (at != NULL) {
		if (rlinkurl_userinfo(x, s, at - s) == -1)
			return -1;
		alen -= at + 1 - s;
		s = at + 1;
	}
	if (rlinkurl_host(x, s, alen) == -1)
		return -1;
	p = s + alen;
	if (*p == '\0' || strcmp(p, "/") == 0)
		return 0;
	return rlinkurl_db(x, "path", p + 1, strlen(p + 1));
}

/* Parse what follows "unix://". */
static int
rlinkurl_unix(struct rlinkurl_ctx *x, const char *s)
{
	const char	*slash, *query;
	size_t		 plen;

	x->u->kind = RLINKURL_UNIX;
	if ((slash = strchr(s, '/')) == NULL)
		return rlinkurl_fail(x, "no socket path (unix:///path)");
	if (slash != s) {
		if (slash[-1] != '@')
			return rlinkurl_fail(x, "the socket path must be "
			    "absolute (unix:///path)");
		if (rlinkurl_userinfo(x, s, slash - 1 - s) == -1)
			return -1;
	}
	query = strchr(slash, '?');
	plen = query != NULL ? (size_t)(query - slash) : strlen(slash);
	if (plen > RLINKURL_PATH_MAX)
		return rlinkurl_fail(x, "socket path longer than %d bytes",
		    RLINKURL_PATH_MAX);
	memcpy(x->u->path, slash, plen);
	x->u->path[plen] = '\0';
	if (query == NULL)
		return 0;
	if (strncmp(query, "?db=", 4) != 0)
		return rlinkurl_fail(x, "the only query is \"?db=N\"");
	return rlinkurl_db(x, "db", query + 4, strlen(query + 4));
}

/* Parse s into u; return 0, or -1 with err saying what is wrong. */
int
rlinkurl_parse(const char *s, struct rlinkurl *u, char *err, size_t errlen)
{
	struct rlinkurl_ctx	x = { u, err, errlen, 0 };
	size_t			tlen = strlen(RLINKURL_TCP_SCHEME);
	size_t			ulen = strlen(RLINKURL_UNIX_SCHEME);

	memset(u, 0, sizeof *u);
	if (errlen > 0)
		err[0] = '\0';
	x.quote = strchr(s, '@') == NULL;
	if (strncasecmp(s, RLINKURL_TCP_SCHEME, tlen) == 0)
		return rlinkurl_tcp(&x, s + tlen);
	if (strncasecmp(s, RLINKURL_UNIX_SCHEME, ulen) == 0)
		return rlinkurl_unix(&x, s + ulen);
	if (strncasecmp(s, "rediss://", 9) == 0)
		return rlinkurl_fail(&x, "rediss:// (TLS) is not supported: "
		    "hiredis 0.14 has no TLS");
	return rlinkurl_fail(&x, "the URL must start with redis:// or "
	    "unix://");
}

/* Write where u points, without user or password, for log lines. */
void
rlinkurl_describe(const struct rlinkurl *u, char *buf, size_t len)
{
	if (u->kind == RLINKURL_UNIX)
		snprintf(buf, len, "unix:%s?db=%d", u->path, u->db);
	else if (strchr(u->host, ':') != NULL)
		snprintf(buf, len, "[%s]:%d/%d", u->host, u->port, u->db);
	else
		snprintf(buf, len, "%s:%d/%d", u->host, u->port, u->db);
}
