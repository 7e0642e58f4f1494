/* SPDX-License-Identifier: ISC */
/*
 * proxy: a client's request to one provider (see proxy.h), with the
 * fallback chain and the hedge of SPEC 13.
 *
 * The request runs as an attempt on the provider asked.  When that one
 * refuses it (queue full or timed out) or its retries end in a connect
 * error, 429 or 5xx, and nothing went to the client, the next provider of
 * the asked one's fallback list gets a new attempt, under its own limits
 * and retries (a provider is tried at most once per request).  With
 * hedge_after, a request with no response headers after that long gets
 * a second attempt at once, on the first fallback if there is one, else
 * on the same provider; the first final answer wins and the other attempt
 * is cancelled where it is, giving back its slot and reservation.  An
 * attempt on a provider the client did not ask is sent with its model
 * renamed by that provider's model_map.
 *
 * At most two attempts run at once (the request and its hedge).  The
 * exchange is driven from the winner's callbacks; when it closes first,
 * every attempt still running is cancelled.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "attempt.h"
#include "config.h"
#include "deadline.h"
#include "dialect.h"
#include "exchange.h"
#include "metrics.h"
#include "provider.h"
#include "proxy.h"
#include "xmalloc.h"

/* Attempts of one request that may run at once: it and its hedge. */
#define PROXY_RUNS	2

/* One attempt of the request. */
struct proxy_run {
	struct proxy	*px;
	struct attempt	*a;		/* NULL: not running */
	int		 paused;	/* waits for a drain */
	int		 admitted;	/* it sent at least once */
};

struct proxy {
	struct exchange		*ex;
	struct config		*cf;		/* the exchange's */
	const struct provider_config *asked;
	struct provider		*prov;		/* asked, referenced */
	struct proxy_run	 runs[PROXY_RUNS];
	struct proxy_run	*winner;	/* its headers went out */
	struct proxy_run	*hedge;		/* the hedge, once started */
	int			 hedge_counted;
	unsigned char		*tried;		/* by cf->providers index;
						   NULL: no fallback list */
	size_t			 next;		/* in asked->fallback */
	char			**bodies;	/* renamed models' bodies */
	struct deadline		*hedge_timer;
	char			*rest;
	struct exchange_note	 note;		/* ended attempts' sums */
};

static struct proxy_run *proxy_launch(struct proxy *px, struct provider *p);
static struct provider *proxy_next_fallback(struct proxy *px);
static struct proxy_run *proxy_other(struct proxy_run *r);
static int	proxy_ran(struct proxy_run *r);
static void	proxy_account(struct proxy_run *r);
static void	proxy_note(struct proxy *px, struct attempt *a);
static int	proxy_may_fall_back(int status);
static int	proxy_refusal_falls_back(enum access_end end);
static void	proxy_fall_back(struct proxy_run *r, struct provider *next);
static void	proxy_hedge_over(struct proxy *px);
static void	proxy_win(struct proxy_run *r, int status,
		    struct evkeyvalq *headers);
static void	proxy_headers_cb(void *arg, struct attempt *a, int status,
		    struct evkeyvalq *headers);
static int	proxy_body_cb(void *arg, struct attempt *a, const char *data,
		    size_t len);
static void	proxy_done_cb(void *arg, struct attempt *a,
		    const struct attempt_end *end);
static void	proxy_lost_cb(struct proxy_run *r,
		    const struct attempt_end *e);
static void	proxy_hedge_cb(void *arg);
static void	proxy_drained_cb(void *arg);
static void	proxy_closing_cb(void *arg, enum access_end end);

static const struct attempt_cbs proxy_attempt_cbs = {
	proxy_headers_cb, proxy_body_cb, proxy_done_cb
};
static const struct exchange_owner proxy_owner = {
	proxy_drained_cb, proxy_closing_cb
};

/* Forward req to prov under cf. */
void
proxy_start(const struct exchange_env *env, struct evhttp_request *req,
    struct config *cf, struct provider *prov, const char *rest,
    struct client *client, enum queue_priority priority)
{
	const struct provider_config	*pc = provider_config(prov);
	struct proxy			*px;

