/* SPDX-License-Identifier: ISC */
/*
 * stream: one client exchange with a provider.
 *
 * A stream goes through phases: QUEUED (waiting for its provider to admit
 * it), UPSTREAM (an attempt in progress), BACKOFF (between attempts), and
 * CUTTING (a broken plain body being flushed before the connection is
 * dropped).  One timer serves every phase: the queue deadline, the backoff,
 * first_byte_timeout, then idle_timeout between body bytes.
 *
 * While a stream lives, evhttp's own read/write timeouts on the client
 * connection are off (they would fire while the daemon is silent, waiting
 * for admission or for a model).  A client that hangs up is noticed two
 * ways: evhttp's close callback (it reads while writing the response) and
 * an EV_CLOSED event on the socket (evhttp does not read at all before the
 * response starts).  Backpressure: when the client connection's output
 * backlog passes STREAM_HIGH_WATER the upstream is paused, and evhttp's
 * "output drained" callback resumes it.
 *
 * Retries happen only before the first byte went to the client: 500, 502,
 * 503, 504, 529 and connect errors back off exponentially with full
 * jitter; a 429's body is held back until its end, so a billing error
 * passes through at once while a rate limit pauses the provider and
 * retries at the head of its queue.
 *
 * Every path ends in stream_free(), which gives back what the stream holds
 * with its provider and logs the access line once.  The evhttp request is
 * finished by exactly one of evhttp_send_reply, evhttp_send_reply_end or
 * evhttp_connection_free before that, in reply.c, which holds everything
 * that writes to the client.
 */
#include <sys/queue.h>

#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/http_struct.h>
#include <event2/keyvalq_struct.h>

#include "access.h"
#include "clock.h"
#include "config.h"
#include "conn.h"
#include "dialect.h"
#include "log.h"
#include "metrics.h"
#include "provider.h"
#include "reply.h"
#include "stream.h"
#include "stream_state.h"
#include "upstream.h"
#include "usage.h"
#include "xmalloc.h"

/* Client backlog past which the upstream is paused. */
#define STREAM_HIGH_WATER	(64 * 1024)
/* Response header fields read for rate-limit advice. */
#define STREAM_MAX_FIELDS	128
/* Backoff: 0.5 s x 2^n, at most 8 s, with full jitter. */
#define STREAM_BACKOFF_BASE_MS	500
#define STREAM_BACKOFF_MAX_MS	8000

/* Every live stream, so that a shutdown can end them. */
static TAILQ_HEAD(, stream)	stream_all = TAILQ_HEAD_INITIALIZER(stream_all);
static size_t			stream_live;

static void	stream_watch_client(struct stream *s);
static void	stream_prepare_body(struct stream *s);
static void	stream_admit(struct stream *s, int front);
static void	stream_admitted_cb(struct queue_ticket *t, void *arg);
static void	stream_too_large_cb(struct queue_ticket *t, void *arg);
static void	stream_send(struct stream *s);
static void	stream_reset_attempt(struct stream *s);
static void	stream_arm_ms(struct stream *s, uint64_t ms);
static int	stream_can_retry(struct stream *s);
static uint64_t	stream_backoff_ms(struct stream *s);
static void	stream_retry(struct stream *s, uint64_t delay_ms);
static void	stream_observe(struct stream *s, struct evkeyvalq *headers);
static void	stream_headers_cb(void *arg, int status,
		    struct evkeyvalq *headers);
static int	stream_body_cb(void *arg, const char *data, size_t len);
static void	stream_reconcile(struct stream *s);
static void	stream_done_cb(void *arg, enum upstream_result res,
		    const char *why);
static void	stream_done_held(struct stream *s, enum upstream_result res);
static void	stream_done_failed(struct stream *s, enum upstream_result res);
static int	stream_idle_left(struct stream *s);
static void	stream_timer_cb(evutil_socket_t fd, short what, void *arg);
static void	stream_client_closed_cb(struct evhttp_connection *evcon,
		    void *arg);
static void	stream_hangup_cb(evutil_socket_t fd, short what, void *arg);
static enum access_end stream_end(const char *why);

