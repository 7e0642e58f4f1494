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
 * Backpressure: past EXCHANGE_HIGH_WATER bytes queued for the client,
 * exchange_lags() tells the owner to pause its transfers, and evhttp's
 * "output drained" callback has the owner resume them.
 *
 * The response ends in one of four ways, each telling the owner first
 * (which cancels what it still runs), finishing the evhttp request
 * exactly once, and then calling exchange_close(): refused
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
#include <event2/keyvalq_struct.h>

#include "access.h"
#include "client.h"
#include "clock.h"
#include "config.h"
#include "conn.h"
#include "deadline.h"
#include "dialect.h"
#include "exchange.h"
#include "headers.h"
#include "httpver.h"
#include "log.h"
#include "reply.h"
#include "upstream.h"
#include "xmalloc.h"

/* Client backlog past which the owner pauses its transfers. */
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
	const struct provider_config	*pc;	/* its errors' dialect; NULL */
	struct metrics_provider		*m;
	struct client			*client;	/* referenced; NULL */
	enum queue_priority		 priority;
	char				*target;
	const char			*method;
	const struct exchange_owner	*owner;	/* NULL once told to close */
	void				*owner_arg;
	struct exchange_note		 note;
	struct deadline			*timer;	/* flushing a cut body;
						   NULL till then */
	struct event			*hangup; /* EV_CLOSED on the client */
	struct evbuffer			*chunk;	/* reused for each chunk */
	enum exchange_phase		 phase;
	int				 status;	/* sent; 0: none yet */
	int				 headers_sent;
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
static size_t	exchange_backlog(struct exchange *ex);
static void	exchange_move_headers(struct exchange *ex,
		    struct evkeyvalq *in);
static void	exchange_add_own_headers(struct exchange *ex,
		    struct evkeyvalq *out);
static void	exchange_clear_headers(struct exchange *ex);
static void	exchange_tell_owner(struct exchange *ex, enum access_end end);
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

/* Take over req under cf; refusals in pc's dialect, counted in m. */
struct exchange *
exchange_new(const struct exchange_env *env, struct evhttp_request *req,
    struct config *cf, const struct provider_config *pc,
    struct metrics_provider *m, const char *target)
{
	struct exchange	*ex;