	px = xcalloc(1, sizeof *px);
	px->cf = cf;
	px->prov = prov;
	provider_ref(prov);
	px->asked = config_find_provider(cf, pc->name, strlen(pc->name));
	if (px->asked->nfallback > 0) {	/* else only prov is ever tried */
		px->tried = xcalloc(cf->nproviders, 1);
		px->bodies = xcalloc(cf->nproviders, sizeof *px->bodies);
	}
	px->rest = xstrdup(rest);
	px->ex = exchange_new(env, req, cf, px->asked, provider_metrics(prov),
	    px->rest);
	exchange_set_client(px->ex, client, priority);
	px->note.provider = px->note.first = px->asked->name;
	px->note.estimate = -1;
	exchange_set_note(px->ex, &px->note);
	exchange_set_owner(px->ex, &proxy_owner, px);
	(void)proxy_launch(px, prov);
	if (px->asked->hedge_after > 0) {
		px->hedge_timer = deadline_new(proxy_hedge_cb, px);
		deadline_arm(px->hedge_timer, px->asked->hedge_after);
	}
}

/*
 * Start an attempt on p in a free run (one is always free: at most two
 * run).  A provider the client did not ask gets the model its model_map
 * names; that body lives as long as px, since a cancelled transfer is
 * only freed once its curl call returns.
 */
static struct proxy_run *
proxy_launch(struct proxy *px, struct provider *p)
{
	const struct provider_config	*pc = provider_config(p);
	struct proxy_run		*r;
	struct attempt_request		 rq;
	size_t				 len, i;

	r = px->runs[0].a == NULL ? &px->runs[0] : &px->runs[1];
	if (r == px->hedge)
		proxy_hedge_over(px);	/* it ended unanswered: count it */
	memset(r, 0, sizeof r[0]);
	r->px = px;
	rq.method = exchange_method(px->ex);
	rq.path = px->rest;
	rq.headers = exchange_request_headers(px->ex);
	rq.body = exchange_body(px->ex, &rq.body_len);
	rq.client = exchange_client(px->ex, &rq.priority);
	if (px->tried != NULL) {
		i = (size_t)(config_find_provider(px->cf, pc->name,
		    strlen(pc->name)) - px->cf->providers);
		px->tried[i] = 1;
		if (p != px->prov && px->bodies[i] == NULL)
			px->bodies[i] = dialect_map_model(rq.body,
			    rq.body_len, pc->model_map, pc->nmodel_map, &len);
		if (p != px->prov && px->bodies[i] != NULL) {
			rq.body = px->bodies[i];
			rq.body_len = strlen(px->bodies[i]);
		}
	}
	r->a = attempt_start(p, px->cf, &rq, &proxy_attempt_cbs, r);
	return r;
}

/* Return the next untried provider of the fallback list, or NULL. */
static struct provider *
proxy_next_fallback(struct proxy *px)
{
	const struct provider_config	*to;
	struct provider			*p;
	const char			*name;

	while (px->next < px->asked->nfallback) {
		name = px->asked->fallback[px->next++];
		to = config_find_provider(px->cf, name, strlen(name));
		if (to == NULL || px->tried[to - px->cf->providers])
			continue;
		if ((p = provider_find(name)) != NULL)
			return p;
	}
	return NULL;
}

/* Return the other run of r's request if it runs, else NULL. */
static struct proxy_run *
proxy_other(struct proxy_run *r)
{
	struct proxy_run	*o = r == &r->px->runs[0] ? &r->px->runs[1] :
	    &r->px->runs[0];

	return o->a != NULL ? o : NULL;
}

/* Return 1 if r was ever admitted (it sent at least one try). */
static int
proxy_ran(struct proxy_run *r)
{
	struct attempt_stats	st;

	if (r->a == NULL)
		return r->admitted;
	attempt_stats(r->a, &st);
	return st.tries > 0;
}

