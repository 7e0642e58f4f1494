/* SPDX-License-Identifier: ISC */
/*
 * sched: a provider's waiting requests, one lane per model group
 * (SPEC 16), in front of the provider's limiter and each group's.  Each
 * lane is a fair queue (queue.h: the waiting clients take turns by
 * weight, FIFO each, SPEC 11), and a batch request anywhere waits while
 * an interactive one waits in any lane.
 *
 * Lane 0 holds the requests of no group, limited by the provider alone;
 * every other lane has a limiter of its own, and a request of a group is
 * admitted only when both its group's limiter and the provider's agree:
 * both are asked first (limiter_peek) and both taken, or neither.  A head
 * that waits on its own group is passed over, so it never holds up
 * another group; among the heads that fit their groups, the lanes take
 * turns (round robin) at the provider's limits, and the one whose turn
 * it is waits for the provider's capacity rather than be overtaken, so
 * no group starves another and, within a lane, a large request is not
 * overtaken forever by smaller ones.  With lane 0 alone it is queue.c's
 * FIFO exactly (SPEC 5).  Pure: the time is passed in; the caller owns
 * the timer that runs sched_pump() and the tickets' callbacks.
 */
#ifndef SCHED_H
#define SCHED_H

#include <stddef.h>
#include <stdint.h>

#include "limiter.h"
#include "queue.h"

/* One lane: a group's FIFO and its limiter (NULL: lane 0, no group). */
struct sched_lane {
	struct queue	 q;
	struct limiter	*lm;
	size_t		 max;		/* its own queue_max; 0: none */
	size_t		 index;		/* in lanes[] */
};

struct sched {
	struct limiter		 *lm;		/* the provider's; not owned */
	struct sched_lane	**lanes;	/* lanes[0]: no group */
	size_t			  nlanes;
	size_t			  turn;		/* the lane asked first */
	size_t			  n;		/* waiting in every lane */
	size_t			  interactive;	/* of them, not retries */
};

/* Make s empty, with lane 0 only, in front of the provider's lm. */
void		 sched_init(struct sched *s, struct limiter *lm);
/* Free s's lanes and their limiters (the lanes must be empty). */
void		 sched_free(struct sched *s);
/* Add a lane for a group with limits l, full at now_ms; return it. */
struct sched_lane *sched_add_lane(struct sched *s,
		    const struct limiter_limits *l, uint64_t now_ms);
/*
 * Ask for t's admission in lane at now_ms (as queue_submit()): admitted
 * at once only when nobody waits in any lane and both limiters agree;
 * refused when the lane holds its own max, or every lane together holds
 * max (a retry, front, is never refused and goes to its lane's head).
 */
enum queue_verdict sched_submit(struct sched *s, struct sched_lane *lane,
		    struct queue_ticket *t, int front, size_t max,
		    uint64_t now_ms, uint64_t *wait_ms);
/* Take t out of lane; return 1 if it was a head (the pump may admit). */
int		 sched_withdraw(struct sched *s, struct sched_lane *lane,
		    struct queue_ticket *t);
/*
 * Admit heads while the limiters agree, calling each one's admitted()
 * (or too_large()); return how long until the next could be (0: nobody
 * waits; LIMITER_WAIT_FOR_RELEASE: only a released slot helps), the
 * number admitted in *n.
 */
uint64_t	 sched_pump(struct sched *s, uint64_t now_ms, size_t *n);
/*
 * For a backend that decides elsewhere (SPEC 14): sched_enqueue() puts t
 * in lane to wait, as sched_submit() does but never admitting at once
 * (refused only when it can never fit or the queue is full); return the
 * request to
 * offer next in the lanes' turn, its lane in *lane, without asking the
 * limiters (NULL: nobody waits); sched_take() takes it out, as
 * admitted or as being asked; sched_requeue() puts one back before
 * everything else in its lane (the answer was "not yet").
 */
enum queue_verdict sched_enqueue(struct sched *s, struct sched_lane *lane,
		    struct queue_ticket *t, int front, size_t max);
struct queue_ticket *sched_next(struct sched *s, struct sched_lane **lane);
void		 sched_take(struct sched *s, struct sched_lane *lane,
		    struct queue_ticket *t);
void		 sched_requeue(struct sched *s, struct sched_lane *lane,
		    struct queue_ticket *t);
/* Count a slot taken elsewhere for a request of lane, in both limiters. */
void		 sched_adopt(struct sched *s, struct sched_lane *lane);
/* Give back the slot a request of lane held, in both limiters. */
void		 sched_release(struct sched *s, struct sched_lane *lane);
/*
 * Give back what an admitted request of lane took and did not use, in
 * both limiters (limiter_refund()).
 */
void		 sched_refund(struct sched *s, struct sched_lane *lane,
		    int64_t tokens, int requests, uint64_t now_ms);

#endif /* SCHED_H */
