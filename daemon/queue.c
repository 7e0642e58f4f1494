/* SPDX-License-Identifier: ISC */
/*
 * queue: FIFO admission in front of a limiter.  The limiter only does the
 * arithmetic; this module decides who is asked, in which order.  It does
 * not keep deadlines (each request runs its own timer) or timers.
 */
#include <sys/queue.h>

#include <stddef.h>
#include <stdint.h>

#include "limiter.h"
#include "queue.h"

/* Make q empty. */
void
queue_init(struct queue *q)
{
	TAILQ_INIT(&q->tickets);
	q->n = 0;
}

/* Ask for t's admission at now_ms; wait in q if it cannot be now. */
enum queue_verdict
queue_submit(struct queue *q, struct limiter *lm, struct queue_ticket *t,
    int front, size_t max, uint64_t now_ms, uint64_t *wait_ms)
{
	*wait_ms = 0;
	if (limiter_too_large(lm, t->tokens))
		return QUEUE_TOO_LARGE;
	if (TAILQ_EMPTY(&q->tickets) && limiter_acquire(lm, t->tokens, now_ms,
	    wait_ms) == LIMITER_ADMIT)
		return QUEUE_ADMIT;
	if (!front && q->n >= max)
		return QUEUE_FULL;
	if (front)
		TAILQ_INSERT_HEAD(&q->tickets, t, entry);
	else
		TAILQ_INSERT_TAIL(&q->tickets, t, entry);
	t->queued = 1;
	q->n++;
	return QUEUE_QUEUED;
}

/* Take t out of q; return 1 if it was the head. */
int
queue_withdraw(struct queue *q, struct queue_ticket *t)
{
	int	was_head;

	if (!t->queued)
		return 0;
	was_head = TAILQ_FIRST(&q->tickets) == t;
	TAILQ_REMOVE(&q->tickets, t, entry);
	t->queued = 0;
	q->n--;
	return was_head;
}

/* Admit heads while the limiter agrees; return the wait for the next. */
uint64_t
queue_pump(struct queue *q, struct limiter *lm, uint64_t now_ms, size_t *n)
{
	struct queue_ticket	*t;
	uint64_t		 wait_ms = 0;

	*n = 0;
	while ((t = TAILQ_FIRST(&q->tickets)) != NULL) {
		switch (limiter_acquire(lm, t->tokens, now_ms, &wait_ms)) {
		case LIMITER_WAIT:
			return wait_ms;
		case LIMITER_TOO_LARGE:	/* limits lowered by a reload */
			queue_withdraw(q, t);
			t->too_large(t, t->arg);
			break;
		case LIMITER_ADMIT:
			queue_withdraw(q, t);
			(*n)++;
			t->admitted(t, t->arg);
			break;
		}
	}
	return 0;
}
