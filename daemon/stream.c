/* SPDX-License-Identifier: ISC */
/*
 * stream: one client exchange with a provider.
 *
 * While a stream lives, evhttp's own read/write timeouts on the client
 * connection are off (they would fire while the daemon is silent, waiting
 * for a model) and the stream runs its own: first_byte_timeout until the
 * upstream's headers arrive, then idle_timeout between body bytes.  A
 * client that hangs up is noticed two ways: evhttp's close callback (it
 * reads while writing the response) and an EV_CLOSED event on the socket
 * (evhttp does not read at all before the response starts).  Backpressure:
 * when the client connection's output backlog passes STREAM_HIGH_WATER the
 * upstream is paused, and evhttp's "output drained" callback resumes it.
 *
 * Every path ends in stream_free(), which logs the access line once.  The
 * evhttp request is finished by exactly one of evhttp_send_reply,
 * evhttp_send_reply_end or evhttp_connection_free before that.
 */
#include <sys/queue.h>

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/http_struct.h>
#include <event2/keyvalq_struct.h>

#include "config.h"
#include "dialect.h"
#include "headers.h"
#include "log.h"
#include "stream.h"
#include "upstream.h"
#include "xmalloc.h"

/* Client backlog past which the upstream is paused. */
#define STREAM_HIGH_WATER	(64 * 1024)

struct stream {
	const struct stream_env		*env;
	struct evhttp_request		*req;	/* ended before stream_free */
	struct evhttp_connection	*evcon;
	const struct provider_config	*pc;
	char				*rest;
	struct upstream			*up;	/* NULL once ended */
	struct event			*timer;	/* first byte, then idle */
	struct event			*hangup; /* EV_CLOSED on the client */
	struct evbuffer			*chunk;	/* reused for each chunk */
	uint64_t			 arrive_ms;
	uint64_t			 start_ms;
	uint64_t			 headers_ms;
	uint64_t			 bytes_out;
	size_t				 bytes_in;
	int				 status;
	int				 attempts;
	int				 headers_sent;
	int				 paused;	/* client lags */
	int				 sse;
	int				 cutting;	/* flush, then drop */
};

static uint64_t	stream_now_ms(void);
static const char *stream_reason(int status);
static void	stream_arm(struct stream *s, double seconds);
static size_t	stream_backlog(struct stream *s);
static void	stream_headers_cb(void *arg, int status,
		    struct evkeyvalq *headers);
static void	stream_copy_headers(struct stream *s, struct evkeyvalq *in);
static void	stream_add_own_headers(struct stream *s,
		    struct evkeyvalq *out);
static int	stream_body_cb(void *arg, const char *data, size_t len);
static void	stream_done_cb(void *arg, enum upstream_result res,
		    const char *why);
static void	stream_drained_cb(struct evhttp_connection *evcon, void *arg);
static void	stream_timer_cb(evutil_socket_t fd, short what, void *arg);
static void	stream_client_closed_cb(struct evhttp_connection *evcon,
		    void *arg);
static void	stream_hangup_cb(evutil_socket_t fd, short what, void *arg);
static void	stream_detach(struct stream *s);
static void	stream_fail(struct stream *s, int status, const char *code,
		    const char *message);
static void	stream_end(struct stream *s, const char *why);
static void	stream_break(struct stream *s, const char *code,
		    const char *message);
static void	stream_drop_client(struct stream *s, const char *why);
static void	stream_free(struct stream *s, const char *why);

static const struct upstream_cbs stream_upstream_cbs = {
	stream_headers_cb, stream_body_cb, stream_done_cb
};

/* Return a monotonic clock in milliseconds. */
static uint64_t
stream_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * Return the reason phrase for the status codes libevent 2.1 does not know
 * (it would say "Unknown Status Code"); NULL lets libevent choose.
 */
static const char *
stream_reason(int status)
{
	switch (status) {
	case 421:
		return "Misdirected Request";
	case 422:
		return "Unprocessable Content";
	case 425:
		return "Too Early";
	case 426:
		return "Upgrade Required";
	case 428:
		return "Precondition Required";
	case 429:
		return "Too Many Requests";
	case 431:
		return "Request Header Fields Too Large";
	case 451:
		return "Unavailable For Legal Reasons";
	case 529:
		return "Site Overloaded";
	default:
		return NULL;
	}
}

