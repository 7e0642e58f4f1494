/* SPDX-License-Identifier: ISC */
/*
 * test_attempt: attempt.c's state machine against a fake admission
 * backend, fake transfers and a simulated clock (fake_provider.c,
 * fake_upstream.c, fake_loop.c; fake_owner.c owns the attempts):
 * decisions delivered late or withdrawn on their way, every timeout,
 * retries and their backoff, a 429 held to its end, backpressure, two
 * attempts racing and cancels from inside callbacks.  Every case ends
 * with the books balanced: each slot granted was released or handed
 * back once, no ticket waits, no transfer runs and no deadline is left.
 * Nothing here touches the network or an event loop.
 */
#include <stdint.h>
#include <string.h>

#include "admission.h"
#include "attempt.h"
#include "fake_loop.h"
#include "fake_owner.h"
#include "fake_provider.h"
#include "fake_upstream.h"
#include "log.h"
#include "metrics.h"
#include "unit.h"

static void	test_grant_late(void);
static void	test_withdraw_waiting(void);
static void	test_withdraw_grant_on_way(void);
static void	test_queue_timeout(void);
static void	test_queue_full(void);
static void	test_retry_503(void);
static void	test_retries_exhausted(void);
static void	test_connect_backoff(void);
static void	test_stale_retry_after(void);
static void	test_429_rate_limit(void);
static void	test_429_billing(void);
static void	test_429_no_retries(void);
static void	test_429_large(void);
static void	test_429_held_owner_lags(void);
static void	test_backpressure(void);
static void	test_idle_paused(void);
static void	test_idle_silent(void);
static void	test_first_byte_timeout(void);
static void	test_race(void);
static void	test_cancel_in_body(void);
static void	test_cancel_in_headers(void);
static void	test_cancel_in_done(void);
static void	test_sse_truncated(void);
static void	test_sse_complete(void);
static void	test_reconcile(void);

/* A grant delivered late starts the transfer then, not when decided. */
static void
test_grant_late(void)
{
	struct fake_owner	 o = { 0 };
	struct attempt_stats	 st;
	struct admit_ticket	*t;
	struct upstream		*u;

	fake_owner_setup("");
	fake_owner_start(&o);
	UNIT_ASSERT_INT_EQ(fake_provider_nwaiting(fake_owner_provider()), 1);
	fake_loop_advance(1000);
	t = fake_provider_waiting(fake_owner_provider(), 0);
	fake_provider_decide(t, ADMIT_GRANTED);
	UNIT_ASSERT_INT_EQ(fake_upstream_count(), 0);
	fake_provider_deliver(fake_owner_provider());
	UNIT_ASSERT_INT_EQ(fake_upstream_count(), 1);
	u = fake_upstream_last();
	UNIT_ASSERT_STR_EQ(fake_upstream_info(u)->method, "POST");
	UNIT_ASSERT_STR_EQ(fake_upstream_info(u)->path, FAKE_OWNER_PATH);
	UNIT_ASSERT_STR_EQ(fake_upstream_info(u)->body, FAKE_OWNER_REQUEST);
	attempt_stats(o.a, &st);
	UNIT_ASSERT_INT_EQ(st.queue_ms, 1000);
	UNIT_ASSERT_INT_EQ(st.tries, 1);
	UNIT_ASSERT_INT_EQ(st.waiting, 0);
	fake_owner_reply(u, 200, FAKE_OWNER_JSON, "{\"ok\":1}");
	fake_owner_assert_end(&o, ATTEMPT_COMPLETE, ACCESS_OK, 200, NULL);
	UNIT_ASSERT_INT_EQ(o.nheaders, 1);
	UNIT_ASSERT_STR_EQ(o.body, "{\"ok\":1}");
	UNIT_ASSERT_INT_EQ(fake_owner_books()->released, 1);
	UNIT_ASSERT_INT_EQ(fake_owner_books()->reconciles, 0);
	fake_owner_teardown();
}

