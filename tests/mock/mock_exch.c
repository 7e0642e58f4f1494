/* SPDX-License-Identifier: ISC */

/*
 * mock_exch: answer one provider or echo request, as x-mock-* asked.
 * A plain answer goes out at once.  Anything else is asynchronous: the
 * exchange watches its socket, because evhttp does not read while a
 * request is being answered and would not see the client leave; it
 * waits out the delay, then sends garbage, resets, stalls, or starts
 * the answer.  A JSON body can be trickled a byte at a time, or
 * promised in full and cut: none of it sent (stall), or half, then a
 * reset or a close.  A stream can stall or reset after its first write.
 * It is paced by x-mock-interval-ms and by the client: above
 * MOCK_HIGH_WATER bytes unsent it waits for evhttp's drained callback,
 * so that a huge stream never sits in memory.  Each exchange ends in
 * mock_exch_finish, or in mock_exch_gone when the client left first.
 */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <err.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/util.h>

#include "mock.h"
#include "mock_answer.h"
#include "mock_exch.h"
#include "mock_opts.h"
#include "mock_reqlog.h"
#include "mock_state.h"

#define MOCK_HIGH_WATER		((size_t)256 * 1024)
#define MOCK_GARBAGE		"this is not http\r\n\r\n"

enum mock_finish {
	FINISH_REPLY,		/* evhttp_send_reply() of ex->buf */
	FINISH_END,		/* evhttp_send_reply_end() */
	FINISH_CLOSE,		/* close the connection (FIN) */
	FINISH_RST,		/* reset the connection (RST) */
	FINISH_GARBAGE		/* write MOCK_GARBAGE, then close */
};

static int	 mock_exch_simple(const struct exch *);
static void	 mock_exch_respond(struct exch *);
static void	 mock_exch_headers(struct exch *, const char *);
static void	 mock_exch_start_unframed(struct exch *, int);
static void	 mock_exch_complete_cb(struct evhttp_request *, void *);
static void	 mock_exch_after(struct exch *, long,
		    void (*)(struct exch *));
static void	 mock_exch_timer_cb(evutil_socket_t, short, void *);
static void	 mock_exch_watch(struct exch *);
static void	 mock_exch_watch_cb(evutil_socket_t, short, void *);
static void	 mock_exch_drained_cb(struct evhttp_connection *, void *);
static size_t	 mock_exch_backlog(struct exch *);
static void	 mock_exch_rst_step(struct exch *);
static void	 mock_exch_close_step(struct exch *);
static void	 mock_exch_finish(struct exch *, enum mock_finish);
static void	 mock_exch_reply(struct exch *);
static void	 mock_exch_partial(struct exch *);
static void	 mock_exch_trickle(struct exch *);
static void	 mock_exch_sse_start(struct exch *);
static void	 mock_exch_sse_next(struct exch *);
static int	 mock_exch_sse_wait(struct exch *);
static int	 mock_exch_has_token(const char *, const char *);
static int	 mock_exch_add_header(struct evkeyvalq *, const char *);
static void	 mock_exch_rst(struct evhttp_connection *);
static void	 mock_exch_garbage(struct evhttp_connection *);

/* Start the exchange for a provider or echo request, and count it. */
struct exch *
mock_exch_new(struct evhttp_request *req, struct conn *c, const char *path)
{
	struct exch	*ex;

	ex = mock_calloc(1, sizeof(*ex));
	ex->req = req;
	ex->conn = c;
	c->ex = ex;
	ex->seq = mock.next_seq++;
	ex->buf = mock_evbuffer();
	ex->o.chunks = -1;
	if (strcmp(path, "/v1/chat/completions") == 0)
		ex->route = ROUTE_OPENAI;
	else if (strcmp(path, "/v1/messages") == 0)
		ex->route = ROUTE_ANTHROPIC;
	ex->provider = ex->route != ROUTE_ECHO &&
	    evhttp_request_get_command(req) == EVHTTP_REQ_POST;
	mock_opts_read(&ex->o, evhttp_request_get_input_headers(req));
	mock.total++;
	if (++mock.active > mock.peak)
		mock.peak = mock.active;
	return ex;
}

