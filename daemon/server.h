/* SPDX-License-Identifier: ISC */
/*
 * server: the client side: listeners, evhttp, routing, the daemon's own
 * endpoints.  Requests for a provider are handed to stream.c.
 */
#ifndef SERVER_H
#define SERVER_H

struct config;
struct event_base;
struct server;
struct upstream_loop;

/* Bind every cf->listen address; on error return NULL and set *cause. */
struct server	*server_new(struct event_base *base, const struct config *cf,
		    struct upstream_loop *ul, char **cause);
/* Close the listeners and every client connection (ending their streams). */
void		 server_free(struct server *srv);

#endif /* SERVER_H */
