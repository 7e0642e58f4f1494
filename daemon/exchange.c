/* SPDX-License-Identifier: ISC */
/*
 * exchange: one client exchange (see exchange.h).
 *
 * While an exchange lives, evhttp's own read/write timeouts on the client
 * connection are off (they would fire while the daemon is silent, waiting
 * for admission or for a model); the attempts run their deadlines
 * instead.  A client that hangs up is noticed two ways: evhttp's close
 * callback (it reads while writing the response) and an EV_CLOSED event
 * on the socket (evhttp does not read at all before the response starts).
 * Backpressure: past EXCHANGE_HIGH_WATER bytes queued for the client, an
 * attempt's bytes are refused, which pauses its transfer, and evhttp's
 * "output drained" callback resumes it.
 *
 * The response ends in one of four ways, each finishing the evhttp
 * request exactly once and then calling exchange_close(): refused
 * (the daemon's own error, before any byte went out), ended (complete;
 * the connection is kept), broken after the headers (a last SSE error
 * event, or a plain body cut once what arrived is written), or dropped
 * (the connection closed).
 */
#include <sys/queue.h>

#include <assert.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/http_struct.h>	/* minor: no getter in 2.1 */
#include <event2/keyvalq_struct.h>

#include "access.h"
#include "attempt.h"
#include "clock.h"
#include "config.h"
#include "conn.h"
#include "deadline.h"
#include "dialect.h"
#include "exchange.h"
#include "headers.h"
#include "log.h"
#include "provider.h"
#include "reply.h"
#include "upstream.h"
#include "xmalloc.h"

/* Client backlog past which an attempt's transfer is paused. */
#define EXCHANGE_HIGH_WATER	(64 * 1024)

enum exchange_phase {
	EXCHANGE_RUNNING,
	EXCHANGE_CUTTING,	/* a broken plain body being flushed */
	EXCHANGE_CLOSED
};

struct exchange {
	const struct exchange_env	*env;
	struct evhttp_request		*req;	/* finished before the close */
	struct evhttp_connection	*evcon;
	struct config			*cf;	/* referenced */
	const struct provider_config	*pc;	/* asked: the errors' dialect */
	struct provider			*prov;	/* referenced */
	char				*rest;
	const char			*method;
	size_t				 client;	/* guard_token()'s */
	struct attempt_request		 rq;
	struct attempt			*a;	/* the proxy's one attempt */
	struct attempt_stats		 st;	/* a's, as last seen */
	struct deadline			*timer;	/* flushing a cut body;
						   NULL till then */
	struct event			*hangup; /* EV_CLOSED on the client */
	struct evbuffer			*chunk;	/* reused for each chunk */
	enum exchange_phase		 phase;
	int				 status;	/* sent; 0: none yet */
	int				 headers_sent;
	int				 paused;	/* a waits for a drain */
	int				 sse;
	uint64_t			 arrive_ms;
	uint64_t			 bytes_out;
	size_t				 bytes_in;
	TAILQ_ENTRY(exchange)		 entry;		/* exchange_all */
};

/* Every live exchange, so that a shutdown can end them. */
static TAILQ_HEAD(, exchange)	exchange_all =
    TAILQ_HEAD_INITIALIZER(exchange_all);
static size_t			exchange_live;

static void	exchange_watch_client(struct exchange *ex);
static void	exchange_headers_cb(void *arg, struct attempt *a, int status,
		    struct evkeyvalq *headers);
static int	exchange_body_cb(void *arg, struct attempt *a,
		    const char *data, size_t len);
static void	exchange_done_cb(void *arg, struct attempt *a,
		    const struct attempt_end *end);
static size_t	exchange_backlog(struct exchange *ex);
static void	exchange_respond(struct exchange *ex, int status,
		    struct evkeyvalq *in);
static void	exchange_move_headers(struct exchange *ex,
		    struct evkeyvalq *in);
static void	exchange_add_own_headers(struct exchange *ex,
		    struct evkeyvalq *out);
static void	exchange_clear_headers(struct exchange *ex);
static void	exchange_write(struct exchange *ex, const char *data,
		    size_t len);
static void	exchange_refuse(struct exchange *ex, int status,
		    enum access_end end, const char *code,
		    const char *message, uint64_t retry_ms);
static void	exchange_end(struct exchange *ex, enum access_end end);
static void	exchange_break(struct exchange *ex, enum access_end end,
		    const char *code, const char *message);
