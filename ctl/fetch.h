/* SPDX-License-Identifier: ISC */
/*
 * fetch: GET requests to the daemon's own endpoints, with libcurl.
 */
#ifndef FETCH_H
#define FETCH_H

#include <stddef.h>

/* How a GET ended.  The values are llmproxyctl's exit codes. */
enum fetch_result {
	FETCH_OK = 0,			/* a 2xx answer */
	FETCH_REFUSED = 1,		/* the daemon answered an error */
	FETCH_UNREACHABLE = 3		/* no HTTP answer at all */
};

struct fetch;

/* A body read by fetch_get(); NUL-terminated, owned by the struct fetch. */
struct fetch_reply {
	long		 status;
	const char	*body;
	size_t		 len;
};

/*
 * Make a client for the daemon at url (http://HOST:PORT[/prefix]).  The
 * token, if not NULL, is sent as a Bearer credential and never printed.
 * Each GET gives up after timeout_ms.  Connections are kept alive.
 */
struct fetch	*fetch_new(const char *url, const char *token,
		    long timeout_ms);
/*
 * GET path (e.g. "/status").  On FETCH_OK or FETCH_REFUSED r holds the
 * answer, valid until the next call; on FETCH_REFUSED and
 * FETCH_UNREACHABLE why says what went wrong.
 */
enum fetch_result fetch_get(struct fetch *f, const char *path,
		    struct fetch_reply *r, char *why, size_t whylen);
void		 fetch_free(struct fetch *f);

#endif /* FETCH_H */
