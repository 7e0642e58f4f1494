/* SPDX-License-Identifier: ISC */
/*
 * provider: runtime state per provider, its queue and its pump: the
 * local implementation of the admission interface (admission.h).
 *
 * An attempt asks provider_request() for admission with a ticket;
 * sched.c keeps the order (a FIFO lane per model group, only heads are
 * ever offered to the limiters, a retry joins its lane's head).  A
 * decision made at once is delivered from a per-provider event on the
 * next loop turn, never from inside the call that asked.  The pump runs
 * from one timer per provider: armed for the time the limiters name, or
 * at once when a slot is released or a head changes; it admits heads
 * until the limiters say wait.  Each granted slot has an id and sits in
 * the provider's list of held slots until it is released, exactly once.
 * A model group (struct provider_group) is found by its match text
 * across reloads and never freed before its provider: a group a reload
 * removes stops matching and limits nothing more, while tickets that
 * still point at it finish.  Queue deadlines are the attempts' own
 * (attempt.c), and withdrawal is O(1), so the queue never needs scanning.
 */
#include <sys/queue.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <jansson.h>

#include "admission.h"
#include "client.h"
#include "clock.h"
#include "config.h"
#include "headers.h"
#include "limiter.h"
#include "log.h"
#include "metrics.h"
#include "provider.h"
#include "provint.h"
#include "queue.h"
#include "sched.h"
#include "shared.h"
#include "xmalloc.h"

/* Longest pause an upstream 429 can impose. */
#define PROVIDER_MAX_PAUSE_MS	(3600 * 1000)

struct provider_list	provider_list =
    TAILQ_HEAD_INITIALIZER(provider_list);

static void	provider_limits(const struct provider_config *pc,
		    struct limiter_limits *l);
static struct provider *provider_new(struct event_base *base,
		    struct config *cf, const struct provider_config *pc);
static void	provider_update(struct provider *p, struct config *cf,
		    const struct provider_config *pc);
static void	provider_free(struct provider *p);
static void	provider_sync_groups(struct provider *p);
static void	provider_group_limits(const struct model_config *mc,
		    struct limiter_limits *l);
static struct provider_group *provider_group_find(struct provider *p,
		    const char *model, size_t len);
static struct sched_lane *provider_lane(struct provider *p,
		    const struct admit_ticket *t);
static void	provider_prepare(struct provider *p, struct admit_ticket *t);
static void	provider_count_queued(struct admit_ticket *t, int delta);
static void	provider_give_back(struct provider *p,
		    struct admit_ticket *t, int64_t unused_tokens,
		    int refund_request);
static void	provider_grant(struct provider *p, struct admit_ticket *t,
		    uint64_t slot);
static void	provider_hand_back(struct provider *p,
		    struct admit_ticket *t);
static void	provider_deliver(struct provider *p, struct admit_ticket *t,
		    enum admit_verdict v);
static void	provider_deliver_cb(evutil_socket_t fd, short what,
		    void *arg);
static void	provider_admitted_cb(struct queue_ticket *qt, void *arg);
static void	provider_too_large_cb(struct queue_ticket *qt, void *arg);
static void	provider_pump_cb(evutil_socket_t fd, short what, void *arg);

/* Fill l with pc's limits. */
static void
provider_limits(const struct provider_config *pc, struct limiter_limits *l)
{
	l->requests_per_minute = pc->requests_per_minute;
	l->burst = pc->burst;
	l->tokens_per_minute = pc->tokens_per_minute;
	l->max_concurrent = pc->max_concurrent;
}

/* Bring the runtime providers in line with cf. */
void
provider_sync(struct event_base *base, const struct config *ccf)
{
	struct config	*cf = (struct config *)ccf;	/* for references */
	struct provider	*p, *next;
	size_t		 i;

	shared_sync(base, cf);
	for (i = 0; i < cf->nproviders; i++) {
		if ((p = provider_find(cf->providers[i].name)) != NULL)
			provider_update(p, cf, &cf->providers[i]);
		else {
			/* TAILQ_INSERT_TAIL evaluates its element twice. */
			p = provider_new(base, cf, &cf->providers[i]);
			TAILQ_INSERT_TAIL(&provider_list, p, entry);
		}
	}
	for (p = TAILQ_FIRST(&provider_list); p != NULL; p = next) {
		next = TAILQ_NEXT(p, entry);
		if (p->retired || p->cf == cf)
			continue;
		log_info("provider %s: removed; its requests finish", p->name);
		p->retired = 1;
		provider_unref(p);		/* the registry's reference */
	}
}

