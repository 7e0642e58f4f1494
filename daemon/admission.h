/* SPDX-License-Identifier: ISC */
/*
 * admission: how an attempt asks its provider for the right to send, and
 * gives that right back.
 *
 * A request for admission is a ticket.  The decision always arrives
 * through the ticket's callback, never from inside the call that asked,
 * even when the local limiter could say yes at once: a caller never has
 * to cope with its own callback running under its feet, and a backend
 * that asks a server (SPEC 14) fits the same contract, with as many
 * decisions outstanding per provider as it likes.  A granted ticket holds
 * a slot with an identity of its own (its id; later a lease renewed by
 * id), given back exactly once with provider_release().  A ticket may be
 * withdrawn in any state: waiting, or with its decision on the way, in
 * which case a grant is handed back to the provider rather than lost.
 *
 * The provider functions that take tickets (provider.h) are this
 * interface's one implementation today: sched.c's lanes (queue.c's FIFO,
 * one per model group) in front of limiter.c's arithmetic.  A ticket
 * names its model; the backend finds its group when it asks, and the
 * slot, the pause, the usage and the remaining headers then go to that
 * group as well as to the provider.  The ticket names its client and
 * priority (SPEC 11): the queues share admissions between the clients
 * waiting by weight, and keep each client's numbers (its row) as its
 * requests wait, hold slots and give them back.
 */
#ifndef ADMISSION_H
#define ADMISSION_H

#include <sys/queue.h>

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#include "queue.h"

struct admit_ticket;
struct client;
struct client_row;
struct provider_group;

enum admit_verdict {
	ADMIT_GRANTED,		/* the ticket holds a slot: send now */
	ADMIT_FULL,		/* queue_max reached: 429, retry_ms */
	ADMIT_TOO_LARGE,	/* estimate above the token bucket: 413 */
	ADMIT_RETIRED		/* provider removed by a reload: 503 */
};

/* Where a ticket is; the backend's to set. */
enum admit_state {
	ADMIT_IDLE,		/* not asked, or decided and delivered */
	ADMIT_WAITING,		/* in the provider's queue */
	ADMIT_ASKING,		/* out of it, asked about (SPEC 14) */
	ADMIT_DELIVERING	/* decided, its callback not yet run */
};

typedef void	admit_cb(struct admit_ticket *t, enum admit_verdict v,
		    void *arg);

struct admit_ticket {
	/* Set by the caller before provider_request(). */
	int64_t			 tokens;	/* estimate; 0 if unlimited */
	int			 front;		/* a retry: ahead of the rest */
	const char		*model;		/* the body's; NULL: none */
	size_t			 model_len;	/* not NUL-terminated */
	struct client		*client;	/* who asks; NULL: default */
	enum queue_priority	 priority;	/* SPEC 11 */
	admit_cb		*decided;
	void			*arg;
	/* Set by the backend. */
	enum admit_state	 state;
	enum admit_verdict	 verdict;	/* while DELIVERING */
	uint64_t		 slot;		/* held slot's id; 0: none */
	int			 remote;	/* that slot is a Redis lease */
	int			 adopted;	/* ...counted locally as well */
	uint64_t		 retry_ms;	/* with ADMIT_FULL */
	uint64_t		 asked_ms;	/* when it last asked */
	struct provider_group	*group;		/* its model's; NULL: none */
	struct client_row	*row;		/* its client's numbers */
	struct queue_ticket	 qt;		/* its place in the queue */
	TAILQ_ENTRY(admit_ticket) entry;	/* decisions to deliver */
	TAILQ_ENTRY(admit_ticket) held;		/* slots held */
};

/* The ticket whose queue place is qt. */
#define ADMIT_TICKET(qt) ((struct admit_ticket *)(void *)((char *)(qt) - \
	offsetof(struct admit_ticket, qt)))

/*
 * An invariant of the admission state machine (a slot given back once, a
 * ticket in one place at a time): checked unless built with NDEBUG.
 */
#define ADMIT_ASSERT(x)	assert(x)

#endif /* ADMISSION_H */
