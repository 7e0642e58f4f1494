/* SPDX-License-Identifier: ISC */
/*
 * limiter: one provider's admission arithmetic, given the time.
 *
 * A request is admitted when no cooldown is pending, a concurrency slot is
 * free, the request bucket holds one request and the token bucket holds
 * the request's estimate; buckets refill lazily from the time each call
 * passes in, and a clock that steps back counts as no time passing.  When
 * the answer is no, the limiter says how long until it could be yes, so
 * the caller can arm one timer instead of polling.  It does not keep the
 * queue, read the clock, or know about HTTP: the caller orders requests,
 * passes the time, and feeds back what the upstream reported.
 */
#include <stdint.h>
#include <stdlib.h>

#include "limiter.h"
#include "xmalloc.h"

/*
 * Levels are kept in 1/60000ths of a request (or token): one millisecond
 * then refills a bucket by exactly its per-minute rate, so every level,
 * depth, cost and refill is a whole number.  A double holds whole numbers
 * exactly up to 2^53, far above what the config allows (2e9 tokens per
 * minute is 1.2e14 units), so the buckets need no epsilon and never drift:
 * over any time t they pay out at most depth + rate * t, and no less.
 *
 * The clock ticks in whole milliseconds, but a bucket fills at some point
 * inside a tick: capping it at the depth on every call would throw away
 * the refill since that point, up to a millisecond's worth per admission
 * (a third of the rate at burst 1 and 45000 per minute).  So a bucket may
 * hold more than its depth until it has been full for a whole millisecond
 * (its overshoot is below one tick's refill); only then is the surplus
 * dropped.  Over [0, t] nothing more is paid out than depth + rate * t, and
 * a window of 60000 ticks still holds at most R + B.
 */
#define LIMITER_SCALE		60000.0
#define LIMITER_EXACT		9007199254740992.0	/* 2^53 */
/* Time-based waits stay well clear of LIMITER_WAIT_FOR_RELEASE. */
#define LIMITER_WAIT_MAX	((uint64_t)1 << 62)

/* One token bucket, in units of 1/LIMITER_SCALE. */
struct limiter_bucket {
	double	level;		/* may be < 0: debt */
	double	depth;
	double	rate;		/* units per ms: the per-minute limit */
	int	on;
};

struct limiter {
	struct limiter_bucket	req;
	struct limiter_bucket	tok;
	int64_t			max_concurrent;	/* 0: unlimited */
	int64_t			in_flight;
	uint64_t		cooldown_until_ms;
	uint64_t		now_ms;		/* latest time seen */
};

static double	limiter_units(int64_t n);
static void	limiter_bucket_set(struct limiter_bucket *b, int64_t per_min,
		    int64_t depth);
static void	limiter_bucket_refill(struct limiter_bucket *b,
		    uint64_t elapsed_ms);
static void	limiter_bucket_add(struct limiter_bucket *b, double units);
static uint64_t	limiter_bucket_wait(const struct limiter_bucket *b,
		    double need);
static void	limiter_advance(struct limiter *lm, uint64_t now_ms);
static void	limiter_apply(struct limiter *lm,
		    const struct limiter_limits *l);
static uint64_t	limiter_time_wait(const struct limiter *lm, double cost);
static double	limiter_bucket_show(const struct limiter_bucket *b);

/* Return n requests or tokens in bucket units; a negative n counts as 0. */
static double
limiter_units(int64_t n)
{
	return n > 0 ? (double)n * LIMITER_SCALE : 0.0;
}

/* Set b to per_min per minute, depth deep; an enabled bucket starts full. */
static void
limiter_bucket_set(struct limiter_bucket *b, int64_t per_min, int64_t depth)
{
	if (per_min <= 0) {
		b->on = 0;
		b->level = b->depth = b->rate = 0.0;
		return;
	}
	b->rate = (double)per_min;
	b->depth = limiter_units(depth > 0 ? depth : 1);
	if (!b->on)
		b->level = b->depth;
	else if (b->level > b->depth)
		b->level = b->depth;
	b->on = 1;
}

/* Add what elapsed_ms refills to b; drop what overflowed a tick ago. */
static void
limiter_bucket_refill(struct limiter_bucket *b, uint64_t elapsed_ms)
{
	double	level;

	if (!b->on || elapsed_ms == 0)
		return;
	level = b->level + (double)elapsed_ms * b->rate;
	if (level > b->depth && level - b->depth >= b->rate)
		level = b->depth;
	b->level = level;
}

