/* SPDX-License-Identifier: ISC */
/*
 * shared: the shared admission backend (see shared.h).
 *
 * One link per daemon (rlink.c: a command connection and a subscriber),
 * one script, and per shared provider its keys, its wake-up channel and
 * at most one admit call out.  Every call names the same hash tag, the
 * provider's, so one script touches one slot of a Redis Cluster.  A call
 * that fails (timeout, connection lost) is never a request's failure: the
 * requests it asked about go back to the front of their queue and the
 * provider decides locally until the link is back.  A lease whose release
 * failed simply expires within `lease` (the script reclaims it), which is
 * also how a daemon that died gives its slots back.
 */
#include <sys/queue.h>

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>

#include "admission.h"
#include "clock.h"
#include "config.h"
#include "limits_script.h"
#include "log.h"
#include "metrics.h"
#include "provider.h"
#include "provint.h"
#include "rlink.h"
#include "rreply.h"
#include "shared.h"
#include "xmalloc.h"

/* Which scopes a call names: a lease's, or the one a 429 or header hit. */
enum shared_scopes {
	SHARED_BOTH,		/* the provider, and g when given */
	SHARED_OWN		/* g alone when given, else the provider */
};

/* The calls whose answer only matters when it is a failure. */
enum shared_op {
	SHARED_RELEASE,
	SHARED_ADJUST,
	SHARED_PAUSE,
	SHARED_OBSERVE,
	SHARED_LEAVE
};
static const char *const shared_op_names[] = {
	"release", "adjust", "pause", "observe", "leave"
};
#define SHARED_OP(op)	((void *)(uintptr_t)(op))

/* Arguments of one call: the script's KEYS then its ARGV. */
#define SHARED_ARGS_MAX		(16 + 2 * SHARED_BATCH + 8)
/* Leases renewed in one call (a provider holding more makes several). */
#define SHARED_RENEW_MAX	(SHARED_BATCH * 2)
/* How often each daemon says it is alive, and a minute of them. */
#define SHARED_HEARTBEAT_MS	10000

/* One call's arguments, with room for the numbers and lease ids. */
struct shared_args {
	const char	*v[SHARED_ARGS_MAX];
	char		 buf[SHARED_ARGS_MAX][160];
	int		 n;
	int		 nkeys;
};

/* An admit call out: the requests it asks about, in queue order. */
struct shared_ask {
	struct shared_prov	*sp;	/* NULL: the provider went first */
	struct provider_group	*group;	/* their model group; NULL */
	size_t			 n;
	struct admit_ticket	*t[SHARED_BATCH];	/* NULL: withdrawn */
	uint64_t		 slot[SHARED_BATCH];
	int64_t			 tokens[SHARED_BATCH];
	uint64_t		 sent_us;
};

struct shared_prov {
	struct provider		*p;
	char			*name;
	char			*k_waiters;
	char			*k_hosts;
	char			*k_slots;
	char			*k_state;
	char			*channel;
	struct shared_ask	*ask;		/* out now; NULL: none */
	long long		 hosts;		/* alive in the last minute */
	char			*warned;	/* the last limits note logged */
	uint64_t		 bad_until_ms;	/* a bad answer: local till */
	int			 in_line;	/* refused: in the hosts' line */
	int			 woken;		/* a wake-up while asking */
	TAILQ_ENTRY(shared_prov) entry;
};

static struct {
	struct event_base	*base;
	struct rlink		*link;
	struct rlink_script	*script;
	char			 host[128];	/* this daemon's identity */
	char			*prefix;
	char			*signature;	/* the redis group, to compare */
	uint64_t		 lease_ms;
	struct event		*tick;		/* renewals and heartbeats */
	uint64_t		 beat_ms;	/* the last heartbeat */
	int			 up;
	TAILQ_HEAD(, shared_prov) provs;
} shared = { .provs = TAILQ_HEAD_INITIALIZER(shared.provs) };

static char	*shared_signature(const struct redis_config *rc);
static void	shared_up_cb(void *arg);
static void	shared_down_cb(void *arg, const char *why);
static void	shared_message_cb(void *arg, const char *channel,
		    const char *payload, size_t len);
static void	shared_tick_cb(evutil_socket_t fd, short what, void *arg);
static void	shared_args_begin(struct shared_args *a,
		    const struct shared_prov *sp,
		    const struct provider_group *g, const char *op,
		    enum shared_scopes scopes);