static void	exchange_drop(struct exchange *ex, enum access_end end);
static void	exchange_detach(struct exchange *ex);
static void	exchange_close(struct exchange *ex, enum access_end end);
static void	exchange_record(struct exchange *ex, enum access_end end);
static void	exchange_drained_cb(struct evhttp_connection *evcon,
		    void *arg);
static void	exchange_cut_cb(void *arg);
static void	exchange_client_closed_cb(struct evhttp_connection *evcon,
		    void *arg);
static void	exchange_hangup_cb(evutil_socket_t fd, short what,
		    void *arg);

static const struct attempt_cbs exchange_attempt_cbs = {
	exchange_headers_cb, exchange_body_cb, exchange_done_cb
};

/* Proxy req to prov under cf: an exchange with one attempt. */
void
exchange_proxy(const struct exchange_env *env, struct evhttp_request *req,
    struct config *cf, struct provider *prov, const char *rest,
    size_t client)
{
	struct exchange	*ex;
	struct evbuffer	*in = evhttp_request_get_input_buffer(req);

	ex = xcalloc(1, sizeof *ex);
	ex->env = env;
	ex->req = req;
	ex->evcon = evhttp_request_get_connection(req);
	ex->cf = config_ref(cf);
	ex->prov = prov;
	provider_ref(prov);
	ex->pc = config_find_provider(cf, provider_config(prov)->name,
	    strlen(provider_config(prov)->name));
	ex->rest = xstrdup(rest);
	ex->method = exchange_method_name(req);
	ex->client = client;
	ex->arrive_ms = clock_now_ms();
	ex->st.estimate = -1;
	if ((ex->chunk = evbuffer_new()) == NULL)
		fatalx("%s: out of memory", __func__);
	TAILQ_INSERT_TAIL(&exchange_all, ex, entry);
	exchange_live++;
	exchange_watch_client(ex);
	ex->bytes_in = evbuffer_get_length(in);
	ex->rq.method = ex->method;
	ex->rq.path = ex->rest;
	ex->rq.headers = evhttp_request_get_input_headers(req);
	ex->rq.body = (const char *)evbuffer_pullup(in, -1);
	ex->rq.body_len = ex->bytes_in;
	ex->a = attempt_start(prov, cf, &ex->rq, &exchange_attempt_cbs, ex);
}

/* Take over the client connection's deadlines and watch for a hang-up. */
static void
exchange_watch_client(struct exchange *ex)
{
	struct bufferevent	*bev;

	bev = evhttp_connection_get_bufferevent(ex->evcon);
	bufferevent_set_timeouts(bev, NULL, NULL);	/* ours run instead */
	ex->hangup = event_new(bufferevent_get_base(bev),
	    bufferevent_getfd(bev), EV_CLOSED, exchange_hangup_cb, ex);
	if (ex->hangup == NULL)
		fatalx("%s: out of memory", __func__);
	event_add(ex->hangup, NULL);
	conn_set_close_hook(ex->evcon, exchange_client_closed_cb, ex);
}

/* attempt: its final status and fields; the response starts. */
static void
exchange_headers_cb(void *arg, struct attempt *a, int status,
    struct evkeyvalq *headers)
{
	struct exchange	*ex = arg;

	attempt_stats(a, &ex->st);
	ex->sse = attempt_is_sse(a);
	exchange_respond(ex, status, headers);
}

/* attempt: body bytes; send them, or have the transfer pause. */
static int
exchange_body_cb(void *arg, struct attempt *a, const char *data, size_t len)
{
	struct exchange	*ex = arg;

	if (exchange_backlog(ex) >= EXCHANGE_HIGH_WATER) {
		ex->paused = 1;
		return 1;		/* offered again after the drain */
	}
	exchange_write(ex, data, len);
	return 0;
}

/* attempt: it is over; end the response the way it says. */
static void
exchange_done_cb(void *arg, struct attempt *a, const struct attempt_end *e)
{
	struct exchange	*ex = arg;

	attempt_stats(a, &ex->st);
	ex->a = NULL;			/* freed when this returns */
	switch (e->outcome) {
	case ATTEMPT_COMPLETE:
		exchange_end(ex, e->end);
		break;
	case ATTEMPT_REFUSED:
		exchange_refuse(ex, e->status, e->end, e->code, e->message,
		    e->retry_ms);
		break;
	case ATTEMPT_BROKEN:
		if (e->end == ACCESS_CLIENT_STALLED)
			exchange_drop(ex, e->end);
		else
			exchange_break(ex, e->end, e->code, e->message);
		break;
	}
}