/* Forward req (whose body has fully arrived) to pc, appending rest. */
void
stream_start(const struct stream_env *env, struct evhttp_request *req,
    const struct provider_config *pc, const char *rest)
{
	struct stream		*s;
	struct evbuffer		*body = evhttp_request_get_input_buffer(req);
	struct bufferevent	*bev;
	struct upstream_request	 rq;

	s = xcalloc(1, sizeof *s);
	s->env = env;
	s->req = req;
	s->evcon = evhttp_request_get_connection(req);
	s->pc = pc;
	s->rest = xstrdup(rest);
	s->chunk = evbuffer_new();
	s->arrive_ms = s->start_ms = stream_now_ms();
	s->timer = evtimer_new(env->base, stream_timer_cb, s);
	bev = evhttp_connection_get_bufferevent(s->evcon);
	bufferevent_set_timeouts(bev, NULL, NULL);	/* ours run instead */
	s->hangup = event_new(env->base, bufferevent_getfd(bev), EV_CLOSED,
	    stream_hangup_cb, s);
	if (s->chunk == NULL || s->timer == NULL || s->hangup == NULL)
		fatalx("%s: out of memory", __func__);
	event_add(s->hangup, NULL);
	evhttp_connection_set_closecb(s->evcon, stream_client_closed_cb, s);

	s->bytes_in = evbuffer_get_length(body);
	rq.pc = pc;
	rq.client = req;
	rq.rest = s->rest;
	rq.body_len = s->bytes_in;
	rq.body = (const char *)evbuffer_pullup(body, -1);
	s->attempts = 1;
	if ((s->up = upstream_start(env->ul, &rq, &stream_upstream_cbs,
	    s)) == NULL) {
		stream_fail(s, 503, "llmproxy_overloaded",
		    "the daemon cannot start an upstream transfer now");
		return;
	}
	stream_arm(s, pc->first_byte_timeout);
}

/* (Re)arm the stream's one deadline, seconds from now. */
static void
stream_arm(struct stream *s, double seconds)
{
	struct timeval	tv;

	tv.tv_sec = (time_t)seconds;
	tv.tv_usec = (suseconds_t)((seconds - (double)tv.tv_sec) * 1e6);
	evtimer_add(s->timer, &tv);
}

/* Return the bytes queued for the client and not yet written. */
static size_t
stream_backlog(struct stream *s)
{
	struct bufferevent	*bev;

	bev = evhttp_connection_get_bufferevent(s->evcon);
	return evbuffer_get_length(bufferevent_get_output(bev));
}

/* upstream: status and headers arrived; start the client's response. */
static void
stream_headers_cb(void *arg, int status, struct evkeyvalq *headers)
{
	struct stream		*s = arg;
	struct evkeyvalq	*out = evhttp_request_get_output_headers(s->req);
	const char		*type;

	s->status = status;
	s->headers_ms = stream_now_ms();
	stream_copy_headers(s, headers);
	stream_add_own_headers(s, out);
	type = evhttp_find_header(out, "Content-Type");
	s->sse = type != NULL &&
	    strncasecmp(type, "text/event-stream", 17) == 0;
	/*
	 * An HTTP/1.0 client cannot take chunks: without a length its body
	 * ends with the connection, so it must not be kept alive.
	 */
	if (s->req->minor == 0 &&
	    evhttp_find_header(out, "Content-Length") == NULL)
		evhttp_remove_header(evhttp_request_get_input_headers(s->req),
		    "Connection");
	evhttp_send_reply_start(s->req, status, stream_reason(status));
	s->headers_sent = 1;
	stream_arm(s, s->pc->idle_timeout);
}