static const char *shared_args_num(struct shared_args *a, long long v);
static const char *shared_args_lease(struct shared_args *a, uint64_t slot);
static void	shared_call(struct shared_args *a, rlink_reply_cb *cb,
		    void *arg);
static void	shared_ask_cb(void *arg, const struct redisReply *r,
		    const char *why);
static void	shared_ask_settle(struct shared_prov *sp,
		    struct shared_ask *ask, const struct rreply_admit *a);
static void	shared_ask_fail(struct shared_ask *ask, const char *why);
static void	shared_done_cb(void *arg, const struct redisReply *r,
		    const char *why);
static void	shared_renew_cb(void *arg, const struct redisReply *r,
		    const char *why);
static void	shared_beat_cb(void *arg, const struct redisReply *r,
		    const char *why);
static void	shared_fall_back(struct shared_prov *sp);
static void	shared_release_slot(struct shared_prov *sp,
		    struct provider_group *g, uint64_t slot,
		    int64_t unused_tokens, int refund_request);
static void	shared_renew(struct shared_prov *sp,
		    struct provider_group *g);
static struct shared_prov *shared_find(const char *name);

/* Return the redis group as one string: a reload compares them. */
static char *
shared_signature(const struct redis_config *rc)
{
	char	*s;

	xasprintf(&s, "%s\n%s\n%s\n%.6f\n%.6f", rc->url,
	    rc->password != NULL ? rc->password : "", rc->key_prefix,
	    rc->timeout, rc->lease);
	return s;
}

/* Start the link when cf shares a provider; a later change is refused. */
void
shared_sync(struct event_base *base, const struct config *cf)
{
	const struct redis_config	*rc = &cf->redis;
	struct rlink_params		 params;
	struct rlinkurl			 url;
	struct timeval			 tv;
	char				*sig, err[256], where[160];
	char				 hostname[65];
	size_t				 i;
	int				 any = 0;

	for (i = 0; i < cf->nproviders; i++)
		any |= cf->providers[i].shared;
	if (!any || !rc->given)
		return;
	sig = shared_signature(rc);
	if (shared.link != NULL) {
		if (strcmp(sig, shared.signature) != 0)
			log_warnx("shared limits: a changed redis group needs "
			    "a restart; the running one stays");
		explicit_bzero(sig, strlen(sig));
		free(sig);
		return;
	}
	if (rlinkurl_parse(rc->url, &url, err, sizeof err) == -1)
		fatalx("shared limits: redis.url %s", err);	/* checked */
	rlinkurl_describe(&url, where, sizeof where);
	shared.base = base;
	shared.signature = sig;
	shared.prefix = xstrdup(rc->key_prefix);
	shared.lease_ms = (uint64_t)(rc->lease * 1000);
	shared.script = rlink_script_new(limits_script_text);
	if (gethostname(hostname, sizeof hostname) == -1)
		snprintf(hostname, sizeof hostname, "unknown");
	hostname[sizeof hostname - 1] = '\0';
	/* Two daemons on one machine are two hosts (SPEC 14). */
	snprintf(shared.host, sizeof shared.host, "%s:%ld:%08x", hostname,
	    (long)getpid(), arc4random());
	memset(&params, 0, sizeof params);
	params.url = &url;
	params.password = rc->password;
	params.timeout_ms = (unsigned int)(rc->timeout * 1000);
	params.label = "shared limits";
	shared.link = rlink_new(base, &params, &(const struct rlink_cbs){
	    shared_up_cb, shared_down_cb, shared_message_cb }, NULL);
	explicit_bzero(&url, sizeof url);
	shared.tick = event_new(base, -1, EV_PERSIST, shared_tick_cb, NULL);
	if (shared.tick == NULL)
		fatalx("%s: out of memory", __func__);
	tv = clock_tv_ms(shared.lease_ms / 3 < SHARED_HEARTBEAT_MS ?
	    shared.lease_ms / 3 : SHARED_HEARTBEAT_MS);
	event_add(shared.tick, &tv);
	log_info("shared limits: Redis at %s, this daemon is %s", where,
	    shared.host);
}

