/* SPDX-License-Identifier: ISC */
/*
 * attempt: one request on one provider (see attempt.h).
 *
 * Phases, each with the attempt's one deadline armed for it:
 *   ASKING     a ticket is with the provider          queue_timeout
 *   BACKOFF    between tries, holding nothing         the backoff
 *   SENT       a transfer runs, no headers yet        first_byte_timeout
 *   HOLDING    a 429's body is kept to read it        idle_timeout
 *   DELIVERING headers went to the owner              idle_timeout
 * A try that is answered 500, 502, 503, 504, 529 or fails to connect
 * backs off 0.5 s x 2^n (at most 8 s) with full jitter, or as long as the
 * upstream's Retry-After says; a 429 is held to its end, so that a billing
 * error passes at once while a rate limit pauses the provider and the
 * attempt asks again at the head of the queue.  Each try starts with no
 * rate-limit advice of its own, so a connect error never inherits an
 * earlier answer's Retry-After.
 *
 * Everything the attempt holds is given back in attempt_free(), the one
 * teardown, whether the attempt ended by itself (done) or was cancelled.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "admission.h"
#include "attempt.h"
#include "clock.h"
#include "config.h"
#include "deadline.h"
#include "dialect.h"
#include "headers.h"
#include "jscan.h"
#include "log.h"
#include "metrics.h"
#include "provider.h"
#include "sse.h"
#include "upstream.h"
#include "usage.h"
#include "xmalloc.h"

/* Response header fields read for rate-limit advice. */
#define ATTEMPT_MAX_FIELDS	128
/* Backoff: 0.5 s x 2^n, at most 8 s, with full jitter. */
#define ATTEMPT_BACKOFF_BASE_MS	500
#define ATTEMPT_BACKOFF_MAX_MS	8000
/* A 429 body larger than this is passed on rather than held. */
#define ATTEMPT_HOLD_MAX	(64 * 1024)

enum attempt_phase {
	ATTEMPT_ASKING,
	ATTEMPT_BACKOFF,
	ATTEMPT_SENT,
	ATTEMPT_HOLDING,
	ATTEMPT_DELIVERING
};

struct attempt {
	struct provider			*prov;	/* referenced */
	struct config			*cf;	/* referenced: pc lives in it */
	const struct provider_config	*pc;
	const struct attempt_cbs	*cbs;
	void				*arg;
	struct attempt_request		 rq;
	char				*body_copy; /* rq.body, rewritten */
	struct admit_ticket		 ticket;
	struct upstream			*up;	/* NULL between tries */
	struct deadline			*timer;	/* the phase's deadline */
	struct evbuffer			*held;	/* a 429's body */
	struct usage_reader		*usage;	/* a token limit needs it */
	struct headers_ratelimit	 rl;	/* this try's advice */
	enum attempt_phase		 phase;
	struct attempt_stats		 st;
	uint64_t			 try_ms;	/* this try began */
	uint64_t			 idle_from_ms;	/* last delivery */
	int				 status;
	int				 sse;
	int				 paused;	/* the owner lags */
	int				 reads_usage;
	int				 calling;	/* in an owner callback */
	int				 cancelled;	/* by it: free after */
	int				 held_failed;	/* the held 429's end */
	const char			*end_marker; /* SSE: its last event */
	struct sse_tail			 tail;	/* delivered, its last bytes */
};

static void	attempt_prepare_body(struct attempt *a);
static void	attempt_ask(struct attempt *a, int front);
static void	attempt_decided_cb(struct admit_ticket *t,
		    enum admit_verdict v, void *arg);
static void	attempt_send(struct attempt *a);
static void	attempt_new_try(struct attempt *a);
static int	attempt_can_retry(struct attempt *a);
static uint64_t	attempt_backoff_ms(struct attempt *a);
static void	attempt_retry(struct attempt *a, uint64_t delay_ms);
static void	attempt_observe(struct attempt *a, struct evkeyvalq *headers);
static void	attempt_headers_cb(void *arg, int status,
		    struct evkeyvalq *headers);