/* Return a new provider for pc, referencing cf. */
static struct provider *
provider_new(struct event_base *base, struct config *cf,
    const struct provider_config *pc)
{
	struct provider		*p;
	struct limiter_limits	 l;

	p = xcalloc(1, sizeof *p);
	p->name = xstrdup(pc->name);
	p->cf = config_ref(cf);
	p->pc = pc;
	p->refs = 1;				/* the registry's */
	p->m = metrics_provider(pc->name);
	provider_limits(pc, &l);
	p->lm = limiter_new(&l, clock_now_ms());
	sched_init(&p->sched, p->lm);
	provider_sync_groups(p);
	TAILQ_INIT(&p->deliveries);
	TAILQ_INIT(&p->held);
	p->wake = evtimer_new(base, provider_pump_cb, p);
	p->deliver = event_new(base, -1, 0, provider_deliver_cb, p);
	if (p->wake == NULL || p->deliver == NULL)
		fatalx("%s: out of memory", __func__);
	if (pc->shared)
		p->sp = shared_prov_new(p, p->name);
	return p;
}

/* Move p to pc (a reload): new limits apply at once. */
static void
provider_update(struct provider *p, struct config *cf,
    const struct provider_config *pc)
{
	struct limiter_limits	l;

	config_ref(cf);
	config_unref(p->cf);
	p->cf = cf;
	p->pc = pc;
	provider_limits(pc, &l);
	limiter_set_limits(p->lm, &l, clock_now_ms());
	provider_sync_groups(p);
	if (pc->shared != (p->sp != NULL))
		log_warnx("provider %s: a change of shared needs a restart",
		    p->name);
	else if (p->sp != NULL && !shared_prov_up(p->sp))
		provider_share_limits(p, shared_prov_hosts(p->sp));
	provider_pump_soon(p);
}

/* Fill l with model group mc's limits; none for a removed group. */
static void
provider_group_limits(const struct model_config *mc, struct limiter_limits *l)
{
	memset(l, 0, sizeof *l);
	if (mc == NULL)
		return;
	l->requests_per_minute = mc->requests_per_minute;
	l->burst = mc->burst;
	l->tokens_per_minute = mc->tokens_per_minute;
	l->max_concurrent = mc->max_concurrent;
}

/*
 * Bring p's model groups in line with p->pc: keep a group's state by its
 * match, make new ones, and let removed ones limit nothing more.
 */
static void
provider_sync_groups(struct provider *p)
{
	struct provider_group	*g;
	struct limiter_limits	 l;
	uint64_t		 now = clock_now_ms();
	size_t			 i, j;

	for (j = 0; j < p->ngroups; j++)
		p->groups[j]->mc = NULL;
	for (i = 0; i < p->pc->nmodels; i++) {
		for (j = 0; j < p->ngroups; j++) {
			if (strcmp(p->groups[j]->match,
			    p->pc->models[i].match) == 0)
				break;
		}
		provider_group_limits(&p->pc->models[i], &l);
		if (j == p->ngroups) {
			g = xcalloc(1, sizeof *g);
			g->match = xstrdup(p->pc->models[i].match);
			g->lane = sched_add_lane(&p->sched, &l, now);
			g->m = metrics_model(p->m, g->match);
			p->groups = xreallocarray(p->groups, p->ngroups + 1,
			    sizeof *p->groups);
			p->groups[p->ngroups++] = g;
		}
		p->groups[j]->mc = &p->pc->models[i];
	}
	for (j = 0; j < p->ngroups; j++) {
		g = p->groups[j];
		provider_group_limits(g->mc, &l);
		limiter_set_limits(g->lane->lm, &l, now);
		g->lane->max = g->mc != NULL ? (size_t)g->mc->queue_max : 0;
	}
}

/* Return the live group that model (len bytes) belongs to, or NULL. */
static struct provider_group *
provider_group_find(struct provider *p, const char *model, size_t len)
{
	const struct model_config	*mc;
	size_t				 j;

	if (model == NULL ||
	    (mc = config_match_model(p->pc, model, len)) == NULL)
		return NULL;
	for (j = 0; j < p->ngroups; j++) {
		if (p->groups[j]->mc == mc)
			return p->groups[j];
	}
	return NULL;
}

