/* SPDX-License-Identifier: ISC */
/*
 * upstream: one request's exchange with a provider.
 *
 * For a proxied provider this is a libcurl easy handle on one of the
 * daemon's curl multi handles (curlev.c's shards), which the libevent
 * loop drives.  For a simulated provider it is sim.c.
 * Either way the caller sees the same three callbacks: status and headers,
 * body bytes (which it may refuse, pausing the transfer), and the end.
 * This module does not decide when to send (admission) nor what the client
 * sees; attempt.c and exchange.c do.
 */
#ifndef UPSTREAM_H
#define UPSTREAM_H

#include <stddef.h>

struct event_base;
struct evkeyvalq;
struct provider_config;
struct upstream;

/* How a transfer ended. */
enum upstream_result {
	UPSTREAM_OK,
	UPSTREAM_CONNECT_FAILED,	/* refused, unreachable, DNS, TLS */
	UPSTREAM_CONNECT_TIMEOUT,	/* connect_timeout passed */
	UPSTREAM_FAILED			/* reset, garbage, truncated */
};

/*
 * What to send, spelled out (a client's request, a batch item, a request
 * moved to another provider): the header fields are translated for the
 * provider (hop-by-hop and credential fields dropped, its key added).
 */
struct upstream_request {
	const struct provider_config	*pc;
	const char			*method;	/* "GET", "POST", ... */
	const char			*rest;		/* after base_url */
	struct evkeyvalq		*headers;
	const char			*body;
	size_t				 body_len;
};

struct upstream_cbs {
	/*
	 * The final status and headers arrived (hop-by-hop fields still in;
	 * the caller filters).  headers stays valid until the upstream ends;
	 * the caller may move fields out of it (they are evhttp_add_header()
	 * allocations, for evhttp_clear_headers() to free).
	 */
	void	(*headers)(void *arg, int status, struct evkeyvalq *headers);
	/*
	 * Body bytes arrived.  Return 0 once they are taken, or 1 to pause:
	 * the same bytes come again after upstream_resume().
	 */
	int	(*body)(void *arg, const char *data, size_t len);
	/*
	 * The transfer is over; why is a short description for logs (no
	 * credentials).  The upstream is freed when this returns: do not
	 * call upstream_cancel() from here.
	 */
	void	(*done)(void *arg, enum upstream_result res, const char *why);
};

/* Drive every transfer from now on on base (at start-up). */
void			 upstream_init(struct event_base *base);
/* Free the transfers' machinery; every upstream must have ended. */
void			 upstream_shutdown(void);

/*
 * Start sending rq; the callbacks get arg.  rq's strings, fields and
 * body must stay valid until done() or upstream_cancel().  Return NULL if
 * the transfer cannot even start (out of resources); nothing is called
 * then.
 */
struct upstream		*upstream_start(const struct upstream_request *rq,
			    const struct upstream_cbs *cbs, void *arg);
/*
 * Return u's response header fields (those headers() was given, or being
 * collected): valid until done() returns.
 */
struct evkeyvalq	*upstream_headers(struct upstream *u);
/* Resume a transfer that body() paused. */
void			 upstream_resume(struct upstream *u);
/*
 * Stop u at once; no callback runs afterwards.  Safe from inside any
 * curl callback, u's own or another transfer's: curl refuses to remove a
 * handle from a multi handle that is running a callback, so u is then
 * freed once that multi handle's call has returned.
 */
void			 upstream_cancel(struct upstream *u);
/*
 * Join every Connection field value in hdrs with ", " (NULL if none), for
 * headers_is_hop_by_hop(): request and response fields alike.  The
 * caller frees it.
 */
char			*upstream_connection_tokens(struct evkeyvalq *hdrs);

#endif /* UPSTREAM_H */