static const struct upstream_cbs stream_upstream_cbs = {
	stream_headers_cb, stream_body_cb, stream_done_cb
};

/* Forward req (whose body has fully arrived) to prov under cf. */
void
stream_start(const struct stream_env *env, struct evhttp_request *req,
    struct config *cf, struct provider *prov, const char *rest)
{
	struct stream	*s;

	s = xcalloc(1, sizeof *s);
	s->env = env;
	s->req = req;
	s->evcon = evhttp_request_get_connection(req);
	s->cf = config_ref(cf);
	s->prov = prov;
	provider_ref(prov);
	s->pc = config_find_provider(cf, provider_config(prov)->name,
	    strlen(provider_config(prov)->name));
	s->rest = xstrdup(rest);
	s->chunk = evbuffer_new();
	s->arrive_ms = clock_now_ms();
	TAILQ_INSERT_TAIL(&stream_all, s, entry);
	stream_live++;
	s->timer = evtimer_new(env->base, stream_timer_cb, s);
	if (s->chunk == NULL || s->timer == NULL)
		fatalx("%s: out of memory", __func__);
	stream_watch_client(s);
	stream_prepare_body(s);
	s->ticket.tokens = s->tokens;
	s->ticket.admitted = stream_admitted_cb;
	s->ticket.too_large = stream_too_large_cb;
	s->ticket.arg = s;
	stream_admit(s, 0);
}

/* Take over the client connection's deadlines and watch for a hang-up. */
static void
stream_watch_client(struct stream *s)
{
	struct bufferevent	*bev;

	bev = evhttp_connection_get_bufferevent(s->evcon);
	bufferevent_set_timeouts(bev, NULL, NULL);	/* ours run instead */
	s->hangup = event_new(s->env->base, bufferevent_getfd(bev),
	    EV_CLOSED, stream_hangup_cb, s);
	if (s->hangup == NULL)
		fatalx("%s: out of memory", __func__);
	event_add(s->hangup, NULL);
	conn_set_close_hook(s->evcon, stream_client_closed_cb, s);
}

/*
 * Find the body to send and what it will cost: the client's bytes as they
 * are, unless stream_include_usage asks for usage on an OpenAI stream.
 * Only a token limit needs the estimate and the usage read back.
 */
static void
stream_prepare_body(struct stream *s)
{
	struct evbuffer	*in = evhttp_request_get_input_buffer(s->req);
	const struct provider_config *pc = s->pc;

	s->bytes_in = evbuffer_get_length(in);
	s->body_len = s->bytes_in;
	s->body = (const char *)evbuffer_pullup(in, -1);
	if (pc->stream_include_usage && pc->dialect == DIALECT_OPENAI &&
	    s->body_len > 0) {
		s->body_copy = dialect_add_include_usage(s->body, s->body_len,
		    &s->body_len);
		if (s->body_copy != NULL)
			s->body = s->body_copy;
		else
			s->body_len = s->bytes_in;
	}
	s->reads_usage = pc->tokens_per_minute > 0;
	if (s->reads_usage)
		s->tokens = dialect_estimate_tokens(s->body, s->body_len,
		    pc->default_max_tokens);
}

/* Ask the provider for admission; act on its answer. */
static void
stream_admit(struct stream *s, int front)
{
	uint64_t	retry_ms = 0;

	switch (provider_submit(s->prov, &s->ticket, front, &retry_ms)) {
	case PROVIDER_ADMIT:
		stream_send(s);
		break;
	case PROVIDER_QUEUED:
		s->phase = STREAM_QUEUED;
		stream_arm(s, s->pc->queue_timeout);
		break;
	case PROVIDER_FULL:
		reply_refuse(s, 429, "llmproxy_queue_full", "the daemon's "
		    "queue for this provider is full", retry_ms);
		break;
	case PROVIDER_TOO_LARGE:
		reply_refuse(s, 413, "llmproxy_request_too_large", "the "
		    "request's token estimate exceeds tokens_per_minute", 0);
		break;
	case PROVIDER_RETIRED:
		reply_refuse(s, 503, "llmproxy_provider_removed", "this "
		    "provider was removed from the configuration", 1000);
		break;
	}
}

