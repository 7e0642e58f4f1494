/* SPDX-License-Identifier: ISC */
/*
 * sharedcall: how a call to the shared-limits script is written (its
 * KEYS, the limits of each scope, the op's arguments), the calls whose
 * answer matters only when it is a failure (release, adjust, pause,
 * observe, leave), and the timer that renews running leases every
 * lease/3 and sends a heartbeat every SHARED_HEARTBEAT_MS.
 */
#include <sys/queue.h>

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>

#include "admission.h"
#include "clock.h"
#include "config.h"
#include "log.h"
#include "provider.h"
#include "provint.h"
#include "rlink.h"
#include "rreply.h"
#include "shared.h"
#include "sharedint.h"
#include "xmalloc.h"

/* enum shared_op's names, for the log. */
static const char *const shared_op_names[] = {
	"release", "adjust", "pause", "observe", "leave"
};

static void	shared_args_scope(struct shared_args *a,
		    const struct shared_prov *sp,
		    const struct provider_group *g);
static void	shared_args_limits(struct shared_args *a,
		    const struct provider_config *pc,
		    const struct model_config *mc);
static void	shared_call_cb(void *arg, const struct redisReply *r,
		    const char *why);
static void	shared_renew(struct shared_prov *sp,
		    struct provider_group *g);
static struct shared_prov *shared_find(const char *name);
static void	shared_renew_cb(void *arg, const struct redisReply *r,
		    const char *why);
static void	shared_beat_cb(void *arg, const struct redisReply *r,
		    const char *why);

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
void
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
const char *
shared_args_num(struct shared_args *a, long long v)
{
	char	*s = a->buf[a->n];

	snprintf(s, sizeof a->buf[0], "%lld", v);
	a->v[a->n++] = s;
	return s;
}

/* Add the lease id of slot (this daemon's slot number) to a's ARGV. */
const char *
shared_args_lease(struct shared_args *a, uint64_t slot)
{
	char	*s = a->buf[a->n];

	snprintf(s, sizeof a->buf[0], "%s:%" PRIu64, shared.host, slot);
	a->v[a->n++] = s;
	return s;
}

/* A call out: its callback, counted in shared.pending until it runs. */
struct shared_pending {
	rlink_reply_cb	*cb;
	void		*arg;
};

/* Run the script with a; count the call until its answer comes. */
void
shared_call(struct shared_args *a, rlink_reply_cb *cb, void *arg)
{
	struct shared_pending	*w;

	w = xmalloc(sizeof *w);
	w->cb = cb;
	w->arg = arg;
	shared.pending++;
	rlink_eval(shared.link, shared.script, a->nkeys, a->n, a->v, NULL,
	    shared_call_cb, w);
}

/*
 * rlink: a call ended: run its callback; the last one ended while the
 * daemon exits lets the exit go on (shared_stop()).
 */
static void
shared_call_cb(void *arg, const struct redisReply *r, const char *why)
{
	struct shared_pending	*w = arg;
	rlink_reply_cb		*cb = w->cb;
	void			*cbarg = w->arg;

	free(w);
	shared.pending--;
	cb(cbarg, r, why);
	if (shared.stopping && shared.pending == 0)
		event_base_loopbreak(shared.base);
}

/* Release slot (of group g, or none): tokens back, the request too. */
void
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
void
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
void
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