/* Add units to b without filling it past its depth. */
static void
limiter_bucket_add(struct limiter_bucket *b, double units)
{
	if (!b->on || units <= 0.0 || b->level >= b->depth)
		return;
	b->level += units;
	if (b->level > b->depth)
		b->level = b->depth;
}

/* Return the ms until b holds need units: 0 if it does, else at least 1. */
static uint64_t
limiter_bucket_wait(const struct limiter_bucket *b, double need)
{
	double		 gap, q;
	uint64_t	 rate, w;

	if (!b->on || b->level >= need)
		return 0;
	gap = need - b->level;
	if (gap < LIMITER_EXACT && b->rate < LIMITER_EXACT) {
		rate = (uint64_t)b->rate;
		w = ((uint64_t)gap + rate - 1) / rate;
		return w > 0 ? w : 1;
	}
	/* A debt past 2^53 units: a second's error is of no concern. */
	q = gap / b->rate;
	if (q >= (double)LIMITER_WAIT_MAX)
		return LIMITER_WAIT_MAX;
	w = (uint64_t)q;
	return (double)w < q ? w + 1 : (w == 0 ? 1 : w);
}

/* Refill the buckets up to now_ms; a time before the latest one is a no-op. */
static void
limiter_advance(struct limiter *lm, uint64_t now_ms)
{
	if (now_ms <= lm->now_ms)
		return;
	limiter_bucket_refill(&lm->req, now_ms - lm->now_ms);
	limiter_bucket_refill(&lm->tok, now_ms - lm->now_ms);
	lm->now_ms = now_ms;
}

/* Install the limits l over the current levels. */
static void
limiter_apply(struct limiter *lm, const struct limiter_limits *l)
{
	limiter_bucket_set(&lm->req, l->requests_per_minute, l->burst);
	limiter_bucket_set(&lm->tok, l->tokens_per_minute,
	    l->tokens_per_minute);
	lm->max_concurrent = l->max_concurrent > 0 ? l->max_concurrent : 0;
}

/* Return a limiter with limits l, every bucket full at now_ms. */
struct limiter *
limiter_new(const struct limiter_limits *l, uint64_t now_ms)
{
	struct limiter	*lm;

	lm = xcalloc(1, sizeof *lm);
	lm->now_ms = now_ms;
	limiter_apply(lm, l);
	return lm;
}

/* Free lm; accepts NULL. */
void
limiter_free(struct limiter *lm)
{
	free(lm);
}

/* Apply new limits at now_ms, keeping in-flight slots and clamped levels. */
void
limiter_set_limits(struct limiter *lm, const struct limiter_limits *l,
    uint64_t now_ms)
{
	limiter_advance(lm, now_ms);
	limiter_apply(lm, l);
}

/* Return the ms until the cooldown and both buckets allow cost tokens. */
static uint64_t
limiter_time_wait(const struct limiter *lm, double cost)
{
	uint64_t	wait = 0, w;

	if (lm->cooldown_until_ms > lm->now_ms)
		wait = lm->cooldown_until_ms - lm->now_ms;
	if (wait > LIMITER_WAIT_MAX)
		wait = LIMITER_WAIT_MAX;
	w = limiter_bucket_wait(&lm->req, LIMITER_SCALE);
	if (w > wait)
		wait = w;
	w = limiter_bucket_wait(&lm->tok, cost);
	if (w > wait)
		wait = w;
	return wait;
}

/* Return 1 if tokens exceed what the token bucket can ever hold. */
int
limiter_too_large(const struct limiter *lm, int64_t tokens)
{
	return lm->tok.on && limiter_units(tokens) > lm->tok.depth;
}

/* Say whether a request of tokens fits now, or how long to wait. */
enum limiter_verdict
limiter_peek(struct limiter *lm, int64_t tokens, uint64_t now_ms,
    uint64_t *wait_ms)
{
	uint64_t	wait, dummy;
	int		full;

	if (wait_ms == NULL)
		wait_ms = &dummy;
	*wait_ms = 0;
	if (limiter_too_large(lm, tokens))
		return LIMITER_TOO_LARGE;
	limiter_advance(lm, now_ms);
	wait = limiter_time_wait(lm, limiter_units(tokens));
	full = lm->max_concurrent > 0 && lm->in_flight >= lm->max_concurrent;
	if (wait > 0 || full) {
		*wait_ms = wait > 0 ? wait : LIMITER_WAIT_FOR_RELEASE;
		return LIMITER_WAIT;
	}
	return LIMITER_ADMIT;
}