/* A ticket withdrawn while it waits: nothing is called, nothing leaks. */
static void
test_withdraw_waiting(void)
{
	struct fake_owner	o = { 0 };

	fake_owner_setup("");
	fake_owner_start(&o);
	fake_loop_advance(100);
	attempt_cancel(o.a);
	UNIT_ASSERT_INT_EQ(fake_owner_books()->withdrawals, 1);
	fake_loop_advance(600 * 1000);
	UNIT_ASSERT_INT_EQ(o.nheaders + o.nbody + o.ndone, 0);
	UNIT_ASSERT_INT_EQ(fake_upstream_count(), 0);
	fake_owner_teardown();
}

/* A ticket withdrawn with its grant on the way hands the grant back. */
static void
test_withdraw_grant_on_way(void)
{
	struct fake_owner	o = { 0 };

	fake_owner_setup("");
	fake_owner_start(&o);
	fake_owner_decide(0, ADMIT_GRANTED);
	UNIT_ASSERT_INT_EQ(fake_provider_ndelivering(fake_owner_provider()), 1);
	attempt_cancel(o.a);
	UNIT_ASSERT_INT_EQ(fake_owner_books()->handed_back, 1);
	UNIT_ASSERT_INT_EQ(fake_owner_books()->released, 0);
	fake_provider_deliver(fake_owner_provider());
	fake_loop_advance(600 * 1000);
	UNIT_ASSERT_INT_EQ(o.nheaders + o.nbody + o.ndone, 0);
	UNIT_ASSERT_INT_EQ(fake_upstream_count(), 0);
	fake_owner_teardown();
}

/* queue_timeout passes: 429 llmproxy_queue_timeout with a Retry-After. */
static void
test_queue_timeout(void)
{
	struct fake_owner	o = { 0 };

	fake_owner_setup("");
	fake_provider_set_retry_after(fake_owner_provider(), 2345);
	fake_owner_start(&o);
	fake_loop_advance(4999);
	UNIT_ASSERT_INT_EQ(o.ndone, 0);
	fake_loop_advance(1);
	fake_owner_assert_end(&o, ATTEMPT_REFUSED, ACCESS_QUEUE_TIMEOUT, 429,
	    "llmproxy_queue_timeout");
	UNIT_ASSERT_INT_EQ(o.end.retry_ms, 2345);
	UNIT_ASSERT_INT_EQ(o.nheaders, 0);
	UNIT_ASSERT_INT_EQ(fake_owner_books()->refusals, 1);
	UNIT_ASSERT_INT_EQ(fake_upstream_count(), 0);
	fake_owner_teardown();
}

/* A full queue: 429 llmproxy_queue_full with the backend's retry_ms. */
static void
test_queue_full(void)
{
	struct fake_owner	o = { 0 };

	fake_owner_setup("");
	fake_provider_set_retry_after(fake_owner_provider(), 1500);
	fake_owner_start(&o);
	fake_owner_decide(0, ADMIT_FULL);
	UNIT_ASSERT_INT_EQ(o.ndone, 0);
	fake_provider_deliver(fake_owner_provider());
	fake_owner_assert_end(&o, ATTEMPT_REFUSED, ACCESS_QUEUE_FULL, 429,
	    "llmproxy_queue_full");
	UNIT_ASSERT_INT_EQ(o.end.retry_ms, 1500);
	fake_owner_teardown();
}

/* A transfer that cannot start: 503, and the slot goes back. */
static void
fake_owner_start_fails(void)
{
	struct fake_owner	o = { 0 };

	fake_owner_setup("");
	fake_owner_start(&o);
	fake_upstream_fail_next();
	fake_owner_decide(0, ADMIT_GRANTED);
	fake_provider_deliver(fake_owner_provider());
	fake_owner_assert_end(&o, ATTEMPT_REFUSED, ACCESS_NO_TRANSFER, 503,
	    "llmproxy_overloaded");
	UNIT_ASSERT_INT_EQ(fake_owner_books()->released, 1);
	fake_owner_teardown();
}

