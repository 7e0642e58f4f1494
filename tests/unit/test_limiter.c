/* SPDX-License-Identifier: ISC */
/*
 * test_limiter: limiter.c's arithmetic against a simulated clock.
 *
 * Covers the exact burst boundary, the achieved rate and the sliding-window
 * bound over ten simulated minutes of constant demand (SPEC 5: no 60 s
 * window above R + B, the rate within 2 % of R), the token bucket (too
 * large, debt, refunds capped at the depth), concurrency slots, cooldowns,
 * upstream "remaining" observations, reloads, and a clock that steps back.
 * It does not test the queue or the timers that provider code builds on
 * these answers.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "limiter.h"
#include "unit.h"

#define TEST_RUN_MS	600000		/* ten simulated minutes */

/* A request limit to run: R per minute, burst B. */
struct test_rate {
	int64_t	rpm;
	int64_t	burst;
};

static struct limiter	*test_new(int64_t rpm, int64_t burst, int64_t tpm,
			    int64_t conc, uint64_t now_ms);
static void		 test_burst_one(int64_t rpm, int64_t burst);
static size_t		 test_run(int64_t rpm, int64_t burst, int jump,
			    uint64_t *at, size_t max);
static int64_t		 test_window_max(const uint64_t *at, size_t n,
			    uint64_t window_ms);
static void		 test_burst_boundary(void);
static void		 test_sustained_jump(void);
static void		 test_sustained_poll(void);
static void		 test_sustained(int jump);
static uint64_t		 test_rand(uint64_t *state, uint64_t bound);
static size_t		 test_run_bursty(int64_t rpm, int64_t burst,
			    uint64_t seed, uint64_t *at, size_t max);
static void		 test_bursty(void);
static void		 test_sustained_tokens(void);
static void		 test_tokens(void);
static void		 test_token_debt(void);
static void		 test_refund(void);
static void		 test_concurrency(void);
static void		 test_concurrency_and_time(void);
static void		 test_cooldown(void);
static void		 test_observe(void);
static void		 test_set_limits(void);
static void		 test_set_limits_rate(void);
static void		 test_backwards(void);
static void		 test_off(void);

static const struct test_rate test_rates[] = {
	{ 600, 1 }, { 7, 3 }, { 100000, 50 }, { 60, 10 }, { 90000, 1 },
	{ 1, 1 }, { 59999, 7 }, { 7000, 1 }, { 45000, 1 },
	{ 120000, 2 }
};
#define TEST_NRATES	(sizeof test_rates / sizeof test_rates[0])

/* Return a limiter with the given limits at now_ms. */
static struct limiter *
test_new(int64_t rpm, int64_t burst, int64_t tpm, int64_t conc,
    uint64_t now_ms)
{
	struct limiter_limits	l;

	l.requests_per_minute = rpm;
	l.burst = burst;
	l.tokens_per_minute = tpm;
	l.max_concurrent = conc;
	return limiter_new(&l, now_ms);
}

/* Burst B admits B at once; the next waits exactly ceil(60000 / R) ms. */
static void
test_burst_one(int64_t rpm, int64_t burst)
{
	struct limiter	*lm = test_new(rpm, burst, 0, 0, 0);
	uint64_t	 wait, gap = (uint64_t)((60000 + rpm - 1) / rpm);
	int64_t		 i;

	for (i = 0; i < burst; i++) {
		UNIT_ASSERT(limiter_acquire(lm, 0, 0, &wait) == LIMITER_ADMIT);
		UNIT_ASSERT_INT_EQ(wait, 0);
	}
	UNIT_ASSERT(limiter_acquire(lm, 0, 0, &wait) == LIMITER_WAIT);
	UNIT_ASSERT_INT_EQ(wait, gap);
	if (gap > 1) {
		UNIT_ASSERT(limiter_acquire(lm, 0, gap - 1, &wait) ==
		    LIMITER_WAIT);
		UNIT_ASSERT_INT_EQ(wait, 1);
	}
	UNIT_ASSERT(limiter_acquire(lm, 0, gap, &wait) == LIMITER_ADMIT);
	limiter_free(lm);
}