/* Say whether ex can be answered at once, in one piece. */
static int
mock_exch_simple(const struct exch *ex)
{
	const struct mock_opts	*o = &ex->o;

	return !ex->stream && o->delay_ms <= 0 && !o->garbage &&
	    o->stall == FAULT_NONE && o->reset == FAULT_NONE &&
	    !o->truncate && o->trickle_ms <= 0;
}

/* Answer ex at once if nothing special was asked, else go asynchronous. */
void
mock_exch_begin(struct exch *ex)
{
	if (mock_exch_simple(ex)) {
		mock_exch_reply(ex);
		return;
	}
	mock_exch_watch(ex);
	if (ex->o.delay_ms > 0)
		mock_exch_after(ex, ex->o.delay_ms, mock_exch_respond);
	else
		mock_exch_respond(ex);
}

/* Answer ex, any delay being over. */
static void
mock_exch_respond(struct exch *ex)
{
	if (ex->o.garbage)
		mock_exch_finish(ex, FINISH_GARBAGE);
	else if (ex->o.reset == FAULT_HEADERS)
		mock_exch_finish(ex, FINISH_RST);
	else if (ex->o.stall == FAULT_HEADERS)
		return;			/* until the client gives up */
	else if (ex->stream)
		mock_exch_sse_start(ex);
	else
		mock_exch_reply(ex);
}

/* Set the Content-Type and the headers x-mock-response-header asks for. */
static void
mock_exch_headers(struct exch *ex, const char *type)
{
	struct evkeyvalq	*out;
	struct evkeyval		*kv;
	int			 closing = 0;

	out = evhttp_request_get_output_headers(ex->req);
	evhttp_add_header(out, "Content-Type", type);
	if (!ex->o.resp_headers)
		return;
	TAILQ_FOREACH(kv, evhttp_request_get_input_headers(ex->req), next) {
		if (strcasecmp(kv->key, "x-mock-response-header") == 0)
			closing |= mock_exch_add_header(out, kv->value);
	}
	if (closing)
		evhttp_request_set_on_complete_cb(ex->req,
		    mock_exch_complete_cb, NULL);
}

/*
 * Start an answer of unknown length: chunked on HTTP/1.1, ended by a
 * close on HTTP/1.0.  For an HTTP/1.0 keep-alive request evhttp would
 * send "Content-Length: 0" and keep the connection, so forget the
 * request's keep-alive first; on HTTP/1.1 that changes nothing.
 */
static void
mock_exch_start_unframed(struct exch *ex, int code)
{
	struct evkeyvalq	*in = evhttp_request_get_input_headers(ex->req);
	const char		*v;

	while ((v = evhttp_find_header(in, "Connection")) != NULL &&
	    strncasecmp(v, "keep-alive", 10) == 0)
		evhttp_remove_header(in, "Connection");
	evhttp_send_reply_start(ex->req, code, mock_reason(code));
}

/*
 * evhttp on_complete: we sent "Connection: close, ..." (a list evhttp
 * does not parse), so close as a real server would.
 */
static void
mock_exch_complete_cb(struct evhttp_request *req, void *arg)
{
	struct evkeyvalq	*out = evhttp_request_get_output_headers(req);

	evhttp_remove_header(out, "Connection");
	evhttp_add_header(out, "Connection", "close");
}

/* Run step on ex after ms milliseconds. */
static void
mock_exch_after(struct exch *ex, long ms, void (*step)(struct exch *))
{
	struct timeval	tv = { ms / 1000, (ms % 1000) * 1000 };

	if (ex->timer == NULL && (ex->timer = evtimer_new(mock.base,
	    mock_exch_timer_cb, ex)) == NULL)
		errx(1, "evtimer_new failed");
	ex->timer_step = step;
	evtimer_add(ex->timer, &tv);
}