	ex = xcalloc(1, sizeof *ex);
	ex->env = env;
	ex->req = req;
	ex->evcon = evhttp_request_get_connection(req);
	ex->cf = config_ref(cf);
	ex->pc = pc;
	ex->m = m;
	ex->target = xstrdup(target);
	ex->method = exchange_method_name(req);
	ex->arrive_ms = clock_now_ms();
	ex->note.estimate = -1;
	ex->bytes_in = evbuffer_get_length(evhttp_request_get_input_buffer(req));
	if ((ex->chunk = evbuffer_new()) == NULL)
		fatalx("%s: out of memory", __func__);
	TAILQ_INSERT_TAIL(&exchange_all, ex, entry);
	exchange_live++;
	exchange_watch_client(ex);
	return ex;
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

/* Hand the response to owner. */
void
exchange_set_owner(struct exchange *ex, const struct exchange_owner *owner,
    void *arg)
{
	ex->owner = owner;
	ex->owner_arg = arg;
}

/* Speak pc's dialect in the daemon's own errors from now on. */
void
exchange_set_dialect(struct exchange *ex, const struct provider_config *pc)
{
	ex->pc = pc;
}

/* Say who is asking, taking over the reference c holds (NULL: none). */
void
exchange_set_client(struct exchange *ex, struct client *c,
    enum queue_priority priority)
{
	if (ex->client != NULL)
		client_unref(ex->client, clock_now_ms());
	ex->client = c;
	ex->priority = priority;
}

/* Return who is asking (NULL: not said) and at which priority. */
struct client *
exchange_client(const struct exchange *ex, enum queue_priority *priority)
{
	if (priority != NULL)
		*priority = ex->priority;
	return ex->client;
}

/* Set what the access line reports of the upstream side. */
void
exchange_set_note(struct exchange *ex, const struct exchange_note *note)
{
	ex->note = *note;
}

/* Return the request's method. */
const char *
exchange_method(const struct exchange *ex)
{
	return ex->method;
}

/* Return the request's header fields. */
struct evkeyvalq *
exchange_request_headers(struct exchange *ex)
{
	return evhttp_request_get_input_headers(ex->req);
}

/* Return the request's body (whole, contiguous) and its length. */
const char *
exchange_body(struct exchange *ex, size_t *len)
{
	struct evbuffer	*in = evhttp_request_get_input_buffer(ex->req);

	*len = evbuffer_get_length(in);
	return (const char *)evbuffer_pullup(in, -1);
}

/* Return the bytes queued for the client and not yet written. */
static size_t
exchange_backlog(struct exchange *ex)
{
	struct bufferevent	*bev;

	bev = evhttp_connection_get_bufferevent(ex->evcon);
	return evbuffer_get_length(bufferevent_get_output(bev));
}

/* Return 1 if the client lags: the owner should pause its sources. */
int
exchange_lags(struct exchange *ex)
{
	return exchange_backlog(ex) >= EXCHANGE_HIGH_WATER;
}

/* Send status and the end-to-end fields of fields, plus the daemon's. */
void
exchange_respond(struct exchange *ex, int status, struct evkeyvalq *fields)
{
	struct evkeyvalq	*out;
	const char		*type;

	if (fields != NULL)
		exchange_move_headers(ex, fields);
	out = evhttp_request_get_output_headers(ex->req);
	exchange_add_own_headers(ex, out);
	type = evhttp_find_header(out, "Content-Type");
	ex->sse = type != NULL &&
	    strncasecmp(type, "text/event-stream", 17) == 0;
	/*
	 * An HTTP/1.0 client cannot take chunks: without a length its body
	 * ends with the connection, so it must not be kept alive.
	 */
	if (httpver_minor(ex->req) == 0 &&
	    evhttp_find_header(out, "Content-Length") == NULL)
		evhttp_remove_header(evhttp_request_get_input_headers(ex->req),
		    "Connection");
	ex->status = status;
	ex->headers_sent = 1;
	evhttp_send_reply_start(ex->req, status, reply_reason(status));
}

/* Add a field to the response before exchange_respond(). */
void
exchange_add_field(struct exchange *ex, const char *name, const char *value)
{
	evhttp_add_header(evhttp_request_get_output_headers(ex->req), name,
	    value);
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

	snprintf(buf, sizeof buf, "%" PRIu64, ex->note.queue_ms);
	evhttp_add_header(out, "x-llmproxy-queue-ms", buf);
	snprintf(buf, sizeof buf, "%d", ex->note.attempts);
	evhttp_add_header(out, "x-llmproxy-attempts", buf);
	if (ex->note.provider != NULL)
		evhttp_add_header(out, "x-llmproxy-provider",
		    ex->note.provider);
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
void
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
void
exchange_refuse(struct exchange *ex, int status, enum access_end end,
    const char *code, const char *message, uint64_t retry_ms)
{
	struct evkeyvalq	*out;
	char			 buf[32];

	exchange_tell_owner(ex, end);
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
void
exchange_end(struct exchange *ex, enum access_end end)
{
	exchange_tell_owner(ex, end);
	exchange_detach(ex);
	evhttp_send_reply_end(ex->req);
	exchange_close(ex, end);
}

/*
 * The response broke after its headers went out.  An SSE client gets a
 * last event in the dialect's error shape and a proper end; any other
 * body is cut without its end, once what was received is written.
 */
void
exchange_break(struct exchange *ex, enum access_end end, const char *code,
    const char *message)
{
	char	*ev;

	exchange_tell_owner(ex, end);
	if (ex->sse) {
		ev = dialect_stream_error_event(ex->pc != NULL ?
		    ex->pc->dialect : DIALECT_OPENAI, code, message);
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
	deadline_arm(ex->timer, ex->pc != NULL ? ex->pc->idle_timeout :
	    ex->env->keepalive.tv_sec);
}

/* Close the client connection (which frees the request) and ex. */
void
exchange_drop(struct exchange *ex, enum access_end end)
{
	struct evhttp_connection	*evcon = ex->evcon;

	exchange_tell_owner(ex, end);
	conn_set_close_hook(evcon, NULL, NULL);
	exchange_close(ex, end);
	evhttp_connection_free(evcon);
}

/*
 * Tell the owner, once, that the response is over: it cancels whatever
 * it still runs (nothing it runs calls back after this) and notes what
 * the access line should say.
 */
static void
exchange_tell_owner(struct exchange *ex, enum access_end end)
{
	const struct exchange_owner	*owner = ex->owner;

	if (owner == NULL)
		return;
	ex->owner = NULL;
	owner->closing(ex->owner_arg, end);
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
 * The one teardown: tell the owner if nobody has (the client went), record
 * the access line and metrics, and free ex.  The request is finished.
 */
static void
exchange_close(struct exchange *ex, enum access_end end)
{
	const struct exchange_env	*env = ex->env;

	assert(ex->phase != EXCHANGE_CLOSED);	/* closed exactly once */
	exchange_tell_owner(ex, end);
	ex->phase = EXCHANGE_CLOSED;
	exchange_record(ex, end);
	if (ex->client != NULL)
		client_unref(ex->client, clock_now_ms());
	config_unref(ex->cf);
	deadline_free(ex->timer);
	event_free(ex->hangup);
	evbuffer_free(ex->chunk);
	free(ex->target);
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
	e.provider = ex->note.provider;
	e.first = ex->note.first;
	e.method = ex->method;
	e.target = ex->target;
	e.status = ex->status;
	e.end = end;
	e.queue_ms = ex->note.queue_ms;
	e.upstream_ms = ex->note.admit_ms != 0 ? now - ex->note.admit_ms : 0;
	e.duration_ms = now - ex->arrive_ms;
	e.bytes_in = ex->bytes_in;
	e.bytes_out = ex->bytes_out;
	e.attempts = ex->note.attempts;
	e.estimate = ex->note.attempts > 0 ? ex->note.estimate : -1;
	e.timed = 1;
	e.model = ex->note.model;
	e.model_metrics = ex->note.model_metrics;
	e.client = ex->client;
	access_record(ex->m, &e);
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
	if (ex->owner != NULL)
		ex->owner->drained(ex->owner_arg);
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

	/* First, while the request (and the body attempts send) lives. */
	exchange_tell_owner(ex, ACCESS_CLIENT_CLOSED);
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
	struct exchange	*ex, *next;

	for (ex = TAILQ_FIRST(&exchange_all); ex != NULL; ex = next) {
		next = TAILQ_NEXT(ex, entry);
		if (ex->phase == EXCHANGE_CUTTING)
			continue;		/* already on its way out */
		if (ex->headers_sent)
			exchange_break(ex, ACCESS_SHUTDOWN, "llmproxy_shutdown",
			    "the daemon is shutting down");
		else
			exchange_refuse(ex, 503, ACCESS_SHUTDOWN,
			    "llmproxy_shutdown", "the daemon is shutting down",
			    1000);
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
