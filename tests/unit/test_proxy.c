/* SPDX-License-Identifier: ISC */
/*
 * test_proxy: proxy.c's fallback chain and hedge (SPEC 13) on link-time
 * fakes: attempts the test plays (fake_attempt.c), a client side that
 * records what the proxy sent and calls it back as exchange.c does
 * (fake_exchange.c), providers a, b and c of a real configuration
 * (fake_provider.c) and a simulated clock (fake_loop.c).  a falls back to
 * b, then c; b renames model m1.  Every case ends with the exchange
 * closed once, no attempt left running, every provider reference given
 * back and no deadline left; metrics.c is the real one.  Nothing here
 * touches the network or an event loop.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attempt.h"
#include "config.h"
#include "exchange.h"
#include "fake_attempt.h"
#include "fake_exchange.h"
#include "fake_loop.h"
#include "fake_provider.h"
#include "log.h"
#include "metrics.h"
#include "proxy.h"
#include "unit.h"

/* Providers a, b, c; %s adds keys to a. */
#define TEST_PROXY_CONF	"providers = ( " \
	"{ name = \"a\"; type = \"simulated\"; fallback = [ \"b\", \"c\" ]; " \
	"%s }, " \
	"{ name = \"b\"; type = \"simulated\"; " \
	"model_map = [ \"m1=m1-b\" ]; }, " \
	"{ name = \"c\"; type = \"simulated\"; } );\n"
#define TEST_PROXY_HEDGE	"hedge_after = 2.0;"
#define TEST_PROXY_PATH		"/v1/chat/completions"
#define TEST_PROXY_BODY_B	"{\"model\":\"m1-b\",\"max_tokens\":5}"

/* One case's world. */
static struct {
	struct config	*cf;
	struct provider	*a, *b, *c;
	struct exchange	*ex;
} w;

static void	test_setup(const char *keys);
static void	test_teardown(void);
static int	test_metrics_has(const char *line);
static const struct fake_exchange_seen *test_seen(void);
static void	test_plain_success(void);
static void	test_fallback_503_then_429(void);
static void	test_400_no_fallback(void);
static void	test_refusal_falls_back(void);
static void	test_first_byte_timeout_no_fallback(void);
static void	test_fallbacks_exhausted(void);
static void	test_hedge_b_wins(void);
static void	test_hedge_a_wins(void);
static void	test_hedge_never_after_winner(void);
static void	test_hedge_once(void);
static void	test_hedge_skips_tried(void);
static void	test_client_closed(void);
static void	test_shutdown_waiting(void);
static void	test_backpressure(void);

/* Make the world with keys added to a, and start the request on a. */
static void
test_setup(const char *keys)
{
	static const struct exchange_env	 env;
	char					 text[1024];
	char					*cause = NULL;

	fake_loop_reset();
	fake_exchange_reset();		/* a failed case's leftovers */
	(void)fake_attempt_reset();
	metrics_free_all();
	snprintf(text, sizeof text, TEST_PROXY_CONF, keys);
	w.cf = config_load_string(text, "t.conf", &cause);
	if (w.cf == NULL)
		printf("# %s\n", cause);
	UNIT_ASSERT(w.cf != NULL);
	w.a = fake_provider_new(w.cf, "a");
	w.b = fake_provider_new(w.cf, "b");
	w.c = fake_provider_new(w.cf, "c");
	proxy_start(&env, NULL, w.cf, w.a, TEST_PROXY_PATH, NULL,
	    QUEUE_INTERACTIVE);
	w.ex = fake_exchange_last();
	UNIT_ASSERT(w.ex != NULL);
	UNIT_ASSERT_INT_EQ(fake_attempt_count(), 1);
	UNIT_ASSERT(fake_attempt_info(fake_attempt_nth(0))->provider == w.a);
}

/*
 * Check that the proxy is gone without a trace: the exchange closed
 * once, no attempt runs, each provider has only the test's reference
 * (fake_provider_free() asserts it), no deadline is left.
 */
