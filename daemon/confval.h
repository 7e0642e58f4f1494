/* SPDX-License-Identifier: ISC */
/*
 * confval: the checks of single configuration values, and reading a key
 * from a file.  Each check returns NULL, or why the value is wrong.
 */
#ifndef CONFVAL_H
#define CONFVAL_H

#include <stddef.h>

#define CONFVAL_NAME_MAX	64	/* longest provider name */

/* Return 1 if s[0..len) has a control character (CR, LF, NUL, DEL...). */
int		 confval_has_ctl(const char *s, size_t len);
/* IPV4:PORT, [IPV6]:PORT or localhost:PORT. */
const char	*confval_listen(char *v);
/* A provider name: a safe, unreserved URL path segment. */
const char	*confval_name(char *v);
/* A model group's match: a name, or a prefix ending in '*'. */
const char	*confval_match(char *v);
/* A client's name (SPEC 11): as a provider's, not default or other. */
const char	*confval_client_name(char *v);
/* Return 1 if s (len bytes) is 1 to 64 of [A-Za-z0-9._-]. */
int		 confval_is_client_name(const char *s, size_t len);
/*
 * A Redis URL the link can use (rlinkurl.h): redis://...HOST[:PORT][/DB]
 * with HOST an address or localhost, or unix:///PATH[?db=N].  The message
 * never repeats user info (it may hold a password).
 */
const char	*confval_redis_url(char *v);
/* A key prefix: visible ASCII without spaces or braces (hash tags). */
const char	*confval_key_prefix(char *v);
/* An http(s) base URL; its trailing slashes are dropped. */
const char	*confval_url(char *v);
/* A client token or Host value: visible ASCII, no spaces. */
const char	*confval_token(char *v);
/* A browser origin: SCHEME://HOST[:PORT]. */
const char	*confval_origin(char *v);
/* Check a model_map entry: "FROM=TO". */
const char	*confval_model_map(char *v);
/* An environment variable name. */
const char	*confval_env(char *v);
/* A path: not empty. */
const char	*confval_path(char *v);
/* Read the key in regular file path into *key, or put why not in why. */
int		 confval_read_secret(const char *path, char **key, char *why,
		    size_t whylen);

#endif /* CONFVAL_H */