/* Admit one request estimated at tokens, or say how long to wait. */
enum limiter_verdict
limiter_acquire(struct limiter *lm, int64_t tokens, uint64_t now_ms,
    uint64_t *wait_ms)
{
	enum limiter_verdict	v;

	if ((v = limiter_peek(lm, tokens, now_ms, wait_ms)) != LIMITER_ADMIT)
		return v;
	lm->in_flight++;
	if (lm->req.on)
		lm->req.level -= LIMITER_SCALE;
	if (lm->tok.on)
		lm->tok.level -= limiter_units(tokens);
	return LIMITER_ADMIT;
}

/*
 * Return the ms until requests requests, the last of them estimated at
 * tokens, could be paid for (the cooldown included), or
 * LIMITER_WAIT_FOR_RELEASE when only a released slot can help.
 */
uint64_t
limiter_wait_ms(struct limiter *lm, int64_t requests, int64_t tokens,
    uint64_t now_ms)
{
	uint64_t	wait = 0, w;

	limiter_advance(lm, now_ms);
	if (lm->cooldown_until_ms > lm->now_ms)
		wait = lm->cooldown_until_ms - lm->now_ms;
	w = limiter_bucket_wait(&lm->req, limiter_units(requests));
	if (w > wait)
		wait = w;
	w = limiter_bucket_wait(&lm->tok, limiter_units(tokens));
	if (w > wait)
		wait = w;
	if (wait == 0 && lm->max_concurrent > 0 &&
	    lm->in_flight >= lm->max_concurrent)
		return LIMITER_WAIT_FOR_RELEASE;
	return wait > LIMITER_WAIT_MAX ? LIMITER_WAIT_MAX : wait;
}

/* Give back a concurrency slot. */
void
limiter_release(struct limiter *lm)
{
	if (lm->in_flight > 0)
		lm->in_flight--;
}

/* Count a slot taken elsewhere as in flight here, whatever the limit. */
void
limiter_adopt(struct limiter *lm)
{
	lm->in_flight++;
}

/* Charge delta more tokens (or refund -delta) to the token bucket. */
void
limiter_adjust_tokens(struct limiter *lm, int64_t delta, uint64_t now_ms)
{
	limiter_advance(lm, now_ms);
	if (!lm->tok.on)
		return;
	if (delta > 0)
		lm->tok.level -= (double)delta * LIMITER_SCALE;
	else if (delta < 0)
		limiter_bucket_add(&lm->tok, -((double)delta * LIMITER_SCALE));
}

/* Give back tokens and, when requests is 1, one request. */
void
limiter_refund(struct limiter *lm, int64_t tokens, int requests,
    uint64_t now_ms)
{
	limiter_advance(lm, now_ms);
	limiter_bucket_add(&lm->tok, limiter_units(tokens));
	if (requests == 1)
		limiter_bucket_add(&lm->req, LIMITER_SCALE);
}

/* Admit nothing before until_ms; keep the later of the two cooldowns. */
void
limiter_cooldown(struct limiter *lm, uint64_t until_ms)
{
	if (until_ms > lm->cooldown_until_ms)
		lm->cooldown_until_ms = until_ms;
}

/* Lower the buckets to what the upstream says remains (-1: not said). */
void
limiter_observe_remaining(struct limiter *lm, int64_t requests,
    int64_t tokens, uint64_t now_ms)
{
	limiter_advance(lm, now_ms);
	if (requests >= 0 && lm->req.on &&
	    lm->req.level > limiter_units(requests))
		lm->req.level = limiter_units(requests);
	if (tokens >= 0 && lm->tok.on && lm->tok.level > limiter_units(tokens))
		lm->tok.level = limiter_units(tokens);
}

/* Return b's level in requests or tokens, the overshoot hidden; 0 if off. */
static double
limiter_bucket_show(const struct limiter_bucket *b)
{
	if (!b->on)
		return 0.0;
	return (b->level < b->depth ? b->level : b->depth) / LIMITER_SCALE;
}

/* Fill *st with the levels at now_ms. */
void
limiter_state(struct limiter *lm, uint64_t now_ms, struct limiter_state *st)
{
	limiter_advance(lm, now_ms);
	st->in_flight = lm->in_flight;
	st->requests_limited = lm->req.on;
	st->tokens_limited = lm->tok.on;
	st->requests = limiter_bucket_show(&lm->req);
	st->tokens = limiter_bucket_show(&lm->tok);
	st->cooldown_until_ms = lm->cooldown_until_ms > lm->now_ms ?
	    lm->cooldown_until_ms : 0;
}