/* Close the link (at exit): what is still out ends unanswered. */
void
shared_stop(void)
{
	if (shared.link == NULL)
		return;
	rlink_free(shared.link);
	shared.link = NULL;
	event_free(shared.tick);
	rlink_script_free(shared.script);
	explicit_bzero(shared.signature, strlen(shared.signature));
	free(shared.signature);
	free(shared.prefix);
	shared.up = 0;
}

/* Return provider p's share of the link, or NULL with no link. */
struct shared_prov *
shared_prov_new(struct provider *p, const char *name)
{
	struct shared_prov	*sp;

	if (shared.link == NULL)
		return NULL;
	sp = xcalloc(1, sizeof *sp);
	sp->p = p;
	sp->name = xstrdup(name);
	sp->hosts = 1;
	xasprintf(&sp->k_waiters, "%s{%s}:waiters", shared.prefix, name);
	xasprintf(&sp->k_hosts, "%s{%s}:hosts", shared.prefix, name);
	xasprintf(&sp->k_slots, "%s{%s}:slots", shared.prefix, name);
	xasprintf(&sp->k_state, "%s{%s}:state", shared.prefix, name);
	xasprintf(&sp->channel, "%s{%s}:wake", shared.prefix, name);
	TAILQ_INSERT_TAIL(&shared.provs, sp, entry);
	rlink_subscribe(shared.link, sp->channel);
	if (!shared.up)
		shared_fall_back(sp);
	return sp;
}

/* Free sp; an admit call still out forgets it. */
void
shared_prov_free(struct shared_prov *sp)
{
	if (sp == NULL)
		return;
	if (sp->ask != NULL)
		sp->ask->sp = NULL;
	TAILQ_REMOVE(&shared.provs, sp, entry);
	free(sp->k_waiters);
	free(sp->k_hosts);
	free(sp->k_slots);
	free(sp->k_state);
	free(sp->channel);
	free(sp->warned);
	free(sp->name);
	free(sp);
}

/* Return 1 if sp's decisions are made in Redis now. */
int
shared_prov_up(const struct shared_prov *sp)
{
	return sp != NULL && shared.up && clock_now_ms() >= sp->bad_until_ms;
}

/* Return the daemons sp's provider was last seen shared by (>= 1). */
long long
shared_prov_hosts(const struct shared_prov *sp)
{
	return sp->hosts;
}

/* rlink: Redis answers again: decide there, and wake every queue. */
static void
shared_up_cb(void *arg)
{
	struct shared_prov	*sp;

	shared.up = 1;
	log_info("shared limits: Redis is reachable; limits are shared "
	    "again");
	shared.beat_ms = 0;
	shared_tick_cb(-1, 0, NULL);		/* renew and say hello now */
	TAILQ_FOREACH(sp, &shared.provs, entry) {
		provider_share_limits(sp->p, 1);	/* only leftovers */
		provider_pump_soon(sp->p);
	}
}

/* rlink: Redis is out of reach: each provider takes its local share. */
static void
shared_down_cb(void *arg, const char *why)
{
	struct shared_prov	*sp;

	if (shared.up || TAILQ_FIRST(&shared.provs) != NULL)
		log_warnx("shared limits: Redis unreachable (%s); each shared "
		    "provider keeps to its share of the limits", why);
	shared.up = 0;
	TAILQ_FOREACH(sp, &shared.provs, entry)
		shared_fall_back(sp);
}

/* Give sp's provider its local share: the limits over the daemons. */
static void
shared_fall_back(struct shared_prov *sp)
{
	provider_share_limits(sp->p, sp->hosts);
	provider_pump_soon(sp->p);
}

/* rlink: a wake-up: a slot or tokens came back somewhere. */
static void
shared_message_cb(void *arg, const char *channel, const char *payload,
    size_t len)
{
	struct shared_prov	*sp;

	TAILQ_FOREACH(sp, &shared.provs, entry) {
		if (strcmp(sp->channel, channel) != 0)
			continue;
		if (sp->ask != NULL)
			sp->woken = 1;	/* its answer may predate this */
		else if (sp->p->sched.n > 0)
			provider_pump_soon(sp->p);
	}
}