/* queue: the waiting request was admitted. */
static void
stream_admitted_cb(struct queue_ticket *t, void *arg)
{
	struct stream	*s = arg;

	stream_send(s);
}

/* queue: a reload shrank the token bucket below this request's estimate. */
static void
stream_too_large_cb(struct queue_ticket *t, void *arg)
{
	struct stream	*s = arg;

	provider_count_refusal(s->prov, PROVIDER_REFUSED_TOO_LARGE);
	reply_refuse(s, 413, "llmproxy_request_too_large", "the request's "
	    "token estimate exceeds tokens_per_minute", 0);
}

/* Start an attempt: the request holds a slot from here. */
static void
stream_send(struct stream *s)
{
	struct upstream_request	rq;

	s->slot = 1;
	s->phase = STREAM_UPSTREAM;
	s->attempt_ms = clock_now_ms();
	if (s->attempts++ == 0)
		s->admit_ms = s->attempt_ms;
	stream_reset_attempt(s);
	rq.pc = s->pc;
	rq.client = s->req;
	rq.rest = s->rest;
	rq.body = s->body;
	rq.body_len = s->body_len;
	if ((s->up = upstream_start(s->env->ul, &rq, &stream_upstream_cbs,
	    s)) == NULL) {
		reply_fail(s, 503, "llmproxy_overloaded",
		    "the daemon cannot start an upstream transfer now");
		return;
	}
	stream_arm(s, s->pc->first_byte_timeout);
}

/* Forget what an earlier attempt left behind. */
static void
stream_reset_attempt(struct stream *s)
{
	s->status = 0;
	s->holding = 0;
	s->sse = 0;
	if (s->held != NULL)
		evbuffer_drain(s->held, evbuffer_get_length(s->held));
	usage_reader_free(s->usage);
	s->usage = NULL;
}

/* (Re)arm the stream's one deadline, seconds from now. */
void
stream_arm(struct stream *s, double seconds)
{
	struct timeval	tv = clock_tv_seconds(seconds);

	evtimer_add(s->timer, &tv);
}

/* (Re)arm the stream's one deadline, ms from now. */
static void
stream_arm_ms(struct stream *s, uint64_t ms)
{
	struct timeval	tv = clock_tv_ms(ms);

	evtimer_add(s->timer, &tv);
}

/* Return 1 if another attempt is allowed (nothing went to the client). */
static int
stream_can_retry(struct stream *s)
{
	return !s->headers_sent && s->attempts <= s->pc->retries;
}

/*
 * Return the wait before the next attempt: the upstream's Retry-After if
 * it gave one, else 0.5 s x 2^(attempt - 1), at most 8 s, full jitter.
 */
static uint64_t
stream_backoff_ms(struct stream *s)
{
	uint64_t	cap = STREAM_BACKOFF_BASE_MS;
	int		i;

	if (s->rl.retry_after_ms >= 0)
		return (uint64_t)s->rl.retry_after_ms;
	for (i = 1; i < s->attempts && cap < STREAM_BACKOFF_MAX_MS; i++)
		cap *= 2;
	if (cap > STREAM_BACKOFF_MAX_MS)
		cap = STREAM_BACKOFF_MAX_MS;
	return (uint64_t)arc4random_uniform((uint32_t)cap + 1);
}

/*
 * Give the slot back (the attempt consumed no tokens; its request stays
 * paid) and try again after delay_ms, at the head of the queue.
 */
static void
stream_retry(struct stream *s, uint64_t delay_ms)
{
	provider_release(s->prov, s->tokens);
	s->slot = 0;
	provider_count_retry(s->prov);
	reply_clear_headers(s);
	s->phase = STREAM_BACKOFF;
	stream_arm_ms(s, delay_ms);
}