/*
 * 503 after 503: each backoff within 0.5 s x 2^n (at most 8 s), each
 * next ask at the head of the queue, then a 200; every try counted.
 */
static void
test_retry_503(void)
{
	static const uint64_t	 caps[] = { 500, 1000, 2000, 4000, 8000, 8000 };
	const struct fake_provider_books *b;
	struct fake_owner	 o = { 0 };
	struct attempt_stats	 st;
	struct upstream		*u;
	uint64_t		 ms;
	size_t			 i;

	fake_owner_setup("retries = 6;");
	b = fake_owner_books();
	fake_owner_start(&o);
	for (i = 0; i < 6; i++) {
		ms = fake_owner_fail_try(503, NULL);
		UNIT_ASSERT(ms <= caps[i]);
		UNIT_ASSERT_INT_EQ(b->released, i + 1);
		fake_loop_advance(ms);
		UNIT_ASSERT_INT_EQ(b->requests, i + 2);
		UNIT_ASSERT_INT_EQ(b->front[i + 1], 1);
	}
	UNIT_ASSERT_INT_EQ(b->front[0], 0);
	UNIT_ASSERT_INT_EQ(o.nheaders + o.ndone, 0);
	u = fake_owner_grant(0);
	attempt_stats(o.a, &st);
	UNIT_ASSERT_INT_EQ(st.tries, 7);
	fake_owner_reply(u, 200, FAKE_OWNER_JSON, "{}");
	fake_owner_assert_end(&o, ATTEMPT_COMPLETE, ACCESS_OK, 200, NULL);
	UNIT_ASSERT_INT_EQ(o.nheaders, 1);
	UNIT_ASSERT_INT_EQ(b->retries, 6);
	fake_owner_teardown();
}

/* With no retries left, the 503 goes to the owner as it is. */
static void
test_retries_exhausted(void)
{
	struct fake_owner	o = { 0 };

	fake_owner_setup("retries = 0;");
	fake_owner_start(&o);
	fake_owner_reply(fake_owner_grant(0), 503, FAKE_OWNER_JSON,
	    "{\"error\":{}}");
	fake_owner_assert_end(&o, ATTEMPT_COMPLETE, ACCESS_OK, 503, NULL);
	UNIT_ASSERT_INT_EQ(o.nheaders, 1);
	UNIT_ASSERT_INT_EQ(fake_owner_books()->retries, 0);
	fake_owner_teardown();
}

/*
 * A connect error backs off with jitter: over many attempts most waits
 * are positive (the chance of a 0 is 1 in 501 each), none above 0.5 s.
 */
static void
test_connect_backoff(void)
{
	struct fake_owner	o;
	uint64_t		ms;
	int			i, positive = 0;

	fake_owner_setup("");
	for (i = 0; i < 64; i++) {
		memset(&o, 0, sizeof o);
		fake_owner_start(&o);
		ms = fake_owner_fail_try(0, NULL);
		UNIT_ASSERT(ms <= 500);
		positive += ms > 0;
		UNIT_ASSERT_INT_EQ(o.ndone, 0);
		attempt_cancel(o.a);		/* in its backoff */
	}
	UNIT_ASSERT(positive >= 48);
	UNIT_ASSERT_INT_EQ(fake_owner_books()->released, 64);
	fake_owner_teardown();
}

/*
 * A try never inherits an earlier try's Retry-After: a 503 saying 3000
 * ms waits 3000 ms, the connect error after it at most 1000 ms; a third
 * failure with no retries left is refused 502.
 */
static void
test_stale_retry_after(void)
{
	struct fake_owner	o = { 0 };
	uint64_t		ms;

	fake_owner_setup("retries = 2;");
	fake_owner_start(&o);
	UNIT_ASSERT_INT_EQ(fake_owner_fail_try(503, "3000"), 3000);
	fake_loop_advance(3000);
	ms = fake_owner_fail_try(0, NULL);
	UNIT_ASSERT(ms <= 1000);
	fake_loop_advance(ms);
	fake_upstream_done(fake_owner_grant(0), UPSTREAM_CONNECT_FAILED);
	fake_owner_assert_end(&o, ATTEMPT_REFUSED, ACCESS_CONNECT_FAILED, 502,
	    "llmproxy_upstream_unreachable");
	UNIT_ASSERT_INT_EQ(fake_owner_books()->released, 3);
	fake_owner_teardown();
}

