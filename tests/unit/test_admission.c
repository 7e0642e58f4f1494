/* SPDX-License-Identifier: ISC */
/*
 * test_admission: the local admission backend (provider.c over queue.c
 * and limiter.c) on a real event base, turned one non-blocking iteration
 * at a time: decisions never arrive inside provider_request() and do
 * arrive on a later turn, a ticket withdrawn with its grant on the way
 * hands the slot to the next, slots have ids of their own and all come
 * back, a full queue says when to come back.  Limits are chosen so that
 * nothing refills within a case, except where the refill time is what
 * is measured.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <event2/event.h>
#include <jansson.h>

#include "admission.h"
#include "clock.h"
#include "config.h"
#include "log.h"
#include "provider.h"
#include "unit.h"

/* The provider block; %s adds keys. */
#define TEST_CONF	"providers = ( { name = \"p\"; type = \"simulated\"; " \
	"%s } );\n"
/* Loop turns a decision made on the pump's zero timer may take. */
#define TEST_TURNS	10
#define TEST_TICKETS	8

/* A ticket and what its callback saw. */
struct test_ticket {
	struct admit_ticket	t;
	int			ncalls;
	enum admit_verdict	verdict;
};

static void	test_decided_cb(struct admit_ticket *t, enum admit_verdict v,
		    void *arg);
static void	test_setup(const char *keys);
static void	test_teardown(void);
static void	test_ask(struct test_ticket *tt, int64_t tokens, int front);
static void	test_turn(void);
static void	test_turn_until(struct test_ticket *tt);
static json_int_t test_status(const char *member);
static void	test_decided_later(void);
static void	test_withdraw_delivering(void);
static void	test_slot_ids(void);
static void	test_queue_full(void);
static void	test_too_large(void);
static void	test_retry_after(void);

static struct event_base	*base;
static struct config		*cf;
static struct provider		*prov;

/* admission: record the decision. */
static void
test_decided_cb(struct admit_ticket *t, enum admit_verdict v, void *arg)
{
	struct test_ticket	*tt = arg;

	UNIT_ASSERT(t == &tt->t);
	UNIT_ASSERT(t->state == ADMIT_IDLE);
	tt->ncalls++;
	tt->verdict = v;
}

/* Make an event base and provider "p" with keys. */
static void
test_setup(const char *keys)
{
	char	 text[512];
	char	*cause = NULL;

	snprintf(text, sizeof text, TEST_CONF, keys);
	cf = config_load_string(text, "t.conf", &cause);
	if (cf == NULL)
		printf("# %s\n", cause);
	UNIT_ASSERT(cf != NULL);
	base = event_base_new();
	UNIT_ASSERT(base != NULL);
	provider_sync(base, cf);
	prov = provider_find("p");
	UNIT_ASSERT(prov != NULL);
}

/* Free the providers (every slot must be back), the config, the base. */
static void
test_teardown(void)
{
	UNIT_ASSERT_INT_EQ(test_status("in_flight"), 0);
	UNIT_ASSERT_INT_EQ(test_status("queued"), 0);
	provider_free_all();
	config_unref(cf);
	event_base_free(base);
	prov = NULL;
	cf = NULL;
	base = NULL;
}

/* Ask for tt's admission, at the front if front. */
static void
test_ask(struct test_ticket *tt, int64_t tokens, int front)
{
	memset(tt, 0, sizeof *tt);
	tt->t.tokens = tokens;
	tt->t.front = front;
	tt->t.decided = test_decided_cb;
	tt->t.arg = tt;
	provider_request(prov, &tt->t);
	UNIT_ASSERT_INT_EQ(tt->ncalls, 0);	/* never from inside */
}

/* Run one non-blocking iteration of the loop. */
static void
test_turn(void)
{
	UNIT_ASSERT(event_base_loop(base, EVLOOP_NONBLOCK) != -1);
}