/* Exact burst boundaries for every rate of the table. */
static void
test_burst_boundary(void)
{
	size_t	i;

	for (i = 0; i < TEST_NRATES; i++)
		test_burst_one(test_rates[i].rpm, test_rates[i].burst);
}

/*
 * Demand one request after another for TEST_RUN_MS: at each time admit
 * until told to wait, then jump by wait_ms (jump) or by 1 ms.  Record the
 * admission times in at; more than max fails.  Return how many there are.
 */
static size_t
test_run(int64_t rpm, int64_t burst, int jump, uint64_t *at, size_t max)
{
	struct limiter	*lm = test_new(rpm, burst, 0, 0, 0);
	uint64_t	 now = 0, wait;
	size_t		 n = 0;

	while (now < TEST_RUN_MS) {
		if (limiter_acquire(lm, 0, now, &wait) == LIMITER_ADMIT) {
			UNIT_ASSERT(n < max);
			at[n++] = now;
			limiter_release(lm);
			continue;
		}
		UNIT_ASSERT(wait >= 1 && wait != LIMITER_WAIT_FOR_RELEASE);
		now += jump ? wait : 1;
	}
	limiter_free(lm);
	return n;
}

/*
 * Return the most admissions in any window of window_ms milliseconds:
 * [t, t + window_ms) as the timestamps are whole milliseconds.
 */
static int64_t
test_window_max(const uint64_t *at, size_t n, uint64_t window_ms)
{
	size_t	i, j = 0;
	int64_t	best = 0;

	for (i = 0; i < n; i++) {
		while (j < n && at[j] < at[i] + window_ms)
			j++;
		if ((int64_t)(j - i) > best)
			best = (int64_t)(j - i);
	}
	return best;
}

/* Run every rate under constant demand and check rate and window bounds. */
static void
test_sustained(int jump)
{
	const struct test_rate	*r;
	uint64_t		*at;
	size_t			 i, n, max;
	int64_t			 cap, win;

	for (i = 0; i < TEST_NRATES; i++) {
		r = &test_rates[i];
		cap = r->rpm * (TEST_RUN_MS / 60000) + r->burst;
		max = (size_t)cap + 1;
		at = calloc(max, sizeof *at);
		UNIT_ASSERT(at != NULL);
		n = test_run(r->rpm, r->burst, jump, at, max);
		win = test_window_max(at, n, 60000);
		printf("# %s R=%lld B=%lld: %zu admitted in 10 min (%.4f of "
		    "10R), busiest 60 s window %lld (R+B=%lld)\n",
		    jump ? "jump" : "poll", (long long)r->rpm,
		    (long long)r->burst, n, (double)n / (double)(r->rpm * 10),
		    (long long)win, (long long)(r->rpm + r->burst));
		free(at);
		UNIT_ASSERT((int64_t)n <= cap);
		UNIT_ASSERT((double)n >= 0.98 * (double)(r->rpm * 10));
		UNIT_ASSERT(win <= r->rpm + r->burst);
	}
}

/* Constant demand that sleeps exactly as long as told. */
static void
test_sustained_jump(void)
{
	test_sustained(1);
}

/* Constant demand that asks again every millisecond. */
static void
test_sustained_poll(void)
{
	test_sustained(0);
}

/* Return a pseudo-random number below bound (xorshift64). */
static uint64_t
test_rand(uint64_t *state, uint64_t bound)
{
	*state ^= *state << 13;
	*state ^= *state >> 7;
	*state ^= *state << 17;
	return *state % bound;
}

/*
 * Demand in random bursts for TEST_RUN_MS: idle spells (long enough for
 * the bucket to fill, and overshoot, or not), then busy spells of up to
 * 90 s that take everything offered.  Check at every admission that the
 * total so far is within burst + rate * time.  Record times as test_run()
 * does.
 */
