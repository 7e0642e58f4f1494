/* SPDX-License-Identifier: ISC */
/*
 * limiter: one provider's admission arithmetic, given the time.
 *
 * Three limits must all agree before a request goes upstream: a free
 * concurrency slot (max_concurrent), a request token bucket
 * (requests_per_minute, depth burst) and a token bucket
 * (tokens_per_minute, depth one minute's worth).  Every bucket starts
 * full.  A limit of 0 is off.  The limiter only does arithmetic: the
 * caller passes the time in (milliseconds on a monotonic clock), keeps the
 * FIFO queue, and asks for the head's admission; limiter_acquire() says
 * yes, or how long until it could say yes.  Pure: no libevent, no clock,
 * so it is tested with a simulated clock and can later be replaced by a
 * shared backend (the admission interface below) without touching the
 * queue, the streams or the retries.
 */
#ifndef LIMITER_H
#define LIMITER_H

#include <stdint.h>

/* "Wait until a slot is released": no time-based answer exists. */
#define LIMITER_WAIT_FOR_RELEASE	UINT64_MAX

struct limiter;

struct limiter_limits {
	int64_t	requests_per_minute;	/* 0 = unlimited */
	int64_t	burst;			/* request bucket depth, >= 1 */
	int64_t	tokens_per_minute;	/* 0 = unlimited */
	int64_t	max_concurrent;		/* 0 = unlimited */
};

enum limiter_verdict {
	LIMITER_ADMIT,		/* slot and both buckets taken */
	LIMITER_WAIT,		/* *wait_ms says until when */
	LIMITER_TOO_LARGE	/* tokens > what the bucket can ever hold */
};

/* A snapshot for /status and /metrics. */
struct limiter_state {
	int64_t		in_flight;
	double		requests;	/* request bucket level now */
	double		tokens;		/* token bucket level now (may be < 0) */
	int		requests_limited;	/* 0: that bucket is off */
	int		tokens_limited;
	uint64_t	cooldown_until_ms;	/* 0: none */
};

/* Return a limiter with limits l, every bucket full at now_ms. */
struct limiter	*limiter_new(const struct limiter_limits *l, uint64_t now_ms);
/* Free lm; accepts NULL. */
void		 limiter_free(struct limiter *lm);
/*
 * Apply new limits (a reload) at now_ms, keeping what is in flight and
 * the buckets' levels (clamped to the new depths; a newly enabled bucket
 * starts full).
 */
void		 limiter_set_limits(struct limiter *lm,
		    const struct limiter_limits *l, uint64_t now_ms);

/*
 * Try to admit one request estimated at tokens.  On LIMITER_ADMIT one
 * slot, one request and tokens are taken.  On LIMITER_WAIT nothing is
 * taken and *wait_ms is how long until it could succeed if nothing else
 * changes (LIMITER_WAIT_FOR_RELEASE: only a released slot helps).
 */
enum limiter_verdict limiter_acquire(struct limiter *lm, int64_t tokens,
		    uint64_t now_ms, uint64_t *wait_ms);
/*
 * Say whether limiter_acquire() would admit a request of tokens at
 * now_ms, taking nothing: a request that needs two limiters (a model
 * group's and its provider's) takes both or neither.
 */
enum limiter_verdict limiter_peek(struct limiter *lm, int64_t tokens,
		    uint64_t now_ms, uint64_t *wait_ms);
/* Return 1 if tokens exceed what the token bucket can ever hold. */
int		 limiter_too_large(const struct limiter *lm, int64_t tokens);
/*
 * Return how many ms until requests requests, the last estimated at
 * tokens, could be paid for (a cooldown included); nothing is taken.
 * LIMITER_WAIT_FOR_RELEASE: the buckets could pay now but every slot is
 * taken.  For a 429's Retry-After.
 */
uint64_t	 limiter_wait_ms(struct limiter *lm, int64_t requests,
		    int64_t tokens, uint64_t now_ms);
/*
 * Count a slot that was taken elsewhere (a shared lease, SPEC 14) as in
 * flight, limit or not: a daemon that falls back to its local share keeps
 * counting the requests already running.  limiter_release() gives it back.
 */
void		 limiter_adopt(struct limiter *lm);
/* Give back a concurrency slot (request finished or in backoff). */
void		 limiter_release(struct limiter *lm);
/*
 * Correct the token bucket by delta (real usage minus the estimate): a
 * positive delta may leave it in debt, a negative one never fills it past
 * its depth.
 */
void		 limiter_adjust_tokens(struct limiter *lm, int64_t delta,
		    uint64_t now_ms);
/*
 * Give back what an admitted request took and did not use: its tokens
 * and, when requests is 1, its request (a request cancelled before it was
 * sent).  Never fills a bucket past its depth.
 */
void		 limiter_refund(struct limiter *lm, int64_t tokens,
		    int requests, uint64_t now_ms);
/* Admit nothing before until_ms (an upstream 429); keeps the later one. */
void		 limiter_cooldown(struct limiter *lm, uint64_t until_ms);
/*
 * The upstream says only requests (or tokens; -1: not said) remain: lower
 * the buckets to that when they believe more.
 */
void		 limiter_observe_remaining(struct limiter *lm,
		    int64_t requests, int64_t tokens, uint64_t now_ms);
/* Fill *st with the levels at now_ms. */
void		 limiter_state(struct limiter *lm, uint64_t now_ms,
		    struct limiter_state *st);

#endif /* LIMITER_H */