/* Return the lane t waits in: its group's, or lane 0. */
static struct sched_lane *
provider_lane(struct provider *p, const struct admit_ticket *t)
{
	return t->group != NULL ? t->group->lane : p->sched.lanes[0];
}

/* Return group g's match text. */
const char *
provider_group_match(const struct provider_group *g)
{
	return g->match;
}

/* Return group g's metrics block. */
struct metrics_model *
provider_group_metrics(const struct provider_group *g)
{
	return g->m;
}

/* Free p and what it holds. */
static void
provider_free(struct provider *p)
{
	ADMIT_ASSERT(TAILQ_EMPTY(&p->held) && TAILQ_EMPTY(&p->deliveries));
	TAILQ_REMOVE(&provider_list, p, entry);
	shared_prov_free(p->sp);
	event_free(p->wake);
	event_free(p->deliver);
	sched_free(&p->sched);
	while (p->ngroups > 0) {
		free(p->groups[--p->ngroups]->match);
		free(p->groups[p->ngroups]);
	}
	free(p->groups);
	limiter_free(p->lm);
	config_unref(p->cf);
	free(p->name);
	free(p);
}

/* Free every provider (at exit, after every stream has ended). */
void
provider_free_all(void)
{
	struct provider	*p;

	shared_stop();		/* its calls end before their providers */
	while ((p = TAILQ_FIRST(&provider_list)) != NULL)
		provider_free(p);
	client_free_all();	/* their rows point at the metrics blocks */
	metrics_free_all();	/* the blocks outlived their providers */
}

/* Return the live provider called name, or NULL. */
struct provider *
provider_find(const char *name)
{
	struct provider	*p;

	TAILQ_FOREACH(p, &provider_list, entry) {
		if (!p->retired && strcmp(p->name, name) == 0)
			return p;
	}
	return NULL;
}

/* Return p's current configuration. */
const struct provider_config *
provider_config(const struct provider *p)
{
	return p->pc;
}

/* Return p's metrics block (shared by every provider of its name). */
struct metrics_provider *
provider_metrics(const struct provider *p)
{
	return p->m;
}

/* Take a reference that keeps p alive while a request uses it. */
void
provider_ref(struct provider *p)
{
	p->refs++;
}

/* Drop that reference (a retired provider is freed with the last). */
void
provider_unref(struct provider *p)
{
	if (--p->refs == 0)
		provider_free(p);
}

/*
 * Fill in what p's queue needs of t: its cost, its client's flow and
 * weight, its priority, its client's row and its model group.
 */
static void
provider_prepare(struct provider *p, struct admit_ticket *t)
{
	t->asked_ms = clock_now_ms();
	t->qt.tokens = t->tokens;
	t->qt.admitted = provider_admitted_cb;
	t->qt.too_large = provider_too_large_cb;
	t->qt.arg = p;
	t->qt.who = t->client;
	t->qt.weight = t->client != NULL ? client_weight(t->client) : 1;
	t->qt.priority = t->priority;
	t->row = t->client != NULL ? client_row(t->client, p->m) : NULL;
	t->group = provider_group_find(p, t->model, t->model_len);
}

/*
 * Ask for t's admission (at the front for a retry): its decision comes
 * through t->decided, on a later loop turn even when it is known now.
 */
void
provider_request(struct provider *p, struct admit_ticket *t)
{
	uint64_t	wait_ms;

	ADMIT_ASSERT(t->state == ADMIT_IDLE && t->slot == 0);
	provider_prepare(p, t);
	if (p->retired && !t->front) {
		provider_deliver(p, t, ADMIT_RETIRED);
		return;
	}
	switch (shared_prov_up(p->sp) ? sched_enqueue(&p->sched,
	    provider_lane(p, t), &t->qt, t->front, (size_t)p->pc->queue_max) :
	    sched_submit(&p->sched, provider_lane(p, t), &t->qt, t->front,
	    (size_t)p->pc->queue_max, t->asked_ms, &wait_ms)) {
	case QUEUE_ADMIT:
		provider_grant(p, t, ++p->last_slot);
		provider_deliver(p, t, ADMIT_GRANTED);
		return;
	case QUEUE_TOO_LARGE:
		provider_count_refusal(p, PROVIDER_REFUSED_TOO_LARGE);
		provider_deliver(p, t, ADMIT_TOO_LARGE);
		return;
	case QUEUE_FULL:
		provider_count_refusal(p, PROVIDER_REFUSED_QUEUE_FULL);
		t->retry_ms = provider_retry_after_ms(p, t);
		provider_deliver(p, t, ADMIT_FULL);
		return;
	case QUEUE_QUEUED:
		break;
	}
	t->state = ADMIT_WAITING;
	provider_count_queued(t, 1);
	if (t->qt.flow == NULL || TAILQ_FIRST(&t->qt.flow->tickets) == &t->qt)
		provider_pump_soon(p);	/* a new head may be next: ask */
}