static void
test_teardown(void)
{
	UNIT_ASSERT_INT_EQ(test_seen()->closed, 1);
	UNIT_ASSERT_INT_EQ(fake_attempt_reset(), 0);
	UNIT_ASSERT_INT_EQ(fake_loop_live(), 0);
	fake_exchange_reset();
	fake_provider_free(w.a);
	fake_provider_free(w.b);
	fake_provider_free(w.c);
	config_unref(w.cf);
	memset(&w, 0, sizeof w);
}

/* Return 1 if /metrics has line (a whole sample line), else print it. */
static int
test_metrics_has(const char *line)
{
	char	*text, *p;
	size_t	 len, n = strlen(line);
	int	 found = 0;

	text = metrics_render(0, &len);
	for (p = text; (p = strstr(p, line)) != NULL; p += n) {
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			found = 1;
	}
	if (!found)
		printf("# /metrics lacks \"%s\"\n", line);
	free(text);
	return found;
}

/* Return what the proxy did to the client. */
static const struct fake_exchange_seen *
test_seen(void)
{
	return fake_exchange_seen(w.ex);
}

/* One attempt on a answers 200: the client gets it, from a. */
static void
test_plain_success(void)
{
	struct attempt	*a;

	test_setup("");
	a = fake_attempt_nth(0);
	UNIT_ASSERT_STR_EQ(fake_attempt_info(a)->method, "POST");
	UNIT_ASSERT_STR_EQ(fake_attempt_info(a)->path, TEST_PROXY_PATH);
	UNIT_ASSERT_STR_EQ(fake_attempt_info(a)->body, FAKE_EXCHANGE_BODY);
	UNIT_ASSERT_INT_EQ(fake_loop_live(), 0);	/* no hedge_after */
	fake_attempt_headers(a, 200);
	UNIT_ASSERT_INT_EQ(test_seen()->status, 200);
	UNIT_ASSERT_STR_EQ(test_seen()->provider, "a");
	UNIT_ASSERT_STR_EQ(test_seen()->first, "a");
	UNIT_ASSERT_INT_EQ(fake_attempt_body(a, "{\"ok\":"), 0);
	UNIT_ASSERT_INT_EQ(fake_attempt_body(a, "1}"), 0);
	UNIT_ASSERT_INT_EQ(test_seen()->closed, 0);
	fake_attempt_done(a, ATTEMPT_COMPLETE, ACCESS_OK, 200, NULL);
	UNIT_ASSERT_STR_EQ(test_seen()->body, "{\"ok\":1}");
	UNIT_ASSERT_INT_EQ(test_seen()->ended, 1);
	UNIT_ASSERT_INT_EQ(test_seen()->end, ACCESS_OK);
	UNIT_ASSERT_INT_EQ(fake_attempt_count(), 1);
	UNIT_ASSERT(!fake_attempt_info(a)->cancelled);
	test_teardown();
}

/*
 * a's final 503 goes on to b (a cancelled from inside its headers
 * callback, b's body renamed by b's model_map), b's 429 on to c, whose
 * 200 is the answer; each step is counted.
 */