static size_t
test_run_bursty(int64_t rpm, int64_t burst, uint64_t seed, uint64_t *at,
    size_t max)
{
	struct limiter	*lm = test_new(rpm, burst, 0, 0, 0);
	uint64_t	 now = 0, wait, busy_until = 0, gap;
	size_t		 n = 0;

	gap = (uint64_t)(60000 / rpm) + 2;
	while (now < TEST_RUN_MS) {
		if (now >= busy_until) {
			now += test_rand(&seed, 2 * gap * (uint64_t)burst + 2);
			busy_until = now + 1 + test_rand(&seed, 90000);
		}
		if (limiter_acquire(lm, 0, now, &wait) == LIMITER_ADMIT) {
			if (n < max)
				at[n] = now;
			n++;
			UNIT_ASSERT((int64_t)n * 60000 <= burst * 60000 +
			    rpm * (int64_t)now);
			continue;
		}
		now += test_rand(&seed, 2) ? wait : 1;
	}
	limiter_free(lm);
	return n;
}

/* Bursty demand never puts more than R + B into a 60 s window. */
static void
test_bursty(void)
{
	const struct test_rate	*r;
	uint64_t		*at, seed;
	size_t			 i, n, max;
	int64_t			 win, worst;

	for (i = 0; i < TEST_NRATES; i++) {
		r = &test_rates[i];
		max = (size_t)(r->rpm * (TEST_RUN_MS / 60000) + r->burst) + 1;
		at = calloc(max, sizeof *at);
		UNIT_ASSERT(at != NULL);
		worst = 0;
		for (seed = 1; seed <= 8; seed++) {
			n = test_run_bursty(r->rpm, r->burst, seed * 7919, at,
			    max);
			UNIT_ASSERT(n < max);
			win = test_window_max(at, n, 60000);
			if (win > worst)
				worst = win;
		}
		free(at);
		printf("# bursty R=%lld B=%lld: busiest 60 s window %lld "
		    "(R+B=%lld)\n", (long long)r->rpm, (long long)r->burst,
		    (long long)worst, (long long)(r->rpm + r->burst));
		UNIT_ASSERT(worst <= r->rpm + r->burst);
	}
}

/* Constant demand on the token bucket alone gets its rate too. */
static void
test_sustained_tokens(void)
{
	static const int64_t	 tpm[] = { 7000, 90000, 2000000000 };
	static const int64_t	 cost[] = { 1000, 7, 333333 };
	struct limiter		*lm;
	uint64_t		 now, wait;
	int64_t			 sum;
	size_t			 i;

	for (i = 0; i < sizeof tpm / sizeof tpm[0]; i++) {
		lm = test_new(0, 0, tpm[i], 0, 0);
		now = 0;
		sum = 0;
		while (now < TEST_RUN_MS) {
			if (limiter_acquire(lm, cost[i], now, &wait) ==
			    LIMITER_ADMIT)
				sum += cost[i];
			else
				now += wait;
			UNIT_ASSERT(sum <= tpm[i] * 11);
		}
		limiter_free(lm);
		printf("# tokens TPM=%lld cost %lld: %lld in 10 min (%.4f of "
		    "10 TPM)\n", (long long)tpm[i], (long long)cost[i],
		    (long long)sum, (double)sum / (double)(tpm[i] * 10));
		UNIT_ASSERT(sum <= tpm[i] * 11);
		UNIT_ASSERT((double)sum >= 0.98 * (double)(tpm[i] * 10));
	}
}