static int	attempt_deliver_headers(struct attempt *a,
		    struct evkeyvalq *headers);
static int	attempt_returned(struct attempt *a);
static int	attempt_body_cb(void *arg, const char *data, size_t len);
static int	attempt_deliver(struct attempt *a, const char *data,
		    size_t len);
static void	attempt_hold(struct attempt *a, const char *data, size_t len);
static int	attempt_flush_held(struct attempt *a);
static void	attempt_done_cb(void *arg, enum upstream_result res,
		    const char *why);
static void	attempt_done_held(struct attempt *a, enum upstream_result res,
		    struct evkeyvalq *headers);
static void	attempt_end_held(struct attempt *a);
static void	attempt_done_failed(struct attempt *a,
		    enum upstream_result res);
static void	attempt_reconcile(struct attempt *a);
static void	attempt_timer_cb(void *arg);
static int	attempt_idle_left(struct attempt *a);
static void	attempt_refuse(struct attempt *a, int status,
		    enum access_end end, const char *code,
		    const char *message, uint64_t retry_ms);
static void	attempt_finish(struct attempt *a, enum attempt_outcome o,
		    enum access_end end, const char *code,
		    const char *message);
static void	attempt_report(struct attempt *a,
		    const struct attempt_end *e);
static void	attempt_free(struct attempt *a);

static const struct upstream_cbs attempt_upstream_cbs = {
	attempt_headers_cb, attempt_body_cb, attempt_done_cb
};

/* Start rq on p under cf; the callbacks get arg. */
struct attempt *
attempt_start(struct provider *p, struct config *cf,
    const struct attempt_request *rq, const struct attempt_cbs *cbs,
    void *arg)
{
	struct attempt	*a;

	a = xcalloc(1, sizeof *a);
	a->prov = p;
	provider_ref(p);
	a->cf = config_ref(cf);
	a->pc = config_find_provider(cf, provider_config(p)->name,
	    strlen(provider_config(p)->name));
	a->cbs = cbs;
	a->arg = arg;
	a->rq = *rq;
	a->timer = deadline_new(attempt_timer_cb, a);
	a->st.estimate = -1;
	attempt_prepare_body(a);
	a->ticket.tokens = a->st.estimate > 0 ? a->st.estimate : 0;
	a->ticket.decided = attempt_decided_cb;
	a->ticket.arg = a;
	a->ticket.client = rq->client;
	a->ticket.priority = rq->priority;
	attempt_ask(a, 0);
	return a;
}

/*
 * Find the body to send and what it will cost: the caller's bytes as
 * they are, unless stream_include_usage asks for usage on an OpenAI
 * stream.  Only a token limit needs the estimate and the usage read back;
 * only model groups need the model, read here once for every try.
 */
static void
attempt_prepare_body(struct attempt *a)
{
	const struct provider_config	*pc = a->pc;
	size_t				 len, off;

	if (pc->stream_include_usage && pc->dialect == DIALECT_OPENAI &&
	    a->rq.body_len > 0) {
		a->body_copy = dialect_add_include_usage(a->rq.body,
		    a->rq.body_len, &len);
		if (a->body_copy != NULL) {
			a->rq.body = a->body_copy;
			a->rq.body_len = len;
		}
	}
	if (pc->nmodels > 0 && jscan_str(a->rq.body, a->rq.body_len,
	    "model", &off, &a->ticket.model_len) == 0)
		a->ticket.model = a->rq.body + off;	/* its model group's */
	a->reads_usage = pc->tokens_per_minute > 0 || pc->models_tokens;
	if (a->reads_usage)
		a->st.estimate = dialect_estimate_tokens(a->rq.body,
		    a->rq.body_len, pc->default_max_tokens);
}

