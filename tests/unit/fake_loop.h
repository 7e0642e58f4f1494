/* SPDX-License-Identifier: ISC */
/*
 * fake_loop: a simulated monotonic clock and the deadlines that run on it,
 * linked in place of clock.c and deadline.c by the state machine tests.
 *
 * Time moves only when a test calls fake_loop_advance(), which fires the
 * deadlines that fall due on the way, earliest first, each at its own
 * time; a callback may arm, re-arm, stop or free any deadline, its own
 * included.  Nothing here knows about sockets or libevent.
 */
#ifndef FAKE_LOOP_H
#define FAKE_LOOP_H

#include <stddef.h>
#include <stdint.h>

/* Where fake_loop_reset() puts the clock: never 0, which means "unset". */
#define FAKE_LOOP_START_MS	1000000

/* Set the clock to FAKE_LOOP_START_MS; drop any deadline left. */
void		fake_loop_reset(void);
/* Move the clock ms forward, firing what falls due, in time order. */
void		fake_loop_advance(uint64_t ms);
/* Return the ms until the earliest armed deadline, or UINT64_MAX. */
uint64_t	fake_loop_next_ms(void);
/* Return how many deadlines exist (made and not freed). */
size_t		fake_loop_live(void);
/* Return how many deadlines are armed. */
size_t		fake_loop_armed(void);

#endif /* FAKE_LOOP_H */