/* Turn the loop until tt is decided (a few turns at most). */
static void
test_turn_until(struct test_ticket *tt)
{
	int	i;

	for (i = 0; i < TEST_TURNS && tt->ncalls == 0; i++)
		test_turn();
	UNIT_ASSERT_INT_EQ(tt->ncalls, 1);
}

/* Return provider p's member of /status (an integer). */
static json_int_t
test_status(const char *member)
{
	json_t		*all = provider_status_json();
	json_t		*v;
	json_int_t	 n;

	v = json_object_get(json_array_get(all, 0), member);
	UNIT_ASSERT(json_is_integer(v));
	n = json_integer_value(v);
	json_decref(all);
	return n;
}

/*
 * A grant known at once still arrives on the next turn; a waiter behind
 * it is granted after the release, never inside provider_release().
 */
static void
test_decided_later(void)
{
	struct test_ticket	t1, t2;

	test_setup("max_concurrent = 1;");
	test_ask(&t1, 0, 0);
	UNIT_ASSERT(t1.t.state == ADMIT_DELIVERING);
	test_ask(&t2, 0, 0);
	UNIT_ASSERT(t2.t.state == ADMIT_WAITING);
	test_turn();
	UNIT_ASSERT_INT_EQ(t1.ncalls, 1);
	UNIT_ASSERT_INT_EQ(t1.verdict, ADMIT_GRANTED);
	UNIT_ASSERT(t1.t.slot != 0);
	UNIT_ASSERT_INT_EQ(t2.ncalls, 0);
	UNIT_ASSERT_INT_EQ(test_status("in_flight"), 1);
	provider_release(prov, &t1.t, 0);
	UNIT_ASSERT(t1.t.slot == 0);
	UNIT_ASSERT_INT_EQ(t2.ncalls, 0);
	test_turn_until(&t2);
	UNIT_ASSERT_INT_EQ(t2.verdict, ADMIT_GRANTED);
	UNIT_ASSERT(t2.t.slot != 0);
	provider_release(prov, &t2.t, 0);
	test_teardown();
}

/*
 * A ticket withdrawn while its grant is being delivered is never called
 * and its slot goes to the ticket that waited for it.
 */
static void
test_withdraw_delivering(void)
{
	struct test_ticket	t1, t2;
	int			i;

	test_setup("max_concurrent = 1;");
	test_ask(&t1, 0, 0);
	test_ask(&t2, 0, 0);
	UNIT_ASSERT(t1.t.state == ADMIT_DELIVERING && t1.t.slot != 0);
	provider_withdraw(prov, &t1.t);
	UNIT_ASSERT(t1.t.state == ADMIT_IDLE && t1.t.slot == 0);
	test_turn_until(&t2);
	UNIT_ASSERT_INT_EQ(t2.verdict, ADMIT_GRANTED);
	for (i = 0; i < TEST_TURNS; i++)
		test_turn();
	UNIT_ASSERT_INT_EQ(t1.ncalls, 0);
	UNIT_ASSERT_INT_EQ(test_status("in_flight"), 1);
	provider_release(prov, &t2.t, 0);
	test_teardown();
}

/* Slots have distinct ids; each released once, nothing is in flight. */
static void
test_slot_ids(void)
{
	struct test_ticket	tt[TEST_TICKETS];
	size_t			i, j;

	test_setup("");
	for (i = 0; i < TEST_TICKETS; i++)
		test_ask(&tt[i], 0, 0);
	test_turn();
	for (i = 0; i < TEST_TICKETS; i++) {
		UNIT_ASSERT_INT_EQ(tt[i].ncalls, 1);
		UNIT_ASSERT_INT_EQ(tt[i].verdict, ADMIT_GRANTED);
		UNIT_ASSERT(tt[i].t.slot != 0);
		for (j = 0; j < i; j++)
			UNIT_ASSERT(tt[i].t.slot != tt[j].t.slot);
	}
	UNIT_ASSERT_INT_EQ(test_status("in_flight"), TEST_TICKETS);
	for (i = 0; i < TEST_TICKETS; i++)
		provider_release(prov, &tt[i].t, 0);
	test_teardown();
}