/* Ask the provider for admission; its answer comes to attempt_decided_cb. */
static void
attempt_ask(struct attempt *a, int front)
{
	a->phase = ATTEMPT_ASKING;
	a->st.waiting = 1;
	a->ticket.front = front;
	provider_request(a->prov, &a->ticket);
	deadline_arm(a->timer, provider_queue_timeout(a->prov, &a->ticket,
	    a->pc->queue_timeout));
}

/* admission: the provider decided. */
static void
attempt_decided_cb(struct admit_ticket *t, enum admit_verdict v, void *arg)
{
	struct attempt	*a = arg;

	a->st.queue_ms += clock_now_ms() - t->asked_ms;
	switch (v) {
	case ADMIT_GRANTED:
		attempt_send(a);
		break;
	case ADMIT_FULL:
		attempt_refuse(a, 429, ACCESS_QUEUE_FULL,
		    "llmproxy_queue_full", "the daemon's queue for this "
		    "provider is full", t->retry_ms);
		break;
	case ADMIT_TOO_LARGE:
		attempt_refuse(a, 413, ACCESS_TOO_LARGE,
		    "llmproxy_request_too_large", "the request's token "
		    "estimate exceeds tokens_per_minute", 0);
		break;
	case ADMIT_RETIRED:
		attempt_refuse(a, 503, ACCESS_PROVIDER_REMOVED,
		    "llmproxy_provider_removed", "this provider was removed "
		    "from the configuration", 1000);
		break;
	}
}

/* Start a try: the attempt holds a slot from here. */
static void
attempt_send(struct attempt *a)
{
	struct upstream_request	ur;

	a->phase = ATTEMPT_SENT;
	a->st.waiting = 0;
	a->try_ms = clock_now_ms();
	if (a->st.tries++ == 0)
		a->st.admit_ms = a->try_ms;
	attempt_new_try(a);
	ur.pc = a->pc;
	ur.method = a->rq.method;
	ur.rest = a->rq.path;
	ur.headers = a->rq.headers;
	ur.body = a->rq.body;
	ur.body_len = a->rq.body_len;
	if ((a->up = upstream_start(&ur, &attempt_upstream_cbs, a)) == NULL) {
		attempt_refuse(a, 503, ACCESS_NO_TRANSFER,
		    "llmproxy_overloaded", "the daemon cannot start an "
		    "upstream transfer now", 1000);
		return;
	}
	deadline_arm(a->timer, a->pc->first_byte_timeout);
}

/* Forget what an earlier try left behind: its status, advice and body. */
static void
attempt_new_try(struct attempt *a)
{
	a->status = 0;
	headers_parse_ratelimit(NULL, NULL, 0, 0, &a->rl);
	if (a->held != NULL)
		evbuffer_drain(a->held, evbuffer_get_length(a->held));
	usage_reader_free(a->usage);
	a->usage = NULL;
}

/* Return 1 if another try is allowed (nothing went to the owner). */
static int
attempt_can_retry(struct attempt *a)
{
	return a->st.tries <= a->pc->retries;
}

/*
 * Return the wait before the next try: the upstream's Retry-After if
 * this try got one, else 0.5 s x 2^(tries - 1), at most 8 s, full jitter.
 */
static uint64_t
attempt_backoff_ms(struct attempt *a)
{
	uint64_t	cap = ATTEMPT_BACKOFF_BASE_MS;
	int		i;

	if (a->rl.retry_after_ms >= 0)
		return (uint64_t)a->rl.retry_after_ms;
	for (i = 1; i < a->st.tries && cap < ATTEMPT_BACKOFF_MAX_MS; i++)
		cap *= 2;
	if (cap > ATTEMPT_BACKOFF_MAX_MS)
		cap = ATTEMPT_BACKOFF_MAX_MS;
	return (uint64_t)arc4random_uniform((uint32_t)cap + 1);
}

/*
 * Give the slot back (the try consumed no tokens; its request stays
 * paid) and ask again after delay_ms, at the head of the queue.
 */
