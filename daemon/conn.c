/* SPDX-License-Identifier: ISC */
/*
 * conn: client connections as seen below evhttp.
 *
 * evhttp_set_bevcb lets conn make each connection's bufferevent, and so
 * see the connection before evhttp does.  The bufferevent stays a plain
 * socket one, so evhttp's writes and flow control are untouched; conn
 * watches its input buffer with an evbuffer callback, which runs as bytes
 * are read and before evhttp parses them, and feeds them to httpscan.
 *
 * evhttp holds the connection (evhttp_connection) only after the bevcb
 * returns, so conn attaches to it from an event made active in the bevcb:
 * libevent runs it in the same loop pass, before the socket is read.
 * Attaching also sets TCP_NODELAY on the socket, whichever listener
 * accepted it (ours or the service manager's): evhttp does not, and on a
 * kept-alive connection Nagle's algorithm would hold a stream's small
 * writes until the client's delayed ACK, about 40 ms.
 * From then on conn owns the connection's close callback, which is how it
 * learns the connection is gone; stream.c sets its own through
 * conn_set_close_hook.  Connections are found from a request through the
 * socket's descriptor, which indexes a table.
 *
 * One timer per connection serves three uses in turn: the attach, the
 * header deadline (from the accept, or from a later request's first byte)
 * and the body deadline (from the end of the head).  Between requests
 * evhttp's keep-alive timeout applies; while a response is under way (a
 * close hook is set) the deadlines wait.
 */
#include <sys/resource.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>

#include "clock.h"
#include "config.h"
#include "conn.h"
#include "dialect.h"
#include "httpscan.h"
#include "log.h"
#include "metrics.h"
#include "xmalloc.h"

/* Descriptors kept back from client connections (listeners, logs, curl). */
#define CONN_FD_RESERVE		64
/* iovecs looked at per evbuffer_peek of newly read bytes. */
#define CONN_PEEK_IOV		8
/* Connections answered 503 per accept() failure callback, at most. */
#define CONN_SHED_BATCH		64
/* How long accepting pauses when not even a spare descriptor is left. */
#define CONN_PAUSE_MS		100
/* Listeners that can be paused at once (the server has at most 16). */
#define CONN_MAX_PAUSED		16

struct conn {
	struct bufferevent		*bev;
	struct evhttp_connection	*evcon;		/* once attached */
	struct event			*timer;	/* attach, then deadlines */
	struct evbuffer_cb_entry	*watch;	/* on the input buffer */
	int				 fd;
	int				 attached;
	int				 shed;		/* over the limit */
	uint64_t			 served;	/* requests checked */
	conn_close_cb			 hook;
	void				*hook_arg;
	struct httpscan			 scan;
};

static struct {
	struct event_base	*base;
	struct conn		**by_fd;
	size_t			 nfd;
	size_t			 live;
	size_t			 max;		/* connections allowed */
	struct timeval		 header_tv;
	struct timeval		 body_tv;
	double			 header_s;
	double			 body_s;
	int			 spare_fd;
	char			*overload;	/* the raw 503 response */
	size_t			 overload_len;
	time_t			 shed_logged;
	unsigned long long	 shed_unlogged;
	struct evconnlistener	*paused[CONN_MAX_PAUSED];
	size_t			 npaused;
	struct event		*resume;
} conn_all = { .spare_fd = -1 };

static struct bufferevent *conn_new_bev(struct event_base *base, void *arg);
static void	conn_attach(struct conn *c);
static void	conn_set_nodelay(int fd);
static void	conn_timer_cb(evutil_socket_t fd, short what, void *arg);
static void	conn_closed_cb(struct evhttp_connection *evcon, void *arg);
static void	conn_forget(struct conn *c);
static struct conn *conn_of(struct evhttp_connection *evcon);
static void	conn_input_cb(struct evbuffer *buf,
		    const struct evbuffer_cb_info *info, void *arg);
static void	conn_follow(struct conn *c, enum httpscan_phase was,
		    uint64_t seq_was);
static size_t	conn_fd_limit(void);
static void	conn_make_overload(void);
static int	conn_shed_one(evutil_socket_t lfd);
static void	conn_pause(struct evconnlistener *lev);
static void	conn_resume_cb(evutil_socket_t fd, short what, void *arg);

