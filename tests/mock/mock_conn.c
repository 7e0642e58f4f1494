/* SPDX-License-Identifier: ISC */

/*
 * mock_conn: keep track of each client connection, from accept to close.
 * evhttp does not say when it accepts one, so the bufferevent callback
 * counts it as pending and an event later in the same loop pass adopts
 * it: finds the evhttp connection built around its bufferevent and
 * registers for its close.  Open connections are filed by socket, so
 * that a request finds its conn at once.  It does not answer anything:
 * a close ends the exchange in flight through mock_exch_gone().
 * Every accepted socket gets TCP_NODELAY, as a provider's front end
 * (nginx's tcp_nodelay) does: without it, on a kept-alive connection a
 * stream's second event waits for the client's delayed ACK (~40 ms).
 */

#include <sys/queue.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <err.h>
#include <stdlib.h>
#include <string.h>

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/util.h>

#include "mock.h"
#include "mock_conn.h"
#include "mock_exch.h"
#include "mock_state.h"

static struct conn *mock_conn_new(struct bufferevent *);
static void	 mock_conn_attach(struct conn *, struct evhttp_connection *,
		    evutil_socket_t);
static struct conn *mock_conn_byfd(evutil_socket_t);
static void	 mock_conn_setfd(evutil_socket_t, struct conn *);
static void	 mock_conn_adopt_all(void);
static void	 mock_conn_close_cb(struct evhttp_connection *, void *);

/* Count a new connection; it stays pending until adopted. */
static struct conn *
mock_conn_new(struct bufferevent *bev)
{
	struct conn	*c;

	c = mock_calloc(1, sizeof(*c));
	c->bev = bev;
	c->fd = -1;
	c->serial = ++mock.next_conn;
	TAILQ_INSERT_TAIL(&mock.pending, c, entry);
	mock.conns_open++;
	mock.conns_total++;
	return c;
}

/* Tie c to its evhttp connection, so that we hear when it closes. */
static void
mock_conn_attach(struct conn *c, struct evhttp_connection *evcon,
    evutil_socket_t fd)
{
	int	one = 1;

	/* Best effort: a socket that refuses it still works, only later. */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	TAILQ_REMOVE(&mock.pending, c, entry);
	TAILQ_INSERT_TAIL(&mock.open, c, entry);
	c->adopted = 1;
	c->evcon = evcon;
	c->fd = fd;
	mock_conn_setfd(fd, c);
	evhttp_connection_set_closecb(evcon, mock_conn_close_cb, c);
}

/* Forget c: its connection is closing, or never came to be. */
void
mock_conn_free(struct conn *c)
{
	if (c->adopted) {
		TAILQ_REMOVE(&mock.open, c, entry);
		if (mock_conn_byfd(c->fd) == c)
			mock.byfd[c->fd] = NULL;
	} else
		TAILQ_REMOVE(&mock.pending, c, entry);
	mock.conns_open--;
	free(c);
}

/* Return the open conn on socket fd, or NULL. */
static struct conn *
mock_conn_byfd(evutil_socket_t fd)
{
	if (fd < 0 || (size_t)fd >= mock.nbyfd)
		return NULL;
	return mock.byfd[fd];
}

/* File c under socket fd, growing the table as needed. */
static void
mock_conn_setfd(evutil_socket_t fd, struct conn *c)
{
	struct conn	**t;
	size_t		  n;

	if ((size_t)fd >= mock.nbyfd) {
		n = mock.nbyfd < 1024 ? 1024 : mock.nbyfd;
		while (n <= (size_t)fd)
			n *= 2;
		if ((t = realloc(mock.byfd, n * sizeof(*t))) == NULL)
			err(1, "realloc");
		memset(t + mock.nbyfd, 0, (n - mock.nbyfd) * sizeof(*t));
		mock.byfd = t;
		mock.nbyfd = n;
	}
	mock.byfd[fd] = c;
}

/*
 * evhttp bevcb: make the bufferevent of each new connection and count
 * the connection.  evhttp builds its connection around this bufferevent
 * right after we return; mock_conn_adopt_cb then finds it there.
 */
struct bufferevent *
mock_conn_bev_cb(struct event_base *base, void *arg)
{
	struct bufferevent	*bev;

	if ((bev = bufferevent_socket_new(base, -1, 0)) == NULL)
		return NULL;	/* evhttp tries its own; see mock_conn_lookup */
	mock_conn_new(bev);
	event_active(mock.adopt, EV_TIMEOUT, 1);
	return bev;
}

/* Event callback: adopt the connections accepted in this loop pass. */
void
mock_conn_adopt_cb(evutil_socket_t fd, short what, void *arg)
{
	mock_conn_adopt_all();
}

/*
 * Attach each pending conn to the evhttp connection that owns its
 * bufferevent (the bufferevent's callback argument).  This runs in the
 * loop pass that accepted them, before their sockets can be read, so no
 * pending bufferevent can have been freed yet.
 */
static void
mock_conn_adopt_all(void)
{
	struct conn	*c;
	void		*evcon;
	evutil_socket_t	 fd;

	while ((c = TAILQ_FIRST(&mock.pending)) != NULL) {
		evcon = NULL;
		bufferevent_getcb(c->bev, NULL, NULL, NULL, &evcon);
		fd = bufferevent_getfd(c->bev);
		if (evcon == NULL || fd == -1)
			mock_conn_free(c);
		else
			mock_conn_attach(c, evcon, fd);
	}
}

/* Return the conn that req arrived on, making one if it is unknown. */
struct conn *
mock_conn_lookup(struct evhttp_request *req)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct bufferevent	 *bev;
	evutil_socket_t		  fd;
	struct conn		 *c;

	bev = evhttp_connection_get_bufferevent(evcon);
	fd = bufferevent_getfd(bev);
	if ((c = mock_conn_byfd(fd)) != NULL && c->evcon == evcon)
		return c;
	mock_conn_adopt_all();
	if ((c = mock_conn_byfd(fd)) != NULL && c->evcon == evcon)
		return c;
	c = mock_conn_new(bev);
	mock_conn_attach(c, evcon, fd);
	return c;
}

/*
 * evhttp closecb: the connection is being freed, by evhttp (the client
 * left, or the answer was the last on it) or by us.  An exchange still
 * in flight ends here: the client went away first.
 */
static void
mock_conn_close_cb(struct evhttp_connection *evcon, void *arg)
{
	struct conn	*c = arg;

	if (c->ex != NULL)
		mock_exch_gone(c->ex);
	mock_conn_free(c);
}

