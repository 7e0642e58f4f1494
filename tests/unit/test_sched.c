/* SPDX-License-Identifier: ISC */
/*
 * test_sched: admission over a provider's limiter and its model groups'
 * (sched.c), on a simulated clock: both limiters or neither, a head held
 * back by its group never holds up another group, turns between groups at
 * the provider's limits, each group's rate held exactly while two run at
 * once, and the group's own queue bound.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "limiter.h"
#include "queue.h"
#include "sched.h"
#include "unit.h"

#define TEST_TICKETS	400

/* The order in which tickets were admitted, and when. */
struct test_log {
	int		admitted[TEST_TICKETS];
	uint64_t	at_ms[TEST_TICKETS];
	size_t		nadmitted;
	uint64_t	now_ms;
};

struct test_ticket {
	struct queue_ticket	 t;
	int			 id;
	struct test_log		*log;
};

static void	test_admitted_cb(struct queue_ticket *t, void *arg);
static void	test_too_large_cb(struct queue_ticket *t, void *arg);
static void	test_ticket_init(struct test_ticket *tt, int id,
		    int64_t tokens, struct test_log *log);
static struct sched_lane *test_lane(struct sched *s, int64_t rpm,
		    int64_t burst, int64_t tpm, int64_t conc);
static void	test_both_or_neither(void);
static void	test_group_wait_holds_no_other(void);
static void	test_turns_at_provider_limits(void);
static void	test_two_group_rates(void);
static void	test_group_queue_max(void);
static void	test_too_large_for_group(void);
static void	test_release_gives_back_both(void);

/* sched: record an admission. */
static void
test_admitted_cb(struct queue_ticket *t, void *arg)
{
	struct test_ticket	*tt = arg;

	tt->log->at_ms[tt->log->nadmitted] = tt->log->now_ms;
	tt->log->admitted[tt->log->nadmitted++] = tt->id;
}

/* sched: a refusal for size is not expected here. */
static void
test_too_large_cb(struct queue_ticket *t, void *arg)
{
	UNIT_ASSERT(0);
}

/* Make ticket id, costing tokens, that logs into log. */
static void
test_ticket_init(struct test_ticket *tt, int id, int64_t tokens,
    struct test_log *log)
{
	memset(tt, 0, sizeof *tt);
	tt->t.tokens = tokens;
	tt->t.admitted = test_admitted_cb;
	tt->t.too_large = test_too_large_cb;
	tt->t.arg = tt;
	tt->id = id;
	tt->log = log;
}

/* Add a group lane with these limits at t = 0. */
static struct sched_lane *
test_lane(struct sched *s, int64_t rpm, int64_t burst, int64_t tpm,
    int64_t conc)
{
	struct limiter_limits	l = { rpm, burst, tpm, conc };

	return sched_add_lane(s, &l, 0);
}

/*
 * A request whose group agrees but whose provider does not takes
 * nothing from its group: its bucket and slot stay for later.
 */
static void
test_both_or_neither(void)
{
	struct limiter_limits	 pl = { 0, 1, 0, 1 };
	struct limiter		*lm = limiter_new(&pl, 0);
	struct limiter_state	 st;
	struct test_ticket	 a, b;
	struct test_log		 log;
	struct sched		 s;
	struct sched_lane	*g;
	uint64_t		 wait;
	size_t			 n;

	memset(&log, 0, sizeof log);
	sched_init(&s, lm);
	g = test_lane(&s, 60, 1, 0, 5);
	test_ticket_init(&a, 1, 0, &log);
	test_ticket_init(&b, 2, 0, &log);
	UNIT_ASSERT_INT_EQ(sched_submit(&s, s.lanes[0], &a.t, 0, 100, 0,
	    &wait), QUEUE_ADMIT);
	UNIT_ASSERT_INT_EQ(sched_submit(&s, g, &b.t, 0, 100, 0, &wait),
	    QUEUE_QUEUED);
	UNIT_ASSERT(sched_pump(&s, 0, &n) == LIMITER_WAIT_FOR_RELEASE);
	limiter_state(g->lm, 0, &st);
	UNIT_ASSERT_INT_EQ(st.in_flight, 0);
	UNIT_ASSERT(st.requests == 1.0);	/* untouched */
	sched_release(&s, s.lanes[0]);
	sched_pump(&s, 0, &n);
	UNIT_ASSERT_INT_EQ(n, 1);
	limiter_state(g->lm, 0, &st);
	UNIT_ASSERT_INT_EQ(st.in_flight, 1);
	UNIT_ASSERT(st.requests == 0.0);
	sched_free(&s);
	limiter_free(lm);
}

