/* SPDX-License-Identifier: ISC */
/*
 * server: the client side: listeners, evhttp, routing, the daemon's own
 * endpoints.  Requests for a provider are handed to exchange.c.
 */
#ifndef SERVER_H
#define SERVER_H

struct config;
struct event_base;
struct server;

/* Bind every cf->listen address; on error return NULL and set *cause. */
struct server	*server_new(struct event_base *base, struct config *cf,
		    char **cause);
/* Serve new requests under cf (a reload); cf must outlive its use. */
void		 server_set_config(struct server *srv, struct config *cf);
/*
 * Stop accepting, let requests in progress finish for up to
 * shutdown_timeout, end the rest, then leave the event loop.
 */
void		 server_shutdown(struct server *srv);
/* Close the listeners and every client connection (ending their exchanges). */
void		 server_free(struct server *srv);

#endif /* SERVER_H */
