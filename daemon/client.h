/* SPDX-License-Identifier: ISC */
/*
 * client: who is asking (SPEC 11), and that client's numbers at each
 * provider.
 *
 * A client is named by its token when tokens are configured (a clients
 * entry, or client_tokens' token1, token2, ...), else by the request's
 * x-llmproxy-client header, else "default".  Header-named clients are
 * bounded: at most CLIENT_MAX_NAMED are tracked at once, the rest share
 * the name "other", and a name that no request has used for
 * CLIENT_FORGET_MS is forgotten with its numbers (so a stream of one-off
 * names cannot grow /metrics without end).  Every request holds a
 * reference to its client while it lives; only an unreferenced client is
 * forgotten.  A client has one row per provider it used: what it has
 * waiting and in flight there, its admissions and its answers by status,
 * for /status and /metrics.  Pure: the time is passed in; no libevent.
 */
#ifndef CLIENT_H
#define CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "queue.h"

struct client;
struct client_row;
struct config;
struct metrics_provider;

#define CLIENT_MAX_NAMED	256		/* header-named, at once */
#define CLIENT_FORGET_MS	(5 * 60 * 1000)	/* idle that long: gone */

/*
 * Return the client of a request, with a reference: cf's clients[token -
 * 1] when tokens are configured (token is guard_token()'s answer), else
 * the one header names (NULL: none, "default").  A header that is not 1
 * to 64 of [A-Za-z0-9._-] gives NULL.
 */
struct client	*client_get(const struct config *cf, size_t token,
		    const char *header, uint64_t now_ms);
/*
 * Say who a request is, from guard_token()'s token and its
 * x-llmproxy-client and x-llmproxy-priority fields (NULL: absent): its
 * client, with a reference, in *c and its priority in *priority; or
 * return why not, naming the field (a 400).
 */
const char	*client_identify(const struct config *cf, size_t token,
		    const char *name, const char *priority, uint64_t now_ms,
		    struct client **c, enum queue_priority *prio);
/* Drop a reference taken by client_get(). */
void		 client_unref(struct client *c, uint64_t now_ms);
/* Return c's name and its weight (>= 1). */
const char	*client_name(const struct client *c);
int		 client_weight(const struct client *c);
/* Return c's row at the provider whose metrics block is m (made once). */
struct client_row *client_row(struct client *c, struct metrics_provider *m);
/* Count a request of row's joining (+1) or leaving (-1) the queue. */
void		 client_row_queued(struct client_row *r, int delta);
/* Count a slot taken (+1, an admission) or given back (-1). */
void		 client_row_in_flight(struct client_row *r, int delta);
/* Count an answer with status (0: none sent). */
void		 client_row_answered(struct client_row *r, int status);
/* Forget the header-named clients idle for CLIENT_FORGET_MS. */
void		 client_sweep(uint64_t now_ms);
/* Return /status's clients array for the provider of metrics block m. */
json_t		*client_status_json(const struct metrics_provider *m);
/* Write the per-client families of /metrics. */
void		 client_render_metrics(FILE *f);
/* Free every client (at exit). */
void		 client_free_all(void);

#endif /* CLIENT_H */
