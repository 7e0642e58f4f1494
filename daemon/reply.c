/* SPDX-License-Identifier: ISC */
/*
 * reply: the client side of one exchange (see stream.c for its phases).
 *
 * The response starts once an attempt's status and header fields are
 * final (not retried, not a 429 in hold): the upstream's end-to-end fields
 * are copied, hop-by-hop ones and the provider's CORS dropped, and the
 * daemon's x-llmproxy-* fields added.  Body bytes go to the client as
 * they arrive, one evhttp chunk each, with evhttp's "drained" callback
 * (stream_drained_cb) resuming a paused upstream.
 *
 * Every ending below finishes the evhttp request exactly once and then
 * frees the stream: reply_refuse/reply_fail (the daemon's own error,
 * before any byte went out), reply_end (complete; the connection is kept),
 * reply_break (broken after the headers: a last SSE error event, or a
 * plain body cut once what arrived is written), reply_drop_client.
 */
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
#include <event2/http_struct.h>
#include <event2/keyvalq_struct.h>

#include "clock.h"
#include "config.h"
#include "conn.h"
#include "dialect.h"
#include "headers.h"
#include "log.h"
#include "reply.h"
#include "stream.h"
#include "stream_state.h"
#include "upstream.h"
#include "usage.h"
#include "xmalloc.h"

/* A 429 body larger than this is passed on rather than held. */
#define REPLY_HOLD_MAX		(64 * 1024)

static const char *reply_reason(int status);
static void	reply_add_own_headers(struct stream *s,
		    struct evkeyvalq *out);
static void	reply_detach(struct stream *s);
static void	reply_keep_tail(struct stream *s, const char *data,
		    size_t len);

/*
 * Return the reason phrase for the status codes libevent 2.1 does not know
 * (it would say "Unknown Status Code"); NULL lets libevent choose.
 */
static const char *
reply_reason(int status)
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

/* Return the bytes queued for the client and not yet written. */
size_t
reply_backlog(struct stream *s)
{
	struct bufferevent	*bev;

	bev = evhttp_connection_get_bufferevent(s->evcon);
	return evbuffer_get_length(bufferevent_get_output(bev));
}

/* Send the status and headers copied to the response so far. */
void
reply_start(struct stream *s)
{
	struct evkeyvalq	*out;
	const char		*type;

	out = evhttp_request_get_output_headers(s->req);
	reply_add_own_headers(s, out);
	type = evhttp_find_header(out, "Content-Type");
	s->sse = type != NULL &&
	    strncasecmp(type, "text/event-stream", 17) == 0;
	if (s->reads_usage)
		s->usage = usage_reader_new(s->pc->dialect, s->sse);
	if (s->sse && s->status == 200)
		s->end_marker = dialect_stream_end_marker(s->pc->dialect,
		    s->rest);
	/*
	 * An HTTP/1.0 client cannot take chunks: without a length its body
	 * ends with the connection, so it must not be kept alive.
	 */
	if (s->req->minor == 0 &&
	    evhttp_find_header(out, "Content-Length") == NULL)
		evhttp_remove_header(evhttp_request_get_input_headers(s->req),
		    "Connection");
	evhttp_send_reply_start(s->req, s->status, reply_reason(s->status));
	s->headers_sent = 1;
	stream_arm(s, s->pc->idle_timeout);
}

/*
 * Move the upstream's end-to-end header fields to the client response
 * (the fields themselves, not copies: in is the upstream's to clear, and
 * what is left there is freed with it).
 */