/* The token bucket admits by estimate and refuses what can never fit. */
static void
test_tokens(void)
{
	struct limiter	*lm = test_new(0, 0, 60000, 0, 0);
	uint64_t	 wait;

	UNIT_ASSERT(limiter_acquire(lm, 60001, 0, &wait) == LIMITER_TOO_LARGE);
	UNIT_ASSERT(limiter_acquire(lm, 600, 0, &wait) == LIMITER_ADMIT);
	UNIT_ASSERT(limiter_acquire(lm, 60000, 0, &wait) == LIMITER_WAIT);
	UNIT_ASSERT_INT_EQ(wait, 600);
	UNIT_ASSERT(limiter_acquire(lm, 59400, 0, &wait) == LIMITER_ADMIT);
	UNIT_ASSERT(limiter_acquire(lm, 0, 0, &wait) == LIMITER_ADMIT);
	UNIT_ASSERT(limiter_acquire(lm, 1, 0, &wait) == LIMITER_WAIT);
	UNIT_ASSERT_INT_EQ(wait, 1);
	UNIT_ASSERT(limiter_acquire(lm, 100, 0, &wait) == LIMITER_WAIT);
	UNIT_ASSERT_INT_EQ(wait, 100);
	UNIT_ASSERT(limiter_acquire(lm, 60001, 0, &wait) == LIMITER_TOO_LARGE);
	UNIT_ASSERT(limiter_acquire(lm, 100, 100, &wait) == LIMITER_ADMIT);
	limiter_free(lm);
	/* 7000 per minute: one token takes 60000 / 7000, 8.57 ms. */
	lm = test_new(0, 0, 7000, 0, 0);
	UNIT_ASSERT(limiter_acquire(lm, 7000, 0, &wait) == LIMITER_ADMIT);
	UNIT_ASSERT(limiter_acquire(lm, 1, 0, &wait) == LIMITER_WAIT);
	UNIT_ASSERT_INT_EQ(wait, 9);
	UNIT_ASSERT(limiter_acquire(lm, 1, 8, &wait) == LIMITER_WAIT);
	UNIT_ASSERT_INT_EQ(wait, 1);
	UNIT_ASSERT(limiter_acquire(lm, 1, 9, &wait) == LIMITER_ADMIT);
	UNIT_ASSERT(limiter_acquire(lm, -5, 9, &wait) == LIMITER_ADMIT);
	limiter_free(lm);
}

/* A positive correction leaves debt that delays by exactly debt / rate. */
static void
test_token_debt(void)
{
	struct limiter		*lm = test_new(0, 0, 60000, 0, 0);
	struct limiter_state	 st;
	uint64_t		 wait;

	UNIT_ASSERT(limiter_acquire(lm, 60000, 0, &wait) == LIMITER_ADMIT);
	limiter_adjust_tokens(lm, 500, 0);
	limiter_state(lm, 0, &st);
	UNIT_ASSERT(st.tokens == -500.0);
	UNIT_ASSERT(limiter_acquire(lm, 0, 0, &wait) == LIMITER_WAIT);
	UNIT_ASSERT_INT_EQ(wait, 500);
	UNIT_ASSERT(limiter_acquire(lm, 100, 0, &wait) == LIMITER_WAIT);
	UNIT_ASSERT_INT_EQ(wait, 600);
	UNIT_ASSERT(limiter_acquire(lm, 100, 599, &wait) == LIMITER_WAIT);
	UNIT_ASSERT_INT_EQ(wait, 1);
	UNIT_ASSERT(limiter_acquire(lm, 100, 600, &wait) == LIMITER_ADMIT);
	limiter_state(lm, 600, &st);
	UNIT_ASSERT(st.tokens == 0.0);
	/* A negative correction gives back, up to the depth only. */
	limiter_adjust_tokens(lm, -70000, 600);
	limiter_state(lm, 600, &st);
	UNIT_ASSERT(st.tokens == 60000.0);
	limiter_adjust_tokens(lm, INT64_MIN, 600);
	limiter_adjust_tokens(lm, 0, 600);
	limiter_state(lm, 600, &st);
	UNIT_ASSERT(st.tokens == 60000.0);
	UNIT_ASSERT(limiter_acquire(lm, 60000, 600, &wait) == LIMITER_ADMIT);
	UNIT_ASSERT(limiter_acquire(lm, 1, 600, &wait) == LIMITER_WAIT);
	limiter_free(lm);
}