/* Take over making evhttp's connections; call once, before listening. */
void
conn_init(struct event_base *base, struct evhttp *http)
{
	conn_all.base = base;
	conn_all.nfd = conn_fd_limit();
	conn_all.by_fd = xcalloc(conn_all.nfd, sizeof *conn_all.by_fd);
	conn_all.spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	conn_make_overload();
	if ((conn_all.resume = evtimer_new(base, conn_resume_cb, NULL)) == NULL)
		fatalx("%s: out of memory", __func__);
	evhttp_set_bevcb(http, conn_new_bev, NULL);
}

/* The open-file limit now (the server raised it to the hard limit). */
static size_t
conn_fd_limit(void)
{
	struct rlimit	rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
		return 1024 * 1024;
	return (size_t)rl.rlim_cur;
}

/*
 * Apply cf.  Every client connection may need a second descriptor for its
 * upstream, so the limit is also held to half of what the open-file limit
 * leaves: past that, shedding beats failing a live stream.
 */
void
conn_configure(const struct config *cf)
{
	size_t	fd_cap = conn_all.nfd > 2 * CONN_FD_RESERVE ?
		    (conn_all.nfd - CONN_FD_RESERVE) / 2 : 1;

	conn_all.max = (size_t)cf->max_connections < fd_cap ?
	    (size_t)cf->max_connections : fd_cap;
	conn_all.header_s = cf->header_timeout;
	conn_all.body_s = cf->body_timeout;
	conn_all.header_tv = clock_tv_seconds(cf->header_timeout);
	conn_all.body_tv = clock_tv_seconds(cf->body_timeout);
	if (conn_all.max < (size_t)cf->max_connections)
		log_info("max_connections held to %zu by the open-file limit "
		    "(%zu)", conn_all.max, conn_all.nfd);
}

/* Forget every connection: evhttp has freed them (or is gone). */
void
conn_shutdown(void)
{
	size_t	i;

	conn_stop_accepting();
	if (conn_all.resume != NULL)
		event_free(conn_all.resume);
	conn_all.resume = NULL;
	for (i = 0; i < conn_all.nfd; i++) {
		if (conn_all.by_fd[i] != NULL)
			conn_forget(conn_all.by_fd[i]);
	}
	free(conn_all.by_fd);
	conn_all.by_fd = NULL;
	conn_all.nfd = 0;
	free(conn_all.overload);
	conn_all.overload = NULL;
	if (conn_all.spare_fd != -1)
		close(conn_all.spare_fd);
	conn_all.spare_fd = -1;
}

size_t
conn_count(void)
{
	return conn_all.live;
}

/* evhttp: a connection was accepted; make its bufferevent. */
static struct bufferevent *
conn_new_bev(struct event_base *base, void *arg)
{
	struct conn	*c;

	c = xcalloc(1, sizeof *c);
	c->fd = -1;
	c->bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	c->timer = evtimer_new(base, conn_timer_cb, c);
	if (c->bev == NULL || c->timer == NULL)
		fatalx("%s: out of memory", __func__);
	httpscan_init(&c->scan);
	c->shed = conn_all.live >= conn_all.max;
	conn_all.live++;
	c->watch = evbuffer_add_cb(bufferevent_get_input(c->bev),
	    conn_input_cb, c);
	event_active(c->timer, EV_TIMEOUT, 1);	/* attach, this pass */
	return c->bev;
}

/* evhttp now holds the connection: take its close callback. */
static void
conn_attach(struct conn *c)
{
	void	*cbarg = NULL;

	bufferevent_getcb(c->bev, NULL, NULL, NULL, &cbarg);
	c->evcon = cbarg;		/* evhttp's own callback argument */
	c->fd = bufferevent_getfd(c->bev);
	if (c->evcon == NULL || c->fd < 0 || (size_t)c->fd >= conn_all.nfd)
		fatalx("%s: connection not as evhttp makes it", __func__);
	if (conn_all.by_fd[c->fd] != NULL)	/* its close went unseen */
		conn_forget(conn_all.by_fd[c->fd]);
	conn_all.by_fd[c->fd] = c;
	conn_set_nodelay(c->fd);
	evhttp_connection_set_closecb(c->evcon, conn_closed_cb, c);
	c->attached = 1;
	evtimer_add(c->timer, &conn_all.header_tv);
}

/* Send each write at once: SSE events must not wait for an ACK. */
static void
conn_set_nodelay(int fd)
{
	int	one = 1;

	/* A socket that refuses (not TCP) still works, only later. */
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0)
		log_debug("client socket %d: TCP_NODELAY: %s", fd,
		    strerror(errno));
}

