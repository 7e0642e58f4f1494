/* SPDX-License-Identifier: ISC */
/*
 * sched: one fair lane per model group in front of two limiters.
 *
 * The lanes only grow: a group that a reload removes keeps its lane (the
 * provider makes its limits unlimited), so a ticket never points at a
 * freed lane, and a group that comes back finds its buckets.  Scanning
 * the heads costs a step per lane per admission; groups are a handful.
 */
#include <sys/queue.h>

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "limiter.h"
#include "queue.h"
#include "sched.h"
#include "xmalloc.h"

/* What one pass over the heads did. */
enum sched_step {
	SCHED_ADMITTED,		/* a head was admitted */
	SCHED_REMOVED,		/* a head can never fit: refused */
	SCHED_STOPPED		/* nothing more now: *wait_ms says when */
};

static enum limiter_verdict sched_try(struct sched *s,
		    struct sched_lane *lane, int64_t tokens, uint64_t now_ms,
		    uint64_t *wait_ms, int *provider);
static int	sched_too_large(struct sched *s, struct sched_lane *lane,
		    int64_t tokens);
static void	sched_count(struct sched *s);
static void	sched_forget(struct sched *s,
		    const struct queue_ticket *t);
static enum sched_step sched_step(struct sched *s, uint64_t now_ms,
		    uint64_t *wait_ms);

/* Make s empty, with lane 0 only. */
void
sched_init(struct sched *s, struct limiter *lm)
{
	s->lm = lm;
	s->lanes = xcalloc(1, sizeof *s->lanes);
	s->lanes[0] = xcalloc(1, sizeof **s->lanes);
	queue_init(&s->lanes[0]->q);
	s->nlanes = 1;
	s->turn = 0;
	s->n = 0;
	s->interactive = 0;
}

/* Free s's lanes and their limiters. */
void
sched_free(struct sched *s)
{
	size_t	i;

	for (i = 0; i < s->nlanes; i++) {
		limiter_free(s->lanes[i]->lm);
		free(s->lanes[i]);
	}
	free(s->lanes);
	s->lanes = NULL;
	s->nlanes = 0;
}

/* Add a lane for a group with limits l; return it. */
struct sched_lane *
sched_add_lane(struct sched *s, const struct limiter_limits *l,
    uint64_t now_ms)
{
	struct sched_lane	*lane;

	lane = xcalloc(1, sizeof *lane);
	queue_init(&lane->q);
	lane->lm = limiter_new(l, now_ms);
	lane->index = s->nlanes;
	s->lanes = xreallocarray(s->lanes, s->nlanes + 1, sizeof *s->lanes);
	s->lanes[s->nlanes++] = lane;
	return lane;
}

/* Return 1 if tokens can never fit lane's group or the provider. */
static int
sched_too_large(struct sched *s, struct sched_lane *lane, int64_t tokens)
{
	return limiter_too_large(s->lm, tokens) ||
	    (lane->lm != NULL && limiter_too_large(lane->lm, tokens));
}

/*
 * Take a slot in lane's group and in the provider, both or neither; on
 * LIMITER_WAIT say how long and whether the provider (*provider = 1) or
 * the group is what waits.
 */
static enum limiter_verdict
sched_try(struct sched *s, struct sched_lane *lane, int64_t tokens,
    uint64_t now_ms, uint64_t *wait_ms, int *provider)
{
	enum limiter_verdict	v;

	*provider = 0;
	if (lane->lm != NULL && (v = limiter_peek(lane->lm, tokens, now_ms,
	    wait_ms)) != LIMITER_ADMIT)
		return v;
	*provider = 1;
	if ((v = limiter_peek(s->lm, tokens, now_ms, wait_ms)) !=
	    LIMITER_ADMIT)
		return v;
	if (lane->lm != NULL)
		limiter_acquire(lane->lm, tokens, now_ms, NULL);
	return limiter_acquire(s->lm, tokens, now_ms, NULL);
}

/* Ask for t's admission in lane at now_ms; wait there if it cannot be. */
enum queue_verdict
sched_submit(struct sched *s, struct sched_lane *lane,
    struct queue_ticket *t, int front, size_t max, uint64_t now_ms,
    uint64_t *wait_ms)
{
	enum queue_verdict	v;
	int			provider;

	if (s->nlanes == 1) {		/* no groups: SPEC 5's FIFO */
		v = queue_submit(&lane->q, s->lm, t, front, max, now_ms,
		    wait_ms);
		sched_count(s);
		return v;
	}
	*wait_ms = 0;
	if (sched_too_large(s, lane, t->tokens))
		return QUEUE_TOO_LARGE;
	if (s->n == 0 && sched_try(s, lane, t->tokens, now_ms, wait_ms,
	    &provider) == LIMITER_ADMIT) {
		s->turn = (lane->index + 1) % s->nlanes;
		return QUEUE_ADMIT;
	}
	return sched_enqueue(s, lane, t, front, max);
}