/* Add the keys of one scope: the provider's (g NULL) or group g's. */
static void
shared_args_scope(struct shared_args *a, const struct shared_prov *sp,
    const struct provider_group *g)
{
	if (g == NULL) {
		a->v[a->n++] = sp->k_slots;
		a->v[a->n++] = sp->k_state;
		return;
	}
	snprintf(a->buf[a->n], sizeof a->buf[0], "%s{%s}:g:%s:slots",
	    shared.prefix, sp->name, g->match);
	a->v[a->n] = a->buf[a->n];
	a->n++;
	snprintf(a->buf[a->n], sizeof a->buf[0], "%s{%s}:g:%s:state",
	    shared.prefix, sp->name, g->match);
	a->v[a->n] = a->buf[a->n];
	a->n++;
}

/* Add the limits of one scope: the provider's (mc NULL) or mc's. */
static void
shared_args_limits(struct shared_args *a, const struct provider_config *pc,
    const struct model_config *mc)
{
	shared_args_num(a, mc != NULL ? mc->requests_per_minute :
	    pc->requests_per_minute);
	shared_args_num(a, mc != NULL ? (mc->burst > 0 ? mc->burst : 1) :
	    (pc->burst > 0 ? pc->burst : 1));
	shared_args_num(a, mc != NULL ? mc->tokens_per_minute :
	    pc->tokens_per_minute);
	shared_args_num(a, mc != NULL ? mc->max_concurrent :
	    pc->max_concurrent);
}

/*
 * Fill a's KEYS and the ARGV every op starts with, for sp and group g (a
 * group a reload removed counts as none).
 */
static void
shared_args_begin(struct shared_args *a, const struct shared_prov *sp,
    const struct provider_group *g, const char *op,
    enum shared_scopes scopes)
{
	const struct provider_config	*pc = provider_config(sp->p);
	int				 both;

	if (g != NULL && g->mc == NULL)
		g = NULL;
	both = g != NULL && scopes == SHARED_BOTH;
	a->n = 0;
	a->v[a->n++] = sp->k_waiters;
	a->v[a->n++] = sp->k_hosts;
	if (g == NULL || both)
		shared_args_scope(a, sp, NULL);
	if (g != NULL)
		shared_args_scope(a, sp, g);
	a->nkeys = a->n;
	a->v[a->n++] = op;
	a->v[a->n++] = shared.host;
	a->v[a->n++] = "0";			/* no clock offset */
	a->v[a->n++] = sp->channel;
	shared_args_num(a, both ? 2 : 1);
	if (g == NULL || both)
		shared_args_limits(a, pc, NULL);
	if (g != NULL)
		shared_args_limits(a, pc, g->mc);
}

/* Add v to a's ARGV; return its text. */
static const char *
shared_args_num(struct shared_args *a, long long v)
{
	char	*s = a->buf[a->n];

	snprintf(s, sizeof a->buf[0], "%lld", v);
	a->v[a->n++] = s;
	return s;
}

/* Add the lease id of slot (this daemon's slot number) to a's ARGV. */
static const char *
shared_args_lease(struct shared_args *a, uint64_t slot)
{
	char	*s = a->buf[a->n];

	snprintf(s, sizeof a->buf[0], "%s:%" PRIu64, shared.host, slot);
	a->v[a->n++] = s;
	return s;
}

/* Run the script with a. */
static void
shared_call(struct shared_args *a, rlink_reply_cb *cb, void *arg)
{
	rlink_eval(shared.link, shared.script, a->nkeys, a->n, a->v, NULL, cb,
	    arg);
}

/*
 * Ask about the first waiting requests of one lane, unless a call is out:
 * its answer pumps again.
 */
void
shared_prov_pump(struct shared_prov *sp)
{
	struct provider		*p = sp->p;
	struct shared_ask	*ask;
	struct shared_args	*a;
	struct queue_ticket	*qt;
	struct sched_lane	*lane, *first = NULL;
	struct admit_ticket	*t;

	if (sp->ask != NULL || !shared.up)
		return;
	ask = xcalloc(1, sizeof *ask);
	while (ask->n < SHARED_BATCH &&
	    (qt = sched_next(&p->sched, &lane)) != NULL) {
		if (first != NULL && lane != first)
			break;			/* one lane's scopes per call */
		first = lane;
		t = ADMIT_TICKET(qt);
		provider_take_asked(p, t, lane);
		ask->group = t->group;
		ask->t[ask->n] = t;
		ask->slot[ask->n] = ++p->last_slot;
		ask->tokens[ask->n] = t->tokens;
		ask->n++;
	}
	if (ask->n == 0) {
		free(ask);
		return;
	}
	ask->sp = sp;
	ask->sent_us = clock_now_us();
	sp->ask = ask;
	sp->woken = 0;
	a = xcalloc(1, sizeof *a);
	shared_args_begin(a, sp, ask->group, "admit", SHARED_BOTH);
	shared_args_num(a, (long long)shared.lease_ms);
	shared_args_num(a, (long long)ask->n);
	for (size_t i = 0; i < ask->n; i++) {
		shared_args_num(a, ask->tokens[i]);
		shared_args_lease(a, ask->slot[i]);
	}
	shared_call(a, shared_ask_cb, ask);
	free(a);
}