static void
attempt_retry(struct attempt *a, uint64_t delay_ms)
{
	upstream_cancel(a->up);
	a->up = NULL;
	provider_release(a->prov, &a->ticket, a->ticket.tokens);
	provider_count_retry(a->prov);
	a->phase = ATTEMPT_BACKOFF;
	a->st.waiting = 1;
	deadline_arm_ms(a->timer, delay_ms);
}

/* Read the rate-limit advice of a response's header fields. */
static void
attempt_observe(struct attempt *a, struct evkeyvalq *headers)
{
	const char	*names[ATTEMPT_MAX_FIELDS], *values[ATTEMPT_MAX_FIELDS];
	struct evkeyval	*h;
	size_t		 n = 0;

	TAILQ_FOREACH(h, headers, next) {
		if (n == ATTEMPT_MAX_FIELDS)
			break;
		names[n] = h->key;
		values[n++] = h->value;
	}
	provider_observe(a->prov, &a->ticket, names, values, n, &a->rl);
}

/* upstream: status and headers arrived; retry, hold, or deliver. */
static void
attempt_headers_cb(void *arg, int status, struct evkeyvalq *headers)
{
	struct attempt	*a = arg;

	a->status = status;
	metrics_observe_ms(provider_metrics(a->prov), METRICS_UPSTREAM_TTFB,
	    clock_now_ms() - a->try_ms);
	attempt_observe(a, headers);
	if ((status == 500 || status == 502 || status == 503 ||
	    status == 504 || status == 529) && attempt_can_retry(a)) {
		log_info("provider %s: upstream %d, retrying", a->pc->name,
		    status);
		attempt_retry(a, attempt_backoff_ms(a));
		return;
	}
	if (status == 429) {		/* billing error or rate limit? */
		a->phase = ATTEMPT_HOLDING;
		if (a->held == NULL && (a->held = evbuffer_new()) == NULL)
			fatalx("%s: out of memory", __func__);
		/* The fields stay in the upstream's list until its end. */
		deadline_arm(a->timer, a->pc->idle_timeout);
		return;
	}
	attempt_deliver_headers(a, headers);
}

/*
 * Hand the final status and fields to the owner; delivery begins.
 * Return 1 if the owner cancelled a meanwhile (a is gone).
 */
static int
attempt_deliver_headers(struct attempt *a, struct evkeyvalq *headers)
{
	const char	*type = evhttp_find_header(headers, "Content-Type");

	a->phase = ATTEMPT_DELIVERING;
	a->sse = type != NULL &&
	    strncasecmp(type, "text/event-stream", 17) == 0;
	if (a->reads_usage)
		a->usage = usage_reader_new(a->pc->dialect, a->sse);
	if (a->sse && a->status == 200)
		a->end_marker = dialect_stream_end_marker(a->pc->dialect,
		    a->rq.path);
	deadline_arm(a->timer, a->pc->idle_timeout);
	a->calling++;
	a->cbs->headers(a->arg, a, a->status, headers);
	return attempt_returned(a);
}

/*
 * An owner callback returned: if the owner cancelled a from inside it,
 * free a now and return 1 (the caller must not touch a again).
 */
static int
attempt_returned(struct attempt *a)
{
	if (--a->calling > 0 || !a->cancelled)
		return 0;
	attempt_free(a);
	return 1;
}

/* upstream: body bytes; deliver them, or hold a 429's. */
static int
attempt_body_cb(void *arg, const char *data, size_t len)
{
	struct attempt	*a = arg;

	if (a->phase == ATTEMPT_HOLDING) {
		attempt_hold(a, data, len);
		return 0;
	}
	return attempt_deliver(a, data, len) != 0;
}

/*
 * Offer body bytes to the owner: return 0 when taken, 1 if it lags (the
 * transfer pauses), -1 if it cancelled a (a is gone; the upstream sees
 * itself cancelled too).
 */