/* Add what r's attempt did to the request's sums; it ends now. */
static void
proxy_account(struct proxy_run *r)
{
	struct attempt_stats	st;

	attempt_stats(r->a, &st);
	r->px->note.attempts += st.tries;
	r->px->note.queue_ms += st.queue_ms;
	r->admitted = st.tries > 0;
	r->px->note.provider = provider_config(attempt_provider(r->a))->name;
}

/* Tell the exchange what the request did, a (answering) included. */
static void
proxy_note(struct proxy *px, struct attempt *a)
{
	struct exchange_note	note = px->note;
	struct attempt_stats	st;

	attempt_stats(a, &st);
	note.provider = provider_config(attempt_provider(a))->name;
	note.attempts += st.tries;
	note.queue_ms += st.queue_ms;
	note.admit_ms = st.admit_ms;
	note.estimate = st.estimate;
	note.model = st.model;
	note.model_metrics = st.model_metrics;
	exchange_set_note(px->ex, &note);
}

/* Return 1 if a final answer of status may go on to a fallback. */
static int
proxy_may_fall_back(int status)
{
	return status == 429 || status == 500 || status == 502 ||
	    status == 503 || status == 504 || status == 529;
}

/* Return 1 if the daemon's refusal end may go on to a fallback. */
static int
proxy_refusal_falls_back(enum access_end end)
{
	return end == ACCESS_QUEUE_FULL || end == ACCESS_QUEUE_TIMEOUT ||
	    end == ACCESS_CONNECT_FAILED || end == ACCESS_CONNECT_TIMEOUT ||
	    end == ACCESS_UPSTREAM_ERROR;
}

/* r's provider gave up on the request: count it and try next. */
static void
proxy_fall_back(struct proxy_run *r, struct provider *next)
{
	struct proxy	*px = r->px;
	struct provider	*from = provider_find(px->note.provider);

	metrics_count_fallback(from != NULL ? provider_metrics(from) :
	    metrics_provider(px->note.provider), provider_metrics(next));
	(void)proxy_launch(px, next);
}

/* Count how the hedge ended (once): the race is decided or over. */
static void
proxy_hedge_over(struct proxy *px)
{
	enum metrics_hedge	outcome;

	if (px->hedge == NULL || px->hedge_counted)
		return;
	px->hedge_counted = 1;
	if (px->winner == px->hedge)
		outcome = METRICS_HEDGE_WON;
	else if (proxy_ran(px->hedge))
		outcome = METRICS_HEDGE_LOST;
	else
		outcome = METRICS_HEDGE_NOT_ADMITTED;
	metrics_count_hedge(provider_metrics(px->prov), outcome);
}

/*
 * r's answer goes to the client: cancel the other attempt where it is
 * (from inside r's callback: safe) and send r's status and fields.
 */
static void
proxy_win(struct proxy_run *r, int status, struct evkeyvalq *headers)
{
	struct proxy		*px = r->px;
	struct proxy_run	*o = proxy_other(r);

	px->winner = r;
	deadline_free(px->hedge_timer);
	px->hedge_timer = NULL;
	proxy_hedge_over(px);
	if (o != NULL) {
		proxy_account(o);
		attempt_cancel(o->a);
		o->a = NULL;
	}
	proxy_note(px, r->a);
	exchange_respond(px->ex, status, headers);
}

/*
 * attempt: its final status and fields.  A 429 or 5xx is not the last
 * word while a fallback is left or the other attempt still runs: r is
 * dropped (cancelled from inside its own callback) and the request goes
 * on; anything else is the answer.
 */
static void
proxy_headers_cb(void *arg, struct attempt *a, int status,
    struct evkeyvalq *headers)
{
	struct proxy_run	*r = arg;
	struct proxy		*px = r->px;
	struct provider		*next = NULL;
	int			 other = proxy_other(r) != NULL;

	if (!proxy_may_fall_back(status) || (!other &&
	    (next = proxy_next_fallback(px)) == NULL)) {
		proxy_win(r, status, headers);
		return;
	}
	proxy_account(r);
	attempt_cancel(a);
	r->a = NULL;
	if (next != NULL)
		proxy_fall_back(r, next);
}