static void
test_fallback_503_then_429(void)
{
	struct attempt	*a, *b, *c;

	test_setup("");
	a = fake_attempt_nth(0);
	fake_attempt_headers(a, 503);
	UNIT_ASSERT(fake_attempt_info(a)->cancelled_in_cb);
	UNIT_ASSERT_INT_EQ(fake_attempt_count(), 2);
	b = fake_attempt_nth(1);
	UNIT_ASSERT(fake_attempt_info(b)->provider == w.b);
	UNIT_ASSERT_STR_EQ(fake_attempt_info(b)->body, TEST_PROXY_BODY_B);
	UNIT_ASSERT_INT_EQ(test_seen()->status, 0);
	fake_attempt_headers(b, 429);
	UNIT_ASSERT(fake_attempt_info(b)->cancelled_in_cb);
	UNIT_ASSERT_INT_EQ(fake_attempt_count(), 3);
	c = fake_attempt_nth(2);
	UNIT_ASSERT(fake_attempt_info(c)->provider == w.c);
	UNIT_ASSERT_STR_EQ(fake_attempt_info(c)->body, FAKE_EXCHANGE_BODY);
	fake_attempt_headers(c, 200);
	UNIT_ASSERT_INT_EQ(test_seen()->status, 200);
	UNIT_ASSERT_STR_EQ(test_seen()->provider, "c");
	UNIT_ASSERT_STR_EQ(test_seen()->first, "a");
	fake_attempt_done(c, ATTEMPT_COMPLETE, ACCESS_OK, 200, NULL);
	UNIT_ASSERT(test_metrics_has(
	    "llmproxy_fallbacks_total{from=\"a\",to=\"b\"} 1"));
	UNIT_ASSERT(test_metrics_has(
	    "llmproxy_fallbacks_total{from=\"b\",to=\"c\"} 1"));
	test_teardown();
}

/* A 400 is the client's fault: it is the answer, no fallback. */
static void
test_400_no_fallback(void)
{
	struct attempt	*a;

	test_setup("");
	a = fake_attempt_nth(0);
	fake_attempt_headers(a, 400);
	UNIT_ASSERT_INT_EQ(fake_attempt_count(), 1);
	UNIT_ASSERT(!fake_attempt_info(a)->cancelled);
	UNIT_ASSERT_INT_EQ(test_seen()->status, 400);
	UNIT_ASSERT_STR_EQ(test_seen()->provider, "a");
	UNIT_ASSERT_INT_EQ(fake_attempt_body(a, "{\"error\":{}}"), 0);
	fake_attempt_done(a, ATTEMPT_COMPLETE, ACCESS_OK, 400, NULL);
	UNIT_ASSERT_STR_EQ(test_seen()->body, "{\"error\":{}}");
	UNIT_ASSERT_INT_EQ(test_seen()->end, ACCESS_OK);
	test_teardown();
}

/* a's queue is full: the request goes on to b, which answers. */
static void
test_refusal_falls_back(void)
{
	struct attempt	*b;

	test_setup("");
	fake_attempt_done(fake_attempt_nth(0), ATTEMPT_REFUSED,
	    ACCESS_QUEUE_FULL, 429, "llmproxy_queue_full");
	UNIT_ASSERT_INT_EQ(test_seen()->status, 0);
	UNIT_ASSERT_INT_EQ(fake_attempt_count(), 2);
	b = fake_attempt_nth(1);
	UNIT_ASSERT(fake_attempt_info(b)->provider == w.b);
	UNIT_ASSERT_STR_EQ(fake_attempt_info(b)->body, TEST_PROXY_BODY_B);
	fake_attempt_headers(b, 200);
	fake_attempt_done(b, ATTEMPT_COMPLETE, ACCESS_OK, 200, NULL);
	UNIT_ASSERT_INT_EQ(test_seen()->status, 200);
	UNIT_ASSERT_STR_EQ(test_seen()->provider, "b");
	UNIT_ASSERT(test_metrics_has(
	    "llmproxy_fallbacks_total{from=\"a\",to=\"b\"} 1"));
	test_teardown();
}

/* A first-byte timeout may have reached the provider: no fallback. */
static void
test_first_byte_timeout_no_fallback(void)
{
	test_setup("");
	fake_attempt_done(fake_attempt_nth(0), ATTEMPT_REFUSED,
	    ACCESS_FIRST_BYTE_TIMEOUT, 504, "llmproxy_first_byte_timeout");
	UNIT_ASSERT_INT_EQ(fake_attempt_count(), 1);
	UNIT_ASSERT_INT_EQ(test_seen()->refused, 1);
	UNIT_ASSERT_INT_EQ(test_seen()->status, 504);
	UNIT_ASSERT_INT_EQ(test_seen()->end, ACCESS_FIRST_BYTE_TIMEOUT);
	UNIT_ASSERT_STR_EQ(test_seen()->provider, "a");
	test_teardown();
}