/* Refunds give back tokens and a request, never past the depth. */
static void
test_refund(void)
{
	struct limiter		*lm = test_new(60, 2, 1000, 0, 0);
	struct limiter_state	 st;
	uint64_t		 wait;

	UNIT_ASSERT(limiter_acquire(lm, 100, 0, &wait) == LIMITER_ADMIT);
	limiter_state(lm, 0, &st);
	UNIT_ASSERT(st.requests == 1.0 && st.tokens == 900.0);
	limiter_refund(lm, 40, 0, 0);
	limiter_state(lm, 0, &st);
	UNIT_ASSERT(st.requests == 1.0 && st.tokens == 940.0);
	UNIT_ASSERT_INT_EQ(st.in_flight, 1);
	limiter_refund(lm, 5000, 1, 0);
	limiter_state(lm, 0, &st);
	UNIT_ASSERT(st.requests == 2.0 && st.tokens == 1000.0);
	limiter_refund(lm, 5000, 1, 0);
	limiter_refund(lm, -5000, 1, 0);
	limiter_state(lm, 0, &st);
	UNIT_ASSERT(st.requests == 2.0 && st.tokens == 1000.0);
	UNIT_ASSERT_INT_EQ(st.in_flight, 1);
	/* The snapshot hides no surplus: the buckets hold just their depth. */
	UNIT_ASSERT(limiter_acquire(lm, 1000, 0, &wait) == LIMITER_ADMIT);
	UNIT_ASSERT(limiter_acquire(lm, 1, 0, &wait) == LIMITER_WAIT);
	UNIT_ASSERT_INT_EQ(wait, 60);
	UNIT_ASSERT(limiter_acquire(lm, 0, 0, &wait) == LIMITER_ADMIT);
	UNIT_ASSERT(limiter_acquire(lm, 0, 0, &wait) == LIMITER_WAIT);
	UNIT_ASSERT_INT_EQ(wait, 1000);
	limiter_free(lm);
}

/* N slots admit N; only a release lets the next one in. */
static void
test_concurrency(void)
{
	struct limiter		*lm = test_new(0, 0, 0, 3, 0);
	struct limiter_state	 st;
	uint64_t		 wait;
	int			 i;

	for (i = 0; i < 3; i++)
		UNIT_ASSERT(limiter_acquire(lm, 10, 0, &wait) == LIMITER_ADMIT);
	UNIT_ASSERT(limiter_acquire(lm, 10, 0, &wait) == LIMITER_WAIT);
	UNIT_ASSERT(wait == LIMITER_WAIT_FOR_RELEASE);
	UNIT_ASSERT(limiter_acquire(lm, 10, 99999, &wait) == LIMITER_WAIT);
	UNIT_ASSERT(wait == LIMITER_WAIT_FOR_RELEASE);
	limiter_release(lm);
	UNIT_ASSERT(limiter_acquire(lm, 10, 99999, &wait) == LIMITER_ADMIT);
	UNIT_ASSERT(limiter_acquire(lm, 10, 99999, &wait) == LIMITER_WAIT);
	for (i = 0; i < 5; i++)
		limiter_release(lm);
	limiter_state(lm, 99999, &st);
	UNIT_ASSERT_INT_EQ(st.in_flight, 0);
	UNIT_ASSERT(!st.requests_limited && !st.tokens_limited);
	for (i = 0; i < 3; i++)
		UNIT_ASSERT(limiter_acquire(lm, 0, 99999, &wait) ==
		    LIMITER_ADMIT);
	limiter_state(lm, 99999, &st);
	UNIT_ASSERT_INT_EQ(st.in_flight, 3);
	limiter_free(lm);
}