/* attempt: the winner's body bytes; send them, or pause its transfer. */
static int
proxy_body_cb(void *arg, struct attempt *a, const char *data, size_t len)
{
	struct proxy_run	*r = arg;

	if (exchange_lags(r->px->ex)) {
		r->paused = 1;
		return 1;		/* offered again after the drain */
	}
	exchange_write(r->px->ex, data, len);
	return 0;
}

/* attempt: it is over (freed when this returns). */
static void
proxy_done_cb(void *arg, struct attempt *a, const struct attempt_end *e)
{
	struct proxy_run	*r = arg;
	struct proxy		*px = r->px;

	if (px->winner != r) {
		proxy_lost_cb(r, e);
		return;
	}
	proxy_note(px, a);
	r->a = NULL;
	if (e->outcome == ATTEMPT_COMPLETE)
		exchange_end(px->ex, e->end);
	else if (e->end == ACCESS_CLIENT_STALLED)
		exchange_drop(px->ex, e->end);
	else
		exchange_break(px->ex, e->end, e->code, e->message);
}

/*
 * An attempt ended with the daemon's own refusal before any answer: the
 * other attempt goes on if it runs, else the next fallback, else the
 * client gets this refusal.
 */
static void
proxy_lost_cb(struct proxy_run *r, const struct attempt_end *e)
{
	struct proxy	*px = r->px;
	struct provider	*next;

	proxy_account(r);
	r->a = NULL;
	if (proxy_other(r) != NULL)
		return;
	if (proxy_refusal_falls_back(e->end) &&
	    (next = proxy_next_fallback(px)) != NULL) {
		proxy_fall_back(r, next);
		return;
	}
	proxy_hedge_over(px);
	exchange_set_note(px->ex, &px->note);
	exchange_refuse(px->ex, e->status, e->end, e->code, e->message,
	    e->retry_ms);
}

/*
 * hedge_after passed with no answer: a second attempt, on the first
 * fallback if there is one, else on the provider asked.
 */
static void
proxy_hedge_cb(void *arg)
{
	struct proxy			*px = arg;
	struct provider			*p = px->prov;
	const struct provider_config	*pc;

	if (px->winner != NULL || px->hedge != NULL ||
	    (px->runs[0].a != NULL && px->runs[1].a != NULL))
		return;
	if (px->asked->nfallback > 0 &&
	    (p = provider_find(px->asked->fallback[0])) == NULL)
		p = px->prov;
	pc = provider_config(p);
	if (p != px->prov && px->tried[config_find_provider(px->cf, pc->name,
	    strlen(pc->name)) - px->cf->providers])
		return;		/* the request fell back to it: tried once */
	px->hedge = proxy_launch(px, p);
}

/* exchange: the client took what was queued; resume the winner. */
static void
proxy_drained_cb(void *arg)
{
	struct proxy		*px = arg;
	struct proxy_run	*r = px->winner;

	if (r != NULL && r->paused && r->a != NULL) {
		r->paused = 0;
		attempt_resume(r->a);	/* may call proxy_body_cb */
	}
}

/*
 * exchange: the response is over or the client gone: cancel what still
 * runs (a shutdown refusal for one still waiting), free px.
 */
static void
proxy_closing_cb(void *arg, enum access_end end)
{
	struct proxy		*px = arg;
	struct attempt_stats	 st;
	size_t			 i;

	proxy_hedge_over(px);
	for (i = 0; i < PROXY_RUNS; i++) {
		if (px->runs[i].a == NULL)
			continue;
		proxy_note(px, px->runs[i].a);
		attempt_stats(px->runs[i].a, &st);
		if (end == ACCESS_SHUTDOWN && st.waiting)
			provider_count_refusal(attempt_provider(
			    px->runs[i].a), PROVIDER_REFUSED_SHUTDOWN);
		attempt_cancel(px->runs[i].a);
	}
	for (i = 0; px->bodies != NULL && i < px->cf->nproviders; i++)
		free(px->bodies[i]);
	free(px->bodies);
	free(px->tried);
	deadline_free(px->hedge_timer);
	provider_unref(px->prov);
	free(px->rest);
	free(px);
}