/*
 * A 429 rate limit is held to its end, pauses the provider for what the
 * upstream said and asks again at the head; the owner sees only the 200.
 */
static void
test_429_rate_limit(void)
{
	static const char	 body[] = "{\"error\":{\"type\":\"requests\","
	    "\"code\":\"rate_limit_exceeded\"}}";
	const struct fake_provider_books *b;
	struct fake_owner	 o = { 0 };
	struct upstream		*u;

	fake_owner_setup("");
	b = fake_owner_books();
	fake_owner_start(&o);
	u = fake_owner_grant(0);
	fake_owner_headers(u, 429, FAKE_OWNER_JSON, "retry-after-ms", "2000",
	    NULL);
	UNIT_ASSERT_INT_EQ(fake_upstream_body(u, body, strlen(body)), 0);
	UNIT_ASSERT_INT_EQ(b->pauses, 0);
	fake_upstream_done(u, UPSTREAM_OK);
	UNIT_ASSERT_INT_EQ(b->pauses, 1);
	UNIT_ASSERT_INT_EQ(b->pause_ms, 2000);
	UNIT_ASSERT_INT_EQ(b->released, 1);
	UNIT_ASSERT_INT_EQ(b->requests, 2);
	UNIT_ASSERT_INT_EQ(b->front[1], 1);
	UNIT_ASSERT_INT_EQ(o.nheaders + o.nbody + o.ndone, 0);
	fake_owner_reply(fake_owner_grant(0), 200, FAKE_OWNER_JSON, "{}");
	fake_owner_assert_end(&o, ATTEMPT_COMPLETE, ACCESS_OK, 200, NULL);
	UNIT_ASSERT_STR_EQ(o.body, "{}");
	fake_owner_teardown();
}

/* A 429 billing error goes to the owner as it is, with no pause. */
static void
test_429_billing(void)
{
	static const char	 body[] = "{\"error\":{\"type\":"
	    "\"insufficient_quota\",\"code\":\"insufficient_quota\"}}";
	struct fake_owner	 o = { 0 };

	fake_owner_setup("");
	fake_owner_start(&o);
	fake_owner_reply(fake_owner_grant(0), 429, FAKE_OWNER_JSON, body);
	fake_owner_assert_end(&o, ATTEMPT_COMPLETE, ACCESS_OK, 429, NULL);
	UNIT_ASSERT_INT_EQ(o.nheaders, 1);
	UNIT_ASSERT_STR_EQ(o.body, body);
	UNIT_ASSERT_INT_EQ(fake_owner_books()->pauses, 0);
	UNIT_ASSERT_INT_EQ(fake_owner_books()->requests, 1);
	fake_owner_teardown();
}

/* A 429 rate limit with no retries left still pauses, then goes on. */
static void
test_429_no_retries(void)
{
	static const char	 body[] = "{\"error\":{\"type\":\"requests\"}}";
	struct fake_owner	 o = { 0 };

	fake_owner_setup("retries = 0;");
	fake_owner_start(&o);
	fake_owner_reply(fake_owner_grant(0), 429, FAKE_OWNER_JSON, body);
	fake_owner_assert_end(&o, ATTEMPT_COMPLETE, ACCESS_OK, 429, NULL);
	UNIT_ASSERT_STR_EQ(o.body, body);
	UNIT_ASSERT_INT_EQ(fake_owner_books()->pauses, 1);
	UNIT_ASSERT_INT_EQ(fake_owner_books()->requests, 1);
	fake_owner_teardown();
}