/*
 * A full queue refuses on the next turn with a Retry-After of at least a
 * second; a retry at the front is never refused for it; a refusal
 * withdrawn on its way is never called.
 */
static void
test_queue_full(void)
{
	struct test_ticket	t1, t2, t3, t4, t5;

	test_setup("max_concurrent = 1; queue_max = 1;");
	test_ask(&t1, 0, 0);
	test_ask(&t2, 0, 0);
	test_ask(&t3, 0, 0);
	test_ask(&t4, 0, 1);
	test_ask(&t5, 0, 0);
	UNIT_ASSERT(t4.t.state == ADMIT_WAITING);
	UNIT_ASSERT(t5.t.state == ADMIT_DELIVERING);
	provider_withdraw(prov, &t5.t);
	test_turn();
	UNIT_ASSERT_INT_EQ(t3.ncalls, 1);
	UNIT_ASSERT_INT_EQ(t3.verdict, ADMIT_FULL);
	UNIT_ASSERT(t3.t.retry_ms >= 1000);
	UNIT_ASSERT(t3.t.slot == 0);
	UNIT_ASSERT_INT_EQ(t5.ncalls, 0);
	UNIT_ASSERT_INT_EQ(t2.ncalls + t4.ncalls, 0);
	UNIT_ASSERT_INT_EQ(test_status("queued"), 2);
	provider_withdraw(prov, &t4.t);
	provider_withdraw(prov, &t2.t);
	provider_release(prov, &t1.t, 0);
	test_turn();
	UNIT_ASSERT_INT_EQ(t2.ncalls + t4.ncalls, 0);
	test_teardown();
}

/* An estimate above the token bucket is refused on the next turn. */
static void
test_too_large(void)
{
	struct test_ticket	tt;

	test_setup("tokens_per_minute = 1000;");
	test_ask(&tt, 1001, 0);
	test_turn();
	UNIT_ASSERT_INT_EQ(tt.ncalls, 1);
	UNIT_ASSERT_INT_EQ(tt.verdict, ADMIT_TOO_LARGE);
	UNIT_ASSERT(tt.t.slot == 0);
	test_teardown();
}

/*
 * Retry-After against a request bucket of one that refills every 2 s:
 * with one waiting, two requests must be paid for, 4 s after the first
 * took the only one; alone, 2 s.  Within a few ms of the truth.
 */
static void
test_retry_after(void)
{
	struct test_ticket	t1, t2;
	struct admit_ticket	probe;	/* a request like them, of 0 tokens */
	uint64_t		before, after, ms;

	memset(&probe, 0, sizeof probe);
	test_setup("requests_per_minute = 30; burst = 1;");
	before = clock_now_ms();
	test_ask(&t1, 0, 0);
	test_ask(&t2, 0, 0);
	UNIT_ASSERT(t2.t.state == ADMIT_WAITING);
	ms = provider_retry_after_ms(prov, &probe);
	after = clock_now_ms();
	UNIT_ASSERT(ms <= 4000 && ms + (after - before) + 5 >= 4000);
	provider_withdraw(prov, &t2.t);
	ms = provider_retry_after_ms(prov, &probe);
	after = clock_now_ms();
	UNIT_ASSERT(ms <= 2000 && ms + (after - before) + 5 >= 2000);
	test_turn();
	UNIT_ASSERT_INT_EQ(t1.verdict, ADMIT_GRANTED);
	provider_release(prov, &t1.t, 0);
	test_teardown();
}

int
main(void)
{
	static const struct unit_test	tests[] = {
		{ "decided_later", test_decided_later },
		{ "withdraw_delivering", test_withdraw_delivering },
		{ "slot_ids", test_slot_ids },
		{ "queue_full", test_queue_full },
		{ "too_large", test_too_large },
		{ "retry_after", test_retry_after }
	};

	log_set_level(LOG_LEVEL_WARN);
	return unit_main(tests, sizeof tests / sizeof tests[0]);
}