/*
 * Take t back, wherever it is: out of the queue, or out of the decisions
 * on their way, handing back a slot it was granted.
 */
void
provider_withdraw(struct provider *p, struct admit_ticket *t)
{
	switch (t->state) {
	case ADMIT_WAITING:
		provider_count_queued(t, -1);
		if (sched_withdraw(&p->sched, provider_lane(p, t), &t->qt))
			provider_pump_soon(p);	/* the next may fit now */
		if (p->sp != NULL && p->sched.n == 0)
			shared_prov_idle(p->sp);
		break;
	case ADMIT_ASKING:
		shared_prov_forget(p->sp, t);	/* a grant goes back */
		break;
	case ADMIT_DELIVERING:
		TAILQ_REMOVE(&p->deliveries, t, entry);
		if (t->slot != 0)		/* never sent: all of it back */
			provider_hand_back(p, t);
		break;
	case ADMIT_IDLE:
		break;
	}
	t->state = ADMIT_IDLE;
}

/*
 * Give back t's slot where it was taken (the local limiters, or Redis
 * and, if counted there too, the local ones), with unused_tokens and,
 * when refund_request, the request itself.
 */
static void
provider_give_back(struct provider *p, struct admit_ticket *t,
    int64_t unused_tokens, int refund_request)
{
	TAILQ_REMOVE(&p->held, t, held);
	if (t->row != NULL)
		client_row_in_flight(t->row, -1);
	if (t->remote) {
		shared_prov_release(p->sp, t, unused_tokens, refund_request);
		p->remote_held--;
		if (t->adopted) {
			sched_release(&p->sched, provider_lane(p, t));
			p->remote_adopted--;
		}
	} else {
		sched_release(&p->sched, provider_lane(p, t));
		if (unused_tokens > 0 || refund_request)
			sched_refund(&p->sched, provider_lane(p, t),
			    unused_tokens, refund_request, clock_now_ms());
	}
	t->slot = 0;
	t->remote = 0;
	t->adopted = 0;
}

/* Give back the slot t holds, refunding unused_tokens of its estimate. */
void
provider_release(struct provider *p, struct admit_ticket *t,
    int64_t unused_tokens)
{
	ADMIT_ASSERT(t->slot != 0 && t->state == ADMIT_IDLE);
	provider_give_back(p, t, unused_tokens, 0);
	if (p->sched.n > 0)
		provider_pump_soon(p);
}

/* Count t joining (+1) or leaving (-1) the queue in its client's row. */
static void
provider_count_queued(struct admit_ticket *t, int delta)
{
	if (t->row != NULL)
		client_row_queued(t->row, delta);
}

/* Give t slot, its own: a limiter, local or shared, has taken one. */
static void
provider_grant(struct provider *p, struct admit_ticket *t, uint64_t slot)
{
	p->admitted++;
	t->slot = slot;
	TAILQ_INSERT_TAIL(&p->held, t, held);
	if (t->row != NULL)
		client_row_in_flight(t->row, 1);
}

/* Take t, the queue's next, out of lane to ask the shared backend. */
void
provider_take_asked(struct provider *p, struct admit_ticket *t,
    struct sched_lane *lane)
{
	sched_take(&p->sched, lane, &t->qt);
	provider_count_queued(t, -1);
	t->state = ADMIT_ASKING;
}

/* t was asked about and not admitted: back before everyone waiting. */
void
provider_requeue_asked(struct provider *p, struct admit_ticket *t)
{
	sched_requeue(&p->sched, provider_lane(p, t), &t->qt);
	provider_count_queued(t, 1);
	t->state = ADMIT_WAITING;
}

/* The shared backend admitted t: it holds the Redis lease of slot. */
void
provider_grant_remote(struct provider *p, struct admit_ticket *t,
    uint64_t slot)
{
	provider_grant(p, t, slot);
	t->remote = 1;
	p->remote_held++;
	t->state = ADMIT_IDLE;
	t->decided(t, ADMIT_GRANTED, t->arg);
}