/* With a slot and the bucket both short, the answer is the bucket's time. */
static void
test_concurrency_and_time(void)
{
	struct limiter	*lm = test_new(60, 1, 0, 1, 0);
	uint64_t	 wait;

	UNIT_ASSERT(limiter_acquire(lm, 0, 0, &wait) == LIMITER_ADMIT);
	UNIT_ASSERT(limiter_acquire(lm, 0, 0, &wait) == LIMITER_WAIT);
	UNIT_ASSERT_INT_EQ(wait, 1000);
	UNIT_ASSERT(limiter_acquire(lm, 0, 1000, &wait) == LIMITER_WAIT);
	UNIT_ASSERT(wait == LIMITER_WAIT_FOR_RELEASE);
	limiter_release(lm);
	UNIT_ASSERT(limiter_acquire(lm, 0, 1000, &wait) == LIMITER_ADMIT);
	limiter_release(lm);
	limiter_release(lm);
	UNIT_ASSERT(limiter_acquire(lm, 0, 1500, &wait) == LIMITER_WAIT);
	UNIT_ASSERT_INT_EQ(wait, 500);
	limiter_free(lm);
}

/* A cooldown holds everything back until it passes, and wait_ms says so. */
static void
test_cooldown(void)
{
	struct limiter		*lm = test_new(60, 1, 0, 0, 0);
	struct limiter_state	 st;
	uint64_t		 wait;

	limiter_cooldown(lm, 5000);
	limiter_cooldown(lm, 3000);
	limiter_state(lm, 0, &st);
	UNIT_ASSERT(st.cooldown_until_ms == 5000);
	UNIT_ASSERT(limiter_acquire(lm, 0, 0, &wait) == LIMITER_WAIT);
	UNIT_ASSERT_INT_EQ(wait, 5000);
	UNIT_ASSERT(limiter_acquire(lm, 0, 4999, &wait) == LIMITER_WAIT);
	UNIT_ASSERT_INT_EQ(wait, 1);
	UNIT_ASSERT(limiter_acquire(lm, 1 << 30, 4999, &wait) == LIMITER_WAIT);
	UNIT_ASSERT(limiter_acquire(lm, 0, 5000, &wait) == LIMITER_ADMIT);
	limiter_state(lm, 5000, &st);
	UNIT_ASSERT(st.cooldown_until_ms == 0);
	/* The longer of the cooldown and the bucket's own wait. */
	limiter_cooldown(lm, 5300);
	UNIT_ASSERT(limiter_acquire(lm, 0, 5000, &wait) == LIMITER_WAIT);
	UNIT_ASSERT_INT_EQ(wait, 1000);
	limiter_cooldown(lm, 8000);
	UNIT_ASSERT(limiter_acquire(lm, 0, 5000, &wait) == LIMITER_WAIT);
	UNIT_ASSERT_INT_EQ(wait, 3000);
	limiter_cooldown(lm, UINT64_MAX);
	UNIT_ASSERT(limiter_acquire(lm, 0, 5000, &wait) == LIMITER_WAIT);
	UNIT_ASSERT(wait > 3000 && wait != LIMITER_WAIT_FOR_RELEASE);
	limiter_free(lm);
}

/* Upstream "remaining" lowers a bucket and never raises it. */
static void
test_observe(void)
{
	struct limiter		*lm = test_new(60, 10, 1000, 0, 0);
	struct limiter_state	 st;
	uint64_t		 wait;

	limiter_observe_remaining(lm, 3, -1, 0);
	limiter_state(lm, 0, &st);
	UNIT_ASSERT(st.requests == 3.0 && st.tokens == 1000.0);
	limiter_observe_remaining(lm, 8, 200, 0);
	limiter_state(lm, 0, &st);
	UNIT_ASSERT(st.requests == 3.0 && st.tokens == 200.0);
	limiter_observe_remaining(lm, -1, 900, 0);
	limiter_observe_remaining(lm, -1, -1, 0);
	limiter_state(lm, 0, &st);
	UNIT_ASSERT(st.requests == 3.0 && st.tokens == 200.0);
	UNIT_ASSERT(limiter_acquire(lm, 201, 0, &wait) == LIMITER_WAIT);
	UNIT_ASSERT_INT_EQ(wait, 60);
	limiter_observe_remaining(lm, 0, 0, 0);
	UNIT_ASSERT(limiter_acquire(lm, 0, 0, &wait) == LIMITER_WAIT);
	UNIT_ASSERT_INT_EQ(wait, 1000);
	limiter_free(lm);
	lm = test_new(0, 0, 0, 0, 0);
	limiter_observe_remaining(lm, 0, 0, 0);
	UNIT_ASSERT(limiter_acquire(lm, 5, 0, &wait) == LIMITER_ADMIT);
	limiter_free(lm);
}