/* Return the bytes queued for the client and not yet written. */
static size_t
exchange_backlog(struct exchange *ex)
{
	struct bufferevent	*bev;

	bev = evhttp_connection_get_bufferevent(ex->evcon);
	return evbuffer_get_length(bufferevent_get_output(bev));
}

/* Send status and the end-to-end fields of in, plus the daemon's own. */
static void
exchange_respond(struct exchange *ex, int status, struct evkeyvalq *in)
{
	struct evkeyvalq	*out;

	exchange_move_headers(ex, in);
	out = evhttp_request_get_output_headers(ex->req);
	exchange_add_own_headers(ex, out);
	/*
	 * An HTTP/1.0 client cannot take chunks: without a length its body
	 * ends with the connection, so it must not be kept alive.
	 */
	if (ex->req->minor == 0 &&
	    evhttp_find_header(out, "Content-Length") == NULL)
		evhttp_remove_header(evhttp_request_get_input_headers(ex->req),
		    "Connection");
	ex->status = status;
	ex->headers_sent = 1;
	evhttp_send_reply_start(ex->req, status, reply_reason(status));
}

/*
 * Move in's end-to-end fields to the client response (the fields
 * themselves, not copies: in is the upstream's to clear, and what is
 * left there is freed with it).
 */
static void
exchange_move_headers(struct exchange *ex, struct evkeyvalq *in)
{
	struct evkeyvalq	*out;
	struct evkeyval		*h, *next;
	char			*conn;
	int			 chunked;

	out = evhttp_request_get_output_headers(ex->req);
	conn = upstream_connection_tokens(in);
	/* A length next to chunked framing is meaningless (RFC 9112 6.3). */
	chunked = evhttp_find_header(in, "Transfer-Encoding") != NULL;
	for (h = TAILQ_FIRST(in); h != NULL; h = next) {
		next = TAILQ_NEXT(h, next);
		if (headers_is_hop_by_hop(h->key, conn))
			continue;
		if (chunked && strcasecmp(h->key, "Content-Length") == 0)
			continue;
		/* CORS is the daemon's to answer, never the provider's "*". */
		if (strncasecmp(h->key, "Access-Control-", 15) == 0)
			continue;
		TAILQ_REMOVE(in, h, next);
		TAILQ_INSERT_TAIL(out, h, next);
	}
	free(conn);
}

/* Add the x-llmproxy-* fields every response of the daemon carries. */
static void
exchange_add_own_headers(struct exchange *ex, struct evkeyvalq *out)
{
	char	buf[32];

	snprintf(buf, sizeof buf, "%" PRIu64, ex->st.queue_ms);
	evhttp_add_header(out, "x-llmproxy-queue-ms", buf);
	snprintf(buf, sizeof buf, "%d", ex->st.tries);
	evhttp_add_header(out, "x-llmproxy-attempts", buf);
}

/*
 * Forget the response fields set so far, but keep the CORS fields
 * server.c set for an allowed browser origin, so that a browser can read
 * the daemon's own errors too.
 */
static void
exchange_clear_headers(struct exchange *ex)
{
	struct evkeyvalq	*out;
	const char		*v;
	char			*origin = NULL;

	out = evhttp_request_get_output_headers(ex->req);
	if ((v = evhttp_find_header(out, "Access-Control-Allow-Origin")) !=
	    NULL)
		origin = xstrdup(v);
	evhttp_clear_headers(out);
	if (origin != NULL) {
		evhttp_add_header(out, "Access-Control-Allow-Origin", origin);
		evhttp_add_header(out, "Vary", "Origin");
		free(origin);
	}
}

/* Send len body bytes to the client. */
static void
exchange_write(struct exchange *ex, const char *data, size_t len)
{
	if (evbuffer_add(ex->chunk, data, len) == -1)
		fatalx("%s: out of memory", __func__);
	evhttp_send_reply_chunk_with_cb(ex->req, ex->chunk,
	    exchange_drained_cb, ex);
	/* evhttp leaves the chunk alone for bodiless (HEAD) responses. */
	evbuffer_drain(ex->chunk, evbuffer_get_length(ex->chunk));
	ex->bytes_out += len;
}