/* Return limit divided among hosts: 0 stays off, a share is at least 1. */
static long long
provider_share(long long limit, long long hosts)
{
	if (limit == 0 || limit / hosts >= 1)
		return limit / hosts;
	return 1;
}

/* Divide each of l's limits among hosts. */
static void
provider_divide(struct limiter_limits *l, long long hosts)
{
	l->requests_per_minute = provider_share(l->requests_per_minute, hosts);
	l->burst = provider_share(l->burst, hosts);
	l->tokens_per_minute = provider_share(l->tokens_per_minute, hosts);
	l->max_concurrent = provider_share(l->max_concurrent, hosts);
}

/*
 * Give the local limiters 1/hosts of p's and its groups' limits, counting
 * the shared leases still running as theirs (once).
 */
void
provider_share_limits(struct provider *p, long long hosts)
{
	struct admit_ticket	*t;
	struct limiter_limits	 l;
	size_t			 j;

	TAILQ_FOREACH(t, &p->held, held) {
		if (t->remote && !t->adopted) {
			sched_adopt(&p->sched, provider_lane(p, t));
			t->adopted = 1;
			p->remote_adopted++;
		}
	}
	if (hosts < 1)
		hosts = 1;
	provider_limits(p->pc, &l);
	provider_divide(&l, hosts);
	limiter_set_limits(p->lm, &l, clock_now_ms());
	for (j = 0; j < p->ngroups; j++) {
		provider_group_limits(p->groups[j]->mc, &l);
		provider_divide(&l, hosts);
		limiter_set_limits(p->groups[j]->lane->lm, &l, clock_now_ms());
	}
}

/* A granted slot was never used: give back the slot, request and tokens. */
static void
provider_hand_back(struct provider *p, struct admit_ticket *t)
{
	provider_give_back(p, t, t->tokens, 1);
	provider_pump_soon(p);
}

/* Queue t's decision for delivery on the next loop turn. */
static void
provider_deliver(struct provider *p, struct admit_ticket *t,
    enum admit_verdict v)
{
	t->verdict = v;
	t->state = ADMIT_DELIVERING;
	TAILQ_INSERT_TAIL(&p->deliveries, t, entry);
	event_active(p->deliver, EV_TIMEOUT, 0);
}

/* Event: run the callbacks of the decisions made since the last turn. */
static void
provider_deliver_cb(evutil_socket_t fd, short what, void *arg)
{
	struct provider		*p = arg;
	struct admit_ticket	*t;

	provider_ref(p);	/* a callback may drop the last other one */
	while ((t = TAILQ_FIRST(&p->deliveries)) != NULL) {
		TAILQ_REMOVE(&p->deliveries, t, entry);
		t->state = ADMIT_IDLE;
		t->decided(t, t->verdict, t->arg);
	}
	provider_unref(p);
}

/* queue: the waiting head was admitted (the pump runs on its own turn). */
static void
provider_admitted_cb(struct queue_ticket *qt, void *arg)
{
	struct provider		*p = arg;
	struct admit_ticket	*t = ADMIT_TICKET(qt);

	provider_count_queued(t, -1);
	provider_grant(p, t, ++p->last_slot);
	t->state = ADMIT_IDLE;
	t->decided(t, ADMIT_GRANTED, t->arg);
}

/* queue: a reload shrank the token bucket below the head's estimate. */
static void
provider_too_large_cb(struct queue_ticket *qt, void *arg)
{
	struct provider		*p = arg;
	struct admit_ticket	*t = ADMIT_TICKET(qt);

	provider_count_queued(t, -1);
	provider_count_refusal(p, PROVIDER_REFUSED_TOO_LARGE);
	t->state = ADMIT_IDLE;
	t->decided(t, ADMIT_TOO_LARGE, t->arg);
}

/*
 * Return how long until a request of tokens could be admitted, as a 429's
 * Retry-After says it (SPEC 5): at least a second.
 */
uint64_t
provider_retry_after_ms(struct provider *p, const struct admit_ticket *t)
{
	struct sched_lane	*lane = provider_lane(p, t);
	uint64_t		 wait_ms, w;

	wait_ms = limiter_wait_ms(p->lm, (int64_t)p->sched.n + 1, t->tokens,
	    clock_now_ms());
	if (lane->lm != NULL) {
		w = limiter_wait_ms(lane->lm, (int64_t)lane->q.n + 1,
		    t->tokens, clock_now_ms());
		if (w > wait_ms && (w != LIMITER_WAIT_FOR_RELEASE ||
		    wait_ms == 0))
			wait_ms = w;
	}
	return wait_ms < 1000 || wait_ms == LIMITER_WAIT_FOR_RELEASE ? 1000 :
	    wait_ms;
}