/* A reload keeps what is in flight, clamps levels, fills new buckets. */
static void
test_set_limits(void)
{
	struct limiter		*lm = test_new(60, 10, 0, 5, 0);
	struct limiter_limits	 l = { 60, 4, 1000, 1 };
	struct limiter_state	 st;
	uint64_t		 wait;

	UNIT_ASSERT(limiter_acquire(lm, 0, 0, &wait) == LIMITER_ADMIT);
	UNIT_ASSERT(limiter_acquire(lm, 0, 0, &wait) == LIMITER_ADMIT);
	limiter_set_limits(lm, &l, 0);
	limiter_state(lm, 0, &st);
	UNIT_ASSERT_INT_EQ(st.in_flight, 2);
	UNIT_ASSERT(st.requests == 4.0 && st.tokens == 1000.0);
	UNIT_ASSERT(st.requests_limited && st.tokens_limited);
	UNIT_ASSERT(limiter_acquire(lm, 0, 0, &wait) == LIMITER_WAIT);
	UNIT_ASSERT(wait == LIMITER_WAIT_FOR_RELEASE);
	limiter_release(lm);
	UNIT_ASSERT(limiter_acquire(lm, 0, 0, &wait) == LIMITER_WAIT);
	limiter_release(lm);
	UNIT_ASSERT(limiter_acquire(lm, 1001, 0, &wait) == LIMITER_TOO_LARGE);
	UNIT_ASSERT(limiter_acquire(lm, 600, 0, &wait) == LIMITER_ADMIT);
	/* Off, then on again: the token bucket starts full once more. */
	l.tokens_per_minute = 0;
	limiter_set_limits(lm, &l, 0);
	limiter_state(lm, 0, &st);
	UNIT_ASSERT(!st.tokens_limited && st.tokens == 0.0);
	l.tokens_per_minute = 1000;
	limiter_set_limits(lm, &l, 0);
	limiter_state(lm, 0, &st);
	UNIT_ASSERT(st.tokens == 1000.0 && st.requests == 3.0);
	limiter_free(lm);
}

/* A changed rate applies from the reload on, the old one up to it. */
static void
test_set_limits_rate(void)
{
	struct limiter		*lm = test_new(60, 10, 0, 0, 0);
	struct limiter_limits	 l = { 600, 10, 0, 0 };
	struct limiter_state	 st;
	uint64_t		 wait;
	int			 i;

	for (i = 0; i < 10; i++)
		UNIT_ASSERT(limiter_acquire(lm, 0, 0, &wait) == LIMITER_ADMIT);
	limiter_set_limits(lm, &l, 1500);
	limiter_state(lm, 1500, &st);
	UNIT_ASSERT(st.requests == 1.5);
	limiter_state(lm, 1600, &st);
	UNIT_ASSERT(st.requests == 2.5);
	UNIT_ASSERT(limiter_acquire(lm, 0, 1600, &wait) == LIMITER_ADMIT);
	UNIT_ASSERT(limiter_acquire(lm, 0, 1600, &wait) == LIMITER_ADMIT);
	UNIT_ASSERT(limiter_acquire(lm, 0, 1600, &wait) == LIMITER_WAIT);
	UNIT_ASSERT_INT_EQ(wait, 50);
	l.requests_per_minute = 0;
	limiter_set_limits(lm, &l, 1600);
	UNIT_ASSERT(limiter_acquire(lm, 0, 1600, &wait) == LIMITER_ADMIT);
	limiter_state(lm, 1600, &st);
	UNIT_ASSERT(!st.requests_limited);
	limiter_free(lm);
}