/* Copy the upstream's end-to-end header fields to the client response. */
static void
stream_copy_headers(struct stream *s, struct evkeyvalq *in)
{
	struct evkeyvalq	*out = evhttp_request_get_output_headers(s->req);
	struct evkeyval		*h;
	char			*conn = NULL, *next;
	int			 chunked;

	TAILQ_FOREACH(h, in, next) {
		if (strcasecmp(h->key, "Connection") != 0)
			continue;
		if (conn == NULL)
			conn = xstrdup(h->value);
		else {
			xasprintf(&next, "%s, %s", conn, h->value);
			free(conn);
			conn = next;
		}
	}
	/* A length next to chunked framing is meaningless (RFC 9112 6.3). */
	chunked = evhttp_find_header(in, "Transfer-Encoding") != NULL;
	TAILQ_FOREACH(h, in, next) {
		if (headers_is_hop_by_hop(h->key, conn))
			continue;
		if (chunked && strcasecmp(h->key, "Content-Length") == 0)
			continue;
		evhttp_add_header(out, h->key, h->value);
	}
	free(conn);
}

/* Add the x-llmproxy-* fields every response of the daemon carries. */
static void
stream_add_own_headers(struct stream *s, struct evkeyvalq *out)
{
	char	buf[32];

	snprintf(buf, sizeof buf, "%" PRIu64, s->start_ms - s->arrive_ms);
	evhttp_add_header(out, "x-llmproxy-queue-ms", buf);
	snprintf(buf, sizeof buf, "%d", s->attempts);
	evhttp_add_header(out, "x-llmproxy-attempts", buf);
}

/* upstream: body bytes; forward them, or pause while the client lags. */
static int
stream_body_cb(void *arg, const char *data, size_t len)
{
	struct stream	*s = arg;

	if (stream_backlog(s) >= STREAM_HIGH_WATER) {
		s->paused = 1;
		return 1;		/* offered again after the drain */
	}
	evbuffer_add(s->chunk, data, len);
	evhttp_send_reply_chunk_with_cb(s->req, s->chunk, stream_drained_cb,
	    s);
	/* evhttp leaves the chunk alone for bodiless (HEAD) responses. */
	evbuffer_drain(s->chunk, evbuffer_get_length(s->chunk));
	s->bytes_out += len;
	stream_arm(s, s->pc->idle_timeout);
	return 0;
}

/* evhttp: everything queued for the client was written. */
static void
stream_drained_cb(struct evhttp_connection *evcon, void *arg)
{
	struct stream	*s = arg;

	if (s->cutting) {
		stream_drop_client(s, "upstream failed");
		return;
	}
	if (s->paused && s->up != NULL) {
		s->paused = 0;
		stream_arm(s, s->pc->idle_timeout);
		upstream_resume(s->up);	/* may call stream_body_cb */
	}
}

/* upstream: the transfer is over (the upstream frees itself). */
static void
stream_done_cb(void *arg, enum upstream_result res, const char *why)
{
	struct stream	*s = arg;

	s->up = NULL;
	if (res == UPSTREAM_OK) {
		stream_end(s, NULL);
		return;
	}
	log_info("provider %s: upstream %s", s->pc->name, why);
	if (s->headers_sent) {
		stream_break(s, "llmproxy_upstream_error",
		    "the upstream connection failed mid-response");
		return;
	}
	switch (res) {
	case UPSTREAM_CONNECT_TIMEOUT:
		stream_fail(s, 504, "llmproxy_connect_timeout",
		    "connecting to the provider timed out");
		break;
	case UPSTREAM_CONNECT_FAILED:
		stream_fail(s, 502, "llmproxy_upstream_unreachable",
		    "the provider could not be reached");
		break;
	default:
		stream_fail(s, 502, "llmproxy_upstream_error",
		    "the provider's answer was broken or cut off");
		break;
	}
}

/* The first-byte or idle deadline passed. */
static void
stream_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct stream	*s = arg;

	if (s->cutting) {
		stream_drop_client(s, "client stopped reading");
		return;
	}
	upstream_cancel(s->up);
	s->up = NULL;
	if (!s->headers_sent)
		stream_fail(s, 504, "llmproxy_first_byte_timeout",
		    "the provider sent no response in first_byte_timeout");
	else if (s->paused)
		stream_drop_client(s, "client stopped reading");
	else
		stream_break(s, "llmproxy_idle_timeout",
		    "the provider went silent for idle_timeout");
}

/* evhttp: the client connection is going away (we are writing to it). */
static void
stream_client_closed_cb(struct evhttp_connection *evcon, void *arg)
{
	struct stream	*s = arg;

	upstream_cancel(s->up);
	s->up = NULL;
	/*
	 * Detached from a dying connection, the request is ours to free;
	 * still attached, evhttp frees it with the connection.
	 */
	if (evhttp_request_get_connection(s->req) == NULL)
		evhttp_send_reply_end(s->req);
	stream_free(s, "client closed");
}

