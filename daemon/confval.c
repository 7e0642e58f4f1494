/* SPDX-License-Identifier: ISC */
/*
 * confval: the checks of single configuration values, and reading a key
 * from a file.
 *
 * Each check takes a value as the file gave it (it may tidy it in place,
 * as base_url loses its trailing slashes) and returns NULL or why it is
 * wrong, worded to follow the key's name in a message.  A check never
 * echoes the value: some are secrets.  confkey.c's key table names the
 * check of each key.  Pure: no libevent, no clock.
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "confval.h"
#include "rlinkurl.h"
#include "xmalloc.h"

#define CONFVAL_SECRET_MAX	16384	/* longest api_key_file, bytes */

/* Names the daemon routes itself (route.c has the same list). */
static const char *const confval_reserved[] = {
	"healthz", "metrics", "status", "v1", "batch", "ui", NULL
};

static int	confval_take_secret(char *buf, size_t len, char **key,
		    char *why, size_t whylen);
static int	confval_is_port(const char *s);

/* Read the key in regular file path into *key, or say why not. */
int
confval_read_secret(const char *path, char **key, char *why, size_t whylen)
{
	struct stat	 sb;
	char		*buf;
	size_t		 len = 0;
	ssize_t		 n;
	int		 fd;

	/* O_NONBLOCK: a FIFO must not hang the load; it is refused below. */
	fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd == -1 || fstat(fd, &sb) == -1) {
		snprintf(why, whylen, "cannot be opened: %s", strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	if (!S_ISREG(sb.st_mode)) {
		snprintf(why, whylen, "is not a regular file");
		close(fd);
		return -1;
	}
	buf = xmalloc(CONFVAL_SECRET_MAX + 1);
	do {
		n = read(fd, buf + len, CONFVAL_SECRET_MAX + 1 - len);
	} while (n > 0 && (len += n) <= CONFVAL_SECRET_MAX);
	if (n == -1)
		snprintf(why, whylen, "cannot be read: %s", strerror(errno));
	close(fd);
	if (n == -1) {
		free(buf);
		return -1;
	}
	return confval_take_secret(buf, len, key, why, whylen);
}

/* Strip one newline from buf[0..len), check it, and free buf. */
static int
confval_take_secret(char *buf, size_t len, char **key, char *why,
    size_t whylen)
{
	volatile char	*p = buf;
	size_t		 i;
	int		 r = -1;

	if (len > CONFVAL_SECRET_MAX)
		snprintf(why, whylen, "is longer than %d bytes",
		    CONFVAL_SECRET_MAX);
	else {
		if (len > 0 && buf[len - 1] == '\n')
			len -= len > 1 && buf[len - 2] == '\r' ? 2 : 1;
		if (len == 0)
			snprintf(why, whylen, "is empty");
		else if (confval_has_ctl(buf, len))
			snprintf(why, whylen, "has a control character "
			    "(CR, LF, NUL, ...) in its key");
		else {
			*key = xstrndup(buf, len);
			r = 0;
		}
	}
	for (i = 0; i < CONFVAL_SECRET_MAX + 1; i++)
		p[i] = '\0';
	free(buf);
	return r;
}

/* Return 1 if s[0..len) has a control character (CR, LF, NUL, DEL...). */
int
confval_has_ctl(const char *s, size_t len)
{
	size_t	i;

	for (i = 0; i < len; i++) {
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 1;
	}
	return 0;
}

/* Return 1 if s is a decimal port, 0 to 65535. */
static int
confval_is_port(const char *s)
{
	size_t	len = strlen(s);

	if (len == 0 || len > 5 || strspn(s, "0123456789") != len)
		return 0;
	return atoi(s) <= 65535;
}

/* Check a listen address: IPV4:PORT, [IPV6]:PORT or localhost:PORT. */
const char *
confval_listen(char *v)
{
	const char	*why = "must be IPV4:PORT, [IPV6]:PORT or "
			    "localhost:PORT, with PORT 0 to 65535";
	char		 host[INET6_ADDRSTRLEN + 1], *colon;
	unsigned char	 addr[sizeof(struct in6_addr)];
	size_t		 hlen;
	int		 v6 = v[0] == '[';

	if ((colon = strrchr(v, ':')) == NULL || !confval_is_port(colon + 1))
		return why;
	hlen = colon - v;
	if (v6 && (hlen < 3 || v[hlen - 1] != ']'))
		return why;
	if (v6)
		hlen -= 2;
	if (hlen >= sizeof host)
		return why;
	memcpy(host, v + v6, hlen);
	host[hlen] = '\0';
	if (!v6 && strcmp(host, "localhost") == 0)
		return NULL;
	if (inet_pton(v6 ? AF_INET6 : AF_INET, host, addr) != 1)
		return why;
	return NULL;
}

/* Check a provider name: a safe, unreserved URL path segment. */
const char *
confval_name(char *v)
{
	size_t	i, len = strlen(v);

	if (len == 0 || len > CONFVAL_NAME_MAX || strspn(v, "abcdefghijklmnop"
	    "qrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != len)
		return "must be 1 to 64 letters, digits, _ . or -";
	if (strcmp(v, ".") == 0 || strcmp(v, "..") == 0)
		return "must not be . or ..";
	for (i = 0; confval_reserved[i] != NULL; i++) {
		if (strcasecmp(v, confval_reserved[i]) == 0)
			return "is reserved (healthz, metrics, status, v1, "
			    "batch, ui)";
	}
	return NULL;
}

/* Return 1 if s (len bytes) is 1 to 64 of [A-Za-z0-9._-]. */
int
confval_is_client_name(const char *s, size_t len)
{
	size_t	i;

	if (len == 0 || len > CONFVAL_NAME_MAX)
		return 0;
	for (i = 0; i < len; i++) {
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' &&
		    s[i] != '.' && s[i] != '-')
			return 0;
	}
	return 1;
}

/*
 * Check a client's name: a label value and a logfmt value, so the same
 * letters as x-llmproxy-client allows; default and other are the names
 * the daemon gives requests it cannot name otherwise.
 */
const char *
confval_client_name(char *v)
{
	if (!confval_is_client_name(v, strlen(v)))
		return "must be 1 to 64 letters, digits, _ . or -";
	if (strcmp(v, "default") == 0 || strcmp(v, "other") == 0)
		return "is reserved (default, other)";
	return NULL;
}

/*
 * Check a Redis URL with the link's own parser (rlinkurl.c), so that what
 * the configuration accepts is what the daemon can connect to; its
 * messages never quote the user or password.
 */
const char *
confval_redis_url(char *v)
{
	static char	why[300];
	struct rlinkurl	u;
	char		err[256];
	int		r;

	r = rlinkurl_parse(v, &u, err, sizeof err);
	explicit_bzero(&u, sizeof u);
	if (r == 0)
		return NULL;
	snprintf(why, sizeof why, "is not usable: %s", err);
	return why;
}

/* Check a key prefix: no space, no brace, at most 64 bytes. */
const char *
confval_key_prefix(char *v)
{
	size_t	i;

	if (strlen(v) > 64)
		return "must be at most 64 bytes";
	for (i = 0; v[i] != '\0'; i++) {
		if ((unsigned char)v[i] <= ' ' || (unsigned char)v[i] >= 0x7f ||
		    v[i] == '{' || v[i] == '}')
			return "must be visible ASCII without spaces or braces "
			    "(the braces are the provider's hash tag)";
	}
	return NULL;
}

/*
 * Check a model group's match: it is a label value in /metrics and a
 * logfmt value, so visible ASCII without quotes or backslashes; '*' only
 * as the last byte (a prefix).
 */
const char *
confval_match(char *v)
{
	size_t	i, len = strlen(v);

	if (len == 0 || len > 256)
		return "must be 1 to 256 bytes";
	for (i = 0; i < len; i++) {
		if (v[i] <= 0x20 || v[i] >= 0x7f || v[i] == '"' ||
		    v[i] == '\\')
			return "must be visible ASCII, without quotes or "
			    "backslashes";
		if (v[i] == '*' && i + 1 < len)
			return "may have '*' only at its end (a prefix)";
	}
	return NULL;
}

/* Check base_url and drop its trailing slashes. */
const char *
confval_url(char *v)
{
	size_t	len, skip;

	if (strncasecmp(v, "http://", 7) == 0)
		skip = 7;
	else if (strncasecmp(v, "https://", 8) == 0)
		skip = 8;
	else
		return "must start with http:// or https://";
	len = strlen(v);
	if (confval_has_ctl(v, len) || strpbrk(v, " ?#") != NULL)
		return "must not have spaces, control characters, ? or #";
	while (len > skip && v[len - 1] == '/')
		v[--len] = '\0';
	if (len == skip || v[skip] == '/')
		return "must name a host";
	return NULL;
}

/* Check a token or Host value: visible ASCII.  Never echo it. */
const char *
confval_token(char *v)
{
	size_t	i;

	if (v[0] == '\0')
		return "must not be empty";
	for (i = 0; v[i] != '\0'; i++) {
		if ((unsigned char)v[i] <= ' ' || (unsigned char)v[i] >= 0x7f)
			return "must be visible ASCII, without spaces";
	}
	return NULL;
}

/*
 * Check a model_map entry, "FROM=TO": two model names of visible ASCII
 * with no quote, backslash or '=' of their own (they are spliced into a
 * JSON string as they are).
 */
const char *
confval_model_map(char *v)
{
	const char	*eq = strchr(v, '=');
	size_t		 i;

	if (eq == NULL || eq == v || eq[1] == '\0' || strchr(eq + 1, '=') !=
	    NULL)
		return "must be FROM=TO, two model names";
	for (i = 0; v[i] != '\0'; i++) {
		if ((unsigned char)v[i] <= ' ' || (unsigned char)v[i] >= 0x7f ||
		    v[i] == '"' || v[i] == '\\')
			return "must be visible ASCII without quotes or "
			    "backslashes";
	}
	return NULL;
}

/* Check an origin: SCHEME://HOST[:PORT] as browsers send it. */
const char *
confval_origin(char *v)
{
	const char	*why, *sep;

	if ((why = confval_token(v)) != NULL)
		return why;
	if ((sep = strstr(v, "://")) == NULL || sep == v || sep[3] == '\0' ||
	    strchr(sep + 3, '/') != NULL)
		return "must be SCHEME://HOST[:PORT], with no path";
	return NULL;
}

/* Check an environment variable name (a key here would be echoed). */
const char *
confval_env(char *v)
{
	size_t	len = strlen(v);

	if (len == 0 || (v[0] >= '0' && v[0] <= '9') || strspn(v,
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")
	    != len)
		return "must be a variable name, [A-Za-z_][A-Za-z0-9_]*";
	return NULL;
}

/* Check a path is not empty. */
const char *
confval_path(char *v)
{
	return v[0] == '\0' ? "must not be empty" : NULL;
}