/* A clock that steps back refills nothing and breaks nothing. */
static void
test_backwards(void)
{
	struct limiter		*lm = test_new(60, 1, 0, 0, 10000);
	struct limiter_state	 st;
	uint64_t		 wait;

	UNIT_ASSERT(limiter_acquire(lm, 0, 10000, &wait) == LIMITER_ADMIT);
	UNIT_ASSERT(limiter_acquire(lm, 0, 5000, &wait) == LIMITER_WAIT);
	UNIT_ASSERT_INT_EQ(wait, 1000);
	UNIT_ASSERT(limiter_acquire(lm, 0, 0, &wait) == LIMITER_WAIT);
	limiter_state(lm, 3, &st);
	UNIT_ASSERT(st.requests == 0.0);
	UNIT_ASSERT(limiter_acquire(lm, 0, 10999, &wait) == LIMITER_WAIT);
	UNIT_ASSERT_INT_EQ(wait, 1);
	UNIT_ASSERT(limiter_acquire(lm, 0, 11000, &wait) == LIMITER_ADMIT);
	UNIT_ASSERT(limiter_acquire(lm, 0, 7000, &wait) == LIMITER_WAIT);
	UNIT_ASSERT(limiter_acquire(lm, 0, 11999, &wait) == LIMITER_WAIT);
	UNIT_ASSERT(limiter_acquire(lm, 0, 12000, &wait) == LIMITER_ADMIT);
	limiter_free(lm);
}

/* With every limit off, everything is admitted and still counted. */
static void
test_off(void)
{
	struct limiter		*lm = test_new(0, 0, 0, 0, 0);
	struct limiter_state	 st;
	uint64_t		 wait = 7;
	int			 i;

	for (i = 0; i < 1000; i++)
		UNIT_ASSERT(limiter_acquire(lm, INT64_MAX, 0, &wait) ==
		    LIMITER_ADMIT);
	UNIT_ASSERT_INT_EQ(wait, 0);
	limiter_state(lm, 0, &st);
	UNIT_ASSERT_INT_EQ(st.in_flight, 1000);
	UNIT_ASSERT(!st.requests_limited && !st.tokens_limited);
	UNIT_ASSERT(st.cooldown_until_ms == 0);
	UNIT_ASSERT(limiter_acquire(lm, 0, 0, NULL) == LIMITER_ADMIT);
	limiter_free(lm);
	limiter_free(NULL);
}

static const struct unit_test tests[] = {
	{ "burst boundary, exact first wait", test_burst_boundary },
	{ "10 min constant demand, jump by wait_ms", test_sustained_jump },
	{ "10 min constant demand, poll each ms", test_sustained_poll },
	{ "bursty demand, 60 s windows", test_bursty },
	{ "10 min constant demand on tokens", test_sustained_tokens },
	{ "token bucket estimate and too large", test_tokens },
	{ "token debt delays by debt / rate", test_token_debt },
	{ "refunds capped at depth", test_refund },
	{ "concurrency slots", test_concurrency },
	{ "concurrency and time both short", test_concurrency_and_time },
	{ "cooldown", test_cooldown },
	{ "observe_remaining lowers only", test_observe },
	{ "set_limits keeps in_flight, clamps", test_set_limits },
	{ "set_limits rate change", test_set_limits_rate },
	{ "clock stepping back", test_backwards },
	{ "all limits off", test_off },
};

/* Run the cases above and report them as TAP. */
int
main(void)
{
	return unit_main(tests, sizeof tests / sizeof tests[0]);
}