/* Every provider refuses: the client gets the last refusal, from c. */
static void
test_fallbacks_exhausted(void)
{
	test_setup("");
	fake_attempt_done(fake_attempt_nth(0), ATTEMPT_REFUSED,
	    ACCESS_QUEUE_FULL, 429, "llmproxy_queue_full");
	fake_attempt_done(fake_attempt_nth(1), ATTEMPT_REFUSED,
	    ACCESS_QUEUE_TIMEOUT, 429, "llmproxy_queue_timeout");
	UNIT_ASSERT_INT_EQ(fake_attempt_count(), 3);
	UNIT_ASSERT(fake_attempt_info(fake_attempt_nth(2))->provider == w.c);
	UNIT_ASSERT_INT_EQ(test_seen()->closed, 0);
	fake_attempt_done(fake_attempt_nth(2), ATTEMPT_REFUSED,
	    ACCESS_CONNECT_FAILED, 502, "llmproxy_connect_failed");
	UNIT_ASSERT_INT_EQ(fake_attempt_count(), 3);
	UNIT_ASSERT_INT_EQ(test_seen()->refused, 1);
	UNIT_ASSERT_INT_EQ(test_seen()->status, 502);
	UNIT_ASSERT_INT_EQ(test_seen()->end, ACCESS_CONNECT_FAILED);
	UNIT_ASSERT_STR_EQ(test_seen()->code, "llmproxy_connect_failed");
	UNIT_ASSERT_STR_EQ(test_seen()->provider, "c");
	test_teardown();
}

/*
 * hedge_after passes with no answer: a second attempt on b; b's 200
 * wins, a is cancelled (from inside b's callback), the hedge won.
 */
static void
test_hedge_b_wins(void)
{
	struct attempt	*a, *b;

	test_setup(TEST_PROXY_HEDGE);
	a = fake_attempt_nth(0);
	fake_loop_advance(1999);
	UNIT_ASSERT_INT_EQ(fake_attempt_count(), 1);
	fake_loop_advance(1);
	UNIT_ASSERT_INT_EQ(fake_attempt_count(), 2);
	b = fake_attempt_nth(1);
	UNIT_ASSERT(fake_attempt_info(b)->provider == w.b);
	UNIT_ASSERT_STR_EQ(fake_attempt_info(b)->body, TEST_PROXY_BODY_B);
	fake_attempt_headers(b, 200);
	UNIT_ASSERT(fake_attempt_info(a)->cancelled);
	UNIT_ASSERT(!fake_attempt_info(b)->cancelled);
	UNIT_ASSERT_INT_EQ(test_seen()->status, 200);
	UNIT_ASSERT_STR_EQ(test_seen()->provider, "b");
	UNIT_ASSERT_INT_EQ(fake_attempt_body(b, "x"), 0);
	fake_attempt_done(b, ATTEMPT_COMPLETE, ACCESS_OK, 200, NULL);
	UNIT_ASSERT_STR_EQ(test_seen()->body, "x");
	UNIT_ASSERT(test_metrics_has(
	    "llmproxy_hedges_total{provider=\"a\",outcome=\"won\"} 1"));
	test_teardown();
}

/* The first attempt answers after the hedge started: b is cancelled. */
static void
test_hedge_a_wins(void)
{
	struct attempt_stats	 st = { .tries = 1, .estimate = -1 };
	struct attempt		*a, *b;

	test_setup(TEST_PROXY_HEDGE);
	a = fake_attempt_nth(0);
	fake_loop_advance(2000);
	b = fake_attempt_nth(1);
	UNIT_ASSERT(b != NULL);
	fake_attempt_set_stats(b, &st);		/* it reached b */
	fake_attempt_headers(a, 200);
	UNIT_ASSERT(fake_attempt_info(b)->cancelled);
	UNIT_ASSERT_STR_EQ(test_seen()->provider, "a");
	fake_attempt_done(a, ATTEMPT_COMPLETE, ACCESS_OK, 200, NULL);
	UNIT_ASSERT(test_metrics_has(
	    "llmproxy_hedges_total{provider=\"a\",outcome=\"lost\"} 1"));
	UNIT_ASSERT(test_metrics_has(
	    "llmproxy_hedges_total{provider=\"a\",outcome=\"won\"} 0"));
	test_teardown();
}

