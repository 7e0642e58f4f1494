/* SPDX-License-Identifier: ISC */
/*
 * provstatus: what /status and /metrics say of every provider: its
 * requests in flight and queued, limits, bucket levels (rounded), pause,
 * totals, model groups and clients.  It reads the state provider.c keeps
 * and changes nothing.
 */
#include <sys/queue.h>

#include <math.h>
#include <stdint.h>

#include <jansson.h>

#include "client.h"
#include "clock.h"
#include "config.h"
#include "limiter.h"
#include "metrics.h"
#include "provider.h"
#include "provint.h"
#include "shared.h"

static json_t	*provider_status_one(struct provider *p, uint64_t now,
		    int64_t wall);
static json_t	*provider_buckets_json(const struct limiter_state *st);
static json_t	*provider_status_groups(struct provider *p, uint64_t now,
		    int64_t wall);
static json_t	*provider_status_group(struct provider_group *g,
		    uint64_t now, int64_t wall);
static double	provider_round(double level);
static json_t	*provider_time_json(uint64_t mono_ms, uint64_t now,
		    int64_t wall);

/* Refresh the metrics gauges from every provider's state now. */
void
provider_metrics_gauges(void)
{
	struct provider		*p;
	struct sched_lane	*lane;
	struct limiter_state	 st;
	uint64_t		 now = clock_now_ms();
	size_t			 j;

	client_sweep(now);		/* no forgotten client in the series */
	metrics_clear_gauges();
	TAILQ_FOREACH(p, &provider_list, entry) {
		limiter_state(p->lm, now, &st);
		metrics_add_gauges(p->m, (uint64_t)st.in_flight +
		    p->remote_held - p->remote_adopted, (uint64_t)p->sched.n);
		metrics_set_backend(p->m, p->sp == NULL ? 0 :
		    shared_prov_up(p->sp) ? 1 : 2);
		for (j = 0; j < p->ngroups; j++) {
			lane = p->groups[j]->lane;
			limiter_state(lane->lm, now, &st);
			metrics_add_model_gauges(p->groups[j]->m,
			    (uint64_t)st.in_flight, (uint64_t)lane->q.n);
		}
	}
}

/* Return a new JSON array describing every provider. */
void *
provider_status_json(void)
{
	struct provider	*p;
	json_t		*all = json_array();
	uint64_t	 now = clock_now_ms();
	int64_t		 wall = clock_wall_ms();

	client_sweep(now);		/* no forgotten client in the rows */
	TAILQ_FOREACH(p, &provider_list, entry)
		json_array_append_new(all, provider_status_one(p, now, wall));
	return all;
}

/* Describe one provider, as SPEC section 8 names the members. */
static json_t *
provider_status_one(struct provider *p, uint64_t now, int64_t wall)
{
	const struct provider_config	*pc = p->pc;
	struct limiter_state		 st;

	limiter_state(p->lm, now, &st);
	return json_pack("{s:s,s:b,s:I,s:I,s:{s:I,s:I,s:I,s:I,s:I},"
	    "s:o,s:o,s:{s:I,s:I,s:I,s:I},s:o,s:o,s:o}",
	    "name", p->name, "retired", p->retired,
	    "in_flight", (json_int_t)(st.in_flight + p->remote_held -
	    p->remote_adopted),
	    "queued", (json_int_t)p->sched.n,
	    "limits",
	    "requests_per_minute", (json_int_t)pc->requests_per_minute,
	    "tokens_per_minute", (json_int_t)pc->tokens_per_minute,
	    "burst", (json_int_t)pc->burst,
	    "max_concurrent", (json_int_t)pc->max_concurrent,
	    "queue_max", (json_int_t)pc->queue_max,
	    "buckets", provider_buckets_json(&st),
	    "cooldown_until", provider_time_json(st.cooldown_until_ms, now,
	    wall),
	    "totals", "admitted", (json_int_t)p->admitted,
	    "refused", (json_int_t)p->refused,
	    "retried", (json_int_t)p->retried,
	    "upstream_429", (json_int_t)p->upstream_429,
	    "models", provider_status_groups(p, now, wall),
	    "clients", client_status_json(p->m),
	    "backend", shared_prov_status(p->sp));
}

/* Return the bucket levels of st: numbers, null for a limit that is off. */
static json_t *
provider_buckets_json(const struct limiter_state *st)
{
	return json_pack("{s:o,s:o}", "requests", st->requests_limited ?
	    json_real(provider_round(st->requests)) : json_null(),
	    "tokens", st->tokens_limited ?
	    json_real(provider_round(st->tokens)) : json_null());
}

/* Describe p's live model groups, in the configuration's order. */
static json_t *
provider_status_groups(struct provider *p, uint64_t now, int64_t wall)
{
	json_t	*all = json_array();
	size_t	 i, j;

	for (i = 0; i < p->pc->nmodels; i++) {
		for (j = 0; j < p->ngroups; j++) {
			if (p->groups[j]->mc == &p->pc->models[i])
				json_array_append_new(all,
				    provider_status_group(p->groups[j], now,
				    wall));
		}
	}
	return all;
}

/* Describe one model group, as SPEC section 16 names the members. */
static json_t *
provider_status_group(struct provider_group *g, uint64_t now, int64_t wall)
{
	const struct model_config	*mc = g->mc;
	struct limiter_state		 st;

	limiter_state(g->lane->lm, now, &st);
	return json_pack("{s:s,s:I,s:I,s:{s:I,s:I,s:I,s:I,s:I,s:f},s:o,s:o,"
	    "s:I}", "match", g->match,
	    "in_flight", (json_int_t)st.in_flight,
	    "queued", (json_int_t)g->lane->q.n,
	    "limits",
	    "requests_per_minute", (json_int_t)mc->requests_per_minute,
	    "tokens_per_minute", (json_int_t)mc->tokens_per_minute,
	    "burst", (json_int_t)mc->burst,
	    "max_concurrent", (json_int_t)mc->max_concurrent,
	    "queue_max", (json_int_t)mc->queue_max,
	    "queue_timeout", mc->queue_timeout,
	    "buckets", provider_buckets_json(&st),
	    "cooldown_until", provider_time_json(st.cooldown_until_ms, now,
	    wall),
	    "upstream_429", (json_int_t)g->upstream_429);
}

/*
 * Return a bucket level rounded to thousandths: what a person reads in
 * /status (with 15 significant digits when printed, 6.518, not
 * 6.5179999999999998).
 */
static double
provider_round(double level)
{
	return round(level * 1000.0) / 1000.0;
}

/* Return a monotonic time as RFC 3339 (UTC), or null if none or past. */
static json_t *
provider_time_json(uint64_t mono_ms, uint64_t now, int64_t wall)
{
	char	buf[64];

	if (mono_ms == 0 || mono_ms <= now)
		return json_null();
	clock_rfc3339(wall + (int64_t)(mono_ms - now), buf, sizeof buf);
	return json_string(buf);
}