/* A 429 body larger than is held is passed on as it comes, no pause. */
static void
test_429_large(void)
{
	static char		 chunk[16 * 1024];
	struct fake_owner	 o = { 0 };
	struct upstream		*u;
	int			 i;

	memset(chunk, 'x', sizeof chunk);
	fake_owner_setup("");
	fake_owner_start(&o);
	u = fake_owner_grant(0);
	fake_owner_headers(u, 429, "text/plain", NULL);
	for (i = 0; i < 4; i++)
		UNIT_ASSERT_INT_EQ(fake_upstream_body(u, chunk, sizeof chunk),
		    0);
	UNIT_ASSERT_INT_EQ(o.nheaders, 0);
	UNIT_ASSERT_INT_EQ(fake_upstream_body(u, chunk, 100), 0);
	UNIT_ASSERT_INT_EQ(o.nheaders, 1);
	UNIT_ASSERT_INT_EQ(o.body_len, 4 * sizeof chunk + 100);
	UNIT_ASSERT_INT_EQ(fake_upstream_body(u, chunk, 10), 0);
	fake_upstream_done(u, UPSTREAM_OK);
	fake_owner_assert_end(&o, ATTEMPT_COMPLETE, ACCESS_OK, 429, NULL);
	UNIT_ASSERT_INT_EQ(o.body_len, 4 * sizeof chunk + 110);
	UNIT_ASSERT_INT_EQ(fake_owner_books()->pauses, 0);
	fake_owner_teardown();
}

/*
 * A held 429 whose owner lags when it is flushed: attempt.h promises the
 * refused bytes come again on resume, and the end only after them.  The
 * world is torn down before the verdict, so a failure leaks nothing.
 */
static void
test_429_held_owner_lags(void)
{
	static const char	 body[] = "{\"error\":{\"type\":"
	    "\"insufficient_quota\"}}";
	struct fake_owner	 o = { 0 };
	int			 owed, whole;

	fake_owner_setup("");
	fake_owner_start(&o);
	o.lag = 1;
	fake_owner_reply(fake_owner_grant(0), 429, FAKE_OWNER_JSON, body);
	UNIT_ASSERT_INT_EQ(o.nbody, 1);
	owed = o.ndone == 0;		/* not over while bytes are owed */
	if (owed)
		attempt_resume(o.a);
	fake_owner_assert_end(&o, ATTEMPT_COMPLETE, ACCESS_OK, 429, NULL);
	whole = strcmp(o.body, body) == 0;
	fake_owner_teardown();
	UNIT_ASSERT(owed);
	UNIT_ASSERT(whole);
}

/* The owner lags: the transfer pauses, and resumes on attempt_resume. */
static void
test_backpressure(void)
{
	struct fake_owner	 o = { 0 };
	struct upstream		*u;

	fake_owner_setup("");
	fake_owner_start(&o);
	u = fake_owner_grant(0);
	fake_owner_headers(u, 200, FAKE_OWNER_JSON, NULL);
	attempt_resume(o.a);			/* not paused: a no-op */
	UNIT_ASSERT_INT_EQ(fake_upstream_info(u)->resumed, 0);
	o.lag = 1;
	UNIT_ASSERT_INT_EQ(fake_upstream_body(u, "abc", 3), 1);
	UNIT_ASSERT_INT_EQ(o.body_len, 0);
	attempt_resume(o.a);
	UNIT_ASSERT_INT_EQ(fake_upstream_info(u)->resumed, 1);
	UNIT_ASSERT_INT_EQ(fake_upstream_body(u, "abc", 3), 0);
	fake_upstream_done(u, UPSTREAM_OK);
	fake_owner_assert_end(&o, ATTEMPT_COMPLETE, ACCESS_OK, 200, NULL);
	UNIT_ASSERT_STR_EQ(o.body, "abc");
	fake_owner_teardown();
}

