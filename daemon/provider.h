/* SPDX-License-Identifier: ISC */
/*
 * provider: a provider's runtime state: its admission limits, its queue
 * of waiting requests (one FIFO lane per model group, SPEC 16), its and
 * its groups' upstream-429 cooldowns, its totals.
 *
 * The state is keyed by provider name and outlives configurations: a
 * reload (provider_sync) updates the limits of a live provider in place,
 * creates new ones, and retires removed ones, which take no new requests
 * while their in-flight ones finish.  The admission arithmetic itself is
 * behind the admission interface (limiter.h, today local; tomorrow a
 * shared backend) and the queue's order is queue.c's; this module owns
 * the timer that runs the queue, the totals, and the reload.
 */
#ifndef PROVIDER_H
#define PROVIDER_H

#include <stddef.h>
#include <stdint.h>

struct config;
struct event_base;
struct headers_ratelimit;
struct metrics_model;
struct metrics_provider;
struct provider_group;
struct provider;
struct provider_config;
struct admit_ticket;

/* Why a provider refused, for totals and logs. */
enum provider_refusal {
	PROVIDER_REFUSED_QUEUE_FULL,
	PROVIDER_REFUSED_QUEUE_TIMEOUT,
	PROVIDER_REFUSED_TOO_LARGE,
	PROVIDER_REFUSED_SHUTDOWN
};

/*
 * Bring the runtime providers in line with cf (at start-up and on every
 * reload): keep state by name, apply changed limits at once, create new
 * providers, retire removed ones.
 */
void		 provider_sync(struct event_base *base,
		    const struct config *cf);
/* Free every provider (at exit, after every stream has ended). */
void		 provider_free_all(void);
/* Return the live provider called name, or NULL. */
struct provider	*provider_find(const char *name);
/* Return p's current configuration. */
const struct provider_config *provider_config(const struct provider *p);
/* Return p's metrics block (shared by every provider of its name). */
struct metrics_provider *provider_metrics(const struct provider *p);
/* Take a reference that keeps p alive while a request uses it. */
void		 provider_ref(struct provider *p);
/* Drop that reference (a retired provider is freed with the last). */
void		 provider_unref(struct provider *p);

/*
 * Ask for t's admission (admission.h): t->decided is called with the
 * verdict on a later loop turn, never from inside this call.
 */
void		 provider_request(struct provider *p,
		    struct admit_ticket *t);
/* Take t back in any state; a grant on its way is handed back. */
void		 provider_withdraw(struct provider *p,
		    struct admit_ticket *t);
/*
 * Give back the slot t was granted, refunding unused_tokens of its
 * estimate (all of it when the attempt consumed nothing); its request
 * stays paid, since each attempt pays again.
 */
void		 provider_release(struct provider *p, struct admit_ticket *t,
		    int64_t unused_tokens);
/*
 * Return how long until a request of tokens could be admitted (its
 * buckets' refill behind the queue, the pause): a 429's Retry-After, at
 * least 1000 ms.
 */
uint64_t	 provider_retry_after_ms(struct provider *p,
		    const struct admit_ticket *t);
/* Return t's queue_timeout: its model group's if set, else dflt. */
double		 provider_queue_timeout(const struct provider *p,
		    const struct admit_ticket *t, double dflt);
/*
 * Correct the token buckets t was admitted with (the provider's, its
 * group's) by real usage minus the estimate.
 */
void		 provider_reconcile(struct provider *p,
		    const struct admit_ticket *t, int64_t delta);
/* Count a refusal of the daemon's own. */
void		 provider_count_refusal(struct provider *p,
		    enum provider_refusal why);
/* Count a retry. */
void		 provider_count_retry(struct provider *p);
/*
 * Read a response's rate-limit fields (names[i]: values[i]) into *rl and
 * lower the buckets to what the provider says remains: t's group's, or
 * p's when t has no group.
 */
void		 provider_observe(struct provider *p,
		    const struct admit_ticket *t, const char *const *names,
		    const char *const *values, size_t n,
		    struct headers_ratelimit *rl);
/*
 * An upstream 429 (not a billing error) for t: pause t's model group for
 * ms, or all of p when t has no group.
 */
void		 provider_pause(struct provider *p,
		    const struct admit_ticket *t, uint64_t ms);
/* Return group g's match text (it lives as long as its provider). */
const char	*provider_group_match(const struct provider_group *g);
/* Return group g's metrics block. */
struct metrics_model *provider_group_metrics(const struct provider_group *g);
/* Refresh the metrics gauges (in flight, queued) from every provider. */
void		 provider_metrics_gauges(void);
/* Return a new JSON array (jansson json_t *) describing every provider. */
void		*provider_status_json(void);

#endif /* PROVIDER_H */