/*
 * sp's queue emptied (its requests withdrawn): leave the hosts' line at
 * once rather than hold the others up until the entry expires.
 */
void
shared_prov_idle(struct shared_prov *sp)
{
	struct shared_args	*a;

	if (!sp->in_line || sp->ask != NULL || !shared.up)
		return;
	sp->in_line = 0;
	a = xcalloc(1, sizeof *a);
	shared_args_begin(a, sp, NULL, "leave", SHARED_BOTH);
	a->v[a->n++] = "all";
	shared_call(a, shared_done_cb, SHARED_OP(SHARED_LEAVE));
	free(a);
}

/* t, being asked about, was withdrawn: forget it; a grant goes back. */
void
shared_prov_forget(struct shared_prov *sp, struct admit_ticket *t)
{
	size_t	i;

	if (sp->ask == NULL)
		return;
	for (i = 0; i < sp->ask->n; i++) {
		if (sp->ask->t[i] == t)
			sp->ask->t[i] = NULL;
	}
}

/* rlink: the answer to an admit call. */
static void
shared_ask_cb(void *arg, const struct redisReply *r, const char *why)
{
	struct shared_ask	*ask = arg;
	struct shared_prov	*sp = ask->sp;
	struct rreply_admit	 a;
	char			 err[RREPLY_WHY_MAX];

	if (sp == NULL) {		/* its provider is gone */
		free(ask);
		return;
	}
	metrics_observe_backend_us(clock_now_us() - ask->sent_us);
	/*
	 * sp->ask stays set while the answer is settled: a grant's callback
	 * may withdraw another request of this call, which must find it.
	 */
	if (r == NULL)
		shared_ask_fail(ask, why);
	else if (rreply_admit(r, (long long)ask->n, &a, err, sizeof err) ==
	    -1)
		shared_ask_fail(ask, err);
	else
		shared_ask_settle(sp, ask, &a);
	sp->ask = NULL;
	free(ask);
}

/*
 * Grant the admitted prefix, put the rest back in front, and wait as
 * long as the script said (or for a wake-up).
 */
static void
shared_ask_settle(struct shared_prov *sp, struct shared_ask *ask,
    const struct rreply_admit *a)
{
	struct provider		*p = sp->p;
	struct admit_ticket	*t;
	size_t			 i, admitted = (size_t)a->admitted;

	sp->hosts = a->hosts_alive > 0 ? a->hosts_alive : 1;
	if (a->note_len > 0 && (sp->warned == NULL ||
	    strcmp(sp->warned, a->note) != 0)) {
		log_warnx("provider %s: shared limits differ from another "
		    "daemon's: %s; the limits of whichever decides apply",
		    sp->name, a->note);
		free(sp->warned);
		sp->warned = xstrdup(a->note);
	}
	provider_ref(p);		/* a grant's callback may drop it */
	for (i = ask->n; i-- > admitted; ) {
		if ((t = ask->t[i]) != NULL)
			provider_requeue_asked(p, t);
		ask->t[i] = NULL;
	}
	for (i = 0; i < admitted; i++) {
		if ((t = ask->t[i]) != NULL) {
			ask->t[i] = NULL;
			provider_grant_remote(p, t, ask->slot[i]);
			continue;
		}
		/* Withdrawn while asked: the slot and its cost go back. */
		ask->t[i] = NULL;
		shared_release_slot(sp, ask->group, ask->slot[i],
		    ask->tokens[i], 1);
	}
	sp->in_line = admitted < ask->n;
	if (admitted < ask->n && sp->woken)
		provider_pump_soon(p);	/* a wake-up came meanwhile */
	else if (admitted < ask->n && a->retry_ms > 0)
		provider_arm(p, (uint64_t)a->retry_ms);
	else if (admitted < ask->n && a->lease_expiry_ms >= 0)
		provider_arm(p, (uint64_t)a->lease_expiry_ms + 1);
	else if (admitted == ask->n && p->sched.n > 0)
		provider_pump_soon(p);	/* more arrived meanwhile */
	provider_unref(p);
}

