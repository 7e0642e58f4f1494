/* SPDX-License-Identifier: ISC */
/*
 * queue: a provider's (or a model group's) requests waiting for
 * admission, shared fairly between the clients that wait (SPEC 11).
 *
 * Each client has a flow per priority: its own FIFO.  The next request
 * offered to the limiter is chosen among the flows with requests
 * waiting by smooth weighted round robin (nginx's upstream algorithm:
 * every pick adds each flow's weight to its credit, the richest flow
 * wins and pays the sum of the weights), so clients of weights 1 and 3
 * get exactly 1 and 3 of every 4 admissions while both wait, and a
 * client that arrives with one request is picked within one round.  An
 * interactive flow always goes before a batch one.  Retries (front) go
 * before every flow, in their own FIFO.  Only the chosen head is offered
 * to the limiter, and the choice changes only when a request is taken or
 * a client starts waiting (who then pays for its turn), so a large
 * request is not overtaken forever by smaller ones; with one client this
 * is SPEC 5's FIFO exactly.  Withdrawal (a client gone, a
 * deadline passed) is O(1) in its flow.  Pure: the time is passed in, so
 * the queue is tested with the limiter on a simulated clock; provider.c
 * owns the timer that runs queue_pump().
 */
#ifndef QUEUE_H
#define QUEUE_H

#include <sys/queue.h>

#include <stddef.h>
#include <stdint.h>

struct limiter;
struct queue_flow;

/* Priorities, in the order they are served. */
enum queue_priority {
	QUEUE_INTERACTIVE,
	QUEUE_BATCH,
	QUEUE_NPRIORITIES
};

/* What a waiting request leaves in the queue. */
struct queue_ticket {
	int64_t			 tokens;	/* estimate; 0 if unlimited */
	const void		*who;		/* its client; only compared */
	int			 weight;	/* its client's, >= 1 */
	enum queue_priority	 priority;
	void			(*admitted)(struct queue_ticket *, void *);
	/* Its estimate no longer fits the (reloaded) token bucket. */
	void			(*too_large)(struct queue_ticket *, void *);
	void			*arg;
	int			 queued;
	struct queue_flow	*flow;		/* NULL: a retry, in front */
	TAILQ_ENTRY(queue_ticket) entry;
};

TAILQ_HEAD(queue_tickets, queue_ticket);

/* One client's waiting requests of one priority (queue.c's own). */
struct queue_flow {
	const void		*who;
	int			 weight;
	int64_t			 credit;	/* weighted round robin's */
	enum queue_priority	 priority;
	struct queue_tickets	 tickets;
	TAILQ_ENTRY(queue_flow)	 entry;
};

struct queue {
	struct queue_tickets	 front;		/* retries */
	/* Flows with requests waiting, per priority, oldest first. */
	TAILQ_HEAD(, queue_flow) flows[QUEUE_NPRIORITIES];
	int64_t			 weights[QUEUE_NPRIORITIES];	/* sums */
	size_t			 n;		/* waiting, all of them */
	size_t			 nprio[QUEUE_NPRIORITIES];
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
 * once.  Otherwise t waits in its client's flow (in front if front, a
 * retry, which is never refused for a full queue).  *wait_ms is what the
 * limiter said when it did not admit (LIMITER_WAIT_FOR_RELEASE included).
 */
enum queue_verdict queue_submit(struct queue *q, struct limiter *lm,
	    struct queue_ticket *t, int front, size_t max, uint64_t now_ms,
	    uint64_t *wait_ms);
/* Put t in q without asking anyone (sched.c decides for its lanes). */
void	queue_enqueue(struct queue *q, struct queue_ticket *t, int front);
/*
 * Put t back before everything waiting in q: it was taken to be asked
 * about and the answer was "not yet" (a shared backend, SPEC 14).
 */
void	queue_requeue(struct queue *q, struct queue_ticket *t);
/*
 * Return the request to offer next (NULL: none), batch ones only when
 * batch_ok; nothing changes until queue_take() takes it.
 */
struct queue_ticket *queue_next(const struct queue *q, int batch_ok);
/* Take t, queue_next()'s answer, out of q as admitted: its flow pays. */
void	queue_take(struct queue *q, struct queue_ticket *t);
/*
 * Take t out of q (a withdrawal); return 1 if it was at the head of its
 * flow (the pump may admit another now).
 */
int	queue_withdraw(struct queue *q, struct queue_ticket *t);
/*
 * Admit requests while the limiter agrees, calling each one's admitted()
 * (or too_large(), for one that can never fit after a reload); return the
 * limiter's wait for the one that stays (0 if q is empty), and the number
 * admitted in *n.
 */
uint64_t queue_pump(struct queue *q, struct limiter *lm, uint64_t now_ms,
	    size_t *n);

#endif /* QUEUE_H */
