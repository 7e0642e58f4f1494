/* SPDX-License-Identifier: ISC */
/*
 * queue: a provider's FIFO of requests waiting for admission.
 *
 * Only the head is ever offered to the limiter, so a large request at the
 * head is never overtaken by smaller ones behind it (no starvation), and a
 * retry goes in at the head.  Withdrawal (a client gone, a deadline
 * passed) is O(1).  Pure: the time is passed in, so the queue is tested
 * with the limiter on a simulated clock; provider.c owns the timer that
 * runs queue_pump().
 */
#ifndef QUEUE_H
#define QUEUE_H

#include <sys/queue.h>

#include <stddef.h>
#include <stdint.h>

struct limiter;

/* What a waiting request leaves in the queue. */
struct queue_ticket {
	int64_t			 tokens;	/* estimate; 0 if unlimited */
	void			(*admitted)(struct queue_ticket *, void *);
	/* Its estimate no longer fits the (reloaded) token bucket. */
	void			(*too_large)(struct queue_ticket *, void *);
	void			*arg;
	int			 queued;
	TAILQ_ENTRY(queue_ticket) entry;
};

struct queue {
	TAILQ_HEAD(, queue_ticket) tickets;
	size_t			 n;
};

enum queue_verdict {
	QUEUE_ADMIT,		/* taken at once: send now */
	QUEUE_QUEUED,		/* admitted() is called from queue_pump() */
	QUEUE_FULL,		/* max waiting already */
	QUEUE_TOO_LARGE		/* more tokens than the bucket can hold */
};

/* Make q empty. */
void	queue_init(struct queue *q);
/*
 * Ask for t's admission at now_ms.  Nobody waiting: the limiter decides at
 * once.  Otherwise t waits at the tail (at the head if front, a retry,
 * which is never refused for a full queue).  *wait_ms is what the limiter
 * said when it did not admit (LIMITER_WAIT_FOR_RELEASE included).
 */
enum queue_verdict queue_submit(struct queue *q, struct limiter *lm,
	    struct queue_ticket *t, int front, size_t max, uint64_t now_ms,
	    uint64_t *wait_ms);
/* Take t out of q; return 1 if it was the head (the next may fit now). */
int	queue_withdraw(struct queue *q, struct queue_ticket *t);
/*
 * Admit heads while the limiter agrees, calling each one's admitted()
 * (or too_large(), for one that can never fit after a reload);
 * return the limiter's wait for the head that stays (0 if q is empty), and
 * the number admitted in *n.
 */
uint64_t queue_pump(struct queue *q, struct limiter *lm, uint64_t now_ms,
	    size_t *n);

#endif /* QUEUE_H */
