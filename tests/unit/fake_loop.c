/* SPDX-License-Identifier: ISC */
/*
 * fake_loop: clock.h and deadline.h on a simulated clock (see
 * fake_loop.h).  Deadlines live on one list and the earliest due is found
 * by a scan after every callback, so a callback that re-arms or frees a
 * deadline (its own or another) needs no special care: the scan sees the
 * list as the callback left it.  Ties fire in the order they were armed,
 * as libevent's timer heap does for equal times in practice.
 */
#include <sys/queue.h>
#include <sys/time.h>

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "clock.h"
#include "deadline.h"
#include "fake_loop.h"
#include "xmalloc.h"

/* The wall clock at FAKE_LOOP_START_MS: 2026-01-01T00:00:00Z. */
#define FAKE_LOOP_WALL_MS	INT64_C(1767225600000)

struct deadline {
	deadline_cb		*cb;
	void			*arg;
	int			 armed;
	uint64_t		 due_ms;
	uint64_t		 seq;		/* arming order, for ties */
	TAILQ_ENTRY(deadline)	 entry;
};

static TAILQ_HEAD(, deadline)	fake_loop_list =
    TAILQ_HEAD_INITIALIZER(fake_loop_list);
static uint64_t			fake_loop_now = FAKE_LOOP_START_MS;
static uint64_t			fake_loop_seq;

static struct deadline *fake_loop_earliest(void);

/*
 * Set the clock back to its start and drop what a failed case left (its
 * attempts are abandoned, never called again).
 */
void
fake_loop_reset(void)
{
	struct deadline	*d;

	while ((d = TAILQ_FIRST(&fake_loop_list)) != NULL) {
		TAILQ_REMOVE(&fake_loop_list, d, entry);
		free(d);
	}
	fake_loop_now = FAKE_LOOP_START_MS;
}

/* Return the armed deadline due first (earliest armed on a tie). */
static struct deadline *
fake_loop_earliest(void)
{
	struct deadline	*d, *best = NULL;

	TAILQ_FOREACH(d, &fake_loop_list, entry) {
		if (!d->armed)
			continue;
		if (best == NULL || d->due_ms < best->due_ms ||
		    (d->due_ms == best->due_ms && d->seq < best->seq))
			best = d;
	}
	return best;
}

/* Move the clock ms forward, firing each deadline due at its own time. */
void
fake_loop_advance(uint64_t ms)
{
	struct deadline	*d;
	uint64_t	 until = fake_loop_now + ms;

	while ((d = fake_loop_earliest()) != NULL && d->due_ms <= until) {
		if (d->due_ms > fake_loop_now)
			fake_loop_now = d->due_ms;
		d->armed = 0;
		d->cb(d->arg);		/* may free d or arm anything */
	}
	fake_loop_now = until;
}

/* Return the ms until the earliest armed deadline, or UINT64_MAX. */
uint64_t
fake_loop_next_ms(void)
{
	struct deadline	*d = fake_loop_earliest();

	if (d == NULL)
		return UINT64_MAX;
	return d->due_ms > fake_loop_now ? d->due_ms - fake_loop_now : 0;
}

/* Return how many deadlines exist. */
size_t
fake_loop_live(void)
{
	struct deadline	*d;
	size_t		 n = 0;

	TAILQ_FOREACH(d, &fake_loop_list, entry)
		n++;
	return n;
}

/* Return how many deadlines are armed. */
size_t
fake_loop_armed(void)
{
	struct deadline	*d;
	size_t		 n = 0;

	TAILQ_FOREACH(d, &fake_loop_list, entry)
		n += d->armed;
	return n;
}

/* Return the simulated monotonic clock. */
uint64_t
clock_now_ms(void)
{
	return fake_loop_now;
}

/* Return a wall clock that moves with the simulated one. */
int64_t
clock_wall_ms(void)
{
	return FAKE_LOOP_WALL_MS + (int64_t)(fake_loop_now -
	    FAKE_LOOP_START_MS);
}

/* Return seconds (>= 0) as a timeval, as clock.c does. */
struct timeval
clock_tv_seconds(double seconds)
{
	struct timeval	tv;

	if (seconds < 0)
		seconds = 0;
	tv.tv_sec = (time_t)seconds;
	tv.tv_usec = (suseconds_t)((seconds - (double)tv.tv_sec) * 1e6);
	return tv;
}

/* Return milliseconds as a timeval, as clock.c does. */
struct timeval
clock_tv_ms(uint64_t ms)
{
	struct timeval	tv;

	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	return tv;
}

/* There is no event base: nothing to remember. */
void
deadline_init(struct event_base *base)
{
}

/* Return a disarmed deadline on the simulated clock. */
struct deadline *
deadline_new(deadline_cb *cb, void *arg)
{
	struct deadline	*d;

	d = xcalloc(1, sizeof *d);
	d->cb = cb;
	d->arg = arg;
	TAILQ_INSERT_TAIL(&fake_loop_list, d, entry);
	return d;
}

/* Free d (disarming it); accepts NULL, and d's own callback may call it. */
void
deadline_free(struct deadline *d)
{
	if (d == NULL)
		return;
	TAILQ_REMOVE(&fake_loop_list, d, entry);
	free(d);
}

/* (Re)arm d to pass ms from now; 0 passes at the next advance. */
void
deadline_arm_ms(struct deadline *d, uint64_t ms)
{
	d->armed = 1;
	d->due_ms = fake_loop_now + ms;
	d->seq = ++fake_loop_seq;
}

/* (Re)arm d to pass seconds from now, rounded to the millisecond. */
void
deadline_arm(struct deadline *d, double seconds)
{
	deadline_arm_ms(d, seconds > 0 ? (uint64_t)llround(seconds * 1000) :
	    0);
}

/* Disarm d. */
void
deadline_stop(struct deadline *d)
{
	d->armed = 0;
}