/* Read the rate-limit advice of a response's header fields. */
static void
stream_observe(struct stream *s, struct evkeyvalq *headers)
{
	const char	*names[STREAM_MAX_FIELDS], *values[STREAM_MAX_FIELDS];
	struct evkeyval	*h;
	size_t		 n = 0;

	TAILQ_FOREACH(h, headers, next) {
		if (n == STREAM_MAX_FIELDS)
			break;
		names[n] = h->key;
		values[n++] = h->value;
	}
	provider_observe(s->prov, names, values, n, &s->rl);
}

/* upstream: status and headers arrived; retry, hold, or start the reply. */
static void
stream_headers_cb(void *arg, int status, struct evkeyvalq *headers)
{
	struct stream	*s = arg;

	s->status = status;
	metrics_observe_ms(provider_metrics(s->prov), METRICS_UPSTREAM_TTFB,
	    clock_now_ms() - s->attempt_ms);
	stream_observe(s, headers);
	if ((status == 500 || status == 502 || status == 503 ||
	    status == 504 || status == 529) && stream_can_retry(s)) {
		log_info("provider %s: upstream %d, retrying", s->pc->name,
		    status);
		upstream_cancel(s->up);
		s->up = NULL;
		stream_retry(s, stream_backoff_ms(s));
		return;
	}
	reply_copy_headers(s, headers);
	if (status == 429) {		/* billing error or rate limit? */
		s->holding = 1;
		if (s->held == NULL && (s->held = evbuffer_new()) == NULL)
			fatalx("%s: out of memory", __func__);
		stream_arm(s, s->pc->idle_timeout);
		return;
	}
	reply_start(s);
}

/* upstream: body bytes; forward them, or pause while the client lags. */
static int
stream_body_cb(void *arg, const char *data, size_t len)
{
	struct stream	*s = arg;

	if (s->holding) {
		reply_hold(s, data, len);
		return 0;
	}
	if (reply_backlog(s) >= STREAM_HIGH_WATER) {
		s->paused = 1;
		return 1;		/* offered again after the drain */
	}
	reply_forward(s, data, len);
	/*
	 * The idle timer stays armed where it is: stream_timer_cb sees this
	 * time and waits the rest (re-arming a timer per chunk cost a heap
	 * operation per chunk).
	 */
	s->idle_from_ms = clock_now_ms();
	return 0;
}

/*
 * Correct the provider's token bucket by the usage the answer reported,
 * and count that usage.
 */
static void
stream_reconcile(struct stream *s)
{
	int64_t	prompt, completion;

	if (s->usage == NULL || usage_reader_tokens(s->usage, &prompt,
	    &completion) == -1)
		return;			/* none reported: keep the estimate */
	metrics_count_tokens(provider_metrics(s->prov), prompt, completion);
	provider_reconcile(s->prov, (prompt > 0 ? prompt : 0) +
	    (completion > 0 ? completion : 0) - s->tokens);
}

/* upstream: the transfer is over (the upstream frees itself). */
static void
stream_done_cb(void *arg, enum upstream_result res, const char *why)
{
	struct stream	*s = arg;

	s->up = NULL;
	if (s->holding) {
		stream_done_held(s, res);
		return;
	}
	if (res == UPSTREAM_OK) {
		stream_reconcile(s);
		if (reply_is_complete(s)) {
			reply_end(s, NULL);
			return;
		}
		log_info("provider %s: stream ended without its final event",
		    s->pc->name);
		reply_break(s, "llmproxy_upstream_truncated", "the provider's "
		    "stream ended without its final event");
		return;
	}
	log_info("provider %s: upstream %s", s->pc->name, why);
	stream_done_failed(s, res);
}

/*
 * A held 429 is complete: a billing error goes to the client as it is;
 * a rate limit pauses the provider, then retries or, with no retries
 * left, goes to the client too.
 */
static void
stream_done_held(struct stream *s, enum upstream_result res)
{
	int	billing;

	billing = dialect_is_billing_error(
	    (const char *)evbuffer_pullup(s->held, -1),
	    evbuffer_get_length(s->held));
	if (!billing)
		provider_pause(s->prov, (uint64_t)s->rl.cooldown_ms);
	if (!billing && res == UPSTREAM_OK && stream_can_retry(s)) {
		stream_retry(s, 0);	/* the pause holds it back */
		return;
	}
	reply_release_hold(s);
	if (res == UPSTREAM_OK)
		reply_end(s, NULL);
	else
		reply_break(s, "llmproxy_upstream_error",
		    "the upstream connection failed mid-response");
}