/* The connection's timer: attach first, then a deadline passed. */
static void
conn_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c = arg;
	int		 body = c->scan.phase == HTTPSCAN_BODY;

	if (!c->attached) {
		conn_attach(c);
		return;
	}
	if (c->hook != NULL) {		/* a response is under way */
		evtimer_add(c->timer, &conn_all.header_tv);
		return;
	}
	log_info("closing a client connection: request %s not received "
	    "within %s (%.1f s)", body ? "body" : "head",
	    body ? "body_timeout" : "header_timeout",
	    body ? conn_all.body_s : conn_all.header_s);
	/* evhttp drops an incoming connection on a read timeout. */
	bufferevent_trigger_event(c->bev, BEV_EVENT_READING |
	    BEV_EVENT_TIMEOUT, 0);
}

/* evhttp: the connection is being freed. */
static void
conn_closed_cb(struct evhttp_connection *evcon, void *arg)
{
	struct conn	*c = arg;

	if (c->hook != NULL)
		c->hook(evcon, c->hook_arg);
	evbuffer_remove_cb_entry(bufferevent_get_input(c->bev), c->watch);
	conn_forget(c);
}

/* Drop c from the books; its bufferevent is evhttp's to free. */
static void
conn_forget(struct conn *c)
{
	if (c->fd >= 0 && (size_t)c->fd < conn_all.nfd &&
	    conn_all.by_fd[c->fd] == c)
		conn_all.by_fd[c->fd] = NULL;
	event_free(c->timer);
	conn_all.live--;
	free(c);
}

/* Return the connection record of evcon, or NULL. */
static struct conn *
conn_of(struct evhttp_connection *evcon)
{
	struct bufferevent	*bev;
	evutil_socket_t		 fd;
	struct conn		*c;

	if (evcon == NULL ||
	    (bev = evhttp_connection_get_bufferevent(evcon)) == NULL)
		return NULL;
	fd = bufferevent_getfd(bev);
	if (fd < 0 || (size_t)fd >= conn_all.nfd)
		return NULL;
	c = conn_all.by_fd[fd];
	return c != NULL && c->bev == bev ? c : NULL;
}

enum conn_verdict
conn_check(struct evhttp_request *req, const char **why)
{
	struct conn	*c = conn_of(evhttp_request_get_connection(req));

	if (c == NULL)
		return CONN_OK;
	c->served++;
	if (c->shed)
		return CONN_SHED;
	if (c->scan.phase == HTTPSCAN_BAD && c->served >= c->scan.seq) {
		*why = c->scan.why;
		return CONN_BAD;
	}
	return CONN_OK;
}

void
conn_set_close_hook(struct evhttp_connection *evcon, conn_close_cb cb,
    void *arg)
{
	struct conn	*c = conn_of(evcon);

	if (c == NULL) {		/* not one of ours: evhttp's slot */
		evhttp_connection_set_closecb(evcon, cb, arg);
		return;
	}
	c->hook = cb;
	c->hook_arg = arg;
}

/* Bytes were read into the input buffer: scan them before evhttp does. */
static void
conn_input_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info,
    void *arg)
{
	struct conn		*c = arg;
	struct evbuffer_iovec	 iov[CONN_PEEK_IOV];
	struct evbuffer_ptr	 pos;
	enum httpscan_phase	 was = c->scan.phase;
	uint64_t		 seq_was = c->scan.seq;
	size_t			 len, off, n;
	int			 i, nvec;

	if (info->n_added == 0 || was == HTTPSCAN_BAD)
		return;
	len = evbuffer_get_length(buf);
	off = info->n_added < len ? len - info->n_added : 0;
	while (off < len && c->scan.phase != HTTPSCAN_BAD) {
		if (evbuffer_ptr_set(buf, &pos, off, EVBUFFER_PTR_SET) != 0)
			break;
		nvec = evbuffer_peek(buf, (ev_ssize_t)(len - off), &pos, iov,
		    CONN_PEEK_IOV);
		for (i = 0; i < nvec && i < CONN_PEEK_IOV && off < len; i++) {
			n = iov[i].iov_len < len - off ? iov[i].iov_len :
			    len - off;
			httpscan_feed(&c->scan, iov[i].iov_base, n);
			off += n;
		}
		if (nvec <= 0)
			break;
	}
	conn_follow(c, was, seq_was);
}