/* An answer before hedge_after: no hedge, ever, and no timer left. */
static void
test_hedge_never_after_winner(void)
{
	struct attempt	*a;

	test_setup(TEST_PROXY_HEDGE);
	a = fake_attempt_nth(0);
	fake_loop_advance(1000);
	fake_attempt_headers(a, 200);
	UNIT_ASSERT_INT_EQ(fake_loop_armed(), 0);
	fake_loop_advance(60 * 1000);
	UNIT_ASSERT_INT_EQ(fake_attempt_count(), 1);
	fake_attempt_done(a, ATTEMPT_COMPLETE, ACCESS_OK, 200, NULL);
	UNIT_ASSERT(test_metrics_has(
	    "llmproxy_hedges_total{provider=\"a\",outcome=\"lost\"} 0"));
	test_teardown();
}

/*
 * One hedge per request: the first attempt's 503 leaves the hedge
 * alone (no fallback while it runs), and time passing starts nothing.
 */
static void
test_hedge_once(void)
{
	struct attempt	*b, *c;

	test_setup(TEST_PROXY_HEDGE);
	fake_loop_advance(2000);
	UNIT_ASSERT_INT_EQ(fake_attempt_count(), 2);
	fake_attempt_headers(fake_attempt_nth(0), 503);
	UNIT_ASSERT(fake_attempt_info(fake_attempt_nth(0))->cancelled_in_cb);
	UNIT_ASSERT_INT_EQ(fake_attempt_count(), 2);
	fake_loop_advance(60 * 1000);
	UNIT_ASSERT_INT_EQ(fake_attempt_count(), 2);
	b = fake_attempt_nth(1);
	fake_attempt_headers(b, 502);	/* now c, the next untried */
	UNIT_ASSERT_INT_EQ(fake_attempt_count(), 3);
	c = fake_attempt_nth(2);
	UNIT_ASSERT(fake_attempt_info(c)->provider == w.c);
	fake_loop_advance(60 * 1000);
	UNIT_ASSERT_INT_EQ(fake_attempt_count(), 3);
	fake_attempt_headers(c, 200);
	UNIT_ASSERT_STR_EQ(test_seen()->provider, "c");
	fake_attempt_done(c, ATTEMPT_COMPLETE, ACCESS_OK, 200, NULL);
	UNIT_ASSERT(test_metrics_has(
	    "llmproxy_fallbacks_total{from=\"b\",to=\"c\"} 1"));
	test_teardown();
}

/*
 * a refused before hedge_after: the request moved on to b, so the hedge
 * must not start a second attempt on b (SPEC 13: a provider is tried at
 * most once per request).
 */
static void
test_hedge_skips_tried(void)
{
	size_t	i, on_b = 0;

	test_setup(TEST_PROXY_HEDGE);
	fake_attempt_done(fake_attempt_nth(0), ATTEMPT_REFUSED,
	    ACCESS_QUEUE_FULL, 429, "llmproxy_queue_full");
	UNIT_ASSERT(fake_attempt_info(fake_attempt_nth(1))->provider == w.b);
	fake_loop_advance(2000);
	for (i = 0; i < fake_attempt_count(); i++)
		on_b += fake_attempt_info(fake_attempt_nth(i))->provider ==
		    w.b;
	fake_exchange_hang_up(w.ex, ACCESS_CLIENT_CLOSED);
	UNIT_ASSERT_INT_EQ(on_b, 1);
	test_teardown();
}

