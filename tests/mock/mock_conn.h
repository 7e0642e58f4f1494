/* SPDX-License-Identifier: ISC */
/*
 * mock_conn: the client connections (struct conn, mock_state.h), each
 * known from accept to close, so that connections can be counted and
 * an exchange learns when its client has left.
 */
#ifndef MOCK_CONN_H
#define MOCK_CONN_H

#include <event2/util.h>

struct bufferevent;
struct conn;
struct event_base;
struct evhttp_request;

/* evhttp bevcb: make and count the bufferevent of a new connection. */
struct bufferevent *mock_conn_bev_cb(struct event_base *base, void *arg);
/* Event callback: adopt the connections accepted in this loop pass. */
void	mock_conn_adopt_cb(evutil_socket_t fd, short what, void *arg);
/* Return the conn that req arrived on, making one if it is unknown. */
struct conn *mock_conn_lookup(struct evhttp_request *req);
/* Forget c: its connection is closing, or never came to be. */
void	mock_conn_free(struct conn *c);

#endif /* MOCK_CONN_H */