/* Start, move or stop the deadline as the scan moved through a request. */
static void
conn_follow(struct conn *c, enum httpscan_phase was, uint64_t seq_was)
{
	int	moved = c->scan.phase != was || c->scan.seq != seq_was;

	if (!c->attached || !moved)
		return;
	switch (c->scan.phase) {
	case HTTPSCAN_HEAD:
		if (c->scan.seq > 1 && c->scan.seq != seq_was)
			evtimer_add(c->timer, &conn_all.header_tv);
		break;
	case HTTPSCAN_BODY:
		evtimer_add(c->timer, &conn_all.body_tv);
		break;
	case HTTPSCAN_IDLE:
		evtimer_del(c->timer);
		break;
	case HTTPSCAN_BAD:
		log_debug("client request %llu: %s", (unsigned long long)
		    c->scan.seq, c->scan.why);
		if (!evtimer_pending(c->timer, NULL))
			evtimer_add(c->timer, &conn_all.header_tv);
		break;
	}
}

/* Make the 503 written to connections accepted without a descriptor. */
static void
conn_make_overload(void)
{
	char	*body;

	body = dialect_error_body(DIALECT_OPENAI,
	    dialect_error_type(DIALECT_OPENAI, 503), "llmproxy_overload",
	    "the daemon is out of file descriptors; try again");
	conn_all.overload_len = (size_t)xasprintf(&conn_all.overload,
	    "HTTP/1.1 503 Service Unavailable\r\n"
	    "Content-Type: application/json\r\nRetry-After: 1\r\n"
	    "Connection: close\r\nContent-Length: %zu\r\n\r\n%s",
	    strlen(body), body);
	free(body);
}

/*
 * evconnlistener: accept() failed.  Out of descriptors, the connections
 * waiting would otherwise sit in the backlog (and the listener spin), so
 * the spare descriptor is given up to take each in turn, answer 503 and
 * close it.  If there is no spare, or accept() failed otherwise, the
 * listener pauses for CONN_PAUSE_MS rather than spin.
 */
void
conn_accept_error_cb(struct evconnlistener *lev, void *arg)
{
	int	err = EVUTIL_SOCKET_ERROR(), i, n = 0;

	if (err == EMFILE || err == ENFILE) {
		for (i = 0; i < CONN_SHED_BATCH; i++) {
			if (conn_shed_one(evconnlistener_get_fd(lev)) != 0)
				break;
			n++;
		}
	}
	conn_all.shed_unlogged += (unsigned long long)n;
	/* No request was read: these count under provider="". */
	metrics_count_request(metrics_unrouted(), 503, (uint64_t)n);
	metrics_count_refusal(metrics_unrouted(), METRICS_OVERLOAD,
	    (uint64_t)n);
	if (conn_all.shed_logged != time(NULL)) {
		conn_all.shed_logged = time(NULL);
		log_warnx("accept: %s; %llu connection(s) answered 503 "
		    "reason=overload", strerror(err), conn_all.shed_unlogged);
		conn_all.shed_unlogged = 0;
	}
	if (conn_all.spare_fd == -1 || (err != EMFILE && err != ENFILE))
		conn_pause(lev);
}

/* Stop accepting on lev for a moment. */
static void
conn_pause(struct evconnlistener *lev)
{
	struct timeval	tv = { 0, CONN_PAUSE_MS * 1000 };
	size_t		i;

	for (i = 0; i < conn_all.npaused; i++) {
		if (conn_all.paused[i] == lev)
			return;
	}
	if (conn_all.npaused == CONN_MAX_PAUSED)
		return;
	evconnlistener_disable(lev);
	conn_all.paused[conn_all.npaused++] = lev;
	evtimer_add(conn_all.resume, &tv);
}

/* Accept again on every paused listener. */
static void
conn_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	size_t	i;

	for (i = 0; i < conn_all.npaused; i++)
		evconnlistener_enable(conn_all.paused[i]);
	conn_all.npaused = 0;
}

/* The listeners are about to close: forget the paused ones. */
void
conn_stop_accepting(void)
{
	conn_all.npaused = 0;
	if (conn_all.resume != NULL)
		evtimer_del(conn_all.resume);
}

/* Take one waiting connection with the spare descriptor and answer 503. */
static int
conn_shed_one(evutil_socket_t lfd)
{
	int	fd;

	if (conn_all.spare_fd == -1)
		conn_all.spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (conn_all.spare_fd == -1)
		return -1;
	close(conn_all.spare_fd);
	fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd != -1) {
		/* Best effort: a fresh socket's send buffer takes it whole. */
		(void)send(fd, conn_all.overload, conn_all.overload_len,
		    MSG_NOSIGNAL | MSG_DONTWAIT);
		close(fd);
	}
	conn_all.spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	return fd == -1 ? -1 : 0;
}
