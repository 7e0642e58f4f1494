/* SPDX-License-Identifier: ISC */
/*
 * deadline: one-shot timers for the request state machines.
 *
 * The exchange and attempt modules arm their timers through this small
 * interface rather than libevent's, so that their unit tests can link a
 * simulated clock in its place (tests/unit/fake_loop.c) and drive every
 * timeout on purpose.  In the daemon each deadline is one libevent timer
 * on the base given to deadline_init().
 */
#ifndef DEADLINE_H
#define DEADLINE_H

#include <stdint.h>

struct deadline;
struct event_base;

typedef void	deadline_cb(void *arg);

/* Use base for every deadline made from now on (at start-up). */
void		 deadline_init(struct event_base *base);
/* Return a disarmed deadline that calls cb(arg) when it passes. */
struct deadline	*deadline_new(deadline_cb *cb, void *arg);
/* Free d (disarming it); accepts NULL. */
void		 deadline_free(struct deadline *d);
/* (Re)arm d to pass ms from now; 0 means on the next loop turn. */
void		 deadline_arm_ms(struct deadline *d, uint64_t ms);
/* (Re)arm d to pass seconds from now (negative counts as 0). */
void		 deadline_arm(struct deadline *d, double seconds);
/* Disarm d. */
void		 deadline_stop(struct deadline *d);

#endif /* DEADLINE_H */
