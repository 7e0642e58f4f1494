/* SPDX-License-Identifier: ISC */
/*
 * conn: client connections as seen below evhttp.
 *
 * evhttp 2.1.12 has no connection limit, no deadline for a request head or
 * body, and reads framing leniently.  conn makes each connection's
 * bufferevent itself (evhttp_set_bevcb), so it can count connections, run
 * the header and body deadlines, and scan the raw bytes with httpscan
 * before evhttp parses them.  A request whose bytes httpscan refuses is
 * answered here, in JSON, and never reaches evhttp or the server.  The
 * server asks conn_check() about every request before anything else.  conn also answers accept() failures:
 * out of descriptors, a spare one is given up to answer 503 and close.
 */
#ifndef CONN_H
#define CONN_H

struct config;
struct evconnlistener;
struct evhttp;
struct evhttp_connection;
struct evhttp_request;
struct event_base;

enum conn_verdict {
	CONN_OK,
	CONN_SHED		/* over max_connections: 503 and close */
};

typedef void	(*conn_close_cb)(struct evhttp_connection *, void *);

/* Take over making evhttp's connections; call once, before listening. */
void		conn_init(struct event_base *base, struct evhttp *http);
/* Apply cf's limits and deadlines to connections from now on. */
void		conn_configure(const struct config *cf);
/* Forget every connection (evhttp is being freed). */
void		conn_shutdown(void);
/* Return the number of client connections open now. */
size_t		conn_count(void);
/* Say how req's connection may go on. */
enum conn_verdict conn_check(struct evhttp_request *req);
/*
 * Call cb when evcon closes (NULL: no longer).  This stands in for
 * evhttp_connection_set_closecb, whose one slot conn keeps for itself.
 */
void		conn_set_close_hook(struct evhttp_connection *evcon,
		    conn_close_cb cb, void *arg);
/* evconnlistener error callback: accept() failed. */
void		conn_accept_error_cb(struct evconnlistener *lev, void *arg);
/* The listeners are about to close: never resume a paused one. */
void		conn_stop_accepting(void);

#endif /* CONN_H */