static int
attempt_deliver(struct attempt *a, const char *data, size_t len)
{
	int	lags;

	a->calling++;
	lags = a->cbs->body(a->arg, a, data, len);
	if (attempt_returned(a))
		return -1;
	if (lags) {
		a->paused = 1;
		return 1;		/* offered again on resume */
	}
	if (a->usage != NULL)
		usage_reader_feed(a->usage, data, len);
	if (a->end_marker != NULL)
		sse_tail_keep(&a->tail, data, len);
	/*
	 * The idle deadline stays armed where it is: attempt_timer_cb sees
	 * this time and waits the rest (re-arming per chunk cost a heap
	 * operation per chunk).
	 */
	a->idle_from_ms = clock_now_ms();
	return 0;
}

/*
 * Keep a 429's body until its end; a large one is not a rate-limit
 * notice: deliver it as it is.
 */
static void
attempt_hold(struct attempt *a, const char *data, size_t len)
{
	evbuffer_add(a->held, data, len);
	deadline_arm(a->timer, a->pc->idle_timeout);
	if (evbuffer_get_length(a->held) <= ATTEMPT_HOLD_MAX)
		return;
	if (attempt_deliver_headers(a, upstream_headers(a->up)))
		return;
	attempt_flush_held(a);
}

/*
 * Deliver what was held of a 429's body, right after its headers: the
 * owner's backlog is empty then, so it takes the bytes (at most
 * ATTEMPT_HOLD_MAX and a read).  Return 1 if the owner cancelled a.
 */
static int
attempt_flush_held(struct attempt *a)
{
	size_t	len = evbuffer_get_length(a->held);

	switch (attempt_deliver(a, (const char *)evbuffer_pullup(a->held, -1),
	    len)) {
	case -1:
		return 1;
	case 0:
		evbuffer_drain(a->held, len);
		break;
	}
	return 0;		/* lagging: kept for attempt_resume() */
}

/* upstream: the transfer is over (the upstream frees itself). */
static void
attempt_done_cb(void *arg, enum upstream_result res, const char *why)
{
	struct attempt		*a = arg;
	struct evkeyvalq	*headers = upstream_headers(a->up);

	a->up = NULL;		/* it frees itself once this returns */
	if (a->phase == ATTEMPT_HOLDING) {
		attempt_done_held(a, res, headers);
		return;
	}
	if (res != UPSTREAM_OK) {
		log_info("provider %s: upstream %s", a->pc->name, why);
		attempt_done_failed(a, res);
		return;
	}
	attempt_reconcile(a);
	if (a->end_marker == NULL || sse_tail_has(&a->tail, a->end_marker)) {
		attempt_finish(a, ATTEMPT_COMPLETE, ACCESS_OK, NULL, NULL);
		return;
	}
	log_info("provider %s: stream ended without its final event",
	    a->pc->name);
	attempt_finish(a, ATTEMPT_BROKEN, ACCESS_UPSTREAM_TRUNCATED,
	    "llmproxy_upstream_truncated", "the provider's stream ended "
	    "without its final event");
}

/*
 * A held 429 is complete: a billing error goes to the owner as it is; a
 * rate limit pauses the provider, then asks again at the head of the
 * queue or, with no retries left, goes to the owner too.
 */
static void
attempt_done_held(struct attempt *a, enum upstream_result res,
    struct evkeyvalq *headers)
{
	size_t	len = evbuffer_get_length(a->held);
	int	billing;

	billing = dialect_is_billing_error(
	    (const char *)evbuffer_pullup(a->held, -1), len);
	if (!billing)
		provider_pause(a->prov, &a->ticket,
		    (uint64_t)a->rl.cooldown_ms);
	if (!billing && res == UPSTREAM_OK && attempt_can_retry(a)) {
		provider_release(a->prov, &a->ticket, a->ticket.tokens);
		provider_count_retry(a->prov);
		attempt_ask(a, 1);	/* the pause holds it back */
		return;
	}
	if (attempt_deliver_headers(a, headers))
		return;
	a->held_failed = res != UPSTREAM_OK;
	if (len > 0 && (attempt_flush_held(a) || a->paused))
		return;
	attempt_end_held(a);
}