/*
 * Answer with the daemon's own error; retry_ms > 0 adds Retry-After
 * (whole seconds, rounded up) and retry-after-ms.
 */
static void
exchange_refuse(struct exchange *ex, int status, enum access_end end,
    const char *code, const char *message, uint64_t retry_ms)
{
	struct evkeyvalq	*out;
	char			 buf[32];

	out = evhttp_request_get_output_headers(ex->req);
	exchange_clear_headers(ex);
	if (retry_ms > 0) {
		snprintf(buf, sizeof buf, "%" PRIu64, (retry_ms + 999) / 1000);
		evhttp_add_header(out, "Retry-After", buf);
		snprintf(buf, sizeof buf, "%" PRIu64, retry_ms);
		evhttp_add_header(out, "retry-after-ms", buf);
	}
	exchange_add_own_headers(ex, out);
	ex->status = status;
	exchange_detach(ex);
	reply_error(ex->req, ex->pc, status, code, message);
	exchange_close(ex, end);
}

/* The response is complete: end it and keep the connection. */
static void
exchange_end(struct exchange *ex, enum access_end end)
{
	exchange_detach(ex);
	evhttp_send_reply_end(ex->req);
	exchange_close(ex, end);
}

/*
 * The response broke after its headers went out.  An SSE client gets a
 * last event in the dialect's error shape and a proper end; any other
 * body is cut without its end, once what was received is written.
 */
static void
exchange_break(struct exchange *ex, enum access_end end, const char *code,
    const char *message)
{
	char	*ev;

	if (ex->sse) {
		ev = dialect_stream_error_event(ex->pc->dialect, code, message);
		if (evbuffer_add(ex->chunk, ev, strlen(ev)) == -1)
			fatalx("%s: out of memory", __func__);
		evhttp_send_reply_chunk(ex->req, ex->chunk);
		free(ev);
		exchange_end(ex, end);
		return;
	}
	if (exchange_backlog(ex) == 0) {
		exchange_drop(ex, end);
		return;
	}
	ex->phase = EXCHANGE_CUTTING;	/* exchange_drained_cb drops it */
	ex->timer = deadline_new(exchange_cut_cb, ex);
	deadline_arm(ex->timer, ex->pc->idle_timeout);
}

/* Close the client connection (which frees the request) and ex. */
static void
exchange_drop(struct exchange *ex, enum access_end end)
{
	struct evhttp_connection	*evcon = ex->evcon;

	conn_set_close_hook(evcon, NULL, NULL);
	exchange_close(ex, end);
	evhttp_connection_free(evcon);
}

/* Give the client connection back to evhttp's keep-alive handling. */
static void
exchange_detach(struct exchange *ex)
{
	struct bufferevent	*bev;

	conn_set_close_hook(ex->evcon, NULL, NULL);
	bev = evhttp_connection_get_bufferevent(ex->evcon);
	bufferevent_set_timeouts(bev, &ex->env->keepalive,
	    &ex->env->keepalive);
}

/*
 * The one teardown: cancel the attempts ex still owns (they give back
 * their slots and transfers and call nothing), record the access line
 * and metrics, and free ex.  The request is already finished.
 */
static void
exchange_close(struct exchange *ex, enum access_end end)
{
	const struct exchange_env	*env = ex->env;

	assert(ex->phase != EXCHANGE_CLOSED);	/* closed exactly once */
	ex->phase = EXCHANGE_CLOSED;
	if (ex->a != NULL) {
		attempt_stats(ex->a, &ex->st);
		attempt_cancel(ex->a);
		ex->a = NULL;
	}
	exchange_record(ex, end);
	provider_unref(ex->prov);
	config_unref(ex->cf);
	deadline_free(ex->timer);
	event_free(ex->hangup);
	evbuffer_free(ex->chunk);
	free(ex->rest);
	TAILQ_REMOVE(&exchange_all, ex, entry);
	free(ex);
	if (--exchange_live == 0 && env->drained != NULL)
		env->drained(env->drained_arg);
}