/* Put t in lane to wait, without asking the limiters. */
enum queue_verdict
sched_enqueue(struct sched *s, struct sched_lane *lane,
    struct queue_ticket *t, int front, size_t max)
{
	if (sched_too_large(s, lane, t->tokens))
		return QUEUE_TOO_LARGE;
	if (!front && (s->n >= max || (lane->max > 0 &&
	    lane->q.n >= lane->max)))
		return QUEUE_FULL;
	queue_enqueue(&lane->q, t, front);
	s->n++;
	if (!front && t->priority == QUEUE_INTERACTIVE)
		s->interactive++;
	return QUEUE_QUEUED;
}

/* Lane 0 alone: take s's totals from its queue. */
static void
sched_count(struct sched *s)
{
	s->n = s->lanes[0]->q.n;
	s->interactive = s->lanes[0]->q.nprio[QUEUE_INTERACTIVE];
}

/* Count t, about to leave its lane, out of s's totals. */
static void
sched_forget(struct sched *s, const struct queue_ticket *t)
{
	s->n--;
	if (t->flow != NULL && t->priority == QUEUE_INTERACTIVE)
		s->interactive--;
}

/* Take t out of lane; return 1 if it was at the head of its flow. */
int
sched_withdraw(struct sched *s, struct sched_lane *lane,
    struct queue_ticket *t)
{
	int	was_head;

	if (!t->queued)
		return 0;
	sched_forget(s, t);
	was_head = queue_withdraw(&lane->q, t);
	return was_head;
}

/*
 * Look at each lane's head once, from the lane whose turn it is: refuse
 * one that can never fit, pass over one its group holds back, and admit
 * the first that fits both limiters; if the provider holds that one
 * back, stop there: its turn keeps the provider's next capacity.
 */
static enum sched_step
sched_step(struct sched *s, uint64_t now_ms, uint64_t *wait_ms)
{
	struct sched_lane	*lane;
	struct queue_ticket	*t;
	uint64_t		 w, best = 0;
	size_t			 k, i;
	int			 provider;

	for (k = 0; k < s->nlanes; k++) {
		i = (s->turn + k) % s->nlanes;
		lane = s->lanes[i];
		if ((t = queue_next(&lane->q, s->interactive == 0)) == NULL)
			continue;
		if (sched_too_large(s, lane, t->tokens)) {
			sched_withdraw(s, lane, t);
			t->too_large(t, t->arg);
			return SCHED_REMOVED;
		}
		if (sched_try(s, lane, t->tokens, now_ms, &w, &provider) ==
		    LIMITER_ADMIT) {
			sched_take(s, lane, t);
			t->admitted(t, t->arg);
			return SCHED_ADMITTED;
		}
		if (provider) {
			*wait_ms = w;
			return SCHED_STOPPED;
		}
		if (best == 0 || w < best)
			best = w;
	}
	*wait_ms = best;
	return SCHED_STOPPED;
}

/* Admit heads while the limiters agree; return the wait for the next. */
uint64_t
sched_pump(struct sched *s, uint64_t now_ms, size_t *n)
{
	uint64_t	wait_ms = 0;
	uint64_t	r;

	if (s->nlanes == 1) {
		r = queue_pump(&s->lanes[0]->q, s->lm, now_ms, n);
		sched_count(s);
		return r;
	}
	*n = 0;
	for (;;) {
		switch (sched_step(s, now_ms, &wait_ms)) {
		case SCHED_ADMITTED:
			(*n)++;
			break;
		case SCHED_REMOVED:
			break;
		case SCHED_STOPPED:
			return s->n > 0 ? wait_ms : 0;
		}
	}
}

/* Return the request to offer next in the lanes' turn, and its lane. */
struct queue_ticket *
sched_next(struct sched *s, struct sched_lane **lane)
{
	struct queue_ticket	*t;
	size_t			 k, i;

	for (k = 0; k < s->nlanes; k++) {
		i = (s->turn + k) % s->nlanes;
		if ((t = queue_next(&s->lanes[i]->q, s->interactive == 0)) !=
		    NULL) {
			*lane = s->lanes[i];
			return t;
		}
	}
	return NULL;
}

/* Take t, sched_next()'s, out of its lane; the next lane's turn comes. */
void
sched_take(struct sched *s, struct sched_lane *lane, struct queue_ticket *t)
{
	sched_forget(s, t);
	queue_take(&lane->q, t);
	s->turn = (lane->index + 1) % s->nlanes;
}

/* Put t back before everything else waiting in lane. */
void
sched_requeue(struct sched *s, struct sched_lane *lane,
    struct queue_ticket *t)
{
	queue_requeue(&lane->q, t);
	s->n++;
}

/* Count a slot taken elsewhere for a request of lane, in both limiters. */
void
sched_adopt(struct sched *s, struct sched_lane *lane)
{
	if (lane->lm != NULL)
		limiter_adopt(lane->lm);
	limiter_adopt(s->lm);
}

/* Give back the slot a request of lane held, in both limiters. */
void
sched_release(struct sched *s, struct sched_lane *lane)
{
	if (lane->lm != NULL)
		limiter_release(lane->lm);
	limiter_release(s->lm);
}

/* Give back what a request of lane took and did not use. */
void
sched_refund(struct sched *s, struct sched_lane *lane, int64_t tokens,
    int requests, uint64_t now_ms)
{
	if (lane->lm != NULL)
		limiter_refund(lane->lm, tokens, requests, now_ms);
	limiter_refund(s->lm, tokens, requests, now_ms);
}
