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
 * also how a daemon that died gives its slots back.  How a call is
 * written, the calls whose answer hardly matters and the renewals are in
 * sharedcall.c.
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
#include "sharedint.h"
#include "xmalloc.h"

struct shared_state	shared = {
	.provs = TAILQ_HEAD_INITIALIZER(shared.provs)
};

static char	*shared_signature(const struct redis_config *rc);
static void	shared_identity(void);
static void	shared_start(struct event_base *base,
		    const struct redis_config *rc, char *sig);
static void	shared_up_cb(void *arg);
static void	shared_down_cb(void *arg, const char *why);
static void	shared_message_cb(void *arg, const char *channel,
		    const char *payload, size_t len);
static struct shared_ask *shared_ask_new(struct provider *p);
static void	shared_ask_cb(void *arg, const struct redisReply *r,
		    const char *why);
static void	shared_ask_settle(struct shared_prov *sp,
		    struct shared_ask *ask, const struct rreply_admit *a);
static void	shared_ask_fail(struct shared_ask *ask, const char *why);
static void	shared_warn_limits(struct shared_prov *sp, const char *note);
static void	shared_fall_back(struct shared_prov *sp);
static void	shared_late_cb(evutil_socket_t fd, short what, void *arg);
static void	shared_drain(void);
static void	shared_leave(struct shared_prov *sp);

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
	char				*sig;
	size_t				 i;
	int				 any = 0;

	for (i = 0; i < cf->nproviders; i++)
		any |= cf->providers[i].shared;
	if (!any || !rc->given)
		return;
	sig = shared_signature(rc);
	if (shared.link == NULL) {
		shared_start(base, rc, sig);	/* takes sig */
		return;
	}
	if (strcmp(sig, shared.signature) != 0)
		log_warnx("shared limits: a changed redis group needs a "
		    "restart; the running one stays");
	explicit_bzero(sig, strlen(sig));
	free(sig);
}

/*
 * Name this daemon process: its host name, pid and a random part, so two
 * daemons on one machine are two hosts (SPEC 14).
 */
static void
shared_identity(void)
{
	char	hostname[65];

	if (gethostname(hostname, sizeof hostname) == -1)
		snprintf(hostname, sizeof hostname, "unknown");
	hostname[sizeof hostname - 1] = '\0';
	snprintf(shared.host, sizeof shared.host, "%s:%ld:%08x", hostname,
	    (long)getpid(), arc4random());
}

/* Start the link to rc's server (its signature sig is kept). */
static void
shared_start(struct event_base *base, const struct redis_config *rc,
    char *sig)
{
	struct rlink_params	params;
	struct rlinkurl		url;
	struct timeval		tv;
	char			err[256], where[160];

	if (rlinkurl_parse(rc->url, &url, err, sizeof err) == -1)
		fatalx("shared limits: redis.url %s", err);	/* checked */
	rlinkurl_describe(&url, where, sizeof where);
	shared.base = base;
	shared.signature = sig;
	shared.prefix = xstrdup(rc->key_prefix);
	shared.lease_ms = (uint64_t)(rc->lease * 1000);
	shared.script = rlink_script_new(limits_script_text);
	shared_identity();
	memset(&params, 0, sizeof params);
	params.url = &url;
	params.password = rc->password;
	params.timeout_ms = (unsigned int)(rc->timeout * 1000);
	shared.timeout_ms = params.timeout_ms;
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
	struct shared_prov	*sp;

	if (shared.link == NULL)
		return;
	if (shared.up) {
		TAILQ_FOREACH(sp, &shared.provs, entry)
			shared_leave(sp);
		shared_drain();
	}
	rlink_free(shared.link);
	shared.link = NULL;
	event_free(shared.tick);
	rlink_script_free(shared.script);
	explicit_bzero(shared.signature, strlen(shared.signature));
	free(shared.signature);
	free(shared.prefix);
	shared.up = 0;
}

/*
 * The last requests' releases and the leaves are out: let them land (for
 * at most a call's timeout), or every other daemon would wait a whole
 * lease for this one's slots.
 */
static void
shared_drain(void)
{
	struct event	*late;
	struct timeval	 tv;

	shared.stopping = 1;
	late = evtimer_new(shared.base, shared_late_cb, NULL);
	tv = clock_tv_ms(shared.timeout_ms);
	if (late != NULL && shared.pending > 0 && evtimer_add(late, &tv) == 0)
		event_base_loop(shared.base, 0);
	if (late != NULL)
		event_free(late);
}

/* Timer: the calls out at exit took their timeout: exit without them. */
static void
shared_late_cb(evutil_socket_t fd, short what, void *arg)
{
	log_warnx("shared limits: %zu call(s) unanswered at exit; their "
	    "leases expire by themselves", shared.pending);
	event_base_loopbreak(shared.base);
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

/*
 * Take p's first waiting requests, up to SHARED_BATCH of one lane (a
 * call names one lane's scopes), into a new call with their lease ids.
 */
static struct shared_ask *
shared_ask_new(struct provider *p)
{
	struct shared_ask	*ask;
	struct queue_ticket	*qt;
	struct sched_lane	*lane, *first = NULL;
	struct admit_ticket	*t;

	ask = xcalloc(1, sizeof *ask);
	while (ask->n < SHARED_BATCH &&
	    (qt = sched_next(&p->sched, &lane)) != NULL) {
		if (first != NULL && lane != first)
			break;
		first = lane;
		t = ADMIT_TICKET(qt);
		provider_take_asked(p, t, lane);
		ask->group = t->group;
		ask->t[ask->n] = t;
		ask->slot[ask->n] = ++p->last_slot;
		ask->tokens[ask->n] = t->tokens;
		ask->n++;
	}
	return ask;
}

/*
 * Ask about the first waiting requests of one lane, unless a call is out:
 * its answer pumps again.
 */
void
shared_prov_pump(struct shared_prov *sp)
{
	struct shared_ask	*ask;
	struct shared_args	*a;
	size_t			 i;

	if (sp->ask != NULL || !shared.up)
		return;
	ask = shared_ask_new(sp->p);
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
	for (i = 0; i < ask->n; i++) {
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
	if (!sp->in_line || sp->ask != NULL || !shared.up)
		return;
	sp->in_line = 0;
	shared_leave(sp);
}

/* Take this daemon out of every line of sp's provider. */
static void
shared_leave(struct shared_prov *sp)
{
	struct shared_args	*a;

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

/* Say once per difference that another daemon's limits were replaced. */
static void
shared_warn_limits(struct shared_prov *sp, const char *note)
{
	if (sp->warned != NULL && strcmp(sp->warned, note) == 0)
		return;
	log_warnx("provider %s: shared limits differ from another daemon's: "
	    "%s; the limits of whichever decides apply", sp->name, note);
	free(sp->warned);
	sp->warned = xstrdup(note);
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
	if (a->note_len > 0)
		shared_warn_limits(sp, a->note);
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

/* /status's backend object for sp. */
json_t *
shared_prov_status(const struct shared_prov *sp)
{
	if (sp == NULL)
		return json_pack("{s:s}", "kind", "local");
	return json_pack("{s:s,s:b,s:I}", "kind", "redis", "up",
	    shared_prov_up(sp), "hosts", (json_int_t)sp->hosts);
}