/* Write ex's access line and count it, as access.h says. */
static void
exchange_record(struct exchange *ex, enum access_end end)
{
	struct access_entry	e;
	uint64_t		now = clock_now_ms();

	memset(&e, 0, sizeof e);
	e.provider = ex->pc->name;
	e.method = ex->method;
	e.target = ex->rest;
	e.status = ex->status;
	e.end = end;
	e.queue_ms = ex->st.queue_ms;
	e.upstream_ms = ex->st.admit_ms != 0 ? now - ex->st.admit_ms : 0;
	e.duration_ms = now - ex->arrive_ms;
	e.bytes_in = ex->bytes_in;
	e.bytes_out = ex->bytes_out;
	e.attempts = ex->st.tries;
	e.estimate = ex->st.tries > 0 ? ex->st.estimate : -1;
	e.timed = 1;
	e.model = ex->st.model;
	e.model_metrics = ex->st.model_metrics;
	access_record(provider_metrics(ex->prov), &e);
}

/* evhttp: everything queued for the client was written. */
static void
exchange_drained_cb(struct evhttp_connection *evcon, void *arg)
{
	struct exchange	*ex = arg;

	if (ex->phase == EXCHANGE_CUTTING) {
		exchange_drop(ex, ACCESS_UPSTREAM_ERROR);
		return;
	}
	if (ex->paused && ex->a != NULL) {
		ex->paused = 0;
		attempt_resume(ex->a);	/* may call exchange_body_cb */
	}
}

/* The cut body was not flushed in idle_timeout: the client stalled. */
static void
exchange_cut_cb(void *arg)
{
	struct exchange	*ex = arg;

	exchange_drop(ex, ACCESS_CLIENT_STALLED);
}

/* evhttp: the client connection is going away (we are writing to it). */
static void
exchange_client_closed_cb(struct evhttp_connection *evcon, void *arg)
{
	struct exchange	*ex = arg;

	/*
	 * Detached from a dying connection, the request is ours to free;
	 * still attached, evhttp frees it with the connection.
	 */
	if (evhttp_request_get_connection(ex->req) == NULL)
		evhttp_send_reply_end(ex->req);
	exchange_close(ex, ACCESS_CLIENT_CLOSED);
}

/* EV_CLOSED: the client hung up before the response began. */
static void
exchange_hangup_cb(evutil_socket_t fd, short what, void *arg)
{
	struct exchange	*ex = arg;

	exchange_drop(ex, ACCESS_CLIENT_CLOSED);
}

/* Return the number of live exchanges. */
size_t
exchange_count(void)
{
	return exchange_live;
}

/*
 * End every exchange now (the shutdown deadline): waiting requests get
 * 503, responses under way end as a broken stream does (SPEC 6).
 */
void
exchange_shutdown_all(void)
{
	struct exchange		*ex, *next;
	struct attempt_stats	 st;

	for (ex = TAILQ_FIRST(&exchange_all); ex != NULL; ex = next) {
		next = TAILQ_NEXT(ex, entry);
		if (ex->phase == EXCHANGE_CUTTING)
			continue;		/* already on its way out */
		memset(&st, 0, sizeof st);
		if (ex->a != NULL) {
			attempt_stats(ex->a, &ex->st);
			st = ex->st;
			attempt_cancel(ex->a);
			ex->a = NULL;
		}
		if (ex->headers_sent) {
			exchange_break(ex, ACCESS_SHUTDOWN, "llmproxy_shutdown",
			    "the daemon is shutting down");
			continue;
		}
		if (st.waiting)
			provider_count_refusal(ex->prov,
			    PROVIDER_REFUSED_SHUTDOWN);
		exchange_refuse(ex, 503, ACCESS_SHUTDOWN, "llmproxy_shutdown",
		    "the daemon is shutting down", 1000);
	}
}

/* Return req's method as the client sent it. */
const char *
exchange_method_name(const struct evhttp_request *req)
{
	switch (evhttp_request_get_command(
	    (struct evhttp_request *)(uintptr_t)req)) {
	case EVHTTP_REQ_GET:
		return "GET";
	case EVHTTP_REQ_POST:
		return "POST";
	case EVHTTP_REQ_HEAD:
		return "HEAD";
	case EVHTTP_REQ_PUT:
		return "PUT";
	case EVHTTP_REQ_DELETE:
		return "DELETE";
	case EVHTTP_REQ_OPTIONS:
		return "OPTIONS";
	case EVHTTP_REQ_PATCH:
		return "PATCH";
	case EVHTTP_REQ_TRACE:
		return "TRACE";
	case EVHTTP_REQ_CONNECT:
		return "CONNECT";
	default:
		return "-";
	}
}
