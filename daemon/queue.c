/* SPDX-License-Identifier: ISC */
/*
 * queue: fair admission in front of a limiter.  The limiter only does
 * the arithmetic; this module decides who is asked, in which order.  It
 * does not keep deadlines (each request runs its own timer) or timers.
 *
 * A flow exists only while its client has requests waiting: it is made
 * by the first and freed with the last, so a queue holds no memory for
 * the clients that do not wait, and a returning client starts with no
 * credit (it cannot have saved up turns while away).
 */
#include <sys/queue.h>

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "limiter.h"
#include "queue.h"
#include "xmalloc.h"

static struct queue_flow *queue_flow(struct queue *q,
		    const struct queue_ticket *t);
static void	queue_unlink(struct queue *q, struct queue_ticket *t);

/* Make q empty. */
void
queue_init(struct queue *q)
{
	int	i;

	TAILQ_INIT(&q->front);
	for (i = 0; i < QUEUE_NPRIORITIES; i++) {
		TAILQ_INIT(&q->flows[i]);
		q->weights[i] = 0;
		q->nprio[i] = 0;
	}
	q->n = 0;
}

/* Return t's client's flow of t's priority, made if it has none. */
static struct queue_flow *
queue_flow(struct queue *q, const struct queue_ticket *t)
{
	struct queue_flow	*f;
	int			 weight = t->weight > 0 ? t->weight : 1;

	TAILQ_FOREACH(f, &q->flows[t->priority], entry) {
		if (f->who == t->who)
			return f;
	}
	f = xcalloc(1, sizeof *f);
	f->who = t->who;
	f->weight = weight;
	f->priority = t->priority;
	TAILQ_INIT(&f->tickets);
	TAILQ_INSERT_TAIL(&q->flows[t->priority], f, entry);
	q->weights[t->priority] += weight;
	return f;
}

/* Put t in q: in front (a retry) or at its flow's tail. */
void
queue_enqueue(struct queue *q, struct queue_ticket *t, int front)
{
	if (front) {
		t->flow = NULL;
		TAILQ_INSERT_TAIL(&q->front, t, entry);
	} else {
		t->flow = queue_flow(q, t);
		TAILQ_INSERT_TAIL(&t->flow->tickets, t, entry);
		q->nprio[t->priority]++;
	}
	t->queued = 1;
	q->n++;
}

/* Put t back before everything waiting in q. */
void
queue_requeue(struct queue *q, struct queue_ticket *t)
{
	t->flow = NULL;
	TAILQ_INSERT_HEAD(&q->front, t, entry);
	t->queued = 1;
	q->n++;
}

/* Ask for t's admission at now_ms; wait in q if it cannot be now. */
enum queue_verdict
queue_submit(struct queue *q, struct limiter *lm, struct queue_ticket *t,
    int front, size_t max, uint64_t now_ms, uint64_t *wait_ms)
{
	*wait_ms = 0;
	if (limiter_too_large(lm, t->tokens))
		return QUEUE_TOO_LARGE;
	if (q->n == 0 && limiter_acquire(lm, t->tokens, now_ms, wait_ms) ==
	    LIMITER_ADMIT)
		return QUEUE_ADMIT;
	if (!front && q->n >= max)
		return QUEUE_FULL;
	queue_enqueue(q, t, front);
	return QUEUE_QUEUED;
}

/*
 * Return the request to offer next: a retry, else the head of the flow
 * with the most credit once every flow of the first priority served has
 * been paid its weight (the oldest flow on a tie).
 */
struct queue_ticket *
queue_next(const struct queue *q, int batch_ok)
{
	struct queue_flow	*f, *best = NULL;
	int			 prio;

	if (!TAILQ_EMPTY(&q->front))
		return TAILQ_FIRST(&q->front);
	for (prio = 0; prio < QUEUE_NPRIORITIES; prio++) {
		if (prio == QUEUE_BATCH && !batch_ok)
			break;
		TAILQ_FOREACH(f, &q->flows[prio], entry) {
			if (best == NULL || f->credit + f->weight >
			    best->credit + best->weight)
				best = f;
		}
		if (best != NULL)
			return TAILQ_FIRST(&best->tickets);
	}
	return NULL;
}

/* Take t out of its place; free its flow when it was the last. */
static void
queue_unlink(struct queue *q, struct queue_ticket *t)
{
	struct queue_flow	*f = t->flow;

	if (f == NULL) {
		TAILQ_REMOVE(&q->front, t, entry);
	} else {
		TAILQ_REMOVE(&f->tickets, t, entry);
		q->nprio[f->priority]--;
		if (TAILQ_EMPTY(&f->tickets)) {
			TAILQ_REMOVE(&q->flows[f->priority], f, entry);
			q->weights[f->priority] -= f->weight;
			free(f);
		}
		t->flow = NULL;
	}
	t->queued = 0;
	q->n--;
}

/* Take t, the request queue_next() chose, out of q as admitted. */
void
queue_take(struct queue *q, struct queue_ticket *t)
{
	struct queue_flow	*f, *chosen = t->flow;

	if (chosen != NULL) {
		TAILQ_FOREACH(f, &q->flows[chosen->priority], entry)
			f->credit += f->weight;
		chosen->credit -= q->weights[chosen->priority];
	}
	queue_unlink(q, t);
}

/* Take t out of q; return 1 if it was at the head of its flow. */
int
queue_withdraw(struct queue *q, struct queue_ticket *t)
{
	int	was_head;

	if (!t->queued)
		return 0;
	was_head = t->flow == NULL ? TAILQ_FIRST(&q->front) == t :
	    TAILQ_FIRST(&t->flow->tickets) == t;
	queue_unlink(q, t);
	return was_head;
}

/* Admit requests while the limiter agrees; return the wait for the next. */
uint64_t
queue_pump(struct queue *q, struct limiter *lm, uint64_t now_ms, size_t *n)
{
	struct queue_ticket	*t;
	uint64_t		 wait_ms = 0;

	*n = 0;
	while ((t = queue_next(q, q->nprio[QUEUE_INTERACTIVE] == 0)) !=
	    NULL) {
		switch (limiter_acquire(lm, t->tokens, now_ms, &wait_ms)) {
		case LIMITER_WAIT:
			return wait_ms;
		case LIMITER_TOO_LARGE:	/* limits lowered by a reload */
			queue_withdraw(q, t);
			t->too_large(t, t->arg);
			break;
		case LIMITER_ADMIT:
			queue_take(q, t);
			(*n)++;
			t->admitted(t, t->arg);
			break;
		}
	}
	return 0;
}
