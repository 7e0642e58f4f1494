/* SPDX-License-Identifier: ISC */
/*
 * mock_state: the structs that several files of the mock upstream share,
 * and the one global that holds the server.  struct conn is one client
 * connection (mock_conn.c), struct exch one request being answered
 * (mock_exch.c, planned and filled by mock_answer.c, logged by
 * mock_reqlog.c), struct mock_state the listeners, the connection lists
 * and the counters (set up by mock_upstream.c, shown by mock_ctl.c).
 * Everything else stays private to its file.
 */
#ifndef MOCK_STATE_H
#define MOCK_STATE_H

#include <sys/queue.h>

#include <stddef.h>
#include <stdint.h>

#include <event2/util.h>

#include "mock_opts.h"

struct bufferevent;
struct evbuffer;
struct event;
struct event_base;
struct evhttp;
struct evhttp_connection;
struct evhttp_request;

enum mock_route { ROUTE_ECHO, ROUTE_OPENAI, ROUTE_ANTHROPIC };

/* One client connection, from accept to close. */
struct conn {
	struct bufferevent	 *bev;		/* made in mock_conn_bev_cb */
	struct evhttp_connection *evcon;	/* set once adopted */
	struct exch		 *ex;		/* the exchange in flight */
	uint64_t		  serial;
	evutil_socket_t		  fd;
	int			  adopted;	/* on the open list */
	TAILQ_ENTRY(conn)	  entry;	/* pending or open list */
};
TAILQ_HEAD(conn_list, conn);

/* One provider or echo request, from arrival to its last byte. */
struct exch {
	struct evhttp_request	*req;		/* handed back at the finish */
	struct conn		*conn;
	struct event		*timer;		/* delay, pacing, trickle */
	struct event		*watch;		/* is the client still there? */
	struct evbuffer		*buf;		/* the JSON body to send */
	struct evbuffer		*out;		/* scratch for each write */
	void			(*timer_step)(struct exch *);
	void			(*drain_step)(struct exch *);
	char			*model;		/* JSON-encoded, with quotes */
	uint64_t		 seq;
	enum mock_route		 route;
	int			 provider;	/* POST to a provider path */
	int			 code;
	int			 stream;
	int			 include_usage;
	long			 prompt_tokens;
	long			 sent;		/* stream events sent */
	struct mock_opts	 o;
};

/* All state: one server per process. */
struct mock_state {
	struct event_base	*base;
	struct evhttp		*http;
	struct event		*adopt;		/* runs mock_conn_adopt_all() */
	struct conn_list	 pending;	/* accepted, not yet adopted */
	struct conn_list	 open;
	struct conn		**byfd;		/* open conns by socket */
	size_t			 nbyfd;
	uint64_t		 next_conn;
	uint64_t		 next_seq;
	long long		 active, peak, total;
	long long		 conns_open, conns_total;
	int			 early_close;	/* base has EV_CLOSED */
};

extern struct mock_state mock;		/* in mock_upstream.c */

#endif /* MOCK_STATE_H */