/* The call failed: its requests go back, and the share decides now. */
static void
shared_ask_fail(struct shared_ask *ask, const char *why)
{
	struct shared_prov	*sp = ask->sp;
	size_t			 i;

	log_debug("provider %s: shared admission failed: %s", sp->name, why);
	for (i = ask->n; i-- > 0; ) {
		if (ask->t[i] != NULL)
			provider_requeue_asked(sp->p, ask->t[i]);
		ask->t[i] = NULL;
	}
	if (!rlink_is_up(shared.link)) {
		/* The down callback falls back, maybe before this ran. */
		provider_pump_soon(sp->p);
		return;
	}
	/* Up, but an answer the daemon cannot use: local for a second. */
	log_warnx("provider %s: shared admission answered badly (%s); "
	    "deciding locally for a second", sp->name, why);
	sp->bad_until_ms = clock_now_ms() + 1000;
	shared_fall_back(sp);
}

/* Release slot (of group g, or none): tokens back, the request too. */
static void
shared_release_slot(struct shared_prov *sp, struct provider_group *g,
    uint64_t slot, int64_t unused_tokens, int refund_request)
{
	struct shared_args	*a;

	if (!shared.up)
		return;		/* the lease expires; the script reclaims it */
	a = xcalloc(1, sizeof *a);
	shared_args_begin(a, sp, g, "release", SHARED_BOTH);
	shared_args_num(a, 1);
	shared_args_lease(a, slot);
	shared_args_num(a, unused_tokens > 0 ? unused_tokens : 0);
	shared_args_num(a, refund_request);
	shared_call(a, shared_done_cb, SHARED_OP(SHARED_RELEASE));
	free(a);
}

/* Give back t's lease, its unused tokens and, if never sent, its request. */
void
shared_prov_release(struct shared_prov *sp, const struct admit_ticket *t,
    int64_t unused_tokens, int refund_request)
{
	shared_release_slot(sp, t->group, t->slot, unused_tokens,
	    refund_request);
}

/* Correct the shared token bucket by delta. */
void
shared_prov_adjust(struct shared_prov *sp, const struct admit_ticket *t,
    int64_t delta)
{
	struct shared_args	*a;

	if (!shared.up || delta == 0)
		return;
	a = xcalloc(1, sizeof *a);
	shared_args_begin(a, sp, t->group, "adjust", SHARED_BOTH);
	shared_args_num(a, delta);
	shared_call(a, shared_done_cb, SHARED_OP(SHARED_ADJUST));
	free(a);
}

/* An upstream 429: pause every daemon until ms from now. */
void
shared_prov_pause(struct shared_prov *sp, const struct admit_ticket *t,
    uint64_t ms)
{
	struct shared_args	*a;

	if (!shared.up)
		return;
	a = xcalloc(1, sizeof *a);
	shared_args_begin(a, sp, t->group, "pause", SHARED_OWN);
	shared_args_num(a, (long long)ms);
	shared_call(a, shared_done_cb, SHARED_OP(SHARED_PAUSE));
	free(a);
}

/* The upstream says only these remain: lower the shared buckets. */
void
shared_prov_observe(struct shared_prov *sp, const struct admit_ticket *t,
    int64_t requests, int64_t tokens)
{
	struct shared_args	*a;

	if (!shared.up || (requests < 0 && tokens < 0))
		return;
	a = xcalloc(1, sizeof *a);
	shared_args_begin(a, sp, t->group, "observe", SHARED_OWN);
	shared_args_num(a, requests);
	shared_args_num(a, tokens);
	shared_call(a, shared_done_cb, SHARED_OP(SHARED_OBSERVE));
	free(a);
}

