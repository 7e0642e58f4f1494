/* SPDX-License-Identifier: ISC */
/*
 * fake_provider: an admission backend (provider.h) whose decisions the
 * test makes, linked in place of provider.c by the state machine tests.
 *
 * provider_request() only files a ticket.  The test decides it with
 * fake_provider_decide() (a grant takes a slot with an id of its own) and
 * runs the callbacks of what it decided with fake_provider_deliver(), so
 * a decision can be made and then withdrawn before it arrives.  The fake
 * keeps books of every slot and fails the running test at once on a
 * release of a slot that is not held (twice, or never granted).
 */
#ifndef FAKE_PROVIDER_H
#define FAKE_PROVIDER_H

#include <stddef.h>
#include <stdint.h>

#include "admission.h"

struct config;
struct provider;

/* Most requests, and slots, one fake provider keeps books of. */
#define FAKE_PROVIDER_MAX	256

/* What the fake saw, for the test to read. */
struct fake_provider_books {
	size_t		requests;		/* provider_request() calls */
	int		front[FAKE_PROVIDER_MAX];	/* of each request */
	int64_t		tokens[FAKE_PROVIDER_MAX];	/* of each request */
	size_t		withdrawals;		/* waiting or decided */
	size_t		granted;
	size_t		released;		/* provider_release() */
	size_t		handed_back;		/* withdrawn with a grant */
	int64_t		unused_tokens;		/* refunded by releases */
	size_t		pauses;
	uint64_t	pause_ms;		/* the last pause */
	size_t		retries;
	size_t		refusals;
	size_t		reconciles;
	int64_t		reconcile_delta;	/* summed */
	size_t		observed;		/* provider_observe() calls */
};

/* Return a fake provider for cf's provider name (cf is referenced). */
struct provider	*fake_provider_new(struct config *cf, const char *name);
/*
 * Free p, which provider_find() (by name, among the live fakes) then no
 * longer finds; the test's reference must be the last.
 */
void		 fake_provider_free(struct provider *p);
/* Return p's books. */
const struct fake_provider_books *fake_provider_books(struct provider *p);
/* Return the waiting ticket i (0: the first filed), or NULL. */
struct admit_ticket *fake_provider_waiting(struct provider *p, size_t i);
/* Return how many tickets wait for a decision. */
size_t		 fake_provider_nwaiting(struct provider *p);
/* Return how many decisions are made and not yet delivered. */
size_t		 fake_provider_ndelivering(struct provider *p);
/*
 * Decide the waiting ticket t (a grant takes a slot); its callback runs
 * at the next fake_provider_deliver().
 */
void		 fake_provider_decide(struct admit_ticket *t,
		    enum admit_verdict v);
/* Run the callbacks of every decision made, in the order made. */
void		 fake_provider_deliver(struct provider *p);
/* Set what provider_retry_after_ms() answers (and retry_ms of FULL). */
void		 fake_provider_set_retry_after(struct provider *p,
		    uint64_t ms);
/* Return how many references p has (the test's own is one). */
unsigned	 fake_provider_refs(struct provider *p);
/*
 * Fail the running test unless p's books balance: nothing waits or is on
 * its way, and every slot granted was released or handed back once.
 */
void		 fake_provider_assert_balanced(struct provider *p);

#endif /* FAKE_PROVIDER_H */
