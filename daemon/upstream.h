/* SPDX-License-Identifier: ISC */
/*
 * upstream: one request's exchange with a provider.
 *
 * For a proxied provider this is a libcurl easy handle on the daemon's one
 * curl multi handle, which the libevent loop drives (curl's multi-event.c
 * wiring: a socket callback keeping one event per socket, a timer
 * callback keeping one evtimer).  For a simulated provider it is sim.c.
 * Either way the caller sees the same three callbacks: status and headers,
 * body bytes (which it may refuse, pausing the transfer), and the end.
 * This module does not decide when to send (admission) nor what the client
 * sees; stream.c does.
 */
#ifndef UPSTREAM_H
#define UPSTREAM_H

#include <stddef.h>

struct event_base;
struct evhttp_request;
struct evkeyvalq;
struct provider_config;
struct upstream;
struct upstream_loop;

/* How a transfer ended. */
enum upstream_result {
	UPSTREAM_OK,
	UPSTREAM_CONNECT_FAILED,	/* refused, unreachable, DNS, TLS */
	UPSTREAM_CONNECT_TIMEOUT,	/* connect_timeout passed */
	UPSTREAM_FAILED			/* reset, garbage, truncated */
};

/* What to send: the client's request, translated for one provider. */
struct upstream_request {
	const struct provider_config	*pc;
	struct evhttp_request		*client;	/* method, headers */
	const char			*rest;		/* after base_url */
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

/* Return a loop driving transfers on base. */
struct upstream_loop	*upstream_loop_new(struct event_base *base);
/* Free ul; every upstream must have ended or been cancelled. */
void			 upstream_loop_free(struct upstream_loop *ul);
/* Return the number of transfers in progress. */
size_t			 upstream_loop_active(struct upstream_loop *ul);

/*
 * Start sending rq; the callbacks get arg.  rq's strings and body must
 * stay valid until done() or upstream_cancel().  Return NULL if the
 * transfer cannot even start (out of resources); nothing is called then.
 */
struct upstream		*upstream_start(struct upstream_loop *ul,
			    const struct upstream_request *rq,
			    const struct upstream_cbs *cbs, void *arg);
/* Resume a transfer that body() paused. */
void			 upstream_resume(struct upstream *u);
/* Stop u at once and free it; no callback runs afterwards. */
void			 upstream_cancel(struct upstream *u);
/*
 * Join every Connection field value in hdrs with ", " (NULL if none), for
 * headers_is_hop_by_hop(): request and response fields alike.  The
 * caller frees it.
 */
char			*upstream_connection_tokens(struct evkeyvalq *hdrs);

#endif /* UPSTREAM_H */