/* The attempt failed: retry, or tell the client in the right shape. */
static void
stream_done_failed(struct stream *s, enum upstream_result res)
{
	if (s->headers_sent) {
		reply_break(s, "llmproxy_upstream_error",
		    "the upstream connection failed mid-response");
		return;
	}
	if ((res == UPSTREAM_CONNECT_FAILED ||
	    res == UPSTREAM_CONNECT_TIMEOUT) && stream_can_retry(s)) {
		stream_retry(s, stream_backoff_ms(s));
		return;
	}
	switch (res) {
	case UPSTREAM_CONNECT_TIMEOUT:
		reply_fail(s, 504, "llmproxy_connect_timeout",
		    "connecting to the provider timed out");
		break;
	case UPSTREAM_CONNECT_FAILED:
		reply_fail(s, 502, "llmproxy_upstream_unreachable",
		    "the provider could not be reached");
		break;
	default:
		reply_fail(s, 502, "llmproxy_upstream_error",
		    "the provider's answer was broken or cut off");
		break;
	}
}

/* evhttp: everything queued for the client was written. */
void
stream_drained_cb(struct evhttp_connection *evcon, void *arg)
{
	struct stream	*s = arg;

	if (s->phase == STREAM_CUTTING) {
		reply_drop_client(s, "llmproxy_upstream_error");
		return;
	}
	if (s->paused && s->up != NULL) {
		s->paused = 0;
		stream_arm(s, s->pc->idle_timeout);
		upstream_resume(s->up);	/* may call stream_body_cb */
	}
}

/*
 * The idle deadline passed, but body bytes went out since it was set:
 * wait the rest of idle_timeout from the last of them and return 1.
 */
static int
stream_idle_left(struct stream *s)
{
	uint64_t	now, idle_ms;

	if (!s->headers_sent || s->idle_from_ms == 0)
		return 0;
	now = clock_now_ms();
	idle_ms = (uint64_t)(s->pc->idle_timeout * 1000);
	if (now - s->idle_from_ms >= idle_ms)
		return 0;
	stream_arm_ms(s, idle_ms - (now - s->idle_from_ms));
	return 1;
}

/* The phase's deadline passed. */
static void
stream_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct stream	*s = arg;

	switch (s->phase) {
	case STREAM_QUEUED:
		provider_withdraw(s->prov, &s->ticket);
		provider_count_refusal(s->prov,
		    PROVIDER_REFUSED_QUEUE_TIMEOUT);
		reply_refuse(s, 429, "llmproxy_queue_timeout", "the request "
		    "waited queue_timeout for its provider's limits", 1000);
		return;
	case STREAM_BACKOFF:
		stream_admit(s, 1);
		return;
	case STREAM_CUTTING:
		reply_drop_client(s, "client stopped reading");
		return;
	case STREAM_UPSTREAM:
		if (stream_idle_left(s))
			return;
		break;
	}
	upstream_cancel(s->up);
	s->up = NULL;
	if (!s->headers_sent)
		reply_fail(s, 504, "llmproxy_first_byte_timeout",
		    "the provider sent no response in first_byte_timeout");
	else if (s->paused)
		reply_drop_client(s, "client stopped reading");
	else
		reply_break(s, "llmproxy_idle_timeout",
		    "the provider went silent for idle_timeout");
}

/* evhttp: the client connection is going away (we are writing to it). */
static void
stream_client_closed_cb(struct evhttp_connection *evcon, void *arg)
{
	struct stream	*s = arg;

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

	reply_drop_client(s, "client closed");
}

/*
 * Log the access line and free s, giving back to its provider whatever
 * it holds; the request is already finished.
 */