/* rlink: a release, adjust, pause or observe ended; only failures say. */
static void
shared_done_cb(void *arg, const struct redisReply *r, const char *why)
{
	const char	*op = shared_op_names[(uintptr_t)arg];
	long long	 v;
	char		 err[RREPLY_WHY_MAX];

	if (r == NULL)
		log_debug("shared limits: %s not done: %s", op, why);
	else if (rreply_integer(r, -1, INT64_MAX, &v, err, sizeof err) == -1)
		log_warnx("shared limits: %s: %s", op, err);
}

/* Renew the leases of sp's running requests of group g (NULL: none). */
static void
shared_renew(struct shared_prov *sp, struct provider_group *g)
{
	struct admit_ticket	*t;
	struct shared_args	*a;
	int			 count_at = 0, n = 0;

	a = xcalloc(1, sizeof *a);
	TAILQ_FOREACH(t, &sp->p->held, held) {
		if (!t->remote || t->group != g)
			continue;
		if (n == 0) {
			shared_args_begin(a, sp, g, "renew", SHARED_BOTH);
			shared_args_num(a, (long long)shared.lease_ms);
			count_at = a->n;
			shared_args_num(a, 0);		/* n, set below */
		}
		shared_args_lease(a, t->slot);
		if (++n == SHARED_RENEW_MAX) {
			snprintf(a->buf[count_at], sizeof a->buf[0], "%d", n);
			shared_call(a, shared_renew_cb, xstrdup(sp->name));
			n = 0;
		}
	}
	if (n > 0) {
		snprintf(a->buf[count_at], sizeof a->buf[0], "%d", n);
		shared_call(a, shared_renew_cb, xstrdup(sp->name));
	}
	free(a);
}

/* Return the shared provider called name, or NULL (a reload took it). */
static struct shared_prov *
shared_find(const char *name)
{
	struct shared_prov	*sp;

	TAILQ_FOREACH(sp, &shared.provs, entry) {
		if (strcmp(sp->name, name) == 0)
			return sp;
	}
	return NULL;
}

/*
 * Timer: renew the leases of every request running (every lease/3, or
 * more often), and say this daemon is alive (every SHARED_HEARTBEAT_MS).
 */
static void
shared_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct shared_prov	*sp;
	struct shared_args	*a;
	uint64_t		 now = clock_now_ms();
	size_t			 j;
	int			 beat;

	if (!shared.up)
		return;
	beat = shared.beat_ms == 0 ||
	    now - shared.beat_ms >= SHARED_HEARTBEAT_MS;
	if (beat)
		shared.beat_ms = now;
	a = xcalloc(1, sizeof *a);
	TAILQ_FOREACH(sp, &shared.provs, entry) {
		if (beat) {
			shared_args_begin(a, sp, NULL, "heartbeat", SHARED_BOTH);
			shared_call(a, shared_beat_cb, xstrdup(sp->name));
		}
		shared_renew(sp, NULL);
		for (j = 0; j < sp->p->ngroups; j++)
			shared_renew(sp, sp->p->groups[j]);
	}
	free(a);
}

/* rlink: leases renewed; fewer than asked means some had expired. */
static void
shared_renew_cb(void *arg, const struct redisReply *r, const char *why)
{
	char		*name = arg;
	long long	 v;
	char		 err[RREPLY_WHY_MAX];

	if (r == NULL)
		log_debug("shared limits: %s: renewal not done: %s", name,
		    why);
	else if (rreply_integer(r, 0, INT64_MAX, &v, err, sizeof err) == -1)
		log_warnx("shared limits: %s: renewal: %s", name, err);
	free(name);
}

/* rlink: a heartbeat's answer: how many daemons share the provider. */
static void
shared_beat_cb(void *arg, const struct redisReply *r, const char *why)
{
	struct shared_prov	*sp;
	char			*name = arg;
	long long		 v;
	char			 err[RREPLY_WHY_MAX];

	if (r != NULL && rreply_integer(r, 1, INT32_MAX, &v, err,
	    sizeof err) == 0 && (sp = shared_find(name)) != NULL)
		sp->hosts = v;
	free(name);
}

/* /status's backend object for sp. */
json_t *
shared_prov_status(const struct shared_prov *sp)
{
	if (sp == NULL)
		return json_pack("{s:s}", "kind", "local");
	return json_pack("{s:s,s:b,s:I}", "kind", "redis", "up",
	    shared_prov_up(sp), "hosts", (json_int_t)sp->hosts);
}