/* Paused for idle_timeout: broken, the client stalled. */
static void
test_idle_paused(void)
{
	struct fake_owner	 o = { 0 };
	struct upstream		*u;

	fake_owner_setup("");
	fake_owner_start(&o);
	u = fake_owner_grant(0);
	fake_owner_headers(u, 200, FAKE_OWNER_JSON, NULL);
	o.lag = 1;
	UNIT_ASSERT_INT_EQ(fake_upstream_body(u, "abc", 3), 1);
	fake_loop_advance(19999);
	UNIT_ASSERT_INT_EQ(o.ndone, 0);
	fake_loop_advance(1);
	fake_owner_assert_end(&o, ATTEMPT_BROKEN, ACCESS_CLIENT_STALLED, 200,
	    "llmproxy_idle_timeout");
	UNIT_ASSERT(fake_upstream_info(u)->cancelled);
	UNIT_ASSERT_INT_EQ(fake_owner_books()->released, 1);
	fake_owner_teardown();
}

/* Bytes delivered restart idle_timeout; silence after them ends it. */
static void
test_idle_silent(void)
{
	struct fake_owner	 o = { 0 };
	struct upstream		*u;

	fake_owner_setup("");
	fake_owner_start(&o);
	u = fake_owner_grant(0);
	fake_owner_headers(u, 200, FAKE_OWNER_JSON, NULL);
	fake_loop_advance(15000);
	UNIT_ASSERT_INT_EQ(fake_upstream_body(u, "abc", 3), 0);
	fake_loop_advance(19999);
	UNIT_ASSERT_INT_EQ(o.ndone, 0);
	fake_loop_advance(1);
	fake_owner_assert_end(&o, ATTEMPT_BROKEN, ACCESS_IDLE_TIMEOUT, 200,
	    "llmproxy_idle_timeout");
	UNIT_ASSERT(fake_upstream_info(u)->cancelled);
	fake_owner_teardown();
}

/* No headers within first_byte_timeout: refused 504. */
static void
test_first_byte_timeout(void)
{
	struct fake_owner	 o = { 0 };
	struct upstream		*u;

	fake_owner_setup("");
	fake_owner_start(&o);
	u = fake_owner_grant(0);
	fake_loop_advance(9999);
	UNIT_ASSERT_INT_EQ(o.ndone, 0);
	fake_loop_advance(1);
	fake_owner_assert_end(&o, ATTEMPT_REFUSED, ACCESS_FIRST_BYTE_TIMEOUT,
	    504, "llmproxy_first_byte_timeout");
	UNIT_ASSERT(fake_upstream_info(u)->cancelled);
	UNIT_ASSERT_INT_EQ(fake_owner_books()->released, 1);
	fake_owner_teardown();
}

/*
 * Two attempts race: A's headers callback cancels B mid-transfer.  B's
 * transfer is cancelled, its slot released once, and B calls nothing
 * more, whatever time passes; A goes on to its end.
 */
static void
test_race(void)
{
	struct fake_owner	 oa = { 0 }, ob = { 0 };
	struct upstream		*ua, *ub;

	fake_owner_setup("");
	fake_owner_start(&oa);
	fake_owner_start(&ob);
	ua = fake_owner_grant(0);
	ub = fake_owner_grant(0);
	fake_owner_headers(ub, 200, FAKE_OWNER_SSE, NULL);
	UNIT_ASSERT_INT_EQ(fake_upstream_body(ub, "data: {}\n\n", 10), 0);
	oa.when = FAKE_OWNER_CANCEL_IN_HEADERS;
	oa.victim = &ob;
	fake_owner_headers(ua, 200, FAKE_OWNER_JSON, NULL);
	UNIT_ASSERT(ob.a == NULL);
	UNIT_ASSERT(fake_upstream_info(ub)->cancelled);
	UNIT_ASSERT(!fake_upstream_info(ua)->cancelled);
	UNIT_ASSERT_INT_EQ(fake_owner_books()->released, 1);
	fake_loop_advance(600 * 1000);
	UNIT_ASSERT_INT_EQ(ob.nheaders, 1);
	UNIT_ASSERT_INT_EQ(ob.nbody, 1);
	UNIT_ASSERT_INT_EQ(ob.ndone, 0);
	UNIT_ASSERT_INT_EQ(oa.ndone, 1);	/* A's idle_timeout passed */
	fake_owner_assert_end(&oa, ATTEMPT_BROKEN, ACCESS_IDLE_TIMEOUT, 200,
	    "llmproxy_idle_timeout");
	UNIT_ASSERT_INT_EQ(fake_owner_books()->released, 2);
	fake_owner_teardown();
}

