/* SPDX-License-Identifier: ISC */
/*
 * snap: GET /status, parsed into plain data for llmproxyctl.
 *
 * SPEC 8 names the members every provider object has; sections 11 and
 * later add more (clients, backend, models).  A member that is missing or
 * of another type reads as zero, or as "off" for a bucket, so that this
 * tool keeps working against an older or newer daemon; only a body that
 * is not a JSON object with a providers array is an error.  Pure: the
 * caller fetches the bodies and stamps the time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "snap.h"
#include "xmalloc.h"

static long long	snap_int(const json_t *o, const char *key);
static void		snap_str(char *buf, size_t len, const json_t *o,
			    const char *key);
static void		snap_provider(struct snap_provider *p,
			    const json_t *o);
static void		snap_clients(struct snap_provider *p,
			    const json_t *a);

/* Return o[key] as an integer (a real is truncated); 0 when absent. */
static long long
snap_int(const json_t *o, const char *key)
{
	json_t	*v = json_object_get(o, key);

	if (json_is_integer(v))
		return json_integer_value(v);
	if (json_is_real(v))
		return (long long)json_real_value(v);
	return 0;
}

/* Copy o[key], a string, into buf (cut to fit); "" when absent. */
static void
snap_str(char *buf, size_t len, const json_t *o, const char *key)
{
	const char	*s = json_string_value(json_object_get(o, key));

	snprintf(buf, len, "%s", s != NULL ? s : "");
}

/* Fill p from one member of /status's providers array. */
static void
snap_provider(struct snap_provider *p, const json_t *o)
{
	json_t	*lim = json_object_get(o, "limits");
	json_t	*bk = json_object_get(o, "buckets");
	json_t	*tot = json_object_get(o, "totals");
	json_t	*v;

	snap_str(p->name, sizeof p->name, o, "name");
	p->retired = json_is_true(json_object_get(o, "retired"));
	p->in_flight = snap_int(o, "in_flight");
	p->queued = snap_int(o, "queued");
	p->requests_per_minute = snap_int(lim, "requests_per_minute");
	p->tokens_per_minute = snap_int(lim, "tokens_per_minute");
	p->burst = snap_int(lim, "burst");
	p->max_concurrent = snap_int(lim, "max_concurrent");
	p->queue_max = snap_int(lim, "queue_max");
	if ((p->has_req_bucket = json_is_number(v = json_object_get(bk,
	    "requests"))))
		p->req_bucket = json_number_value(v);
	if ((p->has_tok_bucket = json_is_number(v = json_object_get(bk,
	    "tokens"))))
		p->tok_bucket = json_number_value(v);
	snap_str(p->cooldown, sizeof p->cooldown, o, "cooldown_until");
	p->admitted = snap_int(tot, "admitted");
	p->refused = snap_int(tot, "refused");
	p->retried = snap_int(tot, "retried");
	p->upstream_429 = snap_int(tot, "upstream_429");
	snap_clients(p, json_object_get(o, "clients"));
}

/* Fill p's clients from /status's clients array (SPEC 11), if any. */
static void
snap_clients(struct snap_provider *p, const json_t *a)
{
	struct snap_client	*c;
	json_t			*o, *w;
	size_t			 i;

	if (!json_is_array(a))
		return;
	p->has_clients = 1;
	p->nclients = json_array_size(a);
	p->clients = xcalloc(p->nclients + 1, sizeof *p->clients);
	json_array_foreach(a, i, o) {
		c = &p->clients[i];
		snap_str(c->name, sizeof c->name, o, "name");
		w = json_object_get(o, "weight");
		c->weight = json_is_number(w) ? json_number_value(w) : 1;
		c->queued = snap_int(o, "queued");
		c->in_flight = snap_int(o, "in_flight");
		c->admitted = snap_int(o, "admitted");
	}
}

struct snap *
snap_parse(const char *body, size_t len, char *why, size_t whylen)
{
	struct snap	*s;
	json_error_t	 err;
	json_t		*root, *provs, *o;
	size_t		 i;

	if ((root = json_loadb(body, len, 0, &err)) == NULL) {
		snprintf(why, whylen, "/status is not JSON: %s", err.text);
		return NULL;
	}
	provs = json_object_get(root, "providers");
	if (!json_is_array(provs)) {
		snprintf(why, whylen, "/status has no providers array");
		json_decref(root);
		return NULL;
	}
	s = xcalloc(1, sizeof *s);
	snap_str(s->version, sizeof s->version, root, "version");
	s->uptime_s = snap_int(root, "uptime_s");
	s->connections = json_is_integer(json_object_get(root,
	    "connections")) ? snap_int(root, "connections") : -1;
	s->nprov = json_array_size(provs);
	s->prov = xcalloc(s->nprov + 1, sizeof *s->prov);
	json_array_foreach(provs, i, o)
		snap_provider(&s->prov[i], o);
	json_decref(root);
	return s;
}

void
snap_add_metrics(struct snap *s, const char *text)
{
	size_t	i;

	for (i = 0; i < s->nprov; i++)
		hist_parse(&s->prov[i].wait, text,
		    "llmproxy_queue_wait_seconds", s->prov[i].name);
}

const struct snap_provider *
snap_find(const struct snap *s, const char *name)
{
	size_t	i;

	for (i = 0; s != NULL && i < s->nprov; i++)
		if (strcmp(s->prov[i].name, name) == 0)
			return &s->prov[i];
	return NULL;
}

void
snap_free(struct snap *s)
{
	size_t	i;

	if (s == NULL)
		return;
	for (i = 0; i < s->nprov; i++)
		free(s->prov[i].clients);
	free(s->prov);
	free(s);
}
