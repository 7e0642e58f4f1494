/* SPDX-License-Identifier: ISC */
/*
 * deadline: one libevent timer each, on the daemon's one event base.
 */
#include <stdint.h>
#include <stdlib.h>

#include <event2/event.h>
#include <event2/event_struct.h>	/* struct event inside ours */

#include "clock.h"
#include "deadline.h"
#include "log.h"
#include "xmalloc.h"

/* One allocation per deadline: the event is inside it (event_assign). */
struct deadline {
	struct event	 ev;
	deadline_cb	*cb;
	void		*arg;
};

static struct event_base	*deadline_base;

static void	deadline_fire_cb(evutil_socket_t fd, short what, void *arg);

/* Use base for every deadline made from now on. */
void
deadline_init(struct event_base *base)
{
	deadline_base = base;
}

/* Return a disarmed deadline that calls cb(arg) when it passes. */
struct deadline *
deadline_new(deadline_cb *cb, void *arg)
{
	struct deadline	*d;

	d = xcalloc(1, sizeof *d);
	d->cb = cb;
	d->arg = arg;
	if (evtimer_assign(&d->ev, deadline_base, deadline_fire_cb, d) == -1)
		fatalx("%s: evtimer_assign failed", __func__);
	return d;
}

/* Free d (disarming it); accepts NULL. */
void
deadline_free(struct deadline *d)
{
	if (d == NULL)
		return;
	evtimer_del(&d->ev);
	free(d);
}

/* (Re)arm d to pass ms from now. */
void
deadline_arm_ms(struct deadline *d, uint64_t ms)
{
	struct timeval	tv = clock_tv_ms(ms);

	evtimer_add(&d->ev, &tv);
}

/* (Re)arm d to pass seconds from now. */
void
deadline_arm(struct deadline *d, double seconds)
{
	struct timeval	tv = clock_tv_seconds(seconds);

	evtimer_add(&d->ev, &tv);
}

/* Disarm d. */
void
deadline_stop(struct deadline *d)
{
	evtimer_del(&d->ev);
}

/* libevent: the timer passed. */
static void
deadline_fire_cb(evutil_socket_t fd, short what, void *arg)
{
	struct deadline	*d = arg;

	d->cb(d->arg);
}
