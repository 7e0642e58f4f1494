/* SPDX-License-Identifier: ISC */
/*
 * shared: the admission backend of the providers with shared = true
 * (SPEC 14): their buckets, slots and 429 pause live in Redis, decided by
 * one script (limits.lua) that every daemon on that Redis runs.
 *
 * The local queue keeps its order (SPEC 5 and 11); its first waiting
 * requests, up to SHARED_BATCH of one lane, are asked about in one call,
 * and the script admits the longest prefix that fits.  While a call is
 * out, new arrivals wait for it, so every round trip can admit many.  A
 * grant is a lease on a slot, renewed every lease/3 while the request
 * runs and released when it ends; a "not yet" names how long, and a
 * release anywhere publishes a wake-up that every waiting daemon acts on.
 * When Redis cannot be reached, the provider falls back to its local
 * limiter with a share of each limit (the limit over the daemons seen
 * alive in the last minute), and returns to Redis by itself.
 */
#ifndef SHARED_H
#define SHARED_H

#include <stdint.h>

#include <jansson.h>

struct admit_ticket;
struct config;
struct event_base;
struct provider;
struct shared_prov;

/* Requests asked about in one call. */
#define SHARED_BATCH	32

/*
 * Start the daemon's link to cf's redis group when a provider is shared
 * (at start-up and on each reload; a changed redis group needs a
 * restart, and says so).
 */
void		 shared_sync(struct event_base *base, const struct config *cf);
/* Close the link (at exit, after the last request ended). */
void		 shared_stop(void);
/* Return provider p's share of the link, or NULL when none is up. */
struct shared_prov *shared_prov_new(struct provider *p, const char *name);
/* Free sp (its provider is being freed; nothing of it is in flight). */
void		 shared_prov_free(struct shared_prov *sp);
/* Return 1 if sp's decisions are made in Redis now. */
int		 shared_prov_up(const struct shared_prov *sp);
/* Return the daemons sp's provider was last seen shared by (>= 1). */
long long	 shared_prov_hosts(const struct shared_prov *sp);
/* Ask about the requests waiting, unless a call is out already. */
void		 shared_prov_pump(struct shared_prov *sp);
/* sp's queue emptied: leave the hosts' line now. */
void		 shared_prov_idle(struct shared_prov *sp);
/* t, being asked about, was withdrawn: a grant for it goes back. */
void		 shared_prov_forget(struct shared_prov *sp,
		    struct admit_ticket *t);
/*
 * Give back t's lease and unused tokens (and its request when never
 * sent); a wake-up goes to every daemon.
 */
void		 shared_prov_release(struct shared_prov *sp,
		    const struct admit_ticket *t, int64_t unused_tokens,
		    int refund_request);
/* Correct the token bucket by delta (usage minus estimate). */
void		 shared_prov_adjust(struct shared_prov *sp,
		    const struct admit_ticket *t, int64_t delta);
/* An upstream 429: every daemon pauses until ms from now. */
void		 shared_prov_pause(struct shared_prov *sp,
		    const struct admit_ticket *t, uint64_t ms);
/* The upstream says only these remain (-1: not said). */
void		 shared_prov_observe(struct shared_prov *sp,
		    const struct admit_ticket *t, int64_t requests,
		    int64_t tokens);
/* /status's backend object for sp (NULL: {"kind": "local"}). */
json_t		*shared_prov_status(const struct shared_prov *sp);

#endif /* SHARED_H */