/* A head waiting on its group's bucket lets another group's pass. */
static void
test_group_wait_holds_no_other(void)
{
	struct limiter_limits	 pl = { 0, 1, 0, 0 };
	struct limiter		*lm = limiter_new(&pl, 0);
	struct test_ticket	 a1, a2, b1, c1;
	struct test_log		 log;
	struct sched		 s;
	struct sched_lane	*ga, *gb;
	uint64_t		 wait;
	size_t			 n;

	memset(&log, 0, sizeof log);
	sched_init(&s, lm);
	ga = test_lane(&s, 60, 1, 0, 0);
	gb = test_lane(&s, 60, 1, 0, 0);
	test_ticket_init(&a1, 1, 0, &log);
	test_ticket_init(&a2, 2, 0, &log);
	test_ticket_init(&b1, 3, 0, &log);
	test_ticket_init(&c1, 4, 0, &log);
	UNIT_ASSERT_INT_EQ(sched_submit(&s, ga, &a1.t, 0, 100, 0, &wait),
	    QUEUE_ADMIT);
	UNIT_ASSERT_INT_EQ(sched_submit(&s, ga, &a2.t, 0, 100, 0, &wait),
	    QUEUE_QUEUED);
	UNIT_ASSERT_INT_EQ(sched_submit(&s, gb, &b1.t, 0, 100, 0, &wait),
	    QUEUE_QUEUED);
	UNIT_ASSERT_INT_EQ(sched_submit(&s, s.lanes[0], &c1.t, 0, 100, 0,
	    &wait), QUEUE_QUEUED);
	UNIT_ASSERT_INT_EQ(sched_pump(&s, 0, &n), 1000);
	UNIT_ASSERT_INT_EQ(n, 2);
	UNIT_ASSERT_INT_EQ(log.nadmitted, 2);
	UNIT_ASSERT(log.admitted[0] != 2 && log.admitted[1] != 2);
	UNIT_ASSERT_INT_EQ(s.n, 1);
	UNIT_ASSERT_INT_EQ(sched_pump(&s, 999, &n), 1);
	UNIT_ASSERT_INT_EQ(sched_pump(&s, 1000, &n), 0);
	UNIT_ASSERT_INT_EQ(log.admitted[2], 2);
	sched_free(&s);
	limiter_free(lm);
}

/*
 * At the provider's rate, with both groups' heads ready, the groups take
 * turns: neither starves the other, however many the first has waiting.
 */
static void
test_turns_at_provider_limits(void)
{
	struct limiter_limits	 pl = { 60, 1, 0, 0 };
	struct limiter		*lm = limiter_new(&pl, 0);
	struct test_ticket	 tt[12];
	struct test_log		 log;
	struct sched		 s;
	struct sched_lane	*ga, *gb;
	uint64_t		 wait, t;
	size_t			 i, n;

	memset(&log, 0, sizeof log);
	sched_init(&s, lm);
	ga = test_lane(&s, 0, 1, 0, 100);
	gb = test_lane(&s, 0, 1, 0, 100);
	for (i = 0; i < 12; i++) {
		test_ticket_init(&tt[i], i < 8 ? 0 : 1, 0, &log);
		sched_submit(&s, i < 8 ? ga : gb, &tt[i].t, 0, 100, 0, &wait);
	}
	for (t = 0; t <= 8000; t += 1000) {
		log.now_ms = t;
		UNIT_ASSERT_INT_EQ(sched_pump(&s, t, &n), 1000);
	}
	/* a at once (submit), then one a second, taking turns: b a b a .. */
	UNIT_ASSERT_INT_EQ(log.nadmitted, 8);
	for (i = 0; i < 8; i++)
		UNIT_ASSERT_INT_EQ(log.admitted[i], i % 2 == 0 ? 1 : 0);
	for (i = 0; i < 12; i++)
		sched_withdraw(&s, i < 8 ? ga : gb, &tt[i].t);
	UNIT_ASSERT_INT_EQ(s.n, 0);
	sched_free(&s);
	limiter_free(lm);
}

/*
 * Two groups at 120 a minute, burst 1, under sustained demand for a
 * simulated minute: each gets exactly R + B, never two within 500 ms.
 */
static void
test_two_group_rates(void)
{
	static struct test_ticket tt[TEST_TICKETS];
	struct limiter_limits	 pl = { 0, 1, 0, 0 };
	struct limiter		*lm = limiter_new(&pl, 0);
	struct test_log		 log;
	struct sched		 s;
	struct sched_lane	*g[2];
	uint64_t		 wait, t = 0, last[2] = { 0, 0 };
	size_t			 i, n, count[2] = { 1, 1 };	/* at once */
	int			 k;

	memset(&log, 0, sizeof log);
	sched_init(&s, lm);
	g[0] = test_lane(&s, 120, 1, 0, 0);
	g[1] = test_lane(&s, 120, 1, 0, 0);
	for (i = 0; i < 300; i++) {
		test_ticket_init(&tt[i], (int)(i % 2), 0, &log);
		sched_submit(&s, g[i % 2], &tt[i].t, 0, 1000, 0, &wait);
	}
	while (t <= 60000) {
		log.now_ms = t;
		wait = sched_pump(&s, t, &n);
		UNIT_ASSERT(wait > 0 && wait != LIMITER_WAIT_FOR_RELEASE);
		t += wait;
	}
	for (i = 0; i < log.nadmitted; i++) {
		k = log.admitted[i];
		if (count[k]++ > 0)
			UNIT_ASSERT(log.at_ms[i] - last[k] >= 500);
		last[k] = log.at_ms[i];
	}
	UNIT_ASSERT_INT_EQ(count[0], 121);
	UNIT_ASSERT_INT_EQ(count[1], 121);
	sched_free(&s);
	limiter_free(lm);
}

