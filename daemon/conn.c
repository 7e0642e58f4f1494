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
 * A request httpscan says to refuse never reaches evhttp, which would
 * answer it with an HTML page and close at once (a client still sending
 * its body then sees a reset, not the answer).  Its bytes are taken out
 * of the input buffer before evhttp reads them, and so is everything the
 * client sends after them.  Once evhttp has finished the requests before
 * it, conn takes the bufferevent back from evhttp, writes the refusal in
 * JSON (logged and counted like any), shuts its side down, and goes on
 * reading and discarding for a bounded time and size (a lingering close,
 * as nginx does), so the client reads the answer; then the connection is
 * freed through evhttp.
 *
 * One timer per connection serves four uses in turn: the attach, the
 * header deadline (from the accept, or from a later request's first byte),
 * the body deadline (from the end of the head), and the refusal (made
 * active to answer, then the lingering close's deadline).  Between
 * requests evhttp's keep-alive timeout applies; while a response is under
 * way (a close hook is set) the deadlines wait.
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

#include "access.h"
#include "clock.h"
#include "config.h"
#include "conn.h"
#include "dialect.h"
#include "httpscan.h"
#include "log.h"
#include "metrics.h"
#include "route.h"
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
/* Largest request head (all its lines); beyond it, 431. */
#define CONN_MAX_HEAD_BYTES	(16 * 1024)
/* A lingering close reads and discards for this long at most, */
#define CONN_LINGER_MS		5000
/* and at most this much past max_body_size. */
#define CONN_LINGER_EXTRA	(16 * 1024 * 1024)

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
	struct httpscan			*scan;
	uint64_t			 scanned;	/* bytes read, in all */
	int				 editing;	/* conn moves input */
	int				 refusing;	/* one is refused */
	int				 lingering;	/* the bev is conn's */
	int				 peer_done;	/* EOF or enough read */
	uint64_t			 discarded;	/* since the refusal */
};

static struct {
	struct event_base	*base;
	struct conn		**by_fd;
	size_t			 nfd;
	size_t			 live;
	size_t			 max;		/* connections allowed */
	struct timeval		 header_tv;
	struct timeval		 body_tv;
	const struct config	*cf;		/* the current one */
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
static void	conn_scan(struct conn *c, struct evbuffer *buf, size_t off);
static void	conn_follow(struct conn *c, enum httpscan_phase was,
		    uint64_t seq_was);
static struct evhttp_connection *conn_evcon_of(struct bufferevent *bev);
static void	conn_keep_only(struct conn *c, struct evbuffer *buf,
		    size_t keep);
static void	conn_refuse_begin(struct conn *c, struct evbuffer *buf);
static void	conn_refuse_try(struct conn *c);
static char	*conn_refusal(struct conn *c, size_t *len);
static void	conn_refusal_record(struct conn *c, const char *provider,
		    int status, enum access_end end, const char *why);
static void	conn_linger_read_cb(struct bufferevent *bev, void *arg);
static void	conn_linger_write_cb(struct bufferevent *bev, void *arg);
static void	conn_linger_event_cb(struct bufferevent *bev, short what,
		    void *arg);
static void	conn_linger_end(struct conn *c);
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

	conn_all.cf = cf;
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
	/* The limits evhttp gives the connection it is about to make. */
	c->scan = httpscan_new();
	httpscan_set_limits(c->scan, CONN_MAX_HEAD_BYTES,
	    (uint64_t)conn_all.cf->max_body_size);
	c->shed = conn_all.live >= conn_all.max;
	conn_all.live++;
	c->watch = evbuffer_add_cb(bufferevent_get_input(c->bev),
	    conn_input_cb, c);
	event_active(c->timer, EV_TIMEOUT, 1);	/* attach, this pass */
	return c->bev;
}

/*
 * Return the evhttp connection that bev belongs to.  evhttp 2.1.12 has no
 * public way from a bufferevent to its connection, nor a callback when it
 * makes one, and a connection's close callback (the only way to learn it
 * is gone) can only be set on the connection.  So this reads the argument
 * evhttp gives the bufferevent's callbacks, which is the connection:
 * http.c (release-2.1.12-stable) lines 2412-2413 in
 * evhttp_connection_base_bufferevent_new, and 2742-2746 in
 * evhttp_start_read_, set it so.  This is the one place conn relies on it.
 */
static struct evhttp_connection *
conn_evcon_of(struct bufferevent *bev)
{
	void	*cbarg = NULL;

	bufferevent_getcb(bev, NULL, NULL, NULL, &cbarg);
	return cbarg;
}

/* evhttp now holds the connection: take its close callback. */
static void
conn_attach(struct conn *c)
{
	c->evcon = conn_evcon_of(c->bev);
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

/* The connection's timer: attach, a deadline, or a refusal's turn. */
static void
conn_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c = arg;
	int		 body = httpscan_phase(c->scan) == HTTPSCAN_BODY;

	if (!c->attached) {
		conn_attach(c);
		if (!c->refusing)
			return;
	}
	if (c->lingering) {
		conn_linger_end(c);
		return;
	}
	if (c->refusing) {
		conn_refuse_try(c);
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
	httpscan_free(c->scan);
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
conn_check(struct evhttp_request *req)
{
	struct conn	*c = conn_of(evhttp_request_get_connection(req));

	if (c == NULL)
		return CONN_OK;
	c->served++;
	if (c->refusing)		/* maybe its turn, once this is done */
		event_active(c->timer, EV_TIMEOUT, 1);
	if (c->shed)
		return CONN_SHED;
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
	if (cb == NULL && c->refusing && !c->lingering)
		event_active(c->timer, EV_TIMEOUT, 1);
}

/*
 * Bytes were read into the input buffer: scan them before evhttp does.
 * After a refusal, what arrives is discarded before evhttp can see it.
 */
static void
conn_input_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info,
    void *arg)
{
	struct conn		*c = arg;
	enum httpscan_phase	 was = httpscan_phase(c->scan);
	uint64_t		 seq_was = httpscan_seq(c->scan);
	size_t			 len = evbuffer_get_length(buf);

	if (info->n_added == 0 || c->editing)
		return;
	c->scanned += info->n_added;
	if (c->refusing) {
		c->discarded += info->n_added;
		conn_keep_only(c, buf, info->n_added < len ?
		    len - info->n_added : 0);
		if (c->lingering && c->discarded > (uint64_t)CONN_LINGER_EXTRA +
		    (uint64_t)conn_all.cf->max_body_size) {
			c->peer_done = 1;
			bufferevent_disable(c->bev, EV_READ);
			event_active(c->timer, EV_TIMEOUT, 1);
		}
		return;
	}
	conn_scan(c, buf, info->n_added < len ? len - info->n_added : 0);
	conn_follow(c, was, seq_was);
	if (httpscan_phase(c->scan) == HTTPSCAN_BAD)
		conn_refuse_begin(c, buf);
}

/*
 * Feed httpscan the bytes of buf from off on.  It may rewrite a byte in
 * place (a chunk extension's first): the peeked memory is the buffer's
 * own, and evhttp has not read it yet.
 */
static void
conn_scan(struct conn *c, struct evbuffer *buf, size_t off)
{
	struct evbuffer_iovec	 iov[CONN_PEEK_IOV];
	struct evbuffer_ptr	 pos;
	size_t			 len = evbuffer_get_length(buf), n;
	int			 i, nvec;

	while (off < len && httpscan_phase(c->scan) != HTTPSCAN_BAD) {
		if (evbuffer_ptr_set(buf, &pos, off, EVBUFFER_PTR_SET) != 0)
			break;
		nvec = evbuffer_peek(buf, (ev_ssize_t)(len - off), &pos, iov,
		    CONN_PEEK_IOV);
		for (i = 0; i < nvec && i < CONN_PEEK_IOV && off < len; i++) {
			n = iov[i].iov_len < len - off ? iov[i].iov_len :
			    len - off;
			httpscan_feed(c->scan, iov[i].iov_base, n);
			off += n;
		}
		if (nvec <= 0)
			break;
	}
}

/* Keep the first keep bytes of buf, the rest never reaching evhttp. */
static void
conn_keep_only(struct conn *c, struct evbuffer *buf, size_t keep)
{
	struct evbuffer	*head;

	c->editing = 1;
	if (keep == 0)
		evbuffer_drain(buf, evbuffer_get_length(buf));
	else if (keep < evbuffer_get_length(buf)) {
		if ((head = evbuffer_new()) == NULL)
			fatalx("%s: out of memory", __func__);
		evbuffer_remove_buffer(buf, head, keep);
		evbuffer_drain(buf, evbuffer_get_length(buf));
		evbuffer_add_buffer(buf, head);
		evbuffer_free(head);
	}
	c->editing = 0;
}

/*
 * httpscan stopped at a request to refuse.  Its bytes leave the buffer
 * (those of earlier requests stay, for evhttp), and its answer waits its
 * turn.
 */
static void
conn_refuse_begin(struct conn *c, struct evbuffer *buf)
{
	uint64_t	first = c->scanned - evbuffer_get_length(buf);
	uint64_t	start = httpscan_start(c->scan);
	size_t		keep = start > first ? (size_t)(start - first) : 0;

	c->refusing = 1;
	c->discarded = evbuffer_get_length(buf) - keep;
	conn_keep_only(c, buf, keep);
	evtimer_del(c->timer);
	event_active(c->timer, EV_TIMEOUT, 1);
}

/*
 * Answer the refused request once evhttp is done with those before it:
 * all handed to the server, none still streaming.  Then the bufferevent
 * is conn's: evhttp's callbacks are replaced (it is left waiting for a
 * request that never comes) until conn frees the connection.
 */
static void
conn_refuse_try(struct conn *c)
{
	struct timeval	 tv = { CONN_LINGER_MS / 1000,
			    (CONN_LINGER_MS % 1000) * 1000 };
	char		*resp;
	size_t		 len;

	if (c->served + 1 < httpscan_seq(c->scan) || c->hook != NULL)
		return;			/* conn_check or the hook calls again */
	c->lingering = 1;
	resp = conn_refusal(c, &len);
	bufferevent_setcb(c->bev, conn_linger_read_cb, conn_linger_write_cb,
	    conn_linger_event_cb, c);
	bufferevent_set_timeouts(c->bev, NULL, NULL);
	evbuffer_add(bufferevent_get_output(c->bev), resp, len);
	free(resp);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	evtimer_add(c->timer, &tv);
}

/* How each httpscan refusal is answered, in enum httpscan_refusal order. */
static const struct {
	int		 status;
	const char	*phrase;
	enum access_end	 end;
	const char	*code;
} conn_kinds[] = {
	{ 400, "Bad Request", ACCESS_BAD_REQUEST, "llmproxy_bad_request" },
	{ 400, "Bad Request", ACCESS_BAD_REQUEST, "llmproxy_bad_request" },
	{ 413, "Content Too Large", ACCESS_TOO_LARGE,
	  "llmproxy_request_too_large" },
	{ 431, "Request Header Fields Too Large", ACCESS_HEAD_TOO_LARGE,
	  "llmproxy_header_too_large" },
	{ 405, "Method Not Allowed", ACCESS_METHOD_NOT_ALLOWED,
	  "llmproxy_method_not_allowed" },
	{ 417, "Expectation Failed", ACCESS_BAD_REQUEST,
	  "llmproxy_bad_request" }
};

/* Return the refusal's raw response (the caller frees it), and record it. */
static char *
conn_refusal(struct conn *c, size_t *len)
{
	const struct provider_config	*pc = NULL;
	const char			*why = "a malformed request";
	enum httpscan_refusal		 k = httpscan_refusal(c->scan, &why);
	struct route			 r;
	char				*body, *msg, *resp;

	route_resolve(conn_all.cf, httpscan_target(c->scan), &r);
	if (r.kind == ROUTE_PROVIDER)
		pc = &conn_all.cf->providers[r.provider];
	if (k == HTTPSCAN_TOO_LARGE)
		xasprintf(&msg, "the request body is larger than max_body_size "
		    "(%lld bytes)", conn_all.cf->max_body_size);
	else
		xasprintf(&msg, "the request was refused: %s", why);
	body = dialect_error_body(pc != NULL ? pc->dialect : DIALECT_OPENAI,
	    dialect_error_type(pc != NULL ? pc->dialect : DIALECT_OPENAI,
	    conn_kinds[k].status), conn_kinds[k].code, msg);
	*len = (size_t)xasprintf(&resp, "HTTP/1.1 %d %s\r\n"
	    "Content-Type: application/json\r\n%sConnection: close\r\n"
	    "Content-Length: %zu\r\n\r\n%s", conn_kinds[k].status,
	    conn_kinds[k].phrase, k == HTTPSCAN_METHOD ?
	    "Allow: " HTTPSCAN_ALLOW "\r\n" : "", strlen(body), body);
	conn_refusal_record(c, pc != NULL ? pc->name : NULL,
	    conn_kinds[k].status, conn_kinds[k].end, why);
	free(body);
	free(msg);
	return resp;
}

/* Write the refused request's access line and count it. */
static void
conn_refusal_record(struct conn *c, const char *provider, int status,
    enum access_end end, const char *why)
{
	struct access_entry	e;
	const char		*method = httpscan_method(c->scan);

	memset(&e, 0, sizeof e);
	e.provider = provider;
	e.method = *method != '\0' ? method : NULL;
	e.target = *httpscan_target(c->scan) != '\0' ?
	    httpscan_target(c->scan) : NULL;
	e.status = status;
	e.end = end;
	e.detail = end == ACCESS_BAD_REQUEST ? why : NULL;
	e.estimate = -1;
	access_record(provider != NULL ? metrics_provider(provider) :
	    metrics_unrouted(), &e);
}

/* bufferevent, lingering: input is discarded as it comes (conn_input_cb). */
static void
conn_linger_read_cb(struct bufferevent *bev, void *arg)
{
}

/* bufferevent, lingering: the refusal was written; say so with a FIN. */
static void
conn_linger_write_cb(struct bufferevent *bev, void *arg)
{
	struct conn	*c = arg;

	if (evbuffer_get_length(bufferevent_get_output(bev)) > 0)
		return;
	shutdown(c->fd, SHUT_WR);
	if (c->peer_done)
		conn_linger_end(c);
}

/* bufferevent, lingering: the client closed, or the socket failed. */
static void
conn_linger_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct conn	*c = arg;

	if ((what & BEV_EVENT_EOF) && (what & BEV_EVENT_READING) &&
	    evbuffer_get_length(bufferevent_get_output(bev)) > 0) {
		c->peer_done = 1;	/* the answer still goes out */
		bufferevent_disable(bev, EV_READ);
		return;
	}
	conn_linger_end(c);
}

/* End a lingering close: evhttp frees the connection, then conn's record. */
static void
conn_linger_end(struct conn *c)
{
	evhttp_connection_free(c->evcon);
}

/* Start, move or stop the deadline as the scan moved through a request. */
static void
conn_follow(struct conn *c, enum httpscan_phase was, uint64_t seq_was)
{
	enum httpscan_phase	phase = httpscan_phase(c->scan);
	uint64_t		seq = httpscan_seq(c->scan);
	const char		*why = NULL;

	if (!c->attached || (phase == was && seq == seq_was))
		return;
	switch (phase) {
	case HTTPSCAN_HEAD:
		if (seq > 1 && seq != seq_was)
			evtimer_add(c->timer, &conn_all.header_tv);
		break;
	case HTTPSCAN_BODY:
		evtimer_add(c->timer, &conn_all.body_tv);
		break;
	case HTTPSCAN_IDLE:
		evtimer_del(c->timer);
		break;
	case HTTPSCAN_BAD:
		httpscan_refusal(c->scan, &why);
		log_debug("client request %llu refused: %s",
		    (unsigned long long)seq, why != NULL ? why : "?");
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