/* Event callback: ex's timer fired; run the step it was set for. */
static void
mock_exch_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct exch	*ex = arg;

	ex->timer_step(ex);
}

/*
 * Watch ex's socket for the client leaving.  evhttp stops reading while
 * a request is being answered, so without this a delayed or stalled
 * exchange would never learn that its client is gone.
 */
static void
mock_exch_watch(struct exch *ex)
{
	struct evhttp_connection *evcon;
	short			  what = EV_READ;
	evutil_socket_t		  fd;

	if (mock.early_close)
		what |= EV_CLOSED;
	evcon = evhttp_request_get_connection(ex->req);
	fd = bufferevent_getfd(evhttp_connection_get_bufferevent(evcon));
	ex->watch = event_new(mock.base, fd, what, mock_exch_watch_cb, ex);
	if (ex->watch == NULL)
		errx(1, "event_new failed");
	event_add(ex->watch, NULL);
}

/*
 * Event callback: ex's socket is readable or closed.  A FIN or a reset
 * means the client left: free the connection, which ends ex through
 * mock_conn_close_cb().  Readable data is a pipelined request; we stop
 * watching then, since a level-triggered read would fire forever.
 */
static void
mock_exch_watch_cb(evutil_socket_t fd, short what, void *arg)
{
	struct exch	*ex = arg;
	char		 c;
	ssize_t		 n;

	if (!(what & EV_CLOSED)) {
		n = recv(fd, &c, 1, MSG_PEEK);
		if (n > 0)
			return;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK ||
		    errno == EINTR)) {
			event_add(ex->watch, NULL);
			return;
		}
	}
	evhttp_connection_free(evhttp_request_get_connection(ex->req));
}

/* evhttp write callback: all that was queued for the client is sent. */
static void
mock_exch_drained_cb(struct evhttp_connection *evcon, void *arg)
{
	struct exch	*ex = arg;
	void		(*step)(struct exch *) = ex->drain_step;

	if (step != NULL) {
		ex->drain_step = NULL;
		step(ex);
	}
}

/* Return how many bytes wait in ex's connection for the client. */
static size_t
mock_exch_backlog(struct exch *ex)
{
	struct evhttp_connection *evcon;

	evcon = evhttp_request_get_connection(ex->req);
	return evbuffer_get_length(bufferevent_get_output(
	    evhttp_connection_get_bufferevent(evcon)));
}

/* Drain step: reset the connection now that the partial answer left. */
static void
mock_exch_rst_step(struct exch *ex)
{
	mock_exch_finish(ex, FINISH_RST);
}

/* Drain step: close the connection now that the partial answer left. */
static void
mock_exch_close_step(struct exch *ex)
{
	mock_exch_finish(ex, FINISH_CLOSE);
}

/*
 * End ex as told.  ex is freed first, because the evhttp call that ends
 * it may free the connection and so call mock_conn_close_cb() at once.
 */
static void
mock_exch_finish(struct exch *ex, enum mock_finish how)
{
	struct evhttp_request	 *req = ex->req;
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct evbuffer		 *buf = ex->buf;
	int			  code = ex->code;

	ex->buf = NULL;
	mock_reqlog_finished(ex->seq, mock_now_ms());
	mock_exch_free(ex);
	switch (how) {
	case FINISH_REPLY:
		evhttp_send_reply(req, code, mock_reason(code), buf);
		break;
	case FINISH_END:
		evhttp_send_reply_end(req);
		break;
	case FINISH_GARBAGE:
		mock_exch_garbage(evcon);
		evhttp_connection_free(evcon);
		break;
	case FINISH_RST:
		mock_exch_rst(evcon);
		/* FALLTHROUGH */
	case FINISH_CLOSE:
		evhttp_connection_free(evcon);	/* frees req too */
		break;
	}
	evbuffer_free(buf);
}