/* A group's own queue_max refuses its requests, not another group's. */
static void
test_group_queue_max(void)
{
	struct limiter_limits	 pl = { 0, 1, 0, 0 };
	struct limiter		*lm = limiter_new(&pl, 0);
	struct test_ticket	 tt[4];
	struct test_log		 log;
	struct sched		 s;
	struct sched_lane	*ga, *gb;
	uint64_t		 wait;
	int			 i;

	memset(&log, 0, sizeof log);
	sched_init(&s, lm);
	ga = test_lane(&s, 0, 1, 0, 1);
	gb = test_lane(&s, 0, 1, 0, 1);
	ga->max = 1;
	for (i = 0; i < 4; i++)
		test_ticket_init(&tt[i], i, 0, &log);
	UNIT_ASSERT_INT_EQ(sched_submit(&s, ga, &tt[0].t, 0, 100, 0, &wait),
	    QUEUE_ADMIT);
	UNIT_ASSERT_INT_EQ(sched_submit(&s, ga, &tt[1].t, 0, 100, 0, &wait),
	    QUEUE_QUEUED);
	UNIT_ASSERT_INT_EQ(sched_submit(&s, ga, &tt[2].t, 0, 100, 0, &wait),
	    QUEUE_FULL);
	UNIT_ASSERT_INT_EQ(sched_submit(&s, gb, &tt[3].t, 0, 100, 0, &wait),
	    QUEUE_QUEUED);
	UNIT_ASSERT_INT_EQ(s.n, 2);
	UNIT_ASSERT_INT_EQ(sched_withdraw(&s, ga, &tt[1].t), 1);
	UNIT_ASSERT_INT_EQ(s.n, 1);
	sched_withdraw(&s, gb, &tt[3].t);
	sched_free(&s);
	limiter_free(lm);
}

/* An estimate above the group's token bucket is refused at once. */
static void
test_too_large_for_group(void)
{
	struct limiter_limits	 pl = { 0, 1, 100000, 0 };
	struct limiter		*lm = limiter_new(&pl, 0);
	struct test_ticket	 a;
	struct test_log		 log;
	struct sched		 s;
	struct sched_lane	*g;
	uint64_t		 wait;

	memset(&log, 0, sizeof log);
	sched_init(&s, lm);
	g = test_lane(&s, 0, 1, 1000, 0);
	test_ticket_init(&a, 1, 1001, &log);
	UNIT_ASSERT_INT_EQ(sched_submit(&s, g, &a.t, 0, 100, 0, &wait),
	    QUEUE_TOO_LARGE);
	UNIT_ASSERT_INT_EQ(sched_submit(&s, s.lanes[0], &a.t, 0, 100, 0,
	    &wait), QUEUE_ADMIT);
	sched_free(&s);
	limiter_free(lm);
}

/* Releasing and refunding a group's request gives back both limiters. */
static void
test_release_gives_back_both(void)
{
	struct limiter_limits	 pl = { 60, 2, 6000, 2 };
	struct limiter		*lm = limiter_new(&pl, 0);
	struct limiter_state	 st;
	struct test_ticket	 a;
	struct test_log		 log;
	struct sched		 s;
	struct sched_lane	*g;
	uint64_t		 wait;

	memset(&log, 0, sizeof log);
	sched_init(&s, lm);
	g = test_lane(&s, 60, 2, 6000, 2);
	test_ticket_init(&a, 1, 100, &log);
	UNIT_ASSERT_INT_EQ(sched_submit(&s, g, &a.t, 0, 100, 0, &wait),
	    QUEUE_ADMIT);
	sched_release(&s, g);
	sched_refund(&s, g, 100, 1, 0);
	limiter_state(g->lm, 0, &st);
	UNIT_ASSERT(st.in_flight == 0 && st.requests == 2.0 &&
	    st.tokens == 6000.0);
	limiter_state(lm, 0, &st);
	UNIT_ASSERT(st.in_flight == 0 && st.requests == 2.0 &&
	    st.tokens == 6000.0);
	sched_free(&s);
	limiter_free(lm);
}

static const struct unit_test tests[] = {
	{ "both limiters or neither", test_both_or_neither },
	{ "a group's wait holds no other", test_group_wait_holds_no_other },
	{ "turns at the provider's limits", test_turns_at_provider_limits },
	{ "two groups' rates exact", test_two_group_rates },
	{ "a group's queue_max", test_group_queue_max },
	{ "too large for the group", test_too_large_for_group },
	{ "release gives back both", test_release_gives_back_both },
};

int
main(void)
{
	return unit_main(tests, sizeof tests / sizeof tests[0]);
}