/* Return t's queue_timeout: its model group's if set, else dflt. */
double
provider_queue_timeout(const struct provider *p,
    const struct admit_ticket *t, double dflt)
{
	if (t->group != NULL && t->group->mc != NULL &&
	    t->group->mc->queue_timeout > 0)
		return t->group->mc->queue_timeout;
	return dflt;
}

/* Correct t's token buckets by real usage minus the estimate. */
void
provider_reconcile(struct provider *p, const struct admit_ticket *t,
    int64_t delta)
{
	if (delta == 0)
		return;
	if (t->remote) {
		shared_prov_adjust(p->sp, t, delta);
		return;
	}
	limiter_adjust_tokens(p->lm, delta, clock_now_ms());
	if (t->group != NULL)
		limiter_adjust_tokens(t->group->lane->lm, delta,
		    clock_now_ms());
	if (delta < 0 && p->sched.n > 0)
		provider_pump_soon(p);
}

/* Count a refusal of the daemon's own. */
void
provider_count_refusal(struct provider *p, enum provider_refusal why)
{
	p->refused++;
}

/* Count a retry. */
void
provider_count_retry(struct provider *p)
{
	p->retried++;
	metrics_count_retry(p->m);
}

/* Read a response's rate-limit fields into *rl; lower p's buckets. */
void
provider_observe(struct provider *p, const struct admit_ticket *t,
    const char *const *names, const char *const *values, size_t n,
    struct headers_ratelimit *rl)
{
	headers_parse_ratelimit(names, values, n, clock_wall_ms(), rl);
	if (p->sp != NULL)
		shared_prov_observe(p->sp, t, rl->remaining_requests,
		    rl->remaining_tokens);
	limiter_observe_remaining(provider_lane(p, t)->lm != NULL ?
	    provider_lane(p, t)->lm : p->lm, rl->remaining_requests,
	    rl->remaining_tokens, clock_now_ms());
}

/*
 * An upstream 429 (not a billing error): admit nothing of t's group (or
 * of p, for a ticket of no group) for ms, at most an hour, whatever a
 * buggy reset header says.
 */
void
provider_pause(struct provider *p, const struct admit_ticket *t,
    uint64_t ms)
{
	if (ms > PROVIDER_MAX_PAUSE_MS)
		ms = PROVIDER_MAX_PAUSE_MS;
	p->upstream_429++;
	metrics_count_upstream_429(p->m);
	if (p->sp != NULL)
		shared_prov_pause(p->sp, t, ms);	/* every daemon */
	if (t->group != NULL) {
		t->group->upstream_429++;
		limiter_cooldown(t->group->lane->lm, clock_now_ms() + ms);
		log_info("provider %s: upstream 429 for model group %s, "
		    "pausing it %llu ms", p->name, t->group->match,
		    (unsigned long long)ms);
		return;
	}
	limiter_cooldown(p->lm, clock_now_ms() + ms);
	log_info("provider %s: upstream 429, pausing %llu ms", p->name,
	    (unsigned long long)ms);
}

/* Run the pump on the next loop turn. */
void
provider_pump_soon(struct provider *p)
{
	provider_arm(p, 0);
}

/* Arm the pump's timer ms from now (replacing any earlier arming). */
void
provider_arm(struct provider *p, uint64_t ms)
{
	struct timeval	tv = clock_tv_ms(ms);

	evtimer_add(p->wake, &tv);
}

/* Timer: admit heads of the queue until the limiter says wait. */
static void
provider_pump_cb(evutil_socket_t fd, short what, void *arg)
{
	struct provider	*p = arg;
	uint64_t	 wait_ms;
	size_t		 n;

	if (shared_prov_up(p->sp)) {
		shared_prov_pump(p->sp);
		return;
	}
	provider_ref(p);	/* an admitted() may drop the last other one */
	wait_ms = sched_pump(&p->sched, clock_now_ms(), &n);
	if (wait_ms != 0 && wait_ms != LIMITER_WAIT_FOR_RELEASE)
		provider_arm(p, wait_ms);
	provider_unref(p);
}