/* EV_CLOSED: the client hung up before the response began. */
static void
stream_hangup_cb(evutil_socket_t fd, short what, void *arg)
{
	struct stream	*s = arg;

	upstream_cancel(s->up);
	s->up = NULL;
	stream_drop_client(s, "client closed");
}

/* Give the client connection back to evhttp's keep-alive handling. */
static void
stream_detach(struct stream *s)
{
	struct bufferevent	*bev;

	evhttp_connection_set_closecb(s->evcon, NULL, NULL);
	bev = evhttp_connection_get_bufferevent(s->evcon);
	bufferevent_set_timeouts(bev, &s->env->keepalive,
	    &s->env->keepalive);
}

/* Answer with an error before any of the response went out. */
static void
stream_fail(struct stream *s, int status, const char *code,
    const char *message)
{
	struct evkeyvalq	*out = evhttp_request_get_output_headers(s->req);

	s->status = status;
	evhttp_clear_headers(out);
	stream_add_own_headers(s, out);
	stream_detach(s);
	stream_reply_error(s->req, s->pc, status, code, message);
	stream_free(s, code);
}

/* The response is complete: end it and keep the connection. */
static void
stream_end(struct stream *s, const char *why)
{
	stream_detach(s);
	evhttp_send_reply_end(s->req);
	stream_free(s, why);
}

/*
 * The response broke after its headers went out.  An SSE client gets a
 * last event in the dialect's error shape and a proper end; any other
 * body is cut without its end, once what was received is written.
 */
static void
stream_break(struct stream *s, const char *code, const char *message)
{
	char	*ev;

	if (s->sse) {
		ev = dialect_stream_error_event(s->pc->dialect, code, message);
		evbuffer_add(s->chunk, ev, strlen(ev));
		evhttp_send_reply_chunk(s->req, s->chunk);
		free(ev);
		stream_end(s, code);
		return;
	}
	if (stream_backlog(s) == 0) {
		stream_drop_client(s, code);
		return;
	}
	s->cutting = 1;		/* stream_drained_cb drops it */
	stream_arm(s, s->pc->idle_timeout);
}

/* Close the client connection (which frees the request) and the stream. */
static void
stream_drop_client(struct stream *s, const char *why)
{
	struct evhttp_connection	*evcon = s->evcon;

	evhttp_connection_set_closecb(evcon, NULL, NULL);
	stream_free(s, why);
	evhttp_connection_free(evcon);
}

/* Log the access line and free s; the request is already finished. */
static void
stream_free(struct stream *s, const char *why)
{
	uint64_t	now = stream_now_ms();

	if (log_enabled(LOG_LEVEL_INFO))
		log_info("access provider=%s path=%.*s status=%d queue_ms=%"
		    PRIu64 " upstream_ms=%" PRIu64 " bytes_in=%zu bytes_out=%"
		    PRIu64 " attempts=%d%s%s", s->pc->name,
		    (int)strcspn(s->rest, "?"), s->rest, s->status,
		    s->start_ms - s->arrive_ms, now - s->start_ms, s->bytes_in,
		    s->bytes_out, s->attempts, why != NULL ? " end=" : "",
		    why != NULL ? why : "");
	upstream_cancel(s->up);
	event_free(s->timer);
	event_free(s->hangup);
	evbuffer_free(s->chunk);
	free(s->rest);
	free(s);
}

/* Answer req with status and an error body in pc's dialect. */
void
stream_reply_error(struct evhttp_request *req,
    const struct provider_config *pc, int status, const char *code,
    const char *message)
{
	enum dialect	 d = pc != NULL ? pc->dialect : DIALECT_OPENAI;
	struct evbuffer	*buf;
	char		*body;

	body = dialect_error_body(d, dialect_error_type(d, status), code,
	    message);
	if ((buf = evbuffer_new()) == NULL)
		fatalx("%s: out of memory", __func__);
	evbuffer_add(buf, body, strlen(body));
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "application/json");
	evhttp_send_reply(req, status, stream_reason(status), buf);
	evbuffer_free(buf);
	free(body);
}
