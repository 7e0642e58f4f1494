/* SPDX-License-Identifier: ISC */
/*
 * test_queue: queue.c's order of admission over a real limiter on a
 * simulated clock: FIFO order, no overtaking of a large head, retries at
 * the head, the queue bound, withdrawal (a client gone) and what it gives
 * back, a head that a reload made too large; and between clients (SPEC
 * 11): shares by weight, a lone request's wait, batch behind interactive.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "limiter.h"
#include "queue.h"
#include "unit.h"

#define TEST_TICKETS	16
#define TEST_MANY	1200	/* tickets of the fairness cases */

/* The order in which tickets were admitted or refused. */
struct test_log {
	int	admitted[TEST_TICKETS];
	size_t	nadmitted;
	int	too_large[TEST_TICKETS];
	size_t	ntoo_large;
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
static struct limiter *test_limiter(int64_t rpm, int64_t burst, int64_t tpm,
		    int64_t conc);
static void	test_fifo_order(void);
static void	test_large_head_not_overtaken(void);
static void	test_retry_goes_first(void);
static void	test_queue_full(void);
static void	test_withdraw_gives_back(void);
static void	test_withdraw_head_lets_next(void);
static void	test_too_large(void);
static void	test_reload_makes_head_too_large(void);
static void	test_weights_share(void);
static void	test_lone_request_one_round(void);
static void	test_batch_yields(void);
static void	test_client_large_head_bounded(void);

/* queue: record an admission. */
static void
test_admitted_cb(struct queue_ticket *t, void *arg)
{
	struct test_ticket	*tt = arg;

	tt->log->admitted[tt->log->nadmitted++] = tt->id;
}

/* queue: record a refusal for size. */
static void
test_too_large_cb(struct queue_ticket *t, void *arg)
{
	struct test_ticket	*tt = arg;

	tt->log->too_large[tt->log->ntoo_large++] = tt->id;
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

/* Return a limiter with these limits at t = 0. */
static struct limiter *
test_limiter(int64_t rpm, int64_t burst, int64_t tpm, int64_t conc)
{
	struct limiter_limits	l = { rpm, burst, tpm, conc };

	return limiter_new(&l, 0);
}

/* Waiting requests are admitted in the order they came, one per release. */
static void
test_fifo_order(void)
{
	struct test_ticket	 tt[6];
	struct test_log		 log;
	struct queue		 q;
	struct limiter		*lm = test_limiter(0, 1, 0, 1);
	uint64_t		 wait;
	size_t			 i, n;

	memset(&log, 0, sizeof log);
	queue_init(&q);
	for (i = 0; i < 6; i++)
		test_ticket_init(&tt[i], (int)i, 0, &log);
	UNIT_ASSERT_INT_EQ(queue_submit(&q, lm, &tt[0].t, 0, 100, 0, &wait),
	    QUEUE_ADMIT);
	for (i = 1; i < 6; i++) {
		UNIT_ASSERT_INT_EQ(queue_submit(&q, lm, &tt[i].t, 0, 100, 0,
		    &wait), QUEUE_QUEUED);
	}
	UNIT_ASSERT_INT_EQ(q.n, 5);
	for (i = 1; i < 6; i++) {
		/* Nothing moves until a slot is released. */
		UNIT_ASSERT(queue_pump(&q, lm, 0, &n) ==
		    LIMITER_WAIT_FOR_RELEASE);
		UNIT_ASSERT_INT_EQ(n, 0);
		limiter_release(lm);
		queue_pump(&q, lm, 0, &n);
		UNIT_ASSERT_INT_EQ(n, 1);
	}
	UNIT_ASSERT_INT_EQ(log.nadmitted, 5);
	for (i = 0; i < 5; i++)
		UNIT_ASSERT_INT_EQ(log.admitted[i], (int)i + 1);
	UNIT_ASSERT_INT_EQ(q.n, 0);
	limiter_free(lm);
}

/*
 * A large request at the head waits for the token bucket to refill, and
 * the small ones behind it, which would fit, wait behind it.
 */
static void
test_large_head_not_overtaken(void)
{
	struct test_ticket	 big, small[3], first;
	struct test_log		 log;
	struct queue		 q;
	struct limiter		*lm = test_limiter(0, 1, 6000, 0);
	uint64_t		 wait, next;
	size_t			 i, n;

	memset(&log, 0, sizeof log);
	queue_init(&q);
	test_ticket_init(&first, 9, 5000, &log);
	test_ticket_init(&big, 0, 6000, &log);
	UNIT_ASSERT_INT_EQ(queue_submit(&q, lm, &first.t, 0, 10, 0, &wait),
	    QUEUE_ADMIT);			/* 1000 tokens left */
	UNIT_ASSERT_INT_EQ(queue_submit(&q, lm, &big.t, 0, 10, 0, &wait),
	    QUEUE_QUEUED);
	for (i = 0; i < 3; i++) {
		test_ticket_init(&small[i], (int)i + 1, 10, &log);
		UNIT_ASSERT_INT_EQ(queue_submit(&q, lm, &small[i].t, 0, 10, 0,
		    &wait), QUEUE_QUEUED);
	}
	/* 5000 more tokens at 100 per second: 50 s. */
	next = queue_pump(&q, lm, 1000, &n);
	UNIT_ASSERT_INT_EQ(n, 0);
	UNIT_ASSERT_INT_EQ(next, 49000);
	queue_pump(&q, lm, 49999, &n);
	UNIT_ASSERT_INT_EQ(n, 0);		/* the small ones still wait */
	queue_pump(&q, lm, 50000, &n);
	UNIT_ASSERT_INT_EQ(n, 1);
	UNIT_ASSERT_INT_EQ(log.admitted[0], 0);
	queue_pump(&q, lm, 50100, &n);		/* 10 tokens per 100 ms */
	UNIT_ASSERT_INT_EQ(log.nadmitted, 2);
	UNIT_ASSERT_INT_EQ(log.admitted[1], 1);
	queue_withdraw(&q, &small[1].t);
	queue_withdraw(&q, &small[2].t);
	UNIT_ASSERT_INT_EQ(q.n, 0);
	limiter_free(lm);
}

/* A retry enters at the head, before requests that waited longer. */
static void
test_retry_goes_first(void)
{
	struct test_ticket	 a, b, retry;
	struct test_log		 log;
	struct queue		 q;
	struct limiter		*lm = test_limiter(0, 1, 0, 1);
	uint64_t		 wait;
	size_t			 n;

	memset(&log, 0, sizeof log);
	queue_init(&q);
	test_ticket_init(&a, 1, 0, &log);
	test_ticket_init(&b, 2, 0, &log);
	test_ticket_init(&retry, 3, 0, &log);
	UNIT_ASSERT_INT_EQ(queue_submit(&q, lm, &a.t, 0, 1, 0, &wait),
	    QUEUE_ADMIT);
	UNIT_ASSERT_INT_EQ(queue_submit(&q, lm, &b.t, 0, 1, 0, &wait),
	    QUEUE_QUEUED);
	/* The queue is full (max 1), but a retry is never refused. */
	UNIT_ASSERT_INT_EQ(queue_submit(&q, lm, &retry.t, 1, 1, 0, &wait),
	    QUEUE_QUEUED);
	limiter_release(lm);
	queue_pump(&q, lm, 0, &n);
	UNIT_ASSERT_INT_EQ(n, 1);
	UNIT_ASSERT_INT_EQ(log.admitted[0], 3);
	queue_withdraw(&q, &b.t);
	limiter_free(lm);
}

/* Beyond max waiting requests, a new one is refused; max 0 queues none. */
static void
test_queue_full(void)
{
	struct test_ticket	 tt[4];
	struct test_log		 log;
	struct queue		 q;
	struct limiter		*lm = test_limiter(0, 1, 0, 1);
	uint64_t		 wait;
	size_t			 i;

	memset(&log, 0, sizeof log);
	queue_init(&q);
	for (i = 0; i < 4; i++)
		test_ticket_init(&tt[i], (int)i, 0, &log);
	UNIT_ASSERT_INT_EQ(queue_submit(&q, lm, &tt[0].t, 0, 2, 0, &wait),
	    QUEUE_ADMIT);
	UNIT_ASSERT_INT_EQ(queue_submit(&q, lm, &tt[1].t, 0, 2, 0, &wait),
	    QUEUE_QUEUED);
	UNIT_ASSERT_INT_EQ(queue_submit(&q, lm, &tt[2].t, 0, 2, 0, &wait),
	    QUEUE_QUEUED);
	UNIT_ASSERT_INT_EQ(queue_submit(&q, lm, &tt[3].t, 0, 2, 0, &wait),
	    QUEUE_FULL);
	UNIT_ASSERT(!tt[3].t.queued);
	queue_withdraw(&q, &tt[1].t);
	queue_withdraw(&q, &tt[2].t);
	UNIT_ASSERT_INT_EQ(queue_submit(&q, lm, &tt[3].t, 0, 0, 0, &wait),
	    QUEUE_FULL);
	UNIT_ASSERT_INT_EQ(wait, LIMITER_WAIT_FOR_RELEASE);
	limiter_free(lm);
}

/*
 * A request that leaves while waiting takes nothing with it: the buckets
 * are as if it never came, and the one behind it gets its turn.
 */
static void
test_withdraw_gives_back(void)
{
	struct test_ticket	 a, b, c;
	struct test_log		 log;
	struct queue		 q;
	struct limiter		*lm = test_limiter(60, 2, 1000, 0);
	struct limiter_state	 st;
	uint64_t		 wait;
	size_t			 n;

	memset(&log, 0, sizeof log);
	queue_init(&q);
	test_ticket_init(&a, 1, 900, &log);
	test_ticket_init(&b, 2, 500, &log);
	test_ticket_init(&c, 3, 50, &log);
	UNIT_ASSERT_INT_EQ(queue_submit(&q, lm, &a.t, 0, 9, 0, &wait),
	    QUEUE_ADMIT);
	UNIT_ASSERT_INT_EQ(queue_submit(&q, lm, &b.t, 0, 9, 0, &wait),
	    QUEUE_QUEUED);
	UNIT_ASSERT_INT_EQ(queue_submit(&q, lm, &c.t, 0, 9, 0, &wait),
	    QUEUE_QUEUED);
	UNIT_ASSERT_INT_EQ(queue_withdraw(&q, &b.t), 1);	/* the head */
	UNIT_ASSERT_INT_EQ(queue_withdraw(&q, &b.t), 0);	/* once */
	limiter_state(lm, 0, &st);
	UNIT_ASSERT(st.tokens > 99.9 && st.tokens < 100.1);
	UNIT_ASSERT(st.requests > 0.99 && st.requests < 1.01);
	queue_pump(&q, lm, 0, &n);
	UNIT_ASSERT_INT_EQ(n, 1);
	UNIT_ASSERT_INT_EQ(log.admitted[0], 3);
	queue_withdraw(&q, &b.t);
	limiter_free(lm);
}

/* Withdrawing from the middle leaves the order of the rest alone. */
static void
test_withdraw_head_lets_next(void)
{
	struct test_ticket	 tt[4];
	struct test_log		 log;
	struct queue		 q;
	struct limiter		*lm = test_limiter(0, 1, 0, 1);
	uint64_t		 wait;
	size_t			 i, n;

	memset(&log, 0, sizeof log);
	queue_init(&q);
	for (i = 0; i < 4; i++) {
		test_ticket_init(&tt[i], (int)i, 0, &log);
		queue_submit(&q, lm, &tt[i].t, 0, 9, 0, &wait);
	}
	UNIT_ASSERT_INT_EQ(queue_withdraw(&q, &tt[2].t), 0);
	for (i = 0; i < 2; i++) {
		limiter_release(lm);
		queue_pump(&q, lm, 0, &n);
	}
	UNIT_ASSERT_INT_EQ(log.nadmitted, 2);
	UNIT_ASSERT_INT_EQ(log.admitted[0], 1);
	UNIT_ASSERT_INT_EQ(log.admitted[1], 3);
	limiter_free(lm);
}

/* A request larger than the bucket is refused at once, never queued. */
static void
test_too_large(void)
{
	struct test_ticket	 a, big;
	struct test_log		 log;
	struct queue		 q;
	struct limiter		*lm = test_limiter(0, 1, 1000, 1);
	uint64_t		 wait;

	memset(&log, 0, sizeof log);
	queue_init(&q);
	test_ticket_init(&a, 1, 10, &log);
	test_ticket_init(&big, 2, 1001, &log);
	UNIT_ASSERT_INT_EQ(queue_submit(&q, lm, &a.t, 0, 9, 0, &wait),
	    QUEUE_ADMIT);
	UNIT_ASSERT_INT_EQ(queue_submit(&q, lm, &big.t, 0, 9, 0, &wait),
	    QUEUE_TOO_LARGE);
	UNIT_ASSERT_INT_EQ(q.n, 0);
	limiter_free(lm);
}

/* A reload that shrinks the bucket refuses a head that can never fit. */
static void
test_reload_makes_head_too_large(void)
{
	struct limiter_limits	 smaller = { 0, 1, 100, 1 };
	struct test_ticket	 a, b, c;
	struct test_log		 log;
	struct queue		 q;
	struct limiter		*lm = test_limiter(0, 1, 1000, 1);
	uint64_t		 wait;
	size_t			 n;

	memset(&log, 0, sizeof log);
	queue_init(&q);
	test_ticket_init(&a, 1, 10, &log);
	test_ticket_init(&b, 2, 500, &log);
	test_ticket_init(&c, 3, 10, &log);
	queue_submit(&q, lm, &a.t, 0, 9, 0, &wait);
	queue_submit(&q, lm, &b.t, 0, 9, 0, &wait);
	queue_submit(&q, lm, &c.t, 0, 9, 0, &wait);
	limiter_set_limits(lm, &smaller, 0);
	limiter_release(lm);
	queue_pump(&q, lm, 0, &n);
	UNIT_ASSERT_INT_EQ(log.ntoo_large, 1);
	UNIT_ASSERT_INT_EQ(log.too_large[0], 2);
	UNIT_ASSERT_INT_EQ(n, 1);
	UNIT_ASSERT_INT_EQ(log.admitted[0], 3);
	queue_withdraw(&q, &b.t);
	limiter_free(lm);
}

/* Two clients' tickets, a and b, for the fairness cases. */
struct test_pair {
	struct test_ticket	*a, *b;
	int			 na, nb;	/* admitted of each */
	int			 order[TEST_MANY];	/* 'a', 'b', 'c'... */
	size_t			 n;
};

static char	test_client_a, test_client_b, test_client_c;

/* queue: count an admission by client (the ticket's id is its client). */
static void
test_pair_cb(struct queue_ticket *t, void *arg)
{
	struct test_ticket	*tt = arg;
	struct test_pair	*pr = (struct test_pair *)(void *)tt->log;

	pr->order[pr->n++] = tt->id;
	if (tt->id == 'a')
		pr->na++;
	else if (tt->id == 'b')
		pr->nb++;
}

/* Make a ticket of client who (named by the character c) with weight. */
static void
test_client_ticket(struct test_ticket *tt, const void *who, int c,
    int weight, enum queue_priority prio, struct test_pair *pr)
{
	memset(tt, 0, sizeof *tt);
	tt->t.who = who;
	tt->t.weight = weight;
	tt->t.priority = prio;
	tt->t.admitted = test_pair_cb;
	tt->t.too_large = test_too_large_cb;
	tt->t.arg = tt;
	tt->id = c;
	tt->log = (struct test_log *)(void *)pr;
}

/*
 * Clients of weights 1 and 3, both backlogged on one slot: every 4
 * consecutive admissions hold 1 of a and 3 of b (so any 200 hold 50 and
 * 150); and once b runs out, a takes every slot.
 */
static void
test_weights_share(void)
{
	static struct test_ticket	 a[400], b[600];
	static struct test_pair		 pr;
	struct queue			 q;
	struct limiter			*lm = test_limiter(0, 1, 0, 1);
	uint64_t			 wait;
	size_t				 i, n, w;
	int				 wa;

	memset(&pr, 0, sizeof pr);
	queue_init(&q);
	for (i = 0; i < 400; i++) {
		test_client_ticket(&a[i], &test_client_a, 'a', 1,
		    QUEUE_INTERACTIVE, &pr);
		queue_submit(&q, lm, &a[i].t, 0, 2000, 0, &wait);
	}
	for (i = 0; i < 600; i++) {
		test_client_ticket(&b[i], &test_client_b, 'b', 3,
		    QUEUE_INTERACTIVE, &pr);
		UNIT_ASSERT_INT_EQ(queue_submit(&q, lm, &b[i].t, 0, 2000, 0,
		    &wait), QUEUE_QUEUED);
	}
	UNIT_ASSERT(!a[0].t.queued);		/* went at once */
	UNIT_ASSERT_INT_EQ(q.n, 999);
	for (i = 0; i < 800; i++) {
		limiter_release(lm);
		queue_pump(&q, lm, 0, &n);
		UNIT_ASSERT_INT_EQ(n, 1);
	}
	for (w = 0; w + 4 <= 800; w += 4) {
		wa = 0;
		for (i = w; i < w + 4; i++)
			wa += pr.order[i] == 'a';
		UNIT_ASSERT_INT_EQ(wa, 1);
	}
	UNIT_ASSERT_INT_EQ(pr.nb, 600);
	UNIT_ASSERT_INT_EQ(pr.na, 200);
	/* b is done: a alone, FIFO, one per release. */
	for (i = 0; i < 199; i++) {
		limiter_release(lm);
		queue_pump(&q, lm, 0, &n);
		UNIT_ASSERT_INT_EQ(n, 1);
	}
	UNIT_ASSERT_INT_EQ(pr.na, 399);
	UNIT_ASSERT_INT_EQ(q.n, 0);
	UNIT_ASSERT(TAILQ_EMPTY(&q.flows[QUEUE_INTERACTIVE]));
	limiter_free(lm);
}

/*
 * A client with 1000 waiting and one that sends a request now and then:
 * each lone request is admitted at the next release or the one after
 * (one round of two clients), never behind the backlog.
 */
static void
test_lone_request_one_round(void)
{
	static struct test_ticket	 a[1000], c[20];
	static struct test_pair		 pr;
	struct queue			 q;
	struct limiter			*lm = test_limiter(0, 1, 0, 1);
	uint64_t			 wait;
	size_t				 i, j, n, before;

	memset(&pr, 0, sizeof pr);
	queue_init(&q);
	for (i = 0; i < 1000; i++) {
		test_client_ticket(&a[i], &test_client_a, 'a', 1,
		    QUEUE_INTERACTIVE, &pr);
		queue_submit(&q, lm, &a[i].t, 0, 2000, 0, &wait);
	}
	for (j = 0; j < 20; j++) {
		test_client_ticket(&c[j], &test_client_c, 'c', 1,
		    QUEUE_INTERACTIVE, &pr);
		UNIT_ASSERT_INT_EQ(queue_submit(&q, lm, &c[j].t, 0, 2000, 0,
		    &wait), QUEUE_QUEUED);
		before = pr.n;
		for (i = 0; i < 2 && c[j].t.queued; i++) {
			limiter_release(lm);
			queue_pump(&q, lm, 0, &n);
		}
		UNIT_ASSERT(!c[j].t.queued);
		UNIT_ASSERT(pr.n - before <= 2);
		/* the backlog moves on between lone requests */
		for (i = 0; i < 3; i++) {
			limiter_release(lm);
			queue_pump(&q, lm, 0, &n);
		}
	}
	for (i = 0; i < 1000; i++)
		queue_withdraw(&q, &a[i].t);
	UNIT_ASSERT_INT_EQ(q.n, 0);
	limiter_free(lm);
}

/*
 * A batch request waits while any interactive one does, even one that
 * came later; it goes when none is left.  Retries go before both.
 */
static void
test_batch_yields(void)
{
	static struct test_ticket	 first, bat[3], inter[3], retry;
	static struct test_pair		 pr;
	struct queue			 q;
	struct limiter			*lm = test_limiter(0, 1, 0, 1);
	uint64_t			 wait;
	size_t				 i, n;

	memset(&pr, 0, sizeof pr);
	queue_init(&q);
	test_client_ticket(&first, &test_client_a, 'x', 1, QUEUE_BATCH, &pr);
	UNIT_ASSERT_INT_EQ(queue_submit(&q, lm, &first.t, 0, 10, 0, &wait),
	    QUEUE_ADMIT);
	for (i = 0; i < 3; i++) {
		test_client_ticket(&bat[i], &test_client_a, 'b', 1,
		    QUEUE_BATCH, &pr);
		queue_submit(&q, lm, &bat[i].t, 0, 10, 0, &wait);
	}
	for (i = 0; i < 3; i++) {
		test_client_ticket(&inter[i], &test_client_b, 'i', 1,
		    QUEUE_INTERACTIVE, &pr);
		queue_submit(&q, lm, &inter[i].t, 0, 10, 0, &wait);
	}
	test_client_ticket(&retry, &test_client_a, 'r', 1, QUEUE_BATCH, &pr);
	UNIT_ASSERT_INT_EQ(queue_submit(&q, lm, &retry.t, 1, 10, 0, &wait),
	    QUEUE_QUEUED);
	for (i = 0; i < 7; i++) {
		limiter_release(lm);
		queue_pump(&q, lm, 0, &n);
		UNIT_ASSERT_INT_EQ(n, 1);
	}
	UNIT_ASSERT_INT_EQ(pr.n, 7);
	UNIT_ASSERT_INT_EQ(pr.order[0], 'r');
	for (i = 1; i < 4; i++)
		UNIT_ASSERT_INT_EQ(pr.order[i], 'i');
	for (i = 4; i < 7; i++)
		UNIT_ASSERT_INT_EQ(pr.order[i], 'b');
	UNIT_ASSERT_INT_EQ(q.n, 0);
	limiter_free(lm);
}

/*
 * Client a's head is large and waits for the token bucket; client b's
 * small ones may go in b's turns, but a's head is admitted as soon as
 * the bucket holds it plus at most b's one turn: never starved.
 */
static void
test_client_large_head_bounded(void)
{
	static struct test_ticket	 big, small[50];
	static struct test_pair		 pr;
	struct queue			 q;
	struct limiter			*lm = test_limiter(0, 1, 6000, 0);
	uint64_t			 wait, t;
	size_t				 i, n;

	memset(&pr, 0, sizeof pr);
	queue_init(&q);
	test_client_ticket(&big, &test_client_a, 'a', 1, QUEUE_INTERACTIVE,
	    &pr);
	big.t.tokens = 6000;
	/* Empty the bucket: the big one waits a minute. */
	UNIT_ASSERT_INT_EQ(limiter_acquire(lm, 6000, 0, &wait),
	    LIMITER_ADMIT);
	UNIT_ASSERT_INT_EQ(queue_submit(&q, lm, &big.t, 0, 100, 0, &wait),
	    QUEUE_QUEUED);
	for (i = 0; i < 50; i++) {
		test_client_ticket(&small[i], &test_client_b, 'b', 1,
		    QUEUE_INTERACTIVE, &pr);
		small[i].t.tokens = 10;
		queue_submit(&q, lm, &small[i].t, 0, 100, 0, &wait);
	}
	/* Pump every 100 ms for 70 s. */
	for (t = 100; t <= 70000 && big.t.queued; t += 100)
		queue_pump(&q, lm, t, &n);
	UNIT_ASSERT(!big.t.queued);
	/* b took at most one turn before the big head held its place. */
	UNIT_ASSERT(pr.nb <= 1);
	UNIT_ASSERT(t <= 61000 + 100 * 2);
	for (i = 0; i < 50; i++)
		queue_withdraw(&q, &small[i].t);
	UNIT_ASSERT_INT_EQ(q.n, 0);
	limiter_free(lm);
}

static const struct unit_test tests[] = {
	{ "fifo order", test_fifo_order },
	{ "large head not overtaken", test_large_head_not_overtaken },
	{ "retry goes first", test_retry_goes_first },
	{ "queue full", test_queue_full },
	{ "withdraw gives back", test_withdraw_gives_back },
	{ "withdraw keeps order", test_withdraw_head_lets_next },
	{ "too large", test_too_large },
	{ "reload makes head too large", test_reload_makes_head_too_large },
	{ "weights 1 and 3 share 1:3", test_weights_share },
	{ "a lone request waits one round", test_lone_request_one_round },
	{ "batch yields to interactive", test_batch_yields },
	{ "a client's large head is not starved",
	  test_client_large_head_bounded },
};

int
main(void)
{
	return unit_main(tests, sizeof tests / sizeof tests[0]);
}
