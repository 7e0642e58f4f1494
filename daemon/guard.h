/* SPDX-License-Identifier: ISC */
/*
 * guard: who may call, and what a request head may look like (SPEC 9).
 *
 * Each check takes what server.c read from the parsed request and gives a
 * verdict: request hygiene against smuggling shapes (400), the Host check
 * against DNS rebinding (403), the Origin check for browsers (403), and
 * client tokens compared in constant time (401).  The caller answers; this
 * module never sees a connection.  Pure: no libevent, no clock.
 */
#ifndef GUARD_H
#define GUARD_H

#include <stddef.h>

struct config;

enum guard_verdict {
	GUARD_OK,
	GUARD_BAD,		/* 400, and close the connection */
	GUARD_FORBIDDEN,	/* 403 */
	GUARD_UNAUTHORIZED	/* 401 */
};

/* One request header as received; duplicates are separate entries. */
struct guard_header {
	const char	*name;
	const char	*value;
};

/* Check the head for smuggling shapes; on GUARD_BAD set *why. */
enum guard_verdict guard_hygiene(const struct guard_header *h, size_t n,
		    const char **why);
/* Check Host (NULL: absent) against loopback and cf->allowed_hosts. */
enum guard_verdict guard_host(const struct config *cf, const char *host,
		    int http11);
/* Check Origin (NULL: absent, a non-browser client). */
enum guard_verdict guard_origin(const struct config *cf, const char *origin);
/*
 * Check the client's token (either header may be NULL) and say who the
 * client is in *client (when not NULL): 0 when no token is configured
 * (the client is then named by x-llmproxy-client, or default), else
 * i + 1 for cf->clients[i] (SPEC 11: a clients entry or a client_tokens
 * string).
 */
enum guard_verdict guard_token(const struct config *cf,
		    const char *authorization, const char *x_api_key,
		    size_t *client);
/* Return 1 if host (no port) is a loopback name or address. */
int		 guard_is_loopback(const char *host, size_t len);
/* Return a safe copy of Access-Control-Request-Headers (NULL: none). */
char		*guard_allow_headers(const char *requested);

#endif /* GUARD_H */