/*
 * The client left before ex was answered.  If evhttp noticed (EOF while
 * writing) it has orphaned req, which is then ours to end; if we noticed,
 * req is still on the connection and evhttp frees it after us.
 */
void
mock_exch_gone(struct exch *ex)
{
	struct evhttp_request	*req = ex->req;

	mock_reqlog_closed(ex->seq, mock_now_ms());
	mock_exch_free(ex);
	if (evhttp_request_get_connection(req) == NULL)
		evhttp_send_reply_end(req);
}

/* Free ex and detach it from its conn; ex->req is left alone. */
void
mock_exch_free(struct exch *ex)
{
	if (ex->timer != NULL)
		event_free(ex->timer);
	if (ex->watch != NULL)
		event_free(ex->watch);
	if (ex->buf != NULL)
		evbuffer_free(ex->buf);
	if (ex->out != NULL)
		evbuffer_free(ex->out);
	free(ex->model);
	if (ex->conn != NULL && ex->conn->ex == ex)
		ex->conn->ex = NULL;
	mock.active--;
	free(ex);
}

/* Send ex->buf as the JSON answer: whole, or with a body fault. */
static void
mock_exch_reply(struct exch *ex)
{
	struct evhttp_request	*req = ex->req;
	const struct mock_opts	*o = &ex->o;

	mock_exch_headers(ex, "application/json");
	if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD ||
	    !mock_needs_body(ex->code))
		evbuffer_drain(ex->buf, evbuffer_get_length(ex->buf));
	else if (o->trickle_ms > 0) {
		mock_exch_start_unframed(ex, ex->code);
		mock_exch_after(ex, o->trickle_ms, mock_exch_trickle);
		return;
	} else if (o->stall == FAULT_BODY || o->reset == FAULT_BODY ||
	    o->truncate) {
		mock_exch_partial(ex);
		return;
	}
	mock_exch_finish(ex, FINISH_REPLY);
}

/* Promise the whole body in Content-Length; send half of it, or none. */
static void
mock_exch_partial(struct exch *ex)
{
	size_t	n = evbuffer_get_length(ex->buf);
	char	len[32];

	snprintf(len, sizeof(len), "%zu", n);
	evhttp_add_header(evhttp_request_get_output_headers(ex->req),
	    "Content-Length", len);
	evhttp_send_reply_start(ex->req, ex->code, mock_reason(ex->code));
	if (ex->o.stall == FAULT_BODY)
		return;			/* until the client gives up */
	ex->out = mock_evbuffer();
	evbuffer_remove_buffer(ex->buf, ex->out, n / 2);
	ex->drain_step = ex->o.reset == FAULT_BODY ? mock_exch_rst_step :
	    mock_exch_close_step;
	evhttp_send_reply_chunk_with_cb(ex->req, ex->out,
	    mock_exch_drained_cb, ex);
}

/* Timer step: send the next byte of a trickled JSON body. */
static void
mock_exch_trickle(struct exch *ex)
{
	if (ex->out == NULL)
		ex->out = mock_evbuffer();
	evbuffer_remove_buffer(ex->buf, ex->out, 1);
	evhttp_send_reply_chunk(ex->req, ex->out);
	if (evbuffer_get_length(ex->buf) > 0)
		mock_exch_after(ex, ex->o.trickle_ms, mock_exch_trickle);
	else
		mock_exch_finish(ex, FINISH_END);
}

/* Start an SSE answer: headers and the first write, then the rest. */
static void
mock_exch_sse_start(struct exch *ex)
{
	mock_exch_headers(ex, "text/event-stream");
	evhttp_add_header(evhttp_request_get_output_headers(ex->req),
	    "Cache-Control", "no-cache");
	mock_exch_start_unframed(ex, 200);
	ex->out = mock_evbuffer();
	mock_answer_sse_head(ex, ex->out);
	mock_answer_sse_step(ex, ex->out);
	evhttp_send_reply_chunk_with_cb(ex->req, ex->out,
	    mock_exch_drained_cb, ex);
	if (ex->o.stall == FAULT_BODY)
		return;			/* until the client gives up */
	if (ex->o.reset == FAULT_BODY) {
		ex->drain_step = mock_exch_rst_step;
		return;
	}
	if (!mock_exch_sse_wait(ex))
		mock_exch_sse_next(ex);
}