/*
 * The owner cancels A inside A's own body callback: A is freed after the
 * callback returns (ASan watches), the transfer is told to stop, the
 * slot goes back once and nothing more is called.
 */
static void
test_cancel_in_body(void)
{
	struct fake_owner	 o = { 0 };
	struct upstream		*u;

	fake_owner_setup("");
	fake_owner_start(&o);
	u = fake_owner_grant(0);
	fake_owner_headers(u, 200, FAKE_OWNER_SSE, NULL);
	o.when = FAKE_OWNER_CANCEL_IN_BODY;
	UNIT_ASSERT_INT_EQ(fake_upstream_body(u, "data: {}\n\n", 10), 1);
	UNIT_ASSERT(o.a == NULL);
	UNIT_ASSERT(fake_upstream_info(u)->cancelled);
	UNIT_ASSERT_INT_EQ(fake_owner_books()->released, 1);
	fake_loop_advance(600 * 1000);
	UNIT_ASSERT_INT_EQ(o.nbody, 1);
	UNIT_ASSERT_INT_EQ(o.ndone, 0);
	fake_owner_teardown();
}

/* The owner cancels A inside A's headers callback, a 429's included. */
static void
test_cancel_in_headers(void)
{
	static const char	 body[] = "{\"error\":{\"type\":"
	    "\"insufficient_quota\"}}";
	struct fake_owner	 o = { 0 };
	struct upstream		*u;

	fake_owner_setup("");
	fake_owner_start(&o);
	u = fake_owner_grant(0);
	o.when = FAKE_OWNER_CANCEL_IN_HEADERS;
	fake_owner_headers(u, 200, FAKE_OWNER_JSON, NULL);
	UNIT_ASSERT(fake_upstream_info(u)->cancelled);
	memset(&o, 0, sizeof o);
	fake_owner_start(&o);
	u = fake_owner_grant(0);
	o.when = FAKE_OWNER_CANCEL_IN_HEADERS;
	fake_owner_headers(u, 429, FAKE_OWNER_JSON, NULL);
	UNIT_ASSERT_INT_EQ(fake_upstream_body(u, body, strlen(body)), 0);
	fake_upstream_done(u, UPSTREAM_OK);	/* the held 429 delivered */
	UNIT_ASSERT(o.a == NULL);
	UNIT_ASSERT_INT_EQ(o.nheaders, 1);
	UNIT_ASSERT_INT_EQ(o.nbody + o.ndone, 0);
	UNIT_ASSERT_INT_EQ(fake_owner_books()->released, 2);
	fake_owner_teardown();
}

/* attempt_cancel() from the done callback is moot, not a double free. */
static void
test_cancel_in_done(void)
{
	struct fake_owner	 o = { 0 };

	fake_owner_setup("");
	fake_owner_start(&o);
	o.when = FAKE_OWNER_CANCEL_IN_DONE;
	fake_owner_reply(fake_owner_grant(0), 200, FAKE_OWNER_JSON, "{}");
	fake_owner_assert_end(&o, ATTEMPT_COMPLETE, ACCESS_OK, 200, NULL);
	UNIT_ASSERT_INT_EQ(fake_owner_books()->released, 1);
	fake_owner_teardown();
}

/* An SSE stream ending without its final event is broken, truncated. */
static void
test_sse_truncated(void)
{
	static const char	 ev[] = "data: {\"choices\":[]}\n\n";
	struct fake_owner	 o = { 0 };

	fake_owner_setup("");
	fake_owner_start(&o);
	fake_owner_reply(fake_owner_grant(0), 200, FAKE_OWNER_SSE, ev);
	fake_owner_assert_end(&o, ATTEMPT_BROKEN, ACCESS_UPSTREAM_TRUNCATED,
	    200, "llmproxy_upstream_truncated");
	UNIT_ASSERT_STR_EQ(o.body, ev);
	fake_owner_teardown();
}