/* The held 429 was delivered whole: end as its transfer ended. */
static void
attempt_end_held(struct attempt *a)
{
	if (!a->held_failed)
		attempt_finish(a, ATTEMPT_COMPLETE, ACCESS_OK, NULL, NULL);
	else
		attempt_finish(a, ATTEMPT_BROKEN, ACCESS_UPSTREAM_ERROR,
		    "llmproxy_upstream_error", "the upstream connection "
		    "failed mid-response");
}

/* The try failed: retry, or end in the right shape. */
static void
attempt_done_failed(struct attempt *a, enum upstream_result res)
{
	if (a->phase == ATTEMPT_DELIVERING) {
		attempt_finish(a, ATTEMPT_BROKEN, ACCESS_UPSTREAM_ERROR,
		    "llmproxy_upstream_error", "the upstream connection "
		    "failed mid-response");
		return;
	}
	if ((res == UPSTREAM_CONNECT_FAILED ||
	    res == UPSTREAM_CONNECT_TIMEOUT) && attempt_can_retry(a)) {
		attempt_retry(a, attempt_backoff_ms(a));
		return;
	}
	switch (res) {
	case UPSTREAM_CONNECT_TIMEOUT:
		attempt_refuse(a, 504, ACCESS_CONNECT_TIMEOUT,
		    "llmproxy_connect_timeout",
		    "connecting to the provider timed out", 0);
		break;
	case UPSTREAM_CONNECT_FAILED:
		attempt_refuse(a, 502, ACCESS_CONNECT_FAILED,
		    "llmproxy_upstream_unreachable",
		    "the provider could not be reached", 0);
		break;
	default:
		attempt_refuse(a, 502, ACCESS_UPSTREAM_ERROR,
		    "llmproxy_upstream_error",
		    "the provider's answer was broken or cut off", 0);
		break;
	}
}

/*
 * Correct the provider's token bucket by the usage the answer reported,
 * and count that usage.
 */
static void
attempt_reconcile(struct attempt *a)
{
	int64_t	prompt, completion;

	if (a->usage == NULL || usage_reader_tokens(a->usage, &prompt,
	    &completion) == -1)
		return;			/* none reported: keep the estimate */
	metrics_count_tokens(provider_metrics(a->prov), prompt, completion);
	provider_reconcile(a->prov, &a->ticket, (prompt > 0 ? prompt : 0) +
	    (completion > 0 ? completion : 0) - a->ticket.tokens);
}

/*
 * The idle deadline passed, but bytes were delivered since it was set:
 * wait the rest of idle_timeout from the last of them and return 1.
 */
static int
attempt_idle_left(struct attempt *a)
{
	uint64_t	now, idle_ms;

	if (a->idle_from_ms == 0)
		return 0;
	now = clock_now_ms();
	idle_ms = (uint64_t)(a->pc->idle_timeout * 1000);
	if (now - a->idle_from_ms >= idle_ms)
		return 0;
	deadline_arm_ms(a->timer, idle_ms - (now - a->idle_from_ms));
	return 1;
}

/* The phase's deadline passed. */
static void
attempt_timer_cb(void *arg)
{
	struct attempt	*a = arg;

	switch (a->phase) {
	case ATTEMPT_ASKING:
		provider_withdraw(a->prov, &a->ticket);
		a->st.queue_ms += clock_now_ms() - a->ticket.asked_ms;
		provider_count_refusal(a->prov,
		    PROVIDER_REFUSED_QUEUE_TIMEOUT);
		attempt_refuse(a, 429, ACCESS_QUEUE_TIMEOUT,
		    "llmproxy_queue_timeout", "the request waited "
		    "queue_timeout for its provider's limits",
		    provider_retry_after_ms(a->prov, &a->ticket));
		return;
	case ATTEMPT_BACKOFF:
		attempt_ask(a, 1);
		return;
	case ATTEMPT_SENT:
	case ATTEMPT_HOLDING:
		attempt_refuse(a, 504, ACCESS_FIRST_BYTE_TIMEOUT,
		    "llmproxy_first_byte_timeout",
		    "the provider sent no response in first_byte_timeout", 0);
		return;
	case ATTEMPT_DELIVERING:
		if (attempt_idle_left(a))
			return;
		break;
	}
	if (a->paused)
		attempt_finish(a, ATTEMPT_BROKEN, ACCESS_CLIENT_STALLED,
		    "llmproxy_idle_timeout", "the client stopped reading");
	else
		attempt_finish(a, ATTEMPT_BROKEN, ACCESS_IDLE_TIMEOUT,
		    "llmproxy_idle_timeout",
		    "the provider went silent for idle_timeout");
}