/* The client hangs up during the race: both attempts are cancelled. */
static void
test_client_closed(void)
{
	struct attempt	*a, *b;

	test_setup(TEST_PROXY_HEDGE);
	fake_loop_advance(2000);
	a = fake_attempt_nth(0);
	b = fake_attempt_nth(1);
	UNIT_ASSERT(b != NULL);
	fake_exchange_hang_up(w.ex, ACCESS_CLIENT_CLOSED);
	UNIT_ASSERT(fake_attempt_info(a)->cancelled);
	UNIT_ASSERT(fake_attempt_info(b)->cancelled);
	UNIT_ASSERT(!fake_attempt_info(a)->cancelled_in_cb);
	UNIT_ASSERT_INT_EQ(test_seen()->status, 0);
	UNIT_ASSERT_INT_EQ(fake_provider_books(w.a)->refusals, 0);
	UNIT_ASSERT(test_metrics_has("llmproxy_hedges_total{provider=\"a\","
	    "outcome=\"not_admitted\"} 1"));
	test_teardown();
}

/* A shutdown ends a request still waiting: counted as a refusal. */
static void
test_shutdown_waiting(void)
{
	struct attempt_stats	st = { .waiting = 1, .estimate = -1 };

	test_setup("");
	fake_attempt_set_stats(fake_attempt_nth(0), &st);
	fake_exchange_hang_up(w.ex, ACCESS_SHUTDOWN);
	UNIT_ASSERT(fake_attempt_info(fake_attempt_nth(0))->cancelled);
	UNIT_ASSERT_INT_EQ(fake_provider_books(w.a)->refusals, 1);
	test_teardown();
}

/* A lagging client pauses the winner; the drain resumes it. */
static void
test_backpressure(void)
{
	struct attempt	*a;

	test_setup("");
	a = fake_attempt_nth(0);
	fake_attempt_headers(a, 200);
	UNIT_ASSERT_INT_EQ(fake_attempt_body(a, "ab"), 0);
	fake_exchange_set_lags(w.ex, 1);
	UNIT_ASSERT_INT_EQ(fake_attempt_body(a, "cd"), 1);
	UNIT_ASSERT_STR_EQ(test_seen()->body, "ab");
	fake_exchange_drain(w.ex);	/* still lagging: resumed anyway */
	UNIT_ASSERT_INT_EQ(fake_attempt_info(a)->resumes, 1);
	fake_exchange_set_lags(w.ex, 0);
	UNIT_ASSERT_INT_EQ(fake_attempt_body(a, "cd"), 0);
	fake_exchange_drain(w.ex);	/* not paused: nothing to resume */
	UNIT_ASSERT_INT_EQ(fake_attempt_info(a)->resumes, 1);
	fake_attempt_done(a, ATTEMPT_COMPLETE, ACCESS_OK, 200, NULL);
	UNIT_ASSERT_STR_EQ(test_seen()->body, "abcd");
	test_teardown();
}

int
main(void)
{
	static const struct unit_test	tests[] = {
		{ "plain_success", test_plain_success },
		{ "fallback_503_then_429", test_fallback_503_then_429 },
		{ "400_no_fallback", test_400_no_fallback },
		{ "refusal_falls_back", test_refusal_falls_back },
		{ "first_byte_timeout_no_fallback",
		    test_first_byte_timeout_no_fallback },
		{ "fallbacks_exhausted", test_fallbacks_exhausted },
		{ "hedge_b_wins", test_hedge_b_wins },
		{ "hedge_a_wins", test_hedge_a_wins },
		{ "hedge_never_after_winner", test_hedge_never_after_winner },
		{ "hedge_once", test_hedge_once },
		{ "hedge_skips_tried", test_hedge_skips_tried },
		{ "client_closed", test_client_closed },
		{ "shutdown_waiting", test_shutdown_waiting },
		{ "backpressure", test_backpressure },
	};
	int				rc;

	log_set_level(LOG_LEVEL_WARN);
	rc = unit_main(tests, sizeof tests / sizeof tests[0]);
	metrics_free_all();
	return rc;
}