/*
 * The final event split across chunks, after more than the kept tail's
 * worth of earlier events, still counts: complete.
 */
static void
test_sse_complete(void)
{
	static const char *const chunks[] = {
		"data: {\"choices\":[{\"delta\":{}}]}\n\n", "data: [DO",
		"NE]\n\n"
	};
	struct fake_owner	 o = { 0 };
	struct upstream		*u;
	size_t			 i;

	fake_owner_setup("");
	fake_owner_start(&o);
	u = fake_owner_grant(0);
	fake_owner_headers(u, 200, FAKE_OWNER_SSE, NULL);
	for (i = 0; i < sizeof chunks / sizeof chunks[0]; i++)
		UNIT_ASSERT_INT_EQ(fake_upstream_body(u, chunks[i],
		    strlen(chunks[i])), 0);
	fake_upstream_done(u, UPSTREAM_OK);
	fake_owner_assert_end(&o, ATTEMPT_COMPLETE, ACCESS_OK, 200, NULL);
	fake_owner_teardown();
}

/* With a token limit, usage corrects the bucket by usage - estimate. */
static void
test_reconcile(void)
{
	static const char	 body[] = "{\"id\":\"x\",\"usage\":{"
	    "\"prompt_tokens\":10,\"completion_tokens\":20,"
	    "\"total_tokens\":30}}";
	const struct fake_provider_books *b;
	struct fake_owner	 o = { 0 };
	struct attempt_stats	 st;

	fake_owner_setup("tokens_per_minute = 100000;");
	b = fake_owner_books();
	fake_owner_start(&o);
	attempt_stats(o.a, &st);
	UNIT_ASSERT(st.estimate > 0);
	UNIT_ASSERT_INT_EQ(b->tokens[0], st.estimate);
	fake_owner_reply(fake_owner_grant(0), 200, FAKE_OWNER_JSON, body);
	fake_owner_assert_end(&o, ATTEMPT_COMPLETE, ACCESS_OK, 200, NULL);
	UNIT_ASSERT_INT_EQ(b->reconciles, 1);
	UNIT_ASSERT_INT_EQ(b->reconcile_delta, 30 - st.estimate);
	UNIT_ASSERT_INT_EQ(b->unused_tokens, 0);
	fake_owner_teardown();
}

int
main(void)
{
	static const struct unit_test	tests[] = {
		{ "grant_late", test_grant_late },
		{ "withdraw_waiting", test_withdraw_waiting },
		{ "withdraw_grant_on_way", test_withdraw_grant_on_way },
		{ "queue_timeout", test_queue_timeout },
		{ "queue_full", test_queue_full },
		{ "start_fails", fake_owner_start_fails },
		{ "retry_503", test_retry_503 },
		{ "retries_exhausted", test_retries_exhausted },
		{ "connect_backoff", test_connect_backoff },
		{ "stale_retry_after", test_stale_retry_after },
		{ "429_rate_limit", test_429_rate_limit },
		{ "429_billing", test_429_billing },
		{ "429_no_retries", test_429_no_retries },
		{ "429_large", test_429_large },
		{ "429_held_owner_lags", test_429_held_owner_lags },
		{ "backpressure", test_backpressure },
		{ "idle_paused", test_idle_paused },
		{ "idle_silent", test_idle_silent },
		{ "first_byte_timeout", test_first_byte_timeout },
		{ "race", test_race },
		{ "cancel_in_body", test_cancel_in_body },
		{ "cancel_in_headers", test_cancel_in_headers },
		{ "cancel_in_done", test_cancel_in_done },
		{ "sse_truncated", test_sse_truncated },
		{ "sse_complete", test_sse_complete },
		{ "reconcile", test_reconcile }
	};
	int	rc;

	log_set_level(LOG_LEVEL_WARN);	/* retries are logged at info */
	rc = unit_main(tests, sizeof tests / sizeof tests[0]);
	metrics_free_all();
	return rc;
}