/*
 * Send stream events until done.  Stop for the interval, or while more
 * than MOCK_HIGH_WATER bytes wait for the client: mock_exch_drained_cb()
 * resumes once they are sent, so a huge stream never sits in memory.
 */
static void
mock_exch_sse_next(struct exch *ex)
{
	for (;;) {
		if (ex->sent >= mock_answer_sse_total(ex)) {
			mock_exch_finish(ex, FINISH_END);
			return;
		}
		if (mock_exch_backlog(ex) >= MOCK_HIGH_WATER) {
			ex->drain_step = mock_exch_sse_next;
			return;
		}
		mock_answer_sse_step(ex, ex->out);
		evhttp_send_reply_chunk_with_cb(ex->req, ex->out,
		    mock_exch_drained_cb, ex);
		if (mock_exch_sse_wait(ex))
			return;
	}
}

/* If tokens are paced, run mock_exch_sse_next after the interval and say so. */
static int
mock_exch_sse_wait(struct exch *ex)
{
	if (ex->o.interval_ms <= 0 || ex->sent >= ex->o.chunks)
		return 0;
	mock_exch_after(ex, ex->o.interval_ms, mock_exch_sse_next);
	return 1;
}

/* Say whether the comma-separated list v holds token tok, in any case. */
static int
mock_exch_has_token(const char *v, const char *tok)
{
	size_t	 n = strlen(tok), len;

	while (*v != '\0') {
		v += strspn(v, " \t,");
		len = strcspn(v, ",");
		while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t'))
			len--;
		if (len == n && strncasecmp(v, tok, n) == 0)
			return 1;
		v += strcspn(v, ",");
	}
	return 0;
}

/* Add "Name: value" to out; say whether it asks to close the connection. */
static int
mock_exch_add_header(struct evkeyvalq *out, const char *line)
{
	char		 name[256];
	const char	*colon, *value;
	size_t		 n;

	if ((colon = strchr(line, ':')) == NULL)
		return 0;
	n = (size_t)(colon - line);
	while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t'))
		n--;
	if (n == 0 || n >= sizeof(name))
		return 0;
	memcpy(name, line, n);
	name[n] = '\0';
	value = colon + 1 + strspn(colon + 1, " \t");
	if (evhttp_add_header(out, name, value) == -1)
		return 0;
	return strcasecmp(name, "Connection") == 0 &&
	    mock_exch_has_token(value, "close");
}

/* Reset evcon's socket now, so that its close sends no FIN. */
static void
mock_exch_rst(struct evhttp_connection *evcon)
{
	struct linger	 lg = { 1, 0 };
	struct sockaddr	 sa;
	evutil_socket_t	 fd;

	fd = bufferevent_getfd(evhttp_connection_get_bufferevent(evcon));
	(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	/*
	 * evhttp_connection_free() shuts the write side down before it
	 * closes, which would send a FIN ahead of the RST; on Linux,
	 * connect(AF_UNSPEC) sends the RST at once (tcp_disconnect) and
	 * leaves evhttp nothing to shut down.  Elsewhere the linger option
	 * still turns the close into a reset, after that FIN.
	 */
	memset(&sa, 0, sizeof(sa));
	sa.sa_family = AF_UNSPEC;
	(void)connect(fd, &sa, sizeof(sa));
}

/* Write the garbage answer straight to evcon's socket. */
static void
mock_exch_garbage(struct evhttp_connection *evcon)
{
	evutil_socket_t	fd;

	fd = bufferevent_getfd(evhttp_connection_get_bufferevent(evcon));
	(void)send(fd, MOCK_GARBAGE, sizeof(MOCK_GARBAGE) - 1, MSG_NOSIGNAL);
}