void
stream_free(struct stream *s, const char *why)
{
	uint64_t		now = clock_now_ms();
	uint64_t		start = s->admit_ms != 0 ? s->admit_ms : now;
	struct access_entry	e;

	memset(&e, 0, sizeof e);
	e.provider = s->pc->name;
	e.method = "-";
	e.target = s->rest;
	e.status = s->status;
	e.end = stream_end(why);
	e.queue_ms = start - s->arrive_ms;
	e.upstream_ms = now - start;
	e.duration_ms = now - s->arrive_ms;
	e.bytes_in = s->bytes_in;
	e.bytes_out = s->bytes_out;
	e.attempts = s->attempts;
	e.estimate = s->reads_usage && s->attempts > 0 ? s->tokens : -1;
	e.timed = 1;
	access_record(provider_metrics(s->prov), &e);
	upstream_cancel(s->up);
	provider_withdraw(s->prov, &s->ticket);
	if (s->slot)
		provider_release(s->prov, 0);	/* tokens stay spent */
	provider_unref(s->prov);
	config_unref(s->cf);
	event_free(s->timer);
	event_free(s->hangup);
	evbuffer_free(s->chunk);
	if (s->held != NULL)
		evbuffer_free(s->held);
	usage_reader_free(s->usage);
	free(s->body_copy);
	free(s->rest);
	TAILQ_REMOVE(&stream_all, s, entry);
	if (--stream_live == 0 && s->env->drained != NULL)
		s->env->drained(s->env->drained_arg);
	free(s);
}

/* How a stream ended, from the code or words its ending gave. */
static enum access_end
stream_end(const char *why)
{
	static const struct {
		const char	*why;
		enum access_end	 end;
	} ends[] = {
		{ "llmproxy_queue_full", ACCESS_QUEUE_FULL },
		{ "llmproxy_queue_timeout", ACCESS_QUEUE_TIMEOUT },
		{ "llmproxy_request_too_large", ACCESS_TOO_LARGE },
		{ "llmproxy_shutdown", ACCESS_SHUTDOWN },
		{ "llmproxy_provider_removed", ACCESS_PROVIDER_REMOVED },
		{ "llmproxy_overloaded", ACCESS_NO_TRANSFER },
		{ "llmproxy_connect_timeout", ACCESS_CONNECT_TIMEOUT },
		{ "llmproxy_upstream_unreachable", ACCESS_CONNECT_FAILED },
		{ "llmproxy_first_byte_timeout", ACCESS_FIRST_BYTE_TIMEOUT },
		{ "llmproxy_idle_timeout", ACCESS_IDLE_TIMEOUT },
		{ "llmproxy_upstream_truncated", ACCESS_UPSTREAM_TRUNCATED },
		{ "client stopped reading", ACCESS_CLIENT_STALLED },
		{ "client closed", ACCESS_CLIENT_CLOSED },
	};
	size_t	i;

	if (why == NULL)
		return ACCESS_OK;
	for (i = 0; i < sizeof ends / sizeof ends[0]; i++) {
		if (strcmp(why, ends[i].why) == 0)
			return ends[i].end;
	}
	return ACCESS_UPSTREAM_ERROR;
}

/* Return the number of live streams. */
size_t
stream_count(void)
{
	return stream_live;
}

/*
 * End every stream now (the shutdown deadline): waiting requests get 503,
 * responses under way end as a broken stream does (SPEC section 6).
 */
void
stream_shutdown_all(void)
{
	struct stream	*s, *next;

	for (s = TAILQ_FIRST(&stream_all); s != NULL; s = next) {
		next = TAILQ_NEXT(s, entry);
		if (s->phase == STREAM_CUTTING)
			continue;		/* already on its way out */
		upstream_cancel(s->up);
		s->up = NULL;
		if (s->headers_sent) {
			reply_break(s, "llmproxy_shutdown",
			    "the daemon is shutting down");
			continue;
		}
		if (s->phase == STREAM_QUEUED || s->phase == STREAM_BACKOFF)
			provider_count_refusal(s->prov,
			    PROVIDER_REFUSED_SHUTDOWN);
		reply_refuse(s, 503, "llmproxy_shutdown",
		    "the daemon is shutting down", 1000);
	}
}