void
reply_copy_headers(struct stream *s, struct evkeyvalq *in)
{
	struct evkeyvalq	*out;
	struct evkeyval		*h, *next;
	char			*conn;
	int			 chunked;

	out = evhttp_request_get_output_headers(s->req);
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
reply_add_own_headers(struct stream *s, struct evkeyvalq *out)
{
	char		buf[32];
	uint64_t	queued;

	queued = (s->admit_ms != 0 ? s->admit_ms : clock_now_ms()) -
	    s->arrive_ms;
	snprintf(buf, sizeof buf, "%" PRIu64, queued);
	evhttp_add_header(out, "x-llmproxy-queue-ms", buf);
	snprintf(buf, sizeof buf, "%d", s->attempts);
	evhttp_add_header(out, "x-llmproxy-attempts", buf);
}

/* Send len bytes to the client, reading usage from them when needed. */
void
reply_forward(struct stream *s, const char *data, size_t len)
{
	if (s->usage != NULL)
		usage_reader_feed(s->usage, data, len);
	if (s->end_marker != NULL)
		reply_keep_tail(s, data, len);
	evbuffer_add(s->chunk, data, len);
	evhttp_send_reply_chunk_with_cb(s->req, s->chunk, stream_drained_cb,
	    s);
	/* evhttp leaves the chunk alone for bodiless (HEAD) responses. */
	evbuffer_drain(s->chunk, evbuffer_get_length(s->chunk));
	s->bytes_out += len;
}

/* Keep the last STREAM_TAIL_MAX bytes sent, where the final event shows. */
static void
reply_keep_tail(struct stream *s, const char *data, size_t len)
{
	size_t	keep;

	if (len >= STREAM_TAIL_MAX) {
		memcpy(s->tail, data + len - STREAM_TAIL_MAX, STREAM_TAIL_MAX);
		s->tail_len = STREAM_TAIL_MAX;
		return;
	}
	keep = s->tail_len + len > STREAM_TAIL_MAX ? STREAM_TAIL_MAX - len :
	    s->tail_len;
	memmove(s->tail, s->tail + s->tail_len - keep, keep);
	memcpy(s->tail + keep, data, len);
	s->tail_len = keep + len;
}

/*
 * Return 0 if the response is an SSE stream whose API ends every complete
 * stream with a final event ([DONE], message_stop) and the body sent did
 * not end with it: the upstream ended a well-framed body too soon.
 */
int
reply_is_complete(struct stream *s)
{
	return s->end_marker == NULL || memmem(s->tail, s->tail_len,
	    s->end_marker, strlen(s->end_marker)) != NULL;
}

/* Keep a 429's body until its end; a large one is passed on instead. */
void
reply_hold(struct stream *s, const char *data, size_t len)
{
	evbuffer_add(s->held, data, len);
	stream_arm(s, s->pc->idle_timeout);
	if (evbuffer_get_length(s->held) > REPLY_HOLD_MAX)
		reply_release_hold(s);
}

/* Stop holding: send the 429's headers and what was held of its body. */
void
reply_release_hold(struct stream *s)
{
	size_t	len = evbuffer_get_length(s->held);

	s->holding = 0;
	reply_start(s);
	if (len > 0)
		reply_forward(s, (const char *)evbuffer_pullup(s->held, -1),
		    len);
	evbuffer_drain(s->held, len);
}

/*
 * Forget the response fields set so far (an abandoned attempt), but keep
 * the CORS fields server.c set for an allowed browser origin, so that a
 * browser can read the daemon's own errors too.
 */
void
reply_clear_headers(struct stream *s)
{
	struct evkeyvalq	*out;
	const char		*v;
	char			*origin = NULL;

	out = evhttp_request_get_output_headers(s->req);
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

/* Give the client connection back to evhttp's keep-alive handling. */
static void
reply_detach(struct stream *s)
{
	struct bufferevent	*bev;

	conn_set_close_hook(s->evcon, NULL, NULL);
	bev = evhttp_connection_get_bufferevent(s->evcon);
	bufferevent_set_timeouts(bev, &s->env->keepalive,
	    &s->env->keepalive);
}

/*
 * Refuse with the daemon's own error; retry_ms > 0 adds Retry-After
 * (whole seconds, rounded up) and retry-after-ms.
 */
void
reply_refuse(struct stream *s, int status, const char *code,
    const char *message, uint64_t retry_ms)
{
	struct evkeyvalq	*out;
	char			 buf[32];

	out = evhttp_request_get_output_headers(s->req);
	reply_clear_headers(s);
	if (retry_ms > 0) {
		snprintf(buf, sizeof buf, "%" PRIu64, (retry_ms + 999) / 1000);
		evhttp_add_header(out, "Retry-After", buf);
		snprintf(buf, sizeof buf, "%" PRIu64, retry_ms);
		evhttp_add_header(out, "retry-after-ms", buf);
	}
	s->status = status;
	reply_add_own_headers(s, out);
	reply_detach(s);
	reply_error(s->req, s->pc, status, code, message);
	stream_free(s, code);
}

/* Answer with an error before any of the response went out. */
void
reply_fail(struct stream *s, int status, const char *code,
    const char *message)
{
	reply_refuse(s, status, code, message, 0);
}

/* The response is complete: end it and keep the connection. */
void
reply_end(struct stream *s, const char *why)
{
	reply_detach(s);
	evhttp_send_reply_end(s->req);
	stream_free(s, why);
}

/*
 * The response broke after its headers went out.  An SSE client gets a
 * last event in the dialect's error shape and a proper end; any other
 * body is cut without its end, once what was received is written.
 */
void
reply_break(struct stream *s, const char *code, const char *message)
{
	char	*ev;

	if (s->sse) {
		ev = dialect_stream_error_event(s->pc->dialect, code, message);
		evbuffer_add(s->chunk, ev, strlen(ev));
		evhttp_send_reply_chunk(s->req, s->chunk);
		free(ev);
		reply_end(s, code);
		return;
	}
	if (reply_backlog(s) == 0) {
		reply_drop_client(s, code);
		return;
	}
	s->phase = STREAM_CUTTING;	/* stream_drained_cb drops it */
	stream_arm(s, s->pc->idle_timeout);
}

/* Close the client connection (which frees the request) and the stream. */
void
reply_drop_client(struct stream *s, const char *why)
{
	struct evhttp_connection	*evcon = s->evcon;

	conn_set_close_hook(evcon, NULL, NULL);
	stream_free(s, why);
	evhttp_connection_free(evcon);
}

/* Answer req with status and an error body in pc's dialect. */
void
reply_error(struct evhttp_request *req,
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
	evhttp_send_reply(req, status, reply_reason(status), buf);
	evbuffer_free(buf);
	free(body);
}