/* End with the daemon's own answer: nothing was delivered. */
static void
attempt_refuse(struct attempt *a, int status, enum access_end end,
    const char *code, const char *message, uint64_t retry_ms)
{
	struct attempt_end	e;

	memset(&e, 0, sizeof e);
	e.outcome = ATTEMPT_REFUSED;
	e.end = end;
	e.status = status;
	e.code = code;
	e.message = message;
	e.retry_ms = retry_ms;
	attempt_report(a, &e);
}

/* End after the headers were delivered (or with all of it). */
static void
attempt_finish(struct attempt *a, enum attempt_outcome o,
    enum access_end end, const char *code, const char *message)
{
	struct attempt_end	e;

	memset(&e, 0, sizeof e);
	e.outcome = o;
	e.end = end;
	e.status = a->status;
	e.code = code;
	e.message = message;
	attempt_report(a, &e);
}

/* Tell the owner how a ended, then free it (a cancel inside is moot). */
static void
attempt_report(struct attempt *a, const struct attempt_end *e)
{
	a->st.waiting = 0;
	a->calling++;
	a->cbs->done(a->arg, a, e);
	attempt_free(a);
}

/* Resume a transfer the owner paused. */
void
attempt_resume(struct attempt *a)
{
	if (a->paused && a->up == NULL && a->held != NULL) {
		a->paused = 0;		/* a held 429 owed, its transfer over */
		if (!attempt_flush_held(a) && !a->paused)
			attempt_end_held(a);
		return;
	}
	if (!a->paused || a->up == NULL)
		return;
	a->paused = 0;
	deadline_arm(a->timer, a->pc->idle_timeout);
	upstream_resume(a->up);		/* may deliver before it returns */
}

/*
 * End a at once, giving back all it holds; no callback runs after.  From
 * inside one of a's own callbacks the freeing waits for it to return.
 */
void
attempt_cancel(struct attempt *a)
{
	if (a == NULL)
		return;
	if (a->calling > 0) {
		a->cancelled = 1;
		return;
	}
	attempt_free(a);
}

/*
 * Give back everything a holds, in order down the layers: the transfer,
 * the ticket or its slot, the provider and the config; then free a.
 */
static void
attempt_free(struct attempt *a)
{
	upstream_cancel(a->up);
	provider_withdraw(a->prov, &a->ticket);
	if (a->ticket.slot != 0)	/* tokens stay spent once sent */
		provider_release(a->prov, &a->ticket, 0);
	provider_unref(a->prov);
	config_unref(a->cf);
	deadline_free(a->timer);
	if (a->held != NULL)
		evbuffer_free(a->held);
	usage_reader_free(a->usage);
	free(a->body_copy);
	free(a);
}

/* Fill *st with what a has done so far. */
void
attempt_stats(const struct attempt *a, struct attempt_stats *st)
{
	*st = a->st;
	if (a->ticket.group != NULL) {
		st->model = provider_group_match(a->ticket.group);
		st->model_metrics = provider_group_metrics(a->ticket.group);
	}
}

/* Return 1 if the answer being delivered is an SSE stream. */
int
attempt_is_sse(const struct attempt *a)
{
	return a->sse;
}

/* Return the provider a runs on. */
struct provider *
attempt_provider(const struct attempt *a)
{
	return a->prov;
}
